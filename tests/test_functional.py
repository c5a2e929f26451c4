"""Tests for week14.functional: the lecture's worked numbers, fast vs naive versions,
gradient checks of every backward pass, dtypes, and error messages."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import week14._conv_engine as conv_engine
from week14.data import lecture_avg_pool_example, lecture_conv_example, lecture_max_pool_example
from week14.functional import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_naive,
    conv2d,
    conv2d_backward,
    conv2d_naive,
    conv_output_size,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_naive,
    zero_pad,
)
from week14.gradcheck import numerical_gradient, relative_error

GRAD_TOLERANCE = 1e-7  # float64 centred differences; CS231n expects ~1e-8 or less
AGREE = 1e-10  # fast vs naive, float64


def assert_close(mine, theirs, tol, what):
    """Fail with both arrays side by side when they differ by more than ``tol``."""
    assert mine.shape == theirs.shape, f"{what}: shape {mine.shape}, expected {theirs.shape}"
    err = np.max(np.abs(mine - theirs), initial=0.0)
    assert err <= tol, (
        f"{what}: max abs difference {err:.3g} > {tol}\nmine:\n{mine}\ntheirs:\n{theirs}"
    )


# ---------------------------------------------------------------- the lecture's numbers


@pytest.mark.parametrize("conv", [conv2d, conv2d_naive])
def test_lecture_rgb_example_gives_minus_25(conv):
    x, w, b = lecture_conv_example()
    assert x.shape == (1, 3, 5, 5) and w.shape == (1, 3, 3, 3) and b.shape == (1,)
    out = conv(x, w, b, padding=1)
    assert out.shape == (1, 1, 5, 5)
    assert out[0, 0, 0, 0] == -25.0, f"first output {out[0, 0, 0, 0]}, slide says -25"


def test_lecture_rgb_example_per_channel_sums():
    """The slide's arrows: red 308, green -498, blue 164, bias 1."""
    x, w, _ = lecture_conv_example()
    per_channel = [conv2d(x[:, [c]], w[:, [c]], padding=1)[0, 0, 0, 0] for c in range(3)]
    assert per_channel == [308.0, -498.0, 164.0]


@pytest.mark.parametrize("pool", [max_pool2d, max_pool2d_naive])
def test_lecture_max_pool_grid(pool):
    x, size, stride, expected = lecture_max_pool_example()
    assert (size, stride) == (3, 1)
    out = pool(x, size, stride)
    np.testing.assert_array_equal(out[0, 0], [[3, 3, 3], [3, 3, 3], [3, 2, 3]])
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("pool", [avg_pool2d, avg_pool2d_naive])
def test_lecture_avg_pool_grid(pool):
    x, size, stride, expected = lecture_avg_pool_example()
    out = pool(x, size, stride)
    assert out[0, 0, 0, 0] == 6.25, f"first average {out[0, 0, 0, 0]}, slide says 6.25"
    np.testing.assert_array_equal(out[0, 0], [[6.25, 3.5], [5.25, 5.25]])
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------- sizes and padding


@pytest.mark.parametrize(
    "n, kernel, padding, stride, expected",
    [(5, 3, 0, 1, 3), (5, 3, 1, 1, 5), (5, 3, 1, 2, 3), (8, 2, 0, 2, 4), (7, 2, 0, 2, 3),
     (28, 5, 2, 1, 28), (6, 6, 0, 3, 1), (1, 3, 1, 1, 1)],
)
def test_conv_output_size_uses_floor(n, kernel, padding, stride, expected):
    assert conv_output_size(n, kernel, padding, stride) == expected


@pytest.mark.parametrize(
    "args, error, words",
    [((5, 7, 0, 1), ValueError, "larger than the padded input"),
     ((5, 3, 0, 0), ValueError, "stride >= 1"),
     ((5, 3, -1, 1), ValueError, "padding >= 0"),
     ((5, 3.0, 0, 1), TypeError, "kernel to be an int")],
)
def test_conv_output_size_rejects_bad_arguments(args, error, words):
    with pytest.raises(error, match=words):
        conv_output_size(*args)


def test_zero_pad_adds_a_frame_of_zeros_on_the_last_two_axes():
    x = np.arange(1, 2 * 3 * 2 * 4 + 1, dtype=np.float32).reshape(2, 3, 2, 4)
    padded = zero_pad(x, 2)
    assert padded.shape == (2, 3, 6, 8) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:, :, 2:4, 2:6], x)
    frame = padded.copy()
    frame[:, :, 2:4, 2:6] = 0
    assert not frame.any(), "padding must be zeros"
    image = zero_pad(np.ones((2, 2)), 1)
    np.testing.assert_array_equal(image, [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])


def test_zero_pad_returns_a_copy_and_rejects_bad_padding():
    x = np.ones((1, 1, 2, 2))
    zero_pad(x, 0)[...] = 5
    assert (x == 1).all(), "zero_pad(x, 0) must not return a view of x"
    with pytest.raises(ValueError, match="padding >= 0"):
        zero_pad(x, -1)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        zero_pad(np.ones(3), 1)


# ---------------------------------------------------------------- fast == naive


@st.composite
def conv_problems(draw):
    """Random conv2d arguments: rectangular inputs and kernels, strides 1-3, paddings 0-2,
    sizes the stride does not divide, all with kernel <= padded input."""
    n, c, f = (draw(st.integers(1, 3)) for _ in range(3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, padding = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * padding), 9))
    w = draw(st.integers(max(1, kw - 2 * padding), 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, kh, kw)),
            rng.standard_normal(f), stride, padding)


@settings(deadline=None, max_examples=150)
@given(conv_problems())
def test_conv2d_matches_the_loop_version(problem):
    x, w, b, stride, padding = problem
    assert_close(conv2d(x, w, b, stride, padding), conv2d_naive(x, w, b, stride, padding), AGREE,
                 f"conv2d x{x.shape} w{w.shape} stride={stride} padding={padding}")


@settings(deadline=None, max_examples=40)
@given(conv_problems())
def test_conv2d_matches_the_loop_version_one_image_per_chunk(problem):
    """Force the fast version to cut the batch into single-image chunks."""
    x, w, b, stride, padding = problem
    with mock.patch.object(conv_engine, "CHUNK_BYTES", 1):
        fast = conv2d(x, w, b, stride, padding)
    assert_close(fast, conv2d_naive(x, w, b, stride, padding), AGREE, "conv2d in chunks")


def conv2d_backward_loops(grad_out, x, w, stride, padding):
    """dL/dx, dL/dw, dL/db from the definition: every output (i, j) sends its gradient
    to the window it read and to the weights it used."""
    kh, kw = w.shape[2:]
    xp = zero_pad(x, padding)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(grad_out.shape[2]):
        for j in range(grad_out.shape[3]):
            rows = slice(i * stride, i * stride + kh)
            cols = slice(j * stride, j * stride + kw)
            g = grad_out[:, :, i, j]  # (N, F)
            dw += np.einsum("nf,nchw->fchw", g, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", g, w)
    height, width = x.shape[2:]
    dx = dxp[:, :, padding : padding + height, padding : padding + width]
    return dx, dw, grad_out.sum(axis=(0, 2, 3))


@settings(deadline=None, max_examples=60)
@given(conv_problems())
def test_conv2d_backward_matches_the_loop_definition(problem):
    x, w, b, stride, padding = problem
    grad_out = np.random.default_rng(0).standard_normal(conv2d(x, w, b, stride, padding).shape)
    fast = conv2d_backward(grad_out, x, w, stride, padding)
    loops = conv2d_backward_loops(grad_out, x, w, stride, padding)
    for name, mine, theirs in zip(("dx", "dw", "db"), fast, loops, strict=True):
        assert_close(mine, theirs, AGREE, f"{name} for x{x.shape} w{w.shape} "
                                          f"stride={stride} padding={padding}")


@st.composite
def pool_problems(draw):
    size, stride = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    h, w = draw(st.integers(size, 10)), draw(st.integers(size, 10))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal((n, c, h, w)), size, stride


@settings(deadline=None, max_examples=100)
@given(pool_problems())
def test_pooling_matches_the_loop_versions(problem):
    x, size, stride = problem
    what = f"x{x.shape} size={size} stride={stride}"
    assert_close(max_pool2d(x, size, stride), max_pool2d_naive(x, size, stride), 0.0,
                 f"max_pool2d {what}")
    assert_close(avg_pool2d(x, size, stride), avg_pool2d_naive(x, size, stride), AGREE,
                 f"avg_pool2d {what}")


def test_pooling_stride_defaults_to_the_window_size():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 7))
    np.testing.assert_array_equal(max_pool2d(x, 2), max_pool2d(x, 2, 2))
    np.testing.assert_array_equal(avg_pool2d(x, 3), avg_pool2d(x, 3, 3))
    assert max_pool2d(x, 2).shape == (2, 3, 3, 3), "pooling keeps N and C, floors H and W"


def test_conv2d_is_cross_correlation_not_flipped():
    """A kernel with a single 1 at its top-left corner picks the top-left of each window."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.zeros((1, 1, 2, 2))
    w[0, 0, 0, 0] = 1.0
    np.testing.assert_array_equal(conv2d(x, w)[0, 0], x[0, 0, :3, :3])


def test_conv2d_without_bias_equals_zero_bias():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 2))
    np.testing.assert_array_equal(conv2d(x, w, None, 2, 1), conv2d(x, w, np.zeros(4), 2, 1))


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_functions_keep_the_input_dtype(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = np.zeros(4, dtype=dtype)
    out = conv2d(x, w, b, padding=1)
    grads = conv2d_backward(np.ones_like(out), x, w, padding=1)
    pooled = [max_pool2d(x, 2), avg_pool2d(x, 2)]
    pool_grads = [max_pool2d_backward(np.ones_like(pooled[0]), x, 2),
                  avg_pool2d_backward(np.ones_like(pooled[1]), x, 2)]
    for name, arr in [("conv2d", out), ("dx", grads[0]), ("dw", grads[1]), ("db", grads[2]),
                      ("max_pool2d", pooled[0]), ("avg_pool2d", pooled[1]),
                      ("max_pool2d_backward", pool_grads[0]),
                      ("avg_pool2d_backward", pool_grads[1])]:
        assert arr.dtype == dtype, f"{name} returned {arr.dtype} for {np.dtype(dtype)} input"


def test_float32_conv_agrees_with_float64():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 5, 9, 7)), rng.standard_normal((6, 5, 3, 3))
    single = conv2d(x.astype(np.float32), w.astype(np.float32), padding=1)
    np.testing.assert_allclose(single, conv2d(x, w, padding=1), rtol=1e-4, atol=1e-4)


def test_integer_input_gives_float64():
    x, w, b = lecture_conv_example()
    out = conv2d(x.astype(np.int64), w.astype(np.int64), b.astype(np.int64), padding=1)
    assert out.dtype == np.float64 and out[0, 0, 0, 0] == -25.0


# ---------------------------------------------------------------- gradient checks


def numeric_vs_analytic(f, arrays, analytic):
    """Relative errors of ``analytic`` gradients of the scalar ``f()`` w.r.t. ``arrays``."""
    return {name: relative_error(analytic[name], numerical_gradient(lambda _: f(), arr))
            for name, arr in arrays.items()}


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding",
    [((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
     ((2, 2, 7, 6), (3, 2, 3, 2), 2, 1),
     ((1, 3, 6, 8), (2, 3, 4, 3), 3, 2),
     ((3, 1, 4, 4), (2, 1, 1, 1), 1, 0)],
)
def test_conv2d_backward_passes_gradient_check(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    upstream = rng.standard_normal(conv2d(x, w, b, stride, padding).shape)

    def loss() -> float:
        return float(np.sum(conv2d(x, w, b, stride, padding) * upstream))

    dx, dw, db = conv2d_backward(upstream, x, w, stride, padding)
    errors = numeric_vs_analytic(loss, {"dx": x, "dw": w, "db": b}, {"dx": dx, "dw": dw, "db": db})
    bad = {k: v for k, v in errors.items() if not v < GRAD_TOLERANCE}
    assert not bad, f"relative errors {bad} >= {GRAD_TOLERANCE}"


def distinct_values(shape, seed):
    """Values at least 0.1 apart, so no max-pool window has a tie within eps."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(np.prod(shape), dtype=np.float64) * 0.1).reshape(shape)


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 1), (2, 3), (3, 2)])
def test_pool_backwards_pass_gradient_check(size, stride):
    x = distinct_values((2, 2, 7, 6), seed=size * 10 + stride)
    upstream = np.random.default_rng(5).standard_normal(max_pool2d(x, size, stride).shape)
    for name, forward, backward in [("max", max_pool2d, max_pool2d_backward),
                                    ("avg", avg_pool2d, avg_pool2d_backward)]:
        numeric = numerical_gradient(lambda z, f=forward: float(np.sum(f(z, size, stride)
                                                                       * upstream)), x)
        err = relative_error(backward(upstream, x, size, stride), numeric)
        assert err < GRAD_TOLERANCE, f"{name}_pool2d size={size} stride={stride}: error {err}"


def test_max_pool_backward_sends_a_tie_to_the_first_maximum():
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])
    dx = max_pool2d_backward(np.array([[[[2.0]]]]), x, 2)
    np.testing.assert_array_equal(dx[0, 0], [[0, 2], [0, 0]])


def test_max_pool_backward_adds_up_over_overlapping_windows():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the maximum of all four 2×2 windows
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, 1)
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0


# ---------------------------------------------------------------- errors name the shapes


@pytest.mark.parametrize("conv", [conv2d, conv2d_naive])
def test_conv2d_channel_mismatch_names_both_shapes(conv):
    with pytest.raises(ValueError, match=r"3 channels \(shape \(1, 3, 5, 5\)\).*4 input "
                                         r"channels \(shape \(2, 4, 3, 3\)\)"):
        conv(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3)))


@pytest.mark.parametrize("conv", [conv2d, conv2d_naive])
def test_conv2d_kernel_larger_than_padded_input_names_the_shapes(conv):
    with pytest.raises(ValueError, match=r"kernel 7×7 \(w shape \(1, 3, 7, 7\)\) is larger than "
                                         r"the padded input 6×6 \(x shape \(1, 3, 4, 4\), "
                                         r"padding 1\)"):
        conv(np.zeros((1, 3, 4, 4)), np.zeros((1, 3, 7, 7)), padding=1)


@pytest.mark.parametrize("stride, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError)])
def test_conv2d_rejects_non_positive_or_non_integer_stride(stride, error):
    with pytest.raises(error, match="stride"):
        conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), stride=stride)


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, words",
    [((3, 5, 5), (1, 3, 3, 3), (1,), r"x of shape \(N, C, H, W\), got shape \(3, 5, 5\)"),
     ((1, 3, 5, 5), (3, 3, 3), (1,), r"w of shape \(F, C, kh, kw\), got shape \(3, 3, 3\)"),
     ((1, 3, 5, 5), (2, 3, 3, 3), (3,), r"b of shape \(2,\).*got shape \(3,\)")],
)
def test_conv2d_wrong_ranks_and_bias_shape(x_shape, w_shape, b_shape, words):
    with pytest.raises(ValueError, match=words):
        conv2d(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape))


def test_backward_functions_check_grad_out_shape():
    x, w = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3))
    with pytest.raises(ValueError, match=r"shape \(1, 3, 3, 3\), got shape \(1, 3, 5, 5\)"):
        conv2d_backward(np.zeros((1, 3, 5, 5)), x, w)
    with pytest.raises(ValueError, match=r"shape \(1, 2, 2, 2\), got shape \(1, 2, 5, 5\)"):
        max_pool2d_backward(np.zeros((1, 2, 5, 5)), x, 2)
    with pytest.raises(ValueError, match=r"shape \(1, 2, 2, 2\), got shape \(1, 2, 3, 3\)"):
        avg_pool2d_backward(np.zeros((1, 2, 3, 3)), x, 2)


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d, max_pool2d_naive, avg_pool2d_naive])
def test_pooling_rejects_bad_windows(pool):
    with pytest.raises(ValueError, match=r"window 5×5 is larger than the input 4×6 "
                                         r"\(x shape \(1, 2, 4, 6\)\)"):
        pool(np.zeros((1, 2, 4, 6)), 5)
    with pytest.raises(ValueError, match="stride >= 1"):
        pool(np.zeros((1, 2, 4, 6)), 2, 0)
    with pytest.raises(ValueError, match=r"got shape \(4, 6\)"):
        pool(np.zeros((4, 6)), 2)
