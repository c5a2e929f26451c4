"""Run a student's code in one process and judge it in another, with plain data between.

When a notebook is graded, the student's answers run in their own sandboxed kernel and
the test cells in a separate, trusted *checker* kernel that holds the references and
the expected values. There every name an answer cell defines is a :class:`Remote`:
calling it sends the arguments to the student's kernel (:mod:`week14.wire`) and brings
the result back as plain data only (:mod:`week14.plaindata`); anything else stays in
the student's kernel as another :class:`Remote`, which a test can drive but never
receives. So the worst the student's process can do is return wrong values. In
JupyterLab the same test cells run in the student's own kernel as a self-check, and
:func:`call_each` calls the student's functions directly, with the same checks.

Around every call into a student's exercise, :func:`forbidding` swaps the code of
week14's own implementations of that exercise (:data:`FORBIDDEN`) for one that
raises, so an answer that calls, wraps or subclasses them fails with a message that
says so. That check runs in the student's process: it stops ordinary shortcuts, not a
determined copy of week14's source (which is as visible as any other code to copy).
"""

from __future__ import annotations

import builtins
import contextvars
import functools
import linecache
import traceback
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from week14.plaindata import (
    PLAIN_DATA,
    Handle,
    NotPlainData,
    clip,
    decode,
    encode,
    model_from_spec,
    model_spec,
    qualname,
    resolve,
)

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
    "asymmetric_mse": ("week14.losses.asymmetric_mse", "week14.losses.asymmetric_squared_error"),
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
    "confusion_matrix": ("week14.metrics.confusion_matrix",),
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
    code is then borrowed from the checker (:func:`week14.wire.borrowed`)."""
    for name in names:
        for function in _functions(resolve(name)):
            code = _raising_code(f"{name}:{function.__qualname__}", function, stripped=True)
            if code is not None:
                function.__code__ = code


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


def record_call(function: Callable, args: tuple, kwargs: dict, forbid: Sequence[str]
                ) -> Outcome:
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
    """How the checker reaches the student's kernel: :func:`week14.wire.pack_request`'s
    text goes to :func:`week14.wire.serve` there, whose answer comes back through
    :func:`week14.wire.unpack_response`."""

    def request(self, message: dict) -> Any: ...


def argument_record(value: Any) -> dict:
    """How a request names an argument that is not plain data (for
    :func:`week14.wire.pack_request`): a student's object by where it lives, week14's
    function or class by its name. Raises :class:`NotPlainData` for anything else."""
    if isinstance(value, Remote) and not value._ref.get("attr"):
        return dict(value._ref)
    name = qualname(value)
    if name is not None:
        return {"week14": name}
    raise NotPlainData(f"{type(value).__name__} cannot be sent to the student's kernel: "
                       f"only plain data ({PLAIN_DATA}), the student's own objects and "
                       "week14's functions can")


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
            value=self._wrap(item.get("value")), error=clip(item.get("error")),
            line=clip(item.get("line")), reference=clip(item.get("reference")),
            args=args if isinstance(args, list | tuple) else (),
            warnings=[clip(w) or "" for w in found[:5]] if isinstance(found, list) else [])

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, Handle):
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
    return [record_call(function, case, {}, forbid) for case in cases]


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


def as_model(obj: Any) -> Any:
    """A trusted copy of a week14 model a student built: rebuilt here from its plain
    description, whether ``obj`` is here or in the student's kernel."""
    if isinstance(obj, Remote):
        spec = obj._channel.request({"op": "model", "target": obj._ref})
    else:
        spec = decode(encode(model_spec(obj)))
    return model_from_spec(spec)
