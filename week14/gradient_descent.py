"""The lecture's gradient-descent rules for a single unit.

Slides: Gradient Descent Rule, Cost Function, Gradient Descent Rule or Sigmoid.

A single unit with weights w (one per input; put a column of ones in X for the bias,
the lecture's x_0 = 1) predicts ŷ_j = φ(Σ_i w_i x_ji) for example j, and is scored by

    SSE(w) = ½ Σ_j (y_j − ŷ_j)².

Gradient descent moves the weights against the gradient, w_i ← w_i − η ∂SSE/∂w_i, with
learning rate η > 0. For the two units of the lecture:

* linear, ŷ = Xw:     ∂SSE/∂w_i = Σ_j (y_j − ŷ_j)(−x_ji),
                                 i.e.  ∇SSE = −Xᵀ(y − ŷ);
* sigmoid, ŷ = σ(Xw): ∂SSE/∂w_i = Σ_j (y_j − ŷ_j) ŷ_j(1 − ŷ_j)(−x_ji),
                                 i.e.  ∇SSE = −Xᵀ[(y − ŷ) ⊙ ŷ(1 − ŷ)].

The slides write the update as w_i ← w_i + η Σ_j (y_j − ŷ_j) x_ji (times ŷ_j(1 − ŷ_j) for
the sigmoid): that is exactly w − η·∂SSE/∂w with the two minus signs multiplied out.

For a linear unit SSE(w) is a quadratic bowl (a parabola along any line), so there is a
single minimum; for a sigmoid unit it is not, and it flattens out where the sigmoid
saturates. The cost helpers accept a whole grid of weight vectors at once, which is how
the notebooks draw these surfaces.

Shapes: X is (n, d) (n examples, d inputs), y is (n,), and w is (d,) for one weight
vector or (d, ...) for many (e.g. (d, k), or (2, H, W) from ``np.stack(np.meshgrid(...))``);
ŷ then has shape (n, ...) and the gradient has the shape of w.
"""

from __future__ import annotations

import numpy as np

from week14._validation import as_real_array, check_real
from week14.activations import sigmoid


def _check_inputs(
    X: object, y: object, w: object, func: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate X (n, d), y (n,), w (d, ...) and return them as float arrays."""
    X = as_real_array(X, func, "X")
    y = as_real_array(y, func, "y")
    w = as_real_array(w, func, "w")
    if X.ndim != 2:
        raise ValueError(f"{func} expected X of shape (n, d), got shape {X.shape}")
    n, d = X.shape
    if y.shape != (n,):
        raise ValueError(
            f"{func} expected y of shape ({n},) to match X's {n} rows, got shape {y.shape}"
        )
    if w.ndim == 0 or w.shape[0] != d:
        raise ValueError(
            f"{func} expected w with {d} weights (shape ({d},) or ({d}, ...)) to match "
            f"X's {d} columns, got shape {w.shape}"
        )
    return X, y, w


def _predict(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ŷ = Xw for every weight vector in w: shape (n,) for w (d,), (n, ...) for w (d, ...)."""
    return np.tensordot(X, w, axes=1)


def _targets(y: np.ndarray, y_hat: np.ndarray) -> np.ndarray:
    """Reshape y (n,) to broadcast against y_hat (n, ...)."""
    return y.reshape(y.shape + (1,) * (y_hat.ndim - 1))


def _sse(y: np.ndarray, y_hat: np.ndarray) -> float | np.ndarray:
    """½ Σ_j (y_j − ŷ_j)² over the examples axis; a float for a single weight vector."""
    cost = 0.5 * np.sum((_targets(y, y_hat) - y_hat) ** 2, axis=0)
    return float(cost) if cost.ndim == 0 else cost


def _backprop_to_w(X: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Σ_j delta_j (−x_ji) for every i (and every weight vector): −Xᵀ delta, shape of w."""
    return -np.tensordot(X.T, delta, axes=1)


def sse_cost(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float | np.ndarray:
    """SSE of a linear unit, ½ Σ_j (y_j − x_j·w)² (slide: Cost Function).

    Args:
        X: inputs, shape (n, d).
        y: targets, shape (n,).
        w: weights, shape (d,) or (d, ...) for many weight vectors at once.

    Returns:
        A float for w of shape (d,); otherwise an array of shape w.shape[1:].
    """
    X, y, w = _check_inputs(X, y, w, "sse_cost")
    return _sse(y, _predict(X, w))


def sigmoid_sse_cost(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float | np.ndarray:
    """SSE of a sigmoid unit, ½ Σ_j (y_j − σ(x_j·w))² (slide: Gradient Descent Rule or Sigmoid).

    Shapes as in ``sse_cost``.
    """
    X, y, w = _check_inputs(X, y, w, "sigmoid_sse_cost")
    return _sse(y, sigmoid(_predict(X, w)))


def sse_gradient(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Gradient of SSE for a linear unit ŷ = Xw: ∂SSE/∂w = −Xᵀ(y − Xw) (slide: Cost Function).

    Component by component, as on the slide, ∂SSE/∂w_i = Σ_j (y_j − ŷ_j)·(−x_ji): the
    error of example j times the rate of change of the weighted sum with respect to w_i.

    Args:
        X: inputs, shape (n, d).
        y: targets, shape (n,).
        w: weights, shape (d,) or (d, ...) for many weight vectors at once.

    Returns:
        Float array with the shape of ``w``.

    Raises:
        ValueError: if the shapes do not fit together (the message gives both).
        TypeError: if an input is not real-valued.
    """
    X, y, w = _check_inputs(X, y, w, "sse_gradient")
    y_hat = _predict(X, w)
    return _backprop_to_w(X, _targets(y, y_hat) - y_hat)


def sigmoid_sse_gradient(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Gradient of SSE for a sigmoid unit ŷ = σ(Xw): −Xᵀ[(y − ŷ) ⊙ ŷ(1 − ŷ)].

    Slide: Gradient Descent Rule or Sigmoid. By the chain rule each example's error
    y_j − ŷ_j is multiplied by σ'(x_j·w) = ŷ_j(1 − ŷ_j) (slide: Derivative of the Sigmoid
    Function) before it is spread over the inputs x_ji. Where the sigmoid saturates
    (ŷ ≈ 0 or 1) that factor, and with it the gradient, is close to zero.

    Args and returns as in ``sse_gradient``.
    """
    X, y, w = _check_inputs(X, y, w, "sigmoid_sse_gradient")
    y_hat = sigmoid(_predict(X, w))
    return _backprop_to_w(X, (_targets(y, y_hat) - y_hat) * y_hat * (1.0 - y_hat))


def gradient_descent_step(w: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """One gradient-descent update, w − η·grad (slide: Gradient Descent Rule).

    The slide writes it as w_i ← w_i + Δw_i with Δw_i = −η ∂J/∂w_i. Returns a new array;
    ``w`` is not modified.

    Args:
        w: current weights, any shape.
        grad: ∂J/∂w, same shape as ``w``.
        lr: the learning rate η, a finite number > 0.

    Raises:
        ValueError: if ``lr`` is not a finite positive number or the shapes differ.
        TypeError: if an input is not real-valued.
    """
    lr = check_real("gradient_descent_step", "lr", lr, gt=0.0)
    w = as_real_array(w, "gradient_descent_step", "w")
    grad = as_real_array(grad, "gradient_descent_step", "grad")
    if w.shape != grad.shape:
        raise ValueError(
            f"gradient_descent_step expected grad with the shape of w {w.shape}, "
            f"got {grad.shape}"
        )
    return w - lr * grad
