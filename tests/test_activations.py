"""Tests for week14.activations: values, derivatives, kinks, stability, registry, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14 import activations as act
from week14.gradcheck import centred_difference

NAMES = list(act.ACTIVATIONS)
KINKED = {"relu", "prelu", "elu", "binary_step"}


def assert_close(mine, expected, *, rtol=1e-12, atol=0.0, what=""):
    np.testing.assert_allclose(
        mine, expected, rtol=rtol, atol=atol, err_msg=f"{what}: mine vs expected"
    )


# ---------------------------------------------------------------- derivatives vs numbers


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_centred_differences_at_1000_points(name):
    fn, derivative = act.get(name)
    rng = np.random.default_rng(1234)
    x = rng.uniform(-4.0, 4.0, size=4000)
    if name in KINKED:
        x = x[np.abs(x) > 1e-3]
    x = x[:1000]
    assert x.size == 1000
    numeric = centred_difference(fn, x)
    analytic = derivative(x)
    # elementwise relative error, floored so that 0 vs 0 (relu for x < 0) counts as exact
    rel = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    worst = int(np.argmax(rel))
    assert rel.max() < 1e-6, (
        f"{name}'({x[worst]!r}): analytic {analytic[worst]!r} vs numeric {numeric[worst]!r}, "
        f"relative error {rel.max():.2e}"
    )


@pytest.mark.parametrize("name, alpha", [("prelu", 0.1), ("prelu", -0.5), ("elu", 2.5)])
def test_alpha_derivatives_match_centred_differences(name, alpha):
    fn, derivative = act.get(name)
    x = np.linspace(-3.0, 3.0, 1000)
    x = x[np.abs(x) > 1e-3]
    numeric = centred_difference(lambda v: fn(v, alpha=alpha), x)
    assert_close(derivative(x, alpha=alpha), numeric, rtol=1e-6, atol=1e-9, what=name)


def test_sigmoid_derivative_is_y_times_one_minus_y():
    x = np.linspace(-20.0, 20.0, 401)
    y = act.sigmoid(x)
    assert_close(act.sigmoid_derivative(x), y * (1 - y), rtol=1e-9, atol=1e-15, what="σ'")


def test_elu_derivative_is_f_plus_alpha_for_negative_inputs():
    x = np.linspace(-5.0, -0.01, 100)
    for alpha in (1.0, 0.3):
        assert_close(
            act.elu_derivative(x, alpha), act.elu(x, alpha) + alpha, rtol=1e-12, what="ELU'"
        )


def test_lecture_table_formulas():
    x = np.linspace(-3.0, 3.0, 61)
    assert_close(act.tanh_derivative(x), 1 - np.tanh(x) ** 2, what="tanh'")
    assert_close(act.arctan_derivative(x), 1 / (x**2 + 1), what="arctan'")
    assert_close(act.softplus(x), np.log(1 + np.exp(x)), what="softplus")
    assert_close(act.softplus_derivative(x), 1 / (1 + np.exp(-x)), what="softplus'")
    assert_close(act.sigmoid(x), 1 / (1 + np.exp(-x)), what="sigmoid")
    assert_close(act.prelu(x), np.where(x < 0, 0.25 * x, x), what="prelu")
    assert_close(act.elu(x), np.where(x < 0, np.exp(x) - 1, x), rtol=1e-9, what="elu")


# ---------------------------------------------------------------- the x = 0 rules


def test_values_and_derivatives_at_zero_follow_the_lecture_table():
    assert act.relu_derivative(0.0) == 1.0
    assert act.prelu_derivative(0.0) == 1.0
    assert act.prelu_derivative(0.0, alpha=0.1) == 1.0
    assert act.elu_derivative(0.0) == 1.0
    assert act.binary_step(0.0) == 1.0
    assert act.binary_step_derivative(0.0) == 0.0
    assert act.relu(0.0) == 0.0
    assert act.sigmoid(0.0) == 0.5
    assert act.sigmoid_derivative(0.0) == 0.25
    assert act.tanh_derivative(0.0) == 1.0
    assert act.arctan_derivative(0.0) == 1.0
    assert act.softplus(0.0) == pytest.approx(np.log(2.0), rel=1e-15)


def test_binary_step_derivative_is_zero_everywhere():
    x = np.array([-1e3, -1.0, -1e-9, 0.0, 1e-9, 1.0, 1e3])
    assert np.array_equal(act.binary_step_derivative(x), np.zeros_like(x))
    assert np.array_equal(act.binary_step(x), [0, 0, 0, 1, 1, 1, 1])


# ---------------------------------------------------------------- stability


EXTREMES = np.array([-1e3, -800.0, -100.0, -1.0, -1e-300, 0.0, 1e-300, 1.0, 100.0, 800.0, 1e3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_no_warnings_and_finite_for_large_inputs(name, dtype):
    fn, derivative = act.get(name)
    x = EXTREMES.astype(dtype)
    # underflow to 0 (e.g. exp(-1000)) is the correct answer, not an error
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        y, dy = fn(x), derivative(x)
    for what, value in ((name, y), (f"{name}'", dy)):
        assert value.dtype == dtype, f"{what} returned {value.dtype} for {dtype.__name__} input"
        assert np.all(np.isfinite(value)), f"{what} not finite at {x[~np.isfinite(value)]}"


def test_saturated_values_are_correct():
    x = np.array([-1e3, 1e3])
    assert np.array_equal(act.sigmoid(x), [0.0, 1.0])
    assert np.array_equal(act.sigmoid_derivative(x), [0.0, 0.0])
    assert np.array_equal(act.softplus(x), [0.0, 1e3])
    assert np.array_equal(act.elu(x), [-1.0, 1e3])
    assert np.array_equal(act.tanh(x), [-1.0, 1.0])
    # tiny values keep their relative precision (no 1 - σ or log(1 + e) cancellation)
    assert act.sigmoid(-700.0) == pytest.approx(np.exp(-700.0), rel=1e-12)
    assert act.softplus(-700.0) == pytest.approx(np.exp(-700.0), rel=1e-12)
    assert act.elu(-1e-10) == pytest.approx(-1e-10, rel=1e-9)


# ---------------------------------------------------------------- shapes and dtypes


@given(
    x=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=4),
        elements=st.floats(-1e3, 1e3, width=32),
    ),
    name=st.sampled_from(NAMES),
)
def test_shape_and_dtype_are_preserved(x, name):
    fn, derivative = act.get(name)
    for f in (fn, derivative):
        out = np.asarray(f(x))
        assert out.shape == x.shape, f"{f.__name__}: shape {out.shape}, input {x.shape}"
        assert out.dtype == x.dtype, f"{f.__name__}: dtype {out.dtype}, input {x.dtype}"
        assert np.all(np.isfinite(out)), f"{f.__name__} gave non-finite values"


@pytest.mark.parametrize("name", NAMES)
def test_python_scalar_gives_numpy_float64_scalar(name):
    fn, derivative = act.get(name)
    for f in (fn, derivative):
        out = f(0.5)
        assert type(out) is np.float64, f"{f.__name__}(0.5) returned {type(out).__name__}"


def test_integer_and_bool_input_become_float64_and_input_is_not_modified():
    x = np.array([-2, 0, 3])
    assert act.relu(x).dtype == np.float64
    assert act.binary_step(np.array([True, False])).dtype == np.float64
    assert act.relu([[-1, 2]]).tolist() == [[0.0, 2.0]]
    y = np.array([-1.0, 2.0])
    out = act.relu(y)
    assert out is not y and y.tolist() == [-1.0, 2.0]


# ---------------------------------------------------------------- softmax


@given(
    z=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
        elements=st.floats(-1e3, 1e3),
    ),
    shift=st.floats(-1e3, 1e3),
)
def test_softmax_sums_to_one_and_is_shift_invariant(z, shift):
    p = act.softmax(z)
    assert np.all(p >= 0)
    assert_close(p.sum(axis=-1), np.ones(z.shape[:-1]), rtol=1e-12, atol=1e-12, what="row sums")
    assert_close(act.softmax(z + shift), p, rtol=1e-6, atol=1e-12, what="shifted softmax")


def test_softmax_known_values_and_axis():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    e = np.exp([1.0, 2.0, 3.0])
    assert_close(act.softmax(z)[0], e / e.sum(), what="softmax row")
    assert_close(act.softmax(z)[1], np.full(3, 1 / 3), what="uniform row")
    assert_close(act.softmax(z, axis=0).sum(axis=0), np.ones(3), what="axis=0 sums")
    assert_close(act.softmax(np.array([1e3, -1e3])), [1.0, 0.0], what="extreme logits")


def test_softmax_rejects_scalar():
    with pytest.raises(ValueError, match="at least 1 dimension"):
        act.softmax(3.0)


# ---------------------------------------------------------------- registry and errors


def test_registry_holds_every_pair():
    assert set(act.ACTIVATIONS) == {
        "sigmoid", "tanh", "arctan", "relu", "prelu", "elu", "softplus", "binary_step"
    }
    for name, (fn, derivative) in act.ACTIVATIONS.items():
        assert fn is getattr(act, name)
        assert derivative is getattr(act, f"{name}_derivative")
    assert act.get("relu").derivative is act.relu_derivative


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="'swish'") as info:
        act.get("swish")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="activations.get expected name to be an activation name"):
        act.get(None)


@pytest.mark.parametrize("bad", ["1.0", None, np.array(["a"]), 1 + 2j, np.array([1, 2], object)])
@pytest.mark.parametrize("name", ["sigmoid", "relu_derivative", "softmax", "elu"])
def test_non_numeric_input_raises_type_error_naming_what_was_given(name, bad):
    with pytest.raises(TypeError, match=rf"{name} expected a real number.*got"):
        getattr(act, name)(bad)


def test_bad_alpha_raises():
    with pytest.raises(TypeError, match="alpha to be a real number, got str"):
        act.prelu(1.0, alpha="0.1")
    with pytest.raises(ValueError, match="finite alpha, got nan"):
        act.elu_derivative(1.0, alpha=float("nan"))
