"""Cost explorer: fit a line by hand and watch the cost (slides: "Cost function",
"Cost Function (J)").

Two sliders set the slope w and the intercept b of the line ŷ = w·x + b over a small
fixed data set. The left panel shows the line and every residual ŷ_i − y_i; the right
panel shows the cost J(w, b) over a grid of lines as a contour map, the current line as a
dot and the best line as a star. A drop-down switches between the lecture's MSE and an
asymmetric squared loss that punishes under-prediction more.

The numbers come from the pure functions below, which the tests call without a browser:

* ``cost_surface``: J(w, b) for a whole grid of lines at once, with the lecture's MSE
  or ``week14.losses.asymmetric_mse``;
* ``best_line``: the line with the lowest cost (least squares; iteratively reweighted
  least squares for the asymmetric loss).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from week14._validation import as_real_array, check_real
from week14.losses import asymmetric_mse, asymmetric_squared_error, mse
from week14.widgets._base import Explorer

LOSS_CHOICES: dict[str, float] = {
    "MSE: 1/(2m) Σ(ŷ−y)²": 1.0,
    "asymmetric: under-prediction ×3": 3.0,
}
"""Drop-down label -> ``under_weight`` of ``week14.losses.asymmetric_mse`` (1 is the
lecture's MSE)."""


def line_data() -> tuple[np.ndarray, np.ndarray]:
    """The explorer's data set: 8 points (x, y) scattered around y ≈ 0.65x + 1.4.

    Returns fresh float arrays ``x`` and ``y`` of shape (8,) on every call.
    """
    x = np.array([0.5, 1.0, 1.5, 2.5, 3.0, 4.0, 4.5, 5.5])
    y = np.array([2.2, 1.1, 2.8, 2.2, 4.1, 3.2, 5.3, 4.5])
    return x, y


def _check_xy(x: object, y: object, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x`` and ``y`` as float arrays of the same shape (m,), m ≥ 1."""
    x = as_real_array(x, func, "x")
    y = as_real_array(y, func, "y")
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(
            f"{func} expected x and y of the same shape (m,) with m >= 1, got x {x.shape} "
            f"and y {y.shape}"
        )
    return x, y


def cost_surface(
    x: np.ndarray,
    y: np.ndarray,
    slopes: np.ndarray,
    intercepts: np.ndarray,
    under_weight: float = 1.0,
) -> np.ndarray:
    """Cost of every line ŷ = w·x + b on a grid, ``J[i, j]`` for b = intercepts[i],
    w = slopes[j] (the layout ``plt.contour(slopes, intercepts, J)`` expects).

    J is ``asymmetric_mse(w·x + b, y, under_weight)``; with ``under_weight = 1`` it is the
    lecture's MSE, 1/(2m) Σ(ŷ − y)², a paraboloid in (w, b) (slide: "Cost Function").

    Args:
        x, y: the data, shape (m,) each.
        slopes: shape (S,); intercepts: shape (B,).
        under_weight: as in ``asymmetric_mse``.

    Returns:
        Float array of shape (B, S).
    """
    check_real("cost_surface", "under_weight", under_weight, gt=0.0)
    x, y = _check_xy(x, y, "cost_surface")
    slopes = as_real_array(slopes, "cost_surface", "slopes")
    intercepts = as_real_array(intercepts, "cost_surface", "intercepts")
    if slopes.ndim != 1 or intercepts.ndim != 1:
        raise ValueError(
            f"cost_surface expected 1-D slopes and intercepts, got shapes {slopes.shape} "
            f"and {intercepts.shape}"
        )
    # y_hat[i, j, n] = slopes[j] * x[n] + intercepts[i]
    y_hat = slopes[None, :, None] * x + intercepts[:, None, None]
    return np.sum(asymmetric_squared_error(y_hat, y, under_weight), axis=-1) / (2 * x.size)


def best_line(
    x: np.ndarray, y: np.ndarray, under_weight: float = 1.0, max_iter: int = 100
) -> tuple[float, float]:
    """The slope and intercept (w, b) that minimise ``asymmetric_mse(w·x + b, y, under_weight)``.

    For ``under_weight = 1`` this is ordinary least squares. Otherwise the cost is a
    weighted least-squares cost whose weights c_i depend on which side of the line each
    point lies; iteratively reweighted least squares alternates "fix the weights, solve
    the weighted least squares" and "recompute the weights" until the line stops
    changing (the cost is convex and piecewise quadratic, so this reaches its minimum).

    Args:
        x, y: the data, shape (m,) each, with at least two distinct x values.
        under_weight: as in ``asymmetric_mse``.
        max_iter: the most reweighting rounds.

    Returns:
        ``(slope, intercept)`` as Python floats.

    Raises:
        ValueError: if all x are equal (no unique line) or the line does not settle
            within ``max_iter`` rounds.
    """
    weight = check_real("best_line", "under_weight", under_weight, gt=0.0)
    x, y = _check_xy(x, y, "best_line")
    if np.ptp(x) == 0:
        raise ValueError("best_line expected at least two distinct x values, got all equal")
    design = np.column_stack([x, np.ones_like(x)])
    c = np.ones_like(x)
    line = None
    for _ in range(max_iter):
        root = np.sqrt(c)
        new_line = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
        # Points on the line may flip side by rounding alone; they do not move the line.
        if line is not None and np.allclose(new_line, line, rtol=1e-12, atol=1e-12):
            return float(new_line[0]), float(new_line[1])
        line = new_line
        c = np.where(design @ line < y, weight, 1.0)
    raise ValueError(f"best_line did not settle within {max_iter} reweighting rounds")


class CostExplorer(Explorer):
    """Sliders for a line's slope and intercept; see the fit, the residuals and the cost.

    Args:
        x, y: the data (default ``line_data()``).
    """

    def __init__(self, x: np.ndarray | None = None, y: np.ndarray | None = None) -> None:
        if (x is None) != (y is None):
            raise ValueError("CostExplorer expected both x and y, or neither")
        data = line_data() if x is None else (x, y)
        self.x, self.y = _check_xy(*data, "CostExplorer")
        self.slopes = np.linspace(-1.0, 2.5, 71)
        self.intercepts = np.linspace(-2.0, 4.0, 61)
        self._surfaces = {
            weight: cost_surface(self.x, self.y, self.slopes, self.intercepts, weight)
            for weight in LOSS_CHOICES.values()
        }
        self._best = {weight: best_line(self.x, self.y, weight) for weight in LOSS_CHOICES.values()}
        slider = {"continuous_update": True, "readout_format": ".2f",
                  "style": {"description_width": "70px"}}
        controls = {
            "slope": widgets.FloatSlider(value=0.3, min=-1.0, max=2.5, step=0.05,
                                         description="slope w", **slider),
            "intercept": widgets.FloatSlider(value=2.0, min=-2.0, max=4.0, step=0.05,
                                             description="intercept b", **slider),
            "loss": widgets.Dropdown(options=LOSS_CHOICES, value=1.0, description="cost"),
        }
        super().__init__(controls, title="Fit a line by hand: ŷ = w·x + b")

    def render(self, slope: float, intercept: float, loss: float) -> None:
        import matplotlib.pyplot as plt

        y_hat = slope * self.x + intercept
        cost = asymmetric_mse(y_hat, self.y, loss)
        best_w, best_b = self._best[loss]
        fig, (ax_fit, ax_cost) = plt.subplots(1, 2, figsize=(9, 3.4))

        under = y_hat < self.y
        for colour, mask, label in (("C3", under, "under-prediction"),
                                    ("C0", ~under, "over-prediction")):
            ax_fit.vlines(self.x[mask], self.y[mask], y_hat[mask], colors=colour, lw=2,
                          label=label)
        ax_fit.scatter(self.x, self.y, color="k", zorder=3, label="data y")
        grid = np.array([self.x.min() - 0.5, self.x.max() + 0.5])
        ax_fit.plot(grid, slope * grid + intercept, color="C2", label="your line ŷ")
        title = f"cost J = {cost:.3f}"
        if loss != 1.0:
            title += f"   (plain MSE {mse(y_hat, self.y):.3f})"
        ax_fit.set(xlabel="x", ylabel="y", title=title)
        ax_fit.legend(fontsize=7, loc="upper left")

        surface = self._surfaces[loss]
        levels = np.geomspace(surface.min() + 1e-3, surface.max(), 14)
        ax_cost.contour(self.slopes, self.intercepts, surface, levels=levels, cmap="viridis",
                        linewidths=0.8)
        ax_cost.plot(slope, intercept, "o", color="C2", label=f"your line (J = {cost:.3f})")
        best_cost = asymmetric_mse(best_w * self.x + best_b, self.y, loss)
        ax_cost.plot(best_w, best_b, "*", color="k", ms=11,
                     label=f"best line (J = {best_cost:.3f})")
        ax_cost.set(xlabel="slope w", ylabel="intercept b", title="cost J(w, b)")
        ax_cost.legend(fontsize=7, loc="upper right")
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
        self.show_figure(fig)
