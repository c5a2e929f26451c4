"""References for exercises that the library answers with several of its parts.

A graded exercise is compared with a week14 reference. Most are library functions
(``activations.sigmoid``, ``functional.zero_pad``); the few below compose the
library's layers, or are the objectives a gradient exercise is checked on. They live
here, not in the notebooks, so that grading can name them: the checker compares with
them, and :func:`week14.remote.replaced` can lend them to the student's kernel (to
grade an exercise that builds on another one on its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from week14.data import lecture_toy_network
from week14.functional import conv2d_naive
from week14.kernels import EDGE_DETECTION, GAUSSIAN_BLUR, SHARPEN
from week14.layers import Dense, Sigmoid
from week14.losses import sse
from week14.model import Sequential
from week14.schedules import ExponentialDecay, ReduceLROnPlateau, StepDecay


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


def network_forward(x: np.ndarray, weights: list[tuple[np.ndarray, np.ndarray]]
                    ) -> np.ndarray:
    """The feedforward pass through the sigmoid layers ``weights`` ((W, b) pairs, in
    order), by :func:`sigmoid_network`: a₀ = x, aₗ = σ(aₗ₋₁ Wₗ + bₗ), the output is the
    last layer's a; x (N, in) -> (N, out).

    Lecture: feedforward, each layer's output is the next layer's input; the toy
    network gives f(1, −1) = (0.62, 0.83)."""
    return sigmoid_network(weights).predict(x)


def count_parameters(layer_sizes: Sequence[int]) -> int:
    """The number of weights and biases of the network of week14's Dense layers with
    these sizes (inputs first): Σ (n_in · n_out + n_out) over consecutive sizes.

    Lecture: feedforward, a layer holds W (n_in, n_out) and b (n_out,); the toy network
    [2, 2, 2, 2] has 3 × (4 + 2) = 18."""
    model = Sequential([Dense(n_in, n_out, weight_init="zeros")
                        for n_in, n_out in pairwise(layer_sizes)])
    return sum(value.size for value in model.parameters().values())


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


# The slide's kernels (notebook 08), one reference each, so that a check compares one
# kernel a student wrote and names the mistakes of that kernel.

def gaussian_blur_kernel() -> np.ndarray:
    """The slide's 3×3 Gaussian blur, 1/16·[[1, 2, 1], [2, 4, 2], [1, 2, 1]]: a weighted
    mean of the neighbourhood, its weights sum to 1 (a copy of ``kernels.GAUSSIAN_BLUR``)."""
    return GAUSSIAN_BLUR.copy()


def sharpen_kernel() -> np.ndarray:
    """The slide's 3×3 sharpen kernel, 5 in the centre and −1 for the four neighbours: the
    pixel plus its difference from them, its weights sum to 1 (a copy of
    ``kernels.SHARPEN``)."""
    return SHARPEN.copy()


def edge_detection_kernel() -> np.ndarray:
    """The slide's 3×3 edge detector, 8 in the centre and −1 for all eight neighbours: its
    weights sum to 0, so flat regions become 0 (a copy of ``kernels.EDGE_DETECTION``)."""
    return EDGE_DETECTION.copy()


def dense_sigmoid_backward(x: np.ndarray, W: np.ndarray, b: np.ndarray, dy: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients (dW, db, dx) = (∂L/∂W, ∂L/∂b, ∂L/∂x) of the layer y = σ(x W + b),
    given the upstream gradient dy = ∂L/∂y, by week14's Dense and Sigmoid layers
    (forward, then backward).

    Lecture: backpropagation, first through the sigmoid, then through the dense layer:
    with z = x W + b, dz = ∂L/∂z = dy ⊙ y(1 − y); then dW = xᵀ dz, db = Σₙ dz (the sum
    over the N examples) and dx = dz Wᵀ.

    Shapes: x (N, in), W (in, out), b (out,) and dy (N, out); dW (in, out), db (out,)
    and dx (N, in), each the shape of what it is the gradient of.
    """
    network = sigmoid_network([(W, b)])
    network.forward(x)
    dx = network.backward(dy)
    dense = network.layers[0]
    return dense.grads["W"], dense.grads["b"], dx


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


# Learning-rate schedules (notebook 06), with the exercises' signatures.

def step_decay(epoch: int, initial_lr: float, factor: float, every: int) -> float:
    """The rate of epoch ``epoch`` (counted from 0) under step decay,
    η₀ · factor^⌊epoch / every⌋, by :class:`week14.schedules.StepDecay`.

    Lecture: adjusting learning rates, "halve every 5 epochs" is factor 0.5, every 5."""
    return StepDecay(initial_lr, factor, every)(epoch)


def exponential_decay(epoch: int, initial_lr: float, decay_rate: float,
                      decay_steps: float = 1, staircase: bool = False) -> float:
    """The rate of epoch ``epoch`` under exponential decay,
    η₀ · decay_rate^(epoch / decay_steps), the exponent floored to ⌊epoch / decay_steps⌋
    when ``staircase``, by :class:`week14.schedules.ExponentialDecay`."""
    return ExponentialDecay(initial_lr, decay_rate, decay_steps, staircase)(epoch)


def plateau_rates(settings: dict, val_losses: Sequence[float],
                  cls: type = ReduceLROnPlateau) -> list[float]:
    """The rates ``cls(**settings).step`` returns for ``val_losses``, one per epoch: after
    each epoch's validation loss, the rate for the next epoch.

    Lecture: plateau-driven decay. ``cls`` is week14's
    :class:`~week14.schedules.ReduceLROnPlateau` (Keras's rules) by default; a class
    with its settings (``initial_lr``, ``factor``, ``patience``, ``min_delta``,
    ``cooldown``, ``min_lr``) and its ``step(val_loss)`` (notebook 06's
    ``PlateauScheduler``) can be run the same way."""
    scheduler = cls(**settings)
    return [scheduler.step(value) for value in val_losses]
