"""What notebooks 08 (convolution) and 09 (pooling) need beyond :mod:`week14.grading`.

:func:`check_kernel` grades a kernel the student wrote as an array (not a function)
against the lecture's; :func:`check_average_of_integers` grades average pooling of an
integer image, where the one common mistake (an output array of the input's integer
dtype) deserves a message that names the fix, before the usual comparison.

The builders (:func:`conv_single_step_cases`, :func:`conv2d_cases`,
:func:`max_pool_cases`, :func:`avg_pool_cases`) draw the hidden tests' cases from a seed
the test cell keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from week14 import functional, grading
from week14.cases import builds


def kernel_answer(namespace: dict, name: str) -> Callable[[], np.ndarray]:
    """The notebook's global ``name`` (a kernel the student wrote) as a function of no
    arguments, for :func:`week14.grading.check_function`; a kernel of integers counts as
    the same numbers in floats. Fails if the name is not defined."""
    if name not in namespace:
        raise grading.CheckFailed(f"define `{name}` in the cell above and run it")
    kernel = np.asarray(namespace[name])
    if kernel.dtype.kind in "iu":
        kernel = kernel.astype(float)

    def answer() -> np.ndarray:
        return kernel

    answer.__name__ = name
    return answer


def check_kernel(namespace: dict, name: str, reference: Callable[[], np.ndarray], *,
                 label: str) -> None:
    """Fail unless the notebook's kernel ``name`` equals ``reference()`` (the slide's);
    ``label`` says which kernel of the slide it should be. A known wrong kernel is named
    (:mod:`week14.misconceptions`)."""
    grading.check_function(kernel_answer(namespace, name), reference,
                           cases=[grading.case(label)], name=name)


def check_average_of_integers(avg_pool: Callable, case: grading.Case) -> None:
    """Fail unless ``avg_pool(*case)``, average pooling of an integer image, returns the
    averages as floats, and the right ones (:func:`week14.grading.check_function` on
    ``case``, a labelled visible case ``(x, size, stride)``).

    The average of integers is not an integer: an output array made with the input's
    dtype (``np.zeros(shape, dtype=x.dtype)``) silently truncates every mean, and the
    message says so and how to fix it, with the (visible) values."""
    x, size, stride = case
    expected = functional.avg_pool2d(np.asarray(x, dtype=float), size, stride)
    pooled: Any = avg_pool(x, size, stride)
    if pooled is not None and np.asarray(pooled).dtype.kind in "iub":
        raise grading.CheckFailed(
            f"avg_pool(an integer image of shape {np.shape(x)}, size={size}, stride={stride}) "
            f"returned "
            f"{np.asarray(pooled).dtype} values {np.asarray(pooled).ravel().tolist()}, "
            f"expected floats {expected.ravel().tolist()}: the average of integers is not "
            "an integer. Make the output a float array, e.g. np.zeros(shape) (float64 by "
            "default) instead of np.zeros(shape, dtype=x.dtype), or take the means of "
            "x.astype(float)")
    grading.check_function(avg_pool, functional.avg_pool2d, cases=[case])


# Seeded case builders for the hidden tests: ``n`` cases (one by default) of every kind
# a builder declares (week14.cases.builds), kind by kind, labelled as the notebooks'
# visible cases are, with arrays drawn from the seed the test cell keeps::
#
#     grading.check_function(student, reference, hidden=True, cases=builder(seed, n=2))

#: The kinds of :func:`conv_single_step_cases`; the non-square kernel last (a matrix
#: product, a catalogued mistake, cannot even run on it).
CONV_SINGLE_STEP_LABELS = ("several channels", "large values",
                           "a 1×1 kernel and an integer bias", "a non-square kernel")


def _integer(gen: np.random.Generator, low: int, high: int) -> int:
    """A Python int in [low, high]."""
    return int(gen.integers(low, high + 1))


@builds(*CONV_SINGLE_STEP_LABELS)
def conv_single_step_cases(seed: int, n: int = 1) -> list[grading.Case]:
    """``n`` cases ``(window, kernel, b)`` of every kind in
    :data:`CONV_SINGLE_STEP_LABELS`, drawn from ``seed``: standard normal windows and
    kernels of shape (2-4, k, k) with k 2-5 and a float bias; a window in ±1000 of shape
    (1-3, k, k) with k 2-3 and a bias in ±1000; (1-4, 1, 1) with a Python int bias in
    −5…5; (1-3, kh, kw) with kh ≠ kw, both 1-5."""
    gen = np.random.default_rng(seed)
    cases = []
    for label in CONV_SINGLE_STEP_LABELS:
        for _ in range(n):
            bias: float = float(gen.normal())
            if label == "several channels":
                k = _integer(gen, 2, 5)
                shape = (_integer(gen, 2, 4), k, k)
            elif label == "large values":
                k = _integer(gen, 2, 3)
                shape, bias = (_integer(gen, 1, 3), k, k), float(gen.uniform(-1e3, 1e3))
            elif label == "a 1×1 kernel and an integer bias":
                shape, bias = (_integer(gen, 1, 4), 1, 1), _integer(gen, -5, 5)
            else:
                kh, kw = gen.choice(np.arange(1, 6), size=2, replace=False).tolist()
                shape = (_integer(gen, 1, 3), kh, kw)
            window = (gen.uniform(-1e3, 1e3, shape) if label == "large values"
                      else gen.normal(size=shape))
            cases.append(grading.case(label, window, gen.normal(size=shape), bias))
    return cases


#: The kinds of :func:`conv2d_cases`.
CONV2D_LABELS = ("stride 2", "several channels", "padding 2", "a 1×1 kernel",
                 "a non-square kernel")


def _conv2d_case(gen: np.random.Generator, label: str) -> grading.Case:
    """One case ``(x, w, b, stride, padding)`` of convolution kind ``label``, standard
    normal: 1-2 images of 1-3 channels, 5-8 × 5-8, 1-3 filters of 3×3, stride 1,
    padding 0-1, unless the kind changes them."""
    images, channels, filters = _integer(gen, 1, 2), _integer(gen, 1, 3), _integer(gen, 1, 3)
    height, width, kh, kw = _integer(gen, 5, 8), _integer(gen, 5, 8), 3, 3
    stride, padding = 1, _integer(gen, 0, 1)
    if label == "stride 2":
        stride = 2
    elif label == "several channels":
        channels, filters = _integer(gen, 3, 5), _integer(gen, 2, 4)
        kh = kw = _integer(gen, 2, 3)
    elif label == "padding 2":
        height, width, padding = _integer(gen, 3, 6), _integer(gen, 3, 6), 2
    elif label == "a 1×1 kernel":
        kh = kw = 1
        stride, padding = _integer(gen, 1, 2), 0
    elif label == "a non-square kernel":
        kh, kw = gen.choice(np.arange(1, 5), size=2, replace=False).tolist()
        stride, padding = _integer(gen, 1, 3), _integer(gen, 0, 2)
    x = gen.normal(size=(images, channels, height, width))
    w = gen.normal(size=(filters, channels, kh, kw))
    return grading.case(label, x, w, gen.normal(size=filters), stride, padding)


@builds(*CONV2D_LABELS)
def conv2d_cases(seed: int, n: int = 1) -> list[grading.Case]:
    """``n`` cases ``(x, w, b, stride, padding)`` of every kind in :data:`CONV2D_LABELS`,
    drawn from ``seed``, standard normal: 1-2 images of 1-3 channels, 5-8 × 5-8, 1-3
    filters; stride 2 (3×3 kernels, padding 0-1); 3-5 channels and 2-4 filters (k 2-3,
    padding 0-1); padding 2 (3×3 kernels on 3-6 × 3-6 images); 1×1 kernels (stride 1-2);
    kh ≠ kw, both 1-4 (stride 1-3, padding 0-2)."""
    gen = np.random.default_rng(seed)
    return [_conv2d_case(gen, label) for label in CONV2D_LABELS for _ in range(n)]


#: The kinds both pooling builders draw, labelled as notebook 09's visible cases are.
_POOL_LABELS = ("windows that overlap", "the default stride", "several channels",
                "a 1×1 window", "a stride larger than the window",
                "one window covering the image")
#: The kinds of :func:`max_pool_cases`.
MAX_POOL_LABELS = (*_POOL_LABELS, "only negative values", "float32 input")
#: The kinds of :func:`avg_pool_cases`.
AVG_POOL_LABELS = (*_POOL_LABELS, "integer input")


def _pool_case(gen: np.random.Generator, label: str) -> grading.Case:
    """One case ``(x, size[, stride])`` of pooling kind ``label``: 1-2 images of 1-3
    channels, 5-8 × 5-8, standard normal (in ±1000 with only negative values, whole
    numbers 0-9 for integer input), window 2-3 and stride 1-3 unless the kind fixes
    them."""
    images, channels = _integer(gen, 1, 2), _integer(gen, 1, 3)
    height, width = _integer(gen, 5, 8), _integer(gen, 5, 8)
    size = _integer(gen, 2, 3)
    stride: int | None = _integer(gen, 1, 3)
    if label == "windows that overlap":
        stride = _integer(gen, 1, size - 1)
    elif label in ("the default stride", "float32 input"):
        stride = None
    elif label == "several channels":
        images, channels = _integer(gen, 1, 3), _integer(gen, 3, 5)
    elif label == "a 1×1 window":
        size = 1
    elif label == "a stride larger than the window":
        stride = size + _integer(gen, 1, 2)
    elif label == "one window covering the image":
        height = width = size = _integer(gen, 2, 6)
        stride = None
    shape = (images, channels, height, width)
    if label == "only negative values":
        x = gen.uniform(-1e3, -1.0, shape)
    elif label == "integer input":
        x = gen.integers(0, 10, shape)
    else:
        x = gen.normal(size=shape)
    if label == "float32 input":
        x = x.astype(np.float32)
    return grading.case(label, x, size, *([] if stride is None else [stride]))


@builds(*MAX_POOL_LABELS)
def max_pool_cases(seed: int, n: int = 1) -> list[grading.Case]:
    """``n`` cases ``(x, size)`` or ``(x, size, stride)`` of every kind in
    :data:`MAX_POOL_LABELS`, drawn from ``seed``: 1-2 images of 1-3 channels, 5-8 × 5-8,
    standard normal, windows 2-3 and strides 1-3, unless the kind fixes them (3-5
    channels; a square image 2-6 wide under one window; values in −1000…−1; float32)."""
    gen = np.random.default_rng(seed)
    return [_pool_case(gen, label) for label in MAX_POOL_LABELS for _ in range(n)]


@builds(*AVG_POOL_LABELS)
def avg_pool_cases(seed: int, n: int = 1) -> list[grading.Case]:
    """``n`` cases ``(x, size)`` or ``(x, size, stride)`` of every kind in
    :data:`AVG_POOL_LABELS`, drawn from ``seed``: as :func:`max_pool_cases`, and an
    int64 image of whole numbers 0-9 (its averages are floats)."""
    gen = np.random.default_rng(seed)
    return [_pool_case(gen, label) for label in AVG_POOL_LABELS for _ in range(n)]
