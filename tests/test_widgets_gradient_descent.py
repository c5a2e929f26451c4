"""Tests for week14.widgets.gradient_descent: the numbers behind the explorer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from week14.gradient_descent import (
    gradient_descent_step,
    sigmoid_sse_cost,
    sigmoid_sse_gradient,
    sse_cost,
    sse_gradient,
)
from week14.widgets import gradient_descent as gd


def random_problem(seed: int, n: int = 12, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


# ---------------------------------------------------------------- demo_problem


def test_demo_problem_shapes_and_reproducibility():
    X, y = gd.demo_problem("linear", n=20, rng=3)
    assert X.shape == (20, 2) and y.shape == (20,)
    X2, y2 = gd.demo_problem("linear", n=20, rng=3)
    np.testing.assert_array_equal(X, X2, err_msg="same seed must give the same inputs")
    np.testing.assert_array_equal(y, y2, err_msg="same seed must give the same targets")
    Xs, ys = gd.demo_problem("sigmoid", n=20, rng=3)
    np.testing.assert_array_equal(Xs, X, err_msg="both units must share the inputs")
    assert set(np.unique(ys)) <= {0.0, 1.0}, f"sigmoid targets must be labels, got {ys}"


def test_demo_problem_linear_targets_come_from_the_true_weights():
    X, y = gd.demo_problem("linear", n=2000, rng=0)
    fitted, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(fitted, gd.TRUE_WEIGHTS, atol=0.05,
                               err_msg="least squares on many examples: fitted vs true")


@pytest.mark.parametrize(
    "bad, error, message",
    [(0, ValueError, "n >= 1, got 0"), (-1, ValueError, "n >= 1, got -1"),
     (2.5, TypeError, "n to be an int, got float"), (True, TypeError, "n to be an int, got bool")],
)
def test_demo_problem_rejects_bad_n(bad, error, message):
    with pytest.raises(error, match=f"demo_problem expected {message}"):
        gd.demo_problem("linear", n=bad)


def test_unknown_unit_names_the_choices():
    with pytest.raises(ValueError, match=r"one of \['linear', 'sigmoid'\], got 'relu'"):
        gd.demo_problem("relu")


# ---------------------------------------------------------------- stable_lr_limit


def test_stable_lr_limit_is_two_over_the_largest_eigenvalue():
    X = np.array([[3.0, 0.0], [0.0, 1.0]])  # X^T X = diag(9, 1)
    assert gd.stable_lr_limit(X) == pytest.approx(2 / 9, rel=1e-14)


def test_stable_lr_limit_rejects_all_zero_inputs():
    with pytest.raises(ValueError, match="non-zero entry"):
        gd.stable_lr_limit(np.zeros((3, 2)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.05, 0.95))
def test_below_the_limit_the_linear_cost_never_increases(seed, fraction):
    X, y = random_problem(seed)
    lr = fraction * gd.stable_lr_limit(X)
    costs = gd.path_costs(X, y, gd.descent_path(X, y, np.full(3, 2.0), lr, 40), "linear")
    rises = np.diff(costs)
    assert np.all(rises <= 1e-12 * costs[:-1]), (
        f"lr = {fraction:.2f} x limit: the cost rose by up to {rises.max():.3g}")


def test_below_the_limit_descent_reaches_least_squares():
    X, y = random_problem(1)
    path = gd.descent_path(X, y, np.zeros(3), 0.9 * gd.stable_lr_limit(X), 2000)
    best, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(path[-1], best, rtol=1e-8,
                               err_msg="gradient descent end point vs least squares")


def test_above_the_limit_descent_diverges_and_stops():
    X, y = random_problem(2)
    path = gd.descent_path(X, y, np.zeros(3), 1.5 * gd.stable_lr_limit(X), 200)
    finite = np.isfinite(path).all(axis=1)
    assert not finite[-1], "lr = 1.5 x the limit should diverge within 200 steps"
    k = int(np.argmin(finite))  # first NaN row
    assert finite[:k].all() and not finite[k:].any(), "NaN rows must be the tail only"
    assert np.abs(path[k - 1]).max() <= gd.DIVERGED, "rows kept must be below DIVERGED"
    costs = gd.path_costs(X, y, path, "linear")
    assert costs[k - 1] > 1e6 * costs[0], f"cost should explode, got {costs[[0, k - 1]]}"


# ---------------------------------------------------------------- descent_path


@pytest.mark.parametrize("unit, gradient", [("linear", sse_gradient),
                                            ("sigmoid", sigmoid_sse_gradient)])
def test_descent_path_repeats_the_librarys_step(unit, gradient):
    X, y = random_problem(4)
    w0 = np.array([0.5, -1.0, 2.0])
    path = gd.descent_path(X, y, w0, 0.01, 5, unit)
    assert path.shape == (6, 3)
    expected = [w0]
    for _ in range(5):
        expected.append(gradient_descent_step(expected[-1], gradient(X, y, expected[-1]), 0.01))
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-15,
                               err_msg=f"{unit} path vs step-by-step library calls")


def test_descent_path_does_not_modify_w0_and_zero_steps_is_the_start():
    X, y = random_problem(5)
    w0 = np.array([1.0, 2.0, 3.0])
    path = gd.descent_path(X, y, w0, 0.1, 0)
    np.testing.assert_array_equal(path, [[1.0, 2.0, 3.0]])
    gd.descent_path(X, y, w0, 0.1, 3)
    np.testing.assert_array_equal(w0, [1.0, 2.0, 3.0], err_msg="w0 was modified in place")


def test_sigmoid_descent_lowers_the_cost():
    X, y = gd.demo_problem("sigmoid")
    costs = gd.path_costs(X, y, gd.descent_path(X, y, np.array([-3.0, 3.0]), 0.5, 50,
                                                "sigmoid"), "sigmoid")
    assert costs[-1] < 0.6 * costs[0], f"SSE went from {costs[0]:.3f} to {costs[-1]:.3f}"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"lr": 0.0}, ValueError, "descent_path expected lr > 0, got 0.0"),
        ({"lr": float("nan")}, ValueError, "descent_path expected a finite lr, got nan"),
        ({"lr": "0.1"}, TypeError, "descent_path expected lr to be a real number, got str"),
        ({"steps": -1}, ValueError, "descent_path expected steps >= 0, got -1"),
        ({"steps": 2.0}, TypeError, "descent_path expected steps to be an int, got float"),
        ({"w0": np.zeros((3, 1))}, ValueError, r"w0 of shape \(d,\), got shape \(3, 1\)"),
        ({"w0": np.zeros(2)}, ValueError, "3 weights"),
        ({"unit": "tanh"}, ValueError, "unit to be one of"),
    ],
)
def test_descent_path_rejects_bad_arguments(kwargs, error, message):
    X, y = random_problem(6)
    args = {"w0": np.zeros(3), "lr": 0.1, "steps": 3, "unit": "linear"} | kwargs
    with pytest.raises(error, match=message):
        gd.descent_path(X, y, **args)


# ---------------------------------------------------------------- costs


def test_path_costs_are_the_librarys_costs_row_by_row():
    X, y = random_problem(7)
    path = np.array([[0.0, 1.0, 2.0], [1.0, -1.0, 0.5], [np.nan, np.nan, np.nan]])
    for unit, cost in (("linear", sse_cost), ("sigmoid", sigmoid_sse_cost)):
        costs = gd.path_costs(X, y, path, unit)
        np.testing.assert_allclose(costs[:2], [cost(X, y, w) for w in path[:2]], rtol=1e-14,
                                   err_msg=f"{unit} path costs")
        assert np.isnan(costs[2]), "a NaN row (after divergence) must have a NaN cost"


def test_cost_grid_layout_matches_contour():
    X, y = random_problem(8, d=2)
    w1, w2 = np.linspace(-2, 2, 5), np.linspace(-1, 3, 4)
    J = gd.cost_grid(X, y, w1, w2, "linear")
    assert J.shape == (4, 5), "J must be (len(w2), len(w1)), as plt.contour expects"
    for i, j in [(0, 0), (1, 3), (3, 4)]:
        assert J[i, j] == pytest.approx(sse_cost(X, y, np.array([w1[j], w2[i]])), rel=1e-13)


def test_linear_cost_is_convex_and_sigmoid_cost_is_not():
    X, y = gd.demo_problem("linear")
    Xs, ys = gd.demo_problem("sigmoid")
    grid = np.linspace(-4, 4, 41)
    linear = gd.cost_grid(X, y, grid, grid, "linear")
    sigmoid = gd.cost_grid(Xs, ys, grid, grid, "sigmoid")
    for axis in (0, 1):
        curvature = np.diff(linear, n=2, axis=axis)
        assert curvature.min() > 0, f"linear SSE must curve upwards along axis {axis}"
    bends_down = min(np.diff(sigmoid, n=2, axis=axis).min() for axis in (0, 1))
    assert bends_down < 0, "the sigmoid unit's SSE should curve downwards somewhere"
    assert sigmoid.max() <= ys.size / 2, "the sigmoid SSE is bounded by n/2"


def test_cost_grid_rejects_2d_axes():
    X, y = random_problem(9, d=2)
    with pytest.raises(ValueError, match="1-D w1 and w2"):
        gd.cost_grid(X, y, np.zeros((2, 2)), np.zeros(3))


# ---------------------------------------------------------------- the explorer


def test_explorer_redraws_for_every_unit_and_reports_divergence(capsys):
    explorer = gd.GradientDescentExplorer()
    assert set(explorer.controls) == {"unit", "lr", "steps", "w1_start", "w2_start"}
    capsys.readouterr()
    explorer.set(lr=1.0, steps=40)
    assert "so this run does not converge" in capsys.readouterr().out
    explorer.set(lr=0.01)
    assert "so this run converges" in capsys.readouterr().out
    explorer.set(unit="sigmoid", w1_start=2.0, w2_start=-3.0, steps=0)
    assert "sigmoid unit" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(learning_rate=0.1)
