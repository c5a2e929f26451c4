"""Tests for week14.gradient_descent: the lecture's single-unit rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from week14 import losses
from week14.gradcheck import numerical_gradient, relative_error
from week14.gradient_descent import (
    gradient_descent_step,
    sigmoid_sse_cost,
    sigmoid_sse_gradient,
    sse_cost,
    sse_gradient,
)


def problem(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])  # x_0 = 1: the bias
    return X, rng.uniform(0, 1, n), rng.standard_normal(d)


def lecture_sse_gradient(X, y, w, sigmoid_unit=False):
    """The slides' formula written out literally, one weight and one example at a time."""
    n, d = X.shape
    grad = np.zeros(d)
    for i in range(d):
        for j in range(n):
            weighted_sum = sum(w[k] * X[j, k] for k in range(d))
            if sigmoid_unit:
                y_hat = 1 / (1 + np.exp(-weighted_sum))
                grad[i] += (y[j] - y_hat) * (y_hat * (1 - y_hat)) * -X[j, i]
            else:
                grad[i] += (y[j] - weighted_sum) * -X[j, i]
    return grad


# ---------------------------------------------------------------- against the slides


@pytest.mark.parametrize("seed", range(3))
def test_sse_gradient_equals_the_lecture_loop(seed):
    X, y, w = problem(7, 3, seed)
    np.testing.assert_allclose(sse_gradient(X, y, w), lecture_sse_gradient(X, y, w), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_sigmoid_sse_gradient_equals_the_lecture_loop(seed):
    X, y, w = problem(7, 3, seed)
    np.testing.assert_allclose(
        sigmoid_sse_gradient(X, y, w), lecture_sse_gradient(X, y, w, sigmoid_unit=True),
        rtol=1e-12,
    )


def test_sse_gradient_by_hand():
    X = np.array([[1.0, 2.0], [1.0, -1.0]])
    y = np.array([3.0, 0.0])
    w = np.array([1.0, 0.5])
    # y_hat = (2, 0.5); y - y_hat = (1, -0.5); -X^T (1, -0.5) = -(0.5, 2.5)
    np.testing.assert_allclose(sse_gradient(X, y, w), [-0.5, -2.5], rtol=1e-15)
    assert sse_cost(X, y, w) == pytest.approx(0.5 * (1 + 0.25), rel=1e-15)


def test_lecture_sign_convention_is_the_same_update():
    X, y, w = problem(6, 3, 0)
    eta = 0.1
    y_hat = 1 / (1 + np.exp(-X @ w))
    lecture = w + eta * np.sum(((y - y_hat) * y_hat * (1 - y_hat))[:, None] * X, axis=0)
    mine = gradient_descent_step(w, sigmoid_sse_gradient(X, y, w), eta)
    np.testing.assert_allclose(mine, lecture, rtol=1e-13)
    lecture_linear = w + eta * np.sum((y - X @ w)[:, None] * X, axis=0)
    np.testing.assert_allclose(
        gradient_descent_step(w, sse_gradient(X, y, w), eta), lecture_linear, rtol=1e-13
    )


def test_costs_agree_with_losses_sse():
    X, y, w = problem(9, 4, 1)
    assert sse_cost(X, y, w) == pytest.approx(losses.sse(X @ w, y), rel=1e-13)
    assert sigmoid_sse_cost(X, y, w) == pytest.approx(
        losses.sse(1 / (1 + np.exp(-X @ w)), y), rel=1e-13
    )


# ---------------------------------------------------------------- numerical gradients


@given(n=st.integers(1, 8), d=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
@pytest.mark.parametrize(
    "cost, gradient", [(sse_cost, sse_gradient), (sigmoid_sse_cost, sigmoid_sse_gradient)]
)
def test_gradients_match_numerical_gradients(cost, gradient, n, d, seed):
    rng = np.random.default_rng(seed)
    X, y, w = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d)
    numeric = numerical_gradient(lambda v: cost(X, y, v), w.copy())
    analytic = gradient(X, y, w)
    # A centred difference with h = 1e-6 carries a rounding error of a few eps·|f|/h,
    # which dominates near the optimum, where the gradient is tiny next to the cost
    # (hypothesis found cost 3.77, gradient 1.5e-3, difference 3.3e-10 < eps·|f|/h).
    rounding = 8 * np.finfo(float).eps * max(cost(X, y, w), 1.0) / 1e-6
    worst = np.max(np.abs(analytic - numeric))
    scale = np.max(np.abs(analytic) + np.abs(numeric))
    assert worst <= 1e-7 * scale + rounding, (
        f"{gradient.__name__}: relative error {relative_error(analytic, numeric):.2e}")


# ---------------------------------------------------------------- many weight vectors


@pytest.mark.parametrize(
    "cost, gradient", [(sse_cost, sse_gradient), (sigmoid_sse_cost, sigmoid_sse_gradient)]
)
def test_grid_of_weights_equals_one_at_a_time(cost, gradient):
    X, y, _ = problem(5, 2, 3)
    W0, W1 = np.meshgrid(np.linspace(-2, 2, 4), np.linspace(-1, 3, 3))
    grid = np.stack([W0, W1])  # (2, 3, 4)
    costs, grads = cost(X, y, grid), gradient(X, y, grid)
    assert costs.shape == (3, 4) and grads.shape == (2, 3, 4)
    for r in range(3):
        for c in range(4):
            w = grid[:, r, c]
            assert costs[r, c] == pytest.approx(cost(X, y, w), rel=1e-13)
            np.testing.assert_allclose(grads[:, r, c], gradient(X, y, w), rtol=1e-12, atol=1e-15)
    columns = grid.reshape(2, -1)  # (d, k)
    np.testing.assert_allclose(cost(X, y, columns), costs.ravel(), rtol=1e-13)


def test_single_weight_vector_cost_is_a_python_float():
    X, y, w = problem(4, 2, 0)
    assert type(sse_cost(X, y, w)) is float
    assert type(sigmoid_sse_cost(X, y, w)) is float


# ---------------------------------------------------------------- descent


def test_repeated_steps_reach_the_least_squares_solution():
    X, y, w = problem(30, 3, 4)
    costs = [sse_cost(X, y, w)]
    for _ in range(500):
        w = gradient_descent_step(w, sse_gradient(X, y, w), lr=0.01)
        costs.append(sse_cost(X, y, w))
    rises = [b - a for a, b in zip(costs, costs[1:], strict=False) if b > a * (1 + 1e-12)]
    assert not rises, f"cost went up by {rises} (beyond rounding) with a small learning rate"
    assert costs[-1] < costs[0] / 2
    best, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(w, best, rtol=1e-6, atol=1e-8)


def test_step_returns_a_new_array_and_leaves_inputs_alone():
    w, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    new = gradient_descent_step(w, g, 0.1)
    assert new is not w
    assert new.tolist() == pytest.approx([0.95, 2.1])
    assert w.tolist() == [1.0, 2.0] and g.tolist() == [0.5, -1.0]


@pytest.mark.parametrize(
    "lr, message",
    [(0, "lr > 0, got 0"), (-0.1, "lr > 0, got -0.1"),
     (float("nan"), "a finite lr, got nan"), (float("inf"), "a finite lr, got inf")],
)
def test_step_rejects_non_positive_learning_rates(lr, message):
    with pytest.raises(ValueError, match=f"gradient_descent_step expected {message}"):
        gradient_descent_step(np.ones(2), np.ones(2), lr)


def test_step_rejects_bad_types_and_shapes():
    with pytest.raises(TypeError, match="lr to be a real number, got str"):
        gradient_descent_step(np.ones(2), np.ones(2), "0.1")
    with pytest.raises(ValueError, match=r"shape of w \(2,\), got \(3,\)"):
        gradient_descent_step(np.ones(2), np.ones(3), 0.1)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X, y, w, message",
    [
        (np.ones(3), np.ones(3), np.ones(1), r"X of shape \(n, d\), got shape \(3,\)"),
        (np.ones((3, 2)), np.ones(4), np.ones(2), r"y of shape \(3,\) to match.*shape \(4,\)"),
        (np.ones((3, 2)), np.ones((3, 1)), np.ones(2), r"y of shape \(3,\).*got shape \(3, 1\)"),
        (np.ones((3, 2)), np.ones(3), np.ones(3), r"w with 2 weights .* got shape \(3,\)"),
        (np.ones((3, 2)), np.ones(3), np.float64(1.0), r"w with 2 weights .* got shape \(\)"),
    ],
)
@pytest.mark.parametrize("func", [sse_gradient, sigmoid_sse_gradient, sse_cost, sigmoid_sse_cost])
def test_shape_errors_name_expected_and_given(func, X, y, w, message):
    with pytest.raises(ValueError, match=f"{func.__name__} expected {message}"):
        func(X, y, w)


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="sse_gradient expected X to be a real number"):
        sse_gradient([["a"]], [1.0], [1.0])
