"""The mistakes students really make in the graded exercises, named in the lecture's terms.

A :class:`Mistake` is a small wrong implementation with the exercise's signature, and a
sentence that says what it computes and what the lecture asks for instead. When a
student's function fails a check, :func:`week14.grading.check_function` runs the
exercise's mistakes on the check's own cases (in the checker, never in the student's
kernel) and, when one of them gives exactly the student's values on every case, the
failure names it. The sentence holds no input or expected value, so a hidden check can
show it whole.

The catalogue is keyed by the reference the check compares with (its module and name,
e.g. ``week14.activations.sigmoid_derivative``). Its mistakes come from students'
work: each is what a plausible line of a wrong answer computes.

Example::

    >>> x = np.linspace(-2, 2, 5)
    >>> diagnose(activations.sigmoid_derivative, [(x,)], [x * (1 - x)]).key
    'sigmoid-derivative-from-input'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from week14 import mistakes_cnn, mistakes_training
from week14.mistake import Mistake

__all__ = ["CATALOGUE", "Mistake", "diagnose", "key_of", "mistakes_for"]


#: Every catalogued mistake, by the reference its exercise is checked against
#: (:func:`key_of`): notebooks 01–07 in :mod:`week14.mistakes_training`, 08–10 in
#: :mod:`week14.mistakes_cnn`.
CATALOGUE: dict[str, tuple[Mistake, ...]] = {**mistakes_training.CATALOGUE,
                                             **mistakes_cnn.CATALOGUE}


def key_of(reference: Callable) -> str:
    """The catalogue's key for ``reference``: its module and qualified name."""
    return f"{getattr(reference, '__module__', '')}.{getattr(reference, '__qualname__', '')}"


def mistakes_for(reference: Callable) -> tuple[Mistake, ...]:
    """The catalogued mistakes of the exercise checked against ``reference``."""
    return CATALOGUE.get(key_of(reference), ())


def _same(got: Any, wrong: Any, rtol: float, atol: float) -> bool:
    try:
        got, wrong = np.asarray(got, dtype=float), np.asarray(wrong, dtype=float)
    except (TypeError, ValueError):
        return False
    return got.shape == wrong.shape and bool(np.allclose(got, wrong, rtol=rtol, atol=atol,
                                                         equal_nan=True))


def diagnose(reference: Callable, cases: Sequence[tuple], values: Sequence[Any], *,
             rtol: float = 1e-7, atol: float = 1e-10, part: int | None = None
             ) -> Mistake | None:
    """The catalogued mistake that gives exactly ``values`` (the student's results) on
    every one of ``cases``, or None; with ``part``, the results are tuples and only
    that element counts. Mistakes are run here, on copies of the cases."""
    for mistake in mistakes_for(reference):
        with np.errstate(all="ignore"):
            try:
                wrong = [mistake.result(reference, case) for case in cases]
                if part is not None:
                    wrong = [result[part] for result in wrong]
            except Exception:  # noqa: BLE001 - a mistake that cannot run does not match
                continue
        if all(_same(v, w, rtol, atol) for v, w in zip(values, wrong, strict=True)):
            return mistake
    return None
