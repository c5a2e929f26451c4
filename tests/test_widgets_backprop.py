"""Tests for week14.widgets.backprop: decision grids, training snapshots and the explorer.

Slide: "Backpropagation". Everything here runs headless (matplotlib's Agg backend).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from week14 import activations
from week14.data import two_moons
from week14.layers import Dense
from week14.model import Sequential
from week14.optimizers import SGD
from week14.training import History, Trainer
from week14.widgets import backprop
from week14.widgets.backprop import (
    BackpropExplorer,
    BoundaryRecorder,
    TrainingSnapshots,
    data_limits,
    decision_grid,
    moons_classifier,
    plot_snapshots,
    train_snapshots,
)

matplotlib.use("Agg")


def moons(n: int = 80, rng: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return two_moons(n, noise=0.2, rng=rng)


def linear_model(columns: np.ndarray, bias: np.ndarray) -> Sequential:
    """A single Dense(2, k) layer with the given weights: logits = x @ columns + bias."""
    layer = Dense(2, columns.shape[1], weight_init="zeros")
    layer.params["W"][...] = columns
    layer.params["b"][...] = bias
    return Sequential([layer])


# ------------------------------------------------------------------ decision_grid


def test_decision_grid_two_logits_is_softmax_of_class_one():
    # logits (0, 2x - y + 0.5): P(class 1) = softmax(...)[1] = σ(2x - y + 0.5)
    model = linear_model(np.array([[0.0, 2.0], [0.0, -1.0]]), np.array([0.0, 0.5]))
    xx, yy, probs = decision_grid(model, (-1.0, 2.0), (0.0, 1.0), n=7)
    assert xx.shape == yy.shape == probs.shape == (7, 7)
    np.testing.assert_allclose(xx[0], np.linspace(-1.0, 2.0, 7), err_msg="x runs along axis 1")
    np.testing.assert_allclose(yy[:, 0], np.linspace(0.0, 1.0, 7), err_msg="y runs along axis 0")
    np.testing.assert_allclose(probs, activations.sigmoid(2 * xx - yy + 0.5), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.1, 1.0, 1e3]))
def test_decision_grid_probabilities_lie_in_0_1_even_for_huge_logits(seed, scale):
    model = moons_classifier(4, "tanh", rng=seed)
    for layer in model.layers:
        for value in layer.params.values():
            value *= scale
    _, _, probs = decision_grid(model, (-2.0, 3.0), (-1.5, 2.0), n=9)
    assert np.all((probs >= 0.0) & (probs <= 1.0)), f"probabilities outside [0, 1]: {probs}"


def test_decision_grid_keeps_the_models_caches_for_backward():
    model = moons_classifier(3, "sigmoid", rng=0)
    x = np.array([[0.5, -0.5]])
    model.forward(x)
    cache_before = model.layers[0].cache.copy()
    decision_grid(model, (0.0, 1.0), (0.0, 1.0), n=4)
    np.testing.assert_array_equal(model.layers[0].cache, cache_before)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"xlim": (1.0, 1.0)}, ValueError,
         "decision_grid expected xlim = (low, high) with finite low < high, got (1.0, 1.0)"),
        ({"ylim": (2.0, -2.0)}, ValueError,
         "decision_grid expected ylim = (low, high) with finite low < high"),
        ({"xlim": 3.0}, TypeError, "decision_grid expected xlim to be a pair (low, high)"),
        ({"n": 1}, ValueError, "decision_grid expected n >= 2, got 1"),
        ({"n": 2.5}, TypeError, "decision_grid expected n to be an int, got float 2.5"),
    ],
)
def test_decision_grid_rejects_bad_grids(kwargs, error, message):
    args = {"xlim": (0.0, 1.0), "ylim": (0.0, 1.0), "n": 5} | kwargs
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        decision_grid(moons_classifier(2, rng=0), **args)


@pytest.mark.parametrize("outputs", [1, 3])
def test_decision_grid_rejects_models_without_two_logits(outputs):
    model = linear_model(np.ones((2, outputs)), np.zeros(outputs))
    with pytest.raises(ValueError, match=rf"\(shape \(16, 2\)\), got shape \(16, {outputs}\)"):
        decision_grid(model, (0.0, 1.0), (0.0, 1.0), n=4)


def test_data_limits_pad_the_data_range():
    X = np.array([[0.0, -1.0], [2.0, 3.0], [1.0, 0.0]])
    assert data_limits(X, margin=0.5) == ((-0.5, 2.5), (-1.5, 3.5))
    with pytest.raises(ValueError, match=r"shape \(N, 2\), got shape \(3,\)"):
        data_limits(np.zeros(3))
    with pytest.raises(ValueError, match="data_limits expected margin >= 0, got -1.0"):
        data_limits(X, margin=-1)


# ------------------------------------------------------------------ training snapshots


def test_moons_classifier_has_two_logits_and_is_seeded():
    a, b = moons_classifier(5, "relu", rng=3), moons_classifier(5, "relu", rng=3)
    assert [type(layer).__name__ for layer in a.layers] == ["Dense", "ReLU", "Dense"]
    assert a.forward(np.zeros((4, 2))).shape == (4, 2)
    for key, value in a.parameters().items():
        np.testing.assert_array_equal(value, b.parameters()[key], err_msg=key)


def test_recorder_keeps_the_untrained_grid_and_one_per_epoch():
    X, y = moons(40)
    model = moons_classifier(4, rng=1)
    _, _, untrained = decision_grid(model, (-1.0, 2.0), (-1.0, 1.5), n=6)
    recorder = BoundaryRecorder((-1.0, 2.0), (-1.0, 1.5), n=6)
    trainer = Trainer(model, optimizer=SGD(0.5), callbacks=[recorder], progress=False)
    trainer.fit(X, y, epochs=3)
    assert len(recorder.probs) == 4, "one grid before training and one after each epoch"
    np.testing.assert_array_equal(recorder.probs[0], untrained)
    _, _, trained = decision_grid(model, (-1.0, 2.0), (-1.0, 1.5), n=6)
    np.testing.assert_array_equal(recorder.probs[-1], trained)
    history = trainer.fit(X, y, epochs=2)
    assert len(recorder.probs) == 3, "a new fit starts a new recording"
    run = TrainingSnapshots.from_fit(X, y, recorder, history)
    np.testing.assert_array_equal(run.probs[-1], recorder.probs[-1])
    np.testing.assert_array_equal(run.loss, history["loss"])
    other = History()
    for epoch in range(5):
        other.record(epoch, {"loss": 1.0, "accuracy": 0.5})
    with pytest.raises(ValueError, match="the recorder holds 3 grids but the history 5"):
        TrainingSnapshots.from_fit(X, y, recorder, other)


def test_train_snapshots_learns_the_moons():
    X, y = moons(200)
    run = train_snapshots(X, y, hidden_units=8, activation="tanh", lr=1.0, epochs=60,
                          grid_size=20, seed=0)
    assert run.epochs == 60
    assert run.probs.shape == (61, 20, 20) and run.xx.shape == (20, 20)
    assert run.loss.shape == run.accuracy.shape == (60,)
    assert run.loss[-1] < 0.5 * run.loss[0], f"loss did not halve: {run.loss[[0, -1]]}"
    assert run.accuracy[-1] >= 0.95, f"final training accuracy {run.accuracy[-1]:.3f}"
    # The last grid classifies the training points as well as the history says.
    xlim, ylim = data_limits(X)
    col = np.clip(np.round((X[:, 0] - xlim[0]) / (xlim[1] - xlim[0]) * 19), 0, 19).astype(int)
    row = np.clip(np.round((X[:, 1] - ylim[0]) / (ylim[1] - ylim[0]) * 19), 0, 19).astype(int)
    grid_accuracy = np.mean((run.probs[-1][row, col] >= 0.5) == y)
    assert grid_accuracy >= 0.9, f"accuracy read off the last grid: {grid_accuracy:.3f}"


def test_train_snapshots_is_reproducible_and_matches_a_trainer_run():
    X, y = moons(50, rng=2)
    first = train_snapshots(X, y, hidden_units=3, lr=1.0, epochs=4, grid_size=8, seed=5)
    again = train_snapshots(X, y, hidden_units=3, lr=1.0, epochs=4, grid_size=8, seed=5)
    np.testing.assert_array_equal(first.probs, again.probs)
    np.testing.assert_array_equal(first.loss, again.loss)

    model = moons_classifier(3, "tanh", rng=5)
    history = Trainer(model, optimizer=SGD(1.0), seed=5, progress=False).fit(X, y, epochs=4)
    _, _, probs = decision_grid(model, *data_limits(X), n=8)
    np.testing.assert_allclose(first.probs[-1], probs, rtol=1e-12)
    np.testing.assert_allclose(first.loss, history["loss"], rtol=1e-12)


def test_plot_snapshots_draws_one_panel_per_epoch():
    import matplotlib.pyplot as plt

    X, y = moons(30)
    run = train_snapshots(X, y, epochs=3, grid_size=10)
    fig = plot_snapshots(run, [0, 1, 3])
    try:
        assert len(fig.axes) == 3
        assert [ax.get_title().splitlines()[0] for ax in fig.axes] == [
            "epoch 0", "epoch 1", "epoch 3"]
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match=r"epochs \[4\] not in 0..3"):
        plot_snapshots(run, [0, 4])


# ------------------------------------------------------------------ the explorer


def test_explorer_trains_each_setting_once(monkeypatch):
    calls: list[tuple] = []
    real = backprop.train_snapshots

    def counting(*args, **kwargs):
        calls.append((kwargs["hidden_units"], kwargs["activation"], kwargs["lr"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(backprop, "train_snapshots", counting)
    X, y = moons(30)
    explorer = BackpropExplorer(X, y, epochs=5)
    assert calls == [(8, "tanh", 1.0)], "the first render trains the default setting"
    explorer.set(epoch=2)
    explorer.set(epoch=0)
    assert len(calls) == 1, "moving the epoch slider must not retrain"
    explorer.set(hidden_units=2, lr=0.3, activation="sigmoid")
    assert calls[-1] == (2, "sigmoid", 0.3) and len(calls) == 2
    explorer.set(hidden_units=8, lr=1.0, activation="tanh", epoch=5)
    assert len(calls) == 2, "a setting seen before is reused"
    assert explorer.values()["epoch"] == 5


def test_explorer_rejects_unknown_controls():
    X, y = moons(20)
    explorer = BackpropExplorer(X, y, epochs=2)
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(learning_rate=0.1)


def test_explorer_defaults_to_the_two_moons_data():
    explorer = BackpropExplorer(epochs=2)
    assert explorer.X.shape == (200, 2) and set(np.unique(explorer.y)) == {0, 1}


def test_plot_boundary_draws_a_network_without_a_boundary_in_view():
    # An untrained network can be on one side of 0.5 everywhere: no contour to draw.
    import matplotlib.pyplot as plt

    xx, yy = np.meshgrid(np.linspace(0.0, 1.0, 4), np.linspace(-1.0, 0.0, 4))
    fig, ax = plt.subplots()
    try:
        backprop.plot_boundary(ax, xx, yy, np.full((4, 4), 0.3), np.zeros((1, 2)), np.zeros(1))
        assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (-1.0, 0.0)
    finally:
        plt.close(fig)
