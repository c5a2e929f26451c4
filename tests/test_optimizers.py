"""Tests for week14.optimizers.SGD: hand-computed updates, momentum, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14.layers import Dense
from week14.model import Sequential
from week14.optimizers import SGD

finite = st.floats(-10, 10, allow_nan=False)


def test_plain_sgd_step_by_hand():
    w = np.array([1.0, 2.0])
    SGD(lr=0.1).step({"w": w}, {"w": np.array([0.5, -1.0])})
    np.testing.assert_allclose(w, [0.95, 2.1], rtol=1e-15)


def test_momentum_steps_by_hand():
    """With a constant gradient g, lr = 0.1 and μ = 0.9 the velocities are −0.1g, −0.19g,
    −0.271g, so w moves by −0.1g, −0.29g, −0.561g in total."""
    w = np.zeros(2)
    g = np.array([1.0, -2.0])
    sgd = SGD(lr=0.1, momentum=0.9)
    for expected in ([-0.1, 0.2], [-0.29, 0.58], [-0.561, 1.122]):
        sgd.step({"w": w}, {"w": g})
        np.testing.assert_allclose(w, expected, rtol=1e-14)
    np.testing.assert_allclose(sgd.buffers()["w"], [-0.271, 0.542], rtol=1e-14)


def test_buffers_are_the_live_velocities():
    w = np.zeros(2)
    sgd = SGD(lr=0.1, momentum=0.5)
    assert sgd.buffers() == {}, "no state before the first step"
    sgd.step({"w": w}, {"w": np.ones(2)})
    sgd.buffers()["w"][0] = 0.0  # edited in place: the next step starts from v = (0, -0.1)
    sgd.step({"w": w}, {"w": np.ones(2)})
    np.testing.assert_allclose(sgd.buffers()["w"], [-0.1, -0.15], rtol=1e-14)
    sgd.buffers().clear()
    assert set(sgd.buffers()) == {"w"}, "the dict is a new one; the optimiser keeps its keys"
    plain = SGD(lr=0.1)
    plain.step({"w": w}, {"w": np.ones(2)})
    assert plain.buffers() == {}, "plain gradient descent keeps no state"


def test_each_key_has_its_own_velocity():
    a, b = np.zeros(1), np.zeros(1)
    sgd = SGD(lr=1.0, momentum=0.5)
    sgd.step({"a": a, "b": b}, {"a": np.ones(1), "b": np.zeros(1)})
    sgd.step({"a": a, "b": b}, {"a": np.zeros(1), "b": np.ones(1)})
    np.testing.assert_allclose(a, [-1.5])  # -1, then -1 + 0.5·(-1)
    np.testing.assert_allclose(b, [-1.0])  # 0, then -1


@settings(deadline=None)  # timing varies on a shared machine
@given(
    arrays=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=finite),
    lr=st.floats(1e-4, 1.0),
)
def test_plain_sgd_is_w_minus_lr_g(arrays, lr):
    w = arrays.copy()
    g = arrays[::-1].copy() + 1.0
    SGD(lr).step({"w": w}, {"w": g})
    np.testing.assert_allclose(w, arrays - lr * g, rtol=1e-12, atol=1e-12)


@settings(deadline=None)  # timing varies on a shared machine
@given(
    lr=st.floats(1e-3, 1.0),
    momentum=st.floats(0.0, 0.99),
    grads=st.lists(hnp.arrays(np.float64, 3, elements=finite), min_size=1, max_size=5),
)
def test_momentum_matches_the_recurrence(lr, momentum, grads):
    w = np.ones(3)
    sgd = SGD(lr, momentum)
    expected_w, velocity = np.ones(3), np.zeros(3)
    for g in grads:
        sgd.step({"w": w}, {"w": g})
        velocity = momentum * velocity - lr * g
        expected_w = expected_w + velocity
    np.testing.assert_allclose(w, expected_w, rtol=1e-12, atol=1e-12)


def test_step_updates_a_models_parameters_in_place_and_lowers_the_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    model = Sequential([Dense(3, 1, rng=0)])
    weight = model.layers[0].params["W"]
    sgd = SGD(lr=0.1, momentum=0.5)
    losses = []
    for _ in range(50):
        residual = model.forward(x) - y
        losses.append(float(np.mean(residual**2) / 2))
        model.backward(residual / len(x))
        sgd.step(model.parameters(), model.gradients())
    assert model.layers[0].params["W"] is weight
    assert losses[-1] < 1e-3 * losses[0], f"loss went from {losses[0]:.3g} to {losses[-1]:.3g}"


def test_lr_can_be_changed_between_steps():
    w = np.zeros(1)
    sgd = SGD(lr=1.0)
    sgd.step({"w": w}, {"w": np.ones(1)})
    sgd.lr = 0.5
    sgd.step({"w": w}, {"w": np.ones(1)})
    np.testing.assert_allclose(w, [-1.5])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"lr": 0.0}, ValueError, "lr > 0, got 0.0"),
        ({"lr": -0.1}, ValueError, "lr > 0, got -0.1"),
        ({"lr": float("inf")}, ValueError, "finite lr, got inf"),
        ({"lr": "0.1"}, TypeError, "lr to be a real number, got str"),
        ({"lr": True}, TypeError, "got bool"),
        ({"lr": 0.1, "momentum": 1.0}, ValueError, r"momentum in \[0, 1\), got 1.0"),
        ({"lr": 0.1, "momentum": -0.5}, ValueError, r"momentum in \[0, 1\), got -0.5"),
    ],
)
def test_bad_hyperparameters_raise_naming_the_valid_range(kwargs, error, message):
    with pytest.raises(error, match=message):
        SGD(**kwargs)


def test_setting_a_bad_lr_later_also_raises():
    sgd = SGD(0.1)
    with pytest.raises(ValueError, match="lr > 0, got -1"):
        sgd.lr = -1
    assert sgd.lr == 0.1


def test_mismatched_keys_raise_naming_them_and_update_nothing():
    w, b = np.zeros(2), np.zeros(1)
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        SGD(0.1).step({"w": w, "b": b}, {"w": np.ones(2), "c": np.ones(1)})
    np.testing.assert_array_equal(w, np.zeros(2))


def test_mismatched_shapes_raise_naming_the_key_and_update_nothing():
    w, b = np.zeros(2), np.zeros(1)
    with pytest.raises(ValueError, match=r"gradient 'b' has shape \(2,\), expected .* \(1,\)"):
        SGD(0.1).step({"w": w, "b": b}, {"w": np.ones(2), "b": np.ones(2)})
    np.testing.assert_array_equal(w, np.zeros(2))


def test_reusing_a_momentum_optimiser_on_other_shapes_raises():
    sgd = SGD(0.1, momentum=0.9)
    sgd.step({"w": np.zeros(2)}, {"w": np.ones(2)})
    with pytest.raises(ValueError, match=r"'w' has shape \(3,\) but its velocity has shape \(2,\)"):
        sgd.step({"w": np.zeros(3)}, {"w": np.ones(3)})


def test_repr():
    assert repr(SGD(0.01, momentum=0.9)) == "SGD(lr=0.01, momentum=0.9)"
