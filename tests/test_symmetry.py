"""Tests for week14.symmetry: equal initial weights keep hidden units identical."""

from __future__ import annotations

import numpy as np
import pytest

from week14.symmetry import symmetry_experiment, unit_spread


def test_unit_spread_is_the_largest_distance_between_incoming_vectors():
    W = np.array([[1.0, 1.0, 4.0], [2.0, 2.0, 6.0]])  # units: (1, 2), (1, 2), (4, 6)
    assert unit_spread(W) == pytest.approx(5.0)
    assert unit_spread(W, np.array([0.0, 0.0, 0.0])) == pytest.approx(5.0)
    assert unit_spread(W[:, :2], np.array([0.0, 3.0])) == pytest.approx(3.0)
    assert unit_spread(np.ones((3, 4))) == 0.0
    with pytest.raises(ValueError, match=r"b of shape \(3,\)"):
        unit_spread(W, np.zeros(2))


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("init", ["zeros", "ones"])
def test_constant_initialisation_leaves_hidden_units_identical(init, activation):
    result = symmetry_experiment(init, activation=activation, rng=0)
    assert result.spread < 1e-10, (
        f"{init} init with {activation}: hidden units differ by {result.spread} after training"
    )


def test_constant_initialisation_trains_in_lockstep_or_not_at_all():
    # ones with sigmoid: the hidden layer learns, but every unit makes the same move
    lockstep = symmetry_experiment("ones", activation="sigmoid", rng=0)
    assert lockstep.moved > 1e-3 and lockstep.spread < 1e-10, lockstep
    # ReLU from zeros: relu(0) = 0, so the output weights get no gradient and stay 0,
    # and the hidden layer never receives a signal at all
    frozen = symmetry_experiment("zeros", activation="relu", rng=0)
    assert frozen.moved == 0.0, frozen


def test_random_initialisation_breaks_the_symmetry_and_learns_xor():
    result = symmetry_experiment("glorot_uniform", rng=0)
    assert result.spread > 0.1, f"random init left the units nearly identical: {result.spread}"
    assert result.accuracy == 1.0, f"random init should learn XOR, got accuracy {result.accuracy}"
    for init in ("zeros", "ones"):
        stuck = symmetry_experiment(init, rng=0)
        # identical units act as one unit, and one unit cannot separate XOR
        assert stuck.accuracy <= 0.75, f"{init} init learnt XOR ({stuck.accuracy}) with one unit"


@pytest.mark.parametrize(
    "hidden, error, message",
    [
        (1, ValueError, "symmetry_experiment expected hidden >= 2, got 1"),
        (2.0, TypeError, "symmetry_experiment expected hidden to be an int, got float 2.0"),
        (True, TypeError, "symmetry_experiment expected hidden to be an int, got bool"),
    ],
)
def test_symmetry_experiment_needs_at_least_two_hidden_units(hidden, error, message):
    with pytest.raises(error, match=message):
        symmetry_experiment("zeros", hidden=hidden)
