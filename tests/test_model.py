"""Tests for week14.model.Sequential: passes, parameters, predict, save/load, display."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from week14.gradcheck import numerical_gradient, relative_error
from week14.layers import Conv2D, Dense, Flatten, Layer, ReLU, Sigmoid, Tanh
from week14.model import Sequential


def mlp(seed: int = 0, hidden: int = 4) -> Sequential:
    rng = np.random.default_rng(seed)
    first = Dense(3, hidden, bias_init="normal", rng=rng)
    return Sequential([first, Tanh(), Dense(hidden, 2, rng=rng), Sigmoid()])


def snapshot(model: Sequential) -> dict[str, np.ndarray]:
    return {key: value.copy() for key, value in model.parameters().items()}


def assert_same_parameters(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


# ---------------------------------------------------------------- forward / backward


def test_forward_applies_the_layers_in_order():
    model = mlp()
    x = np.linspace(-1, 1, 15).reshape(5, 3)
    expected = x
    for layer in model.layers:
        expected = layer.forward(expected)
    np.testing.assert_array_equal(model.forward(x), expected)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), hidden=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_backward_matches_numerical_gradients_of_every_parameter_and_the_input(n, hidden, seed):
    model = mlp(seed, hidden)
    rng = np.random.default_rng(seed)
    x, upstream = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))

    def loss(_: np.ndarray) -> float:
        return float(np.sum(model.forward(x) * upstream))

    numeric = {"x": numerical_gradient(loss, x)}
    numeric.update({key: numerical_gradient(loss, p) for key, p in model.parameters().items()})
    model.forward(x)
    analytic = {"x": model.backward(upstream), **model.gradients()}
    errors = {key: relative_error(analytic[key], numeric[key]) for key in numeric}
    assert max(errors.values()) < 1e-7, f"relative errors {errors}"


def test_an_empty_model_is_the_identity():
    x = np.arange(6.0).reshape(2, 3)
    model = Sequential([])
    np.testing.assert_array_equal(model.forward(x), x)
    np.testing.assert_array_equal(model.backward(x), x)
    assert model.parameters() == {} and repr(model) == "Sequential([])"


def test_layers_must_have_the_layer_interface():
    message = r"layer 1 \(ufunc\) has no forward, backward, params, grads"
    with pytest.raises(TypeError, match=message):
        Sequential([Dense(2, 2), np.tanh])


# ---------------------------------------------------------------- parameters / gradients


def test_parameter_keys_are_layer_index_and_name():
    model = Sequential([Dense(2, 3), ReLU(), Dense(3, 1)])
    assert list(model.parameters()) == ["0.W", "0.b", "2.W", "2.b"]
    assert list(model.gradients()) == ["0.W", "0.b", "2.W", "2.b"]


def test_parameters_are_the_layers_own_arrays_so_in_place_updates_reach_them():
    model = Sequential([Dense(2, 3), ReLU(), Dense(3, 1)])
    params = model.parameters()
    assert params["2.W"] is model.layers[2].params["W"]
    params["0.b"] += 1.0
    np.testing.assert_array_equal(model.layers[0].params["b"], np.ones(3))


def test_gradients_hold_the_last_backward():
    model = Sequential([Dense(2, 1, weight_init="ones")])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    model.forward(x)
    model.backward(np.ones((2, 1)))
    np.testing.assert_array_equal(model.gradients()["0.W"], [[4.0], [6.0]])
    np.testing.assert_array_equal(model.gradients()["0.b"], [2.0])


# ---------------------------------------------------------------- predict


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 50))
def test_predict_equals_forward_for_any_batch_size(n, batch_size):
    model = mlp()
    x = np.random.default_rng(n).normal(size=(n, 3))
    predicted = model.predict(x, batch_size=batch_size)
    assert predicted.shape == (n, 2)
    np.testing.assert_allclose(predicted, model.forward(x), rtol=1e-13)


def test_predict_keeps_no_caches_and_does_not_disturb_a_pending_backward():
    model = mlp()
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    fresh = Sequential([Dense(1, 1)])
    fresh.predict(np.ones((3, 1)))
    assert fresh.layers[0].cache is None, "predict left a cache behind"
    model.forward(x)
    expected_dx = model.backward(g)
    expected = {key: value.copy() for key, value in model.gradients().items()}
    model.forward(x)
    model.predict(rng.normal(size=(7, 3)), batch_size=2)
    np.testing.assert_array_equal(model.backward(g), expected_dx)
    assert_same_parameters(model.gradients(), expected)


def test_predict_works_through_flatten_with_image_batches():
    model = Sequential([Flatten(), Dense(4, 2, rng=0)])
    images = np.arange(24.0).reshape(6, 1, 2, 2)
    np.testing.assert_allclose(model.predict(images, batch_size=4), model.forward(images))


@pytest.mark.parametrize(
    "batch_size, error, message",
    [(0, ValueError, "Sequential.predict expected batch_size >= 1, got 0"),
     (2.0, TypeError, "batch_size to be an int, got float")],
)
def test_predict_rejects_bad_batch_sizes(batch_size, error, message):
    with pytest.raises(error, match=message):
        mlp().predict(np.zeros((2, 3)), batch_size=batch_size)


def test_predict_errors_from_layers_name_the_shapes():
    with pytest.raises(ValueError, match=r"3 features \(shape \(N, 3\)\), got shape \(2, 5\)"):
        mlp().predict(np.zeros((2, 5)))


# ---------------------------------------------------------------- save / load


def test_save_load_round_trip(tmp_path):
    path = tmp_path / "weights.npz"
    original = mlp(seed=1)
    original.save(path)
    restored = mlp(seed=2)
    assert not np.array_equal(restored.parameters()["0.W"], original.parameters()["0.W"])
    restored.load(path)
    assert_same_parameters(restored.parameters(), original.parameters())
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(restored.predict(x), original.predict(x))


def test_load_writes_into_the_existing_arrays(tmp_path):
    mlp(seed=1).save(tmp_path / "w.npz")
    model = mlp(seed=2)
    weight = model.layers[0].params["W"]
    model.load(tmp_path / "w.npz")
    assert model.layers[0].params["W"] is weight


def test_save_writes_exactly_the_given_path_and_holds_no_pickles(tmp_path):
    path = tmp_path / "checkpoint"  # no .npz suffix: np.savez would have added one
    mlp().save(path)
    assert path.exists() and not (tmp_path / "checkpoint.npz").exists()
    with np.load(path, allow_pickle=False) as archive:
        assert set(archive.files) == {"0.W", "0.b", "2.W", "2.b", "__architecture__"}
        record = json.loads(str(archive["__architecture__"]))
    assert [entry["layer"] for entry in record] == ["Dense", "Tanh", "Dense", "Sigmoid"]
    assert record[0]["params"] == {"W": [3, 4], "b": [4]}


def test_load_into_float32_model_casts(tmp_path):
    mlp().save(tmp_path / "w.npz")
    rng = np.random.default_rng(0)
    small = Sequential(
        [Dense(3, 4, rng=rng, dtype=np.float32), Tanh(), Dense(4, 2, dtype=np.float32), Sigmoid()]
    )
    small.load(tmp_path / "w.npz")
    assert small.parameters()["0.W"].dtype == np.float32
    np.testing.assert_allclose(small.parameters()["0.W"], mlp().parameters()["0.W"], rtol=1e-6)


class Scale(Layer):
    """A layer with a parameter named differently from Dense's."""

    def __init__(self) -> None:
        super().__init__()
        self.params = {"gamma": np.ones(4)}
        self.grads = {"gamma": np.zeros(4)}


@pytest.mark.parametrize(
    "other, message",
    [
        (Sequential([Dense(3, 4), ReLU(), Dense(4, 2), Sigmoid()]),
         r"layer 1 is Tanh in '.*w.npz' but ReLU in the model"),
        (Sequential([Dense(3, 5), Tanh(), Dense(5, 2), Sigmoid()]),
         r"parameter '0.W' has shape \(3, 4\) in '.*w.npz' but \(3, 5\) in the model"),
        (Sequential([Dense(3, 4), Tanh(), Dense(4, 2)]),
         r"holds the layers \['Dense', 'Tanh', 'Dense', 'Sigmoid'\] but the model has "
         r"\['Dense', 'Tanh', 'Dense'\]"),
    ],
    ids=["layer class", "shape", "layer count"],
)
def test_loading_into_a_different_architecture_says_what_differs(tmp_path, other, message):
    mlp().save(tmp_path / "w.npz")
    before = snapshot(other)
    with pytest.raises(ValueError, match=message):
        other.load(tmp_path / "w.npz")
    assert_same_parameters(other.parameters(), before)


def test_loading_with_different_parameter_names_says_which(tmp_path):
    impostor = type("Dense", (Scale,), {})  # same class name as week14's Dense, other params
    Sequential([impostor()]).save(tmp_path / "w.npz")
    model = Sequential([Dense(4, 4)])
    message = r"layer 0 \(Dense\) has parameters \['gamma'\] in .* but \['W', 'b'\] in the model"
    with pytest.raises(ValueError, match=message):
        model.load(tmp_path / "w.npz")


def write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def corrupt_files(tmp_path):
    """(file, expected message) pairs for files that load must reject."""
    good = tmp_path / "good.npz"
    mlp().save(good)
    data = good.read_bytes()
    flipped = bytearray(data)
    for i in range(100, 300, 7):  # inside the first member's data
        flipped[i] ^= 0xFF
    np.save(tmp_path / "array.npy", np.zeros(3))
    np.savez(tmp_path / "plain.npz", **{"0.W": np.zeros((3, 4))})
    arch = json.dumps([{"layer": "Dense", "params": {"W": [3, 4], "b": [4]}},
                       {"layer": "Tanh", "params": {}},
                       {"layer": "Dense", "params": {"W": [4, 2], "b": [2]}},
                       {"layer": "Sigmoid", "params": {}}])
    np.savez(tmp_path / "missing.npz", __architecture__=np.array(arch),
             **{"0.W": np.zeros((3, 4)), "0.b": np.zeros(4), "2.W": np.zeros((4, 2))})
    np.savez(tmp_path / "badrecord.npz", __architecture__=np.array("{not json"))
    return [
        (write_bytes(tmp_path / "text.npz", b"these are not weights"), "not an .npz archive"),
        (write_bytes(tmp_path / "truncated.npz", data[: len(data) // 2]), "not an .npz archive"),
        (write_bytes(tmp_path / "flipped.npz", bytes(flipped)), "corrupt .npz archive"),
        (tmp_path / "array.npy", "not an .npz archive"),
        (tmp_path / "plain.npz", "no '__architecture__' entry: it was not written by"),
        (tmp_path / "missing.npz", r"promises '2.b' of shape \(2,\), but the array is missing"),
        (tmp_path / "badrecord.npz", "unreadable architecture record"),
        (tmp_path / "absent.npz", "no such file"),
    ]


def test_corrupt_or_foreign_files_raise_naming_the_file_and_leave_the_model_alone(tmp_path):
    model = mlp(seed=3)
    before = snapshot(model)
    for path, message in corrupt_files(tmp_path):
        with pytest.raises(ValueError, match=message) as info:
            model.load(path)
        assert path.name in str(info.value), f"message does not name the file: {info.value}"
        assert_same_parameters(model.parameters(), before)


# ---------------------------------------------------------------- display


def test_summary_lists_layers_shapes_and_parameter_counts():
    text = Sequential([Dense(2, 3), Sigmoid(), Dense(3, 1)]).summary()
    lines = text.splitlines()
    assert "Dense(2, 3" in lines[2] and "W (2, 3), b (3,)" in lines[2] and lines[2].endswith("9")
    assert "Sigmoid()" in lines[3] and lines[3].endswith("0")
    assert lines[4].endswith("4")
    assert lines[-1] == "Total parameters: 13"


def test_summary_says_weights_set_for_layers_whose_weights_changed():
    model = Sequential([Conv2D(1, 2, 3, rng=0), Flatten(), Dense(2, 1, weight_init="zeros")])
    assert "weights set" not in model.summary()
    model.layers[0].params["W"][...] = 1.0
    model.layers[2].params["W"][...] = [[0.5], [-0.5]]
    lines = model.summary().splitlines()
    assert "Conv2D(1, 2, kernel_size=(3, 3), stride=1, padding=0, weights set" in lines[2]
    assert "Dense(2, 1, weights set, bias_init='zeros'" in lines[4]
    assert "weight_init" not in model.summary()


def test_repr_shows_each_layer():
    text = repr(Sequential([Dense(2, 3), ReLU()]))
    assert text.startswith("Sequential([\n    Dense(2, 3, ")
    assert text.endswith("    ReLU(),\n])")
