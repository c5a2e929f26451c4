"""Magnitude pruning, masked training and the lottery-ticket experiment.

Slides: "Mouse Maze" and "Lottery ticket hypothesis". A trained dense network can
lose most of its weights with little loss of accuracy, and (Frankle & Carbin, "The
Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks", ICLR 2019,
arXiv:1803.03635) the surviving sub-network, *rewound to its original initial
weights*, trains on its own to the accuracy of the dense network: it is a "winning
ticket", a favourable start through the maze. The same sub-network with fresh random
weights (the control) does worse once it is sparse.

A *mask* is a boolean array shaped like the weight array it belongs to: ``True`` =
kept, ``False`` = pruned. Masks for a model are a dict keyed like
``model.parameters()`` ("0.W", "2.W", ...). Only the weight arrays ``W`` of ``Dense``
and ``Conv2D`` layers are pruned; biases and other parameters never are.

- make masks: :func:`magnitude_mask` (one array), :func:`layerwise_masks`,
  :func:`global_masks` (a dict, e.g. :func:`prunable_weights` of a model);
- keep them: :func:`apply_masks`, and :class:`MaskCallback` for a ``Trainer``;
- save them: ``model.save`` keeps pruned weights at exactly zero (so
  :func:`masks_from_weights` recovers the masks), and :func:`save_masks` /
  :func:`load_masks` store them exactly in an ``.npz`` file;
- count them: :func:`sparsity_report`;
- the experiment: :func:`rewind`, :func:`iterative_magnitude_pruning`,
  :func:`lottery_ticket`, :func:`plot_lottery`.

Why initial weights are random in the first place (slide: "Breaking symmetry") is
shown by :mod:`week14.symmetry`.

The slide's claim that "a neural network is typically sparse (most of the weights are
zero)" is loose: a trained network's weights are almost never exactly zero. What the
experiment shows is that most of them *can be set to zero* with little loss.
:func:`lottery_ticket` runs that experiment honestly, with the random re-initialisation
control, and reports whatever it finds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from os import PathLike
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import numpy as np

from week14._rng import RngLike, as_generator

if TYPE_CHECKING:
    from week14.model import Sequential
    from week14.training import Trainer

Masks = dict[str, np.ndarray]
T = TypeVar("T")


# ---------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------


def _check_fraction(fraction: object, name: str = "fraction") -> float:
    """Return ``fraction`` as a float after checking it is a real number in [0, 1]."""
    if isinstance(fraction, bool) or not isinstance(fraction, Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {type(fraction).__name__}")
    value = float(fraction)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {fraction!r}")
    return value


def _check_weights(weights: object, name: str = "weights") -> np.ndarray:
    """Return ``weights`` as a real ndarray after checking it is finite."""
    if not isinstance(weights, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(weights).__name__}")
    if not (np.issubdtype(weights.dtype, np.floating) or np.issubdtype(weights.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers, got dtype {weights.dtype}")
    if not np.all(np.isfinite(weights)):
        raise ValueError(f"{name} must be finite to rank by magnitude; it contains NaN or inf")
    return weights


def _check_mask(
    mask: object, shape: tuple[int, ...] | None, name: str = "mask"
) -> np.ndarray:
    """Return ``mask`` after checking it is a boolean array (of ``shape``, unless None)."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        got = mask.dtype if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"{name} must be a boolean numpy array (True = kept), got {got}")
    if shape is not None and mask.shape != shape:
        raise ValueError(f"{name} must have the weights' shape {shape}, got shape {mask.shape}")
    return mask


def _n_to_prune(fraction: float, n_remaining: int) -> int:
    """``round(fraction * n_remaining)`` with Python's rounding (halves go to even)."""
    return round(fraction * n_remaining)


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
    weights = _check_weights(weights)
    fraction = _check_fraction(fraction)
    if mask is None:
        mask = np.ones(weights.shape, dtype=bool)
    mask = _check_mask(mask, weights.shape)

    kept = np.flatnonzero(mask)  # increasing flat indices
    k = _n_to_prune(fraction, kept.size)
    order = np.argsort(np.abs(weights.ravel()[kept]), kind="stable")
    new_mask = mask.copy()
    new_mask.ravel()[kept[order[:k]]] = False
    return new_mask


def _check_weight_dict(weights: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray] | None):
    """Validate a dict of weight arrays and optional masks with exactly the same keys."""
    if not isinstance(weights, Mapping) or not weights:
        raise TypeError("weights must be a non-empty dict of arrays keyed like model.parameters()")
    if masks is not None and set(masks) != set(weights):
        raise ValueError(
            f"masks must have the same keys as weights {sorted(weights)}, got {sorted(masks)}"
        )


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
    _check_weight_dict(weights, masks)
    if isinstance(fraction, Mapping):
        if set(fraction) != set(weights):
            raise ValueError(
                f"fraction dict must have the keys of weights {sorted(weights)}, "
                f"got {sorted(fraction)}"
            )
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
    _check_weight_dict(weights, masks)
    fraction = _check_fraction(fraction)
    keys = list(weights)
    checked = {key: _check_weights(weights[key], f"weights[{key!r}]") for key in keys}
    old = {
        key: np.ones(checked[key].shape, dtype=bool)
        if masks is None
        else _check_mask(masks[key], checked[key].shape, f"masks[{key!r}]")
        for key in keys
    }
    kept = {key: np.flatnonzero(old[key]) for key in keys}
    magnitudes = np.concatenate([np.abs(checked[key].ravel()[kept[key]]) for key in keys])
    k = _n_to_prune(fraction, magnitudes.size)
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
    from week14.layers import Conv2D, Dense

    params = model.parameters()
    weights = {
        f"{i}.W": params[f"{i}.W"]
        for i, layer in enumerate(model.layers)
        if isinstance(layer, Dense | Conv2D)
    }
    if not weights:
        raise ValueError("model has no Dense or Conv2D layer, so there are no weights to prune")
    return weights


def apply_masks(arrays: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]) -> None:
    """Zero, in place, every entry of ``arrays[key]`` where ``masks[key]`` is False.

    ``arrays`` may hold more keys than ``masks`` (biases, say); those are left alone,
    but every mask key must be in ``arrays``. Use it on parameters, gradients or
    optimizer state keyed like ``model.parameters()``.
    """
    missing = [key for key in masks if key not in arrays]
    if missing:
        raise KeyError(f"mask keys {missing} not found; arrays have keys {sorted(arrays)}")
    for key, mask in masks.items():
        _check_mask(mask, arrays[key].shape, f"masks[{key!r}]")
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
    initialisation makes certain). :func:`save_masks` stores masks exactly.
    """
    return {key: np.asarray(w) != 0 for key, w in weights.items()}


def save_masks(path: str | PathLike[str], masks: Mapping[str, np.ndarray]) -> None:
    """Save masks to an ``.npz`` file, one boolean array per key (e.g. "0.W").

    Pair it with ``model.save``: the model file holds the weights (pruned ones are
    zero), this file holds exactly which weights are pruned, so training can resume
    with the masks enforced (:class:`MaskCallback`).
    """
    for key, mask in masks.items():
        _check_mask(mask, None, f"masks[{key!r}]")
    np.savez(path, **dict(masks))


def load_masks(path: str | PathLike[str]) -> Masks:
    """Load masks written by :func:`save_masks` (keys and boolean arrays as saved)."""
    with np.load(path, allow_pickle=False) as data:
        masks = {key: data[key] for key in data.files}
    for key, mask in masks.items():
        if mask.dtype != np.bool_:
            raise ValueError(f"{path}: entry {key!r} is not a boolean mask (dtype {mask.dtype})")
    return masks


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
        return LayerSparsity(
            "total", sum(row.kept for row in self.layers), sum(row.total for row in self.layers)
        )

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
        return _format_table(["layer", "kept", "total", "remaining"], rows)

    def __str__(self) -> str:
        return self.to_table()


def sparsity_report(arrays: Mapping[str, np.ndarray]) -> SparsityReport:
    """Count what is kept in each array: masks (True) or weights (nonzero).

    Slide: "Lottery ticket hypothesis". Pass ``prunable_weights(model)`` to see the
    model as it is, or a dict of masks to see what the masks keep.
    """
    return SparsityReport(
        tuple(
            LayerSparsity(key, int(np.count_nonzero(a)), int(np.size(a)))
            for key, a in arrays.items()
        )
    )


def _format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Right-aligned plain-text table with a header rule."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in (headers, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Masked training
# ---------------------------------------------------------------------------


def _optimizer_state(optimizer: object) -> Mapping[str, np.ndarray]:
    """Per-weight state of an optimizer keyed like ``model.parameters()`` (SGD's momentum
    velocity; empty before the first step or without momentum)."""
    velocity = getattr(optimizer, "velocity", None)
    return velocity if isinstance(velocity, Mapping) else {}


class MaskCallback:
    """Trainer callback that keeps pruned weights at exactly zero.

    Slide: "Lottery ticket hypothesis". A pruned weight has a nonzero gradient in
    general, so one optimizer step would revive it. At the start of training and after
    every optimizer step this callback zeroes, where the mask is False:

    - the weights (``model.parameters()``),
    - their gradients (``model.gradients()``), and
    - the optimizer's per-weight state (SGD's momentum velocity), so that momentum
      accumulated before a weight was pruned, or from its gradient in the last step,
      cannot push it away from zero later.

    The weights are therefore exactly zero whenever the Trainer hands control back
    (after every batch and at the end of training).

    Example:
        >>> trainer = Trainer(model, optimizer=SGD(0.1, momentum=0.9),
        ...                   callbacks=[MaskCallback(masks)])   # doctest: +SKIP
    """

    def __init__(self, masks: Mapping[str, np.ndarray]) -> None:
        self.masks = {key: _check_mask(m, None, f"masks[{key!r}]") for key, m in masks.items()}
        self._pruned = {key: ~mask for key, mask in self.masks.items()}

    def apply(self, model: Sequential, optimizer: object = None) -> None:
        """Zero the masked weights, gradients and optimizer state of ``model``."""
        _zero_where(model.parameters(), self._pruned)
        _zero_where(model.gradients(), self._pruned)
        state = _optimizer_state(optimizer)
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
        raise ValueError(
            f"initial must have the model's parameter keys {sorted(params)}, got {sorted(initial)}"
        )
    for key, value in params.items():
        if initial[key].shape != value.shape:
            raise ValueError(
                f"initial[{key!r}] has shape {initial[key].shape}, parameter has {value.shape}"
            )
        value[...] = initial[key]
    apply_masks(params, masks)


def _copy_parameters(model: Sequential) -> dict[str, np.ndarray]:
    return {key: value.copy() for key, value in model.parameters().items()}


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
    fraction = _check_fraction(fraction)
    output = fraction / 2 if output_fraction is None else _check_fraction(
        output_fraction, "output_fraction"
    )
    fractions = dict.fromkeys(keys, fraction)
    fractions[keys[-1]] = output
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
    if isinstance(rounds, bool) or not isinstance(rounds, int | np.integer):
        raise TypeError(f"rounds must be an int, got {type(rounds).__name__}")
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    initial = _copy_parameters(model)
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


# ---------------------------------------------------------------------------
# The lottery-ticket experiment on the digits
# ---------------------------------------------------------------------------


class Splits(NamedTuple):
    """Train / validation / test arrays: X of shape (N, D), y integer labels (N,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class LotteryRecord:
    """One training run of the lottery-ticket experiment.

    ``kind`` is "ticket" (mask with the original θ₀) or "control" (same mask, fresh
    random weights). ``test_accuracy`` and ``val_accuracy`` are read at
    ``best_epoch``, the first epoch (counted from 1) with the highest validation
    accuracy: the paper's early-stopping methodology.
    """

    seed: int
    round: int
    kind: str
    remaining: float
    test_accuracy: float
    val_accuracy: float
    best_epoch: int


@dataclass(frozen=True)
class LotteryResult:
    """All runs of :func:`lottery_ticket`, and the masks of every (seed, round)."""

    records: tuple[LotteryRecord, ...]
    masks: dict[tuple[int, int], Masks]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds present, ticket first."""
        return tuple(k for k in ("ticket", "control") if any(r.kind == k for r in self.records))

    def summary(self) -> list[dict[str, float]]:
        """One dict per round: remaining fraction and, per kind, the mean and sample
        standard deviation (ddof=1; 0 for one seed) over seeds of the test accuracy,
        and the mean best epoch.

        Keys: "round", "remaining", then e.g. "ticket_mean", "ticket_std",
        "ticket_epoch", "control_mean", "control_std", "control_epoch".
        """
        rows = []
        for r in sorted({rec.round for rec in self.records}):
            row: dict[str, float] = {"round": r}
            this_round = [rec for rec in self.records if rec.round == r]
            row["remaining"] = float(np.mean([rec.remaining for rec in this_round]))
            for kind in self.kinds:
                runs = [rec for rec in this_round if rec.kind == kind]
                accuracy = np.array([rec.test_accuracy for rec in runs])
                row[f"{kind}_mean"] = float(accuracy.mean())
                row[f"{kind}_std"] = float(accuracy.std(ddof=1)) if accuracy.size > 1 else 0.0
                row[f"{kind}_epoch"] = float(np.mean([rec.best_epoch for rec in runs]))
            rows.append(row)
        return rows

    def to_table(self) -> str:
        """The summary as a text table (accuracies in %, mean ± std over seeds)."""
        seeds = sorted({rec.seed for rec in self.records})
        headers = ["round", "remaining"]
        for kind in self.kinds:
            headers += [f"{kind} acc %", f"{kind} epoch"]
        rows = []
        for row in self.summary():
            cells = [str(int(row["round"])), f"{row['remaining']:.1%}"]
            for kind in self.kinds:
                cells += [
                    f"{100 * row[f'{kind}_mean']:.2f} ± {100 * row[f'{kind}_std']:.2f}",
                    f"{row[f'{kind}_epoch']:.1f}",
                ]
            rows.append(cells)
        note = (
            f"test accuracy at the epoch of best validation accuracy; "
            f"mean ± std over {len(seeds)} seed(s) {seeds}"
        )
        return _format_table(headers, rows) + "\n" + note

    def __str__(self) -> str:
        return self.to_table()


def digits_splits(
    test_size: float = 0.25, val_size: float = 0.2, rng: RngLike = 0
) -> Splits:
    """The scikit-learn handwritten digits split into train, validation and test parts.

    :func:`week14.data.digits` gives the stratified test part (``test_size`` of the
    1,797 images; pixels scaled to [0, 1], X of shape (N, 64)); the validation part is
    then carved, stratified, from the training part (``val_size`` of it), so the test
    images are never used to choose the early-stopping epoch. The defaults give
    1,077 / 270 / 450 images.
    """
    from week14.data import digits, stratified_split_indices

    gen = as_generator(rng)
    X_rest, X_test, y_rest, y_test = digits(test_size, gen)
    train, val = stratified_split_indices(y_rest, val_size, gen)
    return Splits(X_rest[train], y_rest[train], X_rest[val], y_rest[val], X_test, y_test)


def _mlp(sizes: Sequence[int], rng: np.random.Generator) -> Sequential:
    """Dense-ReLU-...-Dense network (logits out), Glorot-uniform weights, zero biases."""
    from week14.layers import Dense, ReLU
    from week14.model import Sequential

    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Dense(n_in, n_out, rng=rng))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(layers)


class _TestAccuracy:
    """Callback recording test accuracy after every epoch (read at the best-val epoch)."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y
        self.accuracy: list[float] = []

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float], trainer: Trainer) -> None:
        predictions = np.argmax(trainer.model.predict(self.X), axis=1)
        self.accuracy.append(float(np.mean(predictions == self.y)))


class _Outcome(NamedTuple):
    test_accuracy: float
    val_accuracy: float
    best_epoch: int


def _train_masked(
    model: Sequential,
    masks: Masks,
    data: Splits,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float,
    seed: int,
) -> _Outcome:
    """Train with masks enforced; test accuracy at the first epoch of best val accuracy."""
    from week14.optimizers import SGD
    from week14.training import Trainer

    test = _TestAccuracy(data.X_test, data.y_test)
    trainer = Trainer(
        model,
        loss="cross_entropy",
        optimizer=SGD(lr, momentum=momentum),
        batch_size=batch_size,
        metrics=("accuracy",),
        callbacks=(MaskCallback(masks), test),
        seed=seed,
        progress=False,
    )
    history = trainer.fit(
        data.X_train, data.y_train, epochs, validation_data=(data.X_val, data.y_val)
    )
    val = history["val_accuracy"]
    best = int(np.argmax(val))
    return _Outcome(test.accuracy[best], float(val[best]), best + 1)


def lottery_ticket(
    data: Splits | None = None,
    *,
    hidden: Sequence[int] = (300, 100),
    rounds: int = 3,
    fraction: float = 0.2,
    output_fraction: float | None = None,
    seeds: Sequence[int] = (0,),
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 0.1,
    momentum: float = 0.9,
    control: bool = True,
) -> LotteryResult:
    """The lottery-ticket experiment with its random re-initialisation control.

    Slides: "Mouse Maze", "Lottery ticket hypothesis"; Frankle & Carbin,
    arXiv:1803.03635. For every seed:

    - **winning ticket**: :func:`iterative_magnitude_pruning` of an MLP
      ``D-hidden...-classes`` (ReLU, Glorot-uniform, SGD with momentum): train, prune
      ``fraction`` of the remaining weights of each layer (output layer
      ``output_fraction``, default half), rewind the survivors to θ₀, retrain;
    - **control** (if ``control``): for each round's mask, the same architecture with
      fresh weights from the same initializer but a different random stream, masked
      the same way and trained with the same batches.

    Every run reports test accuracy at its epoch of best validation accuracy. The
    defaults (3 rounds, one seed, 10 epochs) run in seconds for a notebook;
    ``benchmarks/lottery_ticket.py`` runs the full experiment.

    Args:
        data: train/val/test splits; default :func:`digits_splits` ().
        hidden: hidden-layer widths (the paper's LeNet-300-100 has (300, 100)).
        rounds: pruning rounds after the dense run.
        fraction, output_fraction: pruning rates per round.
        seeds: one experiment per seed (initialisation and batch order).
        epochs, batch_size, lr, momentum: training of every run.
        control: also train the random re-initialisation control.

    Returns:
        A :class:`LotteryResult`: records for every (seed, round, kind) and the masks
        of every (seed, round). ``print(result)`` shows the summary table.
    """
    data = digits_splits() if data is None else Splits(*data)
    if not seeds:
        raise ValueError("seeds must name at least one seed, got an empty sequence")
    n_classes = int(np.max(data.y_train)) + 1
    sizes = [data.X_train.shape[1], *hidden, n_classes]

    records: list[LotteryRecord] = []
    all_masks: dict[tuple[int, int], Masks] = {}
    for seed in seeds:
        ticket_seq, control_seq = np.random.SeedSequence(seed).spawn(2)

        def train(model: Sequential, masks: Masks, seed: int = seed) -> _Outcome:
            return _train_masked(
                model, masks, data, epochs=epochs, batch_size=batch_size, lr=lr,
                momentum=momentum, seed=seed,
            )

        model = _mlp(sizes, np.random.default_rng(ticket_seq))
        tickets = iterative_magnitude_pruning(
            model, train, rounds, fraction, output_fraction=output_fraction
        )
        control_seqs = control_seq.spawn(len(tickets))
        for ticket in tickets:
            all_masks[(seed, ticket.round)] = ticket.masks
            runs = [("ticket", ticket.outcome)]
            if control:
                fresh = _mlp(sizes, np.random.default_rng(control_seqs[ticket.round]))
                runs.append(("control", train(fresh, ticket.masks)))
            records.extend(
                LotteryRecord(seed, ticket.round, kind, ticket.remaining, *outcome)
                for kind, outcome in runs
            )
    return LotteryResult(tuple(records), all_masks)


def plot_lottery(result: LotteryResult, ax: Any = None) -> Any:
    """Test accuracy against fraction of weights remaining, ticket vs control.

    Slide: "Lottery ticket hypothesis". The x axis is logarithmic and reversed, so
    sparsity grows to the right; lines are means over seeds and bands ± one standard
    deviation. A dotted line marks the dense network's mean accuracy.

    Returns the matplotlib Axes (a new figure's if ``ax`` is None).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    rows = result.summary()
    x = 100 * np.array([row["remaining"] for row in rows])
    styles = {"ticket": ("winning ticket (rewound to θ₀)", "C0"),
              "control": ("random re-initialisation", "C1")}
    for kind in result.kinds:
        label, colour = styles[kind]
        mean = 100 * np.array([row[f"{kind}_mean"] for row in rows])
        std = 100 * np.array([row[f"{kind}_std"] for row in rows])
        ax.plot(x, mean, "o-", color=colour, label=label)
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2)
    ax.axhline(100 * rows[0]["ticket_mean"], color="grey", linestyle=":", label="dense")
    ax.set_xscale("log")
    ax.set_xlim(x.max() * 1.15, x.min() / 1.15)  # reversed: sparser to the right
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("weights remaining (%)")
    ax.set_ylabel("test accuracy (%)")
    n_seeds = len({rec.seed for rec in result.records})
    ax.set_title(f"Lottery ticket: mean ± std over {n_seeds} seed(s)")
    ax.legend()
    return ax
