"""What notebook 06's test cells need beyond :mod:`week14.grading` (learning-rate schedules).

:func:`scheduler_rates` replays a sequence of validation losses through a student's
plateau scheduler, one ``step`` per epoch, and returns its rates: the function that the
test cells compare with :func:`week14.references.plateau_rates` (Keras's rates).

The other functions are seeded case builders for hidden tests: they draw settings and
validation-loss curves from a generator the test cell seeds, so the cell keeps its
seeds (and with them the values) while the drawing code lives here.
:func:`step_decay_cases` and :func:`exponential_decay_cases` return one case (or ``n``)
of every kind they declare (:func:`week14.cases.builds`), labelled as the notebook's
visible cases are::

    grading.check_function(student, reference, hidden=True, cases=builder(seed, n=10))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from week14 import grading, remote
from week14._rng import RngLike, as_generator
from week14.cases import builds

#: The steps a wandering validation loss takes from one epoch to the next: often flat,
#: small and large falls, and rises; rounded curves repeat values, so ties happen too.
WANDERING_STEPS = (0.0, 0.0, -0.002, -0.006, -0.01, -0.02, -0.05, 0.01, 0.03)


def scheduler_rates(scheduler_class: Any, settings: dict, val_losses: Sequence[float], *,
                    exercise: str = "PlateauScheduler") -> list[Any]:
    """The rates ``scheduler_class(**settings).step`` returns for ``val_losses``, one per
    epoch: :func:`week14.references.plateau_rates` with the student's class.

    ``scheduler_class`` is the student's class, here (a self-check in JupyterLab) or in
    the student's kernel (:class:`week14.remote.Remote`, when grading: every epoch's
    ``step`` is sent there in one round trip). An exception in the student's code is
    raised here as their code raised it (:class:`week14.remote.StudentError` when
    grading), and a class that uses week14's own scheduler raises
    :class:`week14.remote.ReferenceCalled`, so that a check reports either as usual.
    """
    scheduler = scheduler_class(**settings)
    outcomes = remote.call_each(scheduler.step, [(value,) for value in val_losses],
                                exercise=exercise)
    for outcome in outcomes:
        if outcome.reference:
            raise remote.ReferenceCalled(outcome.reference, graded_call=True)
        if outcome.error:
            raise remote.StudentError(f"{exercise}.step", outcome)
    return [outcome.value for outcome in outcomes]


#: The kinds of :func:`step_decay_cases`, labelled as notebook 06's visible cases are.
STEP_DECAY_LABELS = ("other settings", "every=1: a drop every epoch", "factor=1: no decay",
                     "a very late epoch (the rate underflows to 0)", "a NumPy integer epoch")


@builds(*STEP_DECAY_LABELS)
def step_decay_cases(seed: int, n: int = 1) -> list[grading.Case]:
    """``n`` cases ``(epoch, initial_lr, factor, every)`` of step decay of every kind in
    :data:`STEP_DECAY_LABELS`, kind by kind, drawn from ``seed``. Other settings: epochs
    0-199, rates 1e-4 to 10 (log-uniform), factors 0.05-1, every 1-29; then every=1
    (epochs 0-29), factor=1, an epoch of 5000-19999 with a factor of 0.05-0.5 every 1-3
    epochs (factor^⌊epoch / every⌋ is below the smallest float: the rate is 0.0), and
    the epoch as an ``np.int64``."""
    gen = np.random.default_rng(seed)
    return [_step_decay_case(gen, label) for label in STEP_DECAY_LABELS for _ in range(n)]


def _decay_draw(gen: np.random.Generator, label: str, epochs: int
                ) -> tuple[int | np.int64, float, float, int | None]:
    """What step and exponential decay cases share: ``(epoch, initial_lr, factor,
    steps)`` with an epoch below ``epochs``, a rate of 1e-4 to 10 (log-uniform) and a
    factor of 0.05-1; for the kinds both have, factor 1 ("no decay"), an epoch of
    5000-19999 with a factor of 0.05-0.5 and 1-3 steps (``steps``, else None: the
    rate underflows to 0.0), or the epoch as an ``np.int64``."""
    epoch, lr = int(gen.integers(0, epochs)), float(10 ** gen.uniform(-4, 1))
    factor, steps = float(gen.uniform(0.05, 1.0)), None
    if label.endswith(": no decay"):
        factor = 1.0
    elif label.startswith("a very late epoch"):
        epoch, factor = int(gen.integers(5000, 20000)), float(gen.uniform(0.05, 0.5))
        steps = int(gen.integers(1, 4))
    elif label == "a NumPy integer epoch":
        epoch = np.int64(epoch)
    return epoch, lr, factor, steps


def _step_decay_case(gen: np.random.Generator, label: str) -> grading.Case:
    """One case of :func:`step_decay_cases` of kind ``label``."""
    epoch, lr, factor, every = _decay_draw(gen, label, 200)
    if label == "every=1: a drop every epoch":
        epoch, every = int(gen.integers(0, 30)), 1
    return grading.case(label, epoch, lr, factor, every or int(gen.integers(1, 30)))


#: The kinds of :func:`exponential_decay_cases`, labelled as notebook 06's visible cases are.
EXPONENTIAL_DECAY_LABELS = (
    "other settings", "the default decay_steps", "staircase", "a fractional decay_steps",
    "decay_rate=1: no decay", "a very late epoch (the rate underflows to 0)",
    "a NumPy integer epoch")


@builds(*EXPONENTIAL_DECAY_LABELS)
def exponential_decay_cases(seed: int, n: int = 1) -> list[grading.Case]:
    """``n`` cases ``(epoch, initial_lr, decay_rate, decay_steps, staircase)`` of
    exponential decay of every kind in :data:`EXPONENTIAL_DECAY_LABELS`, kind by kind,
    drawn from ``seed``. Other settings: epochs 0-299, rates 1e-4 to 10 (log-uniform),
    decay rates 0.05-1, whole and fractional decay_steps, staircase or not; then
    ``(epoch, initial_lr, decay_rate)`` alone (epochs 0-49), staircase with whole
    decay_steps 2-10 (epochs 0-59), fractional decay_steps (0.25 to 3.5, all exact in
    binary, so ⌊epoch / decay_steps⌋ has no rounding to argue about), decay_rate=1, an
    epoch of 5000-19999 with a decay rate of 0.05-0.5 and decay_steps 1-3 (the rate is
    0.0), and the epoch as an ``np.int64``."""
    gen = np.random.default_rng(seed)
    return [_exponential_decay_case(gen, label)
            for label in EXPONENTIAL_DECAY_LABELS for _ in range(n)]


def _exponential_decay_case(gen: np.random.Generator, label: str) -> grading.Case:
    """One case of :func:`exponential_decay_cases` of kind ``label``."""
    epoch, lr, rate, steps = _decay_draw(gen, label, 300)
    stair = bool(gen.integers(0, 2))
    steps = steps or [1, 2, 3, 5, 10, 0.5, 2.5][int(gen.integers(0, 7))]
    if label == "the default decay_steps":
        return grading.case(label, int(gen.integers(0, 50)), lr, rate)
    if label == "staircase":
        epoch, steps, stair = int(gen.integers(0, 60)), int(gen.integers(2, 11)), True
    elif label == "a fractional decay_steps":
        steps = [0.25, 0.5, 1.5, 2.5, 3.5][int(gen.integers(0, 5))]
    return grading.case(label, epoch, lr, rate, steps, stair)


def falling_loss(rng: RngLike) -> list[float]:
    """A validation loss that falls, then wobbles, for 10-59 epochs; 3 decimals, so some
    values repeat."""
    gen = as_generator(rng)
    t = np.arange(int(gen.integers(10, 60)))
    noise = gen.normal(0.0, gen.uniform(0.005, 0.05), t.size)
    return [round(float(v), 3) for v in 2.0 / (1.0 + 0.3 * t) + 0.5 + noise]


def wandering_loss(rng: RngLike, *, start: float = 1.0, epochs: tuple[int, int] = (15, 50),
                   steps: Sequence[float] = WANDERING_STEPS) -> list[float]:
    """A validation loss that starts at ``start`` and takes a random step from ``steps``
    each epoch, for ``epochs[0]`` to ``epochs[1] - 1`` epochs; 3 decimals."""
    gen = as_generator(rng)
    walk = gen.choice(np.asarray(steps, dtype=float), size=int(gen.integers(*epochs)))
    return [round(float(v), 3) for v in start + np.cumsum(walk)]


def plateau_settings(rng: RngLike, **fixed: float) -> dict[str, float]:
    """Settings for a plateau scheduler: ``initial_lr`` 1 or 0.1, ``factor`` 0.1, 0.3 or
    0.5, ``patience`` 0-3, drawn at random; ``min_delta``, ``cooldown`` and ``min_lr`` 0;
    then the settings in ``fixed``, which must be among these names."""
    gen = as_generator(rng)
    settings = dict(initial_lr=float(gen.choice([1.0, 0.1])),
                    factor=float(gen.choice([0.1, 0.3, 0.5])),
                    patience=int(gen.integers(0, 4)), min_delta=0.0, cooldown=0, min_lr=0.0)
    unknown = set(fixed) - set(settings)
    if unknown:
        raise TypeError(f"plateau_settings: unknown settings {sorted(unknown)}")
    return {**settings, **fixed}


def plateau_run(rng: RngLike, loss: str = "wandering", **fixed: float
                ) -> tuple[dict[str, float], list[float]]:
    """The arguments of one plateau case, ``(settings, val_losses)``: random settings
    (:func:`plateau_settings`, with ``fixed``) and a random validation loss, ``loss`` =
    ``"falling"`` (:func:`falling_loss`) or ``"wandering"`` (:func:`wandering_loss`, from
    2.0 over 20-99 epochs)::

        grading.case("a wandering loss", *plateau_run(rng, cooldown=2))
    """
    gen = as_generator(rng)
    settings = plateau_settings(gen, **fixed)
    if loss == "falling":
        return settings, falling_loss(gen)
    if loss == "wandering":
        return settings, wandering_loss(gen, start=2.0, epochs=(20, 100))
    raise ValueError(f"plateau_run: loss is 'falling' or 'wandering', not {loss!r}")
