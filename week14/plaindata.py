"""What may cross between a student's kernel and the checker: plain data.

Plain data is

    bool, int, float, str, None, NumPy arrays of booleans, integers or floats, and
    tuples, lists and dicts (str keys) of these.

The codec (:func:`encode`, :func:`decode`) is JSON with base64-encoded array buffers: no
pickle, no object is ever rebuilt from the student's bytes except arrays of the dtypes
above. A value that is not plain data crosses only as a *handle* record naming where it
stays (:class:`Handle` on the checker's side), and week14's own functions and classes
by their names (:func:`qualname`, :func:`resolve`). A week14 model crosses as its plain
description (:func:`model_spec`) and is rebuilt from week14's own layers
(:func:`model_from_spec`). Used by :mod:`week14.remote` and :mod:`week14.wire`.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: What plain data is, in words for messages.
PLAIN_DATA = ("a number, a bool, a string, None, a NumPy array of numbers or booleans, "
              "or a tuple, list or dict of these")
#: Largest encoded message either side accepts (bytes of JSON text).
MAX_MESSAGE = 256 * 2**20
_DTYPE_KINDS = "biuf"


class NotPlainData(TypeError):
    """A value cannot cross between the processes: it is not plain data."""


# --------------------------------------------------------------------------- codec

def _encode(value: Any, handle: Callable[[Any], dict] | None) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else {"$int": str(value)}
    if isinstance(value, float):
        return value if np.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in _DTYPE_KINDS:
        arr = np.asarray(value)
        record = [arr.dtype.str, list(arr.shape),
                  base64.b64encode(arr.tobytes()).decode("ascii")]
        return {"$scalar" if isinstance(value, np.generic) else "$array": record}
    if isinstance(value, tuple | list):
        items = [_encode(item, handle) for item in value]
        return {"$tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"$dict": {key: _encode(item, handle) for key, item in value.items()}}
    if handle is not None:
        return {"$handle": handle(value)}
    raise NotPlainData(f"{type(value).__name__} is not plain data ({PLAIN_DATA})")


def encode(value: Any, handle: Callable[[Any], dict] | None = None) -> str:
    """``value`` as JSON text. Values that are not plain data become ``handle(value)``
    (a small dict naming where the value stays) or, without ``handle``, raise
    :class:`NotPlainData`. Arrays keep their dtype and shape exactly."""
    return json.dumps(_encode(value, handle), separators=(",", ":"), allow_nan=False)


def _decode_array(record: Any, scalar: bool) -> np.ndarray | np.generic:
    if not (isinstance(record, list) and len(record) == 3 and isinstance(record[0], str)
            and isinstance(record[1], list) and isinstance(record[2], str)
            and all(isinstance(n, int) and n >= 0 for n in record[1])):
        raise NotPlainData("malformed array record")
    try:
        dtype = np.dtype(record[0])
    except TypeError as err:
        raise NotPlainData(f"unknown dtype {record[0]!r}") from err
    if dtype.kind not in _DTYPE_KINDS or dtype.hasobject or dtype.fields:
        raise NotPlainData(f"arrays of dtype {dtype} are not plain data ({PLAIN_DATA})")
    raw = base64.b64decode(record[2], validate=True)
    shape = tuple(record[1])
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise NotPlainData("array record: the data does not match its shape")
    arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return arr[()] if scalar else arr


def _decode(node: Any, handle: Callable[[dict], Any] | None) -> Any:
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_decode(item, handle) for item in node]
    if isinstance(node, dict) and len(node) == 1:
        ((tag, body),) = node.items()
        if tag == "$tuple" and isinstance(body, list):
            return tuple(_decode(item, handle) for item in body)
        if tag == "$dict" and isinstance(body, dict):
            return {key: _decode(item, handle) for key, item in body.items()}
        if tag in ("$array", "$scalar"):
            return _decode_array(body, tag == "$scalar")
        if tag == "$int" and isinstance(body, str) and re.fullmatch(r"-?\d{1,4000}", body):
            return int(body)
        if tag == "$float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$handle" and isinstance(body, dict) and handle is not None:
            return handle(body)
    raise NotPlainData(f"not plain data: {str(node)[:80]}")


def decode(text: str | bytes, handle: Callable[[dict], Any] | None = None) -> Any:
    """The value :func:`encode` wrote; ``handle`` turns a handle record back into an
    object. Raises :class:`NotPlainData` for anything else (too large, too deep,
    malformed, an object dtype): nothing but arrays of numbers is ever rebuilt."""
    if len(text) > MAX_MESSAGE:
        raise NotPlainData(f"a message of {len(text):,} bytes is larger than the "
                           f"{MAX_MESSAGE:,} allowed")
    try:
        return _decode(json.loads(text), handle)
    except (ValueError, RecursionError, MemoryError) as err:
        raise NotPlainData(f"unreadable message ({type(err).__name__})") from None


def is_plain(value: Any) -> bool:
    """True when ``value`` can cross the line as plain data (:func:`encode`)."""
    try:
        encode(value)
    except NotPlainData:
        return False
    return True


@dataclass(frozen=True)
class Handle:
    """A student's object that stayed in the student's kernel, as a response names it:
    its number there and a label for messages."""

    id: int
    label: str


#: Longest text from the student's kernel that is kept whole (:func:`clip`).
TEXT_LIMIT = 600


def clip(text: Any) -> str | None:
    """``text`` as a string of at most :data:`TEXT_LIMIT` characters (and an ellipsis);
    None stays None."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "…"


# ------------------------------------------------------------------ week14's names

def qualname(obj: Any) -> str | None:
    """``"week14.module.Name"`` for week14's functions and classes, else None."""
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(name, str) and module.startswith("week14."):
        return f"{module}.{name}"
    return None


def resolve(name: str) -> Any:
    """The week14 object called ``name`` (``"week14.losses.sse"``)."""
    if not name.startswith("week14."):
        raise ValueError(f"{name!r} is not a week14 name")
    parts = name.split(".")
    for cut in range(len(parts) - 1, 1, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    raise ValueError(f"{name!r} names no week14 object")


# -------------------------------------------------------------------------- models

#: Layer classes a model may be made of, with the settings each is rebuilt from.
_LAYER_SETTINGS = {
    "Dense": ("in_features", "out_features"),
    "Conv2D": ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
    "MaxPool2D": ("size", "stride"),
    "AvgPool2D": ("size", "stride"),
    "Flatten": (),
    "Sigmoid": (), "Tanh": (), "ArcTan": (), "ReLU": (), "Softplus": (), "BinaryStep": (),
    "PReLU": ("alpha",), "ELU": ("alpha",),
}


def model_spec(model: Any) -> list[dict]:
    """A week14 ``Sequential`` as plain data: per layer its class, settings and
    parameters. Raises TypeError for anything else."""
    from week14.model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"expected a week14.model.Sequential, got {type(model).__name__}")
    spec = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in _LAYER_SETTINGS or type(layer).__module__ != "week14.layers":
            raise TypeError(f"layer {kind} is not one of week14's layers "
                            f"({', '.join(_LAYER_SETTINGS)})")
        settings = {}
        for name in _LAYER_SETTINGS[kind]:
            value = layer.hyperparameters[name] if name == "alpha" else getattr(layer, name)
            settings[name] = list(value) if isinstance(value, tuple) else value
        spec.append({"layer": kind, "settings": settings,
                     "params": {k: np.asarray(v) for k, v in layer.params.items()}})
    return spec


def model_from_spec(spec: Any) -> Any:
    """The week14 ``Sequential`` that :func:`model_spec` described, built here from
    week14's own layers (so predicting with it runs only week14's code)."""
    from week14 import layers
    from week14.model import Sequential

    built = []
    for item in spec:
        kind = item["layer"]
        if kind not in _LAYER_SETTINGS:
            raise TypeError(f"layer {kind!r} is not one of week14's layers")
        settings = dict(item["settings"])
        if "kernel_size" in settings:
            settings["kernel_size"] = tuple(settings["kernel_size"])
        layer = getattr(layers, kind)(**settings)
        for name, value in item["params"].items():
            if name not in layer.params or np.shape(value) != layer.params[name].shape:
                raise ValueError(f"layer {kind}: parameter {name} of shape "
                                 f"{np.shape(value)} does not fit")
            layer.params[name] = np.array(value, dtype=np.asarray(value).dtype)
            layer.grads[name] = np.zeros_like(layer.params[name])
        built.append(layer)
    return Sequential(built)

