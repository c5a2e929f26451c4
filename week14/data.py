"""The lecture's worked examples as data, and small data sets for the notebooks.

Nothing is downloaded: the toy network and XOR are written out here, two-moons is
generated with NumPy, and the handwritten digits are a file in this package
(``week14/datasets/digits.csv.gz``, the copy that scikit-learn ships; see the README
next to it), read with NumPy.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import numpy as np

from week14._rng import RngLike, as_generator
from week14._validation import check_real
from week14.layers import Dense, Sigmoid
from week14.model import Sequential

# --------------------------------------------------------------------------------------
# Feedforward toy network (slide: "Feedforward")
# --------------------------------------------------------------------------------------

_TOY_WEIGHTS: tuple[tuple[list[list[float]], list[float]], ...] = (
    # (W as (in, out): column j holds the weights of neuron j, b)
    ([[1.0, -1.0], [-2.0, 1.0]], [1.0, 0.0]),
    ([[2.0, -2.0], [-1.0, -1.0]], [0.0, 0.0]),
    ([[3.0, -1.0], [-1.0, 4.0]], [-2.0, 2.0]),
)


def lecture_toy_network() -> Sequential:
    """The lecture's two-input toy network (slide: "Feedforward"; Hung-yi Lee, "Deep
    Learning Tutorial"): three fully connected layers of two sigmoid neurons each,
    ``f: R² → R²``.

    =====  ==========================  ==========================
    layer  neuron 1: weights, bias     neuron 2: weights, bias
    =====  ==========================  ==========================
    1      (1, −2), 1                  (−1, 1), 0
    2      (2, −1), 0                  (−2, −1), 0
    3      (3, −1), −2                 (−1, 4), 2
    =====  ==========================  ==========================

    Each neuron computes ``σ(w·a + b)`` of the previous layer's outputs ``a``. As
    ``Dense`` weights (in × out) the first layer is ``W = [[1, −1], [−2, 1]]``,
    ``b = [1, 0]``.

    For the input (1, −1) the layers output (0.98, 0.12), (0.86, 0.11) and
    f(1, −1) = (0.62, 0.83), the slide's result; f(0, 0) = (0.51, 0.85).

    Returns:
        ``Sequential([Dense(2, 2), Sigmoid()] * 3)`` with those weights (float64).
    """
    layers = []
    for weights, bias in _TOY_WEIGHTS:
        dense = Dense(2, 2, weight_init="zeros")
        dense.params["W"][...] = weights
        dense.params["b"][...] = bias
        layers += [dense, Sigmoid()]
    return Sequential(layers)


# --------------------------------------------------------------------------------------
# Small classification problems
# --------------------------------------------------------------------------------------


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four points of XOR: label 1 when exactly one input is 1.

    No straight line separates the two classes, so a network needs a hidden layer
    (slide: "Feedforward"), and that layer's units must start different (slide:
    "Breaking symmetry") to learn it.

    Returns:
        ``X`` float64 (4, 2), rows (0, 0), (0, 1), (1, 0), (1, 1); ``y`` int64 (4,),
        ``[0, 1, 1, 0]``.
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def two_moons(
    n_samples: int = 200, noise: float = 0.1, rng: RngLike = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, a classic non-linear classification problem
    (slides: "Feedforward", "Backpropagation").

    Class 0 lies on the upper half of the unit circle, ``(cos t, sin t)``, and class 1
    on the lower half circle ``(1 − cos t, 0.5 − sin t)``, for ``t`` evenly spaced in
    [0, π]; then Gaussian noise of standard deviation ``noise`` is added to both
    coordinates and the rows are shuffled. Class 0 gets ``n_samples // 2`` points, class
    1 the rest. Same construction as scikit-learn's ``make_moons``, written in NumPy.

    Args:
        n_samples: total number of points, >= 2.
        noise: standard deviation of the Gaussian noise, >= 0.
        rng: seed or Generator for the noise and the shuffle.

    Returns:
        ``X`` float64 (n_samples, 2) and ``y`` int64 (n_samples,) with labels 0/1.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
        raise TypeError(
            f"two_moons expected n_samples to be an int, got {type(n_samples).__name__}"
        )
    if n_samples < 2:
        raise ValueError(f"two_moons expected n_samples >= 2 (one per moon), got {n_samples}")
    if not noise >= 0:
        raise ValueError(f"two_moons expected noise >= 0, got {noise!r}")
    gen = as_generator(rng)
    n_upper = n_samples // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_samples - n_upper)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_upper), np.sin(t_upper)]),
            np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)]),
        ]
    )
    y = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(n_samples - n_upper, np.int64)])
    X += gen.normal(0.0, noise, size=X.shape)
    order = gen.permutation(n_samples)
    return X[order], y[order]


# --------------------------------------------------------------------------------------
# Handwritten digits (slides: "Convolutional Neural Networks (CNN)", "CNN example")
# --------------------------------------------------------------------------------------


SPLIT_PARTS = ("train", "val", "test")
"""The parts a :class:`Split` can hold, in the order they are used."""


@dataclass(frozen=True, eq=False)
class Split:
    """Labelled data in parts: training, and optionally validation and test.

    The fields come in the order the parts are used: ``X_train, y_train`` to fit the
    weights, ``X_val, y_val`` to choose what training cannot (the early-stopping epoch,
    when to lower the learning rate), ``X_test, y_test`` to report the result once.
    Each ``X`` holds one example per row, shape (n_part, ...) (features (n, D) or
    images (n, C, H, W)); each ``y`` holds its integer labels, shape (n_part,). A part
    that is absent is None in both of its fields.

    It unpacks like scikit-learn's ``train_test_split``: every ``X`` part, then every
    ``y`` part, in the order train, val, test, skipping absent parts::

        X_train, X_test, y_train, y_test = digits()
        X_train, X_val, X_test, y_train, y_val, y_test = week14.lottery.digits_splits()

    Raises:
        ValueError: a part's ``X`` is given without its ``y``, or the other way round.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    def __post_init__(self) -> None:
        for part in SPLIT_PARTS:
            if (getattr(self, f"X_{part}") is None) != (getattr(self, f"y_{part}") is None):
                raise ValueError(f"Split expected X_{part} and y_{part} together: both "
                                 "arrays, or both None for an absent part")

    def has(self, part: str) -> bool:
        """Whether the part ("train", "val" or "test") is present."""
        if part not in SPLIT_PARTS:
            raise ValueError(f"Split parts are {list(SPLIT_PARTS)}, got {part!r}")
        return getattr(self, f"X_{part}") is not None

    def __iter__(self) -> Iterator[np.ndarray]:
        parts = [part for part in SPLIT_PARTS if self.has(part)]
        return iter([getattr(self, f"{array}_{part}") for array in "Xy" for part in parts])


def stratified_split_indices(
    y: np.ndarray, test_size: float = 0.25, rng: RngLike = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test indices that keep each class's share in both parts.

    The test part gets ``ceil(test_size · n)`` rows in total (as scikit-learn does),
    shared among the classes in proportion to their sizes (largest remainders break
    ties); the rows of each class are drawn at random. Both index arrays are shuffled.

    Args:
        y: labels, shape (n,).
        test_size: fraction of the rows for the test part, 0 < test_size < 1.
        rng: seed or Generator.

    Returns:
        ``(train_idx, test_idx)``, int64 arrays that together are a permutation of
        ``range(n)``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"stratified_split_indices expected labels of shape (n,), got {y.shape}")
    test_size = check_real("stratified_split_indices", "test_size", test_size, gt=0.0, lt=1.0)
    gen = as_generator(rng)
    classes, counts = np.unique(y, return_counts=True)
    n_test = int(np.ceil(test_size * y.size))
    share = counts * n_test / y.size
    per_class = np.floor(share).astype(np.int64)
    leftover = n_test - per_class.sum()
    per_class[np.argsort(per_class - share, kind="stable")[:leftover]] += 1
    test_parts, train_parts = [], []
    for label, k in zip(classes, per_class, strict=True):
        rows = gen.permutation(np.flatnonzero(y == label))
        test_parts.append(rows[:k])
        train_parts.append(rows[k:])
    return gen.permutation(np.concatenate(train_parts)), gen.permutation(np.concatenate(test_parts))


def read_digits_table() -> np.ndarray:
    """The handwritten digits file ``week14/datasets/digits.csv.gz`` as it is stored:
    one row per image, the 64 pixel counts 0–16 (the 8×8 image row by row) and then the
    label 0–9; shape ``(1797, 65)``, uint8. Where the file comes from and its licence:
    ``week14/datasets/README.md``."""
    source = resources.files("week14") / "datasets" / "digits.csv.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        return np.loadtxt(text, delimiter=",", dtype=np.uint8)


# Read once, at import (4 ms, 117 kB), and read-only: the grading sandbox imports week14
# and then deletes the library's files (autograder.zygote.serve), so a kernel could not
# open the file later.
_DIGITS_TABLE = read_digits_table()
_DIGITS_TABLE.setflags(write=False)


def digits(test_size: float = 0.25, rng: RngLike = 0, *, images: bool = False) -> Split:
    """The 8×8 handwritten digits (UCI "Optical Recognition of Handwritten Digits", the
    copy that scikit-learn ships: 1,797 images, labels 0–9), split into stratified train
    and test parts (slides: "Convolutional Neural Networks (CNN)", "CNN example").

    The data is ``week14/datasets/digits.csv.gz`` (see :func:`read_digits_table`). Pixels
    are scaled from 0–16 to [0, 1] (float64).
    With ``images=False`` each image is a row of 64 features, ``(n, 64)``, for Dense
    networks; with ``images=True`` it keeps its layout as one channel,
    ``(n, 1, 8, 8)`` (NCHW), for convolutional networks. The split is reproducible from
    ``rng`` (see :func:`stratified_split_indices`).

    Returns:
        A :class:`Split` with train and test parts, which unpacks as
        ``X_train, X_test, y_train, y_test``; labels are int64.
    """
    X = _DIGITS_TABLE[:, :64] / 16.0
    if images:
        X = X.reshape(-1, 1, 8, 8)
    y = _DIGITS_TABLE[:, 64].astype(np.int64)
    train, test = stratified_split_indices(y, test_size, rng)
    return Split(X[train], y[train], X_test=X[test], y_test=y[test])


# --------------------------------------------------------------------------------------
# Convolution and pooling worked examples (slides: "Convolutions", "Pooling")
# --------------------------------------------------------------------------------------

_LECTURE_RGB_PATCH = (
    # The 5×5 interior of the top-left corner of each channel on the slide "Convolutions"
    # (the slide shows it inside a frame of zero padding).
    [[156, 155, 156, 158, 158], [153, 154, 157, 159, 159], [149, 151, 155, 158, 159],
     [146, 146, 149, 153, 158], [145, 143, 143, 148, 158]],  # red
    [[167, 166, 167, 169, 169], [164, 165, 168, 170, 170], [160, 162, 166, 169, 170],
     [156, 156, 159, 163, 168], [155, 153, 153, 158, 168]],  # green
    [[163, 162, 163, 165, 165], [160, 161, 164, 166, 166], [156, 158, 162, 165, 166],
     [155, 155, 158, 162, 167], [154, 152, 152, 157, 167]],  # blue
)

_LECTURE_KERNELS = (
    [[-1, -1, 1], [0, 1, -1], [0, 1, 1]],  # kernel channel #1, applied to red
    [[1, 0, 0], [1, -1, -1], [1, 0, -1]],  # kernel channel #2, applied to green
    [[0, 1, 1], [0, 1, 0], [1, -1, 1]],  # kernel channel #3, applied to blue
)


def lecture_conv_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The RGB patch, the 3-channel kernel and the bias of the slide "Convolutions".

    Returns ``(x, w, b)`` ready for ``week14.functional.conv2d(x, w, b, padding=1)``:

    - ``x`` (1, 3, 5, 5): one image, channels red, green, blue, the 5×5 corner the slide
      shows (the slide draws it already zero-padded to 6×6 and more);
    - ``w`` (1, 3, 3, 3): one filter whose three channels are the slide's kernels #1–#3;
    - ``b`` (1,): the bias, 1.

    All float64. With padding 1 the first output value is
    ``308 + (−498) + 164 + 1 = −25``: the red, green and blue windows
    ``[[0,0,0],[0,156,155],[0,153,154]]``, ... times their kernels, summed, plus the bias.
    """
    x = np.array(_LECTURE_RGB_PATCH, dtype=np.float64)[None]
    w = np.array(_LECTURE_KERNELS, dtype=np.float64)[None]
    return x, w, np.array([1.0])


class PoolingExample(NamedTuple):
    """A pooling worked example: ``pool(x, size, stride)`` equals ``expected``.

    ``x`` is (1, 1, H, W) and ``expected`` (1, 1, Ho, Wo), both float64, ready for
    ``week14.functional.max_pool2d`` / ``avg_pool2d``; ``x[0, 0]`` is the slide's grid.
    Unpacks as ``x, size, stride, expected = lecture_max_pool_example()``.
    """

    x: np.ndarray
    size: int
    stride: int
    expected: np.ndarray


def lecture_max_pool_example() -> PoolingExample:
    """The 5×5 grid of the slide "Max Pooling", pooled by a 3×3 window with stride 1.

    Every 3×3 window of ``[[3,3,2,1,0],[0,0,1,3,1],[3,1,2,2,3],[2,0,0,2,2],[2,0,0,0,1]]``
    has maximum 3 except the one at row 2, column 1 (maximum 2), so the result is
    ``[[3,3,3],[3,3,3],[3,2,3]]``.
    """
    grid = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
    expected = [[3, 3, 3], [3, 3, 3], [3, 2, 3]]
    return PoolingExample(
        np.array(grid, dtype=np.float64)[None, None], 3, 1,
        np.array(expected, dtype=np.float64)[None, None],
    )


def lecture_avg_pool_example() -> PoolingExample:
    """The 4×4 grid of the slide "Average pooling", pooled by 2×2 windows with stride 2.

    ``[[7,3,5,2],[8,7,1,6],[4,9,3,9],[0,8,4,5]]`` gives ``[[6.25, 3.5], [5.25, 5.25]]``;
    the slide works out the first value, (7 + 3 + 8 + 7) / 4 = 6.25.
    """
    grid = [[7, 3, 5, 2], [8, 7, 1, 6], [4, 9, 3, 9], [0, 8, 4, 5]]
    expected = [[6.25, 3.5], [5.25, 5.25]]
    return PoolingExample(
        np.array(grid, dtype=np.float64)[None, None], 2, 2,
        np.array(expected, dtype=np.float64)[None, None],
    )


def sample_image(scale: int = 1) -> np.ndarray:
    """A real photograph for the kernel demos: Grace Hopper's portrait, which matplotlib
    ships as ``grace_hopper.jpg`` (slide: "Some examples of kernels").

    Args:
        scale: shrink factor (int >= 1): each ``scale×scale`` block of pixels becomes its
            mean (rows and columns that do not fill a block are dropped). The original is
            600×512; ``scale=4`` gives 150×128, quick to filter in a notebook.

    Returns:
        float64 RGB image of shape (H, W, 3) with values in [0, 1].
    """
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer):
        raise TypeError(f"sample_image expected scale to be an int, got {type(scale).__name__}")
    if scale < 1:
        raise ValueError(f"sample_image expected scale >= 1, got {scale}")
    import matplotlib.cbook  # imported here so that `import week14.data` stays NumPy-only
    import matplotlib.image

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = matplotlib.image.imread(path)[..., :3].astype(np.float64) / 255.0
    height, width = image.shape[0] // scale * scale, image.shape[1] // scale * scale
    blocks = image[:height, :width].reshape(height // scale, scale, width // scale, scale, 3)
    return blocks.mean(axis=(1, 3))
