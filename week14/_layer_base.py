"""The ``Layer`` base class and what the layers of :mod:`week14.layers` share: the check
that ``forward`` ran before ``backward``, drawing a parameter's initial values, and how a
layer's repr tells parameters its initializer drew from values set since (slides:
"Feedforward", "Backpropagation", "Breaking symmetry").

``week14.layers`` re-exports :class:`Layer`; the functions are package-internal.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

from week14 import initializers
from week14._validation import check_grad_shape
from week14.initializers import Initializer

__all__ = ["Layer", "fingerprints", "initial_value", "name_of", "origin", "require_cache"]


class Layer:
    """Base class of the layers: ``forward(x)`` returns the output and keeps in
    ``self.cache`` what ``backward`` needs; ``backward(grad_out)`` takes dL/dout, fills
    ``self.grads`` with dL/dparam for the last forward pass and returns dL/dx. ``params``
    and ``grads`` are dicts with the same keys (empty for a layer without parameters).
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache: object = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output for ``x``; subclasses implement it."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dx for ``grad_out`` = dL/dout; subclasses implement it."""
        raise NotImplementedError

    def _checked_grad(self, grad_out: np.ndarray, expected: tuple[int, ...]) -> np.ndarray:
        """``grad_out`` as an array, if it has the forward output's shape ``expected``."""
        return check_grad_shape(f"{type(self).__name__}.backward", grad_out, expected)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def require_cache(layer: Layer) -> Any:
    """Return ``layer.cache``, or raise RuntimeError if ``forward`` has not run yet."""
    if layer.cache is None:
        raise RuntimeError(
            f"{type(layer).__name__}.backward called before forward: call forward(x) first"
        )
    return layer.cache


def initial_value(
    init: str | Initializer,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    dtype: npt.DTypeLike,
    owner: str,
) -> np.ndarray:
    """Draw a parameter array: ``init`` is a name in ``week14.initializers`` or a callable
    ``init(shape, rng=generator)``; the result is copied to ``dtype`` and must have
    ``shape`` (ValueError otherwise)."""
    value = np.array(initializers.get(init)(shape, rng=rng), dtype=dtype)
    if value.shape != shape:
        raise ValueError(
            f"{owner}: initializer {name_of(init)} returned shape {value.shape}, "
            f"expected {shape}"
        )
    return value


def name_of(init: str | Initializer) -> str:
    """How an initializer (or an activation function) appears in a layer's repr: its
    name, or the function's name."""
    return repr(init) if isinstance(init, str) else getattr(init, "__name__", repr(init))


def _fingerprint(value: np.ndarray) -> tuple:
    """What identifies an array's contents: its shape, dtype and a hash of its bytes."""
    arr = np.ascontiguousarray(value)
    return arr.shape, arr.dtype.str, hashlib.blake2b(arr.tobytes(), digest_size=16).digest()


def fingerprints(layer: Layer) -> dict[str, tuple]:
    """The fingerprint of each of ``layer``'s parameters; called right after the
    initializers drew them, the layer keeps the result as ``self._drawn`` for
    :func:`origin`."""
    return {name: _fingerprint(value) for name, value in layer.params.items()}


def origin(layer: Layer, key: str, setting: str, init: str | Initializer, changed: str) -> str:
    """How a layer's repr describes ``params[key]``: ``weight_init='zeros'`` while it
    still holds what the initializer drew, else ``changed`` (``weights set``): once the
    values were set by hand (the lecture's toy network), loaded or trained, the
    initializer no longer says what they are."""
    value = layer.params.get(key)
    drawn = getattr(layer, "_drawn", {}).get(key)
    if value is not None and drawn is not None and _fingerprint(value) == drawn:
        return f"{setting}={name_of(init)}"
    return changed
