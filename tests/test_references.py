"""Tests for week14.references: the references that compose week14's parts, each
checked against the formula it documents."""

from __future__ import annotations

import numpy as np
import pytest

from week14 import references
from week14.activations import sigmoid
from week14.data import lecture_toy_network
from week14.gradcheck import numerical_gradient


@pytest.mark.parametrize(("n", "n_in", "n_out"), [(1, 2, 2), (5, 4, 3), (3, 1, 6)])
def test_dense_sigmoid_backward_is_the_lectures_formulas(n, n_in, n_out):
    """dz = dy ⊙ y(1 − y), dW = xᵀ dz, db = Σₙ dz, dx = dz Wᵀ, each the shape of what
    it is the gradient of; the inputs are left unchanged."""
    gen = np.random.default_rng(n * 100 + n_in * 10 + n_out)
    x, W = gen.normal(size=(n, n_in)), gen.normal(size=(n_in, n_out))
    b, dy = gen.normal(size=n_out), gen.normal(size=(n, n_out))
    given = [a.copy() for a in (x, W, b, dy)]
    dW, db, dx = references.dense_sigmoid_backward(x, W, b, dy)
    y = sigmoid(x @ W + b)
    dz = dy * y * (1 - y)
    np.testing.assert_allclose(dW, x.T @ dz, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, dz.sum(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, dz @ W.T, rtol=1e-12, atol=1e-15)
    assert (dW.shape, db.shape, dx.shape) == (W.shape, b.shape, x.shape)
    assert all(np.array_equal(a, g) for a, g in zip((x, W, b, dy), given, strict=True))


def test_dense_sigmoid_backward_passes_a_gradient_check():
    """Against centred differences of L = Σ σ(xW + b) ⊙ dy."""
    gen = np.random.default_rng(5)
    x, W, b, dy = (gen.normal(size=s) for s in [(4, 3), (3, 2), (2,), (4, 2)])
    dW, db, dx = references.dense_sigmoid_backward(x, W, b, dy)
    for mine, wrt, loss in [
        (dW, W, lambda v: np.sum(sigmoid(x @ v + b) * dy)),
        (db, b, lambda v: np.sum(sigmoid(x @ W + v) * dy)),
        (dx, x, lambda v: np.sum(sigmoid(v @ W + b) * dy)),
    ]:
        np.testing.assert_allclose(mine, numerical_gradient(loss, wrt.copy()), rtol=1e-6,
                                   atol=1e-9)


def test_step_decay_halves_every_five_epochs():
    """The lecture's "halve every 5 epochs" from 0.1: epochs 5–9 run at 0.05."""
    rates = [references.step_decay(epoch, 0.1, 0.5, 5) for epoch in range(12)]
    assert rates == pytest.approx([0.1] * 5 + [0.05] * 5 + [0.025] * 2, rel=1e-15)


def test_exponential_decay_smooth_and_staircase():
    """η₀ · decay_rate^(epoch / decay_steps), the exponent floored with staircase."""
    assert references.exponential_decay(3, 0.1, 0.5, 2) == pytest.approx(0.1 * 0.5 ** 1.5)
    assert references.exponential_decay(3, 0.1, 0.5, 2, staircase=True) == pytest.approx(0.05)
    assert references.exponential_decay(4, 0.1, 0.9) == pytest.approx(0.1 * 0.9 ** 4)


#: Notebook 06's worked sequence, read row by row there.
WORKED = dict(initial_lr=0.1, factor=0.5, patience=2, min_delta=0.01, cooldown=2,
              min_lr=0.02)
WORKED_LOSSES = [1.00, 0.80, 0.795, 0.792, 0.80, 0.80, 0.70, 0.71, 0.71, 0.72, 0.72, 0.72,
                 0.72, 0.72, 0.72, 0.72]


def test_plateau_rates_of_the_worked_sequence():
    """Halve at epoch 3 (two epochs without a new best), a cooldown of 2 skips epoch 4,
    halve at epoch 8, and at epoch 11 the rate stops at min_lr."""
    assert references.plateau_rates(WORKED, WORKED_LOSSES) == pytest.approx(
        [0.1] * 3 + [0.05] * 5 + [0.025] * 3 + [0.02] * 5, rel=1e-12)


def test_plateau_rates_runs_a_class_given_as_cls():
    """Another class with the same settings and step(val_loss) runs the same way: made
    once from the settings, stepped once per epoch, in order."""

    class Recorder:
        def __init__(self, **settings):
            self.settings, self.seen = settings, []

        def step(self, val_loss):
            self.seen.append(val_loss)
            return self.settings["initial_lr"] * len(self.seen)

    assert references.plateau_rates(WORKED, [0.3, 0.2, 0.1], cls=Recorder) == pytest.approx(
        [0.1, 0.2, 0.3], rel=1e-15)


def test_network_forward_gives_the_slides_toy_network():
    """The toy network's (W, b) pairs give the slide's f(1, −1) = (0.62, 0.83) and
    f(0, 0) = (0.51, 0.85)."""
    toy = lecture_toy_network()
    weights = [(dense.params["W"], dense.params["b"]) for dense in toy.layers[::2]]
    out = references.network_forward(np.array([[1.0, -1.0], [0.0, 0.0]]), weights)
    np.testing.assert_allclose(out, [[0.62, 0.83], [0.51, 0.85]], atol=0.005)


def test_network_forward_feeds_each_layer_the_one_before():
    """a₀ = x, aₗ = σ(aₗ₋₁ Wₗ + bₗ), through layers of sizes 3, 4, 2, 1."""
    gen = np.random.default_rng(3)
    weights = [(gen.normal(size=(n_in, n_out)), gen.normal(size=n_out))
               for n_in, n_out in [(3, 4), (4, 2), (2, 1)]]
    x = gen.normal(size=(5, 3))
    a = x
    for W, b in weights:
        a = sigmoid(a @ W + b)
    np.testing.assert_allclose(references.network_forward(x, weights), a, rtol=1e-12)


@pytest.mark.parametrize(("sizes", "count"), [([2, 2, 2, 2], 18), ([4, 3], 15), ([1, 1], 2),
                                              ([784, 300, 100, 10], 266_610)])
def test_count_parameters_is_weights_and_biases(sizes, count):
    """Σ (n_in·n_out + n_out) over consecutive sizes: 18 for the lecture's toy network,
    an int."""
    counted = references.count_parameters(sizes)
    assert counted == count and isinstance(counted, int)
