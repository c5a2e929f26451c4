"""What notebooks 08 (convolution) and 09 (pooling) need beyond :mod:`week14.grading`.

:func:`check_kernel` grades a kernel the student wrote as an array (not a function)
against the lecture's; :func:`check_average_of_integers` grades average pooling of an
integer image, where the one common mistake (an output array of the input's integer
dtype) deserves a message that names the fix, before the usual comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from week14 import functional, grading


def kernel_answer(namespace: dict, name: str) -> Callable[[], np.ndarray]:
    """The notebook's global ``name`` (a kernel the student wrote) as a function of no
    arguments, for :func:`week14.grading.check_function`; a kernel of integers counts as
    the same numbers in floats. Fails if the name is not defined."""
    if name not in namespace:
        raise grading.CheckFailed(f"define `{name}` in the cell above and run it")
    kernel = np.asarray(namespace[name])
    if kernel.dtype.kind in "iu":
        kernel = kernel.astype(float)

    def answer() -> np.ndarray:
        return kernel

    answer.__name__ = name
    return answer


def check_kernel(namespace: dict, name: str, reference: Callable[[], np.ndarray], *,
                 label: str) -> None:
    """Fail unless the notebook's kernel ``name`` equals ``reference()`` (the slide's);
    ``label`` says which kernel of the slide it should be. A known wrong kernel is named
    (:mod:`week14.misconceptions`)."""
    grading.check_function(kernel_answer(namespace, name), reference,
                           cases=[grading.case(label)], name=name)


def check_average_of_integers(avg_pool: Callable, case: grading.Case) -> None:
    """Fail unless ``avg_pool(*case)``, average pooling of an integer image, returns the
    averages as floats, and the right ones (:func:`week14.grading.check_function` on
    ``case``, a labelled visible case ``(x, size, stride)``).

    The average of integers is not an integer: an output array made with the input's
    dtype (``np.zeros(shape, dtype=x.dtype)``) silently truncates every mean, and the
    message says so and how to fix it, with the (visible) values."""
    x, size, stride = case
    expected = functional.avg_pool2d(np.asarray(x, dtype=float), size, stride)
    pooled: Any = avg_pool(x, size, stride)
    if pooled is not None and np.asarray(pooled).dtype.kind in "iub":
        raise grading.CheckFailed(
            f"avg_pool(an integer image of shape {np.shape(x)}, size={size}, stride={stride}) "
            f"returned "
            f"{np.asarray(pooled).dtype} values {np.asarray(pooled).ravel().tolist()}, "
            f"expected floats {expected.ravel().tolist()}: the average of integers is not "
            "an integer. Make the output a float array, e.g. np.zeros(shape) (float64 by "
            "default) instead of np.zeros(shape, dtype=x.dtype), or take the means of "
            "x.astype(float)")
    grading.check_function(avg_pool, functional.avg_pool2d, cases=[case])
