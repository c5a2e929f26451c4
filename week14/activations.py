"""Activation functions and their derivatives (slide: Derivatives of other Activation Functions).

For each activation there is a pair ``NAME(x)`` / ``NAME_derivative(x)``; the derivative
is taken with respect to the input, elementwise. Both accept a Python number, a NumPy
scalar or an array of any shape:

* Integer and boolean input is converted to float64; float16/32/64 input keeps its dtype.
* A scalar (or 0-d array) in gives a NumPy float scalar out (``np.float64`` for a Python
  float or int); an array of shape ``S`` in gives a new float array of shape ``S``.
* Anything that is not a real number (strings, ``None``, complex, object arrays) raises
  ``TypeError``.

Every function is written so that inputs with ``|x|`` up to 1e3 (in float32 as well as
float64) give finite results without overflow warnings: the sigmoid only ever evaluates
``exp(-|x|)``, softplus uses ``logaddexp(0, x)`` and ELU uses ``expm1(min(x, 0))``.

At the kinks the lecture's table decides: ReLU'(0) = PReLU'(0) = 1 and binary_step(0) = 1.
The lecture leaves binary_step'(0) as "?"; here it is 0.

``ACTIVATIONS`` maps each name to its ``(fn, derivative)`` pair and ``get(name)`` looks one
up. ``softmax`` turns a vector of scores into probabilities; its gradient is best taken
together with the cross-entropy loss (see ``week14.losses.softmax_cross_entropy``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from week14._validation import as_real_array, check_real

ArrayLike = float | int | np.ndarray
ActivationFn = Callable[..., np.floating | np.ndarray]


def _result(out: np.ndarray, like: np.ndarray) -> np.floating | np.ndarray:
    """Cast ``out`` to the dtype of ``like``; unwrap a 0-d result to a NumPy scalar."""
    out = np.asarray(out, dtype=like.dtype)
    return out[()] if out.ndim == 0 else out


# --------------------------------------------------------------------------------------
# Sigmoid (slide: Derivative of the Sigmoid Function)
# --------------------------------------------------------------------------------------


def sigmoid(x: ArrayLike) -> np.floating | np.ndarray:
    """Logistic sigmoid, σ(x) = 1 / (1 + e^(-x)), elementwise.

    Slide: Derivative of the Sigmoid Function. Computed from ``e = exp(-|x|)`` only, so
    it never overflows: σ(x) = 1 / (1 + e) for x ≥ 0 and e / (1 + e) for x < 0.

    Args:
        x: scalar or array of any shape.

    Returns:
        σ(x), same shape as ``x``, values in [0, 1].
    """
    x = as_real_array(x, "sigmoid")
    e = np.exp(-np.abs(x))
    return _result(np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), x)


def sigmoid_derivative(x: ArrayLike) -> np.floating | np.ndarray:
    """Derivative of the sigmoid, σ'(x) = σ(x)(1 − σ(x)) = e^(-x) / (1 + e^(-x))², elementwise.

    Slide: Derivative of the Sigmoid Function (dy/dx = y(1 − y)). The function is even,
    so it is evaluated as e / (1 + e)² with e = exp(-|x|): no overflow, and no loss of
    precision from 1 − σ(x) when σ(x) is close to 1.

    Args:
        x: scalar or array of any shape.

    Returns:
        σ'(x), same shape as ``x``, values in [0, 0.25].
    """
    x = as_real_array(x, "sigmoid_derivative")
    e = np.exp(-np.abs(x))
    return _result(e / (1.0 + e) ** 2, x)


# --------------------------------------------------------------------------------------
# The rest of the lecture's table (slide: Derivatives of other Activation Functions)
# --------------------------------------------------------------------------------------


def tanh(x: ArrayLike) -> np.floating | np.ndarray:
    """Hyperbolic tangent, tanh(x) = 2 / (1 + e^(-2x)) − 1, elementwise, values in [−1, 1].

    Slide: Derivatives of other Activation Functions.
    """
    x = as_real_array(x, "tanh")
    return _result(np.tanh(x), x)


def tanh_derivative(x: ArrayLike) -> np.floating | np.ndarray:
    """Derivative of tanh, f'(x) = 1 − tanh(x)², elementwise, values in [0, 1].

    Slide: Derivatives of other Activation Functions.
    """
    x = as_real_array(x, "tanh_derivative")
    t = np.tanh(x)
    return _result(1.0 - t * t, x)


def arctan(x: ArrayLike) -> np.floating | np.ndarray:
    """Inverse tangent, f(x) = tan⁻¹(x), elementwise, values in (−π/2, π/2).

    Slide: Derivatives of other Activation Functions.
    """
    x = as_real_array(x, "arctan")
    return _result(np.arctan(x), x)


def arctan_derivative(x: ArrayLike) -> np.floating | np.ndarray:
    """Derivative of arctan, f'(x) = 1 / (x² + 1), elementwise, values in (0, 1].

    Slide: Derivatives of other Activation Functions.
    """
    x = as_real_array(x, "arctan_derivative")
    return _result(1.0 / (x * x + 1.0), x)


def relu(x: ArrayLike) -> np.floating | np.ndarray:
    """Rectified linear unit, f(x) = x for x ≥ 0 and 0 for x < 0, elementwise.

    Slide: Derivatives of other Activation Functions.
    """
    x = as_real_array(x, "relu")
    return _result(np.where(x >= 0, x, 0.0), x)


def relu_derivative(x: ArrayLike) -> np.floating | np.ndarray:
    """Derivative of ReLU, f'(x) = 1 for x ≥ 0 and 0 for x < 0, elementwise.

    Slide: Derivatives of other Activation Functions. ReLU has no derivative at 0; as in
    the lecture's table we use ReLU'(0) = 1 (the right-hand derivative).
    """
    x = as_real_array(x, "relu_derivative")
    return _result(np.where(x >= 0, 1.0, 0.0), x)


def prelu(x: ArrayLike, alpha: float = 0.25) -> np.floating | np.ndarray:
    """Parametric ReLU, f(x) = x for x ≥ 0 and αx for x < 0, elementwise.

    Slide: Derivatives of other Activation Functions.

    Args:
        x: scalar or array of any shape.
        alpha: slope for negative inputs (default 0.25); any finite real number.
    """
    alpha = check_real("prelu", "alpha", alpha)
    x = as_real_array(x, "prelu")
    return _result(np.where(x >= 0, x, alpha * x), x)


def prelu_derivative(x: ArrayLike, alpha: float = 0.25) -> np.floating | np.ndarray:
    """Derivative of PReLU, f'(x) = 1 for x ≥ 0 and α for x < 0, elementwise.

    Slide: Derivatives of other Activation Functions. As in the lecture's table,
    PReLU'(0) = 1.

    Args:
        x: scalar or array of any shape.
        alpha: slope for negative inputs (default 0.25); any finite real number.
    """
    alpha = check_real("prelu_derivative", "alpha", alpha)
    x = as_real_array(x, "prelu_derivative")
    return _result(np.where(x >= 0, 1.0, alpha), x)


def elu(x: ArrayLike, alpha: float = 1.0) -> np.floating | np.ndarray:
    """Exponential linear unit, f(x) = x for x ≥ 0 and α(eˣ − 1) for x < 0, elementwise.

    Slide: Derivatives of other Activation Functions. The negative branch is computed as
    α·expm1(min(x, 0)): accurate for small |x| and never overflows for large positive x.

    Args:
        x: scalar or array of any shape.
        alpha: saturation value for x → −∞ is −α (default 1.0); any finite real number.
    """
    alpha = check_real("elu", "alpha", alpha)
    x = as_real_array(x, "elu")
    return _result(np.where(x >= 0, x, alpha * np.expm1(np.minimum(x, 0.0))), x)


def elu_derivative(x: ArrayLike, alpha: float = 1.0) -> np.floating | np.ndarray:
    """Derivative of ELU, f'(x) = 1 for x ≥ 0 and f(x) + α = αeˣ for x < 0, elementwise.

    Slide: Derivatives of other Activation Functions (the table writes the negative
    branch as f(x) + α, which equals αeˣ). ELU'(0) = 1; with α = 1 the derivative is
    continuous there.

    Args:
        x: scalar or array of any shape.
        alpha: as in ``elu`` (default 1.0).
    """
    alpha = check_real("elu_derivative", "alpha", alpha)
    x = as_real_array(x, "elu_derivative")
    return _result(np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))), x)


def softplus(x: ArrayLike) -> np.floating | np.ndarray:
    """Softplus, f(x) = ln(1 + eˣ), elementwise, values > 0 (a smooth ReLU).

    Slide: Derivatives of other Activation Functions. Computed as logaddexp(0, x), which
    neither overflows for large x (it returns ≈ x) nor loses the tiny values for x ≪ 0.
    """
    x = as_real_array(x, "softplus")
    return _result(np.logaddexp(0.0, x), x)


def softplus_derivative(x: ArrayLike) -> np.floating | np.ndarray:
    """Derivative of softplus, f'(x) = 1 / (1 + e^(-x)) = σ(x), elementwise.

    Slide: Derivatives of other Activation Functions.
    """
    x = as_real_array(x, "softplus_derivative")
    return _result(sigmoid(x), x)


def binary_step(x: ArrayLike) -> np.floating | np.ndarray:
    """Binary step, f(x) = 1 for x ≥ 0 and 0 for x < 0 (so binary_step(0) = 1), elementwise.

    Slide: Derivatives of other Activation Functions.
    """
    x = as_real_array(x, "binary_step")
    return _result(np.where(x >= 0, 1.0, 0.0), x)


def binary_step_derivative(x: ArrayLike) -> np.floating | np.ndarray:
    """Derivative of the binary step: 0 everywhere, elementwise.

    Slide: Derivatives of other Activation Functions. For x ≠ 0 the derivative is 0. At
    x = 0 the step has no derivative (the lecture's table writes "?"); we choose 0, as
    frameworks do. A zero gradient everywhere is why the binary step cannot be trained
    with gradient descent.
    """
    x = as_real_array(x, "binary_step_derivative")
    return _result(np.zeros_like(x), x)


# --------------------------------------------------------------------------------------
# Softmax
# --------------------------------------------------------------------------------------


def softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: softmax(z)_k = e^(z_k) / Σ_c e^(z_c).

    Shift-invariant (softmax(z + c) = softmax(z) for any constant c along ``axis``), so
    it is computed from z − max(z) and never overflows. Used for the output layer of the
    lecture's CNN example (slide: CNN example) together with cross-entropy.

    Args:
        z: array of scores ("logits"), e.g. shape (N, C) with ``axis=-1``; needs at
            least one dimension.
        axis: the axis whose entries sum to 1 (default: the last).

    Returns:
        Array of the same shape as ``z`` with non-negative entries summing to 1 along
        ``axis``.
    """
    z = as_real_array(z, "softmax")
    if z.ndim == 0:
        raise ValueError("softmax expected an array with at least 1 dimension, got a scalar")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------


class Activation(NamedTuple):
    """An activation function and its derivative; unpacks as ``fn, derivative``."""

    fn: ActivationFn
    derivative: ActivationFn


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, sigmoid_derivative),
    "tanh": Activation(tanh, tanh_derivative),
    "arctan": Activation(arctan, arctan_derivative),
    "relu": Activation(relu, relu_derivative),
    "prelu": Activation(prelu, prelu_derivative),
    "elu": Activation(elu, elu_derivative),
    "softplus": Activation(softplus, softplus_derivative),
    "binary_step": Activation(binary_step, binary_step_derivative),
}


def get(name: str) -> Activation:
    """Return the ``(fn, derivative)`` pair registered under ``name`` in ``ACTIVATIONS``.

    Raises:
        TypeError: if ``name`` is not a string.
        ValueError: if ``name`` is not a registered activation (the message lists them).
    """
    if not isinstance(name, str):
        raise TypeError(
            f"activations.get expected name to be an activation name (str), "
            f"got {type(name).__name__}"
        )
    try:
        return ACTIVATIONS[name]
    except KeyError:
        valid = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(
            f"activations.get expected name to be one of {valid}, got {name!r}"
        ) from None
