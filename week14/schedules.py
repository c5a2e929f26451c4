"""Learning-rate schedules (slide: Adjusting learning rates).

The lecture names two ways to decay the learning rate during training:

* **Automatic decay** on a fixed timetable. These are *epoch schedules*: pure
  callables ``schedule(epoch) -> lr`` with ``epoch`` counted from 0 and no state,
  so calling them (to train, or only to plot with :meth:`EpochSchedule.curve`)
  never changes them.

  - :class:`ConstantLR`: ``lr`` for every epoch.
  - :class:`StepDecay`: ``lr · factor^⌊epoch / every⌋``. "Halve every 5 epochs"
    is ``StepDecay(lr, 0.5, 5)``; "divide by 10 every 20 epochs" is
    ``StepDecay(lr, 0.1, 20)``.
  - :class:`ExponentialDecay`: ``lr · decay_rate^(epoch / decay_steps)``, with
    the exponent floored when ``staircase=True``.

* **Plateau-driven** decay: :class:`ReduceLROnPlateau` watches the validation
  loss and divides the rate when it stops improving. It has state (the best
  value so far, a patience counter, a cooldown counter), so it is stepped once
  per epoch instead of being called with an epoch number; its decisions are
  those of ``tf.keras.callbacks.ReduceLROnPlateau``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from week14._validation import check_int, check_real
from week14.monitor import MetricMonitor

__all__ = [
    "EpochSchedule",
    "ConstantLR",
    "StepDecay",
    "ExponentialDecay",
    "ReduceLROnPlateau",
]


class EpochSchedule:
    """Base class of the stateless schedules: ``schedule(epoch) -> lr``.

    Subclasses implement ``_rates(epochs)``, the learning rate for an integer
    array of epochs; ``__call__`` and :meth:`curve` validate and delegate to it,
    so the scalar and the plotted values come from one formula.
    """

    def _rates(self, epochs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, epoch: int) -> float:
        """Learning rate for ``epoch`` (an integer >= 0; the first epoch is 0)."""
        epoch = check_int(type(self).__name__, "epoch", epoch, 0)
        return float(self._rates(np.array([epoch]))[0])

    def curve(self, epochs: int) -> np.ndarray:
        """Learning rate of epochs ``0 .. epochs-1`` as a float64 array of shape (epochs,).

        Meant for plots; the schedule is not changed.
        """
        epochs = check_int(f"{type(self).__name__}.curve", "epochs", epochs, 0)
        return self._rates(np.arange(epochs)).astype(np.float64)


@dataclass(frozen=True)
class ConstantLR(EpochSchedule):
    """The same learning rate every epoch: ``lr(epoch) = lr``.

    The baseline that the lecture's decay schedules improve on
    (slide: Adjusting learning rates).
    """

    lr: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", check_real("ConstantLR", "lr", self.lr, gt=0.0))

    def _rates(self, epochs: np.ndarray) -> np.ndarray:
        return np.full(epochs.shape, self.lr)


@dataclass(frozen=True)
class StepDecay(EpochSchedule):
    """Multiply the rate by ``factor`` every ``every`` epochs.

    ``lr(epoch) = initial_lr · factor^⌊epoch / every⌋``

    The lecture's typical values (slide: Adjusting learning rates): "reduce the
    learning rate by a half every 5 epochs" is ``StepDecay(lr, 0.5, 5)`` and "by 10
    every 20 epochs" is ``StepDecay(lr, 0.1, 20)``.

    Args:
        initial_lr: rate of epochs ``0 .. every-1``; > 0.
        factor: multiplier applied at each step, in (0, 1].
        every: number of epochs between steps; an integer >= 1.
    """

    initial_lr: float
    factor: float
    every: int

    def __post_init__(self) -> None:
        func = "StepDecay"
        object.__setattr__(self, "initial_lr", check_real(func, "initial_lr", self.initial_lr,
                                                          gt=0.0))
        object.__setattr__(self, "factor", check_real(func, "factor", self.factor,
                                                      gt=0.0, le=1.0))
        object.__setattr__(self, "every", check_int(func, "every", self.every, 1))

    def _rates(self, epochs: np.ndarray) -> np.ndarray:
        return self.initial_lr * self.factor ** (epochs // self.every)


@dataclass(frozen=True)
class ExponentialDecay(EpochSchedule):
    """Exponential decay of the learning rate (slide: Adjusting learning rates).

    ``lr(epoch) = initial_lr · decay_rate^(epoch / decay_steps)``; with
    ``staircase=True`` the exponent is floored, ``⌊epoch / decay_steps⌋``, so the
    rate drops in steps (then it equals :class:`StepDecay` for integer
    ``decay_steps``). Same formula as ``tf.keras.optimizers.schedules.ExponentialDecay``,
    counted in epochs instead of optimizer steps.

    Args:
        initial_lr: rate at epoch 0; > 0.
        decay_rate: factor by which the rate has shrunk after ``decay_steps``
            epochs, in (0, 1].
        decay_steps: epochs per full ``decay_rate`` factor; > 0.
        staircase: floor the exponent.
    """

    initial_lr: float
    decay_rate: float
    decay_steps: float = 1
    staircase: bool = False

    def __post_init__(self) -> None:
        func = "ExponentialDecay"
        object.__setattr__(self, "initial_lr", check_real(func, "initial_lr", self.initial_lr,
                                                          gt=0.0))
        object.__setattr__(self, "decay_rate", check_real(func, "decay_rate", self.decay_rate,
                                                          gt=0.0, le=1.0))
        object.__setattr__(self, "decay_steps", check_real(func, "decay_steps",
                                                           self.decay_steps, gt=0.0))
        if not isinstance(self.staircase, bool | np.bool_):
            raise TypeError(
                f"{func} expected staircase to be a bool, got {type(self.staircase).__name__}"
            )

    def _rates(self, epochs: np.ndarray) -> np.ndarray:
        exponent = epochs / self.decay_steps
        if self.staircase:
            exponent = np.floor(exponent)
        return self.initial_lr * self.decay_rate**exponent


class ReduceLROnPlateau(MetricMonitor):
    """Divide the learning rate when a monitored metric stops improving.

    Slide: Adjusting learning rates ("Approach 2: Plateau-driven"), whose defaults
    are the ones here: monitor the validation loss, ``factor=0.1`` (divide by 10),
    ``patience=10``, ``min_lr=1e-6``.

    Call :meth:`step` once at the end of every epoch with the monitored value
    (``logs[monitor]``); it returns the learning rate for the next epoch, also
    kept in :attr:`lr`. The rules, in Keras's order, for each value ``v``:

    1. If a cooldown is running (``cooldown_counter > 0``): decrement it and set
       ``wait = 0``.
    2. If ``v`` improves on ``best`` (mode "min": ``v < best − min_delta``; mode
       "max": ``v > best + min_delta``): ``best = v``, ``wait = 0``. So an
       improvement smaller than ``min_delta`` does not count, and the first value
       always improves on the initial ``best = ±inf``.
    3. Otherwise, only if no cooldown is running (checked *after* step 1's
       decrement): ``wait += 1``; if ``wait >= patience`` and the rate is above
       ``min_lr``, the rate becomes ``max(lr · factor, min_lr)``,
       ``cooldown_counter = cooldown`` and ``wait = 0``.

    Because the cooldown counter is decremented before it is tested, ``cooldown=c``
    ignores the ``c − 1`` epochs that follow a reduction (``cooldown=1`` changes
    nothing), exactly as in Keras.

    Mode "auto" picks "max" when the string ``"acc"`` occurs in ``monitor``
    (``"accuracy"``, ``"val_accuracy"``, ``"acc"``, ``"val_acc"``) and "min"
    otherwise. The direction, the improvement test and ``best`` come from
    :class:`week14.monitor.MetricMonitor`, which ``training.EarlyStopping`` shares.

    This mirrors ``on_epoch_end`` in Keras's
    ``keras/src/callbacks/reduce_lr_on_plateau.py`` (keras-team/keras; the same logic
    as ``tf.keras.callbacks.ReduceLROnPlateau`` in TensorFlow 2.x). Details kept:

    * Keras holds the rate in a float32 optimizer variable and reduces only while
      ``float32(lr) > float32(min_lr)``. A private float32 shadow of the rate
      reproduces that test exactly, so every decision (when to reduce, when
      cooldown starts, the counters) is Keras's; the public :attr:`lr` is kept in
      float64 (``ReduceLROnPlateau(0.1).lr == 0.1``), so it can differ from Keras's
      float32 value by float32 rounding, never by a decision.
    * A NaN value is not an improvement (every comparison with NaN is False),
      so it counts as a bad epoch, exactly as in Keras.
    * The comparisons use float64 arithmetic, ``v < best - min_delta``, as the
      classic Keras code does with ``np.less``. (Recent Keras releases moved this
      test into a ``MonitorCallback`` base that infers the direction from the
      metric object (loss: min, accuracy: max) rather than the ``"acc"`` substring;
      for "loss", "val_loss", "accuracy" and "val_accuracy" both agree.)

    Deviations from Keras, all stricter argument checking: an unknown ``mode``
    raises ValueError (Keras warns and falls back to "auto"); ``factor`` must be in
    (0, 1) (Keras rejects only ``factor >= 1``); ``patience``, ``cooldown``,
    ``min_delta`` and ``min_lr`` must be >= 0 and ``initial_lr`` > 0. Keras's default
    ``min_lr`` is 0; ours is the lecture's 1e-6.

    Args:
        initial_lr: learning rate of the first epoch; > 0.
        monitor: name of the logged metric to watch (the Trainer passes
            ``logs[monitor]`` to :meth:`step`).
        factor: multiplier applied at each reduction, in (0, 1).
        patience: number of epochs without improvement before a reduction.
        min_delta: smallest change that counts as an improvement; >= 0.
        cooldown: epochs after a reduction during which bad epochs are not counted.
        min_lr: lower bound on the rate; >= 0.
        mode: "min", "max" or "auto".

    Attributes:
        lr: current learning rate (the one for the next epoch).
        best: best monitored value so far (``±inf`` before the first step).
        wait: epochs without improvement counted towards ``patience``.
        cooldown_counter: epochs of cooldown left.
        mode: the resolved direction, "min" or "max".
    """

    def __init__(
        self,
        initial_lr: float,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 1e-6,
        mode: str = "auto",
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        func = "ReduceLROnPlateau"
        self.initial_lr = check_real(func, "initial_lr", initial_lr, gt=0.0)
        self.factor = check_real(func, "factor", factor, gt=0.0, lt=1.0)
        self.patience = check_int(func, "patience", patience, 0)
        self.cooldown = check_int(func, "cooldown", cooldown, 0)
        self.min_lr = check_real(func, "min_lr", min_lr, ge=0.0)
        self.reset()

    def reset(self) -> None:
        """Return to the state before the first epoch: ``lr = initial_lr``, counters 0."""
        self.lr = self.initial_lr
        # The rate as Keras's float32 optimizer variable would hold it: decides
        # whether the rate is still above min_lr (see the class docstring).
        self._lr_float32 = np.float32(self.initial_lr)
        self.reset_best()
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        """True while epochs without improvement are not being counted."""
        return self.cooldown_counter > 0

    def step(self, value: float) -> float:
        """Record the monitored ``value`` of the epoch just finished; return the next rate.

        ``value`` is a real number (NaN counts as no improvement). See the class
        docstring for the rules.
        """
        value = check_real("ReduceLROnPlateau.step", f"value (the epoch's {self.monitor})",
                           value, finite=False)

        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0

        if self.update(value):
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._lr_float32 > np.float32(self.min_lr):
                self.lr = max(self.lr * self.factor, self.min_lr)
                self._lr_float32 = np.float32(
                    max(float(self._lr_float32) * self.factor, self.min_lr)
                )
                self.cooldown_counter = self.cooldown
                self.wait = 0
        return self.lr

    def simulate(self, values: Iterable[float]) -> list[float]:
        """Learning rates that ``step`` would return for ``values``, one per value.

        Replays the sequence on a copy of the current state (a fresh schedule
        starts from ``initial_lr``), so plotting a schedule never changes it.
        """
        replay = copy.deepcopy(self)
        return [replay.step(value) for value in values]

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(initial_lr={self.initial_lr!r}, monitor={self.monitor!r}, "
            f"factor={self.factor!r}, patience={self.patience!r}, "
            f"min_delta={self.min_delta!r}, cooldown={self.cooldown!r}, "
            f"min_lr={self.min_lr!r}, mode={self.mode!r}; lr={self.lr!r})"
        )
