"""A feedforward network as a list of layers (slides: "Feedforward", "Backpropagation").

``Sequential([Dense(2, 2), Sigmoid(), Dense(2, 2), Sigmoid()])`` feeds the output of
each layer into the next. ``forward`` is the feedforward pass that makes a prediction;
``backward`` applies the chain rule layer by layer in reverse, so that every layer's
``grads`` holds dL/dparam, ready for an optimiser step (``week14.optimizers.SGD``).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from typing import Any

import numpy as np

from week14._tables import format_table
from week14._validation import check_int
from week14.layers import Layer

_ARCHITECTURE_KEY = "__architecture__"
"""npz entry holding the JSON architecture signature written by ``Sequential.save``."""


class Sequential:
    """Layers applied one after the other: ``out = f_L(... f_2(f_1(x)))``.

    ``forward(x)`` returns the network's output and leaves every layer's cache ready for
    ``backward(dL/dout)``, which returns dL/dx and fills each layer's ``grads``
    (slide: "Backpropagation").

    Parameters are addressed as ``"{i}.{name}"``, ``i`` being the layer's index in
    ``layers`` (e.g. ``"0.W"``, ``"0.b"``, ``"2.W"``); ``parameters()`` returns the
    layers' own arrays, so updating them in place updates the model.

    Args:
        layers: objects with ``forward``, ``backward`` and dicts ``params`` and ``grads``
            (normally ``week14.layers.Layer`` subclasses).
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers: list[Layer] = list(layers)
        for i, layer in enumerate(self.layers):
            needed = ("forward", "backward", "params", "grads")
            missing = [name for name in needed if not hasattr(layer, name)]
            if missing:
                raise TypeError(
                    f"Sequential expected layers with forward, backward, params and grads; "
                    f"layer {i} ({type(layer).__name__}) has no {', '.join(missing)}"
                )

    # ------------------------------------------------------------------ passes

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Feedforward pass: return ``f_L(... f_1(x))``; each layer caches what its
        backward needs (slide: "Feedforward")."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Backpropagate ``grad = dL/dout`` (the shape of the last ``forward`` output)
        through the layers in reverse; fill every layer's ``grads`` and return dL/dx
        (slide: "Backpropagation")."""
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Forward pass over ``x`` in batches of ``batch_size`` rows, for inference.

        Returns the outputs of all N rows concatenated (shape ``(N, ...)``). The layers'
        caches are restored afterwards, so a ``forward``/``backward`` pair around a
        ``predict`` call still works and no activations of the batches are kept.
        """
        batch_size = check_int("Sequential.predict", "batch_size", batch_size, 1)
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError(
                "Sequential.predict expected a batch of inputs of shape (N, ...), got a scalar"
            )
        saved = [layer.cache for layer in self.layers]
        try:
            starts = range(0, x.shape[0], batch_size) if x.shape[0] else [0]
            outputs = [self.forward(x[start:start + batch_size]) for start in starts]
        finally:
            for layer, cache in zip(self.layers, saved, strict=True):
                layer.cache = cache
        return np.concatenate(outputs, axis=0)

    # ------------------------------------------------------------------ parameters

    def parameters(self) -> dict[str, np.ndarray]:
        """``{"{i}.{name}": array}`` for every parameter; the values are the layers' own
        arrays (not copies), in layer order."""
        return {
            f"{i}.{name}": value
            for i, layer in enumerate(self.layers)
            for name, value in layer.params.items()
        }

    def gradients(self) -> dict[str, np.ndarray]:
        """``{"{i}.{name}": dL/dparam}`` from the last ``backward``, same keys as
        ``parameters()``."""
        return {
            f"{i}.{name}": layer.grads[name]
            for i, layer in enumerate(self.layers)
            for name in layer.params
        }

    def _architecture(self) -> list[dict[str, Any]]:
        """Signature checked by ``load``: each layer's class name and parameter shapes."""
        return [
            {
                "layer": type(layer).__name__,
                "params": {name: value.shape for name, value in layer.params.items()},
            }
            for layer in self.layers
        ]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters to the ``.npz`` file ``path`` (exactly that name).

        The archive holds one array per key of ``parameters()`` and, under
        ``"__architecture__"``, a JSON list of each layer's class name and parameter
        shapes, which ``load`` checks. No pickles: ``np.load(path)`` can read it safely.
        """
        arrays = dict(self.parameters())
        arrays[_ARCHITECTURE_KEY] = np.array(json.dumps(self._architecture()))
        with open(path, "wb") as file:
            np.savez(file, **arrays)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Copy the parameters saved by ``save`` into this model's arrays, in place.

        Everything is checked before anything is copied, so a failed load leaves the
        model unchanged.

        Raises:
            ValueError: if ``path`` is not a readable ``.npz`` archive written by
                ``save`` (the message names the file and the problem), or if its
                architecture differs from this model's (the message names the layer,
                key or shape that does not match).
        """
        where = os.fspath(path)
        stored = _read_npz(path)
        _check_architecture(where, _read_architecture(where, stored), self._architecture())
        params = self.parameters()
        extra = sorted(stored.keys() - params.keys() - {_ARCHITECTURE_KEY})
        if extra:
            raise ValueError(f"{where!r} is corrupt: unexpected entries {extra}")
        for key, value in params.items():
            saved = stored.get(key)
            if saved is None or saved.shape != value.shape:
                found = "missing" if saved is None else f"of shape {saved.shape}"
                raise ValueError(
                    f"{where!r} is corrupt: its architecture record promises {key!r} of shape "
                    f"{value.shape}, but the array is {found}"
                )
            if not np.can_cast(saved.dtype, value.dtype, casting="same_kind"):
                raise ValueError(
                    f"parameter {key!r} has dtype {saved.dtype} in {where!r}, which cannot be "
                    f"stored in the model's {value.dtype} array"
                )
        for key, value in params.items():
            np.copyto(value, stored[key], casting="same_kind")

    # ------------------------------------------------------------------ display

    def summary(self) -> str:
        """A table of the layers with their parameter shapes and counts, and the total."""
        rows = []
        for i, layer in enumerate(self.layers):
            shapes = ", ".join(f"{name} {value.shape}" for name, value in layer.params.items())
            count = sum(value.size for value in layer.params.values())
            rows.append((str(i), repr(layer), shapes or "-", f"{count:,}"))
        table = format_table(("#", "layer", "parameters", "count"), rows, align="rllr")
        rule = "-" * max(map(len, table.splitlines()))
        total = sum(value.size for value in self.parameters().values())
        return f"{table}\n{rule}\nTotal parameters: {total:,}"

    def __repr__(self) -> str:
        if not self.layers:
            return "Sequential([])"
        inner = "".join(f"    {layer!r},\n" for layer in self.layers)
        return f"Sequential([\n{inner}])"


def _read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``, or ValueError naming the file and why."""
    where = os.fspath(path)
    if not os.path.isfile(where):
        raise ValueError(f"cannot load {where!r}: no such file")
    if not zipfile.is_zipfile(where):
        raise ValueError(f"cannot load {where!r}: not an .npz archive (not a zip file)")
    try:
        with np.load(where, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"cannot load {where!r}: corrupt .npz archive ({error})") from None


def _read_architecture(where: str, stored: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The architecture record of a file written by ``Sequential.save``, with shapes as
    tuples; ValueError if it is missing or unreadable."""
    if _ARCHITECTURE_KEY not in stored:
        raise ValueError(
            f"{where!r} has no {_ARCHITECTURE_KEY!r} entry: it was not written by Sequential.save"
        )
    try:
        return [
            {
                "layer": str(entry["layer"]),
                "params": {name: tuple(shape) for name, shape in entry["params"].items()},
            }
            for entry in json.loads(str(stored[_ARCHITECTURE_KEY]))
        ]
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(
            f"{where!r} is corrupt: unreadable architecture record ({error!r})"
        ) from None


def _check_architecture(
    where: str, saved: list[dict[str, Any]], model: list[dict[str, Any]]
) -> None:
    """Raise ValueError naming the first layer, parameter or shape where a saved
    architecture and the model's differ."""
    saved_layers = [entry["layer"] for entry in saved]
    model_layers = [entry["layer"] for entry in model]
    if len(saved_layers) != len(model_layers):
        raise ValueError(
            f"{where!r} holds the layers {saved_layers} but the model has {model_layers}"
        )
    for i, (file_entry, model_entry) in enumerate(zip(saved, model, strict=True)):
        if file_entry["layer"] != model_entry["layer"]:
            raise ValueError(
                f"layer {i} is {file_entry['layer']} in {where!r} but "
                f"{model_entry['layer']} in the model"
            )
        if file_entry["params"].keys() != model_entry["params"].keys():
            raise ValueError(
                f"layer {i} ({model_entry['layer']}) has parameters "
                f"{sorted(file_entry['params'])} in {where!r} but "
                f"{sorted(model_entry['params'])} in the model"
            )
        for name, shape in model_entry["params"].items():
            if file_entry["params"][name] != shape:
                raise ValueError(
                    f"parameter '{i}.{name}' has shape {file_entry['params'][name]} in "
                    f"{where!r} but {shape} in the model"
                )
