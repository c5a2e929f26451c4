"""Tests for week14.widgets.cost: cost surfaces, best lines, the explorer.

Slides: "Cost function", "Cost Function (J)". Everything runs headless (Agg backend).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14 import gradient_descent, losses
from week14.losses import asymmetric_mse
from week14.widgets.cost import LOSS_CHOICES, CostExplorer, best_line, cost_surface, line_data

matplotlib.use("Agg")

weights = st.floats(0.1, 10.0)


# ------------------------------------------------------------------ cost_surface


@settings(max_examples=30)
@given(
    hnp.arrays(np.float64, st.integers(1, 5), elements=st.floats(-3, 3)),
    hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-3, 3)),
    weights,
)
def test_every_grid_cell_is_the_cost_of_its_line(slopes, intercepts, w):
    x, y = line_data()
    surface = cost_surface(x, y, slopes, intercepts, w)
    assert surface.shape == (intercepts.size, slopes.size), "rows are intercepts, columns slopes"
    for (i, j), value in np.ndenumerate(surface):
        expected = asymmetric_mse(slopes[j] * x + intercepts[i], y, w)
        assert value == pytest.approx(expected, rel=1e-12), f"cell {(i, j)}"


def test_mse_surface_is_the_single_unit_sse_divided_by_m():
    x, y = line_data()
    slopes, intercepts = np.linspace(-1, 2, 5), np.linspace(0, 3, 4)
    grid = np.stack(np.meshgrid(slopes, intercepts))  # (2, 4, 5): w0 = slope, w1 = intercept
    X = np.column_stack([x, np.ones_like(x)])
    np.testing.assert_allclose(cost_surface(x, y, slopes, intercepts),
                               gradient_descent.sse_cost(X, y, grid) / x.size, rtol=1e-12)


def test_cost_surface_rejects_mismatched_data_and_2d_grids():
    with pytest.raises(ValueError, match=r"same shape \(m,\).*got x \(3,\) and y \(2,\)"):
        cost_surface(np.zeros(3), np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="1-D slopes and intercepts"):
        cost_surface(np.zeros(3), np.zeros(3), np.zeros((2, 2)), np.zeros(2))


# ------------------------------------------------------------------ best_line


def test_best_line_for_mse_is_least_squares():
    x, y = line_data()
    np.testing.assert_allclose(best_line(x, y), np.polyfit(x, y, 1), rtol=1e-10)


@settings(max_examples=40)
@given(hnp.arrays(np.float64, st.integers(3, 12), elements=st.floats(-5, 5)), weights)
def test_best_line_has_zero_gradient_and_beats_its_neighbours(y, w):
    x = np.linspace(0.0, 4.0, y.size)
    slope, intercept = best_line(x, y, w)
    r = slope * x + intercept - y
    c = np.where(r < 0, w, 1.0)
    # dJ/dw = (1/m) Σ c r x and dJ/db = (1/m) Σ c r vanish at the minimum
    scale = 1.0 + np.abs(c * r).sum()
    assert abs(np.sum(c * r * x)) / scale < 1e-9 and abs(np.sum(c * r)) / scale < 1e-9
    best = asymmetric_mse(slope * x + intercept, y, w)
    for ds, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-3, -1e-3)]:
        moved = asymmetric_mse((slope + ds) * x + intercept + db, y, w)
        assert moved >= best - 1e-12, f"moving by {(ds, db)} lowered the cost"


def test_punishing_under_prediction_lifts_the_best_line():
    x, y = line_data()
    (s1, b1), (s3, b3) = best_line(x, y, 1.0), best_line(x, y, 3.0)
    assert np.all(s3 * x + b3 > s1 * x + b1), "the asymmetric line should lie above the MSE line"
    # MSE's errors average to zero; the asymmetric line prefers to err on the high side
    assert np.mean(s1 * x + b1 - y) == pytest.approx(0.0, abs=1e-12)
    assert np.mean(s3 * x + b3 - y) > 0.05
    assert np.sum(s3 * x + b3 < y) <= np.sum(s1 * x + b1 < y)


def test_best_line_needs_two_distinct_x():
    with pytest.raises(ValueError, match="two distinct x values"):
        best_line(np.ones(4), np.arange(4.0))


# ------------------------------------------------------------------ explorer


def test_explorer_title_shows_the_cost_of_the_chosen_line(figures):
    explorer = CostExplorer()
    assert len(figures) == 1, "the explorer draws once when built"
    explorer.set(slope=1.0, intercept=0.5, loss=LOSS_CHOICES["asymmetric: under-prediction ×3"])
    assert len(figures) == 2, "set() must redraw exactly once"
    x, y = line_data()
    fit_axes, cost_axes = figures[-1].axes
    expected = asymmetric_mse(1.0 * x + 0.5, y, 3.0)
    assert fit_axes.get_title().startswith(f"cost J = {expected:.3f}"), fit_axes.get_title()
    assert f"(plain MSE {losses.mse(1.0 * x + 0.5, y):.3f})" in fit_axes.get_title()
    assert cost_axes.get_xlabel() == "slope w" and cost_axes.get_ylabel() == "intercept b"
    explorer.set(loss=1.0)
    assert "plain MSE" not in figures[-1].axes[0].get_title()


def test_explorer_marks_the_best_line_on_the_contour(figures):
    explorer = CostExplorer()
    x, y = line_data()
    slope, intercept = best_line(x, y)
    star = [line for line in figures[-1].axes[1].get_lines() if line.get_marker() == "*"]
    assert len(star) == 1
    np.testing.assert_allclose(star[0].get_xydata()[0], (slope, intercept))
    assert explorer.values()["loss"] == 1.0


def test_explorer_takes_its_own_data_and_rejects_half_of_it(figures):
    explorer = CostExplorer(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0]))
    np.testing.assert_allclose(explorer._best[1.0], (2.0, 1.0))
    with pytest.raises(ValueError, match="both x and y"):
        CostExplorer(np.zeros(3))
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(weight=2.0)
