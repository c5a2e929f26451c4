"""Run a student's code in one process and judge it in another, with plain data between.

When a notebook is graded, the student's answers run in their own sandboxed kernel and
the test cells run in a separate, trusted *checker* kernel that holds the references
and the expected values. In the checker, every name an answer cell defines is a
:class:`Remote`: calling it (or a method of what it returned) sends the arguments to
the student's kernel, where :func:`serve` calls the student's code, and brings the
result back as *plain data* only:

    bool, int, float, str, None, NumPy arrays of booleans, integers or floats, and
    tuples, lists and dicts (str keys) of these.

Anything else a student's code returns stays in the student's kernel and comes back
as another :class:`Remote` (a handle), so a test can drive it (a scheduler's ``step``,
a model to train) but never receives it. The codec (:func:`encode`, :func:`decode`) is
JSON with base64-encoded array buffers: no pickle, no object is ever rebuilt from the
student's bytes except arrays of the dtypes above. So nothing the student's process
does can change how the checker compares; the worst it can do is return wrong values.

In JupyterLab the same test cells run in the student's own kernel as a self-check:
there the names are the student's functions themselves, and :func:`call_each` calls
them directly, with the same checks around each call, so messages are the same.

Around every call into a student's exercise, :func:`forbidding` swaps the code of
week14's own implementations of that exercise (:data:`FORBIDDEN`) for one that
raises, so an answer that calls, wraps or subclasses them fails with a message that
says so. That check runs in the student's process: it stops ordinary shortcuts, not a
determined copy of week14's source (which is as visible as any other code to copy).
"""

from __future__ import annotations

import base64
import builtins
import contextvars
import functools
import importlib
import json
import linecache
import re
import socket
import traceback
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

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


# ----------------------------------------------------------------- forbidden references

#: For each exercise (the name the student defines), week14's own implementations of
#: it, which the answer must not call, subclass or wrap: the reference it is compared
#: with and every other implementation of the same operation. A class means all its
#: methods.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "layer_forward": ("week14.activations.sigmoid", "week14.layers.Sigmoid",
                      "week14.layers.Dense", "week14.model.Sequential",
                      "week14.references.sigmoid_layer"),
    "network_forward": ("week14.layers.Dense", "week14.layers.Sigmoid",
                        "week14.model.Sequential", "week14.references.sigmoid_network"),
    "count_parameters": ("week14.model.Sequential",),
    "sse": ("week14.losses.sse", "week14.losses.mse"),
    "mse": ("week14.losses.mse",),
    "asymmetric_mse": ("week14.widgets.cost.asymmetric_mse",),
    "sse_gradient": ("week14.gradient_descent.sse_gradient",),
    "sigmoid_sse_gradient": ("week14.gradient_descent.sigmoid_sse_gradient",),
    "gradient_descent_step": ("week14.gradient_descent.gradient_descent_step",
                              "week14.optimizers.SGD"),
    "sigmoid": ("week14.activations.sigmoid", "week14.activations.softplus_derivative",
                "week14.layers.Sigmoid", "week14.activations.softmax"),
    "sigmoid_derivative": ("week14.activations.sigmoid_derivative", "week14.layers.Sigmoid"),
    "tanh_derivative": ("week14.activations.tanh_derivative", "week14.layers.Tanh"),
    "arctan_derivative": ("week14.activations.arctan_derivative", "week14.layers.ArcTan"),
    "softplus_derivative": ("week14.activations.softplus_derivative",
                            "week14.layers.Softplus"),
    "relu_derivative": ("week14.activations.relu_derivative", "week14.layers.ReLU"),
    "prelu_derivative": ("week14.activations.prelu_derivative", "week14.layers.PReLU"),
    "binary_step_derivative": ("week14.activations.binary_step_derivative",
                               "week14.layers.BinaryStep"),
    "elu_derivative": ("week14.activations.elu_derivative", "week14.layers.ELU"),
    "dense_sigmoid_backward": ("week14.layers.Dense", "week14.layers.Sigmoid",
                               "week14.layers.ActivationLayer",
                               "week14.activations.sigmoid_derivative",
                               "week14.model.Sequential"),
    "centred_difference_gradient": ("week14.gradcheck.numerical_gradient",
                                    "week14.gradcheck.check_layer"),
    "step_decay": ("week14.schedules.StepDecay", "week14.schedules.ExponentialDecay"),
    "exponential_decay": ("week14.schedules.ExponentialDecay", "week14.schedules.StepDecay"),
    "PlateauScheduler": ("week14.schedules.ReduceLROnPlateau",),
    "unit_spread": ("week14.symmetry.unit_spread",),
    "magnitude_mask": ("week14.pruning.magnitude_mask", "week14.pruning.layerwise_masks",
                       "week14.pruning.global_masks"),
    "zero_pad": ("week14.functional.zero_pad",),
    "conv_output_size": ("week14.functional.conv_output_size",),
    "conv_single_step": ("week14.functional.conv2d", "week14.functional.conv2d_naive",
                         "week14.layers.Conv2D", "week14.references.conv_single_step"),
    "conv2d_forward": ("week14.functional.conv2d", "week14.functional.conv2d_naive",
                       "week14.layers.Conv2D"),
    "max_pool": ("week14.functional.max_pool2d", "week14.functional.max_pool2d_naive",
                 "week14.layers.MaxPool2D"),
    "avg_pool": ("week14.functional.avg_pool2d", "week14.functional.avg_pool2d_naive",
                 "week14.layers.AvgPool2D"),
    "confusion_matrix": ("week14.widgets.cnn.confusion_matrix",),
}


class ReferenceCalled(RuntimeError):
    """An answer called (or subclassed, or wrapped) week14's own implementation; or,
    when grading, other code of a cell (a self-test line, a teaching cell an answer
    needs) reached one that grading has taken out of the student's kernel."""

    def __init__(self, qualname: str, graded_call: bool = False):
        calls = _REFERENCE_CALLS.get()
        if calls is None and not graded_call:  # not inside a call of a graded function
            message = (f"week14's {qualname} is not available while this notebook is "
                       "graded (it implements one of its exercises), so this line did not "
                       "run; it costs nothing, your answers are graded by the tests")
        else:
            message = (f"this answer calls week14's own {qualname}; the exercise is to "
                       "write it yourself with NumPy")
            if calls is not None:
                calls.append(qualname)
        super().__init__(message)
        self.qualname = qualname


#: Every week14 name in :data:`FORBIDDEN`: a name the student's process reports is shown
#: only if it is one of these.
KNOWN_REFERENCES = frozenset(name for names in FORBIDDEN.values() for name in names)

_REFERENCE_CALLS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "week14_reference_calls", default=None)


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


def forbidden_for(exercise: str | None, reference: Any = None) -> tuple[str, ...]:
    """What an exercise's answer must not use: :data:`FORBIDDEN`'s entry for it and
    the ``reference`` it is compared with, when that is week14's."""
    names = list(FORBIDDEN.get(exercise or "", ()))
    ref = qualname(reference)
    if ref is not None and ref not in names:
        names.append(ref)
    return tuple(names)


def _functions(obj: Any) -> list[types.FunctionType]:
    if isinstance(obj, types.FunctionType):
        return [obj]
    if isinstance(obj, type):
        found = []
        for value in vars(obj).values():
            value = getattr(value, "__func__", value)  # staticmethod, classmethod
            if isinstance(value, types.FunctionType):
                found.append(value)
        return found
    return []


#: While forbidden, each swapped function's key -> (its week14 name, a copy of the
#: original function), for :func:`_forbidden` (calls from a lent function run it).
_ORIGINALS: dict[str, tuple[str, types.FunctionType]] = {}
#: True while a function that :func:`replaced` lent to the student's code runs.
_LENT: contextvars.ContextVar[bool] = contextvars.ContextVar("week14_lent", default=False)


def _forbidden(key: str, args: tuple, kwargs: dict) -> Any:
    """What a forbidden function does when called: raise :class:`ReferenceCalled`,
    unless the call comes from inside a function lent by :func:`replaced` (week14's
    reference for another exercise, which may itself use the forbidden one)."""
    name, original = _ORIGINALS[key]
    if _LENT.get():
        return original(*args, **kwargs)
    raise ReferenceCalled(name)


def _raising_code(key: str, function: types.FunctionType,
                  stripped: bool = False) -> types.CodeType | None:
    """Code for ``function`` that calls :func:`_forbidden`, or with ``stripped`` that
    raises :class:`ReferenceCalled` (None if it cannot be made: its free variables
    would not match)."""
    free = function.__code__.co_freevars
    call = (f"return __import__('week14.remote', fromlist=['_forbidden'])"
            f"._forbidden({key!r}, args, kwargs)")
    if stripped:
        call = (f"raise __import__('week14.remote', fromlist=['ReferenceCalled'])"
                f".ReferenceCalled({key.split(':')[0]!r})")
    inner = f"def {function.__name__}(*args, **kwargs):\n"
    if free:
        inner += f"    {', '.join(free)}\n"
    inner += f"    {call}\n"
    source = ("def _outer():\n" + "".join(f"    {v} = None\n" for v in free)
              + "".join(f"    {line}\n" for line in inner.splitlines())
              + f"    return {function.__name__}\n")
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<week14: {key} is not allowed here>", "exec"), namespace)
    code = namespace["_outer"]().__code__
    return code if code.co_freevars == free else None


@contextmanager
def forbidding(names: Iterable[str]) -> Iterator[list[str]]:
    """While the block runs, week14's objects called ``names`` raise
    :class:`ReferenceCalled` when called (for a class: any of its methods, so
    subclasses and wrappers fail too), except from inside a function lent by
    :func:`replaced`. Yields the list of those that were called, filled in even if
    the student's code caught the exception."""
    swapped: list[tuple[str, types.FunctionType, types.CodeType]] = []
    calls: list[str] = []
    token = _REFERENCE_CALLS.set(calls)
    try:
        for name in names:
            for function in _functions(resolve(name)):
                key = f"{name}:{function.__qualname__}"
                code = _raising_code(key, function)
                if code is None or key in _ORIGINALS:
                    continue
                original = types.FunctionType(function.__code__, function.__globals__,
                                              function.__name__, function.__defaults__,
                                              function.__closure__)
                original.__kwdefaults__ = function.__kwdefaults__
                original.__qualname__ = function.__qualname__
                _ORIGINALS[key] = (name, original)
                swapped.append((key, function, function.__code__))
                function.__code__ = code
        yield calls
    finally:
        for key, function, code in reversed(swapped):
            function.__code__ = code
            del _ORIGINALS[key]
        _REFERENCE_CALLS.reset(token)


def strip(names: Iterable[str]) -> None:
    """When grading, before the student's first cell: week14's objects called
    ``names`` (for a class: its methods) raise :class:`ReferenceCalled` in this process
    from now on, and their code is kept nowhere in it. What a test lends the student's
    code is then borrowed from the checker (:func:`borrowed`)."""
    for name in names:
        for function in _functions(resolve(name)):
            code = _raising_code(f"{name}:{function.__qualname__}", function, stripped=True)
            if code is not None:
                function.__code__ = code


def borrowed(name: str, lender: str) -> Callable:
    """week14's ``name`` computed by the checker: a call sends its arguments (plain
    data) to the checker's Unix socket ``lender`` and returns what the checker's own
    week14 answers. An exception the checker's call raised is raised here, as
    Python's own class when it is one."""

    def call(*args: Any, **kwargs: Any) -> Any:
        message = pack_request({"name": name, "args": args, "kwargs": kwargs})
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(lender)
            connection.sendall(message.encode("ascii") + b"\n")
            with connection.makefile("rb") as answer:
                line = answer.readline(MAX_MESSAGE)
        try:
            return unpack_response(line.decode("ascii").strip())
        except RemoteFailed as err:
            kind, _, text = str(err).partition(": ")
            found = getattr(builtins, kind, None)
            if isinstance(found, type) and issubclass(found, Exception):
                raise found(text) from None
            raise

    call.__name__ = call.__qualname__ = name.rsplit(".", 1)[-1]
    call.__doc__ = f"week14's {name}, computed by the grader's checker."
    return call


def answer_borrower(line: bytes, allowed: set[str]) -> bytes:
    """The checker's answer to one :func:`borrowed` call (a line of base64 text): the
    result of week14's own ``name`` if it is one of ``allowed`` (what the running test
    lends), computed here, in the trusted process."""
    try:
        request = decode(base64.b64decode(line.strip(), validate=True))
        name = request["name"]
        if name not in allowed:
            raise PermissionError(f"{name} is not lent to the student's code now")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = lend(resolve(name))(*request["args"], **request["kwargs"])
        body = encode({"ok": result})
    except Exception as err:  # noqa: BLE001 - the student's code gets it as an exception
        body = encode({"failed": _clip(f"{type(err).__name__}: {err}")})
    return base64.b64encode(body.encode()).decode("ascii").encode() + b"\n"


def lend(obj: Any) -> Any:
    """``obj`` (week14's function) as a function that may use what is forbidden: the
    reference an exercise is lent for another one it builds on."""
    if not callable(obj) or isinstance(obj, type):
        return obj

    @functools.wraps(obj)
    def lent(*args: Any, **kwargs: Any) -> Any:
        token = _LENT.set(True)
        try:
            return obj(*args, **kwargs)
        finally:
            _LENT.reset(token)

    return lent


# ------------------------------------------------------------------------ outcomes

@dataclass
class Outcome:
    """What one call of a student's code did, as the checker learns it.

    ``value`` is the result (plain data or a :class:`Remote`); ``error`` the exception
    it raised as ``"TypeName: message"`` and ``line`` the line of the student's own
    code that raised it; ``warnings`` what it warned; ``reference`` the week14 object
    it called though it must not; ``args`` the arguments as they were after the call
    (to see changes made in place)."""

    value: Any = None
    error: str | None = None
    line: str | None = None
    warnings: list[str] = field(default_factory=list)
    reference: str | None = None
    args: tuple = ()


def _student_line(tb: types.TracebackType | None) -> str | None:
    """``'line 4: return x / 0'`` for the last frame of the traceback that runs code
    from a notebook cell (the student's own code), or None."""
    last = None
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if "ipykernel_" in filename or filename.startswith("<ipython-input"):
            last = (filename, lineno)
    if last is None:
        return None
    text = linecache.getline(*last).strip()
    return f"line {last[1]}: {text}" if text else f"line {last[1]}"


def _fresh(value: Any) -> Any:
    """A copy of the arrays in ``value`` (also inside lists, tuples and dicts); other
    objects (a model to train, a function) are passed as they are."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list | tuple):
        return type(value)(_fresh(item) for item in value)
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    return value


def _is_plain(value: Any) -> bool:
    """True when ``value`` can cross the line as plain data (:func:`encode`)."""
    try:
        encode(value)
    except NotPlainData:
        return False
    return True


def _call(function: Callable, args: tuple, kwargs: dict, forbid: Sequence[str]) -> Outcome:
    """Call ``function`` on copies of ``args`` in this process, recording everything
    an :class:`Outcome` holds."""
    given = _fresh(args)
    outcome = Outcome()
    with warnings.catch_warnings(record=True) as caught, forbidding(forbid) as calls:
        warnings.simplefilter("always")
        try:
            outcome.value = function(*given, **_fresh(kwargs))
        except ReferenceCalled:
            pass
        except StudentError as err:  # a wrapper here called the student's kernel
            outcome.error, outcome.line = err.outcome.error, err.outcome.line
        except Exception as err:  # noqa: BLE001 - reported to the checker, whatever it is
            outcome.error = f"{type(err).__name__}: {err}"
            outcome.line = _student_line(err.__traceback__)
    if calls:
        outcome.reference = calls[0]
        outcome.error = None
    outcome.warnings = list(dict.fromkeys(
        f"{w.category.__name__}: {w.message}" for w in caught))[:5]
    outcome.args = given
    return outcome


# ------------------------------------------------------------------ the checker side

class Channel(Protocol):
    """How the checker reaches the student's kernel: :func:`pack_request`'s text goes
    to :func:`serve` there, whose answer comes back through :func:`unpack_response`."""

    def request(self, message: dict) -> Any: ...


def _argument_record(value: Any) -> dict:
    if isinstance(value, Remote) and not value._ref.get("attr"):
        return dict(value._ref)
    name = qualname(value)
    if name is not None:
        return {"week14": name}
    raise NotPlainData(f"{type(value).__name__} cannot be sent to the student's kernel: "
                       f"only plain data ({PLAIN_DATA}), the student's own objects and "
                       "week14's functions can")


def pack_request(message: dict) -> str:
    """A request for :func:`serve`, as base64 text (safe inside a Python literal)."""
    return base64.b64encode(encode(message, _argument_record).encode()).decode("ascii")


class RemoteFailed(Exception):
    """The student's kernel could not answer a request (what it said is the message)."""


_TEXT_LIMIT = 600


def _clip(text: Any) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "…"


def unpack_response(text: str) -> Any:
    """What :func:`serve` answered (raises :class:`RemoteFailed` if it failed, and
    :class:`NotPlainData` if the answer is not what serve writes)."""
    if not re.fullmatch(r"[A-Za-z0-9+/=]*", text):
        raise NotPlainData("the student's kernel answered something that is not a response")
    response = decode(base64.b64decode(text), lambda h: _Handle(int(h["id"]),
                                                                _clip(h["label"]) or ""))
    if not isinstance(response, dict) or len(response) != 1:
        raise NotPlainData("the student's kernel answered something that is not a response")
    if "failed" in response:
        raise RemoteFailed(_clip(response["failed"]))
    return response["ok"]


class Remote:
    """A student's object that lives in the student's kernel.

    ``ref`` says where: ``{"name": "sigmoid"}`` (the notebook's global, looked up at
    each call, as a notebook would) or ``{"handle": 3}`` (an object a call returned),
    with ``"attr"``, the path of attributes (``["step"]``). ``exercise`` is the answer
    it belongs to (what :data:`FORBIDDEN` is looked up by)."""

    def __init__(self, channel: Channel, ref: dict, label: str, exercise: str | None):
        self._channel = channel
        self._ref = ref
        self._label = label
        self._exercise = exercise

    @property
    def __name__(self) -> str:  # noqa: PLW3201 - read by messages, like a function's
        return self._label

    def __getattr__(self, attr: str) -> Remote:
        if attr.startswith("_"):
            raise AttributeError(attr)
        ref = {**self._ref, "attr": [*self._ref.get("attr", []), attr]}
        return Remote(self._channel, ref, f"{self._label}.{attr}", self._exercise)

    def __repr__(self) -> str:
        return f"<{self._label}: in the student's kernel>"

    def call_each(self, cases: Sequence[tuple], forbid: Sequence[str],
                  kwargs: dict | None = None) -> list[Outcome]:
        """Call this with each case's positional arguments (and ``kwargs``), in one
        round trip."""
        answer = self._channel.request({"op": "call", "target": self._ref,
                                        "cases": [[tuple(case), kwargs or {}]
                                                  for case in cases],
                                        "forbid": list(forbid)})
        if not isinstance(answer, list) or len(answer) != len(cases):
            raise NotPlainData("the student's kernel answered the wrong number of calls")
        return [self._outcome(item) for item in answer]

    def _outcome(self, item: Any) -> Outcome:
        """An :class:`Outcome` from the student's kernel, its texts clipped."""
        if not isinstance(item, dict):
            raise NotPlainData("the student's kernel answered something that is not a call")
        args = item.get("args")
        found = item.get("warnings")
        return Outcome(
            value=self._wrap(item.get("value")), error=_clip(item.get("error")),
            line=_clip(item.get("line")), reference=_clip(item.get("reference")),
            args=args if isinstance(args, list | tuple) else (),
            warnings=[_clip(w) or "" for w in found[:5]] if isinstance(found, list) else [])

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, _Handle):
            return Remote(self._channel, {"handle": value.id}, value.label, self._exercise)
        if isinstance(value, list | tuple):
            return type(value)(self._wrap(item) for item in value)
        if isinstance(value, dict):
            return {key: self._wrap(item) for key, item in value.items()}
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call it as if it were here: its result, or its exception re-raised here."""
        (outcome,) = self.call_each([args], forbidden_for(self._exercise), kwargs)
        for warning in outcome.warnings:
            print(f"note: {self._label} warned {warning}")
        if outcome.reference:
            raise ReferenceCalled(outcome.reference if outcome.reference in KNOWN_REFERENCES
                                  else "implementation of this exercise", graded_call=True)
        if outcome.error:
            raise StudentError(self._label, outcome)
        return outcome.value


class StudentError(Exception):
    """The student's code raised this exception in the student's kernel. The message
    starts ``LABEL raised TYPE``, TYPE one of Python's exception names or "an
    exception"; the student's own message and line follow after a colon (feedback on
    hidden tests keeps only the start: the rest is the student's text)."""

    def __init__(self, label: str, outcome: Outcome):
        error = outcome.error or ""
        found = getattr(builtins, error.split(":", 1)[0].strip(), None)
        kind = error.split(":", 1)[0] if isinstance(found, type) and issubclass(
            found, BaseException) else "an exception"
        where = f" (at {outcome.line} of your code)" if outcome.line else ""
        super().__init__(f"{label} raised {kind}: {error}{where}")
        self.outcome = outcome


@dataclass(frozen=True)
class _Handle:
    id: int
    label: str


def call_each(function: Any, cases: Iterable[Sequence[Any]], *,
              exercise: str | None = None, reference: Any = None) -> list[Outcome]:
    """Call ``function`` once per case (a tuple of positional arguments): locally, or
    in the student's kernel when it is a :class:`Remote`, the same way. Never raises
    for what the student's code does: each :class:`Outcome` records it."""
    cases = [tuple(case) for case in cases]
    if isinstance(function, Remote):
        exercise = exercise or function._exercise
        return function.call_each(cases, forbidden_for(exercise, reference))
    forbid = forbidden_for(exercise or getattr(function, "__name__", None), reference)
    return [_call(function, case, {}, forbid) for case in cases]


@contextmanager
def replaced(namespace: dict, **references: Any) -> Iterator[None]:
    """While the block runs, the notebook's names in ``references`` are week14's
    objects, here and, where the name is a student's, in the student's kernel too:
    ``with replaced(globals(), sigmoid=activations.sigmoid):`` grades an exercise that
    uses the student's ``sigmoid`` on its own, so a mistake in ``sigmoid`` costs only
    ``sigmoid``'s points."""
    names = {}
    for name, value in references.items():
        target = qualname(value)
        if target is None:
            raise ValueError(f"replaced: {name}={value!r} is not a week14 function or class")
        names[name] = target
    channels = {id(v._channel): v._channel for v in list(namespace.values())
                if isinstance(v, Remote)}
    saved = {name: namespace.get(name, _MISSING) for name in references}
    for channel in channels.values():
        channel.request({"op": "bind", "names": names})
    namespace.update({name: lend(value) for name, value in references.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value
        for channel in channels.values():
            channel.request({"op": "unbind"})


_MISSING = object()


# --------------------------------------------------------------- the student side

_HANDLES = "__week14_handles__"
_SAVED = "__week14_saved__"


def _target(namespace: dict, ref: dict) -> tuple[Any, str]:
    handles = namespace.setdefault(_HANDLES, {})
    if "handle" in ref:
        obj, label = handles[ref["handle"]]
    else:
        label = ref["name"]
        if label not in namespace:
            raise NameError(f"name {label!r} is not defined: run its answer cell")
        obj = namespace[label]
    for attr in ref.get("attr", []):
        obj = getattr(obj, attr)
        label = f"{label}.{attr}"
    return obj, label


_LENDER = "__week14_lender__"


def _week14_object(namespace: dict, name: str) -> Any:
    """week14's ``name`` for the student's code: borrowed from the checker when
    grading (it is stripped here), else week14's own, lent (:func:`lend`)."""
    if _LENDER in namespace:
        return borrowed(name, namespace[_LENDER])
    return lend(resolve(name))


def _object(namespace: dict, record: dict) -> Any:
    """The object a request's argument names: a handle, a notebook name or week14's."""
    if "week14" in record:
        return _week14_object(namespace, record["week14"])
    return _target(namespace, record)[0]


def _handle_maker(namespace: dict, label: str) -> Callable[[Any], dict]:
    handles = namespace.setdefault(_HANDLES, {})

    def make(value: Any) -> dict:
        number = len(handles) + 1
        name = f"{type(value).__name__} returned by {label}"
        handles[number] = (value, name)
        return {"id": number, "label": name}

    return make


def _look_up(namespace: dict, request: dict) -> dict:
    found = {}
    for name in request["names"]:
        if name in namespace:
            value = namespace[name]
            try:
                encode(value)
                found[name] = {"value": value}
            except NotPlainData:
                found[name] = {"remote": type(value).__name__}
    return found


def serve(text: str, namespace: dict) -> str:
    """Answer one request from the checker (base64 of the JSON response), in the
    student's kernel, with ``namespace`` the notebook's globals. Requests:

    - ``{"op": "lookup", "names": [...]}``: each name's value if it is plain data,
      else its type's name (the checker makes it a :class:`Remote`);
    - ``{"op": "call", "target": ref, "cases": [args, ...], "forbid": [...]}``: an
      :class:`Outcome` per case;
    - ``{"op": "bind", "names": {name: week14 name}}`` and ``{"op": "unbind"}``: what
      :func:`replaced` does in this kernel;
    - ``{"op": "model", "target": ref}``: a week14 model as plain data
      (:func:`model_spec`);
    - ``{"op": "strip", "names": [...], "lender": path}``: :func:`strip` them, and from
      now on lend week14's objects as :func:`borrowed` from the checker at ``path``.
    """
    try:
        request = decode(base64.b64decode(text), lambda record: _object(namespace, record))
        op = request["op"]
        if op == "lookup":
            result: Any = _look_up(namespace, request)
        elif op == "call":
            function, label = _target(namespace, request["target"])
            result = []
            for args, kwargs in request["cases"]:
                outcome = _call(function, tuple(args), kwargs, request["forbid"])
                # The arguments as the call left them, for the in-place check; one that
                # is not plain data (a function) comes back as None.
                outcome.args = [arg if _is_plain(arg) else None for arg in outcome.args]
                result.append(vars(outcome))
            handle = _handle_maker(namespace, label)
            body = encode({"ok": result}, handle)
            return base64.b64encode(body.encode()).decode("ascii")
        elif op == "bind":
            namespace.setdefault(_SAVED, []).append(
                {name: namespace.get(name, _MISSING) for name in request["names"]})
            namespace.update({name: _week14_object(namespace, target)
                              for name, target in request["names"].items()})
            result = None
        elif op == "strip":
            strip(request["names"])
            namespace[_LENDER] = request["lender"]
            result = None
        elif op == "unbind":
            for name, value in namespace[_SAVED].pop().items():
                if value is _MISSING:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
            result = None
        elif op == "model":
            result = model_spec(_target(namespace, request["target"])[0])
        else:
            raise ValueError(f"unknown request {op!r}")
        response = {"ok": result}
    except Exception as err:  # noqa: BLE001 - everything goes back to the checker
        response = {"failed": f"{type(err).__name__}: {err}"}
    try:
        body = encode(response)
    except NotPlainData as err:
        body = encode({"failed": str(err)})
    return base64.b64encode(body.encode()).decode("ascii")


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


def as_model(obj: Any) -> Any:
    """A trusted copy of a week14 model a student built: rebuilt here from its plain
    description, whether ``obj`` is here or in the student's kernel."""
    if isinstance(obj, Remote):
        spec = obj._channel.request({"op": "model", "target": obj._ref})
    else:
        spec = decode(encode(model_spec(obj)))
    return model_from_spec(spec)
