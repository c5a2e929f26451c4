"""Tests for week14.losses: worked numbers, gradient checks, stability, errors, get_loss."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14 import losses
from week14.activations import softmax
from week14.gradcheck import numerical_gradient, relative_error

# ---------------------------------------------------------------- worked numbers


def test_sse_and_mse_by_hand():
    y_hat = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 6.0])
    # errors 0, 2, -3 -> squares 0, 4, 9 -> sum 13
    assert losses.sse(y_hat, y) == 6.5
    assert losses.mse(y_hat, y) == pytest.approx(13 / 6)
    assert losses.sse_derivative(y_hat, y).tolist() == [0.0, 2.0, -3.0]
    np.testing.assert_allclose(losses.mse_derivative(y_hat, y), [0.0, 2 / 3, -1.0])


def test_mse_divides_by_rows_not_entries():
    y_hat = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.zeros((2, 2))
    # sum of squares 1 + 4 + 9 + 16 = 30, m = 2 rows -> 30 / (2 * 2)
    assert losses.mse(y_hat, y) == 7.5
    assert losses.sse(y_hat, y) == 15.0
    np.testing.assert_allclose(losses.mse_derivative(y_hat, y), y_hat / 2)


def test_scalar_inputs_count_as_one_example_and_return_python_floats():
    assert losses.sse(3.0, 1.0) == 2.0
    assert losses.mse(3.0, 1.0) == 2.0
    assert type(losses.mse(np.float32(3.0), np.float32(1.0))) is float
    assert losses.mse_derivative(3, 1) == 2.0


def test_softmax_cross_entropy_by_hand():
    logits = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    labels = np.array([0, 1])
    # p = (1/2, 1/2) and (3/4, 1/4) -> loss = (log 2 + log 4) / 2
    loss, grad = losses.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx((np.log(2) + np.log(4)) / 2, rel=1e-14)
    np.testing.assert_allclose(grad, [[-0.25, 0.25], [0.375, -0.375]], rtol=1e-14)


@given(
    logits=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 5)),
        elements=st.floats(-10, 10),
    ),
    data=st.data(),
)
def test_softmax_cross_entropy_matches_the_textbook_formula(logits, data):
    n, c = logits.shape
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    loss, grad = losses.softmax_cross_entropy(logits, labels)
    p = softmax(logits)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(n), labels])), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(grad, (p - np.eye(c)[labels]) / n, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e3, -1e3, 0.0], [-1e3, 1e3, 1e3]])
    with np.errstate(all="raise", under="ignore"):
        loss, grad = losses.softmax_cross_entropy(logits, np.array([1, 0]))
    # row 0: log p_1 = -2000; row 1: log p_0 = -2000 - log 2
    assert loss == pytest.approx((2000 + 2000 + np.log(2)) / 2, rel=1e-14)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [-0.5, 0.25, 0.25]], atol=1e-15)


def test_softmax_cross_entropy_keeps_tiny_losses_accurate():
    loss, grad = losses.softmax_cross_entropy(np.array([[40.0, 0.0]]), np.array([0]))
    assert loss == pytest.approx(np.exp(-40.0), rel=1e-12)
    np.testing.assert_allclose(grad, [[-np.exp(-40.0), np.exp(-40.0)]], rtol=1e-12)


# ---------------------------------------------------------------- gradient checks


def _pair(shape_strategy):
    elements = st.floats(-5, 5)
    return shape_strategy.flatmap(
        lambda shape: st.tuples(
            hnp.arrays(np.float64, shape, elements=elements),
            hnp.arrays(np.float64, shape, elements=elements),
        )
    )


@given(pair=_pair(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
@pytest.mark.parametrize("name", ["sse", "mse"])
def test_squared_error_derivatives_pass_gradient_check(name, pair):
    y_hat, y = pair
    # A centred difference with h = 1e-6 cannot resolve a gradient far below the rounding
    # error of f (e.g. residuals of 1e-18 found by hypothesis): check meaningful cases only.
    assume(np.max(np.abs(y_hat - y)) > 1e-6)
    value = getattr(losses, name)
    derivative = getattr(losses, f"{name}_derivative")
    numeric = numerical_gradient(lambda v: value(v, y), y_hat.copy())
    err = relative_error(derivative(y_hat, y), numeric)
    assert err < 1e-7, f"{name}_derivative relative error {err:.2e}"


@given(
    logits=hnp.arrays(
        np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)), elements=st.floats(-10, 10)
    ),
    data=st.data(),
)
def test_softmax_cross_entropy_gradient_passes_gradient_check(logits, data):
    n, c = logits.shape
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    _, grad = losses.softmax_cross_entropy(logits, labels)
    numeric = numerical_gradient(
        lambda z: losses.softmax_cross_entropy(z, labels)[0], logits.copy()
    )
    err = relative_error(grad, numeric)
    assert err < 1e-7, f"dlogits relative error {err:.2e}\nmine\n{grad}\nnumeric\n{numeric}"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["sse", "mse", "sse_derivative", "mse_derivative"])
def test_shape_mismatch_names_both_shapes(name):
    with pytest.raises(ValueError, match=r"y_hat \(5, 1\) and y \(5,\)"):
        getattr(losses, name)(np.zeros((5, 1)), np.zeros(5))


def test_non_numeric_input_names_the_argument():
    with pytest.raises(TypeError, match="mse expected y to be a real number.*got str"):
        losses.mse(np.zeros(2), "ab")
    with pytest.raises(TypeError, match="softmax_cross_entropy expected logits"):
        losses.softmax_cross_entropy([["a"]], [0])


def test_mse_needs_an_example():
    with pytest.raises(ValueError, match=r"at least one example, got shape \(0,\)"):
        losses.mse(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize(
    "logits, labels, message",
    [
        (np.zeros(3), [0], r"logits of shape \(N, C\).*got shape \(3,\)"),
        (np.zeros((0, 3)), [], r"N, C >= 1, got shape \(0, 3\)"),
        (np.zeros((2, 3)), [0, 1, 2], r"labels of shape \(2,\).*got shape \(3,\)"),
        (np.zeros((2, 3)), np.eye(3)[[0, 1]], r"not one-hot\), got shape \(2, 3\)"),
        (np.zeros((2, 3)), [0, 3], r"labels in 0\.\.2 \(3 classes\), got 3"),
        (np.zeros((2, 3)), [-1, 0], r"labels in 0\.\.2 \(3 classes\), got -1"),
        (np.zeros((2, 3)), [0.5, 1.0], r"labels to be integer class labels, got 0\.5"),
        (np.zeros((2, 3)), [np.nan, 1.0], r"integer class labels, got nan"),
    ],
)
def test_softmax_cross_entropy_bad_input(logits, labels, message):
    with pytest.raises(ValueError, match=message):
        losses.softmax_cross_entropy(logits, labels)


def test_integral_float_labels_are_accepted():
    a = losses.softmax_cross_entropy(np.eye(3), np.array([0.0, 1.0, 2.0]))
    b = losses.softmax_cross_entropy(np.eye(3), np.array([0, 1, 2]))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


moderate = st.floats(-100, 100, allow_nan=False, width=64)
under_weights = st.floats(0.1, 10.0)


@st.composite
def prediction_pairs(draw) -> tuple[np.ndarray, np.ndarray]:
    """(y_hat, y) of one shared shape (m,) or (m, k), m >= 1."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6))
    return (draw(hnp.arrays(np.float64, shape, elements=moderate)),
            draw(hnp.arrays(np.float64, shape, elements=moderate)))


# ---------------------------------------------------------------- asymmetric_mse


def test_asymmetric_mse_by_hand():
    # residuals y_hat - y = (-1, +1, 0): the under-prediction counts 3 times
    y_hat, y = np.array([1.0, 3.0, 5.0]), np.array([2.0, 2.0, 5.0])
    assert losses.asymmetric_mse(y_hat, y) == pytest.approx((3 * 1 + 1 + 0) / (2 * 3))
    assert losses.asymmetric_mse(y_hat, y, under_weight=1.0) == pytest.approx(2 / 6)
    assert losses.asymmetric_mse(y_hat, y, under_weight=0.5) == pytest.approx(1.5 / 6)
    assert type(losses.asymmetric_mse(y_hat, y)) is float


def test_asymmetric_mse_divides_by_rows_not_entries():
    y_hat = np.array([[1.0, -2.0], [3.0, 0.0]])
    # residuals 1, -2, 3, 0 -> 1 + 3*4 + 9 = 22, m = 2 rows
    assert losses.asymmetric_mse(y_hat, np.zeros((2, 2))) == pytest.approx(22 / 4)


@settings(max_examples=40)
@given(prediction_pairs())
def test_under_weight_one_is_the_lectures_mse(pair):
    y_hat, y = pair
    assert losses.asymmetric_mse(y_hat, y, 1.0) == pytest.approx(losses.mse(y_hat, y), rel=1e-12)


@settings(max_examples=40)
@given(prediction_pairs(), under_weights, under_weights)
def test_asymmetric_mse_grows_with_the_under_weight(pair, a, b):
    y_hat, y = pair
    low, high = sorted((a, b))
    low_cost, high_cost = (losses.asymmetric_mse(y_hat, y, w) for w in (low, high))
    assert low_cost <= high_cost * (1 + 1e-12)


@settings(max_examples=40)
@given(prediction_pairs(), under_weights)
def test_swapping_prediction_and_target_swaps_which_side_is_weighted(pair, w):
    # an under-prediction of y_hat for y is an over-prediction of y for y_hat
    y_hat, y = pair
    assert losses.asymmetric_mse(y_hat, y, w) == pytest.approx(
        w * losses.asymmetric_mse(y, y_hat, 1 / w), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("args", "error", "fragment"),
    [
        ((np.zeros(3), np.zeros(4)), ValueError, r"same shape, got y_hat \(3,\) and y \(4,\)"),
        ((np.zeros(0), np.zeros(0)), ValueError, "at least one example"),
        ((np.zeros(2), np.zeros(2), 0.0), ValueError, "under_weight > 0, got 0.0"),
        ((np.zeros(2), np.zeros(2), np.inf), ValueError, "finite under_weight"),
        ((np.zeros(2), np.zeros(2), True), TypeError, "under_weight to be a real number, got bool"),
        ((np.zeros(2), np.zeros(2), "3"), TypeError, "under_weight to be a real number, got str"),
        ((np.zeros(2), ["a", "b"]), TypeError, "y to be a real number"),
    ],
)
def test_asymmetric_mse_rejects_bad_input(args, error, fragment):
    with pytest.raises(error, match=fragment):
        losses.asymmetric_mse(*args)


def test_asymmetric_squared_error_is_the_loss_of_each_prediction():
    y, y_hat = np.array([2.0, 2.0, 5.0]), np.array([1.0, 3.0, 5.0])  # errors -1, +1, 0
    np.testing.assert_array_equal(losses.asymmetric_squared_error(y_hat, y), [3.0, 1.0, 0.0])
    # a grid of predictions (2, 3) broadcasts against the targets (3,)
    grid = np.stack([y_hat, y])
    np.testing.assert_array_equal(losses.asymmetric_squared_error(grid, y, 2.0),
                                  [[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert losses.asymmetric_mse(y_hat, y) == np.sum(losses.asymmetric_squared_error(y_hat, y)) / 6
    with pytest.raises(ValueError, match="asymmetric_squared_error expected under_weight > 0"):
        losses.asymmetric_squared_error(y_hat, y, 0.0)


# ---------------------------------------------------------------- get_loss


def test_get_loss_by_name_returns_value_and_gradient():
    y_hat, y = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    value, grad = losses.get_loss("mse")(y_hat, y)
    assert value == losses.mse(y_hat, y) and np.array_equal(grad, losses.mse_derivative(y_hat, y))
    value, grad = losses.get_loss("sse")(y_hat, y)
    assert value == 2.5 and grad.tolist() == [1.0, 2.0]
    assert losses.get_loss("cross_entropy") is losses.softmax_cross_entropy


def test_get_loss_passes_callables_through_and_rejects_unknown_names():
    def custom(y_hat, y):
        return 0.0, np.zeros_like(y_hat)

    assert losses.get_loss(custom) is custom
    message = "get_loss expected one of the losses cross_entropy, mse, sse, got 'hinge'"
    with pytest.raises(ValueError, match=message):
        losses.get_loss("hinge")
    with pytest.raises(TypeError, match="name or a callable.*got int"):
        losses.get_loss(3)
