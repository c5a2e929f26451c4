"""Checks that the notebooks' graded test cells call.

A test cell compares a student's function with the ``week14`` reference on fixed
lecture cases and on seeded random cases, and fails with a message written for the
student: which input, what was expected, what came back, and by how much it is off.
It never fails with a bare ``AssertionError``; when the student's code raises, the
message names the exception and the line of the student's code that raised it.

Example (a test cell)::

    from week14 import activations, grading
    grading.check_function(sigmoid, activations.sigmoid,
                           cases=[(0.0,), (np.linspace(-5, 5, 11),)])

The same cell runs in two settings. In JupyterLab, in the student's own kernel,
``sigmoid`` is the student's function (a self-check). When grading, it runs in the
checker and ``sigmoid`` is a :class:`week14.remote.Remote`: the calls happen in the
student's kernel and only plain data comes back (:func:`week14.remote.call_each` does
both the same way), so the comparison itself is out of the student's reach. A student
function that uses week14's own implementation of its exercise fails
(:data:`week14.remote.FORBIDDEN`); warnings it gives are printed as notes.
"""

from __future__ import annotations

import builtins
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from week14 import misconceptions, remote
from week14.cases import (
    ELEMENTWISE_LABELS,
    Case,
    asymmetric_mse_cases,
    case,
    dense_layer_cases,
    draw,
    elementwise_cases,
    gradient_descent_step_cases,
    layer_forward_cases,
    mse_cases,
    network_forward_cases,
    random_arrays,
    random_cases,
    sigmoid_sse_gradient_cases,
    sse_cases,
    sse_gradient_cases,
)


class CheckFailed(AssertionError):
    """A graded check failed; the message says what is wrong and how to fix it."""


def _label_of(args: Sequence[Any]) -> str | None:
    return args.label if isinstance(args, Case) else None


def describe(value: Any, limit: int = 6) -> str:
    """Short, readable rendering of an input or output for a failure message."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.size <= limit:
            return " ".join(np.array2string(value, precision=4, separator=", ").split())
        return f"array of shape {value.shape}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    if callable(value) and isinstance(getattr(value, "__name__", None), str):
        return value.__name__  # a function by its name, not <function f at 0x7f...>
    if isinstance(value, list | tuple) and any(isinstance(v, np.ndarray | list | tuple)
                                               for v in value):
        if len(value) > 4:  # e.g. a network's list of (W, b) pairs
            return f"a {type(value).__name__} of {len(value)} items"
        inner = ", ".join(describe(v, limit) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


def _kind(dtype: np.dtype) -> str:
    if dtype == np.bool_:
        return "booleans"
    if np.issubdtype(dtype, np.integer):
        return "integers"
    if np.issubdtype(dtype, np.floating):
        return "floats"
    return f"values of dtype {dtype}"


def _mismatch(got: Any, expected: Any, name: str, rtol: float, atol: float,
              inputs: np.ndarray | None) -> tuple[str, str] | None:
    """``None`` if ``got`` matches ``expected``, else (short reason, full message).

    The short reason names the kind of problem without any expected value, for hidden
    tests; the full message adds which element, expected vs got and by how much.
    """
    if isinstance(got, remote.Remote):
        return ("it returned something that is not plain data",
                f"{name} returned a {got.__name__}: return {remote.PLAIN_DATA}")
    if got is None:
        reason = "it returned None: did you forget to `return` the result?"
        return reason, f"{name} is None: did you forget to `return` the result?"
    exp = np.asarray(expected)
    try:
        arr = np.asarray(got)
    except Exception as err:  # noqa: BLE001 - any conversion failure is the student's
        return ("its result is not an array of numbers",
                f"{name} could not be read as a NumPy array ({type(got).__name__}: {err})")
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        return ("its result is not an array of numbers",
                f"{name} should be numeric {_kind(exp.dtype)}, but it is a "
                f"{type(got).__name__} holding {arr.dtype} values")
    if arr.shape != exp.shape:
        return ("its result has the wrong shape",
                f"{name} has the wrong shape: expected {exp.shape}, got {arr.shape}")
    exp_kind, got_kind = _kind(exp.dtype), _kind(arr.dtype)
    if exp_kind != got_kind:
        hint = (" (integers come from int(), integer division //, an output array made "
                "with an integer dtype, or integer constants as in np.where(..., 1, 0): write "
                "1.0 and 0.0 there, or cast the result with .astype(float))") if (
            exp_kind == "floats" and got_kind == "integers") else ""
        reason = f"its result holds {got_kind} instead of {exp_kind}{hint}"
        return reason, f"{name} should hold {exp_kind}, but it holds {got_kind}{hint}"

    if exp_kind == "floats":
        bad_nan = ~np.isfinite(arr) & np.isfinite(exp)
        if bad_nan.any():
            idx = tuple(int(i) for i in np.argwhere(bad_nan)[0])
            where = f" at index {list(idx)}" if idx else ""
            at_input = f" (input {describe(inputs[idx])})" if inputs is not None else ""
            hint = "look for an overflow (np.exp of a large number) or 0/0"
            return (f"its result contains NaN or inf where a number is expected: {hint}",
                    f"{name} contains {arr[idx]}{where}{at_input} where {exp[idx]:.6g} was "
                    f"expected: {hint}")
        with np.errstate(invalid="ignore"):
            diff = np.abs(arr.astype(np.float64) - exp.astype(np.float64))
            wrong = ~(diff <= atol + rtol * np.abs(exp)) & ~(arr == exp)
    else:
        diff = (arr != exp).astype(np.float64)
        wrong = arr != exp
    if not wrong.any():
        return None
    worst = np.unravel_index(int(np.argmax(np.where(wrong, diff, -1.0))), wrong.shape)
    where = f" at index {[int(i) for i in worst]}" if arr.ndim else ""
    at_input = ""
    if inputs is not None and np.shape(inputs) == arr.shape:
        at_input = f" for input {describe(np.asarray(inputs)[worst])}"
    detail = f"{name} is wrong{where}{at_input}: expected {describe(exp[worst])}, got " \
        f"{describe(arr[worst])}"
    if exp_kind == "floats":
        detail += f" (off by {diff[worst]:.3g})"
    count = f"{int(wrong.sum())} of {arr.size} values are wrong"
    if arr.size > 1:
        detail += f"; {count}"
    return f"{count}", detail


def check_array(
    got: Any,
    expected: Any,
    *,
    name: str = "your result",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    inputs: np.ndarray | None = None,
    hidden: bool = False,
    label: str | None = None,
) -> None:
    """Fail with a readable :class:`CheckFailed` unless ``got`` matches ``expected``.

    Checks, in order: ``None`` (a forgotten ``return``), convertibility to a numeric
    array, shape (a scalar and a 0-d array count as the same shape), the kind of
    dtype (booleans, integers, floats), NaN/inf where a finite number is expected,
    and finally the values: ``|got - expected| <= atol + rtol * |expected|``
    elementwise (booleans and integers must be equal). For elementwise functions pass
    ``inputs`` (same shape) so the message can name the input of the worst element.
    Hidden tests pass ``hidden=True`` and a ``label`` saying what the case exercises:
    the message then names the label and the kind of problem but no input or expected
    value, so feedback never gives a hidden test away.
    """
    if hidden and not label:
        raise ValueError(f"a hidden check of {name} needs a label: check_array(..., "
                         "hidden=True, label='what this case exercises')")
    found = _mismatch(got, expected, name, rtol, atol, inputs)
    if found is not None:
        reason, detail = found
        if hidden:
            raise CheckFailed(f"{name} fails a hidden case ({label}): {reason}")
        raise CheckFailed(f"{detail} [case: {label}]" if label else detail)


def _in_float32(expected: Any) -> bool:
    return np.asarray(expected).dtype == np.float32


def _copy_args(args: Sequence[Any]) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _changed(before: Any, after: Any) -> bool:
    """True when an input array came back changed (beyond 1e-12: restoring an entry
    with ``x[i] += h; ...; x[i] -= h`` is not a change)."""
    if not isinstance(before, np.ndarray):
        return False
    after = np.asarray(after)
    if after.shape != before.shape:
        return True
    if before.dtype.kind == "f" and after.dtype.kind == "f":
        return not np.allclose(before, after, rtol=0.0, atol=1e-12, equal_nan=True)
    return not np.array_equal(before, after)


_SHAPES = re.compile(r"\(\s*\d+\s*(,\s*\d*\s*)*\)")


def _builtin_name(text: str, base: type) -> str:
    """The class name at the start of ``text`` if it is one of Python's own ``base``
    classes (``ValueError``), else a neutral word: a name the student chose could
    carry a hidden input out."""
    name = text.split(":", 1)[0].strip()
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, base):
        return name
    return "an exception" if base is BaseException else "a warning"


_NUMBERS = re.compile(r"\d+(\.\d*)?([eE][-+]?\d+)?")
#: The longest part of a student's exception message or line that a hidden case shows.
MAX_HIDDEN_TEXT = 160


def _without_values(text: str) -> str:
    """``text`` with shapes and numbers replaced by "…" (a hidden case's shapes and
    values stay hidden), at most :data:`MAX_HIDDEN_TEXT` characters."""
    text = _NUMBERS.sub("…", _SHAPES.sub("(…)", " ".join(text.split())))
    return text if len(text) <= MAX_HIDDEN_TEXT else text[:MAX_HIDDEN_TEXT - 1] + "…"


def _raised(call: str, outcome: remote.Outcome, label: str | None, hidden: bool) -> str:
    """The message for a student's function that raised an exception, and the line of
    their code that raised it. On a hidden case: the case's label, the exception's type
    when it is Python's own (a home-made class's name could carry a hidden input), and
    its message and the line with every shape and number replaced by "…"."""
    where = ""
    if outcome.line:
        number, _, text = _own_words(outcome.line).partition(": ")
        if hidden:
            number = number if re.fullmatch(r"line \d{1,5}", number) else "a line"
            text = _without_values(text)
        where = f"\n  at {number} of your code" + (f": {text}" if text else "")
    error = _own_words(outcome.error or "")
    if hidden:
        kind, _, message = error.partition(":")
        kind = _builtin_name(kind, BaseException)
        message = _without_values(message)
        return (f"{call} raised {kind} on a hidden case ({label})"
                + (f": {message}" if message else "") + where)
    return f"{call} raised {error}" + (f" [case: {label}]" if label else "") + where


def _own_words(text: str) -> str:
    """A student's text with any mistake tag (:data:`MISTAKE_TAG`) broken: only the
    catalogue may file a failure under a mistake in the class summary."""
    return text.replace(MISTAKE_TAG.split("{")[0], "[mistake ")


def _uses_reference(label: str, outcome: remote.Outcome) -> str:
    """The message for a student's function that used week14's own implementation
    (named only when it is one the grader knows: the name comes from the student's
    process)."""
    what = (outcome.reference if outcome.reference in remote.KNOWN_REFERENCES
            else "implementation")
    return (f"{label} calls week14's own {what}; the exercise is to write it yourself "
            "with NumPy")


def _notes(label: str, outcomes: list[remote.Outcome], hidden: bool) -> None:
    """Print (never to stderr) the warnings the student's code gave; they cost nothing."""
    seen = list(dict.fromkeys(w if not hidden else _builtin_name(w, Warning)
                              for outcome in outcomes for w in outcome.warnings))
    for warning in seen[:3]:
        print(f"note: {label} warned {warning}{' on a hidden case' if hidden else ''}; its "
              "results were right, so this costs nothing")


def _part(student: Callable, got: Any, expected: tuple, part: int) -> Any:
    """Element ``part`` of the tuple the student's function returned; fails unless it
    returned a tuple (or list) as long as the reference's."""
    if got is None or isinstance(got, tuple | list) and len(got) == len(expected):
        return None if got is None else got[part]
    returned = (f"a {type(got).__name__} of length {len(got)}"
                if isinstance(got, tuple | list) else f"a {type(got).__name__}")
    name = getattr(student, "__name__", "your function")
    raise CheckFailed(f"{name} should return a tuple of {len(expected)} results; it "
                      f"returned {returned}")


def _require_labels(name: str, cases: list, hidden: bool) -> None:
    """A hidden check's cases must all be labelled (:func:`case`): its failure shows
    nothing else about them."""
    if hidden and not all(isinstance(args, Case) for args in cases):
        raise ValueError(f"every hidden case of {name} needs a label: write "
                         "grading.case('what it exercises', *arguments)")


#: How a failure names a catalogued mistake's key (the grader reads it back).
MISTAKE_TAG = "[mistake: {}]"


def named_mistake(key: str) -> str:
    """A catalogued mistake's sentence and tag, for a check that recognises the mistake
    itself rather than by comparing with a reference (e.g. a training run that
    diverged): ``raise CheckFailed(f"...: {grading.named_mistake('cnn-diverging-rate')}")``."""
    for mistakes in misconceptions.CATALOGUE.values():
        for mistake in mistakes:
            if mistake.key == key:
                return f"{mistake.says} {MISTAKE_TAG.format(key)}"
    raise ValueError(f"{key!r} is not a catalogued mistake: add it to "
                     "week14.misconceptions.CATALOGUE")


def _with_mistake(message: str, label: str, reference: Callable, cases: list[tuple],
                  outcomes: list[remote.Outcome], rtol: float, atol: float,
                  part: int | None) -> str:
    """``message``, and the catalogued mistake (:mod:`week14.misconceptions`) that gives
    the student's values on every case, if one does: its sentence, then its key in
    brackets, which the class summary counts (:data:`MISTAKE_TAG`)."""
    if any(outcome.error or outcome.reference for outcome in outcomes):
        return message
    values = [o.value for o in outcomes]
    if part is not None:
        if not all(isinstance(v, tuple | list) and len(v) > part for v in values):
            return message
        values = [v[part] for v in values]
    mistake = misconceptions.diagnose(reference, cases, values, rtol=rtol, atol=atol,
                                      part=part)
    if mistake is None:
        return message
    return f"{message}\n{label}: {mistake.says} {MISTAKE_TAG.format(mistake.key)}"


def check_function(
    student: Callable,
    reference: Callable,
    cases: Iterable[Sequence[Any]],
    *,
    name: str | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    elementwise: bool = False,
    hidden: bool = False,
    part: int | None = None,
) -> None:
    """Compare ``student(*case)`` with ``reference(*case)`` for every case.

    Each case is a tuple of positional arguments. The student's function gets copies,
    and a function that changes its input in place fails with a message that says so.
    A student function that calls ``reference`` or another week14 implementation of
    the same exercise (:data:`week14.remote.FORBIDDEN`) fails: the exercise is to
    write it yourself. Warnings the student's code gives are printed as notes, never
    as failures. ``student`` may live in the student's kernel
    (:class:`week14.remote.Remote`, when grading): the checks are the same. Set
    ``elementwise=True`` for functions applied elementwise, so the message names the
    input of the worst element. Hidden tests pass ``hidden=True`` and label every case
    (:func:`case`): messages then name the case's label, never its inputs or expected
    values. For a function that returns several results (a tuple), ``part`` is the
    index of the one this check compares (name it with ``name``): each part of an
    exercise can then be graded on its own. A reference result in float32 is compared to
    float32's precision (``rtol`` at least 1e-5, ``atol`` at least 1e-7).
    """
    if not callable(student):
        raise CheckFailed(
            f"expected a function, got {type(student).__name__}: did you overwrite the "
            "function's name with a value?"
        )
    label = name or getattr(student, "__name__", "your function")
    cases = list(cases)
    _require_labels(label, cases, hidden)
    outcomes = remote.call_each(student, cases, reference=reference)
    for args, outcome in zip(cases, outcomes, strict=True):
        call = label if hidden else f"{label}({', '.join(describe(a) for a in args)})"
        if outcome.reference:
            raise CheckFailed(_uses_reference(label, outcome))
        if outcome.error:
            raise CheckFailed(_raised(call, outcome, _label_of(args), hidden))
        if any(_changed(before, after)
               for before, after in zip(args, outcome.args, strict=False)):
            raise CheckFailed(
                f"{call} changed its input array in place; compute a new array "
                "instead (e.g. y = x * 2, not x *= 2)"
            )
        expected, got = reference(*_copy_args(args)), outcome.value
        if part is not None:
            got, expected = _part(student, got, expected, part), expected[part]
        inputs = args[0] if elementwise and args else None
        tol = (max(rtol, 1e-5), max(atol, 1e-7)) if _in_float32(expected) else (rtol, atol)
        try:
            check_array(got, expected, name=call, rtol=tol[0], atol=tol[1],
                        hidden=hidden, label=_label_of(args),
                        inputs=np.asarray(inputs) if inputs is not None else None)
        except CheckFailed as failed:
            raise CheckFailed(_with_mistake(str(failed), label, reference,
                                            [tuple(c) for c in cases], outcomes,
                                            rtol, atol, part)) from None
    _notes(label, outcomes, hidden)


call_each = remote.call_each
as_model = remote.as_model
__all__ = ["ELEMENTWISE_LABELS", "Case", "CheckFailed", "MISTAKE_TAG", "as_model", "call_each",
           "case", "check_array", "check_function", "check_part", "dense_layer_cases", "draw",
           "elementwise_cases", "graded_alone", "named_mistake", "random_arrays",
           "random_cases", "results", "asymmetric_mse_cases", "layer_forward_cases", "mse_cases",
           "gradient_descent_step_cases", "network_forward_cases", "sigmoid_sse_gradient_cases",
           "sse_cases", "sse_gradient_cases"]


def results(function: Callable, cases: Iterable[Sequence[Any]], *, name: str | None = None,
            hidden: bool = False) -> list[Any]:
    """``[function(*case) for case in cases]``, in one round trip when ``function`` is
    the student's and grading; fails with :class:`CheckFailed` (and the student's own
    line) at the first case the student's code raises on."""
    label = name or getattr(function, "__name__", "your function")
    cases = list(cases)
    _require_labels(label, cases, hidden)
    values = []
    for args, outcome in zip(cases, remote.call_each(function, cases), strict=True):
        if outcome.reference:
            raise CheckFailed(_uses_reference(label, outcome))
        if outcome.error:
            raise CheckFailed(_raised(label, outcome, _label_of(args), hidden))
        values.append(outcome.value)
    _notes(label, [], hidden)
    return values


def graded_alone(namespace: dict, **references: Any) -> Any:
    """Grade an exercise on its own: ``with grading.graded_alone(globals(),
    sigmoid=activations.sigmoid):`` makes the notebook's names in ``references`` (the
    earlier exercises' functions this one may call) week14's while the block runs, here
    and in the student's kernel, so a mistake in an earlier exercise costs only that
    exercise's points (:func:`week14.remote.replaced`)."""
    return remote.replaced(namespace, **references)


def _raising_part(outcome: remote.Outcome, parts: Sequence[str]) -> str | None:
    """The part (of ``parts``) that the line of the student's code that raised assigns
    (``dx = dz @ W``, ``dW[i, j] += ...``; also spelt ``d_x``, ``grad_x``, ``dL_dx``),
    else None."""
    line = (outcome.line or "").split(":", 1)[-1]
    target = re.match(r"\s*([A-Za-z_]\w*)\s*(\[.*\])?\s*[-+*/@]?=(?!=)", line)
    if not outcome.error or target is None:
        return None
    assigned = target.group(1).lower().replace("_", "")
    for part in parts:
        key = part.lower().replace("_", "")
        stem = key[1:] if key.startswith("d") else key
        if assigned in (key, f"grad{stem}", f"dl{key}"):
            return part
    return None


def check_part(student: Callable, reference: Callable, cases: Iterable[Sequence[Any]],
               part: str, *, parts: Sequence[str], hidden: bool = False) -> None:
    """Grade one result of a function that returns several, on its own: ``parts`` names
    them in order (``("dW", "db", "dx")``) and ``part`` is the one compared with the
    reference's (:func:`check_function` with ``part=``). A case on which the student's
    function raises in the line that assigns another part is left out (a note says
    so): that part's own check counts it. The cases before the first one on which the
    function raises are compared first, so a wrong value there (and a catalogued
    mistake, by name) is reported before that exception."""
    name = getattr(student, "__name__", "your function")
    label = f"{part} of {name}"
    cases = list(cases)
    outcomes = remote.call_each(student, cases, reference=reference)
    others = [_raising_part(outcome, parts) for outcome in outcomes]
    kept = [(c, o) for c, o, other in zip(cases, outcomes, others, strict=True)
            if other in (None, part)]
    left_out = " and ".join(sorted({o for o in others if o not in (None, part)}))
    if not kept:
        raise CheckFailed(f"{part} cannot be checked: {name} raised on every "
                          f"case, in the line that computes {left_out} (that test says why)")
    first = [c for c, _ in itertools.takewhile(lambda pair: not pair[1].error, kept)]
    for group in (first, [c for c, _ in kept]):
        if group:
            check_function(student, reference, group, part=list(parts).index(part),
                           name=label, hidden=hidden)
    if left_out:
        print(f"note: {name} raised on {len(cases) - len(kept)} of the "
              f"{len(cases)} {'hidden' if hidden else 'visible'} cases in the line that "
              f"computes {left_out}; {part} was checked on the other {len(kept)}, and that "
              f"error counts only in {left_out}'s test")
