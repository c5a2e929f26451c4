"""The checker kernel's line to the student's kernel.

The checker runs the test cells (trusted code: references, expected values, hidden
tests). :func:`connect` runs in it before any cell: it opens a Jupyter client to the
student's kernel and returns the function that, after each answer cell, binds that
answer's names in the checker's globals: plain data as itself, anything else as a
:class:`week14.remote.Remote`.

A request travels as a Jupyter ``execute_request`` with an empty cell and one *user
expression*, ``serve(REQUEST, globals())`` (:func:`week14.remote.serve`), sent with
``store_history=False``: IPython evaluates user expressions without input
transformers and without recording them in ``In``. The answer comes back as the
expression's ``text/plain`` value, which is base64 text, decoded by
:func:`week14.remote.unpack_response` (plain data only). Output the student's code
prints while it is called is never read here.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from queue import Empty
from typing import Any

from week14.remote import NotPlainData, Remote, RemoteFailed, pack_request, unpack_response


class KernelChannel:
    """Requests to the student's kernel (connection file ``connection_file``), each
    answered within ``timeout`` seconds or the kernel is interrupted and the channel
    is closed: a kernel stuck in the student's code answers nothing more."""

    def __init__(self, connection_file: str, timeout: float):
        from jupyter_client import BlockingKernelClient

        self._client = BlockingKernelClient()
        self._client.load_connection_file(connection_file)
        self._client.start_channels(shell=True, iopub=False, stdin=False, hb=True,
                                    control=True)
        self._timeout = timeout
        self._closed: str | None = None

    def request(self, message: dict) -> Any:
        if self._closed:
            raise RemoteFailed(self._closed)
        expression = (f"__import__('week14.remote', fromlist=['serve'])"
                      f".serve({pack_request(message)!r}, globals())")
        msg_id = self._client.execute("", silent=True, store_history=False,
                                      user_expressions={"r": expression}, allow_stdin=False)
        reply = self._wait(msg_id)
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

    def _wait(self, msg_id: str) -> dict:
        deadline = time.monotonic() + self._timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._interrupt()
                self._closed = (f"the student's code did not return within "
                                f"{self._timeout:.0f} s, so their kernel was stopped")
                raise RemoteFailed(self._closed)
            try:
                reply = self._client.get_shell_msg(timeout=min(remaining, 1.0))
            except Empty:
                if not self._client.hb_channel.is_beating():
                    self._closed = "the student's kernel died (it crashed or was killed)"
                    raise RemoteFailed(self._closed) from None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply

    def _interrupt(self) -> None:
        message = self._client.session.msg("interrupt_request", {})
        self._client.control_channel.send(message)


def _note(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: object = None, line: str | None = None) -> None:
    """Warnings in the checker are notes on stdout: nbgrader zeroes a test cell that
    writes anything to stderr, and a warning is never a reason to lose points."""
    print(f"note: {category.__name__}: {message}")


def connect(namespace: dict, connection_file: str, timeout: float
            ) -> Callable[[list[str]], None]:
    """Connect to the student's kernel; return ``bind(names)``, which sets each of
    ``names`` in ``namespace`` (the checker's globals) to the student's value: plain
    data as itself, anything else (a function, a class) as a
    :class:`~week14.remote.Remote` that calls it where it lives. A name the student's
    kernel does not define is removed, so a test using it fails with ``NameError``."""
    channel = KernelChannel(connection_file, timeout)
    warnings.showwarning = _note

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
