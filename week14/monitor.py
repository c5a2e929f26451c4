"""Watching a logged metric for improvement, as Keras's callbacks do (slide: Adjusting
learning rates).

:class:`week14.schedules.ReduceLROnPlateau` and :class:`week14.training.EarlyStopping`
both look at one value logged at the end of every epoch (``monitor``, e.g.
"val_loss") and ask the same question: is this a new best? They share Keras's rules,
kept here in :class:`MetricMonitor`, the base of both:

* **Direction** (``mode``): "min" when lower is better (a loss), "max" when higher is
  better (an accuracy). "auto" picks "max" when the string "acc" occurs in the metric's
  name ("accuracy", "val_accuracy", "acc", "val_acc") and "min" otherwise.
* **Improvement**: a value ``v`` is a new best only if it beats the best so far by more
  than ``min_delta``,

      mode "min": v < best − min_delta,        mode "max": v > best + min_delta,

  so a change smaller than ``min_delta`` is noise. NaN is never an improvement (every
  comparison with NaN is false).
* **Best so far**: starts at +∞ in mode "min" and −∞ in mode "max", so the first
  value always improves on it.
"""

from __future__ import annotations

import math

from week14._validation import check_real

__all__ = ["MetricMonitor", "resolve_mode"]

MODES = ("auto", "min", "max")


def resolve_mode(func: str, monitor: object, mode: object) -> str:
    """The direction in which ``monitor`` improves: "min" or "max".

    "auto" is Keras's rule: "max" if "acc" occurs in the name, "min" otherwise.

    Raises:
        TypeError: if ``monitor`` is not a metric name (a str).
        ValueError: for a mode other than "auto", "min" and "max" (Keras warns and falls
            back to "auto").
    """
    if not isinstance(monitor, str):
        raise TypeError(
            f"{func} expected monitor to be a metric name (str), got {type(monitor).__name__}"
        )
    if mode not in MODES:
        raise ValueError(
            f"{func} expected mode to be 'auto', 'min' or 'max', got {mode!r} "
            "(Keras would warn and fall back to 'auto')"
        )
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class MetricMonitor:
    """The part of a callback that watches a metric: its name, direction and best value.

    The counterpart of Keras's ``MonitorCallback``; the rules are in the module
    docstring. Subclasses call ``super().__init__`` and then :meth:`update` with each
    epoch's value.

    Args:
        monitor: name of the logged metric, e.g. "val_loss" or "val_accuracy".
        mode: "min", "max" or "auto".
        min_delta: smallest change that counts as an improvement; >= 0.

    Attributes:
        monitor: the metric's name.
        mode: the resolved direction, "min" or "max".
        min_delta: as given, a float.
        best: best value so far (+∞ or −∞ before the first).
    """

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        owner = type(self).__name__
        self.mode = resolve_mode(owner, monitor, mode)
        self.monitor = monitor
        self.min_delta = check_real(owner, "min_delta", min_delta, ge=0.0)
        self.reset_best()

    def reset_best(self) -> None:
        """Forget the best value: +∞ in mode "min", −∞ in mode "max"."""
        self.best = math.inf if self.mode == "min" else -math.inf

    def improves(self, value: float) -> bool:
        """Whether ``value`` is a new best: ``value < best − min_delta`` (mode "min") or
        ``value > best + min_delta`` (mode "max"); False for NaN."""
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float) -> bool:
        """Record ``value``: if it :meth:`improves` on the best, it becomes the best and
        the result is True; otherwise nothing changes and the result is False."""
        if not self.improves(value):
            return False
        self.best = value
        return True
