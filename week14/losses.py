"""Cost functions and their gradients (slides: Cost Function, Cost Function (J)).

Vocabulary, as on the slide "Cost Function":

* the **error** of one prediction is the plain difference ŷ − y;
* a **loss** scores one training example, e.g. the squared error (ŷ − y)², or the
  cross-entropy −log p̂_y for a classifier; choosing it is a modelling decision (a loss
  may, for example, punish errors in one direction more than in the other);
* a **cost** J aggregates the losses over the whole data set (or a mini-batch), e.g.
  their mean. Gradient descent minimises the cost.

The lecture's squared-error costs carry a factor ½,

    SSE = ½ Σ_i (ŷ_i − y_i)²,          MSE = J = 1/(2m) Σ_i (ŷ_i − y_i)²,

because differentiating the square brings down a 2 that the ½ cancels: ∂SSE/∂ŷ_i is just
the error ŷ_i − y_i. The ½ rescales the cost without moving its minimum, so nothing is
lost. Here m is the number of examples, the length of the first axis of ŷ (rows are
examples); for multi-output ŷ of shape (m, k) the sum runs over all m·k entries but is
divided by m only.

``asymmetric_mse`` is such a modelling decision: the MSE with under-predictions weighted
more, built from the per-prediction loss ``asymmetric_squared_error``.
``softmax_cross_entropy`` is the usual classification cost for the network's raw scores
(logits); ``get_loss`` turns a name into a ``(y_hat, y) -> (value, gradient)`` callable as
a training loop needs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from week14._validation import as_real_array, check_labels, check_real

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def _residual(y_hat: object, y: object, func: str) -> np.ndarray:
    """Return ŷ − y as a float array after checking both are real arrays of equal shape."""
    y_hat = as_real_array(y_hat, func, "y_hat")
    y = as_real_array(y, func, "y")
    if y_hat.shape != y.shape:
        raise ValueError(
            f"{func} expected y_hat and y of the same shape, got y_hat {y_hat.shape} "
            f"and y {y.shape}"
        )
    return y_hat - y


def _num_examples(residual: np.ndarray, func: str) -> int:
    """m = number of rows (examples); a scalar counts as one example."""
    m = residual.shape[0] if residual.ndim else 1
    if m == 0:
        raise ValueError(f"{func} expected at least one example, got shape {residual.shape}")
    return m


def sse(y_hat: np.ndarray, y: np.ndarray) -> float:
    """Sum of squared errors, SSE = ½ Σ (ŷ − y)² over all entries (slide: Cost Function).

    Args:
        y_hat: predictions, any shape.
        y: targets, same shape as ``y_hat``.

    Returns:
        The cost as a Python float.

    Raises:
        ValueError: if the shapes differ (both are named).
        TypeError: if either input is not real-valued.
    """
    r = _residual(y_hat, y, "sse")
    return 0.5 * float(np.sum(r * r))


def sse_derivative(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of SSE with respect to the predictions, ∂SSE/∂ŷ = ŷ − y (the error).

    Slide: Cost Function; the ½ in SSE cancels the 2 from the square.

    Returns:
        Float array with the shape of ``y_hat``.
    """
    return _residual(y_hat, y, "sse_derivative")


def mse(y_hat: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error as in the lecture, J = 1/(2m) Σ (ŷ − y)² (slide: Cost Function (J)).

    m is the number of examples, ``y_hat.shape[0]`` (the length of a 1-D array; 1 for a
    scalar). Note the ½: this is half of ``sklearn.metrics.mean_squared_error`` for 1-D
    input. For a linear unit it is a parabola in the weights, with a single minimum.

    Args:
        y_hat: predictions, shape (m,) or (m, k).
        y: targets, same shape as ``y_hat``.

    Returns:
        The cost as a Python float.

    Raises:
        ValueError: if the shapes differ or there are no examples.
        TypeError: if either input is not real-valued.
    """
    r = _residual(y_hat, y, "mse")
    return float(np.sum(r * r)) / (2 * _num_examples(r, "mse"))


def mse_derivative(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the lecture's MSE with respect to the predictions, ∂J/∂ŷ = (ŷ − y) / m.

    Slide: Cost Function (J).

    Returns:
        Float array with the shape of ``y_hat``.
    """
    r = _residual(y_hat, y, "mse_derivative")
    return r / _num_examples(r, "mse_derivative")


def _weighted_squares(residual: np.ndarray, under_weight: float) -> np.ndarray:
    """Per-entry loss c·r²: c = ``under_weight`` where r = ŷ − y < 0, else c = 1."""
    return np.where(residual < 0, under_weight, 1.0) * residual * residual


def asymmetric_squared_error(
    y_hat: np.ndarray, y: np.ndarray, under_weight: float = 3.0
) -> np.ndarray:
    """The loss of each prediction when under-predicting costs ``under_weight`` times more.

    With r = ŷ − y, entry by entry,

        loss = c·r²,   c = under_weight if r < 0 (ŷ below y) else 1.

    A loss that punishes errors in one direction more than in the other (slide: Cost
    Function); :func:`asymmetric_mse` averages it into a cost.

    Args:
        y_hat: predictions; y: targets. Any shapes that broadcast together (e.g. a grid
            of predictions (..., m) against targets (m,)).
        under_weight: factor for under-predictions, a finite number > 0.

    Returns:
        Float array of the broadcast shape.

    Raises:
        ValueError: if ``under_weight`` is not a finite number > 0.
        TypeError: if an input is not real-valued.
    """
    weight = check_real("asymmetric_squared_error", "under_weight", under_weight, gt=0.0)
    y_hat = as_real_array(y_hat, "asymmetric_squared_error", "y_hat")
    y = as_real_array(y, "asymmetric_squared_error", "y")
    return _weighted_squares(y_hat - y, weight)


def asymmetric_mse(y_hat: np.ndarray, y: np.ndarray, under_weight: float = 3.0) -> float:
    """The lecture's MSE with under-predictions weighted ``under_weight`` times more.

    With r_i = ŷ_i − y_i and m examples (rows of ``y_hat``),

        J = 1/(2m) Σ_i c_i r_i²,   c_i = under_weight if r_i < 0 (ŷ_i below y_i) else 1.

    ``under_weight = 1`` is :func:`mse`. Useful when predicting too little costs more
    than predicting too much (a false negative worse than a false positive); slide:
    "Cost Function" (non-symmetric loss). For ŷ of shape (m, k) the sum runs over all
    entries and is divided by 2m.

    Args:
        y_hat: predictions, shape (m,) or (m, k).
        y: targets, same shape.
        under_weight: factor for under-predictions, a finite number > 0.

    Returns:
        The cost as a Python float.

    Raises:
        ValueError: if the shapes differ, there are no examples, or ``under_weight`` is
            not a finite number > 0.
        TypeError: if an input is not real-valued.
    """
    weight = check_real("asymmetric_mse", "under_weight", under_weight, gt=0.0)
    r = _residual(y_hat, y, "asymmetric_mse")
    return float(np.sum(_weighted_squares(r, weight))) / (2 * _num_examples(r, "asymmetric_mse"))


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of integer labels and its gradient with respect to the logits.

    With p = softmax(z) for each row z of ``logits`` and true class y,

        loss = −(1/N) Σ_n log p_{n, y_n},      ∂loss/∂z_{n,c} = (p_{n,c} − [c = y_n]) / N.

    log p is computed by the log-sum-exp trick, log p_c = s_c − log Σ_k e^(s_k) with
    s = z − max(z), so no exponential overflows. Because e^(s_max) = 1 exactly, the
    normaliser is evaluated as log1p(Σ_{k ≠ argmax} e^(s_k)), and p_y − 1 as
    −Σ_{c ≠ y} p_c: both stay accurate when the network is confidently right and the loss
    and gradient are tiny. Slide: CNN example (softmax output layer).

    Args:
        logits: raw scores, shape (N, C), N ≥ 1, C ≥ 1.
        labels: class indices, shape (N,), integers in [0, C) (integral floats accepted).

    Returns:
        ``(loss, dlogits)``: the mean loss as a Python float, and its gradient, a float
        array of shape (N, C).

    Raises:
        ValueError: if ``logits`` is not 2-D and non-empty, if ``labels`` does not have
            shape (N,), or if a label is not an integer in [0, C).
        TypeError: if either input is not real-valued.
    """
    z = as_real_array(logits, "softmax_cross_entropy", "logits")
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(
            f"softmax_cross_entropy expected logits of shape (N, C) with N, C >= 1, "
            f"got shape {z.shape}"
        )
    n, num_classes = z.shape
    y = check_labels("softmax_cross_entropy", "labels", labels, num_classes, n)
    rows = np.arange(n)

    shifted = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(shifted)
    others = e.copy()
    others[rows, np.argmax(z, axis=1)] = 0.0
    log_norm = np.log1p(np.sum(others, axis=1))
    loss = float(np.mean(log_norm - shifted[rows, y]))

    dlogits = e / (1.0 + np.sum(others, axis=1, keepdims=True))  # softmax probabilities
    dlogits[rows, y] = 0.0
    dlogits[rows, y] = -np.sum(dlogits, axis=1)  # p_y - 1 = -(sum of the other p_c)
    return loss, dlogits / n


def _with_gradient(
    name: str,
    value: Callable[[np.ndarray, np.ndarray], float],
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> LossFn:
    """Combine a cost and its derivative into one ``(y_hat, y) -> (value, grad)`` callable."""

    def loss(y_hat: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        return value(y_hat, y), derivative(y_hat, y)

    loss.__name__ = loss.__qualname__ = name
    loss.__doc__ = f"Return ({value.__name__}(y_hat, y), {derivative.__name__}(y_hat, y))."
    return loss


_LOSSES: dict[str, LossFn] = {
    "cross_entropy": softmax_cross_entropy,
    "mse": _with_gradient("mse", mse, mse_derivative),
    "sse": _with_gradient("sse", sse, sse_derivative),
}


def get_loss(name_or_callable: str | LossFn) -> LossFn:
    """Return a loss callable ``(y_hat, y) -> (value: float, gradient w.r.t. y_hat)``.

    Names: "cross_entropy" (``softmax_cross_entropy``: y_hat are logits (N, C), y integer
    labels (N,)), "mse" and "sse" (the lecture's ½-scaled squared errors). A callable is
    returned unchanged, so a training loop can take either.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for anything that is neither a string nor callable.
    """
    if callable(name_or_callable):
        return name_or_callable
    if not isinstance(name_or_callable, str):
        raise TypeError(
            "get_loss expected a loss name or a callable (y_hat, y) -> (value, grad), "
            f"got {type(name_or_callable).__name__}"
        )
    try:
        return _LOSSES[name_or_callable]
    except KeyError:
        valid = ", ".join(sorted(_LOSSES))
        raise ValueError(
            f"get_loss expected one of the losses {valid}, got {name_or_callable!r}"
        ) from None
