"""Tests for week14.widgets.schedules: schedules from settings, training runs, the figure
and the explorer (slide: "Adjusting learning rates"). Everything runs headless (Agg)."""

from __future__ import annotations

import copy

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from week14.schedules import ConstantLR, ExponentialDecay, ReduceLROnPlateau, StepDecay
from week14.training import History
from week14.widgets import figure_png
from week14.widgets.schedules import (
    MAX_MARKED_DROPS,
    SCHEDULE_KINDS,
    DigitsProblem,
    ScheduleExplorer,
    ScheduleFigure,
    digits_problem,
    lr_drops,
    make_schedule,
    schedule_figure,
    train_with_schedule,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def problem() -> DigitsProblem:
    """A smaller slice than the explorer's default, to keep the tests fast."""
    return digits_problem(n_train=200, n_val=100)


def plateau_state(schedule: ReduceLROnPlateau) -> tuple[float, float, int, int]:
    return schedule.lr, schedule.best, schedule.wait, schedule.cooldown_counter


def fake_history(lrs, scale: float = 1.0) -> History:
    """A History with the given rates and made-up falling losses (no training)."""
    history = History()
    for epoch, lr in enumerate(lrs):
        history.record(epoch, {"loss": scale / (epoch + 1), "val_loss": 1.2 * scale / (epoch + 1),
                               "lr": float(lr)})
    return history


def drawn(figure: ScheduleFigure) -> dict[str, np.ndarray]:
    """The y data of the loss panel's visible lines, by legend label."""
    labels = [text.get_text() for text in figure.loss_ax.get_legend().get_texts()]
    lines = {line.get_label(): np.asarray(line.get_ydata()) for line in figure.loss_ax.get_lines()}
    return {label: lines[label] for label in labels}


# ------------------------------------------------------------------ digits_problem


def test_digits_problem_shapes_and_ranges(problem):
    assert problem.X_train.shape == (200, 64) and problem.y_train.shape == (200,)
    assert problem.X_val.shape == (100, 64) and problem.y_val.shape == (100,)
    assert 0.0 <= problem.X_train.min() and problem.X_train.max() <= 1.0, "pixels scaled to [0, 1]"
    assert set(np.unique(problem.y_train)) == set(range(10)), "every digit in the training rows"


@pytest.mark.parametrize("kwargs", [{"n_train": 0}, {"n_val": 451}])
def test_digits_problem_rejects_sizes_out_of_range(kwargs):
    with pytest.raises(ValueError, match=r"digits_problem expected n_\w+ in 1\.\.\d+, got"):
        digits_problem(**kwargs)


def test_digits_problem_rejects_a_fractional_size():
    with pytest.raises(TypeError, match="expected n_train to be an int, got float 2.5"):
        digits_problem(n_train=2.5)  # type: ignore[arg-type]


# ------------------------------------------------------------------ make_schedule


def test_make_schedule_builds_each_kind_from_its_settings():
    settings = {"factor": 0.25, "every": 4, "staircase": True, "patience": 2, "cooldown": 1,
                "min_delta": 0.01, "min_lr": 1e-3}
    assert make_schedule("constant", 0.3, **settings) == ConstantLR(0.3)
    assert make_schedule("step", 0.3, **settings) == StepDecay(0.3, 0.25, 4)
    assert make_schedule("exponential", 0.3, **settings) == ExponentialDecay(0.3, 0.25, 4, True)
    plateau = make_schedule("plateau", 0.3, **settings)
    assert isinstance(plateau, ReduceLROnPlateau)
    assert (plateau.initial_lr, plateau.monitor, plateau.factor, plateau.patience,
            plateau.cooldown, plateau.min_delta, plateau.min_lr) == (
        0.3, "val_loss", 0.25, 2, 1, 0.01, 1e-3)


def test_make_schedule_rejects_unknown_kind_listing_the_kinds():
    with pytest.raises(ValueError, match="'constant', 'step', 'exponential', 'plateau'.*'cosine'"):
        make_schedule("cosine", 0.1)


def test_schedule_kinds_name_only_make_schedule_settings():
    import inspect

    accepted = set(inspect.signature(make_schedule).parameters) - {"kind"}
    for kind, used in SCHEDULE_KINDS.items():
        assert set(used) <= accepted, f"{kind} uses settings make_schedule does not take"


# ------------------------------------------------------------------ train_with_schedule


def test_epoch_schedule_run_uses_the_schedule_and_leaves_it_unchanged(problem):
    schedule = StepDecay(0.5, 0.5, 2)
    before = copy.deepcopy(schedule)
    history = train_with_schedule(schedule, epochs=6, problem=problem)
    assert set(history.history) == {"loss", "val_loss", "lr"}
    assert len(history) == 6
    np.testing.assert_array_equal(history["lr"], schedule.curve(6),
                                  err_msg="the Trainer must use schedule(epoch) in epoch e")
    assert schedule == before
    assert all(np.isfinite(history["loss"])) and all(np.isfinite(history["val_loss"]))


def test_same_seed_same_run_and_a_smaller_rate_changes_less(problem):
    first = train_with_schedule(ConstantLR(0.5), epochs=3, seed=7, problem=problem)
    again = train_with_schedule(ConstantLR(0.5), epochs=3, seed=7, problem=problem)
    assert first.history == again.history, "a run must be reproducible from its seed"
    tiny = train_with_schedule(ConstantLR(1e-4), epochs=3, seed=7, problem=problem)
    # Same initial weights, so the first epoch's validation loss is nearly log(10) for a
    # rate that barely moves them, and lower for the working rate.
    assert tiny["val_loss"][0] > first["val_loss"][0]
    assert abs(tiny["val_loss"][2] - tiny["val_loss"][0]) < 0.01


def test_plateau_run_does_not_change_the_schedule(problem):
    schedule = ReduceLROnPlateau(0.5, factor=0.5, patience=1, min_delta=10.0)
    before = plateau_state(schedule)
    train_with_schedule(schedule, epochs=5, problem=problem)
    assert plateau_state(schedule) == before, "train_with_schedule must train a copy"


def test_plateau_run_lowers_the_rate_after_a_plateau(problem):
    # min_delta = 10: after the first epoch no validation loss "improves", so every epoch
    # is bad; with patience 2 the rate halves after epochs 2, 4, ... (0-based).
    schedule = ReduceLROnPlateau(0.5, factor=0.5, patience=2, min_delta=10.0)
    history = train_with_schedule(schedule, epochs=6, problem=problem)
    np.testing.assert_allclose(history["lr"], [0.5, 0.5, 0.5, 0.25, 0.25, 0.125])
    np.testing.assert_array_equal(lr_drops(history["lr"]), [3, 5])


def test_plateau_run_follows_the_schedule_rules_on_the_logged_losses(problem):
    schedule = ReduceLROnPlateau(1.0, factor=0.5, patience=1, min_delta=0.02)
    history = train_with_schedule(schedule, epochs=12, problem=problem)
    expected = [1.0, *schedule.simulate(history["val_loss"])[:-1]]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12,
                               err_msg="epoch e+1 must use the rate stepped from val_loss[e]")
    assert history["lr"][-1] < 1.0, "a plateau of the validation loss should lower the rate"


def test_train_with_schedule_rejects_a_bare_number(problem):
    with pytest.raises(TypeError, match="expected a week14.schedules schedule.*float"):
        train_with_schedule(0.1, epochs=1, problem=problem)  # type: ignore[arg-type]


# ------------------------------------------------------------------ lr_drops and the figure


def test_lr_drops_examples():
    np.testing.assert_array_equal(lr_drops([1.0, 1.0, 0.5, 0.5, 0.25]), [2, 4])
    np.testing.assert_array_equal(lr_drops([0.1]), np.array([], dtype=np.int64))
    np.testing.assert_array_equal(lr_drops([0.1, 0.2, 0.1]), [2], err_msg="a rise is no drop")
    with pytest.raises(ValueError, match=r"shape \(E,\).*\(2, 2\)"):
        lr_drops(np.ones((2, 2)))


@given(st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=30))
def test_lr_drops_are_exactly_the_decreases(lrs):
    drops = set(lr_drops(lrs).tolist())
    for epoch in range(1, len(lrs)):
        assert (epoch in drops) == (lrs[epoch] < lrs[epoch - 1]), f"epoch {epoch} of {lrs}"


def test_schedule_figure_draws_the_runs_without_changing_them(problem):
    history = train_with_schedule(StepDecay(0.5, 0.5, 2), epochs=5, problem=problem)
    baseline = train_with_schedule(ConstantLR(0.5), epochs=5, problem=problem)
    saved = copy.deepcopy((history.history, baseline.history))
    fig = schedule_figure(history, baseline, title="step")
    rate_ax, loss_ax = fig.axes
    assert rate_ax.get_yscale() == loss_ax.get_yscale() == "log"
    assert rate_ax.get_title() == "step"
    rates = {tuple(line.get_ydata()) for line in rate_ax.get_lines()}
    assert rates == {tuple(history["lr"]), tuple(baseline["lr"])}
    labels = [text.get_text() for text in loss_ax.get_legend().get_texts()]
    assert labels == ["constant lr: train", "constant lr: val", "train",
                      f"validation (final {history['val_loss'][-1]:.3g})"]
    assert (history.history, baseline.history) == saved


def test_schedule_figure_update_replaces_everything_it_showed():
    figure = ScheduleFigure()
    first, base = fake_history(StepDecay(1.0, 0.5, 2).curve(7)), fake_history([1.0] * 7, 2.0)
    figure.update(first, base, "first")
    assert [len(marks.get_segments()) for marks in figure.drop_marks] == [3, 3], (
        "drops at epochs 2, 4, 6, marked in both panels")
    second = fake_history(StepDecay(0.1, 0.1, 3).curve(4), 3.0)
    figure.update(second)
    fresh = ScheduleFigure()
    fresh.update(second)
    assert drawn(figure).keys() == drawn(fresh).keys() == {"train", "validation (final 0.9)"}
    for label, ydata in drawn(fresh).items():
        np.testing.assert_array_equal(drawn(figure)[label], ydata, err_msg=label)
    np.testing.assert_array_equal(figure.drop_marks[0].get_segments(), [[[3, 0], [3, 1]]])
    assert figure.rate_ax.get_title() == "learning rate per epoch"
    assert figure.rate_ax.get_xlim() == fresh.rate_ax.get_xlim()
    assert figure_png(figure.fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_schedule_figure_does_not_mark_a_smooth_decay():
    figure = ScheduleFigure()
    figure.update(fake_history(ExponentialDecay(1.0, 0.8).curve(MAX_MARKED_DROPS + 3)))
    marks = [len(collection.get_segments()) for collection in figure.drop_marks]
    assert marks == [0, 0], f"{marks} drop markers drawn for a rate that drops every epoch"


# ------------------------------------------------------------------ the explorer


def test_explorer_constructs_sets_and_reuses_runs(problem):
    explorer = ScheduleExplorer(problem)
    explorer.set(kind="plateau", patience=2, epochs=5)
    assert explorer.values()["kind"] == "plateau"
    disabled = {name for name, control in explorer.controls.items() if control.disabled}
    assert disabled == {"every", "staircase"}, "controls plateau ignores are greyed out"
    settings = explorer.values()
    run = explorer.run("plateau", 5, settings)
    assert explorer.run("plateau", 5, {**settings, "every": 17}) is run, (
        "a setting the schedule ignores must reuse the run")
    assert explorer.run("plateau", 5, {**settings, "patience": 3}) is not run
    shown = {tuple(line.get_ydata()) for line in explorer.figure.rate_ax.get_lines()}
    assert tuple(run["lr"]) in shown, "the figure shows the rates of the chosen run"
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
