"""Correct answers written in ordinary styles score full marks, with no flag.

One class is graded in one batch. Each style student is the instructor's perfect
submission of one notebook with one answer cell replaced by a correct answer in that
style (helpers, classes, comprehensions with any names, ``math``, ``np.vectorize``,
``functools``, answers that warn on extreme inputs, typing, recursion, ...). The class
also holds the instructor's own solutions for all ten notebooks, and three realistic
wrong answers, which must lose exactly their exercise's points with a readable message.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from autograder.collect import collect
from autograder.config import ASSIGNMENT, SOURCE_DIR
from autograder.course import Course
from autograder.course import test_points as points_of
from autograder.examples import student_notebook
from autograder.notebook import bound_names, parse

NOTEBOOKS = sorted(p.stem for p in (SOURCE_DIR / ASSIGNMENT).glob("*.ipynb"))
NB01, NB02, NB03, NB04, NB05, NB06, NB07, NB08, NB09, NB10 = NOTEBOOKS

# style (the student's id) -> (notebook, answer cell's grade id, the answer cell's code)
STYLES: dict[str, tuple[str, str, str]] = {
    # -- rebinding the notebook's names, self-tests at the end of the answer cell -------
    "rebinds-np-and-self-tests": (NB04, "nb04_sigmoid", '''\
import numpy
np = numpy  # the notebook's own name, bound again


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x)), written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))


print(sigmoid(np.array([0.0])))
x = sigmoid(3.0)
print(x)
'''),
    "rebinds-example-data": (NB03, "nb03_sse_gradient", '''\
def sse_gradient(X, y, w):
    """Gradient of SSE = ½ Σ_j (y_j − ŷ_j)² for a linear unit ŷ = Xw, shape (d,)."""
    y_hat = X @ w
    return X.T @ (y_hat - y)


# my check on the worked example: expect [-0.5, -2.5]
X = np.array([[1.0, 2.0], [1.0, -1.0]])
y = np.array([3.0, 0.0])
w = np.array([1.0, 0.5])
print(sse_gradient(X, y, w))
'''),
    "rebinds-a-module-the-tests-use": (NB08, "nb08_zero_pad", '''\
def zero_pad(x, p):
    """Pad the height and width of an (N, C, H, W) batch with p zeros on every side."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=x.dtype)
    out[:, :, p:p + h, p:p + w] = x
    return out


data = np.arange(4.0).reshape(1, 1, 2, 2)  # `data` is week14.data elsewhere
print(zero_pad(data, 1)[0, 0])
'''),
    "self-test-with-notebook-data": (NB02, "nb02_mse", '''\
def mse(y_hat, y):
    """The lecture's MSE, from my sse: sum((y_hat - y)**2) / (2 m)."""
    return sse(y_hat, y) / len(y_hat)


print(mse(y_hat, y))  # the example at the top: 4.5 / 8 = 0.5625
'''),
    "self-test-on-earlier-cells-data": (NB04, "nb04_sigmoid_derivative", '''\
def sigmoid_derivative(x):
    """σ′(x) = σ(x)(1 − σ(x)), elementwise."""
    s = sigmoid(x)
    return s * (1.0 - s)


print(sigmoid_derivative(x)[:3])  # the x of the cells above
print("agrees with the centred differences above:", np.allclose(sigmoid_derivative(x), numeric))
'''),
    "self-test-on-a-trained-network": (NB07, "nb07_unit_spread", """\
def unit_spread(W, b):
    '''Largest distance between two hidden units' vectors (W[:, j], b[j]); a float.'''
    units = np.vstack([W, b]).T                       # (H, n_in + 1): row j = unit j
    gaps = units[:, None, :] - units[None, :, :]      # (H, H, n_in + 1)
    return float(np.sqrt((gaps**2).sum(axis=-1)).max())


# the network trained in the plot above
first = net.layers[0].params
print("spread of the trained network:", unit_spread(first["W"], first["b"]))
"""),
    "self-test-on-the-photo": (NB08, "nb08_kernels", """\
# gaussian_blur, sharpen, edge_detection: 3×3 arrays from the slide "Some examples of kernels"
gaussian_blur = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0
sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float)
edge_detection = -np.ones((3, 3))
edge_detection[1, 1] = 8.0

for kernel in (gaussian_blur, sharpen, edge_detection):
    print(kernels.apply_kernel(photo, kernel, 1, 1).shape)  # the photo at the top
"""),
    "main-guard-self-test": (NB08, "nb08_conv_output_size", '''\
def conv_output_size(n, k, p=0, s=1):
    """n′ = floor((n + 2p - k) / s) + 1."""
    return (n - k + 2 * p) // s + 1


if __name__ == "__main__":
    assert conv_output_size(5, 3) == 3
    assert conv_output_size(224, 7, 3, 2) == 112
    print("conv_output_size: my checks pass")
'''),
    "code-above-the-stubs-raise": (NB01, "nb01_layer_forward", """\
def layer_forward(x, W, b):
    '''Sigmoid layer: sigma(x @ W + b) for x (N, in), W (in, out), b (out,) -> (N, out).'''
    # YOUR CODE HERE
    z = x @ W + b
    return np.exp(-np.logaddexp(0.0, -z))  # sigma(z) = 1 / (1 + e^-z), without overflow
    raise NotImplementedError()
"""),
    "global-counter": (NB03, "nb03_sse_gradient", '''\
calls = 0


def sse_gradient(X, y, w):
    """Gradient of SSE for a linear unit; counts how often it is called."""
    global calls
    calls += 1
    return -X.T @ (y - X @ w)
'''),
    # -- names: comprehension variables, parameters ------------------------------------
    "comprehension-names-name-input": (NB10, "nb10_confusion_matrix", '''\
def confusion_matrix(y_true, y_pred, n_classes):
    """C[i, j] = number of examples of true class i predicted as class j; ints, (n, n)."""
    return np.array([[int(np.sum((y_true == name) & (y_pred == input)))
                      for input in range(n_classes)]
                     for name in range(n_classes)], dtype=int)
'''),
    "comprehension-name-sum": (NB02, "nb02_sse", '''\
def sse(y_hat, y):
    """Sum of squared errors: 0.5 * sum((y_hat - y)**2) over all entries."""
    return 0.5 * float(np.sum([sum * sum for sum in np.ravel(y_hat - y)]))
'''),
    "parameters-input-type": (NB04, "nb04_kinked_derivatives", '''\
def relu_derivative(input):
    """ReLU′: 0 for input < 0, 1 for input ≥ 0."""
    return (np.asarray(input) >= 0).astype(float)


def prelu_derivative(input, alpha=0.25):
    """PReLU′: alpha for input < 0, 1 for input ≥ 0."""
    return np.where(np.asarray(input) >= 0, 1.0, alpha)


def binary_step_derivative(input, type=float):
    """Binary step′: 0 everywhere."""
    return np.zeros(np.shape(input), dtype=type)
'''),
    "parameter-id-nested-helper": (NB07, "nb07_unit_spread", """\
def unit_spread(W, b):
    '''Largest distance between two hidden units' vectors (W[:, j], b[j]); a float.'''
    def unit(id):
        return np.append(W[:, id], b[id])

    units = [unit(id) for id in range(W.shape[1])]
    return max(float(np.linalg.norm(u - v)) for u in units for v in units)
"""),
    # -- helpers, classes, constants ---------------------------------------------------
    "helper-functions": (NB08, "nb08_conv2d_forward", '''\
def _window(xp, i, j, kh, kw, stride):
    """The (N, C, kh, kw) windows of every image for output position (i, j)."""
    top, left = i * stride, j * stride
    return xp[:, :, top:top + kh, left:left + kw]


def _output_shape(x, w, stride, padding):
    return (x.shape[0], w.shape[0],
            conv_output_size(x.shape[2], w.shape[2], padding, stride),
            conv_output_size(x.shape[3], w.shape[3], padding, stride))


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Convolution (cross-correlation) of (N, C, H, W) images with (F, C, kh, kw) kernels."""
    xp = zero_pad(x, padding)
    out = np.zeros(_output_shape(x, w, stride, padding))
    kh, kw = w.shape[2:]
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = _window(xp, i, j, kh, kw, stride)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out
'''),
    "helper-class": (NB09, "nb09_max_pool", '''\
class PoolWindows:
    """The size x size windows of an (N, C, H, W) batch, one per output position."""

    def __init__(self, x, size, stride):
        self.x, self.size, self.stride = x, size, stride
        self.out_h = (x.shape[2] - size) // stride + 1
        self.out_w = (x.shape[3] - size) // stride + 1

    def __iter__(self):
        for i in range(self.out_h):
            for j in range(self.out_w):
                top, left = i * self.stride, j * self.stride
                yield i, j, self.x[:, :, top:top + self.size, left:left + self.size]


def max_pool(x, size, stride=None):
    """Max pooling of an (N, C, H, W) batch with size x size windows."""
    windows = PoolWindows(x, size, size if stride is None else stride)
    out = np.empty(x.shape[:2] + (windows.out_h, windows.out_w), dtype=x.dtype)
    for i, j, window in windows:
        out[:, :, i, j] = window.max(axis=(2, 3))
    return out
'''),
    "dataclass-post-init": (NB05, "nb05_dense_sigmoid_backward", '''\
from dataclasses import dataclass


@dataclass
class Gradients:
    """The three gradients of one layer."""

    dW: np.ndarray
    db: np.ndarray
    dx: np.ndarray

    def __post_init__(self):
        self.db = np.asarray(self.db).reshape(-1)
        assert self.dW.shape[1] == self.db.shape[0]


def dense_sigmoid_backward(x, W, b, dy):
    """Gradients (dW, db, dx) of the layer y = sigmoid(x @ W + b)."""
    y = activations.sigmoid(x @ W + b)
    dz = dy * y * (1.0 - y)
    grads = Gradients(dW=x.T @ dz, db=dz.sum(axis=0), dx=dz @ W.T)
    return grads.dW, grads.db, grads.dx
'''),
    "class-with-call": (NB04, "nb04_sigmoid", '''\
class Logistic:
    """The logistic function as an object: Logistic()(x) = 1 / (1 + e^(−x))."""

    def __call__(self, x):
        x = np.asarray(x)
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


sigmoid = Logistic()
'''),
    "module-constants": (NB07, "nb07_magnitude_mask", """\
KEEP, PRUNE = True, False
TIE_ORDER = "stable"  # equal magnitudes: the first in row-major order is pruned first


def magnitude_mask(weights, fraction):
    '''Boolean mask (True = kept) pruning the round(fraction * size) smallest |weights|.'''
    n_pruned = round(fraction * weights.size)
    ranked = np.argsort(np.abs(weights), axis=None, kind=TIE_ORDER)
    mask = np.full(weights.shape, KEEP)
    mask.flat[ranked[:n_pruned]] = PRUNE
    return mask
"""),
    "kernels-as-lists": (NB08, "nb08_kernels", """\
# gaussian_blur, sharpen, edge_detection: 3×3 arrays from the slide "Some examples of kernels"
gaussian_blur = [[1 / 16, 2 / 16, 1 / 16],
                 [2 / 16, 4 / 16, 2 / 16],
                 [1 / 16, 2 / 16, 1 / 16]]
sharpen = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
edge_detection = [[-1] * 3, [-1, 8, -1], [-1] * 3]
"""),
    # -- math, np.vectorize, functools -------------------------------------------------
    "math-exp-vectorize": (NB04, "nb04_sigmoid", '''\
import math


def _logistic(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid(x):
    """σ(x), one element at a time with math.exp."""
    return np.vectorize(_logistic, otypes=[float])(x)
'''),
    "vectorize-decorator": (NB04, "nb04_smooth_derivatives", '''\
def tanh_derivative(x):
    """f′(x) = 1 − tanh(x)², elementwise."""
    return 1.0 - np.tanh(x) ** 2


@np.vectorize
def arctan_derivative(x):
    """f′(x) = 1 / (x² + 1)."""
    return 1.0 / (x * x + 1.0)


softplus_derivative = np.vectorize(lambda x: sigmoid(x))
'''),
    "math-floor-early-return": (NB06, "nb06_exponential_decay", """\
import math


def exponential_decay(epoch, initial_lr, decay_rate, decay_steps=1, staircase=False):
    '''Learning rate of `epoch` under exponential decay.'''
    if not staircase:
        return initial_lr * decay_rate ** (epoch / decay_steps)
    return initial_lr * decay_rate ** math.floor(epoch / decay_steps)
"""),
    "functools-lru-cache": (NB06, "nb06_step_decay", """\
import functools


@functools.lru_cache(maxsize=None)
def _multiplier(factor, drops):
    '''factor ** drops, computed once per (factor, drops).'''
    return factor ** drops


def step_decay(epoch, initial_lr, factor, every):
    '''Learning rate of `epoch` (0, 1, 2, ...) under step decay.'''
    return initial_lr * _multiplier(factor, int(epoch // every))
"""),
    "functools-reduce": (NB01, "nb01_count_parameters", """\
from functools import reduce


def count_parameters(layer_sizes):
    '''Number of weights and biases of a dense network with these layer sizes.'''
    pairs = zip(layer_sizes, layer_sizes[1:])
    return reduce(lambda total, pair: total + pair[0] * pair[1] + pair[1], pairs, 0)
"""),
    # -- answers that warn on extreme hidden inputs but return the right values --------
    "warns-naive-sigmoid": (NB04, "nb04_sigmoid", '''\
def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x)), elementwise."""
    return 1 / (1 + np.exp(-x))
'''),
    "warns-elu-where": (NB04, "nb04_elu_derivative", '''\
def elu_derivative(x, alpha=1.0):
    """ELU′(x): 1 for x ≥ 0, alpha·e^x for x < 0, elementwise."""
    return np.where(x >= 0, 1.0, alpha * np.exp(x))
'''),
    "shadows-imported-sigmoid": (NB03, "nb03_sigmoid_sse_gradient", '''\
def sigmoid(z):
    # my own sigmoid, instead of the one imported at the top
    return 1 / (1 + np.exp(-z))


def sigmoid_sse_gradient(X, y, w):
    """Gradient of SSE = ½ Σ_j (y_j − ŷ_j)² for a sigmoid unit ŷ = σ(Xw), shape (d,)."""
    y_hat = sigmoid(X @ w)
    return -X.T @ ((y - y_hat) * y_hat * (1.0 - y_hat))
'''),
    # -- a scheduler and a CNN -------------------------------------------------------
    "scheduler-helpers-properties": (NB06, "nb06_plateau_scheduler", """\
class PlateauScheduler:
    '''Reduce the learning rate when the validation loss stops improving (Keras's rules).'''

    def __init__(self, initial_lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                 min_lr=1e-6):
        self.lr = initial_lr
        self.factor = factor
        self.patience = patience
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.best = np.inf
        self.wait = 0
        self.cooldown_counter = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    @property
    def can_reduce(self):
        return self.lr > self.min_lr

    def _improves(self, val_loss):
        return val_loss < self.best - self.min_delta

    def _tick_cooldown(self):
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.wait = 0

    def _reduce(self):
        self.lr = max(self.lr * self.factor, self.min_lr)
        self.cooldown_counter = self.cooldown
        self.wait = 0

    def step(self, val_loss):
        '''Record this epoch's val_loss; return the learning rate for the next epoch.'''
        self._tick_cooldown()
        if self._improves(val_loss):
            self.best, self.wait = val_loss, 0
        elif not self.in_cooldown:
            self.wait += 1
            if self.wait >= self.patience and self.can_reduce:
                self._reduce()
        return self.lr
"""),
    "cnn-other-architecture": (NB10, "nb10_cnn", '''\
from week14.layers import AvgPool2D, Tanh


def build_cnn(rng):
    """conv12 (padded) - tanh - average pool - conv24 - ReLU - dense 10."""
    gen = np.random.default_rng(rng)
    return Sequential([
        Conv2D(1, 12, (3, 3), padding=1, rng=gen, dtype=np.float32),  # (N, 12, 8, 8)
        Tanh(),
        AvgPool2D(2),                                                 # (N, 12, 4, 4)
        Conv2D(12, 24, 3, rng=gen, dtype=np.float32),                 # (N, 24, 2, 2)
        ReLU(),
        Flatten(),                                                    # (N, 96)
        Dense(96, 10, rng=gen, dtype=np.float32),
    ])


def train_cnn(model, X, y):
    """Train model in place: SGD with momentum, the rate halved every 3 epochs."""
    trainer = Trainer(model, "cross_entropy", SGD(0.1, momentum=0.9),
                      schedule=StepDecay(0.1, 0.5, 3), batch_size=32, seed=1,
                      progress=False)
    trainer.fit(X, y, epochs=10)
'''),
    "train-returns-history": (NB10, "nb10_cnn", '''\
def build_cnn(rng):
    """An untrained CNN for (N, 1, 8, 8) digits -> (N, 10) scores."""
    gen = np.random.default_rng(rng)
    return Sequential([
        Conv2D(1, 16, 3, padding=1, rng=gen, dtype=np.float32),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(16 * 4 * 4, 64, rng=gen, dtype=np.float32),
        ReLU(),
        Dense(64, 10, rng=gen, dtype=np.float32),
    ])


def train_cnn(model, X, y):
    """Train model in place; return the training history, to plot it."""
    trainer = Trainer(model, "cross_entropy", SGD(0.1, momentum=0.9),
                      schedule=StepDecay(0.1, 0.5, 2), batch_size=32, seed=0,
                      progress=False)
    return trainer.fit(X, y, epochs=6)
'''),
    # -- typing, docstrings, asserts, early returns, recursion, other idioms -----------
    "typing-annotations": (NB02, "nb02_asymmetric_mse", """\
import numpy.typing as npt


def asymmetric_mse(y_hat: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                   under_weight: float = 3.0) -> float:
    '''MSE with under-predictions (y_hat < y) weighted under_weight times more.'''
    error: npt.NDArray[np.float64] = y_hat - y
    weights: np.ndarray = np.where(error < 0, under_weight, 1.0)
    m: int = len(y_hat)
    return float(np.sum(weights * error**2) / (2 * m))
"""),
    "typing-import": (NB01, "nb01_network_forward", """\
from typing import Sequence

Layer = tuple[np.ndarray, np.ndarray]


def network_forward(x: np.ndarray, weights: Sequence[Layer]) -> np.ndarray:
    '''Feedforward through sigmoid layers given as a list of (W, b) pairs; returns (N, out).'''
    a = x
    for W, b in weights:
        a = layer_forward(a, W, b)
    return a
"""),
    "docstring-with-doctest": (NB03, "nb03_gradient_descent_step", '''\
def gradient_descent_step(w, grad, lr):
    """One gradient-descent update.

    Parameters
    ----------
    w : np.ndarray
        The weights now (not changed).
    grad : np.ndarray
        The gradient of the cost at ``w``, same shape as ``w``.
    lr : float
        The learning rate η.

    Returns
    -------
    np.ndarray
        ``w − lr · grad``, a new array.

    Examples
    --------
    >>> gradient_descent_step(np.array([1.0, 0.5]), np.array([-0.5, -2.5]), 0.1)
    array([1.05, 0.75])
    """
    return w - lr * grad
'''),
    "lambda": (NB03, "nb03_gradient_descent_step", """\
gradient_descent_step = lambda w, grad, lr: w - lr * grad
"""),
    "asserts-that-hold": (NB09, "nb09_avg_pool", '''\
from numpy.lib.stride_tricks import sliding_window_view


def avg_pool(x, size, stride=None):
    """Average pooling of an (N, C, H, W) batch, size x size windows (stride defaults to size)."""
    stride = size if stride is None else stride
    assert x.ndim == 4, "expected a batch of shape (N, C, H, W)"
    assert size <= min(x.shape[2:]), "the window must fit in the image"
    windows = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    assert windows.shape[2] == (x.shape[2] - size) // stride + 1
    return windows.mean(axis=(-2, -1))
'''),
    "recursion": (NB01, "nb01_network_forward", """\
def network_forward(x, weights):
    '''Feedforward through sigmoid layers given as a list of (W, b) pairs; returns (N, out).'''
    if len(weights) == 0:
        return x
    (W, b), *rest = weights
    return network_forward(layer_forward(x, W, b), rest)
"""),
    "einsum-returns-a-list": (NB05, "nb05_dense_sigmoid_backward", '''\
def dense_sigmoid_backward(x, W, b, dy):
    """Gradients [dW, db, dx] of the layer y = sigmoid(x @ W + b), with einsum."""
    y = activations.sigmoid(np.einsum("ni,io->no", x, W) + b)
    dz = dy * y * (1 - y)
    return [np.einsum("ni,no->io", x, dz), np.einsum("no->o", dz),
            np.einsum("no,io->ni", dz, W)]
'''),
    "nudges-input-in-place-and-restores": (NB05, "nb05_centred_difference_gradient", '''\
def centred_difference_gradient(f, x, h=1e-5):
    """Numerical gradient of f at x: nudge each entry of x in place, then put it back."""
    grad = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad
'''),
    "prints-while-called": (NB08, "nb08_conv_single_step", '''\
def conv_single_step(window, kernel, b):
    """One output value: the sum of window * kernel over all channels and positions, plus b."""
    products = window * kernel
    print("window", window.shape, "-> sum of products", products.sum())  # debugging
    return float(products.sum()) + float(b)
'''),
}

#: Styles whose answers warn (a RuntimeWarning) on some hidden input -> the test cell that
#: must show the warning as a note, not as a failure.
WARNING_STYLES = {"warns-naive-sigmoid": "nb04_test_sigmoid",
                  "warns-elu-where": "nb04_test_elu_derivative"}

# wrong answer (the student's id) -> (notebook, answer's grade id, code, test cell that
# must lose its points, the function its failure message must name)
WRONG: dict[str, tuple[str, str, str, str, str]] = {
    "wrong-mse-over-m": (NB02, "nb02_mse", '''\
def mse(y_hat, y):
    """MSE, divided by m instead of 2m."""
    m = y_hat.shape[0]
    return float(np.sum((y_hat - y) ** 2)) / m
''', "nb02_test_mse", "mse"),
    "wrong-gradient-sign": (NB03, "nb03_sse_gradient", '''\
def sse_gradient(X, y, w):
    """The gradient with the wrong sign."""
    return X.T @ (y - X @ w)
''', "nb03_test_sse_gradient", "sse_gradient"),
    "wrong-X-instead-of-XT": (NB03, "nb03_sigmoid_sse_gradient", '''\
def sigmoid_sse_gradient(X, y, w):
    """X where X.T belongs."""
    y_hat = sigmoid(X @ w)
    return -X @ ((y - y_hat) * y_hat * (1.0 - y_hat))
''', "nb03_test_sigmoid_sse_gradient", "sigmoid_sse_gradient"),
}

PERFECT = "instructor"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def with_answer(notebook: str, gid: str, code: str) -> str:
    """The perfect submission of ``notebook`` with answer cell ``gid`` replaced by ``code``."""
    nb = json.loads(student_notebook(f"{notebook}.ipynb", "perfect"))
    cells = [c for c in nb["cells"] if grade_id(c) == gid
             and c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert len(cells) == 1, f"{notebook} has no answer cell {gid}"
    cells[0]["source"] = code
    return json.dumps(nb, indent=1)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class, graded once: (student, notebook) -> (result, graded notebook)."""
    root = tmp_path_factory.mktemp("styles")
    incoming = root / "incoming"
    todo: list[tuple[str, str]] = []

    def submit(student: str, notebook: str, text: str) -> None:
        folder = incoming / student
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{notebook}.ipynb").write_text(text)
        todo.append((student, notebook))

    for notebook in NOTEBOOKS:
        submit(PERFECT, notebook, student_notebook(f"{notebook}.ipynb", "perfect"))
    for student, (notebook, gid, code) in STYLES.items():
        submit(student, notebook, with_answer(notebook, gid, code))
    for student, (notebook, gid, code, _, _) in WRONG.items():
        submit(student, notebook, with_answer(notebook, gid, code))

    course = Course(root / "course")
    report = collect(incoming, course.root / "submitted", set(NOTEBOOKS))
    assert report.skipped == [] and len(report.taken) == len(todo), report.lines()
    results = course.grade(todo, jobs=2)
    graded = {}
    for result in results:
        path = course.autograded_dir(result.student) / f"{result.notebook}.ipynb"
        notebook = json.loads(path.read_text()) if path.exists() else {"cells": []}
        graded[(result.student, result.notebook)] = (result, notebook)
    yield graded
    shutil.rmtree(root, ignore_errors=True)


def total(result) -> tuple[float, float]:
    return (sum(score for score, _ in result.scores.values()),
            sum(top for _, top in result.scores.values()))


def output_text(cell: dict, kinds: tuple[str, ...] = ("error", "stderr")) -> str:
    """What a graded cell shows of ``kinds``: errors (name, message and traceback),
    stderr, stdout; without terminal colours."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error" and "error" in kinds:
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
            parts += out.get("traceback", [])
        elif out.get("output_type") == "stream" and out.get("name") in kinds:
            text = out.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
    return _ANSI.sub("", "\n".join(parts))


def failures(result, notebook: dict) -> str:
    """Every test cell that lost points, with what its outputs say."""
    lines = []
    for cell in notebook["cells"]:
        gid = grade_id(cell)
        score = result.scores.get(gid)
        if score and score[0] < score[1]:
            lines.append(f"--- {gid}: {score[0]:g}/{score[1]:g}\n{output_text(cell)}")
    return "\n".join(lines)


def test_the_class_is_graded_completely(graded):
    students = {PERFECT, *STYLES, *WRONG}
    assert {student for student, _ in graded} == students
    assert len(graded) == len(NOTEBOOKS) + len(STYLES) + len(WRONG)
    styled = {notebook for notebook, _, _ in STYLES.values()}
    assert len(STYLES) >= 20 and len(styled) >= 6


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_instructor_solutions_score_full_marks_without_flags(graded, notebook):
    result, nb = graded[(PERFECT, notebook)]
    full = sum(points_of(SOURCE_DIR / ASSIGNMENT / f"{notebook}.ipynb").values())
    assert total(result) == (full, full), failures(result, nb)
    assert result.flags == []


@pytest.mark.parametrize("style", sorted(STYLES))
def test_correct_answer_style_scores_full_marks_without_flags(graded, style):
    notebook, gid, code = STYLES[style]
    result, nb = graded[(style, notebook)]
    [answer] = [c for c in nb["cells"] if grade_id(c) == gid]
    assert "".join(answer["source"]) == code, "the graded notebook does not hold the answer"
    full = sum(points_of(SOURCE_DIR / ASSIGNMENT / f"{notebook}.ipynb").values())
    score = total(result)
    assert (score, result.flags) == ((full, full), []), (
        f"{style} ({notebook}, {gid}) scored {score[0]:g}/{full:g} with flags "
        f"{result.flags}\n{failures(result, nb)}")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_answer_cell_runs_as_in_jupyterlab(graded, style):
    """The answer cell itself ran without an error: its self-tests found the notebook's
    names (teaching cells above it, the notebook's imports) as they would in JupyterLab.
    One exception, by design: while a notebook is graded, week14's implementations of
    its exercises are taken out of the student's kernel, so a self-test line that uses
    one (through the notebook's data) stops with a note that says so, and costs
    nothing."""
    notebook, gid, _ = STYLES[style]
    _, nb = graded[(style, notebook)]
    [answer] = [c for c in nb["cells"] if grade_id(c) == gid]
    shown = output_text(answer)
    unavailable = "is not available while this notebook is graded"
    # names of teaching cells that stopped on that (their data is missing, by design)
    missing = {name for cell in nb["cells"] if unavailable in output_text(cell)
               and cell is not answer for name in bound_names(parse(''.join(cell['source'])))}
    assert (shown == "" or (unavailable in shown and shown.startswith("ReferenceCalled"))
            or any(shown.startswith(f"NameError: name '{name}'") for name in missing)), (
        f"{style}'s answer cell shows:\n{shown}")


@pytest.mark.parametrize("style", sorted(WARNING_STYLES))
def test_warnings_are_printed_as_notes(graded, style):
    """The warning styles do warn on a hidden input: a note on stdout, nothing on stderr."""
    notebook, test_id = STYLES[style][0], WARNING_STYLES[style]
    result, nb = graded[(style, notebook)]
    [cell] = [c for c in nb["cells"] if grade_id(c) == test_id]
    stdout = output_text(cell, ("stdout",))
    assert "RuntimeWarning" in stdout and "costs nothing" in stdout, stdout
    assert output_text(cell) == "", output_text(cell)
    assert result.scores[test_id][0] == result.scores[test_id][1]


@pytest.mark.parametrize("student", sorted(WRONG))
def test_wrong_answers_lose_exactly_their_exercise_with_a_readable_message(graded, student):
    notebook, _, _, failing, function = WRONG[student]
    result, nb = graded[(student, notebook)]
    points = points_of(SOURCE_DIR / ASSIGNMENT / f"{notebook}.ipynb")
    assert result.scores == {
        cell: (0.0 if cell == failing else top, top) for cell, top in points.items()
    }, failures(result, nb)
    assert result.flags == []
    [cell] = [c for c in nb["cells"] if grade_id(c) == failing]
    errors = [out for out in cell["outputs"] if out["output_type"] == "error"]
    assert len(errors) == 1, cell["outputs"]
    message = f"{errors[0]['ename']}: {errors[0]['evalue']}"
    assert errors[0]["ename"] == "CheckFailed", message
    assert re.search(rf"\b{function}\b", errors[0]["evalue"]), message
    shown = output_text(cell)
    assert "Traceback" not in shown, f"the failure of {function} shows:\n{shown}"
