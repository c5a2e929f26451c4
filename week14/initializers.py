"""Weight initialisers (slide: "Breaking symmetry").

If every weight of a layer starts at the same value, every unit of that layer computes
the same function of its inputs and receives the same gradient, so the units stay
identical for ever: all zeros give the next layer no signal at all, all ones make each
unit output ``sigmoid(sum(inputs))``. Random initial weights break that symmetry. The
scaled schemes below (Glorot, He) also keep the variance of the signal roughly constant
from layer to layer, so deep stacks neither saturate nor die at the start.

Every initialiser has the signature ``init(shape, rng=None, *, dtype=np.float64)`` and
returns a fresh array of that shape and dtype; ``rng`` is an int seed, a
``numpy.random.Generator`` (its stream continues) or ``None``. The deterministic ones
(``zeros``, ``ones``, ``constant``) accept ``rng`` and ignore it, so that a layer can
call any of them as ``init(shape, rng=generator)``.

Fan-in and fan-out (see :func:`fan_in_fan_out`) follow the layouts of
:mod:`week14.layers`: a dense weight is ``(in_features, out_features)``; a convolution
weight is ``(F, C, kh, kw)`` (filters, input channels, kernel height, kernel width).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from math import prod, sqrt
from typing import Protocol

import numpy as np
import numpy.typing as npt

from week14._rng import RngLike, as_generator
from week14._validation import check_real

ShapeLike = int | Sequence[int]


class Initializer(Protocol):
    """What a layer calls: ``init(shape, rng=generator) -> ndarray`` of exactly that shape."""

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray: ...


def _as_shape(func: str, shape: ShapeLike) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of non-negative ints, or raise naming ``func`` and what
    was given: TypeError unless it is an int or a sequence of ints, ValueError for a
    negative dimension."""
    dims = tuple(shape) if isinstance(shape, Iterable) else (shape,)  # an int, or not a shape
    if not all(isinstance(d, int | np.integer) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"{func} expected shape to be an int or a sequence of ints, got {shape!r}")
    if any(d < 0 for d in dims):
        raise ValueError(f"{func} expected shape with non-negative dimensions, got {shape!r}")
    return tuple(int(d) for d in dims)


def fan_in_fan_out(shape: ShapeLike) -> tuple[int, int]:
    """Number of inputs and outputs of one unit of a layer whose weight has ``shape``.

    - dense ``(in, out)``: ``fan_in = in``, ``fan_out = out``;
    - convolution ``(F, C, kh, kw)`` (or any ``(F, C, *kernel)``): each output value sees
      ``C·kh·kw`` inputs and each input feeds ``F·kh·kw`` outputs, so
      ``fan_in = C·kh·kw`` and ``fan_out = F·kh·kw``;
    - a vector ``(n,)`` (a bias): ``fan_in = fan_out = n``.

    Raises ValueError for a scalar shape ``()``.
    """
    return _fans("fan_in_fan_out", shape)


def _fans(func: str, shape: ShapeLike) -> tuple[int, int]:
    """:func:`fan_in_fan_out`, with errors naming ``func`` (the initialiser called)."""
    dims = _as_shape(func, shape)
    if len(dims) == 0:
        raise ValueError(
            f"{func} expected a shape with at least one dimension (for fan-in and fan-out), "
            "got shape ()"
        )
    if len(dims) == 1:
        return dims[0], dims[0]
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive_field = prod(dims[2:])
    return dims[1] * receptive_field, dims[0] * receptive_field


def zeros(
    shape: ShapeLike, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """All zeros: ``w = 0``. The usual choice for biases; for weights it is the symmetric
    start the slide "Breaking symmetry" warns about (no signal reaches later layers).

    ``rng`` is accepted for the common initialiser signature and ignored.
    """
    return np.zeros(_as_shape("zeros", shape), dtype=dtype)


def ones(
    shape: ShapeLike, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """All ones: ``w = 1``. Every unit of the layer then outputs the same value,
    ``f(sum(inputs))`` (slide: "Breaking symmetry"). ``rng`` is ignored.
    """
    return np.ones(_as_shape("ones", shape), dtype=dtype)


def constant(
    shape: ShapeLike, value: float, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """Every entry equal to ``value``: ``w = c`` (slide: "Breaking symmetry"). ``rng`` is
    ignored."""
    return np.full(_as_shape("constant", shape), value, dtype=dtype)


def normal(
    shape: ShapeLike, std: float = 0.01, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """Independent Gaussian entries ``w ~ N(0, std²)`` (slide: "Breaking symmetry").

    Small random values break the symmetry, but a fixed ``std`` ignores the layer's size;
    see :func:`glorot_normal` and :func:`he_normal` for scaled versions.
    """
    std = check_real("normal", "std", std, ge=0.0, finite=False)
    draws = as_generator(rng).normal(0.0, std, size=_as_shape("normal", shape))
    return draws.astype(dtype, copy=False)


def uniform(
    shape: ShapeLike, limit: float = 0.05, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """Independent uniform entries ``w ~ U(-limit, limit)``, variance ``limit²/3``
    (slide: "Breaking symmetry")."""
    limit = check_real("uniform", "limit", limit, ge=0.0, finite=False)
    draws = as_generator(rng).uniform(-limit, limit, size=_as_shape("uniform", shape))
    return draws.astype(dtype, copy=False)


def glorot_uniform(
    shape: ShapeLike, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """Glorot (Xavier) uniform: ``w ~ U(-L, L)`` with ``L = sqrt(6 / (fan_in + fan_out))``,
    so ``Var(w) = 2 / (fan_in + fan_out)`` (Glorot & Bengio 2010). Suited to tanh and
    sigmoid layers (slide: "Breaking symmetry").
    """
    fan_in, fan_out = _fans("glorot_uniform", shape)
    return uniform(shape, sqrt(6.0 / max(fan_in + fan_out, 1)), rng, dtype=dtype)


def glorot_normal(
    shape: ShapeLike, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """Glorot (Xavier) normal: ``w ~ N(0, σ²)`` with ``σ = sqrt(2 / (fan_in + fan_out))``
    (slide: "Breaking symmetry"). Untruncated, unlike Keras' ``GlorotNormal``.
    """
    fan_in, fan_out = _fans("glorot_normal", shape)
    return normal(shape, sqrt(2.0 / max(fan_in + fan_out, 1)), rng, dtype=dtype)


def he_normal(
    shape: ShapeLike, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """He (Kaiming) normal: ``w ~ N(0, σ²)`` with ``σ = sqrt(2 / fan_in)`` (He et al.
    2015). The factor 2 makes up for ReLU zeroing half of its inputs (slide: "Breaking
    symmetry"). Untruncated, unlike Keras' ``HeNormal``.
    """
    fan_in, _ = _fans("he_normal", shape)
    return normal(shape, sqrt(2.0 / max(fan_in, 1)), rng, dtype=dtype)


def he_uniform(
    shape: ShapeLike, rng: RngLike = None, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """He (Kaiming) uniform: ``w ~ U(-L, L)`` with ``L = sqrt(6 / fan_in)``, so
    ``Var(w) = 2 / fan_in`` (slide: "Breaking symmetry").
    """
    fan_in, _ = _fans("he_uniform", shape)
    return uniform(shape, sqrt(6.0 / max(fan_in, 1)), rng, dtype=dtype)


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "zeros": zeros,
    "ones": ones,
    "normal": normal,
    "uniform": uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}
"""Initialisers that need nothing but a shape and an rng, by name (``get`` looks here)."""


def get(name: str | Initializer) -> Initializer:
    """Return the initialiser called ``name`` (a key of :data:`INITIALIZERS`).

    A callable ``init(shape, rng) -> ndarray`` is returned unchanged, so layers accept
    either a name or a function. ``constant`` needs a value, so it is not looked up by
    name: pass ``functools.partial(constant, value=c)``.

    Raises ValueError listing the valid names for an unknown name, TypeError for
    anything that is neither a string nor callable.
    """
    if isinstance(name, str):
        try:
            return INITIALIZERS[name]
        except KeyError:
            raise ValueError(
                f"initializers.get expected the name of an initializer, one of "
                f"{sorted(INITIALIZERS)}, got {name!r}"
            ) from None
    if callable(name):
        return name
    raise TypeError(
        "initializers.get expected an initializer name or a callable(shape, rng), "
        f"got {type(name).__name__}"
    )
