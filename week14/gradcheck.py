"""Gradient checking: compare a backward pass with centred finite differences.

Backpropagation (slide: Backpropagation) is easy to get subtly wrong, and a wrong
gradient often still lowers the loss a little, so bugs hide. The cure, as in CS231n, is
to compare every analytic gradient with a numerical one,

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / (2h),

whose error is O(h²) (plus a rounding error of about ε_machine·|f| / h), and to report

    relative_error(a, b) = max_i |a_i − b_i| / max_i (|a_i| + |b_i|).

What to expect in float64 with h = 1e-6:

* about 1e-8 or less for smooth functions and layers (sigmoid, tanh, Dense, Conv2D,
  softmax cross-entropy): the gradient is right;
* around 1e-6 to 1e-4: suspicious, unless a kink (ReLU at 0, the max in max-pooling) lies
  within h of an input, in which case move the input;
* 1e-2 or more: the gradient is wrong.

float32 arithmetic cannot resolve differences this small: the best you can expect there
is about 1e-3, so check gradients in float64.

``numerical_gradient`` nudges one entry at a time, so it works for any scalar function
(and, through ``check_layer``, for a layer's input and parameters);
``centred_difference`` differentiates an elementwise function, such as an activation,
at every point in one vectorised call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from week14._rng import RngLike, as_generator
from week14._validation import as_real_array, check_real


class LayerLike(Protocol):
    """What ``check_layer`` needs of a layer (``week14.layers.Layer`` provides it)."""

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def forward(self, x: np.ndarray) -> np.ndarray: ...

    def backward(self, grad_out: np.ndarray) -> np.ndarray: ...


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Centred-difference gradient of a scalar function, ∂f/∂x_i ≈ (f(x+h) − f(x−h)) / 2h.

    Each entry of ``x`` is nudged **in place** by ±``eps`` and ``f(x)`` is re-evaluated,
    so ``f`` may also ignore its argument and read ``x`` through another reference (this is
    how ``check_layer`` checks a layer's parameter arrays). Every entry is restored to its
    original value before the function returns, also if ``f`` raises.

    The step actually taken is ``(x_i + eps) − (x_i − eps)`` as stored in ``x``'s dtype,
    which removes the representation error of the step itself; the difference quotient
    is computed in float64.

    Args:
        f: function of ``x`` returning a real scalar (e.g. a loss).
        x: writable float ndarray of any shape, the point at which to differentiate.
        eps: half-width h of the centred difference, > 0 (1e-6 suits float64).

    Returns:
        float64 array with the shape of ``x``: the numerical gradient.

    Raises:
        TypeError: if ``x`` is not a floating-point ndarray or ``f`` does not return a
            real scalar.
        ValueError: if ``eps`` is not positive.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        given = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(
            f"numerical_gradient expected x to be a floating-point numpy array "
            f"(it is perturbed in place), got {given}"
        )
    eps = check_real("numerical_gradient", "eps", eps, gt=0.0)
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        original = x[i]
        try:
            x[i] = original + eps
            plus = x[i]
            f_plus = _as_scalar(f(x))
            x[i] = original - eps
            minus = x[i]
            f_minus = _as_scalar(f(x))
        finally:
            x[i] = original
        grad[i] = (f_plus - f_minus) / (np.float64(plus) - np.float64(minus))
    return grad


def centred_difference(
    fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Numerical derivative of an elementwise function, f′(x) ≈ (f(x + h) − f(x − h)) / 2h.

    For an elementwise f (an activation, slide: Derivatives of other Activation
    Functions) this is :func:`numerical_gradient` of Σ_i f(x_i), computed in one
    vectorised call instead of one nudge per entry, and it is more accurate: each
    difference involves one f(x_i), not a sum of all of them. As there, the quotient
    divides by the step actually taken, ``(x + h) − (x − h)`` after rounding. The error
    is O(h²) where f is smooth; within h of a kink the difference straddles it and
    returns the average of the two one-sided slopes.

    Args:
        fn: elementwise function of a float array.
        x: points, real array of any shape (not modified).
        h: half-width of the difference, > 0.

    Returns:
        float64 array with the shape of ``x``.

    Raises:
        ValueError: if ``h`` is not a finite number > 0.
        TypeError: if ``x`` is not real-valued.
    """
    h = check_real("centred_difference", "h", h, gt=0.0)
    x = np.asarray(as_real_array(x, "centred_difference", "x"), dtype=np.float64)
    plus, minus = x + h, x - h
    rise = np.asarray(fn(plus), dtype=np.float64) - np.asarray(fn(minus), dtype=np.float64)
    return rise / (plus - minus)


def _as_scalar(value: object) -> np.float64:
    """Return ``value`` as a float64 scalar, or raise TypeError if it is not one number."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise TypeError(
            f"numerical_gradient expected f to return a real scalar, got "
            f"{type(value).__name__} with shape {arr.shape} and dtype {arr.dtype}"
        )
    return np.float64(arr.reshape(()))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Relative error max_i |a_i − b_i| / max_i (|a_i| + |b_i|) between two gradients.

    Normalising by the largest magnitude (not entry by entry) keeps entries that are
    both tiny from blowing the ratio up. Two all-zero arrays have error 0. The result is
    in [0, 1]; see the module docstring for what size to expect.

    Args:
        a, b: arrays (or scalars) of the same shape.

    Raises:
        ValueError: if the shapes differ.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"relative_error expected arrays of the same shape, got {a.shape} and {b.shape}"
        )
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b)) / max(scale, np.finfo(np.float64).tiny))


def check_layer(layer: LayerLike, x: np.ndarray, rng: RngLike = None) -> dict[str, float]:
    """Gradient-check a layer's backward pass against centred finite differences.

    With a fixed random G of the output's shape, the scalar L(x, θ) = Σ forward(x) ⊙ G
    has ∂L/∂out = G, so ``backward(G)`` must return ∂L/∂x and fill ``grads`` with ∂L/∂θ
    for every parameter array θ. Both are compared with ``numerical_gradient``: x is
    perturbed in a float64 copy (the caller's array is not touched) and each parameter
    array is perturbed in place and restored exactly.

    Only the layer interface is used: ``forward``, ``backward``, ``params``, ``grads``.
    On return the parameters are unchanged and the layer's cache and grads are those of
    an analytic forward/backward pass at ``x``.

    Expect about 1e-8 or less in float64 for smooth layers (Dense, Sigmoid, Tanh, conv,
    average pooling). For layers with kinks (ReLU, PReLU, max pooling) keep inputs away
    from the kink, otherwise the numerical gradient straddles it. Float32 parameters
    limit the accuracy to about 1e-3.

    Args:
        layer: object with ``forward(x)``, ``backward(grad_out)``, and dicts ``params``
            and ``grads`` with the same keys.
        x: input batch for the layer.
        rng: seed or Generator for G.

    Returns:
        ``{"x": error of dL/dx, name: error of dL/dname for each parameter}``.

    Raises:
        ValueError: if ``backward`` does not fill ``grads`` with an array of the right
            shape for every parameter, or returns dL/dx of the wrong shape.
    """
    x = np.array(x, dtype=np.float64)
    out = np.asarray(layer.forward(x))
    upstream = as_generator(rng).standard_normal(out.shape)

    def loss(_: np.ndarray) -> float:
        return float(np.sum(np.asarray(layer.forward(x)) * upstream))

    numeric = {"x": numerical_gradient(loss, x)}
    for name, param in layer.params.items():
        numeric[name] = numerical_gradient(loss, param)

    layer.forward(x)
    analytic = {"x": np.asarray(layer.backward(upstream))}
    for name in layer.params:
        if name not in layer.grads:
            raise ValueError(
                f"{type(layer).__name__}.backward did not fill grads[{name!r}]; "
                f"grads has keys {sorted(layer.grads)}"
            )
        analytic[name] = np.asarray(layer.grads[name])

    errors: dict[str, float] = {}
    for name, expected in numeric.items():
        if analytic[name].shape != expected.shape:
            raise ValueError(
                f"{type(layer).__name__}: gradient for {name!r} has shape "
                f"{analytic[name].shape}, expected {expected.shape}"
            )
        errors[name] = relative_error(analytic[name], expected)
    return errors
