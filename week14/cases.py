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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from week14._rng import RngLike, as_generator

Builder = TypeVar("Builder", bound=Callable[..., list])


class Case(tuple):
    """One test case: the positional arguments of a call, and a label that says what
    the case exercises ("integer input", "a non-square kernel"). A hidden case's
    failure is reported by its label, never by its inputs."""

    label: str

    def __new__(cls, label: str, args: Sequence[Any]) -> Case:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"case expected a label, a non-empty string, got {label!r}")
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


def builds(*labels: str) -> Callable[[Builder], Builder]:
    """Declare the labels of the cases a seeded builder returns (its ``labels``
    attribute), so that what a hidden test built can be read from a notebook's source:
    ``tests/test_notebooks.py`` requires every hidden label to label a visible case too.
    A builder returns cases of exactly these labels, in this order."""

    def declare(builder: Builder) -> Builder:
        builder.labels = labels  # type: ignore[attr-defined]
        return builder

    return declare


#: The labels of :func:`elementwise_cases`, in order.
ELEMENTWISE_LABELS = ("moderate x", "a 2-D array", "a 3-D array", "x = ±1000 in float64",
                      "x near 0: ±tiny and −0.0", "an integer", "float32, ±1000 and ±tiny")


@builds(*ELEMENTWISE_LABELS)
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

# The seeded builders of notebooks 01–03's exercises: one random case of every kind
# (label) an exercise's hidden test grades, each label also a visible case's label.


def _distinct_sizes(gen: np.random.Generator, count: int, low: int = 1,
                    high: int = 7) -> list[int]:
    """``count`` different sizes in [low, high), in random order."""
    return [int(n) for n in gen.choice(np.arange(low, high), size=count, replace=False)]


def _layer(gen: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """A (W, b) pair of shapes (n_in, n_out) and (n_out,), uniform in [-2, 2)."""
    return gen.uniform(-2.0, 2.0, (n_in, n_out)), gen.uniform(-2.0, 2.0, n_out)


@builds("in ≠ out", "one example", "one input", "W = I, b = 0: the sigmoid",
        "saturated neurons (very large |z|)")
def layer_forward_cases(seed: int) -> list[Case]:
    """Cases (x, W, b) of a sigmoid layer σ(x W + b), x (N, in), W (in, out), b (out,),
    drawn from ``seed``: a layer with in ≠ out (N ≥ 2); one example (N = 1); one input
    (in = 1, b = 0); identity weights W = I and b = 0 on 20 examples of 2–4 columns in
    [-10, 10) (the layer is then the sigmoid itself); and saturated neurons, W = I and
    inputs with |z| between 700 and 1000 (np.exp(-z) overflows for z < -709)."""
    gen = np.random.default_rng(seed)
    n_in, n_out = _distinct_sizes(gen, 2, 2, 7)
    n = int(gen.integers(2, 8))
    wide = int(gen.integers(2, 5))
    big = gen.uniform(700.0, 1000.0, (4, 3)) * gen.choice([-1.0, 1.0], (4, 3))
    return [Case("in ≠ out", (gen.uniform(-2.0, 2.0, (n, n_in)), *_layer(gen, n_in, n_out))),
            Case("one example", (gen.uniform(-2.0, 2.0, (1, n_in)), *_layer(gen, n_in, 1))),
            Case("one input", (gen.uniform(-2.0, 2.0, (n, 1)), _layer(gen, 1, n_out)[0],
                               np.zeros(n_out))),
            Case("W = I, b = 0: the sigmoid", (gen.uniform(-10.0, 10.0, (20, wide)),
                                               np.eye(wide), np.zeros(wide))),
            Case("saturated neurons (very large |z|)", (big, np.eye(3),
                                                        gen.uniform(-1.0, 1.0, 3)))]


@builds("layers of different sizes", "one example", "one layer", "one example")
def network_forward_cases(seed: int) -> list[Case]:
    """Cases (x, weights) of a feedforward pass through sigmoid layers, ``weights`` a list
    of (W, b) pairs, drawn from ``seed``: three layers of different sizes (between 1 and
    6) on 6 examples and on one example, and one layer on 6 examples and on one."""
    gen = np.random.default_rng(seed)
    sizes = _distinct_sizes(gen, 4)
    deep = [_layer(gen, n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    n_in, n_out = _distinct_sizes(gen, 2)
    one_layer = [_layer(gen, n_in, n_out)]
    return [Case("layers of different sizes", (gen.uniform(-2.0, 2.0, (6, sizes[0])), deep)),
            Case("one example", (gen.uniform(-2.0, 2.0, (1, sizes[0])), deep)),
            Case("one layer", (gen.uniform(-2.0, 2.0, (6, n_in)), one_layer)),
            Case("one example", (gen.uniform(-2.0, 2.0, (1, n_in)), one_layer))]


@builds("one output per example", "several outputs per example", "one example",
        "large errors", "perfect predictions")
def sse_cases(seed: int) -> list[Case]:
    """Cases (ŷ, y) of a cost, drawn from ``seed``: 10 examples of one output and 4 of 3
    outputs, in [-5, 5); one example; errors of up to 2000 (ŷ and y in [-1000, 1000));
    and perfect predictions (ŷ equal to y, 5 examples)."""
    gen = np.random.default_rng(seed)
    y = gen.uniform(-5.0, 5.0, 5)
    return [Case("one output per example", tuple(gen.uniform(-5.0, 5.0, (2, 10)))),
            Case("several outputs per example", tuple(gen.uniform(-5.0, 5.0, (2, 4, 3)))),
            Case("one example", tuple(gen.uniform(-5.0, 5.0, (2, 1)))),
            Case("large errors", tuple(gen.uniform(-1000.0, 1000.0, (2, 4)))),
            Case("perfect predictions", (y.copy(), y))]


@builds("one output per example", "several outputs per example",
        "one example with several outputs", "one example")
def mse_cases(seed: int) -> list[Case]:
    """Cases (ŷ, y) of the lecture's MSE, standard normal, drawn from ``seed``: 25
    examples of one output, 5 examples of 3 outputs (m = 5 rows), one example of 2
    outputs and one example of one output."""
    gen = np.random.default_rng(seed)
    return [Case(label, tuple(gen.standard_normal((2, *shape)))) for label, shape in
            zip(mse_cases.labels, [(25,), (5, 3), (1, 2), (1,)], strict=True)]


@builds("the default under_weight", "under_weight = 1: the lecture's MSE",
        "another under_weight", "under_weight below 1", "several outputs per example",
        "only over-predictions", "only under-predictions", "no error at all")
def asymmetric_mse_cases(seed: int) -> list[Case]:
    """Cases (ŷ, y[, under_weight]) of the asymmetric MSE, drawn from ``seed``: 20
    standard normal predictions and targets with the default under_weight (3), with 1
    (the lecture's MSE), with another under_weight in [5, 10) and with one in [0.1, 0.9);
    6 examples of 3 outputs with under_weight 2; predictions all above their targets and
    all below (under_weight 4), and predictions equal to their targets (under_weight 3)."""
    gen = np.random.default_rng(seed)
    y_hat, y = gen.standard_normal((2, 20))
    rows_hat, rows = gen.standard_normal((2, 6, 3))
    gap = 0.5 + np.abs(gen.standard_normal(20))  # at least 0.5 apart
    return [Case("the default under_weight", (y_hat, y)),
            Case("under_weight = 1: the lecture's MSE", (y_hat, y, 1.0)),
            Case("another under_weight", (y_hat, y, gen.uniform(5.0, 10.0))),
            Case("under_weight below 1", (y_hat, y, gen.uniform(0.1, 0.9))),
            Case("several outputs per example", (rows_hat, rows, 2.0)),
            Case("only over-predictions", (y + gap, y)),
            Case("only under-predictions", (y - gap, y, 4.0)),
            Case("no error at all", (y.copy(), y, 3.0))]


@builds("one example and one weight", "more examples than weights",
        "at the minimum: the gradient is 0", "w = 0", "large values (X and y in the hundreds)")
def sse_gradient_cases(seed: int) -> list[Case]:
    """Cases (X, y, w) of a linear unit's SSE gradient, X (n, d), y (n,), w (d,), standard
    normal, drawn from ``seed``: one example and one weight; 50 examples of 4 weights; the
    least-squares w of 20 examples of 3 weights (the minimum: the gradient is 0 up to
    rounding); the same X and y at w = 0; and X and y of 8 examples scaled by 100."""
    gen = np.random.default_rng(seed)
    X_min, y_min = gen.standard_normal((20, 3)), gen.standard_normal(20)
    w_min = np.linalg.lstsq(X_min, y_min, rcond=None)[0]
    return [Case("one example and one weight", (gen.standard_normal((1, 1)),
                                                gen.standard_normal(1), gen.standard_normal(1))),
            Case("more examples than weights", (gen.standard_normal((50, 4)),
                                                gen.standard_normal(50), gen.standard_normal(4))),
            Case("at the minimum: the gradient is 0", (X_min, y_min, w_min)),
            Case("w = 0", (X_min, y_min, np.zeros(3))),
            Case("large values (X and y in the hundreds)", (
                100.0 * gen.standard_normal((8, 2)), 100.0 * gen.standard_normal(8),
                gen.standard_normal(2)))]


@builds("one example and one weight", "more examples than weights", "targets between 0 and 1",
        "a saturated unit (|z| in the hundreds)")
def sigmoid_sse_gradient_cases(seed: int) -> list[Case]:
    """Cases (X, y, w) of a sigmoid unit's SSE gradient, X (n, d) and w (d,) standard
    normal, drawn from ``seed``: one example and one weight and 50 examples of 4 weights,
    with targets 0 or 1; targets in [0, 1) for 7 examples of 2 weights; and a saturated
    unit, 6 examples of 3 weights with w times 300 (|z| = |Xw| in the hundreds)."""
    gen = np.random.default_rng(seed)

    def binary(n: int) -> np.ndarray:
        return gen.integers(0, 2, n).astype(float)

    return [Case("one example and one weight", (gen.standard_normal((1, 1)), binary(1),
                                                gen.standard_normal(1))),
            Case("more examples than weights", (gen.standard_normal((50, 4)), binary(50),
                                                gen.standard_normal(4))),
            Case("targets between 0 and 1", (gen.standard_normal((7, 2)), gen.uniform(0, 1, 7),
                                             gen.standard_normal(2))),
            Case("a saturated unit (|z| in the hundreds)", (
                gen.standard_normal((6, 3)), binary(6), 300.0 * gen.standard_normal(3)))]


@builds("a vector of weights", "a weight matrix", "a 3-D array of weights",
        "a large gradient and a tiny rate", "zero gradient: no move")
def gradient_descent_step_cases(seed: int) -> list[Case]:
    """Cases (w, grad, lr) of one gradient-descent step, w and grad standard normal, drawn
    from ``seed``: 7 weights with rate 0.01; a (4, 3) weight matrix with rate 0.5; a
    (2, 3, 3) array with rate 1e-3; gradients in [-1e6, 1e6) with rate 1e-6; and a zero
    gradient with rate 3."""
    gen = np.random.default_rng(seed)
    return [Case("a vector of weights", (*gen.standard_normal((2, 7)), 0.01)),
            Case("a weight matrix", (*gen.standard_normal((2, 4, 3)), 0.5)),
            Case("a 3-D array of weights", (*gen.standard_normal((2, 2, 3, 3)), 1e-3)),
            Case("a large gradient and a tiny rate", (gen.standard_normal(2),
                                                      gen.uniform(-1e6, 1e6, 2), 1e-6)),
            Case("zero gradient: no move", (gen.standard_normal(5), np.zeros(5), 3.0))]
