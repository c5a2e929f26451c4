"""Optimisers: turn the gradients from backpropagation into weight updates.

Slides: "Gradient Descent Rule", "Gradient descent" and "Learning Rate". The gradient
says in which direction the loss increases fastest; the learning rate says how far to
step the other way.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from week14._validation import check_real


class SGD:
    """(Mini-batch) stochastic gradient descent, with optional classical momentum.

    Without momentum (``momentum=0``) each step is the lecture's rule (slide: "Gradient
    Descent Rule")::

        w ← w − lr · g

    With momentum ``μ`` a velocity ``v`` (one per parameter key, starting at 0) keeps a
    decaying sum of past steps, which damps zig-zagging and speeds up progress along
    shallow valleys::

        v ← μ · v − lr · g
        w ← w + v

    Args:
        lr: learning rate η > 0 (slide: "Learning Rate"). A ``Trainer`` may reassign
            ``optimizer.lr`` each epoch from a schedule; the new value is validated too.
        momentum: μ with 0 ≤ μ < 1 (default 0: plain gradient descent).
    """

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        self.lr = lr
        self.momentum = check_real("SGD", "momentum", momentum, ge=0.0, lt=1.0)
        self.velocity: dict[str, np.ndarray] = {}

    @property
    def lr(self) -> float:
        """The learning rate η used by the next ``step``."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_real("SGD", "lr", value, gt=0.0)

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from the same key of ``grads``.

        ``params`` and ``grads`` are dicts as returned by ``Sequential.parameters()`` and
        ``Sequential.gradients()``: the same keys, and each gradient of its parameter's
        shape (ValueError naming the key otherwise).
        """
        if params.keys() != grads.keys():
            missing = sorted(params.keys() - grads.keys())
            extra = sorted(grads.keys() - params.keys())
            raise ValueError(
                f"SGD.step expected grads with the keys of params; missing {missing}, "
                f"unexpected {extra}"
            )
        for key, param in params.items():
            if np.shape(grads[key]) != param.shape:
                raise ValueError(
                    f"SGD.step: gradient {key!r} has shape {np.shape(grads[key])}, expected "
                    f"the parameter's shape {param.shape}"
                )
            velocity = self.velocity.get(key)
            if velocity is not None and velocity.shape != param.shape:
                raise ValueError(
                    f"SGD.step: parameter {key!r} has shape {param.shape} but its velocity "
                    f"has shape {velocity.shape}; use a new SGD for a new model"
                )
        for key, param in params.items():
            update = -self.lr * np.asarray(grads[key])
            if self.momentum:
                velocity = self.velocity.setdefault(key, np.zeros_like(param))
                velocity *= self.momentum
                velocity += update
                update = velocity
            param += update

    def buffers(self) -> dict[str, np.ndarray]:
        """The optimiser's per-parameter state: the momentum velocity ``v`` of each key.

        Keyed like the ``params`` given to :meth:`step` ("0.W", "0.b", ...), each array of
        its parameter's shape. Empty before the first step, and always with
        ``momentum=0`` (plain gradient descent keeps no state).

        The arrays are the live ones, not copies: a caller may edit them in place and the
        next ``step`` uses the edited values (``week14.pruning.MaskCallback`` zeroes the
        velocity of pruned weights so that momentum cannot revive them). The dict itself
        is new, so adding or removing its keys does not change the optimiser.
        """
        return dict(self.velocity)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr!r}, momentum={self.momentum!r})"
