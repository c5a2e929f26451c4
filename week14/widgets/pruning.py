"""Pruning explorer: how many weights of a trained network can go, and which ones.

Slides: "Lottery ticket hypothesis" (the claims "a neural network is typically sparse"
and "pruning the network doesn't change accuracy"). A small MLP is trained once on the
handwritten digits; a slider sets the fraction of its weights to prune by magnitude
(one-shot, no retraining), per layer or globally, and the panel shows

* test accuracy against the fraction pruned, for both scopes, with the current setting
  highlighted;
* the histogram of each layer's weights, kept and pruned, with the magnitude threshold
  below which weights were removed.

The numbers come from the plain functions below, which the tests call without a browser:

* :func:`train_digits_mlp`: the explorer's network, ``64 → hidden (ReLU) → 10``;
* :func:`pruning_masks`, :func:`pruned_copy`: magnitude masks for a fraction and scope
  (``week14.pruning.layerwise_masks`` / ``global_masks``) and a pruned copy of a model;
* :func:`accuracy_after_pruning`, :func:`accuracy_curve`: test accuracy of pruned copies;
* :func:`pruned_threshold`: the largest magnitude that was pruned in one array;
* :func:`pruning_figure`: the figure the explorer shows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

import ipywidgets as widgets
import numpy as np

from week14._blas import one_blas_thread
from week14._rng import RngLike, as_generator
from week14._validation import check_mask
from week14.data import Split
from week14.lottery import digits_splits, mlp
from week14.metrics import accuracy
from week14.model import Sequential
from week14.optimizers import SGD
from week14.pruning import Masks, apply_masks, global_masks, layerwise_masks, prunable_weights
from week14.training import Trainer
from week14.widgets._base import Explorer

__all__ = [
    "SCOPES",
    "CURVE_FRACTIONS",
    "train_digits_mlp",
    "pruning_masks",
    "pruned_copy",
    "accuracy_after_pruning",
    "accuracy_curve",
    "pruned_threshold",
    "pruning_figure",
    "PruningExplorer",
]

Scope = Literal["layerwise", "global"]

SCOPES: dict[str, str] = {"layerwise": "per layer", "global": "global"}
"""Pruning scopes and their labels: "layerwise" removes the same fraction of every weight
array (``week14.pruning.layerwise_masks``); "global" ranks all weights together against
one threshold (``week14.pruning.global_masks``)."""

CURVE_FRACTIONS = np.array(
    [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98,
     0.99, 1.0]
)
"""Fractions pruned at which the explorer draws its accuracy curves (denser where the
accuracy falls)."""


def _check_scope(func: str, scope: object, name: str = "scope") -> Scope:
    """Return ``scope`` unchanged, or raise ValueError (naming ``func`` and ``name``)
    unless it is a key of :data:`SCOPES`."""
    if scope not in SCOPES:
        raise ValueError(f"{func} expected {name} to be one of {list(SCOPES)}, got {scope!r}")
    return scope  # type: ignore[return-value]


def train_digits_mlp(
    data: Split | None = None, *, hidden: int = 64, epochs: int = 20, rng: RngLike = 0
) -> Sequential:
    """Train the explorer's network on the digits: ``Dense(64, hidden) → ReLU → Dense(hidden,
    10)``.

    Built by ``week14.lottery.mlp``: Glorot-uniform weights, zero biases; softmax
    cross-entropy, SGD with learning rate 0.1 and momentum 0.9, mini-batches of 32,
    ``epochs`` epochs on ``data.X_train`` (about 96 % test accuracy with the defaults, in
    well under a second). Nothing is pruned: this is the dense network the explorer prunes.

    Args:
        data: a :class:`week14.data.Split` (only its train part is used); default
            ``week14.lottery.digits_splits()`` (X of shape (N, 64)).
        hidden: width of the hidden layer (int >= 1).
        epochs: training epochs (int >= 1).
        rng: seed or Generator for the initial weights and the batch order.

    Returns:
        The trained ``Sequential``; its prunable weights are ``"0.W"`` (64, hidden) and
        ``"2.W"`` (hidden, 10).
    """
    data = digits_splits() if data is None else data
    gen = as_generator(rng)
    model = mlp([data.X_train.shape[1], hidden, int(data.y_train.max()) + 1], gen)
    trainer = Trainer(model, "cross_entropy", SGD(0.1, momentum=0.9), batch_size=32,
                      metrics=(), seed=gen, progress=False)
    with one_blas_thread():
        trainer.fit(data.X_train, data.y_train, epochs)
    return model


def pruning_masks(model: Sequential, fraction: float, scope: Scope) -> Masks:
    """Magnitude masks that prune ``fraction`` of ``model``'s weights (True = kept).

    Slide: "Lottery ticket hypothesis". Only the ``W`` arrays of Dense / Conv2D layers
    are pruned (``week14.pruning.prunable_weights``), never the biases.

    * ``scope="layerwise"``: every array loses round(fraction · its size) of its
      smallest-|w| weights, so every layer keeps the same share.
    * ``scope="global"``: all arrays are ranked together and the round(fraction · total)
      smallest |w| go, wherever they are: one threshold for the whole network.

    Returns:
        Masks keyed like ``model.parameters()`` ("0.W", "2.W", ...), each of its array's
        shape. ``model`` is not changed.
    """
    scope = _check_scope("pruning_masks", scope)
    weights = prunable_weights(model)
    if scope == "layerwise":
        return layerwise_masks(weights, fraction)
    return global_masks(weights, fraction)


def pruned_copy(model: Sequential, fraction: float, scope: Scope) -> Sequential:
    """A copy of ``model`` with :func:`pruning_masks` applied (pruned weights set to 0).

    One-shot pruning, no retraining; ``model`` itself is not changed.
    """
    masks = pruning_masks(model, fraction, scope)
    pruned = copy.deepcopy(model)
    apply_masks(pruned.parameters(), masks)
    return pruned


def accuracy_after_pruning(
    model: Sequential, X: np.ndarray, y: np.ndarray, fraction: float, scope: Scope
) -> float:
    """Accuracy on ``(X, y)`` of ``model`` with ``fraction`` of its weights pruned.

    Slide: "Lottery ticket hypothesis" ("pruning doesn't change accuracy": true up to a
    point, which this function measures). The predicted class is the argmax of the
    network's outputs.

    Args:
        model: a trained classifier (outputs (N, C) class scores); not changed.
        X: inputs (N, D); y: integer labels (N,).
        fraction: share of the prunable weights to remove, in [0, 1].
        scope: "layerwise" or "global" (see :func:`pruning_masks`).

    Returns:
        The accuracy, a float in [0, 1].
    """
    return accuracy(pruned_copy(model, fraction, scope).predict(X), y)


def accuracy_curve(
    model: Sequential,
    X: np.ndarray,
    y: np.ndarray,
    fractions: Sequence[float] | np.ndarray = CURVE_FRACTIONS,
    scope: Scope = "global",
) -> np.ndarray:
    """:func:`accuracy_after_pruning` at each of ``fractions``; float array of their shape."""
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1:
        raise ValueError(
            f"accuracy_curve expected fractions to be a 1-D sequence, got shape {fractions.shape}"
        )
    with one_blas_thread():
        return np.array([accuracy_after_pruning(model, X, y, float(f), scope)
                         for f in fractions])


def pruned_threshold(weights: np.ndarray, mask: np.ndarray) -> float:
    """The largest |w| among the pruned weights (``mask`` False), or NaN if none is pruned.

    Magnitude pruning removes the smallest weights, so every weight with a smaller
    magnitude than this is pruned and every one with a larger magnitude is kept (weights
    of exactly this magnitude may be either: ties).

    Args:
        weights: any shape; mask: boolean array of the same shape, True = kept.
    """
    weights = np.asarray(weights)
    mask = check_mask("pruned_threshold", "mask", np.asarray(mask), weights.shape)
    pruned = np.abs(weights[~mask])
    return float(pruned.max()) if pruned.size else float("nan")


def pruning_figure(
    model: Sequential,
    X: np.ndarray,
    y: np.ndarray,
    fraction: float,
    scope: Scope,
    curves: dict[str, np.ndarray] | None = None,
    fractions: np.ndarray = CURVE_FRACTIONS,
) -> Any:
    """Accuracy against fraction pruned, and each layer's weight histogram, kept vs pruned.

    Left: test accuracy of one-shot magnitude pruning against the fraction of weights
    pruned, one line per scope (the chosen one solid, the other faded), the current
    ``fraction`` marked. Then one panel per weight array: the histogram of its weights,
    kept (blue) stacked on pruned (red), with dashed lines at ± :func:`pruned_threshold`.

    Args:
        model: the trained network (not changed); X, y: the data to score it on.
        fraction, scope: the current setting.
        curves: ``{scope: accuracy_curve(model, X, y, fractions, scope)}`` for any
            scopes already computed (the explorer keeps them); missing ones are computed.
        fractions: the x values of ``curves``.

    Returns:
        The matplotlib Figure (the caller shows and closes it).
    """
    import matplotlib.pyplot as plt

    scope = _check_scope("pruning_figure", scope)
    curves = dict(curves or {})
    for name in SCOPES:
        if name not in curves:
            curves[name] = accuracy_curve(model, X, y, fractions, name)
    weights = prunable_weights(model)
    masks = pruning_masks(model, fraction, scope)
    with one_blas_thread():
        current = accuracy_after_pruning(model, X, y, fraction, scope)

    # Fixed margins rather than a layout engine: text layout is most of the drawing time,
    # and the explorer redraws this figure on every change of a control.
    fig, axes = plt.subplots(1, 1 + len(weights), figsize=(4 + 3 * len(weights), 3.2))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.82, wspace=0.3)
    acc_ax, hist_axes = axes[0], axes[1:]
    for i, (name, label) in enumerate(SCOPES.items()):
        chosen = name == scope
        acc_ax.plot(100 * fractions, 100 * curves[name], "o-", ms=3, color=f"C{i}",
                    alpha=1.0 if chosen else 0.35, lw=2 if chosen else 1, label=label)
    acc_ax.plot(100 * fraction, 100 * current, "o", ms=10, mfc="none", mew=2, color="k",
                label=f"now: {current:.1%}")
    acc_ax.axhline(100 * curves[scope][0], color="0.6", ls=":", lw=1)
    acc_ax.set(xlabel="weights pruned (%)", ylabel="test accuracy (%)", ylim=(0, 102),
               title="one-shot magnitude pruning")
    acc_ax.legend(fontsize=8, loc="lower left")

    for ax, (key, w) in zip(hist_axes, weights.items(), strict=True):
        mask = masks[key]
        bins = np.linspace(w.min(), w.max(), 41)
        ax.hist([w[mask], w[~mask]], bins=bins, stacked=True, histtype="stepfilled",
                color=["C0", "C3"], label=["kept", "pruned"])
        threshold = pruned_threshold(w, mask)
        if np.isfinite(threshold):
            for sign in (-1, 1):
                ax.axvline(sign * threshold, color="k", ls="--", lw=1)
        kept = int(mask.sum())
        ax.set(xlabel=f"weight {key} {w.shape}", ylabel="count",
               title=f"{key}: {kept} of {w.size} kept ({kept / w.size:.0%})")
        ax.legend(fontsize=8)
    fig.suptitle(f"pruning {fraction:.0%} of the weights, {SCOPES[scope]}", fontsize=10)
    return fig


class PruningExplorer(Explorer):
    """Prune a trained MLP by magnitude with a slider; see accuracy and what was removed.

    The network is trained once (:func:`train_digits_mlp`, unless one is given) and the
    accuracy curve of each scope is computed once, when first shown; moving the slider
    only prunes a copy and redraws.

    Args:
        model: a trained classifier; default :func:`train_digits_mlp` on ``data``.
        X, y: the data to score it on; default the test part of
            ``week14.lottery.digits_splits()``.
        curves: accuracy curves already computed for this model and data,
            ``{scope: accuracy_curve(model, X, y, CURVE_FRACTIONS, scope)}`` (a notebook
            that has drawn :func:`pruning_figure` has them); missing scopes are computed.
    """

    def __init__(
        self,
        model: Sequential | None = None,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        *,
        curves: dict[str, np.ndarray] | None = None,
    ) -> None:
        if (X is None) != (y is None):
            raise ValueError("PruningExplorer expected both X and y, or neither (then the "
                             f"digits test set is used), got only {'y' if X is None else 'X'}")
        if model is None or X is None:
            data = digits_splits()
            model = train_digits_mlp(data) if model is None else model
            X, y = (data.X_test, data.y_test) if X is None else (X, y)
        self.model, self.X, self.y = model, X, y
        self._curves: dict[str, np.ndarray] = {}
        for scope, curve in (curves or {}).items():
            curve = np.asarray(curve, dtype=np.float64)
            if curve.shape != CURVE_FRACTIONS.shape:
                raise ValueError(f"PruningExplorer expected curves[{scope!r}] to hold one "
                                 f"accuracy per fraction in CURVE_FRACTIONS, of shape "
                                 f"{CURVE_FRACTIONS.shape}, got shape {curve.shape}")
            self._curves[_check_scope("PruningExplorer", scope, "each key of curves")] = curve
        controls = {
            "fraction": widgets.FloatSlider(
                value=0.8, min=0.0, max=1.0, step=0.01, description="fraction pruned",
                readout_format=".0%", continuous_update=False,
                style={"description_width": "initial"}),
            "scope": widgets.ToggleButtons(
                options=[(label, name) for name, label in SCOPES.items()], value="global",
                description="scope"),
        }
        super().__init__(controls, title="Magnitude pruning of a trained MLP (digits)")

    def curve(self, scope: Scope) -> np.ndarray:
        """Accuracy at :data:`CURVE_FRACTIONS` for ``scope`` (computed on first use, kept)."""
        if scope not in self._curves:
            self._curves[scope] = accuracy_curve(self.model, self.X, self.y, CURVE_FRACTIONS,
                                                 scope)
        return self._curves[scope]

    def render(self, fraction: float, scope: Scope) -> None:
        curves = {name: self.curve(name) for name in SCOPES}
        self.show_figure(pruning_figure(self.model, self.X, self.y, fraction, scope, curves))
