"""The lottery-ticket experiment on the handwritten digits, with its control.

Slides: "Mouse Maze" and "Lottery ticket hypothesis". Frankle & Carbin ("The Lottery
Ticket Hypothesis: Finding Sparse, Trainable Neural Networks", ICLR 2019,
arXiv:1803.03635): iterative magnitude pruning
(:func:`week14.pruning.iterative_magnitude_pruning`) finds a sub-network that,
*rewound to its original initial weights*, trains on its own to the accuracy of the
dense network, a "winning ticket", a favourable start through the maze. The same
sub-network with fresh random weights (the control) does worse once it is sparse.

- the data: :func:`digits_splits`, train / validation / test parts of the digits;
- the network: :func:`mlp`, Dense-ReLU-...-Dense with Glorot-uniform weights;
- the experiment: :func:`lottery_ticket` -> :class:`LotteryResult` (one
  :class:`LotteryRecord` per run; ``print(result)`` shows the summary table);
- the figure: :func:`plot_lottery`.

The slide's claim that "a neural network is typically sparse (most of the weights are
zero)" is loose: a trained network's weights are almost never exactly zero. What the
experiment shows is that most of them *can be set to zero* with little loss.
:func:`lottery_ticket` runs that experiment honestly, with the random re-initialisation
control, and reports whatever it finds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from week14._rng import RngLike, as_generator
from week14._tables import format_table
from week14.data import Split, digits, stratified_split_indices
from week14.layers import Dense, ReLU
from week14.model import Sequential
from week14.optimizers import SGD
from week14.pruning import MaskCallback, Masks, iterative_magnitude_pruning
from week14.training import Trainer


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
        return format_table(headers, rows) + "\n" + note

    def __str__(self) -> str:
        return self.to_table()


def digits_splits(test_size: float = 0.25, val_size: float = 0.2, rng: RngLike = 0) -> Split:
    """The scikit-learn handwritten digits split into train, validation and test parts.

    :func:`week14.data.digits` gives the stratified test part (``test_size`` of the
    1,797 images; pixels scaled to [0, 1], X of shape (N, 64)); the validation part is
    then carved, stratified, from the training part (``val_size`` of it), so the test
    images are never used to choose the early-stopping epoch. The defaults give
    1,077 / 270 / 450 images.

    Returns:
        A :class:`week14.data.Split` with all three parts: X (n_part, 64) float64,
        y (n_part,) int64.
    """
    gen = as_generator(rng)
    X_rest, X_test, y_rest, y_test = digits(test_size, gen)
    train, val = stratified_split_indices(y_rest, val_size, gen)
    return Split(X_rest[train], y_rest[train], X_rest[val], y_rest[val], X_test, y_test)


def mlp(sizes: Sequence[int], rng: np.random.Generator) -> Sequential:
    """Dense-ReLU-...-Dense network (logits out), Glorot-uniform weights, zero biases.

    ``sizes`` = (D, h₁, ..., C): layer i is ``Dense(sizes[i], sizes[i + 1])``, with a
    ReLU after every layer but the last; inputs (N, D), outputs (N, C) class scores.
    The weights are drawn from ``rng`` layer by layer, first to last.
    """
    layers: list[Dense | ReLU] = []
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
    """What one training run reports, read at its epoch of best validation accuracy."""

    test_accuracy: float
    val_accuracy: float
    best_epoch: int


def _train_masked(
    model: Sequential,
    masks: Masks,
    data: Split,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float,
    seed: int,
) -> _Outcome:
    """Train with masks enforced; test accuracy at the first epoch of best val accuracy."""
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
    data: Split | None = None,
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

    - **winning ticket**: :func:`week14.pruning.iterative_magnitude_pruning` of an MLP
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
        data: a :class:`week14.data.Split` with train, validation and test parts;
            default :func:`digits_splits` ().
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
    data = digits_splits() if data is None else data
    if not isinstance(data, Split):
        raise TypeError(f"lottery_ticket expected data to be a week14.data.Split, got "
                        f"{type(data).__name__}")
    if not (data.has("val") and data.has("test")):
        raise ValueError("lottery_ticket needs a Split with validation and test parts "
                         "(X_val, y_val, X_test, y_test): see digits_splits")
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

        model = mlp(sizes, np.random.default_rng(ticket_seq))
        tickets = iterative_magnitude_pruning(
            model, train, rounds, fraction, output_fraction=output_fraction
        )
        control_seqs = control_seq.spawn(len(tickets))
        for ticket in tickets:
            all_masks[(seed, ticket.round)] = ticket.masks
            runs = [("ticket", ticket.outcome)]
            if control:
                fresh = mlp(sizes, np.random.default_rng(control_seqs[ticket.round]))
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
    # Imported here: ``import week14`` loads NumPy only, and a run without a plot
    # (benchmarks/lottery_ticket.py) need not pay for matplotlib.
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
