"""Why weights start random: the symmetry experiment (slide: "Breaking symmetry").

If every weight starts at the same value, all hidden units of a layer compute the
same function of the input, so they receive the same error signal in backpropagation
and get the same update: after any amount of training they are still identical, and
a layer of H units is worth one unit. With all-zero weights it is worse still: the
units after the first layer receive no signal at all in the first step. Random
initial weights break this symmetry.

:func:`symmetry_experiment` trains a small MLP on XOR with a given initialiser and
reports how different its hidden units ended up (:func:`unit_spread`) and how well it
learnt. Equal initial weights (zeros, ones)
give spread 0 (up to rounding) and XOR stays unlearnt, since one unit cannot
represent it; random initial weights give distinct units that learn it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from week14._rng import RngLike, as_generator
from week14._validation import check_int
from week14.initializers import Initializer


def unit_spread(W: np.ndarray, b: np.ndarray | None = None) -> float:
    """Largest distance between two units' incoming weights: max_{j,k} ‖v_j − v_k‖₂.

    Slide: "Breaking symmetry". Unit j of a Dense layer ``x @ W + b`` has incoming
    vector v_j = (W[:, j], b[j]) (column j of W, plus its bias if ``b`` is given).
    The spread is 0 exactly when all units of the layer are identical.

    Args:
        W: weights of shape (in, H).
        b: optional biases of shape (H,).

    Returns:
        The spread, a float >= 0 (0 for a single unit).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"unit_spread expected W of shape (in, H), got shape {W.shape}")
    vectors = W.T
    if b is not None:
        b = np.asarray(b, dtype=np.float64)
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"unit_spread expected b of shape ({W.shape[1]},) to match W {W.shape}, "
                f"got shape {b.shape}"
            )
        vectors = np.column_stack([vectors, b])
    differences = vectors[:, None, :] - vectors[None, :, :]  # (H, H, in[+1])
    return float(np.sqrt((differences**2).sum(axis=-1)).max())


class SymmetryResult(NamedTuple):
    """Outcome of :func:`symmetry_experiment`.

    ``spread``: :func:`unit_spread` of the hidden layer after training.
    ``moved``: largest change of any hidden-layer weight or bias during training (0
    means the hidden layer never learnt anything, e.g. zeros with ReLU).
    ``accuracy``: accuracy of the trained network on the four XOR points.
    """

    spread: float
    moved: float
    accuracy: float


def symmetry_experiment(
    init: str | Initializer,
    *,
    hidden: int = 8,
    activation: str = "sigmoid",
    epochs: int = 300,
    lr: float = 1.0,
    rng: RngLike = 0,
) -> SymmetryResult:
    """Train a 2-``hidden``-2 MLP on XOR with all weights from ``init``; measure symmetry.

    Slide: "Breaking symmetry". Both weight matrices are drawn with ``init`` (a name
    in ``week14.initializers`` such as "zeros", "ones", "glorot_uniform", or a
    callable); biases start at zero (equal biases cannot break symmetry, so they do
    not matter here). The network is Dense → ``activation`` → Dense (logits),
    trained with softmax cross-entropy and full-batch gradient descent on the four
    XOR points of :func:`week14.data.xor`.

    Why constant weights stay symmetric: if column j of W₁ equals column k and row j
    of W₂ equals row k, units j and k have equal activations, so
    dL/dh_j = δ·W₂[j] = δ·W₂[k] = dL/dh_k, and both columns (and rows) receive equal
    gradients: the equality survives every step. With zeros, W₂ = 0 also makes
    dL/dh = 0, so W₁ does not move at first; with ReLU (output 0 at 0) it never does.
    On XOR it is starker still: the four points are balanced, so for constant
    hidden activations the full-batch gradient of W₂ sums to zero and zero weights
    never move at all, while ones with sigmoid or tanh do move, in lockstep (see
    ``SymmetryResult.moved``).

    Args:
        init: initialiser for both weight matrices.
        hidden: number of hidden units (>= 2 to have something to compare).
        activation: hidden activation name (see ``week14.layers.activation_layer``).
        epochs, lr: training settings (one full-batch step per epoch).
        rng: seed or Generator for the random initial weights.

    Returns:
        :class:`SymmetryResult`: spread of the hidden units after training, how far
        the hidden layer moved, and training accuracy.
    """
    from week14.data import xor
    from week14.layers import Dense, activation_layer
    from week14.model import Sequential
    from week14.optimizers import SGD
    from week14.training import Trainer

    hidden = check_int("symmetry_experiment", "hidden", hidden, minimum=2)
    gen = as_generator(rng)
    X, y = xor()
    first = Dense(2, hidden, weight_init=init, rng=gen)
    second = Dense(hidden, 2, weight_init=init, rng=gen)
    model = Sequential([first, activation_layer(activation), second])
    before = {name: value.copy() for name, value in first.params.items()}
    trainer = Trainer(
        model,
        loss="cross_entropy",
        optimizer=SGD(lr),
        batch_size=len(X),
        progress=False,
    )
    trainer.fit(X, y, epochs)
    moved = max(float(np.abs(first.params[name] - before[name]).max()) for name in before)
    accuracy = float(np.mean(np.argmax(model.predict(X), axis=1) == y))
    return SymmetryResult(unit_spread(first.params["W"], first.params["b"]), moved, accuracy)
