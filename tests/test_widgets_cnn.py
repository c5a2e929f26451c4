"""Tests for week14.widgets.cnn: the numbers behind the CNN explorer and notebook 10."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from week14.cnn import digits_cnn
from week14.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Tanh
from week14.model import Sequential
from week14.widgets import cnn as view

MODEL = digits_cnn(rng=0)
IMAGES = np.random.default_rng(10).uniform(0, 1, size=(6, 1, 8, 8)).astype(np.float32)
LABELS = np.array([0, 1, 2, 3, 4, 5])


# ----------------------------------------------------------------- layers and outputs


def test_feature_map_layers_of_the_digits_cnn():
    assert view.feature_map_layers(MODEL) == [
        ("conv1 + ReLU", 1), ("pool1", 2), ("conv2 + ReLU", 4), ("pool2", 5)]


def test_feature_map_layers_without_activation_and_with_average_pooling():
    model = Sequential([Conv2D(1, 2, 3), AvgPool2D(2), Conv2D(2, 2, 1), Tanh(), Flatten()])
    assert view.feature_map_layers(model) == [("conv1", 0), ("pool1", 1), ("conv2 + Tanh", 3)]
    assert view.feature_map_layers(Sequential([Dense(3, 2), ReLU()])) == []


def test_layer_outputs_follow_the_network_and_end_with_its_prediction():
    outputs = view.layer_outputs(MODEL, IMAGES)
    shapes = [out.shape for out in outputs]
    assert shapes == [(6, 16, 8, 8), (6, 16, 8, 8), (6, 16, 4, 4), (6, 32, 4, 4),
                      (6, 32, 4, 4), (6, 32, 2, 2), (6, 128), (6, 10)]
    np.testing.assert_allclose(outputs[-1], MODEL.predict(IMAGES), rtol=1e-6)
    assert np.all(outputs[1] >= 0) and np.array_equal(outputs[1], np.maximum(outputs[0], 0))
    for i in (0, 2, 5):
        np.testing.assert_array_equal(view.feature_maps(MODEL, IMAGES, i), outputs[i])


def test_looking_inside_does_not_disturb_a_forward_backward_pair():
    model = digits_cnn(rng=1, dtype=np.float64)
    x = IMAGES.astype(np.float64)
    grad = np.ones((6, 10))
    model.forward(x)
    model.backward(grad)
    expected = {k: v.copy() for k, v in model.gradients().items()}
    model.forward(x)
    view.layer_outputs(model, x[:2] * 3)  # another batch in between
    model.backward(grad)
    for key, value in model.gradients().items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


@pytest.mark.parametrize(
    "index, error, message",
    [(8, IndexError, r"layer_index in 0\.\.7 \(the model has 8 layers\), got 8"),
     (-1, IndexError, "got -1"),
     (1.0, TypeError, "feature_maps expected layer_index to be an int, got float")],
)
def test_feature_maps_rejects_a_bad_layer_index(index, error, message):
    with pytest.raises(error, match=message):
        view.feature_maps(MODEL, IMAGES, index)


def test_layer_outputs_needs_a_batch():
    with pytest.raises(ValueError, match=r"batch of inputs of shape \(N, ...\).*got shape \(8,\)"):
        view.layer_outputs(MODEL, np.zeros(8))


# ----------------------------------------------------------------- shape table


def test_shape_table_of_the_digits_cnn():
    rows = view.shape_table(MODEL, (1, 8, 8))
    assert [(r.index, r.output_shape, r.weights, r.dense_weights, r.receptive_field)
            for r in rows] == [
        (None, (1, 8, 8), 0, None, (1, 1)),
        (0, (16, 8, 8), 16 * 9 + 16, (64 + 1) * 1024, (3, 3)),
        (1, (16, 8, 8), 0, None, (3, 3)),
        (2, (16, 4, 4), 0, None, (4, 4)),
        (3, (32, 4, 4), 32 * 16 * 9 + 32, (256 + 1) * 512, (8, 8)),
        (4, (32, 4, 4), 0, None, (8, 8)),
        (5, (32, 2, 2), 0, None, (10, 10)),
        (6, (128,), 0, None, (10, 10)),
        (7, (10,), 1290, 1290, None),
    ]
    assert sum(r.weights for r in rows) == sum(v.size for v in MODEL.parameters().values())
    assert [r.layer for r in rows[:4]] == [
        "input", "Conv2D 1→16, 3×3, pad 1", "ReLU", "MaxPool2D 2×2"]
    assert rows[-1].layer == "Dense 128→10"


def test_format_shape_table_has_a_line_per_layer_and_the_totals():
    text = view.format_shape_table(view.shape_table(MODEL, (1, 8, 8)))
    lines = text.splitlines()
    assert len(lines) == 1 + 1 + 9 + 1 + 1, text
    assert lines[0].split() == ["#", "layer", "output", "shape", "weights", "as", "Dense", "sees"]
    assert "(N, 16, 8, 8)" in lines[3] and "66,560" in lines[3] and lines[3].endswith("3×3")
    assert lines[-1].split() == ["total", "6,090", "199,434"]
    assert lines[-3].endswith("all")


def test_describe_names_stride_and_padding_only_when_they_matter():
    model = Sequential([Conv2D(3, 4, (3, 5), stride=2), MaxPool2D(3, stride=1)])
    rows = view.shape_table(model, (3, 11, 11))
    assert [r.layer for r in rows[1:]] == ["Conv2D 3→4, 3×5, stride 2", "MaxPool2D 3×3, stride 1"]


@given(
    stack=st.lists(
        st.tuples(st.sampled_from(["conv", "pool"]), st.integers(1, 3), st.integers(1, 2)),
        min_size=1, max_size=4),
)
def test_receptive_field_is_the_set_of_input_pixels_that_reach_an_output(stack):
    """One output value's gradient reaches exactly its receptive field of the input
    (positive weights and inputs, average pooling: nothing cancels, nothing is dropped)."""
    layers = [Conv2D(1, 1, k, stride=s, weight_init="ones") if kind == "conv"
              else AvgPool2D(k, stride=s) for kind, k, s in stack]
    model = Sequential(layers)
    x = np.ones((1, 1, 40, 40))
    out = model.forward(x)
    grad = np.zeros_like(out)
    grad[0, 0, 0, 0] = 1.0
    reached = np.argwhere(model.backward(grad)[0, 0] != 0)
    field = tuple(int(n) for n in reached.max(axis=0) + 1)
    assert reached.min(axis=0).tolist() == [0, 0]
    assert view.shape_table(model, (1, 40, 40))[-1].receptive_field == field


# ----------------------------------------------------------------- probabilities, mistakes


def test_predict_proba_is_the_softmax_of_the_scores():
    probs = view.predict_proba(MODEL, IMAGES)
    assert probs.shape == (6, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(probs > 0)
    np.testing.assert_array_equal(probs.argmax(axis=1), MODEL.predict(IMAGES).argmax(axis=1))


def test_most_confused_lists_the_largest_mistakes_first():
    matrix = np.array([[9, 2, 0], [0, 7, 5], [2, 0, 8]])
    assert view.most_confused(matrix) == [(1, 2, 5), (0, 1, 2), (2, 0, 2)]
    assert view.most_confused(matrix, k=1) == [(1, 2, 5)]
    assert view.most_confused(np.diag([3, 4])) == []
    with pytest.raises(ValueError, match="square matrix"):
        view.most_confused(np.ones((2, 3)))


# ----------------------------------------------------------------- mosaic and explorer


@given(count=st.integers(1, 20), columns=st.integers(1, 9), h=st.integers(1, 4),
       w=st.integers(1, 4), gap=st.integers(0, 2))
def test_tile_maps_places_every_map_and_fills_the_rest_with_nan(count, columns, h, w, gap):
    maps = np.arange(count * h * w, dtype=np.float64).reshape(count, h, w)
    mosaic = view.tile_maps(maps, columns, gap)
    cols = min(columns, count)
    rows = -(-count // cols)
    assert mosaic.shape == (rows * (h + gap) - gap, cols * (w + gap) - gap)
    for c in range(count):
        r, k = divmod(c, cols)
        top, left = r * (h + gap), k * (w + gap)
        np.testing.assert_array_equal(mosaic[top:top + h, left:left + w], maps[c])
    assert np.isnan(mosaic).sum() == mosaic.size - maps.size, "gaps and empty cells are NaN"


def test_tile_maps_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"shape \(C, h, w\) with C >= 1, got shape \(4, 4\)"):
        view.tile_maps(np.ones((4, 4)))
    with pytest.raises(ValueError, match="tile_maps expected columns >= 1, got 0"):
        view.tile_maps(np.ones((2, 3, 3)), columns=0)


def test_explorer_shows_a_digit_and_switches_layers(capsys):
    explorer = view.CNNExplorer(MODEL, IMAGES, LABELS)
    out = capsys.readouterr().out
    guess = int(MODEL.predict(IMAGES[:1]).argmax())
    assert f"digit #0: predicted {guess} with probability" in out, out
    assert [value for _, value in explorer.controls["layer"].options] == [1, 2, 4, 5]
    assert explorer.controls["index"].max == 5
    explorer.set(index=3, layer=4)
    out = capsys.readouterr().out
    assert "digit #3:" in out and "true 3" in out, out
    wrong = int((MODEL.predict(IMAGES).argmax(axis=1) != LABELS).sum())
    if wrong:
        assert f"gets {wrong} of 6 digits wrong" in out


def test_explorer_rejects_mismatched_labels_and_models_without_maps():
    with pytest.raises(ValueError, match=r"one label per image, shape \(6,\), got shape \(5,\)"):
        view.CNNExplorer(MODEL, IMAGES, LABELS[:5])
    with pytest.raises(ValueError, match="Conv2D or pooling layers"):
        view.CNNExplorer(Sequential([Flatten(), Dense(64, 10)]), IMAGES, LABELS)
