"""Random-number plumbing: every random draw in week14 takes a seed or a Generator."""

from __future__ import annotations

import numpy as np

RngLike = int | np.random.Generator | None


def as_generator(rng: RngLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``rng``.

    ``rng`` may be a Generator (returned as is, so draws continue its stream), an
    integer seed (a new Generator seeded with it) or ``None`` (fresh OS entropy).
    Nothing here touches NumPy's global random state. Anything else raises TypeError.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.default_rng(rng)
    raise TypeError(
        "as_generator expected rng to be an int seed, a numpy.random.Generator or None, "
        f"got {type(rng).__name__}"
    )
