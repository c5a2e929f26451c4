"""Mini-batch training loop: Trainer, History, EarlyStopping (slides: "Gradient descent",
"Learning Rate", "Adjusting learning rates").

``Trainer(model, loss, optimizer).fit(X, y, epochs)`` runs mini-batch stochastic
gradient descent. Each epoch visits the training rows in a fresh random order
(drawn from the trainer's seeded Generator) in batches of ``batch_size``; for every
batch it does a forward pass, the loss and its gradient, a backward pass and one
optimiser step::

    out = model.forward(X[batch]);  L, dL/dout = loss(out, y[batch])
    model.backward(dL/dout);        optimizer.step(model.parameters(), model.gradients())

The learning rate comes from the optimiser, or from a schedule
(``week14.schedules``): an epoch schedule sets ``optimizer.lr = schedule(epoch)`` at
the start of each epoch; a ``ReduceLROnPlateau`` starts the optimiser at its ``lr``
and is stepped with ``logs[schedule.monitor]`` at the end of each epoch. Everything
measured per epoch lands in a :class:`History`, as in Keras; the metrics come from
:mod:`week14.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from week14._rng import RngLike, as_generator
from week14._validation import check_int
from week14.losses import LossFn, get_loss
from week14.metrics import accuracy
from week14.monitor import MetricMonitor
from week14.optimizers import SGD
from week14.schedules import ReduceLROnPlateau

__all__ = ["Trainer", "History", "EarlyStopping"]


class ModelLike(Protocol):
    """What the Trainer needs from a model (``week14.model.Sequential`` has it)."""

    def forward(self, x: np.ndarray) -> np.ndarray: ...
    def backward(self, grad: np.ndarray) -> np.ndarray: ...
    def predict(self, x: np.ndarray, batch_size: int = ...) -> np.ndarray: ...
    def parameters(self) -> dict[str, np.ndarray]: ...
    def gradients(self) -> dict[str, np.ndarray]: ...


class OptimizerLike(Protocol):
    """What the Trainer needs from an optimiser (``week14.optimizers.SGD`` has it)."""

    lr: float

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None: ...


_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"accuracy": accuracy}


# --------------------------------------------------------------------------------------
# History and callbacks
# --------------------------------------------------------------------------------------


class History:
    """What happened in each epoch of ``Trainer.fit``, as in Keras's ``History``.

    Attributes:
        history: ``{name: [value of epoch 0, value of epoch 1, ...]}`` with "loss",
            one entry per metric (e.g. "accuracy"), their "val_" versions when there is
            validation data, and "lr", the learning rate used during the epoch.
        epoch: the epoch numbers recorded (0, 1, ...; shorter than ``epochs`` when
            training stopped early).

    ``history["loss"]`` is short for ``history.history["loss"]``.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def record(self, epoch: int, logs: dict[str, float]) -> None:
        """Append the ``logs`` of ``epoch`` (called by the Trainer)."""
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)

    def __getitem__(self, name: str) -> list[float]:
        try:
            return self.history[name]
        except KeyError:
            raise KeyError(
                f"History has no {name!r}; recorded: {', '.join(self.history) or 'nothing'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={list(self.history)})"


class EarlyStopping(MetricMonitor):
    """Stop training when a monitored metric has stopped improving; keep the best weights.

    The rules of ``tf.keras.callbacks.EarlyStopping``: at the end of every epoch
    ``wait += 1``; if the value improves on the best so far (mode "min":
    ``v < best − min_delta``; "max": ``v > best + min_delta``) it becomes the best,
    its weights are copied, and ``wait = 0``. When ``wait >= patience`` (and the epoch
    is not the first), the trainer's ``stop_training`` is set and, with
    ``restore_best_weights``, the best epoch's weights are copied back into the model.
    So training stops ``patience`` epochs after the last improvement. As in Keras,
    weights are restored only when training stops early; if all epochs run, the model
    keeps its last weights. A NaN value is never an improvement.

    Mode "auto" means "max" if "acc" occurs in ``monitor`` and "min" otherwise (the
    rule of :class:`week14.monitor.MetricMonitor`, shared with
    :class:`week14.schedules.ReduceLROnPlateau`; Keras's EarlyStopping asks the metric
    for its direction, which agrees for loss and accuracy). An unknown mode raises
    ValueError, and a monitor missing from the logs (e.g. "val_loss" without
    validation data) raises ValueError instead of Keras's warning.

    Attributes (reset by ``on_train_begin``):
        best: best monitored value; best_epoch: its epoch (None before the first).
        wait: epochs since the last improvement.
        stopped_epoch: epoch at which training was stopped, or None.
        best_weights: copy of ``model.parameters()`` at the best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = check_int("EarlyStopping", "patience", patience, 0)
        self.restore_best_weights = bool(restore_best_weights)
        self.on_train_begin()

    def on_train_begin(self, trainer: Trainer | None = None) -> None:
        """Forget everything from a previous ``fit``."""
        self.reset_best()
        self.best_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], trainer: Trainer) -> None:
        """Update the counters with ``logs[monitor]``; stop (and restore) when patience runs out."""
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which is not in the logs "
                f"({', '.join(logs)}); val_* metrics need validation_data"
            )
        params = trainer.model.parameters()
        if self.best_weights is None:
            self.best_weights = _copy_params(params)
        self.wait += 1
        if self.update(logs[self.monitor]):
            self.best_epoch = epoch
            self.best_weights = _copy_params(params)
            self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            if self.restore_best_weights:
                for name, value in self.best_weights.items():
                    params[name][...] = value

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"min_delta={self.min_delta}, mode={self.mode!r}, "
            f"restore_best_weights={self.restore_best_weights})"
        )


def _copy_params(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: value.copy() for name, value in params.items()}


_CALLBACK_HOOKS = ("on_train_begin", "on_batch_end", "on_epoch_end")


def _call_hook(callbacks: Sequence[object], hook: str, *args: Any) -> None:
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


# --------------------------------------------------------------------------------------
# Trainer
# --------------------------------------------------------------------------------------


def _check_data(X: object, y: object, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``y`` as arrays (no copy for arrays) with the same number of rows >= 1."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"{what} expected arrays with one row per example, got X of shape {X.shape} "
            f"and y of shape {y.shape}"
        )
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{what} expected X and y with the same number of rows, got X with "
            f"{X.shape[0]} (shape {X.shape}) and y with {y.shape[0]} (shape {y.shape})"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{what} expected at least one example, got X of shape {X.shape}")
    return X, y


class Trainer:
    """Mini-batch gradient descent with schedules, callbacks, History and a progress bar.

    Slides: "Gradient descent", "Learning Rate", "Adjusting learning rates".

    Args:
        model: a ``week14.model.Sequential`` (anything with ``forward``, ``backward``,
            ``predict``, ``parameters`` and ``gradients``).
        loss: "cross_entropy" (logits (N, C) and integer labels (N,)), "mse", "sse",
            or a callable ``(y_hat, y) -> (value, dvalue/dy_hat)``; see
            ``week14.losses.get_loss``.
        optimizer: object with ``lr`` and ``step(params, grads)``; default
            ``SGD(0.1)``. A schedule overwrites its ``lr``.
        schedule: None (keep ``optimizer.lr``), an epoch schedule
            ``schedule(epoch) -> lr`` (``ConstantLR``, ``StepDecay``,
            ``ExponentialDecay`` or any such callable), or a plateau schedule (an
            object with ``monitor``, ``lr``, ``reset()`` and ``step(value) -> lr``,
            i.e. ``ReduceLROnPlateau``), which ``fit`` resets and then steps.
        batch_size: rows per gradient step (the last batch of an epoch may be smaller).
        metrics: names of metrics to log per epoch; only "accuracy" exists.
        callbacks: objects with any of ``on_train_begin(trainer)``,
            ``on_batch_end(trainer)`` (after each optimiser step) and
            ``on_epoch_end(epoch, logs, trainer)``; one may set
            ``trainer.stop_training = True`` to end ``fit`` after the current epoch.
        seed: seed or Generator for the shuffling. The Generator is made once here, so
            two trainers with the same int seed (and the same initial model) produce
            identical histories, and a second ``fit`` continues the random stream.
        progress: show a tqdm bar over the epochs (``tqdm.auto``: a widget in
            Jupyter, text elsewhere); False prints nothing.

    Attributes:
        stop_training: set by a callback to stop after the current epoch.
        history: the History of the last ``fit``.
    """

    def __init__(
        self,
        model: ModelLike,
        loss: str | LossFn = "cross_entropy",
        optimizer: OptimizerLike | None = None,
        *,
        schedule: Callable[[int], float] | ReduceLROnPlateau | None = None,
        batch_size: int = 32,
        metrics: Iterable[str] = ("accuracy",),
        callbacks: Iterable[object] = (),
        seed: RngLike = 0,
        progress: bool = True,
    ) -> None:
        self.model = model
        self.loss = get_loss(loss)
        self.optimizer = SGD(0.1) if optimizer is None else optimizer
        if schedule is not None and not (callable(schedule) or _is_plateau(schedule)):
            raise TypeError(
                "Trainer expected schedule to be None, a callable schedule(epoch) -> lr, or "
                f"an object with monitor and step(value) like ReduceLROnPlateau; got {schedule!r}"
            )
        self.schedule = schedule
        self.batch_size = check_int("Trainer", "batch_size", batch_size, 1)
        if isinstance(metrics, str):
            raise TypeError(
                f"Trainer expected metrics to be a sequence of names, got the str {metrics!r}; "
                f"write ({metrics!r},)"
            )
        self.metrics = tuple(metrics)
        unknown = [m for m in self.metrics if m not in _METRICS]
        if unknown:
            raise ValueError(
                f"Trainer expected metrics from {', '.join(_METRICS)}, got {unknown[0]!r}"
            )
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not any(hasattr(callback, hook) for hook in _CALLBACK_HOOKS):
                raise TypeError(
                    f"Trainer expected callbacks with at least one of the methods "
                    f"{', '.join(_CALLBACK_HOOKS)}, got {callback!r}"
                )
        self.rng = as_generator(seed)
        self.progress = bool(progress)
        self.stop_training = False
        self.history = History()

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Loss and metrics of the model on the whole of ``(X, y)``, without training.

        Returns ``{"loss": loss(model.predict(X), y), metric: value, ...}``: the loss is
        computed once over all N rows, so "sse" is the dataset's sum of squared errors.
        """
        X, y = _check_data(X, y, "Trainer.evaluate")
        y_hat = self.model.predict(X)
        value, _ = self.loss(y_hat, y)
        results = {"loss": float(value)}
        for name in self.metrics:
            results[name] = _METRICS[name](y_hat, y)
        return results

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epochs: int,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> History:
        """Train for ``epochs`` epochs (fewer if a callback stops it) and return the History.

        Shapes: ``X`` (N, ...) and ``y`` (N, ...) with matching N; batches are
        ``X[idx]``, ``y[idx]`` for slices ``idx`` of a fresh permutation of ``range(N)``
        per epoch, so only the batch is copied and the dtype of ``X`` (float32 or
        float64) reaches the model unchanged.

        Per epoch ``logs`` (and History) get: "loss" and each metric, averaged over the
        epoch's batches weighted by batch size (Keras's convention: the model changes
        during the epoch; for "sse", a sum per batch, this is the mean batch SSE),
        "val_loss" and "val_<metric>" from :meth:`evaluate` on ``validation_data``, and
        "lr", the learning rate used in the epoch.

        Raises:
            ValueError: epochs < 1, X and y (or the validation pair) of different
                lengths, or a plateau schedule monitoring a value that is not logged
                (e.g. "val_loss" without ``validation_data``).
        """
        X, y = _check_data(X, y, "Trainer.fit")
        epochs = check_int("Trainer.fit", "epochs", epochs, 1)
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise ValueError(
                    "Trainer.fit expected validation_data to be a pair (X_val, y_val), "
                    f"got {type(validation_data).__name__}"
                )
            validation_data = _check_data(*validation_data, "Trainer.fit (validation_data)")

        plateau = _is_plateau(self.schedule)
        if plateau:
            logged = ["loss", *self.metrics]
            if validation_data is not None:
                logged += [f"val_{name}" for name in logged]
            if self.schedule.monitor not in logged:
                raise ValueError(
                    f"the schedule monitors {self.schedule.monitor!r}, but fit logs only "
                    f"{', '.join(logged)}"
                    + ("; pass validation_data to log val_*" if validation_data is None else "")
                )
            self.schedule.reset()
            self.optimizer.lr = self.schedule.lr

        self.history = History()
        self.stop_training = False
        bar = self._progress_bar(epochs)
        try:
            _call_hook(self.callbacks, "on_train_begin", self)
            for epoch in range(epochs):
                if self.schedule is not None and not plateau:
                    self.optimizer.lr = float(self.schedule(epoch))
                lr = float(self.optimizer.lr)
                logs = self._train_one_epoch(X, y)
                if validation_data is not None:
                    val = self.evaluate(*validation_data)
                    logs.update({f"val_{name}": value for name, value in val.items()})
                logs["lr"] = lr
                if plateau:
                    self.optimizer.lr = self.schedule.step(logs[self.schedule.monitor])
                self.history.record(epoch, logs)
                _call_hook(self.callbacks, "on_epoch_end", epoch, logs, self)
                if bar is not None:
                    bar.set_postfix(_postfix(logs), refresh=False)
                    bar.update(1)
                if self.stop_training:
                    break
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def _train_one_epoch(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One pass over a fresh permutation of the rows; return batch-weighted means."""
        n = X.shape[0]
        order = self.rng.permutation(n)
        totals = dict.fromkeys(("loss", *self.metrics), 0.0)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            xb, yb = X[idx], y[idx]
            out = self.model.forward(xb)
            value, grad = self.loss(out, yb)
            self.model.backward(grad)
            self.optimizer.step(self.model.parameters(), self.model.gradients())
            totals["loss"] += float(value) * len(idx)
            for name in self.metrics:
                totals[name] += _METRICS[name](out, yb) * len(idx)
            _call_hook(self.callbacks, "on_batch_end", self)
        return {name: total / n for name, total in totals.items()}

    def _progress_bar(self, epochs: int) -> Any:
        if not self.progress:
            return None
        # tqdm.auto picks the notebook widget in Jupyter and text elsewhere, and
        # silences tqdm's TqdmExperimentalWarning about that choice.
        from tqdm.auto import tqdm

        return tqdm(total=epochs, desc="fit", unit="epoch")

    def __repr__(self) -> str:
        return (
            f"Trainer(loss={getattr(self.loss, '__name__', self.loss)!r}, "
            f"optimizer={self.optimizer!r}, schedule={self.schedule!r}, "
            f"batch_size={self.batch_size}, metrics={self.metrics})"
        )


def _is_plateau(schedule: object) -> bool:
    """A plateau schedule is stepped with a metric (ReduceLROnPlateau's interface)."""
    return all(hasattr(schedule, name) for name in ("monitor", "step", "reset", "lr"))


def _postfix(logs: dict[str, float]) -> dict[str, str]:
    """The progress bar's summary of an epoch: losses and accuracies, 4 significant digits."""
    shown = ("loss", "accuracy", "val_loss", "val_accuracy")
    return {name.replace("accuracy", "acc"): f"{logs[name]:.4g}" for name in shown if name in logs}
