"""Input checks shared by the library's modules."""

from __future__ import annotations

import numpy as np


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


def check_int(func: str, name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int, or raise TypeError/ValueError unless it is an int
    (not a bool) >= ``minimum``; the message names ``func`` and the argument ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{func} expected {name} to be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{func} expected {name} >= {minimum}, got {value}")
    return int(value)


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
