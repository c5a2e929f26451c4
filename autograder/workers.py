"""Worker processes that run one task at a time each, every task with a time limit.

:class:`Workers` starts its processes (spawned: nothing of the parent's state is
inherited) and owns them: it knows which process runs which task and since when. A
task that outlives its time limit has its process killed and is reported as timed out;
a process that dies costs only the task it was running; either way a fresh process
takes the next task, and the other tasks go on. Leaving the ``with`` block, for
whatever reason (an exception, Ctrl-C, SIGTERM turned into one), kills the processes
still busy and stops the idle ones.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

#: Seconds an idle worker has to end after it is told to, before it is killed.
_GRACE = 10


@dataclass
class Finished:
    """A task that ended: its ``value``; or ``error``, what it raised
    (``"TypeName: message"``) or why its worker ended without an answer; ``timed_out``
    when its worker was killed at the task's time limit."""

    task: Any
    value: Any = None
    error: str | None = None
    timed_out: bool = False


def _serve(function: Callable[[Any], Any], connection: Connection) -> None:
    """A worker's life: run ``function`` on each task received until ``None``, sending
    back ``("ok", value)`` or ``("error", "TypeName: message")``."""
    try:
        while (task := connection.recv()) is not None:
            try:
                answer = ("ok", function(task))
            except Exception as err:  # noqa: BLE001 - the parent records it
                answer = ("error", f"{type(err).__name__}: {err}")
            connection.send(answer)
    except (KeyboardInterrupt, EOFError):  # stopped with the parent, which kills us
        pass


class _Worker:
    """One spawned process and the pipe to it; ``task`` is what it runs now, until
    ``deadline`` (time.monotonic)."""

    def __init__(self, function: Callable[[Any], Any]):
        context = get_context("spawn")
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(function, child),
                                                    name="week14-grading-worker")
        self.process.start()
        child.close()
        self.task: Any = None
        self.deadline = float("inf")

    @property
    def busy(self) -> bool:
        return self.task is not None

    def give(self, task: Any, seconds: float) -> None:
        self.task, self.deadline = task, time.monotonic() + seconds
        self.connection.send(task)

    def take(self) -> Finished:
        """The task's answer, once its pipe or its process is ready."""
        task, self.task = self.task, None
        if self.connection.poll():
            try:
                kind, value = self.connection.recv()
            except (EOFError, OSError):
                pass
            else:
                return Finished(task, value) if kind == "ok" else Finished(task, error=value)
        self.process.join(_GRACE)
        return Finished(task, error=f"its worker process ended with exit code "
                                    f"{self.process.exitcode}")

    def time_out(self) -> Finished:
        """Kill the process at its task's time limit."""
        task, self.task = self.task, None
        self.kill()
        return Finished(task, error="it did not finish in time", timed_out=True)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()

    def stop(self) -> None:
        """End an idle worker: told to, or killed if it does not within the grace."""
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(_GRACE)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class Workers:
    """``count`` worker processes calling ``function`` (a module-level function: it is
    sent to spawned processes) on one task each at a time."""

    def __init__(self, count: int, function: Callable[[Any], Any]):
        self._function = function
        self._workers = [_Worker(function) for _ in range(count)]

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self._workers:
            if worker.busy or not worker.process.is_alive():
                worker.kill()
            else:
                worker.stop()

    def run(self, tasks: Iterable[Any], limit: Callable[[Any], float]) -> Iterator[Finished]:
        """Run every task, yielding each as it finishes; a task still running
        ``limit(task)`` seconds after it started is timed out (:meth:`_Worker.time_out`)."""
        waiting = deque(tasks)
        while waiting or any(worker.busy for worker in self._workers):
            for index, worker in enumerate(self._workers):
                if not worker.busy and waiting:
                    if not worker.process.is_alive():  # it died or was killed
                        worker.kill()
                        worker = self._workers[index] = _Worker(self._function)
                    task = waiting.popleft()
                    worker.give(task, limit(task))
            busy = [worker for worker in self._workers if worker.busy]
            first = min(worker.deadline for worker in busy)
            ready = set(wait([item for worker in busy
                              for item in (worker.connection, worker.process.sentinel)],
                             timeout=max(0.0, first - time.monotonic())))
            for worker in busy:
                if worker.connection in ready or worker.process.sentinel in ready:
                    yield worker.take()
                elif time.monotonic() >= worker.deadline:
                    yield worker.time_out()
