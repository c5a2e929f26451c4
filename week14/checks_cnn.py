"""Notebook 10's graded check: a student's CNN must learn the digits.

:func:`check_cnn` builds the student's network (``build_cnn(seed)``), trains it with
their ``train_cnn(model, X, y)`` on one split of the handwritten digits, and fails
unless it gets 95 % of the held-out digits right. When it fails, the message says what
went wrong where the trained network shows it: an architecture that cannot read digits
(:func:`check_architecture`), a copy trained instead of the model, or a learning rate
so large that training diverged (:func:`training_problem`, with the catalogue's mistakes
``cnn-trains-a-copy`` and ``cnn-diverging-rate``), or else a hint to train longer.

The student's functions may be here (a self-check in JupyterLab) or in the student's
kernel (:class:`week14.remote.Remote`, when grading): the model is then judged from a
trusted copy made of week14's own layers (:func:`week14.grading.as_model`), so predicting
with it runs only week14's code. The split and the model's seed are the test cell's
(a hidden test passes its own).

:func:`confusion_matrix_cases` draws the hidden cases of the confusion matrix exercise
from a seed the test cell keeps.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from week14 import data, grading
from week14.cases import builds
from week14.layers import Conv2D
from week14.losses import softmax_cross_entropy
from week14.metrics import accuracy
from week14.model import Sequential

#: The accuracy on the held-out digits a CNN must reach.
REQUIRED_ACCURACY = 0.95
#: The longest ``train_cnn`` may take, in seconds.
MAX_SECONDS = 20.0


def check_architecture(net: Any) -> Sequential:
    """Fail unless ``net`` is a week14 ``Sequential`` with a ``Conv2D`` that maps
    (N, 1, 8, 8) digits to (N, 10) scores; return a copy of it made of week14's layers."""
    try:
        copy = grading.as_model(net)
    except Exception as err:  # noqa: BLE001 - whatever it is, say what is expected
        raise grading.CheckFailed(
            "build_cnn should return a week14.model.Sequential made of week14's layers "
            f"({err})") from None
    if not any(isinstance(layer, Conv2D) for layer in copy.layers):
        raise grading.CheckFailed(
            "build_cnn's network has no Conv2D layer: this exercise asks for a convolutional "
            "network")
    try:
        scores = copy.predict(np.zeros((2, 1, 8, 8), dtype=np.float32))
    except ValueError as err:
        raise grading.CheckFailed(
            f"build_cnn's network cannot read digits of shape (2, 1, 8, 8): {err}") from None
    if scores.shape != (2, 10):
        raise grading.CheckFailed(
            f"build_cnn's network turns 2 digits into an output of shape {scores.shape}; it "
            "should be (2, 10), one score per class")
    return copy


def training_problem(untrained: Sequential, trained: Sequential, X: np.ndarray,
                     y: np.ndarray) -> str | None:
    """What went wrong in training, if the trained network shows it, else None.

    ``untrained`` and ``trained`` are copies of the network before and after training on
    images ``X`` with labels ``y``. Shown: no weight changed (a copy was trained); and,
    meaning that training diverged because the learning rate is too large, weights that
    are NaN or infinite, a training loss that grew, or the same scores for every digit.
    """
    before, after = untrained.parameters(), trained.parameters()
    if before.keys() != after.keys():
        return None  # train_cnn changed the network's layers: nothing to compare
    if all(np.array_equal(before[key], after[key]) for key in before):
        return ("train_cnn left every weight as it was: "
                + grading.named_mistake("cnn-trains-a-copy"))
    diverged = grading.named_mistake("cnn-diverging-rate")
    if not all(np.isfinite(value).all() for value in after.values()):
        return f"training diverged, its weights became NaN or infinite: {diverged}"
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss_before = softmax_cross_entropy(untrained.predict(X), y)[0]
        scores = trained.predict(X)
        loss_after = softmax_cross_entropy(scores, y)[0]
    if not np.isfinite(loss_after) or loss_after > loss_before:
        return (f"training diverged, its loss on the training digits grew from "
                f"{loss_before:.3g} to {loss_after:.3g}: {diverged}")
    if np.ptp(scores, axis=0).max() <= 1e-6 * (1.0 + np.abs(scores).max()):
        return ("training diverged, the trained network gives every digit the same scores "
                f"(its units got stuck, e.g. ReLUs that output 0 for every input): {diverged}")
    return None


def held_out_accuracy(build_cnn: Callable, train_cnn: Callable, split_seed: int,
                      model_seed: int) -> tuple[float, float, str | None]:
    """Build the student's CNN with ``model_seed`` and train it on split ``split_seed``
    of the digits; return (its accuracy on the held-out part, the training time in
    seconds, what went wrong in training where the network shows it, or None)."""
    X_fit, X_held, y_fit, y_held = data.digits(rng=split_seed, images=True)
    X_fit, X_held = X_fit.astype(np.float32), X_held.astype(np.float32)
    net = build_cnn(model_seed)
    if net is None:
        raise grading.CheckFailed("build_cnn returned None: did you forget to `return` the model?")
    untrained = check_architecture(net)
    start = time.perf_counter()
    train_cnn(net, X_fit, y_fit)
    seconds = time.perf_counter() - start
    if seconds > MAX_SECONDS:
        raise grading.CheckFailed(
            f"train_cnn took {seconds:.0f} s; keep it under {MAX_SECONDS:.0f} s (fewer "
            "epochs, a smaller network, or float32 layers)")
    trained = grading.as_model(net)  # a copy made of week14's layers, with the weights
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverged network's scores may overflow
        reached = accuracy(trained.predict(X_held), y_held)
    return reached, seconds, training_problem(untrained, trained, X_fit, y_fit)


def check_cnn(build_cnn: Callable, train_cnn: Callable, *, split_seed: int, model_seed: int,
              which: str) -> None:
    """Fail unless the student's CNN reaches :data:`REQUIRED_ACCURACY` on the held-out
    part of split ``split_seed`` (``which`` names it in messages); print what it reached.
    """
    reached, seconds, problem = held_out_accuracy(build_cnn, train_cnn, split_seed, model_seed)
    if reached < REQUIRED_ACCURACY:
        hint = problem or "try more epochs, a higher learning rate or momentum"
        raise grading.CheckFailed(f"your CNN reached {reached:.1%} on {which}; "
                                  f"{REQUIRED_ACCURACY * 100:.0f} % is needed: {hint}")
    print(f"your CNN reached {reached:.1%} on {which} (trained in {seconds:.1f} s)")


#: The kinds of :func:`confusion_matrix_cases`, labelled as notebook 10's visible cases are.
CONFUSION_MATRIX_LABELS = ("ten classes", "classes that never occur", "one class",
                           "one example", "no examples")


@builds(*CONFUSION_MATRIX_LABELS)
def confusion_matrix_cases(seed: int, n: int = 1) -> list[grading.Case]:
    """``n`` cases ``(y_true, y_pred, n_classes)`` of every kind in
    :data:`CONFUSION_MATRIX_LABELS`, kind by kind, drawn from ``seed`` (int64 labels):
    100-499 examples of 10 classes, 80 % predicted right; 10-59 examples of 1-3 classes
    out of 5-8 (the others never occur); 1-19 examples of one class; one example of 2-10
    classes; no examples of 2-10 classes."""
    gen = np.random.default_rng(seed)
    cases = []
    for label in CONFUSION_MATRIX_LABELS:
        for _ in range(n):
            if label == "ten classes":
                size = int(gen.integers(100, 500))
                y_true = gen.integers(0, 10, size)
                y_pred = np.where(gen.random(size) < 0.8, y_true, gen.integers(0, 10, size))
                cases.append(grading.case(label, y_true, y_pred, 10))
                continue
            if label == "classes that never occur":  # classes 0 .. occur − 1 only
                n_classes, occur, size = (int(gen.integers(5, 9)), int(gen.integers(1, 4)),
                                          int(gen.integers(10, 60)))
            elif label == "one class":
                n_classes, occur, size = 1, 1, int(gen.integers(1, 20))
            else:  # one example, or none
                n_classes = occur = int(gen.integers(2, 11))
                size = 1 if label == "one example" else 0
            cases.append(grading.case(label, gen.integers(0, occur, size),
                                      gen.integers(0, occur, size), n_classes))
    return cases
