"""Tests for week14.schedules (slide: Adjusting learning rates).

TensorFlow is not installed, so ReduceLROnPlateau is checked two ways: against
learning-rate sequences derived by hand from Keras's rules (each derivation is
written next to its test), and against ``KerasPort`` below, a line-by-line port of
``on_epoch_end`` from keras-team/keras ``keras/src/callbacks/reduce_lr_on_plateau.py``
driving a fake optimizer whose learning rate is a float32 variable, as in Keras.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from week14.schedules import ConstantLR, ExponentialDecay, ReduceLROnPlateau, StepDecay

# --------------------------------------------------------------------------------------
# Oracle: a literal port of Keras's ReduceLROnPlateau (classic version; keras-team/keras,
# Apache License 2.0).
# Differences from the original, none of which touch a decision: np.Inf is spelt
# np.inf (removed in NumPy 2), there is no verbose printing, the warning for a missing
# metric is dropped (the tests always log it), and the "model" is a namespace.
# --------------------------------------------------------------------------------------


class _Float32Optimizer:
    """Stands in for a Keras optimizer: assigning learning_rate stores a float32."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate

    @property
    def learning_rate(self) -> np.float32:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = np.float32(value)


class KerasPort:
    def __init__(
        self,
        initial_lr,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        self.model = SimpleNamespace(optimizer=_Float32Optimizer(initial_lr))
        self.monitor = monitor
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0
        self.mode = mode
        self.monitor_op = None
        self._reset()

    def _reset(self):
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0

        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = old_lr * self.factor
                    new_lr = max(new_lr, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0


def keras_trace(values, **kwargs) -> list[tuple[float, int, int, float]]:
    """(lr after the epoch, wait, cooldown_counter, best) for each value, by the port."""
    port = KerasPort(**kwargs)
    trace = []
    for epoch, value in enumerate(values):
        port.on_epoch_end(epoch, {port.monitor: value})
        trace.append(
            (
                float(port.model.optimizer.learning_rate),
                port.wait,
                port.cooldown_counter,
                float(port.best),
            )
        )
    return trace


def ours_trace(values, **kwargs) -> list[tuple[float, int, int, float]]:
    schedule = ReduceLROnPlateau(**kwargs)
    trace = []
    for value in values:
        lr = schedule.step(value)
        assert lr == schedule.lr, "step() must return the new value of .lr"
        trace.append((lr, schedule.wait, schedule.cooldown_counter, schedule.best))
    return trace


def assert_matches_keras(values, **kwargs) -> None:
    """Same counters and best as the port, same lr up to float32 rounding, epoch by epoch.

    Equal counters mean equal decisions: a reduction sets wait to 0, while reaching
    patience without reducing (lr at min_lr) leaves wait >= 1.
    """
    mine, theirs = ours_trace(values, **kwargs), keras_trace(values, **kwargs)
    for epoch, ((lr, wait, cool, best), (k_lr, k_wait, k_cool, k_best)) in enumerate(
        zip(mine, theirs, strict=True)
    ):
        context = (
            f"epoch {epoch} (value {values[epoch]!r}), args {kwargs}:\n"
            f"  mine  : lr={lr!r} wait={wait} cooldown_counter={cool} best={best!r}\n"
            f"  keras : lr={k_lr!r} wait={k_wait} cooldown_counter={k_cool} best={k_best!r}"
        )
        assert (wait, cool) == (k_wait, k_cool), context
        assert best == k_best, context
        # Keras's rate is float32: equal up to its rounding (and, with min_lr = 0 and
        # many reductions, up to its underflow below 1e-38).
        assert lr == pytest.approx(k_lr, rel=1e-5, abs=1e-30), context


def lrs(values, **kwargs) -> list[float]:
    """Rates our class returns for ``values``, after checking them against the port."""
    assert_matches_keras(values, **kwargs)
    return ReduceLROnPlateau(**kwargs).simulate(values)


# --------------------------------------------------------------------------------------
# ReduceLROnPlateau: hand-derived sequences
# --------------------------------------------------------------------------------------


def test_patience_counts_epochs_without_improvement():
    # e0: 5 < inf, best=5. e1: 4 < 5, best=4. e2, e3: no improvement, wait 1, 2.
    # e4: wait 3 >= patience 3 -> lr 1 * 0.5, wait 0. e5..e7: wait 1, 2, 3 -> lr 0.25.
    got = lrs([5, 4, 4, 4, 4, 4, 4, 4], initial_lr=1.0, factor=0.5, patience=3, min_delta=0.0)
    assert got == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_improvement_resets_wait():
    # patience 2: a new best at e2 resets the count, so the first reduction is at e4.
    got = lrs([3, 3, 2, 2, 2], initial_lr=1.0, factor=0.5, patience=2, min_delta=0.0)
    assert got == [1.0, 1.0, 1.0, 1.0, 0.5]


def test_cooldown_skips_epochs_after_a_reduction():
    # patience 1, cooldown 2. e0: best=3. e1: wait 1 -> lr 0.5, cooldown_counter=2.
    # e2: counter 2 -> 1, still in cooldown: not counted. e3: counter 1 -> 0, not in
    # cooldown any more: wait 1 -> lr 0.25, counter=2. e4 skipped, e5 reduces, e6 skipped.
    got = lrs([3] * 7, initial_lr=1.0, factor=0.5, patience=1, cooldown=2, min_delta=0.0)
    assert got == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]


def test_cooldown_one_has_no_effect_as_in_keras():
    # The counter is decremented before it is tested, so cooldown=1 is over by the
    # very next epoch: the same rates as cooldown=0.
    kwargs = {"initial_lr": 1.0, "factor": 0.5, "patience": 1, "min_delta": 0.0}
    with_cooldown = lrs([3] * 5, cooldown=1, **kwargs)
    assert with_cooldown == lrs([3] * 5, cooldown=0, **kwargs) == [1, 0.5, 0.25, 0.125, 0.0625]


def test_improvement_smaller_than_min_delta_does_not_count():
    # min_delta 0.1, patience 2. e0: best 1.0. e1: 0.95 < 0.9? no, wait 1.
    # e2: 0.92 < 0.9? no, wait 2 -> lr 0.1 (best is still 1.0, not 0.92).
    # e3: 0.5 < 0.9, best 0.5. e4: 0.45 < 0.4? no, wait 1. e5: 0.41 < 0.4? no -> lr 0.01.
    values = [1.0, 0.95, 0.92, 0.5, 0.45, 0.41]
    got = lrs(values, initial_lr=1.0, factor=0.1, patience=2, min_delta=0.1, min_lr=0.0)
    assert got == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.1, 0.01])
    # Every value is a (tiny) improvement when min_delta is 0: the rate never moves.
    assert lrs(values, initial_lr=1.0, factor=0.1, patience=2, min_delta=0.0) == [1.0] * 6


def test_min_lr_is_a_floor_and_stops_reductions():
    # patience 1. e1: 1 -> max(0.1, 0.05) = 0.1. e2: max(0.01, 0.05) = 0.05.
    # e3, e4: wait reaches patience but lr is not above min_lr: nothing happens and
    # wait keeps growing (Keras does not reset it then).
    schedule = ReduceLROnPlateau(1.0, factor=0.1, patience=1, min_delta=0.0, min_lr=0.05)
    got = [schedule.step(1.0) for _ in range(5)]
    assert got == pytest.approx([1.0, 0.1, 0.05, 0.05, 0.05])
    assert schedule.wait == 2
    assert_matches_keras([1.0] * 5, initial_lr=1.0, factor=0.1, patience=1, min_lr=0.05)


def test_float32_decision_matches_keras_at_the_floor():
    # 1e-5 * 0.1 is 1.0000000000000002e-06 in float64, just above min_lr = 1e-6, so a
    # float64 rule would "reduce" again at e3 and restart the cooldown. Keras holds the
    # rate in float32 (float32(1e-5) * 0.1 < 1e-6, so it is clamped to float32(1e-6))
    # and does not: at e3 wait becomes 1 and the cooldown counter stays 0.
    kwargs = {"initial_lr": 1e-5, "factor": 0.1, "patience": 1, "cooldown": 2, "min_lr": 1e-6}
    values = [1.0] * 5
    trace = ours_trace(values, **kwargs)
    assert [(wait, cool) for _, wait, cool, _ in trace] == [(0, 0), (0, 2), (0, 1), (1, 0), (2, 0)]
    assert trace[-1][0] == pytest.approx(1e-6)
    assert_matches_keras(values, **kwargs)


@pytest.mark.parametrize("monitor", ["val_accuracy", "acc", "accuracy", "val_acc"])
def test_auto_mode_maximises_accuracy_names(monitor):
    # Keras's rule: mode "max" if the substring "acc" is in the monitor name.
    # Mode max, patience 2: e0 best 0.5; e1 0.6 best; e2 wait 1; e3 wait 2 -> 0.5;
    # e4 0.7 best; e5 wait 1; e6 wait 2 -> 0.25.
    values = [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7]
    kwargs = {"initial_lr": 1.0, "factor": 0.5, "patience": 2, "min_delta": 0.0}
    assert ReduceLROnPlateau(monitor=monitor, **kwargs).mode == "max"
    expected = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert lrs(values, monitor=monitor, **kwargs) == expected
    assert lrs(values, monitor="anything", mode="max", **kwargs) == expected


@pytest.mark.parametrize("monitor", ["val_loss", "loss", "val_mse"])
def test_auto_mode_minimises_other_names(monitor):
    # Mode min on the same values, patience 2: e0 best 0.5; e1 0.6 wait 1; e2 wait 2
    # -> 0.5; e3 0.55 (not < 0.5) wait 1; e4 wait 2 -> 0.25; e5 wait 1; e6 wait 2 -> 0.125.
    values = [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7]
    kwargs = {"initial_lr": 1.0, "factor": 0.5, "patience": 2, "min_delta": 0.0}
    assert ReduceLROnPlateau(monitor=monitor, **kwargs).mode == "min"
    expected = [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert lrs(values, monitor=monitor, **kwargs) == expected
    assert lrs(values, monitor="val_accuracy", mode="min", **kwargs) == expected


def test_nan_counts_as_no_improvement():
    # e0: best 1. e1, e2: NaN < 1 is False -> wait 1, 2 -> lr 0.5. e3: 0.5 < 1, best 0.5.
    schedule = ReduceLROnPlateau(1.0, factor=0.5, patience=2, min_delta=0.0)
    got = [schedule.step(v) for v in [1.0, math.nan, math.nan, 0.5]]
    assert got == [1.0, 1.0, 0.5, 0.5]
    assert schedule.best == 0.5
    assert_matches_keras([1.0, math.nan, math.nan, 0.5], initial_lr=1.0, factor=0.5, patience=2)


def test_lecture_defaults():
    schedule = ReduceLROnPlateau(0.01)
    assert (schedule.monitor, schedule.factor, schedule.patience) == ("val_loss", 0.1, 10)
    assert (schedule.min_lr, schedule.min_delta, schedule.cooldown) == (1e-6, 1e-4, 0)
    # Ten epochs without improvement after the first: divide by 10 at the 11th.
    got = schedule.simulate([1.0] * 12)
    assert got[:10] == [0.01] * 10
    assert got[10:] == pytest.approx([0.001, 0.001])


# --------------------------------------------------------------------------------------
# ReduceLROnPlateau: state handling
# --------------------------------------------------------------------------------------


def _state(schedule: ReduceLROnPlateau) -> dict:
    return dict(vars(schedule))


def test_simulate_leaves_the_schedule_untouched():
    schedule = ReduceLROnPlateau(1.0, factor=0.5, patience=1, cooldown=2)
    schedule.step(2.0)
    schedule.step(2.0)  # reduced: lr 0.5, cooldown running
    before = _state(schedule)
    replay = schedule.simulate([2.0, 2.0, 2.0, 1.0])
    assert _state(schedule) == before
    # The replay starts from the current state: e.g. lr 0.5 and cooldown 2.
    assert replay == [0.5, 0.25, 0.25, 0.25]


def test_simulate_of_a_fresh_schedule_equals_stepping():
    values = [3.0, 2.0, 2.5, 2.5, 2.5, 1.0, 1.0, 1.0, 1.0]
    kwargs = {"initial_lr": 0.1, "factor": 0.5, "patience": 2, "cooldown": 1}
    stepped = ReduceLROnPlateau(**kwargs)
    assert ReduceLROnPlateau(**kwargs).simulate(values) == [stepped.step(v) for v in values]


def test_reset_restores_the_initial_state():
    schedule = ReduceLROnPlateau(1.0, factor=0.5, patience=1, cooldown=3)
    fresh = _state(schedule)
    for value in [1.0, 1.0, 1.0]:
        schedule.step(value)
    assert schedule.lr == 0.5
    schedule.reset()
    assert _state(schedule) == fresh


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"factor": 1.0}, "factor"),
        ({"factor": 2.0}, "factor"),
        ({"factor": 0.0}, "factor"),
        ({"patience": -1}, "patience"),
        ({"cooldown": -1}, "cooldown"),
        ({"mode": "maximum"}, "mode"),
        ({"min_delta": -0.1}, "min_delta"),
        ({"min_lr": -1e-6}, "min_lr"),
        ({"initial_lr": 0.0}, "initial_lr"),
        ({"initial_lr": math.nan}, "initial_lr"),
    ],
)
def test_plateau_rejects_bad_arguments(kwargs, match):
    arguments = {"initial_lr": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(**arguments)


def test_plateau_rejects_non_numbers():
    with pytest.raises(TypeError, match="patience"):
        ReduceLROnPlateau(0.1, patience=2.5)
    with pytest.raises(TypeError, match="val_loss"):
        ReduceLROnPlateau(0.1).step("0.3")
    with pytest.raises(TypeError, match="val_loss"):
        ReduceLROnPlateau(0.1).step(np.array([0.3, 0.2]))


# --------------------------------------------------------------------------------------
# ReduceLROnPlateau: property test against the Keras port
# --------------------------------------------------------------------------------------

# Values drawn from a small grid make ties and near-ties (plateaus) common.
_metric = st.one_of(
    st.sampled_from([0.0, 0.5, 0.5001, 0.49995, 1.0, 1.0001, math.nan]),
    st.floats(min_value=-10.0, max_value=10.0),
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(_metric, max_size=40),
    initial_lr=st.sampled_from([1.0, 0.1, 1e-3, 1e-5, 3e-7]),
    factor=st.sampled_from([0.1, 0.5, 0.2, 0.9, 1e-3]),
    patience=st.integers(0, 4),
    cooldown=st.integers(0, 3),
    min_delta=st.sampled_from([0.0, 1e-4, 0.05, 0.5]),
    min_lr=st.sampled_from([0.0, 1e-6, 1e-3, 0.05]),
    monitor_mode=st.sampled_from(
        [("val_loss", "auto"), ("val_accuracy", "auto"), ("loss", "min"), ("score", "max")]
    ),
)
def test_decisions_match_the_keras_port(
    values, initial_lr, factor, patience, cooldown, min_delta, min_lr, monitor_mode
):
    monitor, mode = monitor_mode
    assert_matches_keras(
        values,
        initial_lr=initial_lr,
        monitor=monitor,
        factor=factor,
        patience=patience,
        mode=mode,
        min_delta=min_delta,
        cooldown=cooldown,
        min_lr=min_lr,
    )


# --------------------------------------------------------------------------------------
# Epoch schedules
# --------------------------------------------------------------------------------------


def test_halve_every_5_epochs():
    curve = StepDecay(0.1, 0.5, 5).curve(15)
    np.testing.assert_allclose(curve, [0.1] * 5 + [0.05] * 5 + [0.025] * 5)


def test_divide_by_10_every_20_epochs():
    schedule = StepDecay(1.0, 0.1, 20)
    assert [schedule(e) for e in (0, 19)] == [1.0, 1.0]
    assert [schedule(e) for e in (20, 39, 40)] == pytest.approx([0.1, 0.1, 0.01])


def test_exponential_decay_continuous_and_staircase():
    smooth = ExponentialDecay(1.0, 0.5, decay_steps=2)
    np.testing.assert_allclose(smooth.curve(4), [1.0, 2**-0.5, 0.5, 2**-1.5])
    stairs = ExponentialDecay(1.0, 0.5, decay_steps=2, staircase=True)
    np.testing.assert_allclose(stairs.curve(5), [1.0, 1.0, 0.5, 0.5, 0.25])
    per_epoch = ExponentialDecay(0.1, 0.96)
    assert per_epoch(10) == pytest.approx(0.1 * 0.96**10)


def test_constant_lr():
    np.testing.assert_array_equal(ConstantLR(0.03).curve(4), [0.03] * 4)
    assert ConstantLR(0.03)(1000) == 0.03


_schedules = st.one_of(
    st.builds(ConstantLR, st.floats(1e-6, 1.0)),
    st.builds(StepDecay, st.floats(1e-6, 1.0), st.floats(0.01, 1.0), st.integers(1, 30)),
    st.builds(
        ExponentialDecay,
        st.floats(1e-6, 1.0),
        st.floats(0.01, 1.0),
        st.floats(0.5, 30.0),
        st.booleans(),
    ),
)


@settings(max_examples=100, deadline=None)
@given(schedule=_schedules, epochs=st.integers(0, 60))
def test_curve_is_the_schedule_called_per_epoch_and_never_increases(schedule, epochs):
    before = dataclasses.replace(schedule)
    curve = schedule.curve(epochs)
    assert curve.shape == (epochs,)
    assert curve.dtype == np.float64
    np.testing.assert_array_equal(curve, [schedule(e) for e in range(epochs)])
    assert np.all(np.diff(curve) <= 0), f"{schedule} increases: {curve}"
    assert schedule == before, "plotting a schedule must not change it"


def test_epoch_schedules_are_immutable():
    schedule = StepDecay(0.1, 0.5, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.initial_lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("schedule", [ConstantLR(0.1), StepDecay(0.1, 0.5, 5)])
def test_epoch_must_be_a_non_negative_integer(schedule):
    with pytest.raises(ValueError, match="epoch"):
        schedule(-1)
    with pytest.raises(TypeError, match="epoch"):
        schedule(1.5)
    with pytest.raises(ValueError, match="epochs"):
        schedule.curve(-3)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ConstantLR(0.0), "lr"),
        (lambda: ConstantLR(-0.1), "lr"),
        (lambda: StepDecay(0.1, 1.5, 5), "factor"),
        (lambda: StepDecay(0.1, 0.0, 5), "factor"),
        (lambda: StepDecay(0.1, 0.5, 0), "every"),
        (lambda: ExponentialDecay(0.1, 0.0), "decay_rate"),
        (lambda: ExponentialDecay(0.1, 0.5, decay_steps=0), "decay_steps"),
        (lambda: ExponentialDecay(math.inf, 0.5), "initial_lr"),
    ],
)
def test_epoch_schedules_reject_bad_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()
