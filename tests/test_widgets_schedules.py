"""Tests for week14.schedule_runs (schedules from settings, training runs, the plateau
rule's trace, labels) and week14.widgets.schedules (pinning, the figure and the explorer)
(slide: "Adjusting learning rates"). Everything runs headless (Agg)."""

from __future__ import annotations

import copy
import inspect

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from week14 import schedule_runs
from week14.data import Split
from week14.schedules import ConstantLR, ExponentialDecay, ReduceLROnPlateau, StepDecay
from week14.training import History
from week14.widgets import figure_png
from week14.widgets.schedules import (
    MAX_MARKED_DROPS,
    MAX_PINNED,
    ScheduleExplorer,
    ScheduleFigure,
    pin_run,
    schedule_figure,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def problem() -> Split:
    """A smaller slice than the explorer's default, to keep the tests fast."""
    return schedule_runs.digits_problem(n_train=200, n_val=100)


def plateau_state(schedule: ReduceLROnPlateau) -> tuple[float, float, int, int]:
    return schedule.lr, schedule.best, schedule.wait, schedule.cooldown_counter


def fake_history(lrs, scale: float = 1.0) -> History:
    """A History with the given rates and made-up falling losses (no training)."""
    history = History()
    for epoch, lr in enumerate(lrs):
        history.record(epoch, {"loss": scale / (epoch + 1), "val_loss": 1.2 * scale / (epoch + 1),
                               "val_accuracy": 1 - 0.5 / (epoch + 1), "lr": float(lr)})
    return history


def legend_labels(figure: ScheduleFigure) -> list[str]:
    return [text.get_text() for text in figure.fig.legends[-1].get_texts()]


def shown_lines(ax) -> set[tuple[float, ...]]:
    """The y data of the non-empty lines of ``ax``."""
    return {tuple(np.asarray(line.get_ydata(), dtype=float)) for line in ax.get_lines()
            if len(line.get_ydata())}


# ------------------------------------------------------------------ digits_problem


def test_digits_problem_shapes_and_ranges(problem):
    assert problem.X_train.shape == (200, 64) and problem.y_train.shape == (200,)
    assert problem.X_val.shape == (100, 64) and problem.y_val.shape == (100,)
    assert 0.0 <= problem.X_train.min() and problem.X_train.max() <= 1.0, "pixels scaled to [0, 1]"
    assert set(np.unique(problem.y_train)) == set(range(10)), "every digit in the training rows"


@pytest.mark.parametrize("kwargs", [{"n_train": 0}, {"n_val": 451}])
def test_digits_problem_rejects_sizes_out_of_range(kwargs):
    with pytest.raises(ValueError, match=r"digits_problem expected n_\w+ in 1\.\.\d+, got"):
        schedule_runs.digits_problem(**kwargs)


def test_digits_problem_rejects_a_fractional_size():
    with pytest.raises(TypeError, match="expected n_train to be an int, got float 2.5"):
        schedule_runs.digits_problem(n_train=2.5)  # type: ignore[arg-type]


# ------------------------------------------------------------------ make_schedule


def test_make_schedule_builds_each_kind_from_its_settings():
    settings = {"factor": 0.25, "every": 4, "staircase": True, "patience": 2, "cooldown": 1,
                "min_delta": 0.01, "min_lr": 1e-3}
    assert schedule_runs.make_schedule("constant", 0.3, **settings) == ConstantLR(0.3)
    assert schedule_runs.make_schedule("step", 0.3, **settings) == StepDecay(0.3, 0.25, 4)
    assert (schedule_runs.make_schedule("exponential", 0.3, **settings)
            == ExponentialDecay(0.3, 0.25, 4, True))
    plateau = schedule_runs.make_schedule("plateau", 0.3, **settings)
    assert isinstance(plateau, ReduceLROnPlateau)
    assert (plateau.initial_lr, plateau.monitor, plateau.factor, plateau.patience,
            plateau.cooldown, plateau.min_delta, plateau.min_lr) == (
        0.3, "val_loss", 0.25, 2, 1, 0.01, 1e-3)


def test_make_schedule_rejects_unknown_kind_listing_the_kinds():
    with pytest.raises(ValueError, match="'constant', 'step', 'exponential', 'plateau'.*'cosine'"):
        schedule_runs.make_schedule("cosine", 0.1)


def test_schedule_kinds_name_only_make_schedule_settings():
    import inspect

    accepted = set(inspect.signature(schedule_runs.make_schedule).parameters) - {"kind"}
    for kind, used in schedule_runs.SCHEDULE_KINDS.items():
        assert set(used) <= accepted, f"{kind} uses settings make_schedule does not take"


# ------------------------------------------------------------------ train_with_schedule


def test_epoch_schedule_run_uses_the_schedule_and_leaves_it_unchanged(problem):
    schedule = StepDecay(0.5, 0.5, 2)
    before = copy.deepcopy(schedule)
    history = schedule_runs.train_with_schedule(schedule, epochs=6, problem=problem)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert len(history) == 6
    np.testing.assert_array_equal(history["lr"], schedule.curve(6),
                                  err_msg="the Trainer must use schedule(epoch) in epoch e")
    assert schedule == before
    assert all(np.isfinite(history["loss"])) and all(np.isfinite(history["val_loss"]))


def test_validation_accuracy_is_a_share_of_the_validation_digits(problem):
    history = schedule_runs.train_with_schedule(ConstantLR(0.5), epochs=8, problem=problem)
    n_val = len(problem.y_val)
    correct = np.asarray(history["val_accuracy"]) * n_val
    np.testing.assert_allclose(correct, np.round(correct), atol=1e-9,
                               err_msg=f"val_accuracy must be (digits right) / {n_val}")
    assert history["val_accuracy"][-1] > 0.5, "a working rate must beat guessing's 10 %"
    tiny = schedule_runs.train_with_schedule(ConstantLR(1e-4), epochs=8, problem=problem)
    assert max(tiny["val_accuracy"]) < history["val_accuracy"][-1]


def test_same_seed_same_run_and_a_smaller_rate_changes_less(problem):
    first = schedule_runs.train_with_schedule(ConstantLR(0.5), epochs=3, seed=7, problem=problem)
    again = schedule_runs.train_with_schedule(ConstantLR(0.5), epochs=3, seed=7, problem=problem)
    assert first.history == again.history, "a run must be reproducible from its seed"
    tiny = schedule_runs.train_with_schedule(ConstantLR(1e-4), epochs=3, seed=7, problem=problem)
    # Same initial weights, so the first epoch's validation loss is nearly log(10) for a
    # rate that barely moves them, and lower for the working rate.
    assert tiny["val_loss"][0] > first["val_loss"][0]
    assert abs(tiny["val_loss"][2] - tiny["val_loss"][0]) < 0.01


def test_plateau_run_does_not_change_the_schedule(problem):
    schedule = ReduceLROnPlateau(0.5, factor=0.5, patience=1, min_delta=10.0)
    before = plateau_state(schedule)
    schedule_runs.train_with_schedule(schedule, epochs=5, problem=problem)
    assert plateau_state(schedule) == before, "train_with_schedule must train a copy"


def test_plateau_run_lowers_the_rate_after_a_plateau(problem):
    # min_delta = 10: after the first epoch no validation loss "improves", so every epoch
    # is bad; with patience 2 the rate halves after epochs 2, 4, ... (0-based).
    schedule = ReduceLROnPlateau(0.5, factor=0.5, patience=2, min_delta=10.0)
    history = schedule_runs.train_with_schedule(schedule, epochs=6, problem=problem)
    np.testing.assert_allclose(history["lr"], [0.5, 0.5, 0.5, 0.25, 0.25, 0.125])
    np.testing.assert_array_equal(schedule_runs.lr_drops(history["lr"]), [3, 5])


def test_plateau_run_follows_the_schedule_rules_on_the_logged_losses(problem):
    schedule = ReduceLROnPlateau(1.0, factor=0.5, patience=1, min_delta=0.02)
    history = schedule_runs.train_with_schedule(schedule, epochs=12, problem=problem)
    expected = [1.0, *schedule.simulate(history["val_loss"])[:-1]]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12,
                               err_msg="epoch e+1 must use the rate stepped from val_loss[e]")
    assert history["lr"][-1] < 1.0, "a plateau of the validation loss should lower the rate"


def test_train_with_schedule_rejects_a_bare_number(problem):
    with pytest.raises(TypeError, match="expected a week14.schedules schedule.*float"):
        schedule_runs.train_with_schedule(0.1, epochs=1, problem=problem)  # type: ignore[arg-type]


# ------------------------------------------------------------------ plateau_trace

# A hand-made validation loss on which every rule of Keras's ReduceLROnPlateau acts, with
# initial_lr 1, factor 0.5, patience 2, min_delta 0.1, cooldown 2, min_lr 0.2. Per epoch:
#  0 1.0   first value: new best (best starts at +inf)
#  1 0.8   0.8 < 1.0 - 0.1: new best
#  2 0.85  not below 0.8 - 0.1: bad epoch, wait 1
#  3 0.75  0.05 better than the best: less than min_delta, so bad: wait 2 = patience:
#          reduce to 0.5, cooldown 2, wait 0
#  4 0.9   cooldown 2 -> 1 first; still in cooldown: not counted
#  5 0.9   cooldown 1 -> 0 first; counted: wait 1 (cooldown=2 skipped one epoch)
#  6 0.9   wait 2: reduce to 0.25, cooldown 2, wait 0
#  7 0.5   cooldown -> 1; 0.5 < 0.7: new best (a new best counts even in cooldown)
#  8 0.6   cooldown -> 0; bad: wait 1
#  9 0.6   wait 2: reduce to max(0.125, min_lr 0.2) = 0.2, cooldown 2, wait 0
# 10 0.6   cooldown -> 1, not counted
# 11 0.6   cooldown -> 0, wait 1
# 12 0.6   wait 2 = patience, but the rate is at min_lr: no reduction, wait is not reset
# 13 0.6   wait 3
HAND_SETTINGS = {"initial_lr": 1.0, "factor": 0.5, "patience": 2, "min_delta": 0.1,
                 "cooldown": 2, "min_lr": 0.2}
HAND_LOSSES = [1.0, 0.8, 0.85, 0.75, 0.9, 0.9, 0.9, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
HAND_TRACE = {
    "best": [1.0, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    "wait": [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 2, 3],
    "cooldown": [0, 0, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 0, 0],
    "lr": [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2],
    "reduced": [False, False, False, True, False, False, True, False, False, True,
                False, False, False, False],
}


def test_plateau_trace_on_a_hand_made_loss_curve():
    trace = schedule_runs.plateau_trace(ReduceLROnPlateau(**HAND_SETTINGS), HAND_LOSSES)
    assert isinstance(trace, schedule_runs.PlateauTrace) and trace.patience == 2
    for name, expected in HAND_TRACE.items():
        actual = getattr(trace, name)
        assert actual.shape == (len(HAND_LOSSES),), name
        np.testing.assert_array_equal(actual, expected, err_msg=f"{name} per epoch")
    assert (trace.wait.dtype, trace.cooldown.dtype, trace.reduced.dtype) == (
        np.int64, np.int64, np.bool_)


def test_plateau_trace_starts_fresh_and_leaves_the_schedule_alone():
    schedule = ReduceLROnPlateau(**HAND_SETTINGS)
    schedule.step(0.1)
    schedule.step(0.5)  # a used schedule: best 0.1, wait 1
    before = plateau_state(schedule)
    trace = schedule_runs.plateau_trace(schedule, HAND_LOSSES)
    assert plateau_state(schedule) == before
    np.testing.assert_array_equal(trace.wait, HAND_TRACE["wait"],
                                  err_msg="the replay starts from a reset copy, as fit does")


def test_plateau_trace_counts_nan_as_a_bad_epoch_and_handles_no_values():
    trace = schedule_runs.plateau_trace(ReduceLROnPlateau(1.0, factor=0.5, patience=2),
                          [1.0, float("nan"), float("nan")])
    np.testing.assert_array_equal(trace.wait, [0, 1, 0])
    np.testing.assert_array_equal(trace.reduced, [False, False, True])
    empty = schedule_runs.plateau_trace(ReduceLROnPlateau(1.0), [])
    assert all(getattr(empty, name).shape == (0,) for name in HAND_TRACE)


def test_plateau_trace_of_a_maximised_monitor():
    schedule = ReduceLROnPlateau(1.0, monitor="val_accuracy", factor=0.5, patience=1,
                                 min_delta=0.0)
    trace = schedule_runs.plateau_trace(schedule, [0.5, 0.6, 0.6, 0.7])
    np.testing.assert_array_equal(trace.best, [0.5, 0.6, 0.6, 0.7])
    np.testing.assert_array_equal(trace.lr, [1.0, 1.0, 0.5, 0.5])


def test_plateau_trace_rejects_an_epoch_schedule():
    with pytest.raises(TypeError, match="expected a ReduceLROnPlateau, got StepDecay"):
        schedule_runs.plateau_trace(StepDecay(1.0, 0.5, 5), [1.0])  # type: ignore[arg-type]


@given(st.lists(st.floats(0.0, 3.0) | st.just(1.0), max_size=40),
       st.integers(0, 4), st.integers(0, 3), st.sampled_from([0.0, 0.01, 0.3]),
       st.sampled_from([0.0, 0.05, 0.2]))
def test_plateau_trace_agrees_with_the_schedule(values, patience, cooldown, min_delta, min_lr):
    schedule = ReduceLROnPlateau(1.0, factor=0.5, patience=patience, min_delta=min_delta,
                                 cooldown=cooldown, min_lr=min_lr)
    trace = schedule_runs.plateau_trace(schedule, values)
    np.testing.assert_array_equal(trace.lr, schedule.simulate(values))
    before = np.concatenate([[1.0], trace.lr[:-1]])
    np.testing.assert_array_equal(trace.reduced, trace.lr < before)
    assert np.all(trace.wait[trace.reduced] == 0)
    assert np.all(trace.cooldown[trace.reduced] == cooldown)
    assert np.all(np.diff(trace.best) <= 0), "the best of a minimised value never rises"


def test_plateau_trace_of_a_run_matches_its_history(problem):
    schedule = ReduceLROnPlateau(2.0, factor=0.5, patience=2)
    history = schedule_runs.train_with_schedule(schedule, epochs=15, problem=problem)
    trace = schedule_runs.plateau_trace(schedule, history["val_loss"])
    np.testing.assert_array_equal(trace.lr[:-1], history["lr"][1:],
                                  err_msg="the trace's rate after epoch e is epoch e+1's rate")
    np.testing.assert_array_equal(np.flatnonzero(trace.reduced[:-1]) + 1,
                                  schedule_runs.lr_drops(history["lr"]))
    np.testing.assert_array_equal(trace.best, np.minimum.accumulate(history["val_loss"]),
                                  err_msg="min_delta 1e-4: every new low is a new best here")


# ------------------------------------------------------------------ labels and pinning


@pytest.mark.parametrize(("schedule", "label"), [
    (ConstantLR(2.0), "ConstantLR(2)"),
    (StepDecay(2.0, 0.5, 5), "StepDecay(2, 0.5, 5)"),
    (ExponentialDecay(0.5, 0.8, 2), "ExponentialDecay(0.5, 0.8, 2)"),
    (ExponentialDecay(0.5, 0.8, 2, True), "ExponentialDecay(0.5, 0.8, 2, staircase=True)"),
    (ReduceLROnPlateau(2.0, factor=0.1), "ReduceLROnPlateau(2, factor=0.1, patience=10)"),
    (ReduceLROnPlateau(1.0, factor=0.5, patience=2, min_delta=0.03, cooldown=3, min_lr=0.1),
     "ReduceLROnPlateau(1, factor=0.5, patience=2, min_delta=0.03, cooldown=3, min_lr=0.1)"),
])
def test_schedule_label_is_the_call_that_makes_the_schedule(schedule, label):
    assert schedule_runs.schedule_label(schedule) == label
    namespace = {"ConstantLR": ConstantLR, "StepDecay": StepDecay,
                 "ExponentialDecay": ExponentialDecay, "ReduceLROnPlateau": ReduceLROnPlateau}
    remade = eval(label, namespace)  # our own label, a plain constructor call
    assert repr(remade) == repr(schedule), "the label must rebuild the same schedule"


def test_schedule_run_of_labels_and_traces(problem):
    plateau = ReduceLROnPlateau(1.0, factor=0.5, patience=1, min_delta=0.02)
    history = schedule_runs.train_with_schedule(plateau, epochs=6, problem=problem)
    run = schedule_runs.ScheduleRun.of(plateau, history)
    assert run.label == schedule_runs.schedule_label(plateau) and run.history is history
    trace = schedule_runs.plateau_trace(plateau, history["val_loss"])
    np.testing.assert_array_equal(run.plateau.lr, trace.lr)
    assert schedule_runs.ScheduleRun.of(StepDecay(1.0, 0.5, 2), history).plateau is None


def test_pin_run_keeps_order_and_refuses_a_fourth_and_a_duplicate():
    runs = [schedule_runs.ScheduleRun(f"StepDecay({lr}, 0.5, 5)", fake_history([lr] * 3))
            for lr in (1, 2, 3, 5)]
    pinned: tuple[schedule_runs.ScheduleRun, ...] = ()
    for count, run in enumerate(runs[:MAX_PINNED], start=1):
        pinned, message = pin_run(pinned, run)
        assert len(pinned) == count and pinned[-1] is run
        assert message.startswith(f"Pinned {count} of {MAX_PINNED}: {run.label}")
    assert pinned == tuple(runs[:MAX_PINNED]), "oldest first, so colours stay put"
    full, message = pin_run(pinned, runs[3])
    assert full == pinned, "a full set is never changed: nothing is dropped silently"
    assert message.startswith(f"Not pinned: {MAX_PINNED} runs are pinned already")
    assert "Clear pinned" in message
    same = schedule_runs.ScheduleRun(runs[0].label, fake_history([1] * 3))
    assert pin_run(pinned[:1], same) == (pinned[:1], f"Already pinned: {runs[0].label}.")
    other, _ = pin_run(pinned[:1], schedule_runs.ScheduleRun(runs[0].label, fake_history([1] * 4)))
    assert len(other) == 2, "same schedule, other epochs: another run"


# ------------------------------------------------------------------ lr_drops and the figure


def test_lr_drops_examples():
    np.testing.assert_array_equal(schedule_runs.lr_drops([1.0, 1.0, 0.5, 0.5, 0.25]), [2, 4])
    np.testing.assert_array_equal(schedule_runs.lr_drops([0.1]), np.array([], dtype=np.int64))
    np.testing.assert_array_equal(schedule_runs.lr_drops([0.1, 0.2, 0.1]), [2],
                                  err_msg="a rise is no drop")
    with pytest.raises(ValueError, match=r"shape \(E,\).*\(2, 2\)"):
        schedule_runs.lr_drops(np.ones((2, 2)))


@given(st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=30))
def test_lr_drops_are_exactly_the_decreases(lrs):
    drops = set(schedule_runs.lr_drops(lrs).tolist())
    for epoch in range(1, len(lrs)):
        assert (epoch in drops) == (lrs[epoch] < lrs[epoch - 1]), f"epoch {epoch} of {lrs}"


def test_schedule_figure_draws_the_runs_without_changing_them(problem):
    history = schedule_runs.train_with_schedule(StepDecay(0.5, 0.5, 2), epochs=5, problem=problem)
    baseline = schedule_runs.train_with_schedule(ConstantLR(0.5), epochs=5, problem=problem)
    saved = copy.deepcopy((history.history, baseline.history))
    fig = schedule_figure(history, baseline, title="step", label="StepDecay(0.5, 0.5, 2)")
    rate_ax, loss_ax, acc_ax, plateau_ax = fig.axes
    assert rate_ax.get_yscale() == loss_ax.get_yscale() == "log"
    assert acc_ax.get_ylim() == (0.0, 1.0)
    assert rate_ax.get_title() == "step"
    assert shown_lines(rate_ax) == {tuple(history["lr"]), tuple(baseline["lr"])}
    assert shown_lines(loss_ax) == {tuple(run[name]) for run in (history, baseline)
                                    for name in ("loss", "val_loss")}
    assert shown_lines(acc_ax) == {tuple(history["val_accuracy"]),
                                   tuple(baseline["val_accuracy"])}
    assert shown_lines(plateau_ax) == set(), "no counters for a step decay"
    assert fig.legends[-1].get_texts()[0].get_text() == "StepDecay(0.5, 0.5, 2)"
    assert fig.legends[-1].get_texts()[1].get_text() == "ConstantLR(0.5)"
    assert (history.history, baseline.history) == saved


def test_schedule_figure_overlays_pinned_runs_with_their_labels():
    figure = ScheduleFigure()
    pinned = [schedule_runs.ScheduleRun(schedule_runs.schedule_label(schedule),
                                        fake_history(schedule.curve(6), scale))
              for schedule, scale in ((StepDecay(1.0, 0.5, 2), 2.0),
                                      (ExponentialDecay(1.0, 0.5, 2), 3.0),
                                      (ExponentialDecay(1.0, 0.5, 2, True), 4.0))]
    shown = fake_history(ConstantLR(0.3).curve(8))
    figure.update(shown, label="ConstantLR(0.3)", pinned=pinned)
    assert legend_labels(figure) == ["ConstantLR(0.3)", "pin 1: StepDecay(1, 0.5, 2)",
                                     "pin 2: ExponentialDecay(1, 0.5, 2)",
                                     "pin 3: ExponentialDecay(1, 0.5, 2, staircase=True)"]
    histories = [shown, *(run.history for run in pinned)]
    assert {tuple(h[name]) for h in histories for name in ("loss", "val_loss")} == shown_lines(
        figure.loss_ax)
    assert {tuple(h["val_accuracy"]) for h in histories} == shown_lines(figure.acc_ax)
    assert figure.rate_ax.get_xlim() == (-0.5, 7.5), "the x axis fits the longest run"
    colors = [line.get_color() for line in figure.rate_ax.get_lines() if len(line.get_xdata())]
    assert len(set(colors)) == 4, "each pinned run has a colour of its own"
    figure.update(shown, label="ConstantLR(0.3)")
    assert legend_labels(figure) == ["ConstantLR(0.3)"]
    assert shown_lines(figure.loss_ax) == {tuple(shown["loss"]), tuple(shown["val_loss"])}
    with pytest.raises(ValueError, match=f"at most {MAX_PINNED} pinned runs, got 4"):
        figure.update(shown, pinned=[*pinned, pinned[0]])


def test_schedule_figure_shows_the_plateau_rule_state():
    schedule = ReduceLROnPlateau(**HAND_SETTINGS)
    trace = schedule_runs.plateau_trace(schedule, HAND_LOSSES)
    history = fake_history([1.0, *trace.lr[:-1]])
    figure = ScheduleFigure()
    figure.update(history, label=schedule_runs.schedule_label(schedule), plateau=trace)
    lines = {line.get_label(): line for line in figure.plateau_ax.get_lines()}
    np.testing.assert_array_equal(lines["wait"].get_ydata(), HAND_TRACE["wait"])
    np.testing.assert_array_equal(lines["cooldown left"].get_ydata(), HAND_TRACE["cooldown"])
    np.testing.assert_array_equal(lines["patience"].get_ydata(), [2, 2])
    np.testing.assert_array_equal(lines["reduced"].get_xdata(), [3, 6, 9])
    assert tuple(HAND_TRACE["best"]) in shown_lines(figure.loss_ax), "best so far is drawn"
    assert "best validation loss so far" in figure.loss_ax.get_title()
    red = figure.rate_ax.get_lines()[-1]
    assert red.get_marker() == "v" and red.get_markevery() == [4, 7, 10], (
        "each reduction is marked where its lower rate starts")
    assert not figure._plateau_note.get_visible()
    figure.update(history)
    assert shown_lines(figure.plateau_ax) == set() and figure._plateau_note.get_visible()
    assert figure.rate_ax.get_lines()[-1].get_marker() == "None"


def test_schedule_figure_update_replaces_everything_it_showed():
    figure = ScheduleFigure()
    first, base = fake_history(StepDecay(1.0, 0.5, 2).curve(7)), fake_history([1.0] * 7, 2.0)
    figure.update(first, base, "first")
    assert [len(marks.get_segments()) for marks in figure.drop_marks] == [3, 3, 3], (
        "drops at epochs 2, 4, 6, marked in the rate, loss and accuracy panels")
    second = fake_history(StepDecay(0.1, 0.1, 3).curve(4), 3.0)
    figure.update(second)
    fresh = ScheduleFigure()
    fresh.update(second)
    for ax, fresh_ax in zip(figure.fig.axes, fresh.fig.axes, strict=True):
        assert shown_lines(ax) == shown_lines(fresh_ax)
    assert legend_labels(figure) == legend_labels(fresh) == ["schedule"]
    np.testing.assert_array_equal(figure.drop_marks[0].get_segments(), [[[3, 0], [3, 1]]])
    assert figure.rate_ax.get_title() == fresh.rate_ax.get_title()
    assert figure.rate_ax.get_xlim() == fresh.rate_ax.get_xlim()
    assert figure.rate_ax.get_ylim() == fresh.rate_ax.get_ylim()
    assert figure_png(figure.fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_schedule_figure_does_not_mark_a_smooth_decay():
    figure = ScheduleFigure()
    figure.update(fake_history(ExponentialDecay(1.0, 0.8).curve(MAX_MARKED_DROPS + 3)))
    marks = [len(collection.get_segments()) for collection in figure.drop_marks]
    assert marks == [0, 0, 0], f"{marks} drop markers drawn for a rate that drops every epoch"


# ------------------------------------------------------------------ the explorer


def test_explorer_constructs_sets_and_reuses_runs(problem):
    explorer = ScheduleExplorer(problem)
    explorer.set(kind="plateau", patience=2, epochs=10)
    assert explorer.values()["kind"] == "plateau"
    disabled = {name for name, control in explorer.controls.items() if control.disabled}
    assert disabled == {"every", "staircase"}, "controls plateau ignores are greyed out"
    settings = explorer.values()
    run = explorer.run("plateau", 10, settings)
    assert explorer.run("plateau", 10, {**settings, "every": 17}) is run, (
        "a setting the schedule ignores must reuse the run")
    assert explorer.run("plateau", 10, {**settings, "patience": 3}) is not run
    assert explorer.shown.history is run and explorer.shown.plateau is not None
    assert tuple(run["lr"]) in shown_lines(explorer.figure.rate_ax)
    np.testing.assert_array_equal(explorer.figure.plateau_ax.get_lines()[0].get_ydata(),
                                  explorer.shown.plateau.wait)
    explorer.set(kind="constant", lr=0.1)
    assert {n for n, c in explorer.controls.items() if not c.disabled} == {"kind", "lr", "epochs"}
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(learning_rate=0.1)


def test_explorer_keeps_a_bounded_number_of_runs(problem):
    explorer = ScheduleExplorer(problem)
    explorer.MAX_RUNS = 2
    settings = explorer.values()
    first = explorer.run("constant", 5, {**settings, "lr": 0.1})
    explorer.run("constant", 5, {**settings, "lr": 0.2})
    explorer.run("constant", 5, {**settings, "lr": 0.5})
    assert len(explorer._runs) == 2
    assert explorer.run("constant", 5, {**settings, "lr": 0.1}) is not first, (
        "the oldest run was forgotten and is trained again")


def test_explorer_pins_up_to_three_runs_and_clears_them(problem):
    explorer = ScheduleExplorer(problem)
    explorer.set(epochs=10)
    assert explorer.clear_button.disabled, "nothing to clear yet"
    explorer.pin_button.click()
    step = explorer.shown
    assert explorer.pinned == (step,) and not explorer.clear_button.disabled
    assert explorer.message.value.startswith("Pinned 1 of 3: StepDecay(2, 0.5, 5)")
    explorer.pin()
    assert explorer.pinned == (step,) and explorer.message.value.startswith("Already pinned")
    for settings in ({"staircase": True, "kind": "exponential"}, {"staircase": False}):
        explorer.set(**settings)
        explorer.pin()
    assert [run.label for run in explorer.pinned] == [
        "StepDecay(2, 0.5, 5)", "ExponentialDecay(2, 0.5, 5, staircase=True)",
        "ExponentialDecay(2, 0.5, 5)"]
    explorer.set(kind="plateau")
    assert legend_labels(explorer.figure) == [
        "ReduceLROnPlateau(2, factor=0.5, patience=10)", "ConstantLR(2)",
        *(f"pin {i}: {run.label}" for i, run in enumerate(explorer.pinned, start=1))]
    explorer.pin()
    assert len(explorer.pinned) == MAX_PINNED
    assert explorer.message.value.startswith("Not pinned: 3 runs are pinned already")
    explorer.clear_button.click()
    assert explorer.pinned == () and explorer.clear_button.disabled
    assert explorer.message.value == "Cleared 3 pinned run(s)."
    assert len(legend_labels(explorer.figure)) == 2, "only the shown run and the grey one"


def test_explorer_defaults_let_the_lectures_plateau_settings_act():
    """The issue: with the lecture's plateau settings at the old default rate (1) nothing
    happened in 40 epochs. At the explorer's default rate and epochs it must."""
    explorer = ScheduleExplorer()  # the default data, as a student gets it
    defaults = explorer.values()
    lecture = inspect.signature(ReduceLROnPlateau).parameters
    for name in ("patience", "min_delta", "cooldown", "min_lr"):
        assert defaults[name] == lecture[name].default, f"default {name} is not the lecture's"
    epochs = defaults["epochs"]
    for factor in (lecture["factor"].default, defaults["factor"]):  # 0.1, and the default 0.5
        history = explorer.run("plateau", epochs, {**defaults, "factor": factor})
        drops = schedule_runs.lr_drops(history["lr"])
        assert len(drops) >= 1, f"factor {factor}: no reduction in {epochs} epochs"
        assert drops[0] <= epochs - 10, (
            f"factor {factor}: the first reduction (epoch {drops[0]}) leaves too few of the "
            f"{epochs} epochs to see its effect")
    explorer.set(kind="plateau")
    assert explorer.shown.plateau.reduced.any()
    reduced = {line.get_label(): line for line in explorer.figure.plateau_ax.get_lines()}
    assert len(reduced["reduced"].get_xdata()) >= 1, "the reduction is marked ▼"
