"""Input checks shared by the library's modules.

Every check words its error the same way,

    "{func} expected {what the argument must be}, got {what it got}"

for example ``"SGD expected lr > 0, got -0.1"`` or ``"Dense expected in_features to
be an int, got float 2.0"``: the function (or ``Class.method``) that was called, the
argument, the condition, what was passed, and the fix where there is one. As in Python
itself, an argument of the wrong type raises ``TypeError`` and one of the right type
with a bad value (out of range, NaN, the wrong shape) raises ``ValueError``.
"""

from __future__ import annotations

import math
import reprlib
from numbers import Real

import numpy as np


def _got(value: object) -> str:
    """``value``'s type and a short repr, e.g. ``"float 2.5"`` or ``"str '0.1'"``."""
    return f"{type(value).__name__} {reprlib.repr(value)}"


def as_real_array(x: object, func: str, arg: str | None = None) -> np.ndarray:
    """Return ``x`` as a float ndarray, or raise TypeError if it is not real-valued.

    Integer and boolean input becomes float64; float16/32/64 keep their dtype (no copy
    when ``x`` already is a float ndarray). Strings, ``None``, complex numbers and object
    arrays raise ``TypeError`` with a message naming ``func`` (and ``arg``, if given) and
    what was received.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        what = f"{arg} to be " if arg else ""
        raise TypeError(
            f"{func} expected {what}a real number or an array of real numbers, "
            f"got {type(x).__name__} with dtype {arr.dtype}"
        )
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def check_int(
    func: str, name: str, value: object, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int, or raise unless it is an int in ``minimum..maximum``.

    TypeError for anything but an int or a NumPy integer (a bool is not a count);
    ValueError below ``minimum`` or above ``maximum`` (either bound may be None). The
    message names ``func`` and the argument ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{func} expected {name} to be an int, got {_got(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if minimum is not None and maximum is not None:
            condition = f"in {minimum}..{maximum}"
        else:
            condition = f">= {minimum}" if minimum is not None else f"<= {maximum}"
        raise ValueError(f"{func} expected {name} {condition}, got {value}")
    return int(value)


def check_real(
    func: str,
    name: str,
    value: object,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    finite: bool = True,
) -> float:
    """Return ``value`` as a float, or raise unless it is a real number within the bounds.

    The bounds are ``value > gt``, ``value >= ge``, ``value < lt`` and ``value <= le``
    (give at most one lower and one upper bound); the interval appears in the message
    as ``lr > 0`` or ``factor in (0, 1]``. TypeError for anything but a real number
    (Python or NumPy; a bool is not a number); ValueError for NaN or ±inf (unless
    ``finite=False``) and for a value outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{func} expected {name} to be a real number, got {_got(value)}")
    number = float(value)
    if finite and not math.isfinite(number):
        raise ValueError(f"{func} expected a finite {name}, got {number!r}")
    lower = gt if gt is not None else ge
    upper = lt if lt is not None else le
    above = lower is None or (number > lower if gt is not None else number >= lower)
    below = upper is None or (number < upper if lt is not None else number <= upper)
    if not (above and below):
        if lower is not None and upper is not None:
            left, right = "(" if gt is not None else "[", ")" if lt is not None else "]"
            condition = f"in {left}{lower:g}, {upper:g}{right}"
        elif lower is not None:
            condition = f"{'>' if gt is not None else '>='} {lower:g}"
        else:
            condition = f"{'<' if lt is not None else '<='} {upper:g}"
        raise ValueError(f"{func} expected {name} {condition}, got {number!r}")
    return number


def check_labels(
    func: str, name: str, labels: object, n_classes: int, n: int | None = None
) -> np.ndarray:
    """Return class labels as an int array of shape (N,) with values in 0..n_classes−1.

    Integer labels, and floats that are whole numbers (1.0), are accepted. TypeError if
    ``labels`` does not hold real numbers; ValueError if it is not 1-D (or not of shape
    ``(n,)`` when ``n`` is given), or holds a label that is not a whole number or is
    out of range. The message names ``func``, the argument ``name`` and the first bad
    label.
    """
    arr = as_real_array(labels, func, name)
    if arr.ndim != 1 or (n is not None and arr.shape != (n,)):
        shape = "(N,)" if n is None else f"({n},)"
        raise ValueError(
            f"{func} expected {name} of shape {shape}, one integer class label per "
            f"example (not one-hot), got shape {arr.shape}"
        )
    whole = np.isfinite(arr) & (arr == np.round(arr))
    if not np.all(whole):
        raise ValueError(
            f"{func} expected {name} to be integer class labels, got {arr[~whole][0]:g} "
            "(pass the argmax of the scores, not the scores)"
        )
    outside = (arr < 0) | (arr >= n_classes)
    if np.any(outside):
        raise ValueError(
            f"{func} expected {name} in 0..{n_classes - 1} ({n_classes} classes), "
            f"got {arr[outside][0]:g}"
        )
    return arr.astype(np.intp)


def check_grad_shape(func: str, grad_out: object, expected: tuple[int, ...]) -> np.ndarray:
    """Return ``grad_out`` as an array, or raise ValueError unless it has the forward
    output's shape ``expected``; the message names ``func`` (a function, or
    ``Layer.backward``)."""
    grad_out = np.asarray(grad_out)
    if grad_out.shape != expected:
        raise ValueError(
            f"{func} expected grad_out of the forward output's shape {expected}, "
            f"got shape {grad_out.shape}"
        )
    return grad_out


def check_mask(
    func: str, name: str, mask: object, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Return a pruning mask unchanged, or raise unless it is a boolean ndarray (True =
    kept; TypeError otherwise) of the weights' ``shape``, when that is given (ValueError
    otherwise). The message names ``func`` and the argument ``name``."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        got = f"dtype {mask.dtype}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(
            f"{func} expected {name} to be a boolean numpy array (True = kept), got {got}"
        )
    if shape is not None and mask.shape != shape:
        raise ValueError(
            f"{func} expected {name} of the weights' shape {shape}, got shape {mask.shape}"
        )
    return mask
