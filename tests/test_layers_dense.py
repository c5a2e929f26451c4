"""Tests for the Dense, activation and Flatten layers of week14.layers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14 import activations, data, initializers
from week14.gradcheck import check_layer
from week14.layers import (
    ACTIVATION_LAYERS,
    ELU,
    ActivationLayer,
    ArcTan,
    BinaryStep,
    Dense,
    Flatten,
    PReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
    activation_layer,
)

TOLERANCE = 1e-7  # gradient checks in float64; CS231n expects ~1e-8 or less
seeds = st.integers(0, 2**32 - 1)


def assert_gradients_ok(layer, x, seed):
    errors = check_layer(layer, x, rng=seed)
    bad = {name: err for name, err in errors.items() if not err < TOLERANCE}
    assert not bad, f"{layer!r} on input shape {np.shape(x)}: relative errors {bad} >= {TOLERANCE}"


def away_from_kinks(x: np.ndarray, margin: float = 1e-2) -> np.ndarray:
    """Move every entry at least ``margin`` away from 0, where ReLU & co. have kinks."""
    return x + margin * np.where(x >= 0, 1.0, -1.0)


# ---------------------------------------------------------------- Dense: forward


def test_dense_forward_is_x_at_w_plus_b_unit_by_unit():
    layer = Dense(3, 2)
    layer.params["W"][...] = np.linspace(-1, 1, 6).reshape(3, 2)
    layer.params["b"][...] = [0.5, -0.25]
    x = np.linspace(-2, 3, 12).reshape(4, 3)
    out = layer.forward(x)
    for n in range(4):
        for j in range(2):
            unit = sum(x[n, i] * layer.params["W"][i, j] for i in range(3)) + layer.params["b"][j]
            assert out[n, j] == pytest.approx(unit, rel=1e-14), f"sample {n}, unit {j}"


def test_dense_parameters_shapes_dtypes_and_grads_keys():
    layer = Dense(5, 3, rng=0)
    assert layer.params["W"].shape == (5, 3) and layer.params["b"].shape == (3,)
    assert layer.params["W"].dtype == np.float64
    np.testing.assert_array_equal(layer.params["b"], np.zeros(3))
    assert set(layer.grads) == {"W", "b"}
    for name in layer.params:
        assert layer.grads[name].shape == layer.params[name].shape
    small = Dense(5, 3, rng=0, dtype=np.float32)
    assert small.params["W"].dtype == np.float32 and small.params["b"].dtype == np.float32


def test_dense_seeds_are_reproducible_and_different_seeds_differ():
    np.testing.assert_array_equal(Dense(4, 4, rng=3).params["W"], Dense(4, 4, rng=3).params["W"])
    assert not np.array_equal(Dense(4, 4, rng=3).params["W"], Dense(4, 4, rng=4).params["W"])


def test_dense_accepts_initialiser_names_and_callables():
    layer = Dense(2, 3, weight_init="ones", bias_init=lambda shape, rng: np.full(shape, 0.5))
    np.testing.assert_array_equal(layer.params["W"], np.ones((2, 3)))
    np.testing.assert_array_equal(layer.params["b"], [0.5, 0.5, 0.5])


def test_equal_initial_weights_keep_units_identical_breaking_symmetry_needs_randomness():
    """Slide "Breaking symmetry": with all weights 1 every unit gets the same signal and the
    same gradient, so gradient descent can never make the units differ."""
    x = np.random.default_rng(0).normal(size=(6, 3))
    g = np.random.default_rng(1).normal(size=(6, 1))
    hidden, head = Dense(3, 4, weight_init="ones"), Dense(4, 1, weight_init="ones")
    h = Sigmoid()
    out = head.forward(h.forward(hidden.forward(x)))
    hidden.backward(h.backward(head.backward(g)))
    assert out.shape == (6, 1)
    columns = hidden.grads["W"]
    assert np.allclose(columns, columns[:, :1]), "units got different gradients"
    random_layer = Dense(3, 4, rng=0)
    z = random_layer.forward(x)
    assert not np.allclose(z, z[:, :1]), "random weights should give units different signals"


# ---------------------------------------------------------------- Dense: backward


def test_dense_backward_matches_the_formulas():
    rng = np.random.default_rng(5)
    layer = Dense(3, 4, rng=rng)
    x, g = rng.normal(size=(6, 3)), rng.normal(size=(6, 4))
    layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(layer.grads["W"], np.einsum("ni,nj->ij", x, g), rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dx, np.einsum("nj,ij->ni", g, layer.params["W"]), rtol=1e-12)


def test_dense_backward_writes_grads_in_place():
    layer = Dense(2, 2, rng=0)
    grad_w = layer.grads["W"]
    layer.forward(np.ones((3, 2)))
    layer.backward(np.ones((3, 2)))
    assert layer.grads["W"] is grad_w
    np.testing.assert_array_equal(grad_w, np.full((2, 2), 3.0))


@settings(deadline=None)  # timing varies on a shared machine
@given(n=st.integers(1, 5), fan_in=st.integers(1, 5), fan_out=st.integers(1, 5), seed=seeds)
def test_dense_gradient_check(n, fan_in, fan_out, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(fan_in, fan_out, bias_init="normal", rng=rng)
    assert_gradients_ok(layer, rng.normal(size=(n, fan_in)), seed)


@pytest.mark.parametrize(
    "x_shape, message",
    [
        ((5, 4), r"Dense expected input with 3 features \(shape \(N, 3\)\), got shape \(5, 4\)"),
        ((3,), r"got shape \(3,\)"),
        ((2, 3, 1), r"got shape \(2, 3, 1\)"),
    ],
)
def test_dense_rejects_inputs_of_the_wrong_shape(x_shape, message):
    with pytest.raises(ValueError, match=message):
        Dense(3, 2).forward(np.zeros(x_shape))


def test_dense_rejects_grad_out_of_the_wrong_shape():
    layer = Dense(3, 2)
    layer.forward(np.zeros((4, 3)))
    message = r"grad_out of the forward output's shape \(4, 2\), got shape \(4, 3\)"
    with pytest.raises(ValueError, match=message):
        layer.backward(np.zeros((4, 3)))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"in_features": 0, "out_features": 2}, ValueError, "in_features >= 1, got 0"),
        ({"in_features": 2, "out_features": 2.0}, TypeError,
         "out_features to be an int, got float"),
        ({"in_features": 2, "out_features": 2, "weight_init": "xavier"}, ValueError,
         "expected the name of an initializer, one of .*got 'xavier'"),
        ({"in_features": 2, "out_features": 3, "weight_init": lambda shape, rng: np.zeros(3)},
         ValueError, r"returned shape \(3,\), expected \(2, 3\)"),
    ],
)
def test_dense_constructor_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        Dense(**kwargs)


# ---------------------------------------------------------------- activation layers

LAYER_CLASSES = [Sigmoid, Tanh, ArcTan, ReLU, PReLU, ELU, Softplus, BinaryStep]


def test_there_is_one_layer_per_activation_in_the_registry():
    assert set(ACTIVATION_LAYERS) == set(activations.ACTIVATIONS)
    assert sorted(ACTIVATION_LAYERS.values(), key=str) == sorted(LAYER_CLASSES, key=str)


@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
def test_activation_layer_forward_and_backward_use_the_function_pair(name):
    fn, derivative = activations.ACTIVATIONS[name]
    x = away_from_kinks(np.linspace(-3, 3, 24).reshape(2, 3, 4))
    g = np.linspace(1, 2, 24).reshape(2, 3, 4)
    layer = activation_layer(name)
    np.testing.assert_allclose(layer.forward(x), fn(x), rtol=1e-14, err_msg=name)
    np.testing.assert_allclose(
        layer.backward(g), g * derivative(x), rtol=1e-12, atol=1e-15, err_msg=name
    )
    assert layer.params == {} and layer.grads == {}


@settings(deadline=None)  # timing varies on a shared machine
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    name=st.sampled_from(sorted(ACTIVATION_LAYERS)),
    seed=seeds,
)
def test_activation_layer_gradient_check(shape, name, seed):
    # |x| <= 3: where tanh, sigmoid and ELU saturate (tanh'(5.24) = 1.1e-4), the
    # centred difference's rounding error, about eps·|f|/h = 2.2e-10, is 1e-7 of the
    # gradient, so no 1e-7 check can pass there (hypothesis found x = 5.24 for tanh).
    x = away_from_kinks(np.random.default_rng(seed).uniform(-3, 3, size=shape))
    assert_gradients_ok(activation_layer(name), x, seed)


@pytest.mark.parametrize("cls, alpha", [(PReLU, 0.1), (PReLU, -0.5), (ELU, 2.5)])
def test_alpha_reaches_forward_backward_and_the_gradient_check(cls, alpha):
    fn, derivative = activations.ACTIVATIONS[cls.__name__.lower()]
    x = away_from_kinks(np.linspace(-2, 2, 10).reshape(2, 5))
    layer = cls(alpha=alpha)
    np.testing.assert_allclose(layer.forward(x), fn(x, alpha=alpha), rtol=1e-14)
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), derivative(x, alpha=alpha))
    assert_gradients_ok(layer, x, 0)


def test_activation_layer_factory_passes_parameters_and_rejects_typos():
    layer = activation_layer("prelu", alpha=0.1)
    assert isinstance(layer, PReLU) and layer.hyperparameters == {"alpha": 0.1}
    with pytest.raises(TypeError, match="alpha"):
        activation_layer("sigmoid", alpha=0.1)
    with pytest.raises(TypeError, match="alpah"):
        activation_layer("elu", alpah=0.1)


def test_activation_layer_factory_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'leaky_relu'") as info:
        activation_layer("leaky_relu")
    for name in ACTIVATION_LAYERS:
        assert name in str(info.value)


def test_bad_alpha_fails_at_construction():
    with pytest.raises(TypeError, match="alpha to be a real number, got str"):
        PReLU(alpha="0.1")


def test_generic_activation_layer_with_any_function_pair():
    layer = ActivationLayer(np.sin, np.cos)
    x = np.linspace(-1, 1, 5).reshape(1, 5)
    np.testing.assert_allclose(layer.forward(x), np.sin(x))
    assert_gradients_ok(layer, x, 0)
    assert repr(layer) == "ActivationLayer(fn=sin, derivative=cos)"


def test_binary_step_passes_no_gradient():
    layer = BinaryStep()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), np.zeros((1, 3)))


def test_activation_layer_rejects_grad_out_of_the_wrong_shape():
    layer = ReLU()
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"ReLU.backward expected .*\(2, 3\), got shape \(3, 2\)"):
        layer.backward(np.zeros((3, 2)))


# ---------------------------------------------------------------- Flatten


@settings(deadline=None)  # timing varies on a shared machine
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=4), seed=seeds)
def test_flatten_shapes_and_gradient_check(shape, seed):
    x = np.random.default_rng(seed).normal(size=shape)
    layer = Flatten()
    out = layer.forward(x)
    assert out.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(out[0], x[0].ravel())
    assert layer.backward(out).shape == shape
    assert_gradients_ok(layer, x, seed)


def test_flatten_rejects_a_scalar():
    with pytest.raises(ValueError, match=r"shape \(N, ...\).*got shape \(\)"):
        Flatten().forward(np.float64(1.0))


# ---------------------------------------------------------------- all layers


ALL_LAYERS = [lambda: Dense(3, 2), Flatten, *LAYER_CLASSES]


@pytest.mark.parametrize("make", ALL_LAYERS)
def test_backward_before_forward_says_to_call_forward_first(make):
    layer = make()
    with pytest.raises(RuntimeError, match="before forward: call forward"):
        layer.backward(np.zeros((1, 2)))


@pytest.mark.parametrize(
    "layer, text",
    [
        (Dense(3, 2),
         "Dense(3, 2, weight_init='glorot_uniform', bias_init='zeros', dtype=float64)"),
        (Dense(1, 1, weight_init=initializers.ones, dtype=np.float32),
         "Dense(1, 1, weight_init=ones, bias_init='zeros', dtype=float32)"),
        (Sigmoid(), "Sigmoid()"),
        (PReLU(), "PReLU(alpha=0.25)"),
        (ELU(alpha=2.0), "ELU(alpha=2.0)"),
        (Flatten(), "Flatten()"),
    ],
)
def test_repr_shows_the_configuration(layer, text):
    assert repr(layer) == text


def test_repr_says_weights_set_once_they_no_longer_hold_the_initial_draw():
    layer = Dense(2, 3, weight_init="zeros", rng=0)
    layer.params["W"][...] = np.arange(6.0).reshape(2, 3)  # set in place, as the lecture does
    assert repr(layer) == "Dense(2, 3, weights set, bias_init='zeros', dtype=float64)"
    layer.params["b"] = np.ones(3)  # a new array
    assert repr(layer) == "Dense(2, 3, weights set, bias set, dtype=float64)"
    drawn = Dense(2, 3, rng=0)
    drawn.params["W"][0, 0] = drawn.params["W"][0, 0]  # the same values: nothing set
    assert "weight_init='glorot_uniform'" in repr(drawn)


def test_summary_of_the_lecture_network_shows_its_weights_were_set():
    text = data.lecture_toy_network().summary()
    assert "weight_init" not in text, text
    assert text.count("weights set") == 3, text


def test_importing_layers_pulls_in_no_plotting_widget_or_progress_libraries():
    code = (
        "import sys, week14.layers; "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'tqdm') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", f"import week14.layers imported {result.stdout}"
