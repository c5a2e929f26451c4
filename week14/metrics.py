"""Scores of a classifier's predictions (slide: "CNN example"): :func:`accuracy`, the
fraction classified right, and :func:`confusion_matrix`, which classes are taken for
which. The Trainer reports ``accuracy`` per epoch when asked for it.
"""

from __future__ import annotations

import numpy as np

from week14._validation import check_int, check_labels

__all__ = ["accuracy", "confusion_matrix"]


def accuracy(y_hat: np.ndarray, y: np.ndarray) -> float:
    """Fraction of examples whose predicted class is the true one (slide: CNN example).

    * Class scores ``y_hat`` of shape (N, C), C >= 2 (logits or probabilities): the
      predicted class is ``argmax_c y_hat[n, c]``. ``y`` holds integer labels, shape
      (N,), or one row per example of shape (N, C) (one-hot), whose argmax is the label.
    * One output per example, ``y_hat`` of shape (N,) or (N, 1) (a sigmoid's
      probability): the predicted class is ``y_hat >= 0.5``, compared with 0/1
      targets ``y`` of the same length.

    Returns:
        ``mean(predicted == true)``, a float in [0, 1].
    """
    y_hat = np.asarray(y_hat)
    y = np.asarray(y)
    n = y_hat.shape[0] if y_hat.ndim else 0
    if y_hat.ndim == 2 and y_hat.shape[1] >= 2:
        predicted = np.argmax(y_hat, axis=1)
        true = np.argmax(y, axis=1) if y.shape == y_hat.shape else y
    elif y_hat.ndim in (1, 2):
        predicted = y_hat.reshape(n) >= 0.5
        true = y.reshape(-1) if y.size == n else y
    else:
        raise ValueError(f"accuracy expected outputs of shape (N, C) or (N,), got {y_hat.shape}")
    if true.shape != (n,):
        raise ValueError(
            f"accuracy expected targets of shape ({n},) (labels) or {y_hat.shape} "
            f"(one row per example) for outputs of shape {y_hat.shape}, got {y.shape}"
        )
    return float(np.mean(predicted == true))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Count how often each class is predicted as each class (slide: CNN example).

    ``C[i, j]`` = number of examples whose true class is ``i`` and predicted class is
    ``j``. The diagonal counts the correct predictions, so ``trace(C) / C.sum()`` is the
    :func:`accuracy`; row ``i`` sums to the number of examples of class ``i``.

    Args:
        y_true: true labels, integers in 0..n_classes − 1 (whole floats accepted),
            shape (N,).
        y_pred: predicted labels (e.g. ``argmax`` of the scores), the same shape.
        n_classes: number of classes (rows and columns), an int >= 1.

    Returns:
        int64 array of shape (n_classes, n_classes).

    Raises:
        TypeError: if ``n_classes`` is not an int or the labels are not numbers.
        ValueError: if ``n_classes`` < 1, or the labels are not 1-D whole numbers in
            range, or ``y_true`` and ``y_pred`` differ in length.
    """
    n_classes = check_int("confusion_matrix", "n_classes", n_classes, 1)
    true = check_labels("confusion_matrix", "y_true", y_true, n_classes)
    pred = check_labels("confusion_matrix", "y_pred", y_pred, n_classes)
    if true.shape != pred.shape:
        raise ValueError(
            f"confusion_matrix expected y_true and y_pred of the same shape, got "
            f"{true.shape} and {pred.shape}"
        )
    counts = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)
