"""Gradient-descent explorer: the path of w ← w − η ∇SSE(w) on a unit's cost surface.

Slides: "Gradient Descent Rule", "Gradient Descent Rule or Sigmoid", "Gradient descent",
"Learning Rate", "Impact of different learning rates". A single unit with two weights
(w₁, w₂) and no bias is fitted to a small fixed data set. Sliders set the learning rate η
(log scale), the number of steps and the starting point; a toggle switches between a
linear unit ŷ = Xw and a sigmoid unit ŷ = σ(Xw). The left panel draws the path of the
weights over the contours of SSE(w); the right panel draws the cost after every step.
The gradient only says which way is downhill; η decides how far each step goes: too
small and the path crawls, too large (for the linear unit: η > 2/λ_max(XᵀX)) and every
step overshoots further than the last, so the path leaves the picture and the cost
explodes.

The numbers come from the pure functions below, which the tests call without a browser:

* ``demo_problem``: the explorer's data set for either unit;
* ``stable_lr_limit``: 2/λ_max(XᵀX), the largest η for which a linear unit converges;
* ``descent_path``: the weights after every step of gradient descent;
* ``path_costs`` and ``cost_grid``: SSE along a path and over a grid of weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np

from week14._rng import RngLike, as_generator
from week14._validation import as_real_array, check_int, check_real
from week14.activations import sigmoid
from week14.gradient_descent import (
    gradient_descent_step,
    sigmoid_sse_cost,
    sigmoid_sse_gradient,
    sse_cost,
    sse_gradient,
)
from week14.widgets._base import Explorer

Fn = Callable[[np.ndarray, np.ndarray, np.ndarray], Any]

UNITS: dict[str, tuple[Fn, Fn]] = {
    "linear": (sse_cost, sse_gradient),
    "sigmoid": (sigmoid_sse_cost, sigmoid_sse_gradient),
}
"""Unit name -> (SSE cost, SSE gradient) from ``week14.gradient_descent``."""

DIVERGED = 1e6
"""``descent_path`` stops once a weight's magnitude exceeds this (or is not finite)."""

TRUE_WEIGHTS = (1.5, -1.0)
"""The weights ``demo_problem`` generates its targets from."""


def _unit(unit: str, func: str) -> tuple[Fn, Fn]:
    """Return the (cost, gradient) pair for ``unit`` or raise ValueError naming the choices."""
    try:
        return UNITS[unit]
    except (KeyError, TypeError):
        raise ValueError(
            f"{func} expected unit to be one of {sorted(UNITS)}, got {unit!r}"
        ) from None


def demo_problem(
    unit: str = "linear", n: int = 30, rng: RngLike = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small two-input data set for a unit without bias, ŷ = φ(w₁x₁ + w₂x₂).

    The inputs are correlated (x₂ = 0.6·x₁ + 0.8·noise), so the linear unit's cost bowl
    is an elongated ellipse and a too-large step zig-zags across it. The targets come
    from ``TRUE_WEIGHTS`` = (1.5, −1): for "linear", y = Xw* + N(0, 0.3²) noise; for
    "sigmoid", y ∈ {0, 1} drawn with P(y = 1) = σ(Xw*) (a logistic-regression data set).
    The same ``rng`` gives the same inputs X for both units.

    Args:
        unit: "linear" or "sigmoid".
        n: number of examples, ≥ 1.
        rng: seed or Generator.

    Returns:
        ``(X, y)`` with shapes (n, 2) and (n,).
    """
    _unit(unit, "demo_problem")
    n = check_int("demo_problem", "n", n, 1)
    gen = as_generator(rng)
    x1 = gen.standard_normal(n)
    x2 = 0.6 * x1 + 0.8 * gen.standard_normal(n)
    X = np.column_stack([x1, x2])
    z = X @ np.array(TRUE_WEIGHTS)
    noise = gen.standard_normal(n)
    uniform = gen.uniform(size=n)
    if unit == "linear":
        return X, z + 0.3 * noise
    return X, (uniform < sigmoid(z)).astype(np.float64)


def stable_lr_limit(X: np.ndarray) -> float:
    """The largest stable learning rate for a linear unit's SSE: 2 / λ_max(XᵀX).

    SSE(w) = ½‖Xw − y‖² has the constant Hessian H = XᵀX, so the error e_t = w_t − w*
    of gradient descent evolves exactly as e_{t+1} = (I − ηH) e_t. Along an eigenvector
    of H with eigenvalue λ > 0 it is multiplied by 1 − ηλ at every step, so it shrinks
    from every start iff |1 − ηλ| < 1 for all of them, i.e. iff η < 2/λ_max (slide: Impact
    of different learning rates). At η = 1/λ_max the steepest direction is solved in one
    step; above 2/λ_max gradient descent diverges from almost every start.

    Args:
        X: inputs, shape (n, d), not all zero.

    Returns:
        2/λ_max as a Python float.
    """
    X = as_real_array(X, "stable_lr_limit", "X")
    if X.ndim != 2 or X.size == 0:
        raise ValueError(f"stable_lr_limit expected a non-empty X of shape (n, d), got {X.shape}")
    top = float(np.linalg.eigvalsh(X.T @ X)[-1])
    if top <= 0:
        raise ValueError("stable_lr_limit expected X with a non-zero entry, got all zeros")
    return 2.0 / top


def descent_path(
    X: np.ndarray,
    y: np.ndarray,
    w0: np.ndarray,
    lr: float,
    steps: int,
    unit: str = "linear",
) -> np.ndarray:
    """The weights visited by ``steps`` steps of gradient descent on a unit's SSE.

    Row 0 is ``w0``; row t + 1 is ``gradient_descent_step(w_t, ∇SSE(w_t), lr)`` with the
    gradient of ``week14.gradient_descent`` for the chosen unit (slide: Gradient Descent
    Rule). If a weight's magnitude exceeds ``DIVERGED`` (1e6) the descent has diverged:
    it stops there and the remaining rows are NaN, so the array keeps its shape and a
    plot of it simply ends.

    Args:
        X: inputs, shape (n, d).
        y: targets, shape (n,).
        w0: starting weights, shape (d,).
        lr: learning rate η, a finite number > 0.
        steps: number of steps, an integer ≥ 0.
        unit: "linear" (ŷ = Xw) or "sigmoid" (ŷ = σ(Xw)).

    Returns:
        float64 array of shape (steps + 1, d).

    Raises:
        ValueError: for an unknown unit, a negative step count, a learning rate that is
            not a finite positive number, or shapes that do not fit together.
        TypeError: if ``steps`` is not an int or ``lr`` is not a real number.
    """
    _, gradient = _unit(unit, "descent_path")
    steps = check_int("descent_path", "steps", steps, 0)
    lr = check_real("descent_path", "lr", lr, gt=0.0)
    w = np.array(as_real_array(w0, "descent_path", "w0"), dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"descent_path expected w0 of shape (d,), got shape {w.shape}")
    path = np.full((steps + 1, w.size), np.nan)
    path[0] = w
    for t in range(steps):
        w = gradient_descent_step(w, gradient(X, y, w), lr)
        if not np.all(np.abs(w) <= DIVERGED):  # also catches inf and NaN
            break
        path[t + 1] = w
    return path


def path_costs(X: np.ndarray, y: np.ndarray, path: np.ndarray, unit: str = "linear") -> np.ndarray:
    """SSE at every row of a path from ``descent_path`` (NaN where the path is NaN).

    Args:
        X, y: the data, shapes (n, d) and (n,).
        path: weights, shape (k, d).
        unit: "linear" or "sigmoid".

    Returns:
        float64 array of shape (k,).
    """
    cost, _ = _unit(unit, "path_costs")
    path = as_real_array(path, "path_costs", "path")
    if path.ndim != 2:
        raise ValueError(f"path_costs expected a path of shape (k, d), got shape {path.shape}")
    return np.asarray(cost(X, y, path.T), dtype=np.float64)


def cost_grid(
    X: np.ndarray, y: np.ndarray, w1: np.ndarray, w2: np.ndarray, unit: str = "linear"
) -> np.ndarray:
    """SSE of a two-weight unit on a grid: ``J[i, j]`` = SSE(w = (w1[j], w2[i])).

    This is the layout ``plt.contour(w1, w2, J)`` expects. For the linear unit J is a
    quadratic bowl (an elliptic paraboloid when X has full column rank); for the sigmoid
    unit it is bounded by n/2 and flattens into plateaus where the sigmoid saturates.

    Args:
        X: inputs, shape (n, 2).
        y: targets, shape (n,).
        w1: values of the first weight, shape (W,).
        w2: values of the second weight, shape (H,).
        unit: "linear" or "sigmoid".

    Returns:
        float64 array of shape (H, W).
    """
    cost, _ = _unit(unit, "cost_grid")
    w1 = as_real_array(w1, "cost_grid", "w1")
    w2 = as_real_array(w2, "cost_grid", "w2")
    if w1.ndim != 1 or w2.ndim != 1:
        raise ValueError(
            f"cost_grid expected 1-D w1 and w2, got shapes {w1.shape} and {w2.shape}"
        )
    return np.asarray(cost(X, y, np.stack(np.meshgrid(w1, w2))), dtype=np.float64)


class GradientDescentExplorer(Explorer):
    """Learning rate, steps and starting point of gradient descent on a two-weight unit."""

    LIMITS = (-4.0, 4.0)

    def __init__(self) -> None:
        self.data = {unit: demo_problem(unit) for unit in UNITS}
        self.grid = np.linspace(*self.LIMITS, 121)
        self.surfaces = {unit: cost_grid(*self.data[unit], self.grid, self.grid, unit)
                         for unit in UNITS}
        self.lr_limit = stable_lr_limit(self.data["linear"][0])
        slider = {"continuous_update": True, "style": {"description_width": "100px"}}
        controls = {
            "unit": widgets.ToggleButtons(options=list(UNITS), value="linear",
                                          description="unit"),
            "lr": widgets.FloatLogSlider(value=0.01, base=10, min=-3, max=0, step=0.05,
                                         description="learning rate η", readout_format=".3g",
                                         **slider),
            "steps": widgets.IntSlider(value=25, min=0, max=100, description="steps",
                                       **slider),
            "w1_start": widgets.FloatSlider(value=-3.0, min=-3.5, max=3.5, step=0.1,
                                            description="start w₁", **slider),
            "w2_start": widgets.FloatSlider(value=3.0, min=-3.5, max=3.5, step=0.1,
                                            description="start w₂", **slider),
        }
        super().__init__(controls, title="Gradient descent: w ← w − η ∇SSE(w)")

    def render(self, unit: str, lr: float, steps: int, w1_start: float, w2_start: float,
               **_: Any) -> None:
        import matplotlib.pyplot as plt

        X, y = self.data[unit]
        path = descent_path(X, y, np.array([w1_start, w2_start]), lr, steps, unit)
        costs = path_costs(X, y, path, unit)
        done = int(np.sum(np.isfinite(path[:, 0]))) - 1  # steps taken before any blow-up
        surface = self.surfaces[unit]

        fig, (ax_path, ax_cost) = plt.subplots(1, 2, figsize=(9, 3.6))
        if unit == "linear":
            levels = np.geomspace(surface.min() + 0.5, surface.max(), 15)
        else:
            levels = np.linspace(surface.min(), surface.max(), 15)
        ax_path.contour(self.grid, self.grid, surface, levels=levels, cmap="viridis",
                        linewidths=0.8)
        ax_path.plot(path[:, 0], path[:, 1], ".-", color="C3", ms=4, lw=1)
        ax_path.plot(w1_start, w2_start, "o", color="C3", label="start")
        lowest = np.unravel_index(np.argmin(surface), surface.shape)
        ax_path.plot(self.grid[lowest[1]], self.grid[lowest[0]], "*", color="k", ms=10,
                     label="lowest SSE on the grid")
        ax_path.set(xlim=self.LIMITS, ylim=self.LIMITS, xlabel="w₁", ylabel="w₂",
                    title=f"{unit} unit: SSE contours and the path")
        ax_path.legend(fontsize=7, loc="lower left")

        ax_cost.plot(np.arange(steps + 1), costs, ".-", color="C3", ms=4)
        ax_cost.set(xlabel="step t", ylabel="SSE(w_t)", xlim=(0, max(steps, 1)),
                    yscale="log" if unit == "linear" else "linear")
        if done < steps:
            ax_cost.set_title(f"diverged: |w| > {DIVERGED:.0e} after {done + 1} steps")
        else:
            ax_cost.set_title(f"SSE after {steps} steps: {costs[-1]:.4g}")
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.3)
        self.show_figure(fig)
        if unit == "linear":
            verdict = "converges" if lr < self.lr_limit else "does not converge"
            print(f"η = {lr:.3g}; gradient descent on the linear unit converges from every "
                  f"start iff η < 2/λ_max(XᵀX) = {self.lr_limit:.3g}, so this run {verdict}.")
        else:
            print(f"η = {lr:.3g}; the sigmoid unit scales each example's error by "
                  "σ′ = ŷ(1 − ŷ) ≤ 1/4, so its steps are short, and nearly zero on plateaus.")
