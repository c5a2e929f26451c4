"""Tests for week14.widgets.activations: the numbers behind the explorer."""

from __future__ import annotations

import numpy as np
import pytest

from week14 import activations
from week14.widgets import activations as view

NAMES = list(activations.ACTIVATIONS)


def test_takes_alpha_exactly_for_prelu_and_elu():
    assert {name for name in NAMES if view.takes_alpha(name)} == {"prelu", "elu"}
    with pytest.raises(ValueError, match="name to be one of"):
        view.takes_alpha("swish")


@pytest.mark.parametrize("name", NAMES)
def test_curves_come_from_the_library_and_pass_the_check(name):
    curves = view.activation_curves(name)
    fn, derivative = activations.get(name)
    x = curves["x"]
    np.testing.assert_array_equal(x, view.DEFAULT_X)
    assert 0.0 not in x, "the default grid must avoid the kink at 0"
    np.testing.assert_array_equal(curves["f"], fn(x), err_msg=f"{name}: f")
    np.testing.assert_array_equal(curves["derivative"], derivative(x), err_msg=f"{name}: f′")
    assert curves["numerical"].shape == x.shape
    assert curves["max_rel_error"] < 1e-8, (
        f"{name}: analytic and numerical derivatives differ by {curves['max_rel_error']:.2e}")


@pytest.mark.parametrize("name, alpha", [("prelu", 0.1), ("prelu", -0.3), ("elu", 2.0)])
def test_alpha_reaches_the_function_and_its_derivative(name, alpha):
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    fn, derivative = activations.get(name)
    curves = view.activation_curves(name, alpha, x)
    np.testing.assert_array_equal(curves["f"], fn(x, alpha=alpha))
    np.testing.assert_array_equal(curves["derivative"], derivative(x, alpha=alpha))
    assert curves["max_rel_error"] < 1e-8


def test_default_alpha_is_the_librarys():
    x = np.array([-1.0])
    assert view.activation_curves("prelu", None, x)["derivative"][0] == 0.25
    assert view.activation_curves("elu", None, x)["derivative"][0] == pytest.approx(np.exp(-1))


def test_a_grid_point_on_the_kink_shows_up_in_the_error():
    curves = view.activation_curves("relu", x=np.array([-1.0, 0.0, 1.0]))
    # relu'(0) = 1 by the lecture's convention, the centred difference gives 0.5; the
    # relative error divides by the largest |a_i| + |b_i| = 2 (at x = 1)
    assert curves["max_rel_error"] == pytest.approx(0.5 / 2)


@pytest.mark.parametrize(
    "args, error, message",
    [
        (("sigmoid", 0.5), ValueError, "'sigmoid' has no alpha"),
        (("gelu",), ValueError, "name to be one of"),
        (("relu", None, np.zeros((2, 2))), ValueError, r"1-D grid, got shape \(2, 2\)"),
        (("relu", None, np.array([])), ValueError, "non-empty"),
        (("relu", None, np.array(["a"])), TypeError, "real number"),
        (("prelu", float("inf")), ValueError, "finite alpha"),
    ],
)
def test_activation_curves_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        view.activation_curves(*args)


def test_explorer_redraws_and_disables_alpha_when_unused(capsys):
    explorer = view.ActivationExplorer()
    assert set(explorer.controls) == {"name", "alpha"}
    assert explorer.controls["alpha"].disabled, "sigmoid has no α: the slider is disabled"
    capsys.readouterr()
    explorer.set(name="prelu", alpha=0.5)
    out = capsys.readouterr().out
    assert "prelu(x, α=0.50)" in out and "relative error" in out, out
    assert not explorer.controls["alpha"].disabled
    explorer.set(name="binary_step")
    assert "binary_step(x): largest relative error" in capsys.readouterr().out
