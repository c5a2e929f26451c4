"""Magnitude pruning: masks, masked training and the lottery-ticket procedure.

Slides: "Mouse Maze" and "Lottery ticket hypothesis". A trained dense network can
lose most of its weights with little loss of accuracy, and (Frankle & Carbin, "The
Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks", ICLR 2019,
arXiv:1803.03635) the surviving sub-network, *rewound to its original initial
weights*, trains on its own to the accuracy of the dense network: a "winning ticket".

A *mask* is a boolean array shaped like the weight array it belongs to: ``True`` =
kept, ``False`` = pruned. Masks for a model are a dict keyed like
``model.parameters()`` ("0.W", "2.W", ...). Only the weight arrays ``W`` of ``Dense``
and ``Conv2D`` layers are pruned; biases and other parameters never are.

- make masks: :func:`magnitude_mask` (one array), :func:`layerwise_masks`,
  :func:`global_masks` (a dict, e.g. :func:`prunable_weights` of a model);
- keep them: :func:`apply_masks`, and :class:`MaskCallback` for a ``Trainer``;
- save them: ``model.save`` keeps pruned weights at exactly zero, so
  :func:`masks_from_weights` recovers the masks from the loaded model;
- count them: :func:`sparsity_report`;
- find a ticket: :func:`rewind`, :func:`iterative_magnitude_pruning`.

The experiment on the digits, with its random re-initialisation control, is
:mod:`week14.lottery`; why initial weights are random at all (slide: "Breaking
symmetry") is :mod:`week14.symmetry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from week14._tables import format_table
from week14._validation import check_int, check_mask, check_real
from week14.layers import Conv2D, Dense
from week14.model import Sequential
from week14.training import Trainer

Masks = dict[str, np.ndarray]
T = TypeVar("T")


# ---------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------


def _check_weights(func: str, name: str, weights: object) -> np.ndarray:
    """Return ``weights`` unchanged, or raise (naming ``func`` and ``name``) unless it is a
    finite ndarray of real numbers: TypeError for another type or dtype, ValueError for
    NaN or inf."""
    if not isinstance(weights, np.ndarray):
        raise TypeError(f"{func} expected {name} to be a numpy array, got {type(weights).__name__}")
    if not (np.issubdtype(weights.dtype, np.floating) or np.issubdtype(weights.dtype, np.integer)):
        raise TypeError(f"{func} expected {name} to hold real numbers, got dtype {weights.dtype}")
    if not np.all(np.isfinite(weights)):
        raise ValueError(
            f"{func} expected finite {name} (to rank them by magnitude), got NaN or inf"
        )
    return weights


def magnitude_mask(
    weights: np.ndarray, fraction: float, mask: np.ndarray | None = None
) -> np.ndarray:
    """Prune the ``fraction`` of the remaining weights with the smallest magnitude.

    Slide: "Lottery ticket hypothesis". Of the n weights still kept by ``mask`` (all
    of them when ``mask`` is None), exactly k = round(fraction · n) are pruned: those
    with the k smallest |w|. Already-pruned weights stay pruned, so calling this once
    per round with the previous round's mask is iterative magnitude pruning: after r
    rounds about (1 − fraction)^r of the weights remain.

    Ties are broken deterministically: the kept weights are ranked with a *stable*
    argsort of |w| in C (row-major) flat-index order, so among equal magnitudes the
    weight with the smaller flat index is pruned first. ``round`` is Python's, which
    rounds halves to even (round(2.5) = 2).

    Args:
        weights: real array of any shape (e.g. a Dense W, (in, out), or a Conv2D W,
            (F, C, kh, kw)); must be finite.
        fraction: share of the *remaining* weights to prune, in [0, 1].
        mask: optional boolean array shaped like ``weights``; True = still kept.

    Returns:
        A new boolean array shaped like ``weights``, True = kept. It has exactly
        n − round(fraction · n) True entries, all inside ``mask``.
    """
    weights = _check_weights("magnitude_mask", "weights", weights)
    fraction = check_real("magnitude_mask", "fraction", fraction, ge=0.0, le=1.0, finite=False)
    if mask is None:
        mask = np.ones(weights.shape, dtype=bool)
    mask = check_mask("magnitude_mask", "mask", mask, weights.shape)

    kept = np.flatnonzero(mask)  # increasing flat indices
    k = round(fraction * kept.size)  # Python's round: halves go to even
    order = np.argsort(np.abs(weights.ravel()[kept]), kind="stable")
    new_mask = mask.copy()
    new_mask.ravel()[kept[order[:k]]] = False
    return new_mask


def _check_weight_dict(
    func: str, weights: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray] | None
) -> None:
    """Raise (naming ``func``) unless ``weights`` is a non-empty dict (TypeError for
    another type, ValueError if empty) and ``masks``, if given, has exactly its keys
    (ValueError)."""
    what = "weights to be a non-empty dict of arrays keyed like model.parameters()"
    if not isinstance(weights, Mapping):
        raise TypeError(f"{func} expected {what}, got {type(weights).__name__}")
    if not weights:
        raise ValueError(f"{func} expected {what}, got an empty dict")
    if masks is not None and set(masks) != set(weights):
        raise ValueError(f"{func} expected masks with the keys of weights {sorted(weights)}, "
                         f"got {sorted(masks)}")


def layerwise_masks(
    weights: Mapping[str, np.ndarray],
    fraction: float | Mapping[str, float],
    masks: Mapping[str, np.ndarray] | None = None,
) -> Masks:
    """Prune each weight array separately: :func:`magnitude_mask` per key.

    Slide: "Lottery ticket hypothesis". Every array loses round(fraction · n_key) of
    its n_key remaining weights, so each layer keeps the same share (Frankle &
    Carbin prune their fully-connected networks this way).

    Args:
        weights: dict key -> weight array, e.g. from :func:`prunable_weights`.
        fraction: one fraction for every key, or a dict key -> fraction with exactly
            the keys of ``weights`` (the paper prunes the output layer at half rate).
        masks: optional current masks (same keys); pruned weights stay pruned.

    Returns:
        New masks, a dict with the keys of ``weights``.
    """
    _check_weight_dict("layerwise_masks", weights, masks)
    if isinstance(fraction, Mapping):
        if set(fraction) != set(weights):
            raise ValueError(f"layerwise_masks expected a fraction dict with the keys of "
                             f"weights {sorted(weights)}, got {sorted(fraction)}")
        fractions = {key: fraction[key] for key in weights}
    else:
        fractions = dict.fromkeys(weights, fraction)
    return {
        key: magnitude_mask(w, fractions[key], None if masks is None else masks[key])
        for key, w in weights.items()
    }


def global_masks(
    weights: Mapping[str, np.ndarray],
    fraction: float,
    masks: Mapping[str, np.ndarray] | None = None,
) -> Masks:
    """Prune across all arrays together: one magnitude threshold for the whole model.

    Slide: "Lottery ticket hypothesis". The N weights still kept across every array
    are ranked together and the round(fraction · N) smallest |w| are pruned, so
    layers with small weights lose more than layers with large ones. Ties are broken
    by the order of the keys in ``weights`` and then by C-order flat index (a stable
    argsort of the concatenated magnitudes).

    Args:
        weights: dict key -> weight array.
        fraction: share of all remaining weights to prune, in [0, 1].
        masks: optional current masks (same keys); pruned weights stay pruned.

    Returns:
        New masks, a dict with the keys of ``weights``.
    """
    func = "global_masks"
    _check_weight_dict(func, weights, masks)
    fraction = check_real(func, "fraction", fraction, ge=0.0, le=1.0, finite=False)
    keys = list(weights)
    checked = {key: _check_weights(func, f"weights[{key!r}]", weights[key]) for key in keys}
    old = {key: np.ones(checked[key].shape, dtype=bool) if masks is None
           else check_mask(func, f"masks[{key!r}]", masks[key], checked[key].shape)
           for key in keys}
    kept = {key: np.flatnonzero(old[key]) for key in keys}
    magnitudes = np.concatenate([np.abs(checked[key].ravel()[kept[key]]) for key in keys])
    k = round(fraction * magnitudes.size)  # Python's round: halves go to even
    pruned = np.zeros(magnitudes.size, dtype=bool)
    pruned[np.argsort(magnitudes, kind="stable")[:k]] = True

    new_masks: Masks = {}
    start = 0
    for key in keys:
        stop = start + kept[key].size
        new_mask = old[key].copy()
        new_mask.ravel()[kept[key][pruned[start:stop]]] = False
        new_masks[key] = new_mask
        start = stop
    return new_masks


def prunable_weights(model: Sequential) -> dict[str, np.ndarray]:
    """The weight arrays that pruning acts on: ``W`` of every Dense and Conv2D layer.

    Keys are those of ``model.parameters()`` ("0.W", "2.W", ...) and the values are the
    layers' own arrays (no copies), in layer order. Biases are never pruned: there are
    few of them and a zero bias does not remove a connection.
    """
    params = model.parameters()
    weights = {f"{i}.W": params[f"{i}.W"]
               for i, layer in enumerate(model.layers) if isinstance(layer, Dense | Conv2D)}
    if not weights:
        layers = [type(layer).__name__ for layer in model.layers]
        raise ValueError("prunable_weights expected a model with a Dense or Conv2D layer "
                         f"(weights to prune), got the layers {layers}")
    return weights


def apply_masks(arrays: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]) -> None:
    """Zero, in place, every entry of ``arrays[key]`` where ``masks[key]`` is False.

    ``arrays`` may hold more keys than ``masks`` (biases, say); those are left alone,
    but every mask key must be in ``arrays``. Use it on parameters, gradients or
    optimizer state keyed like ``model.parameters()``. Raises ValueError for a mask key
    that ``arrays`` lacks or a mask of the wrong shape, TypeError for a non-boolean mask.
    """
    missing = [key for key in masks if key not in arrays]
    if missing:
        raise ValueError(f"apply_masks expected arrays with every key of masks, got no "
                         f"{missing} among the keys {sorted(arrays)}")
    for key, mask in masks.items():
        check_mask("apply_masks", f"masks[{key!r}]", mask, arrays[key].shape)
    _zero_where(arrays, {key: ~mask for key, mask in masks.items()})


def _zero_where(arrays: Mapping[str, np.ndarray], pruned: Mapping[str, np.ndarray]) -> None:
    """Set ``arrays[key][pruned[key]] = 0`` in place, without checks (the hot path)."""
    for key, where in pruned.items():
        np.copyto(arrays[key], 0, where=where)


def masks_from_weights(weights: Mapping[str, np.ndarray]) -> Masks:
    """Recover masks from a pruned model's zeros: True where the weight is nonzero.

    A pruned model saved with ``model.save`` keeps its pruned weights at exactly zero,
    so this recovers its masks unless a *kept* weight happens to be exactly 0.0 too
    (which training by gradient descent makes vanishingly unlikely, but zero
    initialisation makes certain).
    """
    return {key: np.asarray(w) != 0 for key, w in weights.items()}


# ---------------------------------------------------------------------------
# Sparsity report
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerSparsity:
    """How many of one array's weights are kept (nonzero / True)."""

    key: str
    kept: int
    total: int

    @property
    def remaining(self) -> float:
        """Fraction of weights remaining, kept / total."""
        return self.kept / self.total if self.total else 1.0


@dataclass(frozen=True)
class SparsityReport:
    """Per-array sparsity plus the total; ``str(report)`` is a small text table."""

    layers: tuple[LayerSparsity, ...]

    @property
    def total(self) -> LayerSparsity:
        """All arrays together, under the key "total"."""
        return LayerSparsity("total", sum(row.kept for row in self.layers),
                             sum(row.total for row in self.layers))

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{key: {"kept", "total", "remaining"}}`` for every array and "total"."""
        return {
            row.key: {"kept": row.kept, "total": row.total, "remaining": row.remaining}
            for row in (*self.layers, self.total)
        }

    def to_table(self) -> str:
        """Text table with one line per array and a total line."""
        rows = [
            [row.key, str(row.kept), str(row.total), f"{row.remaining:.2%}"]
            for row in (*self.layers, self.total)
        ]
        return format_table(["layer", "kept", "total", "remaining"], rows)

    def __str__(self) -> str:
        return self.to_table()


def sparsity_report(arrays: Mapping[str, np.ndarray]) -> SparsityReport:
    """Count what is kept in each array: masks (True) or weights (nonzero).

    Slide: "Lottery ticket hypothesis". Pass ``prunable_weights(model)`` to see the
    model as it is, or a dict of masks to see what the masks keep.
    """
    return SparsityReport(tuple(LayerSparsity(key, int(np.count_nonzero(a)), int(np.size(a)))
                                for key, a in arrays.items()))


# ---------------------------------------------------------------------------
# Masked training
# ---------------------------------------------------------------------------


@runtime_checkable
class BufferedOptimizer(Protocol):
    """An optimiser with per-weight state: ``buffers()`` returns its live arrays keyed like
    ``model.parameters()`` (``week14.optimizers.SGD.buffers``, the momentum velocities)."""

    def buffers(self) -> dict[str, np.ndarray]: ...


class MaskCallback:
    """Trainer callback that keeps pruned weights at exactly zero.

    Slide: "Lottery ticket hypothesis". A pruned weight has a nonzero gradient in
    general, so one optimizer step would revive it. At the start of training and after
    every optimizer step this callback zeroes, where the mask is False:

    - the weights (``model.parameters()``),
    - their gradients (``model.gradients()``), and
    - the optimizer's per-weight state, if it has any (a :class:`BufferedOptimizer`,
      e.g. SGD's momentum velocity), so that momentum accumulated before a weight was
      pruned, or from its gradient in the last step, cannot push it away from zero later.

    The weights are therefore exactly zero whenever the Trainer hands control back
    (after every batch and at the end of training).

    Example:
        >>> trainer = Trainer(model, optimizer=SGD(0.1, momentum=0.9),
        ...                   callbacks=[MaskCallback(masks)])   # doctest: +SKIP
    """

    def __init__(self, masks: Mapping[str, np.ndarray]) -> None:
        self.masks = {key: check_mask("MaskCallback", f"masks[{key!r}]", m)
                      for key, m in masks.items()}
        self._pruned = {key: ~mask for key, mask in self.masks.items()}

    def apply(self, model: Sequential, optimizer: object = None) -> None:
        """Zero the masked weights, gradients and optimizer state of ``model``."""
        _zero_where(model.parameters(), self._pruned)
        _zero_where(model.gradients(), self._pruned)
        state = optimizer.buffers() if isinstance(optimizer, BufferedOptimizer) else {}
        _zero_where(state, {key: where for key, where in self._pruned.items() if key in state})

    def on_train_begin(self, trainer: Trainer) -> None:
        """Check the masks against the model and apply them before the first step."""
        apply_masks(trainer.model.parameters(), self.masks)
        self.apply(trainer.model, trainer.optimizer)

    def on_batch_end(self, trainer: Trainer) -> None:
        """Re-apply the masks after every optimizer step."""
        self.apply(trainer.model, trainer.optimizer)


def rewind(
    model: Sequential, initial: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]
) -> None:
    """Reset every parameter to its initial value, then zero the pruned weights.

    Slide: "Lottery ticket hypothesis". This builds the candidate winning ticket
    f(x; m ⊙ θ₀): the surviving weights (and all biases) get back exactly the values
    they had before the first training run.

    Args:
        model: the model to reset in place.
        initial: a copy of ``model.parameters()`` taken before training (same keys).
        masks: the masks to apply after the reset.
    """
    params = model.parameters()
    if set(initial) != set(params):
        raise ValueError(f"rewind expected initial with the model's parameter keys "
                         f"{sorted(params)}, got {sorted(initial)}")
    for key, value in params.items():
        if initial[key].shape != value.shape:
            raise ValueError(f"rewind expected initial[{key!r}] of the parameter's shape "
                             f"{value.shape}, got shape {initial[key].shape}")
        value[...] = initial[key]
    apply_masks(params, masks)


# ---------------------------------------------------------------------------
# Iterative magnitude pruning (generic)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PruningRound(Generic[T]):
    """One round of iterative magnitude pruning: the masks used and what training gave."""

    round: int
    masks: Masks
    remaining: float
    outcome: T


def _round_fractions(
    keys: Sequence[str], fraction: float, output_fraction: float | None
) -> dict[str, float]:
    """Per-key pruning fractions: ``fraction``, the last key (the output) its own."""
    func = "iterative_magnitude_pruning"
    fraction = check_real(func, "fraction", fraction, ge=0.0, le=1.0, finite=False)
    fractions = dict.fromkeys(keys, fraction)
    fractions[keys[-1]] = (fraction / 2 if output_fraction is None
                           else check_real(func, "output_fraction", output_fraction,
                                           ge=0.0, le=1.0, finite=False))
    return fractions


def iterative_magnitude_pruning(
    model: Sequential,
    train: Callable[[Sequential, Masks], T],
    rounds: int,
    fraction: float = 0.2,
    *,
    output_fraction: float | None = None,
) -> list[PruningRound[T]]:
    """Find a winning ticket: train, prune, rewind to θ₀, retrain, ``rounds`` times.

    Slide: "Lottery ticket hypothesis"; Frankle & Carbin (arXiv:1803.03635), Algorithm
    "iterative pruning":

    1. Take θ₀, the model's current (initial) parameters; mask m = all ones.
    2. Train f(x; m ⊙ θ₀) → θ_j (round 0 is the dense network).
    3. Prune layer-wise: each weight array loses ``fraction`` of its remaining weights,
       the last one (the output layer) ``output_fraction`` (default ``fraction / 2``,
       as in the paper: "connections to outputs are pruned at half the rate").
    4. Rewind: reset every parameter to θ₀ and apply the new mask (:func:`rewind`).
    5. Go to 2, ``rounds`` times.

    Args:
        model: the network, holding θ₀ on entry; trained in place.
        train: ``train(model, masks) -> outcome``; must train ``model`` in place with
            the masks enforced (e.g. a Trainer with :class:`MaskCallback`) and returns
            anything (accuracies, a History).
        rounds: number of prune-rewind-retrain rounds after the dense run (>= 0).
        fraction, output_fraction: pruning rates per round, in [0, 1].

    Returns:
        ``rounds + 1`` :class:`PruningRound` (round 0 = dense), each with its masks,
        the fraction of prunable weights remaining and the train outcome.
    """
    rounds = check_int("iterative_magnitude_pruning", "rounds", rounds, minimum=0)
    initial = {key: value.copy() for key, value in model.parameters().items()}
    keys = list(prunable_weights(model))
    fractions = _round_fractions(keys, fraction, output_fraction)
    masks = {key: np.ones(initial[key].shape, dtype=bool) for key in keys}

    history: list[PruningRound[T]] = []
    for r in range(rounds + 1):
        if r > 0:
            masks = layerwise_masks(prunable_weights(model), fractions, masks)
            rewind(model, initial, masks)
        outcome = train(model, masks)
        history.append(PruningRound(r, masks, sparsity_report(masks).total.remaining, outcome))
    return history


