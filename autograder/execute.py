"""Run one prepared notebook in two kernels: the student's and the checker.

The student's kernel (forked in the student's sandbox) runs the answer cells and the
teaching cells they need; the checker kernel (forked by the grader's own zygote,
outside the sandbox) runs the test cells and the teaching cells they need
(:mod:`autograder.notebook` decides which). The student's cells run first, all of
them; then the checker, connected to the student's kernel since it started
(:func:`autograder.checker.connect`), binds every answer's names and runs its cells.
Test cells therefore run only in the checker, whose outputs are what nbgrader scores:
a test cell scores its points when its outputs hold no error and nothing on stderr
(``nbgrader.utils.determine_grade``).

Every test cell ends with outputs that say what happened to it: run, or an error
output saying why it was not (the notebook's time limit, a dead kernel), so a cell
that never ran can never score.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field

import zmq
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output

from autograder.config import Limits
from autograder.notebook import Prepared
from autograder.sandbox import (
    MAX_CELL_OUTPUT,
    MAX_NOTEBOOK_OUTPUT,
    ZygoteAddress,
    ZygoteKernelManager,
)
from autograder.timing import timed

#: What of a rich output of the student's kernel is kept: never HTML or JavaScript,
#: which the instructor's browser would run when opening the feedback.
SAFE_MIME_TYPES = ("text/plain", "image/png")


@dataclass
class Side:
    """One of the two kernels of a notebook's run."""

    name: str  # "student" or "checker"
    client: NotebookClient
    phase: str  # what its cells' seconds count as: "execution" or "checker"
    timings: dict[str, float]  # the run's (Run.timings)
    dead: str | None = None  # why it cannot run cells any more


@dataclass
class Run:
    """What running a notebook measured."""

    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _error(cell: NotebookNode, ename: str, evalue: str) -> None:
    cell.outputs.append(new_output("error", ename=ename, evalue=evalue,
                                   traceback=[f"{ename}: {evalue}"]))


def _keep_safe_outputs(cell: NotebookNode) -> None:
    """Of the rich outputs of a cell the student's kernel ran keep only
    :data:`SAFE_MIME_TYPES` (their size is bounded as they arrive: BoundedClient)."""
    for output in cell.get("outputs", []):
        if "data" in output:
            output.data = {k: v for k, v in output.data.items() if k in SAFE_MIME_TYPES}
            output.metadata = {}


class WakingClient(NotebookClient):
    """nbclient's client that never misses a cell's reply (nbclient issue 312).

    nbclient's stand-in for an ipywidgets Output answers an output sent to it with a
    comm_msg on the shell socket, which jupyter_client's ``Session.send`` writes
    through a blocking shadow of the asyncio socket. If the execute_reply has just
    arrived, that send takes its wake-up, and the poll for the reply sees it only when
    its timeout fires: the cell takes exactly its time limit (seen here about once in
    100 notebook executions; benchmarks/stalls.py). Reading EVENTS on the asyncio
    socket after each message makes pyzmq check the socket again and wake the poll."""

    def process_message(self, msg: dict, cell: NotebookNode, cell_index: int
                        ) -> NotebookNode | None:
        output = super().process_message(msg, cell, cell_index)
        self.kc.shell_channel.socket.get(zmq.EVENTS)
        return output


#: Characters kept of an error or a stderr output past the bound: they are never
#: dropped, since they decide a test cell's score (nbgrader.utils.determine_grade).
KEPT_OF_A_FAILURE = 2_000


class BoundedClient(WakingClient):
    """nbclient's client that keeps at most about :data:`MAX_CELL_OUTPUT` characters
    of a cell's outputs and :data:`MAX_NOTEBOOK_OUTPUT` of all its cells' while they
    run (an output flood is dropped as it arrives, never held whole), with a note where
    it was cut. Past the bound, printed text is cut to what fits; errors and stderr
    are cut short but always kept, so that a failing cell still fails."""

    _kept: dict[int, int]  # characters of output kept so far, by cell
    _noted: set[int]  # cells whose output has been cut, with a note
    _output_reader: asyncio.Task | None = None  # the running cell's IOPub reader

    async def _async_poll_output_msg(self, parent_msg_id: str, cell: NotebookNode,
                                     cell_index: int) -> None:
        # nbclient 0.11 leaves a timed-out cell's IOPub reader running
        # (CellTimeoutError is a CellControlSignal): it would take the next cells'
        # messages, and each of them would wait iopub_timeout (10 s) for its own.
        # Kept here so that _run_cell lets it finish first (a private nbclient method).
        self._output_reader = asyncio.current_task()
        return await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        if not hasattr(self, "_kept"):
            self._kept, self._noted = {}, set()
        if not outs:
            self._kept[cell_index] = 0
            self._noted.discard(cell_index)
        kept = self._kept.get(cell_index, 0)
        room = min(MAX_CELL_OUTPUT - kept, MAX_NOTEBOOK_OUTPUT - sum(self._kept.values()))
        content = msg.get("content", {})
        size = len(json.dumps(content))
        if size <= room:
            self._kept[cell_index] = kept + size
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "error":
            content = {**content, "evalue": str(content.get("evalue", ""))[:KEPT_OF_A_FAILURE],
                       "traceback": [str(line)[:KEPT_OF_A_FAILURE]
                                     for line in content.get("traceback", [])[-3:]]}
        elif msg["msg_type"] == "stream":
            limit = KEPT_OF_A_FAILURE if content.get("name") == "stderr" else max(room, 0)
            content = {**content, "text": str(content.get("text", ""))[:limit]}
        else:
            content = None
        self._kept[cell_index] = max(kept, MAX_CELL_OUTPUT) + 1  # full from now on
        out = None
        if content is not None and (content.get("text") != "" or msg["msg_type"] == "error"):
            out = super().output(outs, {**msg, "content": content}, display_id, cell_index)
        if cell_index not in self._noted:
            self._noted.add(cell_index)
            scope = ("cell" if room == MAX_CELL_OUTPUT - kept
                     else "notebook's cells together")
            limit = MAX_CELL_OUTPUT if scope == "cell" else MAX_NOTEBOOK_OUTPUT
            outs.append(new_output("stream", name="stdout", text=(
                f"\n[output cut: this {scope} printed more than {limit:,} characters]\n")))
        return out


def _client(nb: NotebookNode, zygote: ZygoteAddress, limits: Limits) -> NotebookClient:
    km = ZygoteKernelManager(workdir=str(zygote.workdir), zygote=zygote.socket,
                             wall=limits.notebook, kernel_name="python3")
    return BoundedClient(nb, km=km, timeout=limits.cell, allow_errors=True,
                          kernel_name="python3", iopub_timeout=10,
                          raise_on_iopub_timeout=False)


async def _run_cell(side: Side, cell: NotebookNode, index: int, deadline: float,
                    limits: Limits) -> None:
    if side.dead:
        cell.outputs = []
        _error(cell, "NotRun", side.dead)
        return
    remaining = deadline - time.monotonic()
    if remaining < 1:
        side.dead = f"not run: the notebook's time limit of {limits.notebook} s was reached"
        cell.outputs = []
        _error(cell, "NotRun", side.dead)
        return
    side.client.timeout = int(min(limits.cell, remaining))
    with timed(side.timings, side.phase):
        try:
            await side.client.async_execute_cell(cell, index)
        except CellTimeoutError:
            _error(cell, "CellTimeoutError",
                   f"the cell did not finish within {side.client.timeout} s and was stopped")
            await side.client.km.interrupt_kernel()
            reader = side.client._output_reader
            if reader is not None and not reader.done():
                with contextlib.suppress(TimeoutError):  # its idle follows the interrupt
                    await asyncio.wait_for(reader, 10)  # (cancelled if it does not come)
        except DeadKernelError:
            side.dead = f"not run: the {side.name}'s kernel died (it crashed or was killed)"
            _error(cell, "DeadKernelError", side.dead)
    if side.name == "student":
        _keep_safe_outputs(cell)


async def _bind(checker: Side, names: list[str]) -> None:
    if checker.dead or not names:
        return
    with timed(checker.timings, checker.phase):
        try:
            reply = await checker.client.kc.execute_interactive(
                f"__week14_bind__({names!r})", silent=True, store_history=False, timeout=60)
            if reply["content"]["status"] != "ok":
                checker.dead = "not run: the checker could not reach the student's kernel"
        except TimeoutError:
            checker.dead = "not run: the checker could not reach the student's kernel"


async def _start(sides: list[Side]) -> None:
    await asyncio.gather(*(side.client.async_start_new_kernel() for side in sides))
    await asyncio.gather(*(side.client.async_start_new_kernel_client() for side in sides))


async def _stop(side: Side) -> None:
    try:
        if side.client.kc is not None:
            side.client.kc.stop_channels()
        if side.client.km.has_kernel:
            await side.client.km.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - a kernel that is already gone is what we want
        pass


async def run_notebook(prepared: Prepared, student: ZygoteAddress, checker: ZygoteAddress,
                       limits: Limits) -> Run:
    """Run ``prepared.notebook`` in place (outputs filled in), its cells split between
    a kernel forked by ``student`` and one forked by ``checker``."""
    nb = prepared.notebook
    run = Run()
    you = Side("student", _client(nb, student, limits), "execution", run.timings)
    judge = Side("checker", _client(nb, checker, limits), "checker", run.timings)
    try:
        with timed(run.timings, "kernel start"):
            await _start([you, judge])
        run.timings.update({you.phase: 0.0, judge.phase: 0.0})
        connection = you.client.km.connection_file
        exercises = sorted({name for names in prepared.answer_names.values()
                            for name in names})
        reply = await judge.client.kc.execute_interactive(
            "from autograder.checker import connect as _connect\n"
            f"__week14_bind__ = _connect(globals(), {connection!r}, {limits.cell}, "
            f"{exercises!r})\ndel _connect", silent=True, store_history=False, timeout=60)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the checker could not connect: {reply['content']}")
        deadline = time.monotonic() + limits.notebook
        # Every student cell first, then the tests: no cell of the student's runs after
        # a test has called their code, so nothing a call saw (a hidden input) can be
        # printed by a later answer cell.
        for index, cell in enumerate(nb.cells):
            if index in prepared.student_cells:
                await _run_cell(you, cell, index, deadline, limits)
        await _bind(judge, sorted({name for names in prepared.answer_names.values()
                                   for name in names}))
        for index, cell in enumerate(nb.cells):
            if index in prepared.checker_cells:
                await _run_cell(judge, cell, index, deadline, limits)
    finally:
        await asyncio.gather(_stop(you), _stop(judge))
    run.problems = [side.dead for side in (you, judge) if side.dead]
    return run
