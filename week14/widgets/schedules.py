"""Decay-schedule explorer: learning-rate schedules, and what they do to real training.

Slides: "Learning Rate", "Impact of different learning rates", "Adjusting learning
rates". Choose a schedule (constant, step decay, exponential decay or
ReduceLROnPlateau) and its parameters; four panels show, per epoch, the learning rate,
the training and validation loss and the validation accuracy of a small network trained
with it, and the plateau rule's counters. A grey run repeats the training at the same
constant starting rate, so the effect of the decay itself is visible: a rate that is
too high bounces or diverges, one that is too low crawls, and a decay can start fast
and then settle. "Pin run" keeps a run on the plots (up to :data:`MAX_PINNED`), so step
decay can be laid over exponential decay, staircase on over staircase off, or patience
2 over patience 10.

The numbers come from the plain functions below, which the tests call without a browser:

* :func:`digits_problem`: the explorer's data, a small slice of the handwritten digits;
* :func:`make_schedule`: a ``week14.schedules`` object from the explorer's settings;
* :func:`train_with_schedule`: trains the explorer's network with a schedule and returns
  the ``History`` (loss, accuracy, val_loss, val_accuracy and lr per epoch), leaving the
  schedule untouched;
* :func:`plateau_trace`: ReduceLROnPlateau's state after every epoch (best so far,
  wait, cooldown, reduced or not), replayed from the monitored values;
* :func:`lr_drops`: the epochs at which the rate went down, marked on the plots;
* :func:`schedule_label`, :class:`ScheduleRun` and :func:`pin_run`: a run with its
  legend label, and the rule for pinning runs;
* :class:`ScheduleFigure` and :func:`schedule_figure`: the four-panel figure.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterable, Sequence
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
    "MAX_PINNED",
    "DigitsProblem",
    "digits_problem",
    "make_schedule",
    "train_with_schedule",
    "PlateauTrace",
    "plateau_trace",
    "lr_drops",
    "schedule_label",
    "ScheduleRun",
    "pin_run",
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
""":class:`ScheduleFigure` marks the epochs where the rate dropped if there are at most
this many (a smooth decay drops every epoch, and lines everywhere would mark nothing)."""

MAX_PINNED = 3
"""Runs that can be pinned at once. With the run being explored and the grey
constant-rate run that makes five runs, ten loss curves: about as many as one panel
can keep apart. Pinning a fourth is refused (see :func:`pin_run`)."""

PINNED_COLORS = ("C0", "C2", "C4")
"""Colours of the pinned runs, oldest first (blue, green, purple); the explored run is
red (``C3``) and the constant-rate run grey."""


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
    patience: int = 10,
    cooldown: int = 0,
    min_delta: float = 1e-4,
    min_lr: float = 1e-6,
) -> Schedule:
    """The ``week14.schedules`` object for the explorer's settings (slide: Adjusting
    learning rates). Settings that a kind does not use (see :data:`SCHEDULE_KINDS`) are
    ignored. The defaults are the lecture's: halve every 5 epochs; patience 10, min_lr
    1e-6 and Keras's min_delta 1e-4 and cooldown 0 for the plateau rule.

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
            schedule must monitor "loss", "accuracy", "val_loss" or "val_accuracy".
        epochs: number of epochs, an int >= 1.
        seed: seed of the initial weights and of the shuffling.
        problem: the data; default ``digits_problem()`` (500 training, 300 validation
            rows).

    Returns:
        History with per-epoch lists "loss" and "accuracy" (means over the epoch's
        batches, as in Keras), "val_loss" and "val_accuracy" (the whole validation set
        after the epoch; accuracy = share of digits whose largest score is the true
        class) and "lr" (the rate used in that epoch); for an epoch schedule
        ``history["lr"] == schedule.curve(epochs)``.
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
                      batch_size=BATCH_SIZE, metrics=("accuracy",), seed=gen, progress=False)
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    # One BLAS thread: products of 100×64 by 64×32 are far too small for threads to pay
    # off, and on a busy machine the waiting threads make every step several times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        return trainer.fit(problem.X_train, problem.y_train, epochs,
                           validation_data=(problem.X_val, problem.y_val))


class PlateauTrace(NamedTuple):
    """ReduceLROnPlateau's state at the end of each epoch, after its ``step`` (the values
    of its attributes then), one entry per epoch; see :func:`plateau_trace`.

    Attributes:
        best: (E,) float64, the best monitored value so far (``best``).
        wait: (E,) int64, epochs without improvement counted towards ``patience``.
        cooldown: (E,) int64, cooldown epochs left (``cooldown_counter``).
        lr: (E,) float64, the rate for the *next* epoch.
        reduced: (E,) bool, whether this epoch's step reduced the rate (it did when
            ``wait`` reached ``patience`` and the rate was above ``min_lr``; ``wait`` is
            then back at 0 and ``cooldown`` at the schedule's ``cooldown``).
        patience: the schedule's ``patience``, the ``wait`` that triggers a reduction.
    """

    best: np.ndarray
    wait: np.ndarray
    cooldown: np.ndarray
    lr: np.ndarray
    reduced: np.ndarray
    patience: int


def plateau_trace(schedule: ReduceLROnPlateau, values: Iterable[float]) -> PlateauTrace:
    """Replay ReduceLROnPlateau's decisions on ``values``, one monitored value per epoch,
    and record its state after every epoch (slide: Adjusting learning rates, approach 2).

    The replay starts from a reset copy of ``schedule`` (``initial_lr``, ``best = ±inf``,
    counters 0), as ``Trainer.fit`` does, so ``schedule`` is not changed and the trace of
    a run is ``plateau_trace(schedule, history[schedule.monitor])``: the rates it gives
    are ``history["lr"][1:]``. The decisions are ``ReduceLROnPlateau.step``'s, i.e.
    Keras's: a cooldown counter above 0 is decremented (and ``wait`` zeroed) first; a
    value below ``best − min_delta`` (mode "min") is a new best and zeroes ``wait``;
    otherwise, outside a cooldown, ``wait += 1``, and at ``wait >= patience``, if the
    rate is above ``min_lr``, the rate is multiplied by ``factor`` (not below
    ``min_lr``), the cooldown starts and ``wait`` is zeroed.

    Args:
        schedule: the plateau schedule whose settings to use.
        values: the monitored value of each epoch, e.g. ``history["val_loss"]``; NaN
            counts as no improvement.

    Returns:
        A :class:`PlateauTrace` of arrays of shape (E,), E = number of values.
    """
    if not isinstance(schedule, ReduceLROnPlateau):
        raise TypeError("plateau_trace expected a ReduceLROnPlateau, got "
                        f"{type(schedule).__name__}")
    replay = copy.deepcopy(schedule)
    replay.reset()
    rows = []
    for value in values:
        before = replay.lr
        after = replay.step(value)
        rows.append((replay.best, replay.wait, replay.cooldown_counter, after, after < before))
    best, wait, cooldown, lr, reduced = zip(*rows, strict=True) if rows else ((),) * 5
    return PlateauTrace(np.array(best, dtype=np.float64), np.array(wait, dtype=np.int64),
                        np.array(cooldown, dtype=np.int64), np.array(lr, dtype=np.float64),
                        np.array(reduced, dtype=bool), replay.patience)


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


def schedule_label(schedule: Schedule) -> str:
    """The schedule as the Python call that makes it, short enough for a legend: the
    epoch schedules with positional arguments, as the lecture writes "halve every 5
    epochs", ``StepDecay(2, 0.5, 5)`` (``staircase=True`` only when set);
    ReduceLROnPlateau with its initial rate, ``factor`` and ``patience``, and
    ``min_delta``, ``cooldown`` and ``min_lr`` only where they differ from its defaults
    (the lecture's and Keras's: 1e-4, 0 and 1e-6), e.g. ``ReduceLROnPlateau(2,
    factor=0.5, patience=10, cooldown=3)``."""
    if isinstance(schedule, ReduceLROnPlateau):
        defaults = inspect.signature(ReduceLROnPlateau).parameters
        changed = "".join(f", {name}={getattr(schedule, name):g}"
                          for name in ("min_delta", "cooldown", "min_lr")
                          if getattr(schedule, name) != defaults[name].default)
        return (f"ReduceLROnPlateau({schedule.initial_lr:g}, factor={schedule.factor:g}, "
                f"patience={schedule.patience}{changed})")
    if isinstance(schedule, StepDecay):
        return f"StepDecay({schedule.initial_lr:g}, {schedule.factor:g}, {schedule.every})"
    if isinstance(schedule, ExponentialDecay):
        return (f"ExponentialDecay({schedule.initial_lr:g}, {schedule.decay_rate:g}, "
                f"{schedule.decay_steps:g}{', staircase=True' if schedule.staircase else ''})")
    if isinstance(schedule, ConstantLR):
        return f"ConstantLR({schedule.lr:g})"
    raise TypeError(f"schedule_label expected a week14.schedules schedule, got "
                    f"{type(schedule).__name__}")


class ScheduleRun(NamedTuple):
    """One trained run as :class:`ScheduleFigure` overlays it.

    Attributes:
        label: legend label, :func:`schedule_label` of its schedule.
        history: its History (from :func:`train_with_schedule`).
        plateau: for a ReduceLROnPlateau run, its :func:`plateau_trace` (its reductions
            are marked ▼ on its rate curve); None otherwise.
    """

    label: str
    history: History
    plateau: PlateauTrace | None = None

    @classmethod
    def of(cls, schedule: Schedule, history: History) -> ScheduleRun:
        """The run of ``schedule`` that produced ``history``, labelled and, for a plateau
        schedule, traced from ``history[schedule.monitor]``."""
        trace = (plateau_trace(schedule, history[schedule.monitor])
                 if isinstance(schedule, ReduceLROnPlateau) else None)
        return cls(schedule_label(schedule), history, trace)


def pin_run(
    pinned: Sequence[ScheduleRun], run: ScheduleRun, limit: int = MAX_PINNED
) -> tuple[tuple[ScheduleRun, ...], str]:
    """Add ``run`` to the ``pinned`` runs; return the new pinned runs and a message.

    Pinned runs keep their order (oldest first) and so their colours. A run is refused,
    with a message saying why, when ``limit`` runs are pinned already (nothing pinned
    is silently dropped: "Clear pinned" starts again) or when the same run (same label,
    same numbers) is pinned already.
    """
    pinned = tuple(pinned)
    if any(p.label == run.label and p.history.history == run.history.history for p in pinned):
        return pinned, f"Already pinned: {run.label}."
    if len(pinned) >= limit:
        return pinned, (f"Not pinned: {limit} runs are pinned already, the most the plots "
                        "keep apart. Press “Clear pinned” to start a new comparison.")
    pinned = (*pinned, run)
    return pinned, (f"Pinned {len(pinned)} of {limit}: {run.label}. Change a setting to "
                    "draw another run over it.")


class _RunLines:
    """The lines of one run in the first three panels: rate, training loss, validation
    loss, validation accuracy; all empty while the run is not shown."""

    def __init__(self, figure: ScheduleFigure, color: str, width: float) -> None:
        self.rate = figure.rate_ax.step([], [], where="post", color=color, lw=width,
                                        markersize=7)[0]
        self.loss = figure.loss_ax.plot([], [], color=color, lw=0.75 * width)[0]
        self.val = figure.loss_ax.plot([], [], color=color, lw=0.75 * width, ls="--")[0]
        self.acc = figure.acc_ax.plot([], [], color=color, lw=0.75 * width)[0]

    def show(self, history: History | None, plateau: PlateauTrace | None = None) -> None:
        """Draw ``history`` (None: nothing); mark the reductions of a plateau run."""
        data = history.history if history is not None else {}
        epochs = np.arange(len(data.get("lr", [])))
        for line, name in ((self.rate, "lr"), (self.loss, "loss"), (self.val, "val_loss"),
                           (self.acc, "val_accuracy")):
            values = data.get(name, [])
            line.set_data(epochs[:len(values)], values)
        # ▼ where a reduction's new rate starts (one at the last epoch has no next epoch)
        marked = [] if plateau is None else np.flatnonzero(plateau.reduced[:-1]) + 1
        self.rate.set_marker("None" if plateau is None else "v")
        self.rate.set_markevery([int(epoch) for epoch in marked])


class ScheduleFigure:
    """Four panels, updated in place (slides: Learning Rate, Impact of different
    learning rates, Adjusting learning rates), x = epoch in all of them:

    * top left, learning rate per epoch (log scale);
    * top right, training loss (solid) and validation loss (dashed), cross-entropy on a
      log scale (a diverging loss would flatten everything else); for a plateau run also
      the best validation loss so far (dotted), the value the rule compares against;
    * bottom left, validation accuracy (share of validation digits classified right);
    * bottom right, for a ReduceLROnPlateau run, its counters after every epoch
      (:func:`plateau_trace`): ``wait`` climbing towards ``patience`` (dashed line),
      ``cooldown`` left, and ▼ at each reduction (the end of an epoch where ``wait``
      reached ``patience``; the lower rate starts in the next epoch).

    The run shown is red; ``baseline``, e.g. the same run at a constant rate, is grey;
    up to :data:`MAX_PINNED` pinned runs (:class:`ScheduleRun`) are blue, green and
    purple. A legend above the panels names each run by its schedule and parameters
    (:func:`schedule_label`). Dotted vertical lines mark the epochs where the red run's
    rate dropped (:func:`lr_drops`), unless there are more than
    :data:`MAX_MARKED_DROPS` of them, as for a smooth exponential decay; ▼ on a rate
    curve marks each reduction of a plateau run.

    The lines are made once and :meth:`update` only changes their data, which halves the
    cost of a redraw compared with a new figure (most of it is laying out axes, ticks and
    text). The figure is a plain ``matplotlib.figure.Figure``, not registered with
    pyplot, so the notebook never shows it by itself; render it with
    :func:`week14.widgets.figure_png` (or let Jupyter display ``.fig``).

    Attributes:
        fig: the Figure; rate_ax, loss_ax, acc_ax, plateau_ax: its four Axes.
        drop_marks: the LineCollections of dotted lines (rate, loss and accuracy panels).
    """

    def __init__(self) -> None:
        from matplotlib import ticker
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(9, 5.8))
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, wspace=0.2, hspace=0.3)
        (self.rate_ax, self.loss_ax), (self.acc_ax, self.plateau_ax) = self.fig.subplots(
            2, 2, sharex=True)
        # Drawn in this order, so the red run is on top of the pinned ones and the grey.
        self._baseline = _RunLines(self, "0.6", 1.5)
        self._pinned = [_RunLines(self, color, 1.5) for color in PINNED_COLORS]
        self._current = _RunLines(self, "C3", 2.0)
        self._best = self.loss_ax.step([], [], where="post", color="k", lw=1, ls=":")[0]
        self._wait = self.plateau_ax.step([], [], where="post", color="C3", lw=1.5,
                                          label="wait")[0]
        self._cooldown = self.plateau_ax.step([], [], where="post", color="C3", lw=1.2,
                                              ls=":", label="cooldown left")[0]
        self._patience = self.plateau_ax.plot([], [], color="0.4", lw=1, ls="--",
                                              label="patience",  # x from 0 to 1: full width
                                              transform=self.plateau_ax.get_yaxis_transform())[0]
        self._reduced = self.plateau_ax.plot([], [], "v", color="k", markersize=7,
                                             label="reduced")[0]
        self._plateau_note = self.plateau_ax.text(
            0.5, 0.5,
            "ReduceLROnPlateau's counters (wait, cooldown)\nappear here for a plateau run",
            transform=self.plateau_ax.transAxes, ha="center", va="center", color="0.4")
        self._plateau_legend = self.plateau_ax.legend(fontsize=8, ncol=4, loc="lower center",
                               bbox_to_anchor=(0.5, 1.0), frameon=False,
                               handlelength=1.5, columnspacing=1.0)
        self.plateau_ax.set_title("ReduceLROnPlateau after each epoch", fontsize=10, pad=18,
                                  y=1.0)
        self.plateau_ax.set_ylabel("epochs counted")
        self.plateau_ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        self.drop_marks = []
        for ax in (self.rate_ax, self.loss_ax, self.acc_ax):
            # x in epochs, y from the bottom (0) to the top (1) of the axes
            marks = LineCollection([], colors="C3", linewidths=0.8, linestyles=":",
                                   transform=ax.get_xaxis_transform())
            ax.add_collection(marks, autolim=False)
            self.drop_marks.append(marks)
        for ax in (self.rate_ax, self.loss_ax):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:g}"))
            ax.yaxis.set_minor_locator(ticker.NullLocator())  # each tick is costly to draw
        for ax in (self.acc_ax, self.plateau_ax):
            ax.set_xlabel("epoch")
        self.rate_ax.set_ylabel("learning rate")
        self.loss_ax.set_ylabel("cross-entropy loss")
        self.acc_ax.set(ylabel="validation accuracy", ylim=(0.0, 1.0))
        self.acc_ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
        self._legend: Any = None

    def update(
        self,
        history: History,
        baseline: History | None = None,
        title: str = "",
        *,
        label: str = "schedule",
        plateau: PlateauTrace | None = None,
        pinned: Sequence[ScheduleRun] = (),
    ) -> None:
        """Show ``history`` in red, ``baseline`` in grey and the ``pinned`` runs; none of
        them is changed.

        Args:
            history: the run to show, with "loss", "val_loss" and "lr" per epoch (and
                "val_accuracy", as from :func:`train_with_schedule`, for the accuracy
                panel).
            baseline: the same run at a constant rate, drawn grey and labelled
                ``ConstantLR(<its first rate>)``.
            title: title of the rate panel (default "learning rate per epoch (▼ plateau
                reduction)").
            label: legend label of ``history``, e.g. :func:`schedule_label`.
            plateau: :func:`plateau_trace` of ``history`` for a ReduceLROnPlateau run:
                fills the counters panel and the best-so-far line.
            pinned: at most :data:`MAX_PINNED` earlier runs to overlay.
        """
        if len(pinned) > MAX_PINNED:
            raise ValueError(f"ScheduleFigure shows at most {MAX_PINNED} pinned runs, "
                             f"got {len(pinned)}")
        self._current.show(history, plateau)
        self._baseline.show(baseline)
        for index, lines in enumerate(self._pinned):
            if index < len(pinned):
                lines.show(pinned[index].history, pinned[index].plateau)
            else:
                lines.show(None)
        self._show_plateau(plateau)
        drops = lr_drops(history["lr"])
        marks = [[(epoch, 0.0), (epoch, 1.0)] for epoch in drops]
        for collection in self.drop_marks:
            collection.set_segments(marks if len(drops) <= MAX_MARKED_DROPS else [])
        # y given: matplotlib then skips measuring the tick labels to place the title.
        self.rate_ax.set_title(title or "learning rate per epoch (▼ plateau reduction)",
                               fontsize=10, y=1.0)
        self.loss_ax.set_title("training (solid) and validation (dashed) loss"
                               + (",\nbest validation loss so far (dotted)" if plateau else ""),
                               fontsize=10, y=1.0)
        runs = [history, *(run.history for run in pinned)]
        longest = max(len(run) for run in (runs if baseline is None else [*runs, baseline]))
        self.rate_ax.set_xlim(-0.5, max(longest - 1, 1) + 0.5)  # shared by all four panels
        self._autoscale_log_axes()
        self._update_legend(label, baseline, pinned)

    def _show_plateau(self, plateau: PlateauTrace | None) -> None:
        """The counters panel and the best-so-far line for the red run."""
        self._plateau_note.set_visible(plateau is None)
        self._plateau_legend.set_visible(plateau is not None)
        if plateau is None:
            for line in (self._best, self._wait, self._cooldown, self._patience,
                         self._reduced):
                line.set_data([], [])
            self.plateau_ax.set_ylim(0, 1)
            return
        epochs = np.arange(len(plateau.wait))
        patience = plateau.patience
        self._best.set_data(epochs, plateau.best)
        self._wait.set_data(epochs, plateau.wait)
        self._cooldown.set_data(epochs, plateau.cooldown)
        self._patience.set_data([0.0, 1.0], [patience] * 2)
        reduced = np.flatnonzero(plateau.reduced)
        self._reduced.set_data(reduced, np.full(len(reduced), patience))
        top = max(patience, int(plateau.cooldown.max(initial=0)), int(plateau.wait.max(initial=0)))
        self.plateau_ax.set_ylim(-0.4, top + 0.6)

    def _autoscale_log_axes(self) -> None:
        from matplotlib import ticker

        for ax in (self.rate_ax, self.loss_ax):
            ax.relim()
            ax.autoscale_view(scalex=False)
            low, high = ax.get_ylim()
            # Under ~1.5 decades also label 2 and 5 × 10^k. Labels are plain numbers (0.5,
            # 1e-05): a 10^k label is typeset as mathtext, which costs ~20 ms a redraw.
            subs = (1.0, 2.0, 5.0) if high / low < 30 else (1.0,)
            ax.yaxis.set_major_locator(ticker.LogLocator(subs=subs))

    def _update_legend(self, label: str, baseline: History | None,
                       pinned: Sequence[ScheduleRun]) -> None:
        """One entry per run, above the panels, where no curve can hide under it: the
        run shown first, then the grey one, then "pin 1: ...", oldest first."""
        handles = [self._current.rate]
        labels = [label]
        if baseline is not None:
            handles.append(self._baseline.rate)
            labels.append(f"ConstantLR({baseline['lr'][0]:g})")
        for index, run in enumerate(pinned):
            handles.append(self._pinned[index].rate)
            labels.append(f"pin {index + 1}: {run.label}")
        if self._legend is not None:
            self._legend.remove()
        self._legend = self.fig.legend(handles, labels, loc="upper left", ncol=2,
                                       bbox_to_anchor=(0.06, 0.995), fontsize=8,
                                       frameon=False, handlelength=2.5)
        # The panels start under the legend's rows (about 0.17 inch each) and a title.
        rows = (len(labels) + 1) // 2
        self.fig.subplots_adjust(top=0.925 - 0.029 * rows)


def schedule_figure(history: History, baseline: History | None = None, title: str = "",
                    **options: Any) -> Any:
    """A new :class:`ScheduleFigure` showing ``history`` (and ``baseline``; ``options``
    are :meth:`ScheduleFigure.update`'s ``label``, ``plateau`` and ``pinned``); returns
    its matplotlib Figure, which Jupyter displays when it ends a cell."""
    figure = ScheduleFigure()
    figure.update(history, baseline, title, **options)
    return figure.fig


class ScheduleExplorer(Explorer):
    """Pick a schedule and its settings; see its learning rate and the training it gives,
    and pin runs to compare them.

    Each run (:func:`train_with_schedule`) is kept per setting that matters for its kind,
    so going back to a setting, or moving a control the chosen schedule ignores, only
    redraws; and the one :class:`ScheduleFigure` (attribute ``figure``) is updated in
    place. Controls a schedule does not use are greyed out.

    "Pin run" keeps the run shown (attribute ``shown``, a :class:`ScheduleRun`) on the
    plots, labelled with its schedule and parameters, up to :data:`MAX_PINNED` runs;
    a fourth is refused with a message under the buttons (:func:`pin_run`), and "Clear
    pinned" removes them all.

    The defaults start from a rate that is too high (2: the constant grey run jumps to
    a loss far above guessing's 2.3), so that every decay has something to rescue, and
    the plateau settings are the lecture's (patience 10, min_delta 1e-4, cooldown 0,
    min_lr 1e-6): the validation loss then fails to beat its first epoch for 10 epochs
    and the rate is reduced within the default 30 epochs.

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
        self.pinned: tuple[ScheduleRun, ...] = ()
        self.shown: ScheduleRun | None = None
        style = {"description_width": "initial"}
        released = {"continuous_update": False, "style": style}
        controls = {
            "kind": widgets.Dropdown(options=list(SCHEDULE_KINDS), value="step",
                                     description="schedule", style=style),
            "lr": widgets.SelectionSlider(options=self.LEARNING_RATES, value=2.0,
                                          description="initial lr", **released),
            "factor": widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05,
                                          description="factor", **released),
            "every": widgets.IntSlider(value=5, min=1, max=20, description="every (epochs)",
                                       **released),
            "staircase": widgets.Checkbox(value=False, description="staircase", style=style),
            "patience": widgets.IntSlider(value=10, min=0, max=15, description="patience",
                                          **released),
            "cooldown": widgets.IntSlider(value=0, min=0, max=5, description="cooldown",
                                          **released),
            "min_delta": widgets.SelectionSlider(options=[0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
                                                 value=1e-4, description="min_delta",
                                                 **released),
            "min_lr": widgets.SelectionSlider(options=[1e-6, 1e-3, 1e-2, 0.1, 0.3],
                                              value=1e-6, description="min_lr", **released),
            "epochs": widgets.IntSlider(value=30, min=5, max=60, step=5, description="epochs",
                                        **released),
        }
        self.pin_button = widgets.Button(description="Pin run", icon="thumb-tack",
                                         tooltip=f"keep this run on the plots (up to "
                                                 f"{MAX_PINNED})")
        self.clear_button = widgets.Button(description="Clear pinned", icon="times",
                                           disabled=True)
        self.message = widgets.Label(f"Pin a run to compare it with the next ones "
                                     f"(up to {MAX_PINNED}).")
        self.pin_button.on_click(lambda _: self.pin())
        self.clear_button.on_click(lambda _: self.clear_pinned())
        super().__init__(controls, title="Learning-rate schedules on the digits (SGD, 64-32-10)")
        buttons = widgets.HBox([self.pin_button, self.clear_button, self.message])
        self.panel.children = (*self.panel.children[:-1], buttons, self.output)

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

    def pin(self) -> None:
        """The "Pin run" button: keep the run shown on the plots (see :func:`pin_run`)."""
        self.pinned, self.message.value = pin_run(self.pinned, self.shown)
        self.clear_button.disabled = not self.pinned
        self.update()

    def clear_pinned(self) -> None:
        """The "Clear pinned" button: remove every pinned run from the plots."""
        self.message.value = f"Cleared {len(self.pinned)} pinned run(s)."
        self.pinned = ()
        self.clear_button.disabled = True
        self.update()

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
        """Draw the run of these settings (trained if new), the grey run at the same
        constant rate and the pinned runs; controls the schedule ignores are greyed out."""
        settings = {"lr": lr, "factor": factor, "every": every, "staircase": staircase,
                    "patience": patience, "cooldown": cooldown, "min_delta": min_delta,
                    "min_lr": min_lr}
        used = SCHEDULE_KINDS[kind]
        for name, control in self.controls.items():
            control.disabled = name not in (*used, "kind", "epochs")
        schedule = make_schedule(kind, **{name: settings[name] for name in used})
        self.shown = ScheduleRun.of(schedule, self.run(kind, epochs, settings))
        baseline = None if kind == "constant" else self.run("constant", epochs, settings)
        self.figure.update(self.shown.history, baseline, label=self.shown.label,
                           plateau=self.shown.plateau, pinned=self.pinned)
        self.show_figure(self.figure.fig, keep=True)
