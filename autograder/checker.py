"""The checker kernel's line to the student's kernel.

The checker runs the test cells (trusted code: references, expected values, hidden
tests). :func:`connect` runs in it before any cell: it opens a Jupyter client to the
student's kernel and returns the function that, after each answer cell, binds that
answer's names in the checker's globals: plain data as itself, anything else as a
:class:`week14.remote.Remote`.

A request travels as a Jupyter ``execute_request`` with an empty cell and one *user
expression*, ``serve(REQUEST, globals())`` (:func:`week14.wire.serve`), sent with
``store_history=False``: IPython evaluates user expressions without input
transformers and without recording them in ``In``. The answer comes back as the
expression's ``text/plain`` value, which is base64 text, decoded by
:func:`week14.wire.unpack_response` (plain data only). Output the student's code
prints while it is called is never read here.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from week14.plaindata import MAX_MESSAGE, NotPlainData, qualname
from week14.remote import FORBIDDEN, Remote
from week14.wire import RemoteFailed, answer_borrower, pack_request, unpack_response


def _week14_names(value: Any) -> set[str]:
    """The week14 functions among a request's arguments (at any depth)."""
    if isinstance(value, list | tuple):
        return set().union(*(_week14_names(item) for item in value))
    if isinstance(value, dict):
        return set().union(*(_week14_names(item) for item in value.values()))
    name = qualname(value) if callable(value) and not isinstance(value, Remote) else None
    return {name} if name else set()


class KernelChannel:
    """Requests to the student's kernel (connection file ``connection_file``), each
    answered within ``timeout`` seconds or the kernel is interrupted and the channel
    is closed: a kernel stuck in the student's code answers nothing more.

    While it waits for an answer, the channel computes what the student's code
    borrows (:func:`week14.wire.borrowed`): week14's functions that the running test
    lends (:func:`week14.remote.replaced`) or passes as arguments, asked for on a Unix
    socket in the student's folder (``self.lender``)."""

    def __init__(self, connection_file: str, timeout: float):
        from jupyter_client import BlockingKernelClient

        self._client = BlockingKernelClient()
        self._client.load_connection_file(connection_file)
        self._client.start_channels(shell=True, iopub=False, stdin=False, hb=True,
                                    control=True)
        self._timeout = timeout
        self._closed: str | None = None
        self.lender = str(Path(connection_file).parent / f"lend-{secrets.token_hex(4)}")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.lender)
        os.chmod(self.lender, 0o777)  # the sandbox's user connects to it
        self._listener.listen(16)
        self._lent: list[set[str]] = []  # what each replaced() block lends

    def request(self, message: dict) -> Any:
        if self._closed:
            raise RemoteFailed(self._closed)
        if message["op"] == "bind":
            self._lent.append(set(message["names"].values()))
        elif message["op"] == "unbind" and self._lent:
            self._lent.pop()
        passed = _week14_names(message.get("cases", []))
        expression = (f"__import__('week14.wire', fromlist=['serve'])"
                      f".serve({pack_request(message)!r}, globals())")
        msg_id = self._client.execute("", silent=True, store_history=False,
                                      user_expressions={"r": expression}, allow_stdin=False)
        reply = self._wait(msg_id, set().union(passed, *self._lent))
        content = reply.get("content", {})
        result = content.get("user_expressions", {}).get("r", {})
        if content.get("status") != "ok" or result.get("status") != "ok":
            failed = result if result.get("status") == "error" else content
            raise RemoteFailed(f"the student's kernel could not run the call "
                               f"({failed.get('ename')}: {failed.get('evalue')})")
        text = result.get("data", {}).get("text/plain", "")
        if not isinstance(text, str) or len(text) < 2:
            raise NotPlainData("the student's kernel answered something that is not a "
                               "response")
        return unpack_response(text[1:-1])

    def _wait(self, msg_id: str, lent: set[str]) -> dict:
        """The reply to ``msg_id``, answering borrowed calls of ``lent`` meanwhile."""
        poller = zmq.Poller()
        shell = self._client.shell_channel.socket
        poller.register(shell, zmq.POLLIN)
        poller.register(self._listener, zmq.POLLIN)
        deadline = time.monotonic() + self._timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._interrupt()
                self._closed = (f"the student's code did not return within "
                                f"{self._timeout:.0f} s, so their kernel was stopped")
                raise RemoteFailed(self._closed)
            ready = dict(poller.poll(min(remaining, 1.0) * 1000))
            if self._listener.fileno() in ready or self._listener in ready:
                self._lend(lent)
            if shell in ready:
                reply = self._client.get_shell_msg(timeout=0)
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return reply
            elif not ready and not self._client.hb_channel.is_beating():
                self._closed = "the student's kernel died (it crashed or was killed)"
                raise RemoteFailed(self._closed)

    def _lend(self, lent: set[str]) -> None:
        """Answer one borrowed call (a line in, a line out)."""
        connection, _ = self._listener.accept()
        with connection:
            connection.settimeout(self._timeout)
            try:
                with connection.makefile("rb") as lines:
                    line = lines.readline(MAX_MESSAGE)
                connection.sendall(answer_borrower(line, lent))
            except OSError:
                pass

    def _interrupt(self) -> None:
        message = self._client.session.msg("interrupt_request", {})
        self._client.control_channel.send(message)


def _note(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: object = None, line: str | None = None) -> None:
    """Warnings in the checker are notes on stdout: nbgrader zeroes a test cell that
    writes anything to stderr, and a warning is never a reason to lose points."""
    print(f"note: {category.__name__}: {message}")


def connect(namespace: dict, connection_file: str, timeout: float, exercises: list[str]
            ) -> Callable[[list[str]], None]:
    """Connect to the student's kernel and, before any of the student's cells runs,
    strip week14's implementations of the notebook's ``exercises`` from it
    (:data:`week14.remote.FORBIDDEN`, :func:`week14.remote.strip`); return
    ``bind(names)``, which sets each of
    ``names`` in ``namespace`` (the checker's globals) to the student's value: plain
    data as itself, anything else (a function, a class) as a
    :class:`~week14.remote.Remote` that calls it where it lives. A name the student's
    kernel does not define is removed, so a test using it fails with ``NameError``."""
    channel = KernelChannel(connection_file, timeout)
    warnings.showwarning = _note
    names = sorted({name for exercise in exercises for name in FORBIDDEN.get(exercise, ())})
    channel.request({"op": "strip", "names": names, "lender": channel.lender})

    def bind(names: list[str]) -> None:
        try:
            found = channel.request({"op": "lookup", "names": names})
        except (RemoteFailed, NotPlainData):
            found = {name: {"remote": "unknown"} for name in names}
        if not isinstance(found, dict):
            found = {}
        for name in names:
            item = found.get(name)
            if isinstance(item, dict) and "value" in item:
                namespace[name] = item["value"]
            elif isinstance(item, dict):
                namespace[name] = Remote(channel, {"name": name}, name, name)
            else:
                namespace.pop(name, None)

    return bind
