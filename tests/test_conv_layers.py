"""Tests for the Conv2D, MaxPool2D and AvgPool2D layers of week14.layers."""

from __future__ import annotations

import threading
from unittest import mock

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import week14._conv_engine as conv_engine
from week14.functional import (
    avg_pool2d,
    avg_pool2d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from week14.gradcheck import check_layer
from week14.layers import AvgPool2D, Conv2D, Flatten, MaxPool2D
from week14.model import Sequential

TOLERANCE = 1e-7  # gradient checks in float64


def assert_gradients_ok(layer, x, seed=0):
    errors = check_layer(layer, x, rng=seed)
    bad = {name: err for name, err in errors.items() if not err < TOLERANCE}
    assert not bad, f"{layer!r} on input shape {x.shape}: relative errors {bad} >= {TOLERANCE}"


def distinct_values(shape, seed=0):
    """Values 0.1 apart in random order: no max-pool window has a tie."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(np.prod(shape), dtype=np.float64) * 0.1).reshape(shape)


# ---------------------------------------------------------------- Conv2D: parameters


def test_conv2d_parameter_shapes_dtype_and_zero_bias():
    layer = Conv2D(3, 8, 5, rng=0)
    assert layer.params["W"].shape == (8, 3, 5, 5), "W is (out, in, kh, kw) as in PyTorch"
    assert layer.params["b"].shape == (8,)
    np.testing.assert_array_equal(layer.params["b"], 0.0)
    assert layer.params["W"].dtype == np.float64
    assert {k: v.shape for k, v in layer.grads.items()} == {"W": (8, 3, 5, 5), "b": (8,)}
    rect = Conv2D(2, 4, (3, 1), dtype=np.float32)
    assert rect.params["W"].shape == (4, 2, 3, 1) and rect.params["W"].dtype == np.float32


def test_conv2d_he_normal_scale_and_reproducible_seeds():
    layer = Conv2D(16, 64, 3, rng=1)
    fan_in = 16 * 3 * 3
    std = layer.params["W"].std()
    assert abs(std - np.sqrt(2 / fan_in)) < 0.05 * np.sqrt(2 / fan_in), (
        f"He normal std should be sqrt(2/fan_in) = {np.sqrt(2 / fan_in):.4f}, got {std:.4f}"
    )
    np.testing.assert_array_equal(Conv2D(2, 3, 3, rng=5).params["W"],
                                  Conv2D(2, 3, 3, rng=5).params["W"])
    assert not np.array_equal(Conv2D(2, 3, 3, rng=5).params["W"],
                              Conv2D(2, 3, 3, rng=6).params["W"])
    ones = Conv2D(2, 3, 2, weight_init="ones")
    np.testing.assert_array_equal(ones.params["W"], 1.0)


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [((0, 3, 3), {}, ValueError, "in_channels >= 1"),
     ((2, 3, 0), {}, ValueError, "kernel_size >= 1"),
     ((2, 3, (3, 3, 3)), {}, ValueError, "kernel_size to be an int or a pair"),
     ((2, 3, 3), {"stride": 0}, ValueError, "stride >= 1"),
     ((2, 3, 3), {"padding": -1}, ValueError, "padding >= 0"),
     ((2, 3, 3), {"stride": 1.0}, TypeError, "stride to be an int"),
     ((2, 3, 3), {"weight_init": "nope"}, ValueError, "nope")],
)
def test_conv2d_rejects_bad_constructor_arguments(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        Conv2D(*args, **kwargs)


def test_conv2d_repr_shows_its_configuration():
    text = repr(Conv2D(1, 16, 3, padding=1, dtype=np.float32))
    assert text == ("Conv2D(1, 16, kernel_size=(3, 3), stride=1, padding=1, "
                    "weight_init='he_normal', dtype=float32)")


# ------------------------------------------------------------ Conv2D: same numbers as functional


@pytest.mark.parametrize("stride, padding, kernel", [(1, 1, 3), (2, 0, (3, 2)), (3, 2, (2, 4))])
def test_conv2d_layer_gives_exactly_the_functional_numbers(stride, padding, kernel):
    rng = np.random.default_rng(0)
    layer = Conv2D(3, 4, kernel, stride, padding, rng=1)
    layer.params["b"][...] = rng.standard_normal(4)
    W, b = layer.params["W"], layer.params["b"]
    # Different batch sizes in turn: the layer's reused buffers change shape and back.
    for n in (5, 2, 5, 5):
        x = rng.standard_normal((n, 3, 9, 8))
        out = layer.forward(x)
        np.testing.assert_array_equal(out, conv2d(x, W, b, stride, padding))
        g = rng.standard_normal(out.shape)
        dx = layer.backward(g)
        ref_dx, ref_dw, ref_db = conv2d_backward(g, x, W, stride, padding)
        np.testing.assert_array_equal(dx, ref_dx)
        np.testing.assert_array_equal(layer.grads["W"], ref_dw)
        np.testing.assert_array_equal(layer.grads["b"], ref_db)


def test_conv2d_layer_outputs_are_not_overwritten_by_the_next_step():
    """Reused buffers must never leak into returned arrays."""
    rng = np.random.default_rng(1)
    layer = Conv2D(2, 3, 3, padding=1, rng=0)
    x1, x2 = rng.standard_normal((4, 2, 6, 6)), rng.standard_normal((4, 2, 6, 6))
    out1 = layer.forward(x1)
    dx1 = layer.backward(np.ones_like(out1))
    kept_out, kept_dx = out1.copy(), dx1.copy()
    layer.backward(np.ones_like(layer.forward(x2)) * 2)
    np.testing.assert_array_equal(out1, kept_out)
    np.testing.assert_array_equal(dx1, kept_dx)


def test_conv2d_backward_after_a_predict_in_between_uses_the_training_batch():
    rng = np.random.default_rng(2)
    model = Sequential([Conv2D(1, 2, 3, padding=1, rng=0), Flatten()])
    x, other = rng.standard_normal((3, 1, 5, 5)), rng.standard_normal((3, 1, 5, 5))
    out = model.forward(x)
    model.predict(other)  # same batch shape: it reuses the conv layer's buffers
    model.backward(np.ones_like(out))
    _, dw, _ = conv2d_backward(np.ones((3, 2, 5, 5)), x, model.layers[0].params["W"], 1, 1)
    np.testing.assert_array_equal(model.layers[0].grads["W"], dw)


def test_conv2d_layer_in_chunks_gives_the_same_numbers():
    rng = np.random.default_rng(3)
    layer = Conv2D(2, 3, 3, padding=1, rng=0)
    x = rng.standard_normal((5, 2, 7, 7))
    g = rng.standard_normal((5, 3, 7, 7))
    whole_out, whole_dx = layer.forward(x), layer.backward(g)
    whole_dw = layer.grads["W"].copy()
    with mock.patch.object(conv_engine, "CHUNK_BYTES", 1):  # one image per chunk
        chunked_out, chunked_dx = layer.forward(x), layer.backward(g)
    np.testing.assert_allclose(chunked_out, whole_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(chunked_dx, whole_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], whole_dw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_layer_gives_the_same_numbers_on_one_thread_and_on_two(stride, monkeypatch):
    """The chunks spread over as many threads as BLAS may use; the result must not
    depend on how many that is, down to the last bit."""
    rng = np.random.default_rng(5)
    layer = Conv2D(3, 4, 3, stride=stride, padding=1, rng=0)
    x = rng.standard_normal((8, 3, 9, 9))
    g = rng.standard_normal(layer.forward(x).shape)
    threads_seen: set[int] = set()
    gather = conv_engine.im2col
    # With two threads, each thread's first chunk waits for the other thread's, so
    # that both take part however fast the first one is (or the wait times out).
    both_started = threading.Barrier(2, timeout=30)

    def spy(*args):
        thread = threading.get_ident()
        if thread not in threads_seen:
            threads_seen.add(thread)
            if threads == 2:
                both_started.wait()
        return gather(*args)

    monkeypatch.setattr(conv_engine, "im2col", spy)
    monkeypatch.setattr(conv_engine, "CHUNK_BYTES", 1)  # one image per chunk: 8 chunks
    results = []
    for threads in (1, 2):
        arrays = []
        with threadpool_limits(limits=threads, user_api="blas"):
            for step in (lambda: layer.forward(x), lambda: layer.backward(g)):
                threads_seen.clear()
                both_started.reset()
                arrays.append(step())
                assert len(threads_seen) == threads
        results.append((*arrays, layer.grads["W"].copy(), layer.grads["b"].copy()))
    for one, two in zip(*results, strict=True):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_layer_keeps_its_dtype(dtype):
    layer = Conv2D(2, 3, 3, padding=1, rng=0, dtype=dtype)
    x = np.ones((2, 2, 4, 4), dtype=dtype)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dtype and dx.dtype == dtype
    assert layer.grads["W"].dtype == dtype and layer.grads["b"].dtype == dtype


# ---------------------------------------------------------------- Conv2D: gradients and errors


@pytest.mark.parametrize(
    "x_shape, args",
    [((2, 3, 5, 5), (3, 4, 3, 1, 1)),
     ((2, 2, 7, 6), (2, 3, (3, 2), 2, 1)),
     ((1, 1, 6, 5), (1, 2, (2, 3), 3, 2))],
)
def test_conv2d_layer_passes_gradient_check(x_shape, args):
    layer = Conv2D(*args, rng=0)
    layer.params["b"][...] = np.linspace(-1, 1, layer.out_channels)
    assert_gradients_ok(layer, np.random.default_rng(4).standard_normal(x_shape))


def test_conv2d_layer_errors_name_the_shapes():
    layer = Conv2D(3, 4, 3)
    with pytest.raises(ValueError, match=r"2 channels \(shape \(1, 2, 5, 5\)\) but w expects "
                                         r"3 input channels \(shape \(4, 3, 3, 3\)\)"):
        layer.forward(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"kernel 3×3 .* larger than the padded input 2×2 "
                                         r"\(x shape \(1, 3, 2, 2\), padding 0\)"):
        layer.forward(np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"x of shape \(N, C, H, W\), got shape \(3, 5, 5\)"):
        layer.forward(np.zeros((3, 5, 5)))
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2D(3, 4, 3).backward(np.zeros((1, 4, 3, 3)))
    layer.forward(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"shape \(1, 4, 3, 3\), got shape \(1, 4, 5, 5\)"):
        layer.backward(np.zeros((1, 4, 5, 5)))


# ---------------------------------------------------------------- pooling layers


@pytest.mark.parametrize("size, stride", [(2, None), (3, 1), (2, 3)])
def test_pool_layers_match_the_functions_and_pass_gradient_check(size, stride):
    x = distinct_values((2, 3, 7, 6))
    g = np.random.default_rng(5).standard_normal(max_pool2d(x, size, stride).shape)
    for layer, forward, backward in [(MaxPool2D(size, stride), max_pool2d, max_pool2d_backward),
                                     (AvgPool2D(size, stride), avg_pool2d, avg_pool2d_backward)]:
        assert layer.params == {} and layer.grads == {}
        np.testing.assert_array_equal(layer.forward(x), forward(x, size, stride))
        np.testing.assert_array_equal(layer.backward(g), backward(g, x, size, stride))
        assert_gradients_ok(layer, x)


def test_max_pool_layer_sends_ties_to_the_first_maximum():
    layer = MaxPool2D(2)
    layer.forward(np.array([[[[0.0, 7.0, 1.0, 1.0], [7.0, 7.0, 1.0, 1.0]]]]))
    dx = layer.backward(np.array([[[[1.0, 2.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 2, 0], [0, 0, 0, 0]])


def test_pool_layers_halve_height_and_width_and_keep_channels():
    x = np.zeros((4, 16, 8, 8), dtype=np.float32)
    for layer in (MaxPool2D(2), AvgPool2D(2)):
        out = layer.forward(x)
        assert out.shape == (4, 16, 4, 4) and out.dtype == np.float32


def test_pool_layers_validate_arguments_and_shapes():
    with pytest.raises(ValueError, match="size >= 1"):
        MaxPool2D(0)
    with pytest.raises(ValueError, match="stride >= 1"):
        AvgPool2D(2, stride=0)
    with pytest.raises(ValueError, match=r"window 3×3 is larger than the input 2×2"):
        MaxPool2D(3).forward(np.zeros((1, 1, 2, 2)))
    layer = AvgPool2D(2)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 1, 1, 1)))
    layer.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"shape \(1, 1, 2, 2\), got shape \(1, 1, 4, 4\)"):
        layer.backward(np.zeros((1, 1, 4, 4)))
    assert repr(MaxPool2D(2)) == "MaxPool2D(2, stride=2)"
    assert repr(AvgPool2D(3, 1)) == "AvgPool2D(3, stride=1)"


def test_conv_model_saves_and_loads(tmp_path):
    model = Sequential([Conv2D(1, 2, 3, padding=1, rng=0), MaxPool2D(2), Flatten()])
    model.save(tmp_path / "m.npz")
    other = Sequential([Conv2D(1, 2, 3, padding=1, rng=1), MaxPool2D(2), Flatten()])
    other.load(tmp_path / "m.npz")
    x = np.random.default_rng(6).standard_normal((2, 1, 4, 4))
    np.testing.assert_array_equal(other.forward(x), model.forward(x))
