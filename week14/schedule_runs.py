"""Training runs with learning-rate schedules, and what a schedule decided in them.

Slides: "Learning Rate", "Impact of different learning rates", "Adjusting learning
rates". The numbers behind the decay-schedule explorer
(:class:`week14.widgets.schedules.ScheduleExplorer`) and notebook 06, as plain
functions:

* :func:`digits_problem`: a small slice of the handwritten digits, train and validation;
* :func:`make_schedule`: a ``week14.schedules`` object from the explorer's settings;
* :func:`train_with_schedule`: trains a small network with a schedule and returns the
  ``History`` (loss, accuracy, val_loss, val_accuracy and lr per epoch), leaving the
  schedule untouched;
* :func:`plateau_trace`: ReduceLROnPlateau's state after every epoch (best so far,
  wait, cooldown, reduced or not), replayed from the monitored values;
* :func:`lr_drops`: the epochs at which the rate went down;
* :func:`schedule_label` and :class:`ScheduleRun`: a run with its label and trace.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from week14._blas import one_blas_thread
from week14._rng import as_generator
from week14._validation import check_int
from week14.data import Split, digits
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

Schedule = EpochSchedule | ReduceLROnPlateau
"""Any ``week14.schedules`` schedule: an epoch schedule or a ReduceLROnPlateau."""

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


def digits_problem(n_train: int = 500, n_val: int = 300, rng: int = 0) -> Split:
    """A small slice of scikit-learn's 8×8 handwritten digits (``week14.data.digits``).

    The first ``n_train`` rows of the shuffled, stratified training part and the first
    ``n_val`` rows of its test part, which serves as validation data (the loss a
    plateau schedule watches). Small on purpose: one epoch is 5 SGD steps, so a whole
    run takes a fraction of a second.

    Args:
        n_train: training rows, 1..1347. n_val: validation rows, 1..450.
        rng: seed of the train/test split.

    Returns:
        A :class:`week14.data.Split` with train and validation parts (no test part):
        float64 pixels (n, 64) and int64 labels (n,).
    """
    split = digits(rng=rng)
    for name, n, available in (("n_train", n_train, len(split.y_train)),
                               ("n_val", n_val, len(split.y_test))):
        check_int("digits_problem", name, n, 1, available)
    return Split(split.X_train[:n_train], split.y_train[:n_train],
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
    problem: Split | None = None,
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
        problem: a :class:`week14.data.Split` with train and validation parts; default
            ``digits_problem()`` (500 training, 300 validation rows).

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
    if not problem.has("val"):
        raise ValueError("train_with_schedule needs a Split with a validation part "
                         "(X_val, y_val): the plateau rule and the plots watch val_loss")
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
    with one_blas_thread():  # products of 100×64 by 64×32: threads cannot pay off
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
    """One trained run with its schedule's label, as the explorer's figure overlays it.

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


