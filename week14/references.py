"""References for exercises that the library answers with several of its parts.

A graded exercise is compared with a week14 reference. Most are library functions
(``activations.sigmoid``, ``functional.zero_pad``); the few below compose the
library's layers, or are the objectives a gradient exercise is checked on. They live
here, not in the notebooks, so that grading can name them: the checker compares with
them, and :func:`week14.remote.replaced` can lend them to the student's kernel (to
grade an exercise that builds on another one on its own).
"""

from __future__ import annotations

import numpy as np

from week14.data import lecture_toy_network
from week14.functional import conv2d_naive
from week14.layers import Dense, Sigmoid
from week14.losses import sse
from week14.model import Sequential


def sigmoid_network(weights: list[tuple[np.ndarray, np.ndarray]]) -> Sequential:
    """The network ``Dense(W, b)`` then ``Sigmoid``, per ``(W, b)`` pair, W (in, out).

    Lecture: feedforward, a layer is σ(x W + b)."""
    layers = []
    for W, b in weights:
        dense = Dense(*np.shape(W), weight_init="zeros")
        dense.params["W"][...] = W
        dense.params["b"][...] = b
        layers += [dense, Sigmoid()]
    return Sequential(layers)


def sigmoid_layer(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """σ(x W + b) by week14's Dense and Sigmoid layers: x (N, in) -> (N, out)."""
    return sigmoid_network([(W, b)]).predict(x)


def conv_single_step(window: np.ndarray, kernel: np.ndarray, b: float) -> float:
    """Σ window · kernel + b for one (C, kh, kw) window (lecture: the RGB example's
    308 − 498 + 164 + 1 = −25), by ``functional.conv2d_naive``.

    Raises:
        ValueError: if the window and the kernel differ in shape, with how to slice.
    """
    window, kernel = np.asarray(window, dtype=float), np.asarray(kernel, dtype=float)
    if window.shape != kernel.shape:
        raise ValueError(
            f"a window of shape {window.shape} does not have the kernel's shape "
            f"{kernel.shape} (C, kh, kw): slice each window as "
            "x_padded[n, :, top:top + kh, left:left + kw] with kh, kw = w.shape[2:] "
            "(kernels need not be square)")
    bias = np.reshape(b, 1).astype(float)
    return float(conv2d_naive(window[None], kernel[None], bias)[0, 0, 0, 0])


# Objectives the numerical-gradient exercise is checked on (notebook 05).

def sum_of_squares(v: np.ndarray) -> float:
    """Σ v², whose gradient is 2v."""
    return float(np.sum(np.square(v)))


def sine_times_identity(v: np.ndarray) -> float:
    """Σ v·sin(v), whose gradient is sin(v) + v·cos(v)."""
    return float(np.sum(np.sin(v) * v))


def weighted_softplus(v: np.ndarray) -> float:
    """Σ_i i·softplus(v_i) (i from 1, in row-major order), whose gradient is i·σ(v_i)."""
    from week14.activations import softplus

    weights = np.arange(1, np.size(v) + 1).reshape(np.shape(v))
    return float(np.sum(softplus(v) * weights))


def toy_loss_of_input(v: np.ndarray) -> float:
    """SSE of the lecture's toy network on the inputs v (N, 2), targets the first N
    rows of the 2×2 identity."""
    return float(sse(lecture_toy_network().predict(v), np.eye(2)[: len(v)]))
