"""What notebook 05 (backpropagation) needs beyond :mod:`week14.grading`.

:func:`check_dW_numerically` is a gradient check of the student's backward pass of the
sigmoid layer y = σ(x W + b): its dW is compared with centred differences of
L(W) = Σ σ(x W + b) ⊙ dy (:func:`week14.gradcheck.numerical_gradient`), by their
relative error (:func:`week14.gradcheck.relative_error`), as in CS231n.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from week14 import activations, grading
from week14.gradcheck import numerical_gradient, relative_error

#: The largest relative error a right dW gets (about 1e-9 or less in float64).
MAX_RELATIVE_ERROR = 1e-7


def check_dW_numerically(dense_sigmoid_backward: Callable, cases: Iterable[grading.Case], *,
                         hidden: bool = False) -> None:
    """Fail unless, for every labelled case (x, W, b, dy), the dW that
    ``dense_sigmoid_backward(x, W, b, dy)`` returns first (of dW, db, dx) agrees with
    centred differences of L(W) = Σ σ(x W + b) ⊙ dy to a relative error below
    :data:`MAX_RELATIVE_ERROR`. The message gives the relative error and what a right dW
    gets, and names a hidden case by its label only. Use unsaturated cases: where σ
    saturates, both gradients are about 0 and their relative error says nothing."""
    cases = list(cases)
    results = grading.results(dense_sigmoid_backward, cases, hidden=hidden)
    for case, result in zip(cases, results, strict=True):
        x, W, b, dy = case
        where = f"a hidden case ({case.label})" if hidden else \
            f"x of shape {np.shape(x)} and W of shape {np.shape(W)}"
        try:
            dW = np.asarray(result[0], dtype=np.float64)
        except (TypeError, ValueError, IndexError, KeyError):
            raise grading.CheckFailed(
                f"dense_sigmoid_backward should return (dW, db, dx) with dW an array, on "
                f"{where}") from None
        numeric = numerical_gradient(
            lambda W_, x=x, b=b, dy=dy: float(np.sum(activations.sigmoid(x @ W_ + b) * dy)),
            np.array(W, dtype=np.float64))
        if dW.shape != numeric.shape:
            raise grading.CheckFailed(f"dW has shape {dW.shape} on {where}, expected the "
                                      f"shape of W, {numeric.shape}")
        error = relative_error(dW, numeric)
        if not error < MAX_RELATIVE_ERROR:
            raise grading.CheckFailed(
                f"dW fails a gradient check on {where}: relative error {error:.1e} against "
                "centred differences of L(W) = Σ σ(xW + b) ⊙ dy (a right dW gives about 1e-9 "
                "or less)")
