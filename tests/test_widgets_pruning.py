"""Tests for week14.widgets.pruning: masks by scope, pruned copies, accuracy after pruning,
thresholds, the figure and the explorer (slide: "Lottery ticket hypothesis"). Headless (Agg);
small synthetic problems keep them fast."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14.data import Split
from week14.layers import Dense, ReLU
from week14.metrics import accuracy
from week14.model import Sequential
from week14.pruning import global_masks, layerwise_masks, magnitude_mask
from week14.widgets.pruning import (
    CURVE_FRACTIONS,
    SCOPES,
    PruningExplorer,
    accuracy_after_pruning,
    accuracy_curve,
    pruned_copy,
    pruned_threshold,
    pruning_figure,
    pruning_masks,
    train_digits_mlp,
)

matplotlib.use("Agg")


def blobs(n: int = 90, n_features: int = 6, n_classes: int = 3, seed: int = 0):
    """Well-separated Gaussian blobs: labels (N,) and features (N, n_features)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    centres = 4 * rng.normal(size=(n_classes, n_features))
    return centres[y] + rng.normal(size=(n, n_features)), y


@pytest.fixture(scope="module")
def problem():
    X, y = blobs()
    return Split(X, y, X[:0], y[:0], X, y)


@pytest.fixture(scope="module")
def model(problem):
    return train_digits_mlp(problem, hidden=8, epochs=15, rng=0)


def params_copy(model):
    return {key: value.copy() for key, value in model.parameters().items()}


# ------------------------------------------------------------------ training


def test_train_digits_mlp_builds_and_trains_the_explorer_network(problem, model):
    shapes = {key: value.shape for key, value in model.parameters().items()}
    assert shapes == {"0.W": (6, 8), "0.b": (8,), "2.W": (8, 3), "2.b": (3,)}
    assert isinstance(model.layers[1], ReLU)
    assert accuracy(model.predict(problem.X_test), problem.y_test) > 0.9, (
        "separable blobs should be learnt in 15 epochs")
    again = train_digits_mlp(problem, hidden=8, epochs=15, rng=0)
    for key, value in model.parameters().items():
        np.testing.assert_array_equal(again.parameters()[key], value,
                                      err_msg=f"{key}: the same seed must give the same network")


# ------------------------------------------------------------------ masks and copies


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.75, 1.0])
def test_pruning_masks_follow_the_library_per_scope(model, fraction):
    weights = {"0.W": model.parameters()["0.W"], "2.W": model.parameters()["2.W"]}
    for scope, reference in (("layerwise", layerwise_masks), ("global", global_masks)):
        masks = pruning_masks(model, fraction, scope)
        expected = reference(weights, fraction)
        assert masks.keys() == expected.keys() == {"0.W", "2.W"}, "only W arrays are pruned"
        for key in masks:
            np.testing.assert_array_equal(masks[key], expected[key], err_msg=f"{scope} {key}")
    layer = pruning_masks(model, fraction, "layerwise")
    for key, w in weights.items():
        assert layer[key].sum() == w.size - round(fraction * w.size), (
            f"per layer, {key} must lose round(fraction · size) weights")
    total = sum(w.size for w in weights.values())
    kept = sum(m.sum() for m in pruning_masks(model, fraction, "global").values())
    assert kept == total - round(fraction * total), "globally, round(fraction · total) go"


def test_pruning_masks_reject_an_unknown_scope(model):
    with pytest.raises(ValueError, match=r"pruning_masks expected scope to be one of "
                                         r"\['layerwise', 'global'\], got 'per-neuron'"):
        pruning_masks(model, 0.5, "per-neuron")  # type: ignore[arg-type]


def test_pruned_copy_zeroes_the_pruned_weights_and_leaves_the_model_alone(model):
    before = params_copy(model)
    pruned = pruned_copy(model, 0.6, "global")
    masks = pruning_masks(model, 0.6, "global")
    for key, value in model.parameters().items():
        np.testing.assert_array_equal(value, before[key], err_msg=f"{key} of the model changed")
    for key, value in pruned.parameters().items():
        if key in masks:
            assert np.all(value[~masks[key]] == 0), f"{key}: pruned weights must be exactly 0"
            np.testing.assert_array_equal(value[masks[key]], before[key][masks[key]])
        else:
            np.testing.assert_array_equal(value, before[key], err_msg=f"{key}: biases are kept")


# ------------------------------------------------------------------ accuracy


def test_accuracy_after_pruning_nothing_is_the_models_accuracy(problem, model):
    expected = accuracy(model.predict(problem.X_test), problem.y_test)
    for scope in SCOPES:
        assert accuracy_after_pruning(model, problem.X_test, problem.y_test, 0.0, scope) == (
            expected)


def test_accuracy_after_pruning_everything_leaves_the_output_bias():
    # All weights gone: the output is b2 for every input, so the predicted class is
    # argmax(b2) and the accuracy is that class's share of the labels.
    model = Sequential([Dense(2, 3, rng=0), ReLU(), Dense(3, 4, rng=1)])
    model.parameters()["2.b"][...] = [0.0, 0.3, 0.1, -1.0]
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = np.array([1, 1, 1, 0, 2, 3, 3, 0, 2, 2])
    for scope in SCOPES:
        assert accuracy_after_pruning(model, X, y, 1.0, scope) == pytest.approx(0.3)


def test_accuracy_after_pruning_only_loses_what_the_pruned_weights_carried():
    # One big weight per layer carries the signal (class 0 iff x1 > 0.4); the other ten
    # weights are tiny or zero. Pruning the small ones changes no prediction; pruning
    # the big output weight too leaves only the biases, which say "class 1".
    model = Sequential([Dense(2, 3, rng=0), ReLU(), Dense(3, 2, rng=0)])
    params = model.parameters()
    params["0.W"][...] = [[5.0, 1e-3, -1e-3], [1e-3, 2e-3, -2e-3]]
    params["2.W"][...] = [[4.0, 0.0], [1e-3, 0.0], [0.0, 1e-3]]
    params["0.b"][...] = [-1.0, 0.0, 0.0]
    params["2.b"][...] = [-2.0, 2.0]
    X = np.array([[0.1, 0.3], [0.2, -1.0], [0.9, 0.5], [1.5, -0.2]])
    y = np.array([1, 1, 0, 0])
    assert accuracy(model.predict(X), y) == 1.0
    assert accuracy_after_pruning(model, X, y, 5 / 6, "layerwise") == 1.0, (
        "5 of 6 per layer: each layer keeps exactly its big weight")
    assert accuracy_after_pruning(model, X, y, 10 / 12, "global") == 1.0, (
        "the 10 smallest of 12 weights are the small ones")
    assert accuracy_after_pruning(model, X, y, 11 / 12, "global") == 0.5, (
        "the 11th smallest is the output's 4.0, and without it every prediction is class 1")


def test_accuracy_curve_is_the_pointwise_accuracy(problem, model):
    fractions = [0.0, 0.5, 0.9, 1.0]
    curve = accuracy_curve(model, problem.X_test, problem.y_test, fractions, "layerwise")
    assert curve.shape == (4,)
    expected = [accuracy_after_pruning(model, problem.X_test, problem.y_test, f, "layerwise")
                for f in fractions]
    np.testing.assert_array_equal(curve, expected)
    with pytest.raises(ValueError, match=r"accuracy_curve expected fractions to be a 1-D"
                                         r".*\(2, 2\)"):
        accuracy_curve(model, problem.X_test, problem.y_test, [[0.1, 0.2], [0.3, 0.4]])


# ------------------------------------------------------------------ thresholds


def test_pruned_threshold_examples():
    w = np.array([[0.5, -0.1], [0.3, -2.0]])
    assert pruned_threshold(w, magnitude_mask(w, 0.5)) == 0.3
    assert pruned_threshold(w, magnitude_mask(w, 0.25)) == 0.1
    assert np.isnan(pruned_threshold(w, np.ones((2, 2), dtype=bool))), "nothing pruned: NaN"
    with pytest.raises(ValueError, match=r"pruned_threshold expected mask of the weights' "
                                         r"shape \(2, 2\), got shape \(4,\)"):
        pruned_threshold(w, np.ones(4, dtype=bool))
    with pytest.raises(TypeError, match="pruned_threshold expected mask to be a boolean .*got "
                                        "dtype int64"):
        pruned_threshold(w, np.ones((2, 2), dtype=np.int64))


@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
               elements=st.floats(-10, 10, allow_nan=False, width=64)),
    st.floats(0.01, 1.0),
)
def test_pruned_threshold_separates_pruned_from_kept(weights, fraction):
    mask = magnitude_mask(weights, fraction)
    threshold = pruned_threshold(weights, mask)
    if mask.all():
        assert np.isnan(threshold)
        return
    assert np.all(np.abs(weights[~mask]) <= threshold), "a pruned weight above the threshold"
    assert np.all(np.abs(weights[mask]) >= threshold), "a kept weight below the threshold"


# ------------------------------------------------------------------ figure and explorer


def test_pruning_figure_draws_curves_point_and_histograms(problem, model):
    import matplotlib.pyplot as plt

    before = params_copy(model)
    fig = pruning_figure(model, problem.X_test, problem.y_test, 0.5, "layerwise")
    try:
        acc_ax, *hist_axes = fig.axes
        assert len(hist_axes) == 2, "one histogram per weight array"
        labels = [line.get_label() for line in acc_ax.get_lines()]
        current = accuracy_after_pruning(model, problem.X_test, problem.y_test, 0.5, "layerwise")
        assert {"per layer", "global", f"now: {current:.1%}"} <= set(labels)
        point = next(line for line in acc_ax.get_lines() if line.get_label().startswith("now"))
        np.testing.assert_allclose(point.get_xydata(), [[50.0, 100 * current]])
        assert hist_axes[0].get_title() == "0.W: 24 of 48 kept (50%)"
        dashed = [line for line in hist_axes[0].get_lines() if line.get_linestyle() == "--"]
        assert len(dashed) == 2, "threshold lines at ± the largest pruned magnitude"
    finally:
        plt.close(fig)
    for key, value in model.parameters().items():
        np.testing.assert_array_equal(value, before[key], err_msg=f"the figure changed {key}")


def test_explorer_sets_controls_and_computes_each_curve_once(problem, model):
    explorer = PruningExplorer(model, problem.X_test, problem.y_test)
    first = {scope: explorer.curve(scope) for scope in SCOPES}
    assert first["global"].shape == CURVE_FRACTIONS.shape
    explorer.set(fraction=0.9, scope="layerwise")
    assert explorer.values() == {"fraction": 0.9, "scope": "layerwise"}
    assert all(explorer.curve(scope) is first[scope] for scope in SCOPES), (
        "the curves must be computed once and reused")
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(sparsity=0.5)
    with pytest.raises(ValueError, match="PruningExplorer expected both X and y, or neither"):
        PruningExplorer(model, problem.X_test)


def test_explorer_uses_curves_it_is_given(problem, model):
    given_curve = np.linspace(1.0, 0.1, CURVE_FRACTIONS.size)
    explorer = PruningExplorer(model, problem.X_test, problem.y_test,
                               curves={"global": given_curve})
    np.testing.assert_array_equal(explorer.curve("global"), given_curve)
    expected = accuracy_curve(model, problem.X_test, problem.y_test, CURVE_FRACTIONS,
                              "layerwise")
    np.testing.assert_array_equal(explorer.curve("layerwise"), expected,
                                  err_msg="a scope not given is computed")
    with pytest.raises(ValueError, match=r"PruningExplorer expected curves\['global'\] to hold "
                                         "one accuracy per"):
        PruningExplorer(model, problem.X_test, problem.y_test, curves={"global": [0.5, 0.4]})
    with pytest.raises(ValueError, match="PruningExplorer expected each key of curves to be one "
                                         "of"):
        PruningExplorer(model, problem.X_test, problem.y_test,
                        curves={"neurons": given_curve})
