"""Tests for week14.widgets.feedforward: layer-by-layer activations, neuron columns,
the network drawing and the explorer.

Slide: "Feedforward". Everything runs headless (matplotlib's Agg backend).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from week14 import activations
from week14.data import lecture_toy_network
from week14.layers import Dense, Flatten, ReLU, Sigmoid, Tanh
from week14.model import Sequential
from week14.widgets.feedforward import (
    FeedforwardExplorer,
    NeuronColumn,
    draw_network,
    layer_activations,
    neuron_columns,
)

matplotlib.use("Agg")


# ------------------------------------------------------------------ layer_activations


def test_toy_network_layer_by_layer_matches_the_lecture():
    outputs = layer_activations(lecture_toy_network(), np.array([[1.0, -1.0], [0.0, 0.0]]))
    assert len(outputs) == 7, "the input plus one output per layer (3 Dense + 3 Sigmoid)"
    np.testing.assert_array_equal(outputs[0], [[1.0, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(outputs[1][0], [4.0, -2.0], err_msg="layer 1 weighted sums")
    np.testing.assert_allclose(outputs[2][0], [0.98, 0.12], atol=0.005)
    np.testing.assert_allclose(outputs[4][0], [0.86, 0.11], atol=0.005)
    np.testing.assert_allclose(outputs[6], [[0.62, 0.83], [0.51, 0.85]], atol=0.005)


@st.composite
def dense_networks(draw) -> Sequential:
    """Random Dense networks with 1-3 layers, each followed by a random activation."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(Dense(n_in, n_out, rng=draw(st.integers(0, 2**16)),
                            bias_init="uniform"))
        layers.append(draw(st.sampled_from([Sigmoid, Tanh, ReLU]))())
        if i == 0 and draw(st.booleans()):
            layers.pop()  # sometimes a Dense layer without activation
    return Sequential(layers)


@settings(max_examples=30, deadline=None)
@given(dense_networks(), st.integers(1, 5), st.integers(0, 100))
def test_last_activation_is_the_models_prediction(model, n, seed):
    x = np.random.default_rng(seed).normal(size=(n, model.layers[0].in_features))
    outputs = layer_activations(model, x)
    np.testing.assert_allclose(outputs[-1], model.predict(x), rtol=1e-12)
    for i, layer in enumerate(model.layers):
        assert outputs[i + 1].shape[0] == n, f"layer {i} output lost the batch axis"
        np.testing.assert_allclose(outputs[i + 1], layer.forward(outputs[i]), rtol=1e-12)


def test_layer_activations_leaves_the_caches_alone():
    model = lecture_toy_network()
    x = np.array([[0.5, 0.25]])
    model.forward(x)
    caches = [layer.cache for layer in model.layers]
    layer_activations(model, np.array([[1.0, -1.0], [2.0, 3.0]]))
    assert all(layer.cache is cache for layer, cache in zip(model.layers, caches, strict=True)), \
        "layer_activations must restore every layer's cache"
    model.backward(np.ones((1, 2)))
    untouched = lecture_toy_network()
    untouched.forward(x)
    untouched.backward(np.ones((1, 2)))
    for key, grad in untouched.gradients().items():
        np.testing.assert_allclose(model.gradients()[key], grad, rtol=1e-12,
                                   err_msg=f"backward after layer_activations differs at {key}")


def test_layer_activations_wants_a_batch():
    with pytest.raises(ValueError, match=r"\(N, in_features\), got shape \(2,\).*x\[None, :\]"):
        layer_activations(lecture_toy_network(), np.array([1.0, -1.0]))


# ------------------------------------------------------------------ neuron_columns


def test_toy_network_columns():
    model = lecture_toy_network()
    columns = neuron_columns(model, np.array([1.0, -1.0]))
    assert [c.label for c in columns] == [
        "input", "layer 1 (sigmoid)", "layer 2 (sigmoid)", "layer 3 (sigmoid)"]
    assert columns[0].weighted_sums is None and columns[0].weights is None
    np.testing.assert_allclose(columns[1].weighted_sums, [4.0, -2.0])
    for column, dense in zip(columns[1:], model.layers[::2], strict=True):
        assert column.weights is dense.params["W"] and column.bias is dense.params["b"]
        np.testing.assert_allclose(column.values, activations.sigmoid(column.weighted_sums))
    np.testing.assert_allclose(columns[-1].values, [0.62, 0.83], atol=0.005)


def test_a_dense_layer_without_activation_passes_its_weighted_sums_on():
    dense = Dense(3, 1, weight_init="ones")
    columns = neuron_columns(Sequential([dense]), np.array([1.0, 2.0, 3.0]))
    assert [c.label for c in columns] == ["input", "layer 1"]
    np.testing.assert_allclose(columns[1].values, [6.0])
    np.testing.assert_allclose(columns[1].weighted_sums, [6.0])


def test_neuron_columns_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match=r"one example of shape \(in_features,\)"):
        neuron_columns(lecture_toy_network(), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="starts with a Dense layer, got Sigmoid"):
        neuron_columns(Sequential([Sigmoid(), Dense(2, 1)]), np.zeros(2))
    with pytest.raises(ValueError, match="got no layers"):
        neuron_columns(Sequential([]), np.zeros(2))
    with pytest.raises(TypeError, match="layer 1 is Flatten"):
        neuron_columns(Sequential([Dense(2, 2), Flatten()]), np.zeros(2))


# ------------------------------------------------------------------ draw_network


def test_drawing_shows_values_and_colours_edges_by_sign_and_size():
    import matplotlib.pyplot as plt

    columns = neuron_columns(lecture_toy_network(), np.array([1.0, -1.0]))
    fig, ax = plt.subplots()
    try:
        draw_network(columns, ax)
        texts = [t.get_text() for t in ax.texts]
        for value in ["1.00", "-1.00", "0.98", "0.12", "0.86", "0.11", "0.62", "0.83"]:
            assert value in texts, f"neuron value {value} missing from the drawing"
        assert "z = 4.00\nb = 1" in texts
        edges = ax.get_lines()
        assert len(edges) == 12, "3 layers x 2 x 2 weights"
        weights = np.concatenate([c.weights.ravel() for c in columns[1:]])
        red = [e for e in edges if e.get_color() == "C3"]
        assert len(red) == np.sum(weights < 0), "negative weights are drawn red"
        widths = np.array([e.get_linewidth() for e in edges])
        assert np.all(np.diff(widths[np.argsort(np.abs(weights), kind="stable")]) >= 0), \
            "a larger |weight| must never give a thinner edge"
        assert {"2", "-2", "4", "-1"} <= set(texts), "weights are labelled on the edges"
    finally:
        plt.close(fig)


def test_drawing_a_wider_network():
    import matplotlib.pyplot as plt

    model = Sequential([Dense(3, 4, rng=0), Tanh(), Dense(4, 1, rng=1)])
    fig, ax = plt.subplots()
    try:
        draw_network(neuron_columns(model, np.array([0.1, 0.2, 0.3])), ax)
        assert len(ax.get_lines()) == 3 * 4 + 4 * 1
        assert {"input", "layer 1 (tanh)", "layer 2"} <= {t.get_text() for t in ax.texts}
    finally:
        plt.close(fig)


def test_neuron_column_is_a_plain_record():
    column = NeuronColumn("input", np.zeros(2))
    assert column.weights is None and column.bias is None and column.weighted_sums is None


# ------------------------------------------------------------------ explorer


def test_explorer_starts_at_the_lectures_example(figures):
    explorer = FeedforwardExplorer()
    assert explorer.values() == {"x1": 1.0, "x2": -1.0}
    assert figures[-1].axes[0].get_title() == "f(1.00, -1.00) = (0.62, 0.83)"
    explorer.set(x1=0.0, x2=0.0)
    assert len(figures) == 2, "set() redraws exactly once"
    assert figures[-1].axes[0].get_title() == "f(0.00, 0.00) = (0.51, 0.85)"


def test_explorer_has_one_slider_per_input(figures):
    model = Sequential([Dense(3, 2, rng=0), Sigmoid()])
    explorer = FeedforwardExplorer(model, limit=2.0)
    assert list(explorer.controls) == ["x1", "x2", "x3"]
    assert explorer.controls["x3"].min == -2.0 and explorer.controls["x3"].max == 2.0
    explorer.set(x3=1.5)
    expected = model.predict(np.array([[0.0, 0.0, 1.5]]))[0]
    shown = ", ".join(f"{v:.2f}" for v in expected)
    assert figures[-1].axes[0].get_title() == f"f(0.00, 0.00, 1.50) = ({shown})"
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(x4=1.0)


def test_explorer_refuses_a_network_it_cannot_draw(figures):
    with pytest.raises(TypeError, match="Flatten"):
        FeedforwardExplorer(Sequential([Dense(2, 2), Flatten()]))
    assert figures == []
