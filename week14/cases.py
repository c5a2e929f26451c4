"""The cases graded checks run on: labelled calls, and seeded builders of them.

A case is the positional arguments of one call with a label that says what it exercises
("integer input", "a non-square kernel"); a hidden case's failure is reported by its label,
never by its inputs. The builders draw a case's arrays from a seed, so that a test cell
says in one line what it checks: which situations (the labels) and which sizes. They hold
no hidden data: a hidden test keeps its own seed and sizes, in the notebook.

Example (a test cell)::

    grading.check_function(sigmoid, activations.sigmoid, grading.elementwise_cases(40),
                           elementwise=True)
    grading.check_function(sse, losses.sse, grading.random_cases(201, [
        grading.case("several outputs per example", (4, 3), (4, 3))]), hidden=True)

All these names are also :mod:`week14.grading`'s, where test cells use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from week14._rng import RngLike, as_generator


class Case(tuple):
    """One test case: the positional arguments of a call, and a label that says what
    the case exercises ("integer input", "a non-square kernel"). A hidden case's
    failure is reported by its label, never by its inputs."""

    label: str

    def __new__(cls, label: str, args: Sequence[Any]) -> Case:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"a case's label must be a non-empty string, got {label!r}")
        new = super().__new__(cls, args)
        new.label = label
        return new


def case(label: str, *args: Any) -> Case:
    """The arguments ``args`` of one call, labelled with what they exercise::

        grading.case("several outputs per example", y_hat, y)

    Every hidden case of a check needs a label, and a visible case with the same label
    and other numbers lets the student meet that situation before grading."""
    return Case(label, args)


def random_arrays(
    shapes: Iterable[tuple[int, ...]],
    *,
    low: float = -5.0,
    high: float = 5.0,
    rng: RngLike = 0,
) -> list[np.ndarray]:
    """Seeded uniform random float64 arrays, one per shape, for a test's random cases."""
    gen = as_generator(rng)
    return [gen.uniform(low, high, size=shape) for shape in shapes]


@dataclass(frozen=True)
class Draw:
    """An argument of :func:`random_cases`: a uniform random array of ``shape`` in
    [low, high)."""

    shape: tuple[int, ...]
    low: float = -1.0
    high: float = 1.0


def draw(shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> Draw:
    """A random array of ``shape`` in [low, high), as an argument of :func:`random_cases`
    (a bare shape draws in [-1, 1))."""
    return Draw(tuple(shape), low, high)


def _is_shape(arg: Any) -> bool:
    return (isinstance(arg, tuple) and len(arg) > 0
            and all(isinstance(n, int) and not isinstance(n, bool) for n in arg))


def random_cases(seed: int, cases: Iterable[Case]) -> list[Case]:
    """The labelled ``cases`` with each argument that is a shape (a tuple of ints such as
    ``(4, 3)``) or a :func:`draw` replaced by a uniform random array of that shape,
    drawn in order from ``np.random.default_rng(seed)``, also inside lists and tuples
    (a network's ``[((2, 3), (3,)), ((3, 1), (1,))]`` becomes its (W, b) pairs); other
    arguments stay as they are::

        grading.random_cases(201, [grading.case("several outputs per example", (4, 3),
                                                (4, 3)),
                                   grading.case("one example", np.array([7.0]), (1,))])
    """
    gen = np.random.default_rng(seed)

    def drawn(arg: Any) -> Any:
        if _is_shape(arg):
            arg = Draw(arg)
        if isinstance(arg, Draw):
            return gen.uniform(arg.low, arg.high, size=arg.shape)
        if isinstance(arg, list | tuple):  # e.g. a network's [(W shape, b shape), ...]
            return type(arg)(drawn(item) for item in arg)
        return arg

    return [Case(c.label, [drawn(arg) for arg in c]) for c in cases]


#: The labels of :func:`elementwise_cases`, in order.
ELEMENTWISE_LABELS = ("moderate x", "a 2-D array", "a 3-D array", "x = ±1000 in float64",
                      "x near 0: ±tiny and −0.0", "an integer", "float32, ±1000 and ±tiny")


def elementwise_cases(seed: int, *args: Any) -> list[Case]:
    """The standard cases of a function applied elementwise, drawn from ``seed``, each
    followed by ``args`` (e.g. an activation's α), labelled with
    :data:`ELEMENTWISE_LABELS`: moderate values of x in [-5, 5) (1-D, 2-D and 3-D
    arrays), x = ±1000 and values where np.exp(x) overflows, tiny values of both signs
    with 0.0 and −0.0, a Python integer, and a float32 array with ±1000 and tiny
    values. :func:`week14.grading.check_function` compares float32 results to float32
    precision."""
    gen = np.random.default_rng(seed)
    big, mid = gen.uniform(710.0, 900.0), gen.uniform(20.0, 60.0)
    tiny = 10.0 ** -float(gen.integers(20, 300))
    tiny32, one = 10.0 ** -float(gen.integers(20, 30)), gen.uniform(0.5, 3.0)
    inputs = (np.sort(gen.uniform(-5.0, 5.0, 9)), gen.uniform(-5.0, 5.0, (3, 4)),
              gen.uniform(-5.0, 5.0, (2, 3, 4)),
              np.array([-1000.0, -big, -mid, mid, big, 1000.0]),
              np.array([-tiny, -0.0, 0.0, tiny]), int(gen.integers(-4, 5)),
              np.array([-1000.0, -one, -tiny32, 0.0, tiny32, one, 1000.0], dtype=np.float32))
    return [Case(label, (x, *args)) for label, x in zip(ELEMENTWISE_LABELS, inputs,
                                                        strict=True)]


def dense_layer_cases(seed: int, *sizes: tuple[int, int, int], label: str,
                      x_scale: float = 1.0) -> list[Case]:
    """Cases (x, W, b, dy) of a dense layer's backward pass, one per size (N, in, out),
    drawn from ``seed``: x of shape (N, in) in [-2, 2) times ``x_scale``, W (in, out)
    and b (out,) in [-1, 1), the upstream gradient dy (N, out) standard normal."""
    gen = np.random.default_rng(seed)
    return [Case(label, (x_scale * gen.uniform(-2, 2, (n, n_in)),
                         gen.uniform(-1, 1, (n_in, n_out)), gen.uniform(-1, 1, n_out),
                         gen.standard_normal((n, n_out))))
            for n, n_in, n_out in sizes]
