"""Decay-schedule explorer: a learning-rate schedule, and what it does to real training.

Slides: "Learning Rate", "Impact of different learning rates", "Adjusting learning
rates". Choose a schedule (constant, step decay, exponential decay or
ReduceLROnPlateau) and its parameters; the left panel draws the learning rate of every
epoch and the right panel the training and validation loss of a small network trained
with it. A grey line repeats the run at the same constant starting rate, so the effect
of the decay itself is visible: a rate that is too high bounces or diverges, one that
is too low crawls, and a decay can start fast and then settle.

The numbers come from the plain functions below, which the tests call without a browser:

* :func:`digits_problem`: the explorer's data, a small slice of the handwritten digits;
* :func:`make_schedule`: a ``week14.schedules`` object from the explorer's settings;
* :func:`train_with_schedule`: trains the explorer's network with a schedule and returns
  the ``History`` (loss, val_loss and lr per epoch), leaving the schedule untouched;
* :func:`lr_drops`: the epochs at which the rate went down, marked on the plots;
* :class:`ScheduleFigure` and :func:`schedule_figure`: the two-panel figure of a run.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import ipywidgets as widgets
import numpy as np

from week14._rng import as_generator
from week14.layers import Dense, Tanh
from week14.model import Sequential
from week14.optimizers import SGD
from week14.schedules import (
    ConstantLR,
    EpochSchedule,
    ExponentialDecay,
    ReduceLROnPlateau,
    StepDecay,
)
from week14.training import History, Trainer
from week14.widgets._base import Explorer

__all__ = [
    "SCHEDULE_KINDS",
    "DigitsProblem",
    "digits_problem",
    "make_schedule",
    "train_with_schedule",
    "lr_drops",
    "ScheduleFigure",
    "schedule_figure",
    "ScheduleExplorer",
]

Schedule = EpochSchedule | ReduceLROnPlateau

SCHEDULE_KINDS: dict[str, tuple[str, ...]] = {
    "constant": ("lr",),
    "step": ("lr", "factor", "every"),
    "exponential": ("lr", "factor", "every", "staircase"),
    "plateau": ("lr", "factor", "patience", "cooldown", "min_delta", "min_lr"),
}
"""Schedule kind -> the settings of :func:`make_schedule` that it uses."""

HIDDEN_UNITS = 32
"""Width of the explorer network's hidden layer: 64 → 32 (tanh) → 10."""

BATCH_SIZE = 100
"""Rows per SGD step: 500 training rows make 5 steps per epoch."""

MAX_MARKED_DROPS = 10
""":func:`schedule_figure` marks the epochs where the rate dropped if there are at most
this many (a smooth decay drops every epoch, and lines everywhere would mark nothing)."""


class DigitsProblem(NamedTuple):
    """Training and validation data for :func:`train_with_schedule`.

    Attributes:
        X_train: (n_train, 64) pixels in [0, 1]; y_train: (n_train,) labels 0–9.
        X_val: (n_val, 64); y_val: (n_val,).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


def digits_problem(n_train: int = 500, n_val: int = 300, rng: int = 0) -> DigitsProblem:
    """A small slice of scikit-learn's 8×8 handwritten digits (``week14.data.digits``).

    The first ``n_train`` rows of the shuffled, stratified training part and the first
    ``n_val`` rows of its test part, which serves as validation data (the loss a
    plateau schedule watches). Small on purpose: one epoch is 5 SGD steps, so a whole
    run takes a fraction of a second.

    Args:
        n_train: training rows, 1..1347. n_val: validation rows, 1..450.
        rng: seed of the train/test split.

    Returns:
        A :class:`DigitsProblem` of float64 pixels (n, 64) and int64 labels (n,).
    """
    from week14.data import digits

    split = digits(rng=rng)
    for name, n, available in (("n_train", n_train, len(split.y_train)),
                               ("n_val", n_val, len(split.y_test))):
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"digits_problem expected {name} to be an int, got "
                            f"{type(n).__name__} {n!r}")
        if not 1 <= n <= available:
            raise ValueError(f"digits_problem expected {name} in 1..{available}, got {n}")
    return DigitsProblem(split.X_train[:n_train], split.y_train[:n_train],
                         split.X_test[:n_val], split.y_test[:n_val])


def make_schedule(
    kind: str,
    lr: float,
    *,
    factor: float = 0.5,
    every: int = 5,
    staircase: bool = False,
    patience: int = 3,
    cooldown: int = 0,
    min_delta: float = 1e-4,
    min_lr: float = 1e-6,
) -> Schedule:
    """The ``week14.schedules`` object for the explorer's settings (slide: Adjusting
    learning rates). Settings that a kind does not use (see :data:`SCHEDULE_KINDS`) are
    ignored.

    * "constant": ``ConstantLR(lr)``.
    * "step": ``StepDecay(lr, factor, every)``, ``lr · factor^⌊epoch / every⌋``.
    * "exponential": ``ExponentialDecay(lr, decay_rate=factor, decay_steps=every,
      staircase)``, ``lr · factor^(epoch / every)`` (exponent floored with staircase).
    * "plateau": ``ReduceLROnPlateau(lr, "val_loss", factor, patience, min_delta,
      cooldown, min_lr)``; ``factor`` must then be below 1.

    Raises:
        ValueError: unknown ``kind`` (the message lists the kinds), or a setting out of
            range (raised by the schedule's constructor).
    """
    if kind == "constant":
        return ConstantLR(lr)
    if kind == "step":
        return StepDecay(lr, factor, every)
    if kind == "exponential":
        return ExponentialDecay(lr, factor, every, staircase)
    if kind == "plateau":
        return ReduceLROnPlateau(lr, "val_loss", factor=factor, patience=patience,
                                 min_delta=min_delta, cooldown=cooldown, min_lr=min_lr)
    raise ValueError(f"make_schedule expected kind to be one of {list(SCHEDULE_KINDS)}, "
                     f"got {kind!r}")


def train_with_schedule(
    schedule: Schedule,
    epochs: int = 20,
    seed: int = 0,
    *,
    problem: DigitsProblem | None = None,
) -> History:
    """Train the explorer's network with ``schedule``; return the Trainer's History.

    The network is ``Dense(64, 32) → Tanh → Dense(32, 10)`` (Glorot-uniform weights),
    trained with softmax cross-entropy and plain SGD in mini-batches of 100
    (``week14.training.Trainer``), evaluated on the validation rows after every epoch.
    The same ``seed`` gives the same initial weights and the same batches, so two runs
    with different schedules differ only through their learning rates.

    A ``ReduceLROnPlateau`` is copied before training, so ``schedule`` itself is never
    changed (the epoch schedules have no state to change).

    Args:
        schedule: a ``week14.schedules`` schedule (see :func:`make_schedule`); a plateau
            schedule must monitor "val_loss" or "loss".
        epochs: number of epochs, an int >= 1.
        seed: seed of the initial weights and of the shuffling.
        problem: the data; default ``digits_problem()`` (500 training, 300 validation
            rows).

    Returns:
        History with per-epoch lists "loss", "val_loss" and "lr" (the rate used in that
        epoch); for an epoch schedule ``history["lr"] == schedule.curve(epochs)``.
    """
    if not isinstance(schedule, EpochSchedule | ReduceLROnPlateau):
        raise TypeError("train_with_schedule expected a week14.schedules schedule "
                        f"(ConstantLR, StepDecay, ExponentialDecay or ReduceLROnPlateau), "
                        f"got {type(schedule).__name__}")
    if problem is None:
        problem = digits_problem()
    gen = as_generator(seed)
    n_features = problem.X_train.shape[1]
    n_classes = int(max(problem.y_train.max(), problem.y_val.max())) + 1
    model = Sequential([Dense(n_features, HIDDEN_UNITS, rng=gen), Tanh(),
                        Dense(HIDDEN_UNITS, n_classes, rng=gen)])
    if isinstance(schedule, ReduceLROnPlateau):
        schedule = copy.deepcopy(schedule)
    # SGD's starting rate is a placeholder: the Trainer sets the schedule's rate first.
    trainer = Trainer(model, "cross_entropy", SGD(1.0), schedule=schedule,
                      batch_size=BATCH_SIZE, metrics=(), seed=gen, progress=False)
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    # One BLAS thread: products of 100×64 by 64×32 are far too small for threads to pay
    # off, and on a busy machine the waiting threads make every step several times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        return trainer.fit(problem.X_train, problem.y_train, epochs,
                           validation_data=(problem.X_val, problem.y_val))


def lr_drops(lrs: Any) -> np.ndarray:
    """Epochs whose learning rate is lower than the previous epoch's.

    Args:
        lrs: learning rate per epoch, shape (E,).

    Returns:
        int64 array of the epochs ``e >= 1`` with ``lrs[e] < lrs[e − 1]``.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    if lrs.ndim != 1:
        raise ValueError(f"lr_drops expected one rate per epoch (shape (E,)), got {lrs.shape}")
    return np.flatnonzero(lrs[1:] < lrs[:-1]).astype(np.int64) + 1


class ScheduleFigure:
    """Two panels, updated in place: the learning rate per epoch, and the training and
    validation loss.

    Both y axes are logarithmic (rates span decades; a diverging loss would flatten
    everything else). The schedule's rate is red; a ``baseline`` run, e.g. the same run
    with a constant rate, is drawn in grey for comparison. Dotted vertical lines mark
    the epochs where the rate dropped (:func:`lr_drops`), unless there are more than
    :data:`MAX_MARKED_DROPS` of them, as for a smooth exponential decay.

    The lines are made once and :meth:`update` only changes their data, which halves the
    cost of a redraw compared with a new figure (most of it is laying out axes, ticks and
    text). The figure is a plain ``matplotlib.figure.Figure``, not registered with
    pyplot, so the notebook never shows it by itself; render it with
    :func:`week14.widgets.figure_png` (or let Jupyter display ``.fig``).

    Attributes:
        fig: the Figure; rate_ax, loss_ax: its two Axes.
        drop_marks: the two LineCollections of dotted lines (rate panel, loss panel).
    """

    def __init__(self) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(8.5, 3))
        self.fig.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.82, wspace=0.24)
        self.rate_ax, self.loss_ax = self.fig.subplots(1, 2)
        self._base_rate = self.rate_ax.step([], [], where="post", color="0.6", lw=1.5)[0]
        self._rate = self.rate_ax.step([], [], where="post", color="C3", lw=2)[0]
        self._base_loss = self.loss_ax.plot([], [], color="0.6", lw=1.2,
                                            label="constant lr: train")[0]
        self._base_val = self.loss_ax.plot([], [], color="0.6", lw=1.2, ls="--",
                                           label="constant lr: val")[0]
        self._loss = self.loss_ax.plot([], [], color="C0", label="train")[0]
        self._val = self.loss_ax.plot([], [], color="C1", ls="--", label="validation")[0]
        self.drop_marks = []
        for ax in (self.rate_ax, self.loss_ax):
            # x in epochs, y from the bottom (0) to the top (1) of the axes
            marks = LineCollection([], colors="C3", linewidths=0.8, linestyles=":",
                                   transform=ax.get_xaxis_transform())
            ax.add_collection(marks, autolim=False)
            self.drop_marks.append(marks)
            ax.set(yscale="log", xlabel="epoch")
        self.rate_ax.set_ylabel("learning rate")
        self.loss_ax.set_ylabel("cross-entropy loss")
        self._legend_with_baseline: bool | None = None

    def update(self, history: History, baseline: History | None = None, title: str = "") -> None:
        """Show ``history`` (and ``baseline`` in grey, if given); neither is changed.

        Both need "loss", "val_loss" and "lr" per epoch, as from
        :func:`train_with_schedule`.
        """
        from matplotlib import ticker

        epochs = np.arange(len(history))
        self._rate.set_data(epochs, history["lr"])
        self._loss.set_data(epochs, history["loss"])
        self._val.set_data(epochs, history["val_loss"])
        self._val.set_label(f"validation (final {history['val_loss'][-1]:.3g})")
        base = baseline if baseline is not None else History()
        base_epochs = np.arange(len(base))
        for line, name in ((self._base_rate, "lr"), (self._base_loss, "loss"),
                           (self._base_val, "val_loss")):
            line.set_data(base_epochs, base.history.get(name, []))
        drops = lr_drops(history["lr"])
        marks = [[(epoch, 0.0), (epoch, 1.0)] for epoch in drops]
        for collection in self.drop_marks:
            collection.set_segments(marks if len(drops) <= MAX_MARKED_DROPS else [])
        self.rate_ax.set_title(title or "learning rate per epoch", fontsize=10)
        for ax in (self.rate_ax, self.loss_ax):
            ax.relim()
            ax.autoscale_view()
            low, high = ax.get_ylim()
            if high / low < 30:  # under ~1.5 decades: label 1, 2, 5 × 10^k plainly (0.5, 2)
                ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:g}"))
            else:
                ax.yaxis.set_major_locator(ticker.LogLocator())
                ax.yaxis.set_major_formatter(ticker.LogFormatterSciNotation())
            ax.yaxis.set_minor_locator(ticker.NullLocator())  # each tick is costly to draw
        self._update_legend(with_baseline=baseline is not None)

    def _update_legend(self, with_baseline: bool) -> None:
        """Above the loss axes, where no curve can hide under it (``loc="best"`` would
        search for a free spot at every redraw); rebuilt only when the baseline comes
        or goes, otherwise its validation label is renamed in place."""
        lines = [self._loss, self._val]
        if with_baseline:
            lines = [self._base_loss, self._base_val, *lines]
        if with_baseline != self._legend_with_baseline:
            self.loss_ax.legend(handles=lines, fontsize=8, ncol=2, loc="lower center",
                                bbox_to_anchor=(0.5, 1.0), frameon=False)
            self._legend_with_baseline = with_baseline
        for text, line in zip(self.loss_ax.get_legend().get_texts(), lines, strict=True):
            text.set_text(line.get_label())


def schedule_figure(history: History, baseline: History | None = None, title: str = "") -> Any:
    """A new :class:`ScheduleFigure` showing ``history`` (and ``baseline``); returns its
    matplotlib Figure, which Jupyter displays when it ends a cell."""
    figure = ScheduleFigure()
    figure.update(history, baseline, title)
    return figure.fig


class ScheduleExplorer(Explorer):
    """Pick a schedule and its settings; see its learning rate and the training it gives.

    Each run (:func:`train_with_schedule`) is kept per setting that matters for its kind,
    so going back to a setting, or moving a control the chosen schedule ignores, only
    redraws; and the one :class:`ScheduleFigure` (attribute ``figure``) is updated in
    place. Controls a schedule does not use are greyed out.

    Args:
        problem: the data; default :func:`digits_problem` (loaded once, here).
        seed: seed of every run's initial weights and batches.
    """

    LEARNING_RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
    """The initial rates on offer: round values, roughly 2× apart, crawl to divergence."""

    MAX_RUNS = 256
    """Runs kept for reuse (a few kB each); beyond that the oldest is forgotten."""

    def __init__(self, problem: DigitsProblem | None = None, *, seed: int = 0) -> None:
        self.problem = digits_problem() if problem is None else problem
        self.seed = seed
        self._runs: dict[tuple[Any, ...], History] = {}
        self.figure = ScheduleFigure()
        style = {"description_width": "initial"}
        released = {"continuous_update": False, "style": style}
        controls = {
            "kind": widgets.Dropdown(options=list(SCHEDULE_KINDS), value="step",
                                     description="schedule", style=style),
            "lr": widgets.SelectionSlider(options=self.LEARNING_RATES, value=1.0,
                                          description="initial lr", **released),
            "factor": widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05,
                                          description="factor", **released),
            "every": widgets.IntSlider(value=5, min=1, max=20, description="every (epochs)",
                                       **released),
            "staircase": widgets.Checkbox(value=False, description="staircase", style=style),
            "patience": widgets.IntSlider(value=3, min=0, max=10, description="patience",
                                          **released),
            "cooldown": widgets.IntSlider(value=0, min=0, max=5, description="cooldown",
                                          **released),
            "min_delta": widgets.SelectionSlider(options=[0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
                                                 value=1e-4, description="min_delta",
                                                 **released),
            "min_lr": widgets.SelectionSlider(options=[1e-6, 1e-3, 1e-2, 0.1, 0.3],
                                              value=1e-6, description="min_lr", **released),
            "epochs": widgets.IntSlider(value=20, min=5, max=40, step=5, description="epochs",
                                        **released),
        }
        super().__init__(controls, title="Learning-rate schedules on the digits (SGD, 64-32-10)")

    def run(self, kind: str, epochs: int, settings: dict[str, Any]) -> History:
        """The History of ``kind`` with ``settings`` (trained on first use, then kept,
        up to :attr:`MAX_RUNS` runs).

        ``settings`` holds :func:`make_schedule`'s values by name (``lr``, ``factor``,
        ...); only those ``kind`` uses (see :data:`SCHEDULE_KINDS`) make the key, so a
        change to an ignored setting reuses the run.
        """
        used = {name: settings[name] for name in SCHEDULE_KINDS[kind]}
        key = (kind, epochs, *used.items())
        if key not in self._runs:
            if len(self._runs) >= self.MAX_RUNS:
                del self._runs[next(iter(self._runs))]  # dicts keep insertion order
            self._runs[key] = train_with_schedule(make_schedule(kind, **used), epochs,
                                                  self.seed, problem=self.problem)
        return self._runs[key]

    def render(
        self,
        kind: str,
        lr: float,
        factor: float,
        every: int,
        staircase: bool,
        patience: int,
        cooldown: int,
        min_delta: float,
        min_lr: float,
        epochs: int,
    ) -> None:
        settings = {"lr": lr, "factor": factor, "every": every, "staircase": staircase,
                    "patience": patience, "cooldown": cooldown, "min_delta": min_delta,
                    "min_lr": min_lr}
        used = SCHEDULE_KINDS[kind]
        for name, control in self.controls.items():
            control.disabled = name not in (*used, "kind", "epochs")
        history = self.run(kind, epochs, settings)
        baseline = None if kind == "constant" else self.run("constant", epochs, settings)
        schedule = make_schedule(kind, **{name: settings[name] for name in used})
        self.figure.update(history, baseline, title=_label(schedule))
        self.show_figure(self.figure.fig, keep=True)


def _label(schedule: Schedule) -> str:
    """A short title for the rate panel, e.g. "StepDecay(1, 0.5, 5)"."""
    if isinstance(schedule, ReduceLROnPlateau):
        return (f"ReduceLROnPlateau(factor={schedule.factor:g}, patience={schedule.patience},"
                f"\ncooldown={schedule.cooldown}, min_delta={schedule.min_delta:g}, "
                f"min_lr={schedule.min_lr:g})")
    if isinstance(schedule, StepDecay):
        return f"StepDecay({schedule.initial_lr:.3g}, {schedule.factor:g}, {schedule.every})"
    if isinstance(schedule, ExponentialDecay):
        return (f"ExponentialDecay({schedule.initial_lr:.3g}, {schedule.decay_rate:g}, "
                f"{schedule.decay_steps:g}, staircase={schedule.staircase})")
    return f"ConstantLR({schedule(0):.3g})"
