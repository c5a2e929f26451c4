"""Input checks shared by the numerical modules (activations, losses, gradient descent)."""

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
