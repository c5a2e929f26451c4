"""Activation explorer: an activation, its derivative and a finite-difference check.

Slides: "Derivative of the Sigmoid Function", "Derivatives of other Activation
Functions". A drop-down picks one of the lecture's activations and a slider sets α (used
by PReLU and ELU only). The left panel draws f(x); the right panel draws the analytic
derivative f′(x) from ``week14.activations`` as a line and the centred difference
(f(x + h) − f(x − h)) / 2h as dots on top of it, and its title gives the largest
relative error between the two.

The numbers come from the pure functions below, which the tests call without a browser:

* ``takes_alpha``: whether an activation has an α parameter;
* ``activation_curves``: f, f′, the numerical f′ (``week14.gradcheck.centred_difference``)
  and their relative error on a grid.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np

from week14 import activations
from week14._validation import as_real_array
from week14.gradcheck import centred_difference, relative_error
from week14.widgets._base import Explorer

DEFAULT_X = np.linspace(-5.0, 5.0, 400)
"""The explorer's grid (read-only): 400 points, an even number, so x = 0 (the kinks) is
not on it."""
DEFAULT_X.flags.writeable = False


def takes_alpha(name: str) -> bool:
    """Whether activation ``name`` (a key of ``week14.activations.ACTIVATIONS``) takes α.

    True for "prelu" and "elu", whose functions have an ``alpha`` parameter.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
    """
    fn, _ = activations.get(name)
    return "alpha" in inspect.signature(fn).parameters


def activation_curves(
    name: str, alpha: float | None = None, x: np.ndarray | None = None, h: float = 1e-6
) -> dict[str, Any]:
    """f, f′ and a finite-difference check of f′ for one activation on a grid.

    Slide: Derivatives of other Activation Functions.

    Args:
        name: a key of ``week14.activations.ACTIVATIONS`` ("sigmoid", "tanh", "arctan",
            "relu", "prelu", "elu", "softplus", "binary_step").
        alpha: α for "prelu" / "elu"; ``None`` uses the library's default (0.25 / 1.0).
            Must be ``None`` for the other activations, which have no α.
        x: the grid, a 1-D float array (default ``DEFAULT_X``, 400 points on [−5, 5]).
            A point within ``h`` of a kink (x = 0 for ReLU, PReLU, ELU, binary step)
            makes the finite difference straddle the kink and the error large.
        h: half-width of the centred difference.

    Returns:
        A dict with ``"x"`` (the grid), ``"f"`` = f(x), ``"derivative"`` = f′(x) from
        ``week14.activations``, ``"numerical"`` = the centred difference (all float
        arrays of the grid's shape), and ``"max_rel_error"``, the
        ``week14.gradcheck.relative_error`` between the two derivatives (a float;
        around 1e-9 or less for a correct derivative away from kinks).

    Raises:
        ValueError: for an unknown name, an α for an activation without one, or a grid
            that is not a non-empty 1-D array.
    """
    fn, derivative = activations.get(name)
    if alpha is not None:
        if not takes_alpha(name):
            raise ValueError(
                f"activation_curves: {name!r} has no alpha (only prelu and elu do), "
                f"got alpha={alpha}"
            )
        fn = _with_alpha(fn, alpha)
        derivative = _with_alpha(derivative, alpha)
    grid = DEFAULT_X if x is None else as_real_array(x, "activation_curves", "x")
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(
            f"activation_curves expected x to be a non-empty 1-D grid, got shape {grid.shape}"
        )
    grid = grid.astype(np.float64)
    analytic = np.asarray(derivative(grid), dtype=np.float64)
    numerical = centred_difference(fn, grid, h)
    return {
        "x": grid,
        "f": np.asarray(fn(grid), dtype=np.float64),
        "derivative": analytic,
        "numerical": numerical,
        "max_rel_error": relative_error(analytic, numerical),
    }


def _with_alpha(fn: Callable[..., Any], alpha: float) -> Callable[[np.ndarray], Any]:
    """``fn`` with its ``alpha`` argument fixed."""

    def bound(x: np.ndarray) -> Any:
        return fn(x, alpha=alpha)

    return bound


class ActivationExplorer(Explorer):
    """Pick an activation and α; see f, f′ and the finite-difference check of f′."""

    def __init__(self) -> None:
        controls = {
            "name": widgets.Dropdown(options=list(activations.ACTIVATIONS), value="sigmoid",
                                     description="activation"),
            "alpha": widgets.FloatSlider(value=0.25, min=-0.5, max=2.0, step=0.05,
                                         description="α", readout_format=".2f",
                                         continuous_update=True),
        }
        super().__init__(controls, title="Activation functions and their derivatives")

    def render(self, name: str, alpha: float, **_: Any) -> None:
        import matplotlib.pyplot as plt

        has_alpha = takes_alpha(name)
        self.controls["alpha"].disabled = not has_alpha
        curves = activation_curves(name, alpha if has_alpha else None)
        label = f"{name}(x, α={alpha:.2f})" if has_alpha else f"{name}(x)"

        fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(8, 3))
        ax_f.plot(curves["x"], curves["f"], color="C0")
        ax_f.set(xlabel="x", title=f"f = {label}")
        ax_d.plot(curves["x"], curves["derivative"], color="C1", label="f′ (analytic)")
        ax_d.plot(curves["x"][::10], curves["numerical"][::10], ".", color="k", ms=4,
                  label="(f(x+h) − f(x−h)) / 2h")
        ax_d.set(xlabel="x", title=f"f′: max relative error {curves['max_rel_error']:.1e}")
        ax_d.legend(fontsize=7, loc="best")
        for ax in (ax_f, ax_d):
            ax.axhline(0, color="0.8", lw=0.8, zorder=0)
            ax.axvline(0, color="0.8", lw=0.8, zorder=0)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.25)
        self.show_figure(fig)
        print(f"{label}: largest relative error between f′ and the centred difference "
              f"(h = 1e-6) on {curves['x'].size} points in [−5, 5]: "
              f"{curves['max_rel_error']:.2e}")
