"""Backpropagation explorer: watch a small network learn to separate the two moons.

Slide: "Backpropagation". Each training step runs the network forward, compares its
output with the desired one (the loss), backpropagates to get the gradient of the loss
with respect to every weight, and lets gradient descent move the weights a little
against it. Repeated over many mini-batches, this bends the decision boundary
(where the network is 50/50 between the classes) around the data.

The numbers come from plain functions that the tests call without a browser:

* :func:`decision_grid` evaluates a two-class model on a grid of points;
* :class:`BoundaryRecorder` is a ``Trainer`` callback that keeps one such grid per epoch;
* :func:`train_snapshots` trains one network with ``week14.training.Trainer`` and
  returns every epoch's grid and loss, so moving the explorer's epoch slider only
  redraws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np

from week14 import activations
from week14._rng import RngLike, as_generator
from week14._validation import check_int, check_real
from week14.layers import Dense, activation_layer
from week14.model import Sequential
from week14.optimizers import SGD
from week14.training import History, Trainer
from week14.widgets._base import Explorer

Limits = tuple[float, float]


def _check_limits(func: str, name: str, limits: object) -> Limits:
    """Return ``limits`` as a pair of floats (low, high), or raise naming ``func`` and
    ``name``: TypeError unless it is a pair of numbers, ValueError unless both are finite
    and low < high."""
    try:
        low, high = (float(v) for v in limits)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(
            f"{func} expected {name} to be a pair (low, high) of numbers, got {limits!r}"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(
            f"{func} expected {name} = (low, high) with finite low < high, got ({low}, {high})"
        )
    return low, high


def data_limits(X: np.ndarray, margin: float = 0.5) -> tuple[Limits, Limits]:
    """The plotting window around 2-D points: ``(xlim, ylim)``, each the data's range
    widened by ``margin`` on both sides.

    Args:
        X: points, shape (N, 2), N >= 1.
        margin: padding added below the minimum and above the maximum (>= 0).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"data_limits expected points of shape (N, 2), got shape {X.shape}")
    margin = check_real("data_limits", "margin", margin, ge=0.0, finite=False)
    low = X.min(axis=0) - margin
    high = X.max(axis=0) + margin
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))


def decision_grid(
    model: Any, xlim: Limits, ylim: Limits, n: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probability of class 1 on an ``n`` × ``n`` grid of points (slide: "Backpropagation").

    The grid points ``(xx[i, j], yy[i, j])`` run over ``xlim`` along ``j`` and over
    ``ylim`` along ``i``. The model's two outputs per point are the logits of classes 0
    and 1, so ``p = softmax(out)[:, 1] = σ(out[:, 1] − out[:, 0])``; the decision
    boundary is the contour ``p = 0.5``, where the two logits are equal.

    Args:
        model: anything with ``predict(x) -> logits``, shapes (M, 2) -> (M, 2), e.g.
            :func:`moons_classifier` (a ``Sequential``'s caches are left as they were).
        xlim, ylim: (low, high) of each axis, low < high.
        n: points per axis, an int >= 2.

    Returns:
        ``(xx, yy, probs)``, each of shape (n, n); ``probs`` in [0, 1].
    """
    xlim = _check_limits("decision_grid", "xlim", xlim)
    ylim = _check_limits("decision_grid", "ylim", ylim)
    n = check_int("decision_grid", "n", n, minimum=2)
    xx, yy = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    out = np.asarray(model.predict(np.column_stack([xx.ravel(), yy.ravel()])))
    if out.shape != (n * n, 2):
        raise ValueError(
            "decision_grid expected the model to output two class logits per point "
            f"(shape ({n * n}, 2)), got shape {out.shape}"
        )
    return xx, yy, activations.softmax(out, axis=1)[:, 1].reshape(n, n)


class BoundaryRecorder:
    """``Trainer`` callback recording the decision grid before training and after every
    epoch.

    After ``fit``, ``probs[k]`` is the class-1 probability grid after ``k`` epochs
    (``probs[0]``: the initial, untrained network), all on the same ``xx``, ``yy``.

    Args:
        xlim, ylim, n: the grid, as in :func:`decision_grid`.
    """

    def __init__(self, xlim: Limits, ylim: Limits, n: int = 50) -> None:
        self.xlim, self.ylim, self.n = xlim, ylim, n
        self.xx = np.empty((0, 0))
        self.yy = np.empty((0, 0))
        self.probs: list[np.ndarray] = []

    def _record(self, trainer: Trainer) -> None:
        self.xx, self.yy, probs = decision_grid(trainer.model, self.xlim, self.ylim, self.n)
        self.probs.append(probs)

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start a new recording with the grid of the untrained model."""
        self.probs = []
        self._record(trainer)

    def on_epoch_end(self, epoch: int, logs: dict[str, float], trainer: Trainer) -> None:
        """Record the grid after ``epoch + 1`` epochs of training."""
        self._record(trainer)


def moons_classifier(
    hidden_units: int = 8, activation: str = "tanh", rng: RngLike = None
) -> Sequential:
    """``Dense(2, hidden_units) → activation → Dense(hidden_units, 2)``: a one-hidden-layer
    network whose two outputs are the logits of the two classes.

    Args:
        hidden_units: width of the hidden layer (int >= 1).
        activation: a name in ``week14.layers.ACTIVATION_LAYERS``, e.g. "tanh".
        rng: seed or Generator for the Glorot-uniform initial weights.
    """
    gen = as_generator(rng)
    return Sequential([
        Dense(2, hidden_units, rng=gen),
        activation_layer(activation),
        Dense(hidden_units, 2, rng=gen),
    ])


@dataclass(frozen=True)
class TrainingSnapshots:
    """One training run, epoch by epoch (returned by :func:`train_snapshots`).

    Attributes:
        X, y: the training data, shapes (N, 2) and (N,).
        xx, yy: grid coordinates, shape (n, n).
        probs: class-1 probability after ``k`` epochs at ``probs[k]``, shape
            (epochs + 1, n, n); ``probs[0]`` is before training.
        loss, accuracy: the Trainer's History, one value per epoch, shape (epochs,):
            entry ``k − 1`` belongs to epoch ``k`` (mean over its mini-batches).
    """

    X: np.ndarray
    y: np.ndarray
    xx: np.ndarray
    yy: np.ndarray
    probs: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray

    @property
    def epochs(self) -> int:
        """Number of training epochs recorded."""
        return len(self.loss)

    @classmethod
    def from_fit(
        cls, X: np.ndarray, y: np.ndarray, recorder: BoundaryRecorder, history: History
    ) -> TrainingSnapshots:
        """Collect a finished ``trainer.fit(X, y, ...)``: the grids of the ``recorder`` it
        called back and the "loss" and "accuracy" of its ``history``."""
        if len(recorder.probs) != len(history) + 1:
            raise ValueError(
                f"the recorder holds {len(recorder.probs)} grids but the history "
                f"{len(history)} epochs; pass the recorder as a callback of that fit"
            )
        return cls(
            X=np.asarray(X), y=np.asarray(y), xx=recorder.xx, yy=recorder.yy,
            probs=np.stack(recorder.probs),
            loss=np.asarray(history["loss"]), accuracy=np.asarray(history["accuracy"]),
        )


def train_snapshots(
    X: np.ndarray,
    y: np.ndarray,
    *,
    hidden_units: int = 8,
    activation: str = "tanh",
    lr: float = 1.0,
    epochs: int = 100,
    batch_size: int = 32,
    grid_size: int = 50,
    seed: int = 0,
) -> TrainingSnapshots:
    """Train :func:`moons_classifier` on ``(X, y)`` with softmax cross-entropy and plain
    SGD, recording the decision grid at every epoch (slide: "Backpropagation").

    Every mini-batch step is forward pass → loss → backpropagation → SGD update
    (``week14.training.Trainer``). The same ``seed`` gives the same initial weights,
    the same batches and so the same snapshots.

    Args:
        X: points, shape (N, 2). y: labels 0/1, shape (N,).
        hidden_units, activation: the hidden layer (see :func:`moons_classifier`).
        lr: SGD learning rate (> 0).
        epochs: number of passes over the data (>= 1).
        batch_size: rows per gradient step.
        grid_size: points per axis of the probability grid (>= 2).
        seed: seeds the initial weights and the shuffling.
    """
    X = np.asarray(X, dtype=np.float64)
    xlim, ylim = data_limits(X)
    recorder = BoundaryRecorder(xlim, ylim, grid_size)
    model = moons_classifier(hidden_units, activation, rng=seed)
    trainer = Trainer(model, "cross_entropy", SGD(lr), batch_size=batch_size,
                      callbacks=[recorder], seed=seed, progress=False)
    history = trainer.fit(X, y, epochs)
    return TrainingSnapshots.from_fit(X, y, recorder, history)


def plot_boundary(
    ax: Any, xx: np.ndarray, yy: np.ndarray, probs: np.ndarray,
    X: np.ndarray, y: np.ndarray, title: str = "",
) -> None:
    """Draw the class-1 probability as colour, the boundary ``p = 0.5`` as a black line
    and the labelled points on the matplotlib axes ``ax``."""
    ax.contourf(xx, yy, probs, levels=np.linspace(0.0, 1.0, 11), cmap="RdBu_r",
                alpha=0.6, vmin=0.0, vmax=1.0)
    if probs.min() < 0.5 < probs.max():
        ax.contour(xx, yy, probs, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", vmin=0, vmax=1, s=10,
               edgecolors="k", linewidths=0.3)
    ax.set(xlim=(xx.min(), xx.max()), ylim=(yy.min(), yy.max()), xticks=[], yticks=[])
    if title:
        ax.set_title(title, fontsize=10)


def plot_snapshots(snapshots: TrainingSnapshots, epochs: list[int]) -> Any:
    """A row of decision-boundary panels, one per epoch in ``epochs`` (0 = untrained);
    returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    bad = [e for e in epochs if not 0 <= e <= snapshots.epochs]
    if bad:
        raise ValueError(f"plot_snapshots: epochs {bad} not in 0..{snapshots.epochs}")
    fig, axes = plt.subplots(1, len(epochs), figsize=(2.2 * len(epochs), 2.4),
                             squeeze=False, layout="constrained")
    for ax, epoch in zip(axes[0], epochs, strict=True):
        title = f"epoch {epoch}" + (
            f"\nloss {snapshots.loss[epoch - 1]:.3f}" if epoch else "\n(untrained)")
        plot_boundary(ax, snapshots.xx, snapshots.yy, snapshots.probs[epoch],
                      snapshots.X, snapshots.y, title)
    return fig


class BackpropExplorer(Explorer):
    """Choose the epoch, the hidden layer and the learning rate; see the decision
    boundary after that many epochs of backpropagation + SGD, and the loss curve.

    A run is trained once per (hidden units, activation, learning rate) and kept, so
    moving the epoch slider only redraws (a new setting costs one training run, about a
    second for 100 epochs of 200 points).

    Args:
        X, y: two-class 2-D data, shapes (N, 2) and (N,); default: 200 two-moons points
            with noise 0.2 (``week14.data.two_moons``).
        epochs: length of each training run.
        seed: seeds the weights and the shuffling of every run.
    """

    HIDDEN_UNITS = (1, 2, 3, 4, 8, 16)
    LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    ACTIVATIONS = ("tanh", "sigmoid", "relu")

    def __init__(
        self,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        *,
        epochs: int = 100,
        seed: int = 0,
    ) -> None:
        if X is None or y is None:
            from week14.data import two_moons

            X, y = two_moons(200, noise=0.2, rng=0)
        self.X, self.y = np.asarray(X, dtype=np.float64), np.asarray(y)
        self.seed = seed
        self.epochs = epochs
        self._runs: dict[tuple[int, str, float], TrainingSnapshots] = {}
        style = {"description_width": "initial"}
        controls = {
            "epoch": widgets.IntSlider(value=epochs, min=0, max=epochs, description="epoch",
                                       continuous_update=True, style=style),
            "hidden_units": widgets.Dropdown(options=self.HIDDEN_UNITS, value=8,
                                             description="hidden units", style=style),
            "activation": widgets.Dropdown(options=self.ACTIVATIONS, value="tanh",
                                           description="activation", style=style),
            "lr": widgets.SelectionSlider(options=self.LEARNING_RATES, value=1.0,
                                          description="learning rate", style=style),
        }
        super().__init__(controls, title="Backpropagation + SGD on two moons")

    def run(self, hidden_units: int, activation: str, lr: float) -> TrainingSnapshots:
        """The training run for these settings (trained on first use, then kept)."""
        key = (hidden_units, activation, lr)
        if key not in self._runs:
            self._runs[key] = train_snapshots(
                self.X, self.y, hidden_units=hidden_units, activation=activation, lr=lr,
                epochs=self.epochs, seed=self.seed)
        return self._runs[key]

    def render(self, epoch: int, hidden_units: int, activation: str, lr: float) -> None:
        """Draw the boundary after ``epoch`` epochs and the run's loss and accuracy curves."""
        import matplotlib.pyplot as plt

        snap = self.run(hidden_units, activation, lr)
        fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
        plot_boundary(left, snap.xx, snap.yy, snap.probs[epoch], snap.X, snap.y,
                      f"after {epoch} epoch{'s' if epoch != 1 else ''}")
        steps = np.arange(1, snap.epochs + 1)
        right.plot(steps, snap.loss, color="C0", label="loss (cross-entropy)")
        right.plot(steps, snap.accuracy, color="C2", label="training accuracy")
        if epoch:
            right.axvline(epoch, color="k", lw=0.8, ls="--")
            right.set_title(f"epoch {epoch}: loss {snap.loss[epoch - 1]:.3f}, "
                            f"accuracy {snap.accuracy[epoch - 1]:.0%}", fontsize=10)
        finite = snap.loss[np.isfinite(snap.loss)]
        top = min(max(1.05, finite.max(initial=0.0)), 3.0)  # a diverging run is clipped
        right.set(xlabel="epoch", xlim=(0, snap.epochs), ylim=(0, top))
        right.legend(fontsize=8, loc="center right")
        self.show_figure(fig)
