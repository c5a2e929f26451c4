"""Tests for week14.gradcheck: numerical gradients, relative error, layer checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14 import activations
from week14.gradcheck import (
    centred_difference,
    check_layer,
    numerical_gradient,
    relative_error,
)

# ---------------------------------------------------------------- tiny hand-written layers


class TanhAffine:
    """out = tanh(x @ W + b): a small, correct layer written out by hand for the tests."""

    def __init__(self, in_features: int, out_features: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params = {
            "W": rng.standard_normal((in_features, out_features)),
            "b": rng.standard_normal(out_features),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x @ self.params["W"] + self.params["b"])
        self.cache = (x, out)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, out = self.cache
        dz = grad_out * (1 - out**2)
        self.grads["W"] = x.T @ dz
        self.grads["b"] = dz.sum(axis=0)
        return dz @ self.params["W"].T


class WrongBiasGrad(TanhAffine):
    """Same forward; backward forgets the tanh derivative in the bias gradient."""

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dx = super().backward(grad_out)
        self.grads["b"] = grad_out.sum(axis=0)
        return dx


class WrongInputGrad(TanhAffine):
    """Same forward; backward returns twice the true dL/dx."""

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return 2 * super().backward(grad_out)


class ForgetsGrads(TanhAffine):
    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dx = super().backward(grad_out)
        del self.grads["b"]
        return dx


# ---------------------------------------------------------------- numerical_gradient


def test_numerical_gradient_of_known_functions():
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    g = numerical_gradient(lambda v: float(np.sum(v**3)), x)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8, atol=1e-10)
    A = np.arange(12.0).reshape(4, 3) / 7
    g = numerical_gradient(lambda v: float(np.sum(np.sin(v @ A))), x)
    np.testing.assert_allclose(g, np.cos(x @ A) @ A.T, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_of_a_scalar_array():
    x = np.array(2.0)
    assert numerical_gradient(lambda v: float(v**2), x) == pytest.approx(4.0, rel=1e-8)


@given(
    hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=st.floats(-5, 5))
)
def test_numerical_gradient_restores_x_bit_for_bit(x):
    before = x.copy()
    g = numerical_gradient(lambda v: float(np.sum(np.exp(v / 5))), x)
    assert np.array_equal(x, before), "x was not restored"
    assert g.dtype == np.float64 and g.shape == x.shape
    np.testing.assert_allclose(g, np.exp(x / 5) / 5, rtol=1e-6, atol=1e-9)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_numerical_gradient_in_float32_uses_the_step_actually_taken():
    x = np.array([0.1, 3.0, 1000.0], dtype=np.float32)
    g = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) * 2)), x, eps=1e-3)
    assert g.dtype == np.float64
    # a linear f is differentiated exactly once the realised step is used
    np.testing.assert_allclose(g, [2.0, 2.0, 2.0], rtol=1e-12)
    assert x.tolist() == pytest.approx([0.1, 3.0, 1000.0], rel=1e-7)


def test_numerical_gradient_bad_input():
    with pytest.raises(TypeError, match="floating-point numpy array.*got list"):
        numerical_gradient(np.sum, [1.0, 2.0])
    with pytest.raises(TypeError, match="floating-point numpy array.*got int64"):
        numerical_gradient(np.sum, np.array([1, 2], dtype=np.int64))
    with pytest.raises(ValueError, match="eps > 0, got 0"):
        numerical_gradient(np.sum, np.ones(2), eps=0)
    with pytest.raises(TypeError, match="real scalar, got ndarray with shape \\(2,\\)"):
        numerical_gradient(lambda v: v * 2, np.ones(2))


# ---------------------------------------------------------------- centred_difference


@given(st.floats(-50, 50), st.floats(-3, 3))
def test_centred_difference_is_exact_for_a_quadratic(x, a):
    # (a(x+h)² − a(x−h)²) / 2h = 2ax up to rounding
    got = centred_difference(lambda v: a * v * v, np.array([x]))
    assert got[0] == pytest.approx(2 * a * x, rel=1e-6, abs=1e-6)


def test_centred_difference_straddles_a_kink():
    got = centred_difference(activations.relu, np.array([0.0]))
    assert got[0] == pytest.approx(0.5), "at a kink the difference averages both slopes"


def test_centred_difference_rejects_non_positive_h():
    with pytest.raises(ValueError, match="h > 0, got 0"):
        centred_difference(np.sin, np.zeros(3), h=0)


@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-3, 3)))
def test_centred_difference_is_numerical_gradient_of_the_sum_for_elementwise_f(x):
    before = x.copy()
    fast = centred_difference(np.tanh, x)
    np.testing.assert_array_equal(x, before, err_msg="centred_difference must not change x")
    slow = numerical_gradient(lambda v: float(np.sum(np.tanh(v))), x.copy())
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-9, err_msg="vectorised vs nudged")


def test_centred_difference_rejects_non_numbers():
    with pytest.raises(TypeError, match="centred_difference expected x to be a real number"):
        centred_difference(np.sin, np.array(["a"]))
    with pytest.raises(TypeError, match="centred_difference expected h to be a real number"):
        centred_difference(np.sin, np.zeros(3), h="1e-6")


# ---------------------------------------------------------------- relative_error


def test_relative_error_values():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == 1.0
    # max |a - b| = 0.5, max (|a| + |b|) = 8
    assert relative_error(np.array([1.0, 4.0]), np.array([1.5, 4.0])) == pytest.approx(0.5 / 8)
    assert relative_error(2.0, 2.0 + 1e-9) == pytest.approx(1e-9 / 4, rel=1e-6)


def test_relative_error_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(3, 2\)"):
        relative_error(np.ones((2, 3)), np.ones((3, 2)))


# ---------------------------------------------------------------- check_layer


def test_check_layer_passes_a_correct_layer():
    layer = TanhAffine(4, 3)
    x = np.random.default_rng(1).standard_normal((5, 4))
    x_before = x.copy()
    W_before = layer.params["W"].copy()
    W_object = layer.params["W"]
    errors = check_layer(layer, x, rng=0)
    assert set(errors) == {"x", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-8, f"relative error of d/d{name} is {err:.2e}, expected < 1e-8"
    assert np.array_equal(x, x_before), "check_layer modified the caller's x"
    assert layer.params["W"] is W_object, "check_layer replaced the parameter array"
    assert np.array_equal(layer.params["W"], W_before), "check_layer did not restore W"


@pytest.mark.parametrize(
    "layer_cls, wrong", [(WrongBiasGrad, "b"), (WrongInputGrad, "x")]
)
def test_check_layer_catches_a_wrong_gradient(layer_cls, wrong):
    errors = check_layer(layer_cls(4, 3), np.random.default_rng(1).standard_normal((5, 4)), rng=0)
    assert errors[wrong] > 1e-2, f"wrong d/d{wrong} went unnoticed: {errors}"
    for name in set(errors) - {wrong}:
        assert errors[name] < 1e-8, f"d/d{name} is right but got error {errors[name]:.2e}"


def test_check_layer_without_params_and_with_float32_input():
    class Square:
        params: dict = {}
        grads: dict = {}

        def forward(self, x):
            self.cache = x
            return x**2

        def backward(self, g):
            return 2 * self.cache * g

    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    errors = check_layer(Square(), x, rng=np.random.default_rng(3))
    assert list(errors) == ["x"] and errors["x"] < 1e-8


def test_check_layer_reports_missing_grads():
    with pytest.raises(ValueError, match="did not fill grads\\['b'\\]"):
        check_layer(ForgetsGrads(2, 2), np.ones((1, 2)), rng=0)


def test_check_layer_is_reproducible_with_a_seed():
    x = np.random.default_rng(2).standard_normal((3, 4))
    assert check_layer(WrongBiasGrad(4, 2), x, rng=5) == check_layer(WrongBiasGrad(4, 2), x, rng=5)
