"""What notebook 07's test cells need beyond :mod:`week14.grading` (initialization and
the lottery ticket): seeded case builders for the hidden tests of ``unit_spread`` and
``magnitude_mask``.

Each builder returns ``n`` cases (one by default) of every kind it declares
(:func:`week14.cases.builds`), kind by kind, labelled as the notebook's visible cases
are, with arrays drawn from the seed the test cell keeps::

    grading.check_function(student, reference, hidden=True, cases=builder(seed, n=4))
"""

from __future__ import annotations

import numpy as np

from week14.cases import Case, builds

#: The kinds of :func:`unit_spread_cases`.
UNIT_SPREAD_LABELS = ("random weights", "identical units", "only a bias differs",
                      "one unit differs a little", "large weights")


def _identical_units(gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W (1-5 inputs × 2-7 units) whose columns are one random column, and a bias that
    is one random number for every unit."""
    n_in, units = int(gen.integers(1, 6)), int(gen.integers(2, 8))
    return (np.tile(gen.normal(size=(n_in, 1)), (1, units)),
            np.full(units, gen.normal()))


@builds(*UNIT_SPREAD_LABELS)
def unit_spread_cases(seed: int, n: int = 1) -> list[Case]:
    """``n`` cases ``(W, b)`` of every kind in :data:`UNIT_SPREAD_LABELS`, drawn from
    ``seed``: standard normal W (1-6 inputs × 1-9 units) and b; identical units (W's
    columns and b's entries all alike); identical units but for one bias; identical
    units but for one weight, changed by ±1e-4 to ±1e-2 (the spread is that small);
    weights in ±1000 with biases in ±10."""
    gen = np.random.default_rng(seed)
    cases = []
    for label in UNIT_SPREAD_LABELS:
        for _ in range(n):
            if label == "random weights":
                n_in, units = int(gen.integers(1, 7)), int(gen.integers(1, 10))
                W, b = gen.normal(size=(n_in, units)), gen.normal(size=units)
            elif label == "large weights":
                n_in, units = int(gen.integers(1, 7)), int(gen.integers(2, 10))
                W, b = gen.uniform(-1e3, 1e3, (n_in, units)), gen.uniform(-10, 10, units)
            else:
                W, b = _identical_units(gen)
                unit = int(gen.integers(0, W.shape[1]))
                if label == "only a bias differs":
                    b[unit] += gen.choice([-1.0, 1.0]) * gen.uniform(0.1, 3.0)
                elif label == "one unit differs a little":
                    W[int(gen.integers(0, W.shape[0])), unit] += (
                        gen.choice([-1.0, 1.0]) * 10 ** gen.uniform(-4, -2))
            cases.append(Case(label, (W, b)))
    return cases


#: The kinds of :func:`magnitude_mask_cases` (distinct magnitudes).
MAGNITUDE_MASK_LABELS = ("a 2-D weight matrix", "a 1-D array", "4-D convolution weights",
                         "large weights", "tiny weights")


def _shape(gen: np.random.Generator, label: str) -> tuple[int, ...]:
    """A random shape for weights of kind ``label``: (in, out) for a Dense layer, (n,),
    or (F, C, k, k) for a Conv2D layer."""
    if label == "a 1-D array":
        return (int(gen.integers(2, 21)),)
    if label in ("4-D convolution weights", "tiny weights"):
        k = int(gen.integers(1, 6))
        return int(gen.integers(2, 5)), int(gen.integers(1, 4)), k, k
    return int(gen.integers(2, 65)), int(gen.integers(2, 13))


@builds(*MAGNITUDE_MASK_LABELS)
def magnitude_mask_cases(seed: int, n: int = 1) -> list[Case]:
    """``n`` cases ``(weights, fraction)`` of every kind in :data:`MAGNITUDE_MASK_LABELS`,
    drawn from ``seed``: standard normal weights (distinct magnitudes) of shape (2-64,
    2-12), (2-20,) and (2-4, 1-3, k, k) with k 1-5; weights in ±1000 (a 2-D matrix) and
    normal weights of scale 1e-4 (4-D); each with a fraction of 0.05-0.95."""
    gen = np.random.default_rng(seed)
    cases = []
    for label in MAGNITUDE_MASK_LABELS:
        for _ in range(n):
            shape = _shape(gen, label)
            if label == "large weights":
                weights = gen.uniform(-1e3, 1e3, shape)
            else:
                weights = gen.normal(scale=1e-4 if label == "tiny weights" else 1.0, size=shape)
            cases.append(Case(label, (weights, float(gen.uniform(0.05, 0.95)))))
    return cases


#: The kinds of :func:`mask_edge_cases`: ties and the ends of the range of fractions.
MASK_EDGE_LABELS = ("ties in |w|", "fraction × size ending in .5", "nothing pruned",
                    "everything pruned", "a single weight")
#: Shapes whose size is a power of two, so that (k + 0.5) / size is exact in binary.
_DYADIC_SHAPES = ((2,), (4,), (8,), (2, 4), (4, 4), (2, 8), (2, 2, 2), (4, 2, 2, 2))


@builds(*MASK_EDGE_LABELS)
def mask_edge_cases(seed: int, n: int = 1) -> list[Case]:
    """``n`` cases ``(weights, fraction)`` of every kind in :data:`MASK_EDGE_LABELS`,
    drawn from ``seed``: whole numbers −3…3 with random signs (many ties, 0.0 and −0.0
    among them), 5-12 of them or a 2-D or 4-D array 3 or 4 wide, with a fraction of 0.1-0.9;
    fraction × size = k + 0.5 exactly (Python's round takes it to the even one of k and
    k + 1), for 2-32 distinct weights; fractions 0 and 1, for weights as
    :func:`magnitude_mask_cases` draws them; a single weight (1, 1×1 or 1×1×1×1) with a
    fraction of 0-1."""
    gen = np.random.default_rng(seed)
    cases = []
    for label in MASK_EDGE_LABELS:
        for _ in range(n):
            if label == "ties in |w|":
                dims = int(gen.choice([1, 2, 4]))  # 5 weights or more, 4 magnitudes: ties
                wide = int(gen.integers(5, 13) if dims == 1 else gen.integers(3, 5))
                shape = (wide,) * dims
                weights = np.copysign(gen.integers(0, 4, shape), gen.choice([-1.0, 1.0], shape))
                fraction = float(gen.uniform(0.1, 0.9))
            elif label == "fraction × size ending in .5":
                shape = _DYADIC_SHAPES[int(gen.integers(0, len(_DYADIC_SHAPES)))]
                weights, size = gen.normal(size=shape), int(np.prod(shape))
                fraction = (int(gen.integers(0, size)) + 0.5) / size
            elif label == "a single weight":
                weights = gen.normal(size=(1,) * int(gen.choice([1, 2, 4])))
                fraction = float(gen.uniform(0.0, 1.0))
            else:  # nothing or everything pruned
                kind = MAGNITUDE_MASK_LABELS[int(gen.integers(0, 3))]  # 2-D, 1-D or 4-D
                weights = gen.normal(size=_shape(gen, kind))
                fraction = float(label == "everything pruned")
            cases.append(Case(label, (weights, fraction)))
    return cases
