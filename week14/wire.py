"""The requests between the checker and a student's kernel, at both ends.

The checker's :class:`week14.remote.Remote` proxies send requests through a channel
(``autograder.checker.KernelChannel``): :func:`pack_request` writes one as base64 text,
:func:`serve` answers it in the student's kernel, with the notebook's globals, and
:func:`unpack_response` reads the answer, plain data only (:mod:`week14.plaindata`).
What a student's object returns that is not plain data stays in the student's kernel
as a numbered handle.

The other way round, while a test lends week14's functions to the student's code
(:func:`week14.remote.replaced`), the student's kernel has no code of them (grading
strips it, :func:`week14.remote.strip`): a call there is :func:`borrowed` from the
checker, which computes it with its own week14 (:func:`answer_borrower`).
"""

from __future__ import annotations

import base64
import builtins
import re
import socket
import warnings
from collections.abc import Callable
from typing import Any

from week14.plaindata import (
    MAX_MESSAGE,
    Handle,
    NotPlainData,
    clip,
    decode,
    encode,
    is_plain,
    model_spec,
    resolve,
)
from week14.remote import argument_record, lend, record_call, strip

# ------------------------------------------------------------------ the checker's end

def pack_request(message: dict) -> str:
    """A request for :func:`serve`, as base64 text (safe inside a Python literal)."""
    return base64.b64encode(encode(message, argument_record).encode()).decode("ascii")


class RemoteFailed(Exception):
    """The student's kernel could not answer a request (what it said is the message)."""


def unpack_response(text: str) -> Any:
    """What :func:`serve` answered (raises :class:`RemoteFailed` if it failed, and
    :class:`NotPlainData` if the answer is not what serve writes)."""
    if not re.fullmatch(r"[A-Za-z0-9+/=]*", text):
        raise NotPlainData("the student's kernel answered something that is not a response")
    response = decode(base64.b64decode(text), lambda h: Handle(int(h["id"]),
                                                               clip(h["label"]) or ""))
    if not isinstance(response, dict) or len(response) != 1:
        raise NotPlainData("the student's kernel answered something that is not a response")
    if "failed" in response:
        raise RemoteFailed(clip(response["failed"]))
    return response["ok"]


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
        body = encode({"failed": clip(f"{type(err).__name__}: {err}")})
    return base64.b64encode(body.encode()).decode("ascii").encode() + b"\n"


# ----------------------------------------------------------- the student's end

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


_MISSING = object()
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
    grading (it is stripped here), else week14's own, lent (:func:`week14.remote.lend`)."""
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
      else its type's name (the checker makes it a :class:`week14.remote.Remote`);
    - ``{"op": "call", "target": ref, "cases": [args, ...], "forbid": [...]}``: an
      :class:`week14.remote.Outcome` per case;
    - ``{"op": "bind", "names": {name: week14 name}}`` and ``{"op": "unbind"}``: what
      :func:`week14.remote.replaced` does in this kernel;
    - ``{"op": "model", "target": ref}``: a week14 model as plain data
      (:func:`week14.plaindata.model_spec`);
    - ``{"op": "strip", "names": [...], "lender": path}``: :func:`week14.remote.strip`
      them, and from now on lend week14's objects as :func:`borrowed` from the checker
      at ``path``.
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
                outcome = record_call(function, tuple(args), kwargs, request["forbid"])
                # The arguments as the call left them, for the in-place check; one that
                # is not plain data (a function) comes back as None.
                outcome.args = [arg if is_plain(arg) else None for arg in outcome.args]
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
