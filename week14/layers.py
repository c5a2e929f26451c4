"""Layers: each one a forward/backward pair with explicit caches.

Every layer has ``forward(x)``, ``backward(grad_out) -> grad_in`` and two dicts,
``params`` and ``grads``, with the same keys (empty for layers without weights).
``forward`` keeps what ``backward`` needs in ``self.cache``; ``backward`` fills
``self.grads`` with dL/dparam for the last forward pass and returns dL/dx.
"""

from __future__ import annotations

import numpy as np


class Layer:
    """Base class: a layer without parameters that passes its input through."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache: object = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
