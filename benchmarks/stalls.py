"""Stall test: run every source notebook top to bottom many times, as "Run All" does.

ipykernel 7.x with nbclient 0.11 was seen to stall about one execution in 25: the
kernel idle, the client waiting for a reply that never came (ipykernel issue 1471).
This project pins ipykernel 6.x (pyproject.toml). Each run here starts a fresh kernel
with nbclient and executes every cell with a 30 s limit per cell. It counts the cells
that hit the limit (a stall: no cell of these notebooks needs more than a few seconds),
the cells whose reply came without their output (no status idle on IOPub within
nbclient's 4 s: a lost message), the cells that raised and the runs whose kernel died.

A cell that took exactly 30 s and then finished was nbclient's, not the kernel's: its
Output-widget stand-in can take the wake-up of an execute_reply that has just arrived
(TracedClient.process_message says how); this client gives it back.

A cell over 10 s gets its timeline printed: when the request was sent, when the kernel
went busy, started the code, sent its execute_reply and went idle (by the kernel's
clock, from the message headers; same machine, same clock), when busy and idle reached
us, and when ``execute_cell`` returned; the longest gap says where the time went.
The baseline in the same run is the median time of a cell.

    python benchmarks/stalls.py [--runs 50] [--notebooks '01_*']  # 50 runs x 10 notebooks

``tests/test_stalls.py`` runs the short version in ``make test``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import ipykernel
import jupyter_client
import nbclient
import nbformat
import tornado
import zmq
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from autograder.execute import BoundedClient, WakingClient

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted((REPO / "solutions" / "week14").glob("*.ipynb"))
CELL_LIMIT = 30
SLOW = 10


@dataclass
class Cell:
    """One executed code cell: where, how long ``execute_cell`` took, and its timeline
    (event -> seconds after the request was sent)."""

    where: str
    seconds: float = 0.0
    timeline: dict[str, float] = field(default_factory=dict)

    def why(self) -> str:
        """The timeline in order, and the longest gap between two of its events."""
        steps = sorted(self.timeline.items(), key=lambda item: item[1])
        gaps = [(b[1] - a[1], a[0], b[0]) for a, b in pairwise(steps)]
        lines = [f"    {at:+8.3f} s  {event}" for event, at in steps]
        if gaps:
            gap, before, after = max(gaps)
            lines.append(f"    longest gap {gap:.3f} s: from '{before}' to '{after}'")
        return "\n".join(lines)


@dataclass
class Execution:
    """One notebook run top to bottom in a fresh kernel; what stopped it early, if
    anything (one of PROBLEMS), with the timeline of the cell it stopped at."""

    cells: list[Cell] = field(default_factory=list)
    problem: str | None = None
    detail: str = ""


PROBLEMS = ("stall", "lost message", "dead kernel", "raised")


class TracedClient(WakingClient):
    """nbclient's NotebookClient noting the timeline of the cell being executed, and
    not missing an execute_reply that arrives while an Output widget syncs (the
    grader's WakingClient)."""

    def __init__(self, nb: NotebookNode, **kwargs: Any) -> None:
        super().__init__(nb, on_cell_execute=self._sending, on_cell_executed=self._replied,
                         **kwargs)
        self.sent = 0.0
        self.timeline: dict[str, float] = {}

    def note(self, event: str, when: float) -> None:
        """Note that `event` happened at `when` (time.time())."""
        self.timeline[event] = when - self.sent

    def _kernel(self, event: str, date: datetime | str) -> None:
        when = date if isinstance(date, datetime) else datetime.fromisoformat(date)
        self.note(f"kernel: {event}", when.timestamp())

    def _sending(self, **_: Any) -> None:
        self.sent, self.timeline = time.time(), {"client: execute_request sent": 0.0}

    def _replied(self, execute_reply: dict[str, Any], **_: Any) -> None:
        self.note("client: execute_reply and status idle both in", time.time())
        self._kernel("code started", execute_reply["metadata"]["started"])
        self._kernel("execute_reply sent", execute_reply["header"]["date"])

    def process_message(self, msg: dict[str, Any], cell: NotebookNode,
                        cell_index: int) -> NotebookNode | None:
        if msg["msg_type"] == "status":
            state = msg["content"]["execution_state"]
            self.note(f"client: got status {state}", time.time())
            self._kernel(f"status {state}", msg["header"]["date"])
        return super().process_message(msg, cell, cell_index)


def run_once(path: Path) -> Execution:
    """Execute one notebook cell by cell in a fresh kernel (as Run All does)."""
    nb = nbformat.read(path, as_version=4)
    client = TracedClient(nb, timeout=CELL_LIMIT, kernel_name="python3",
                          raise_on_iopub_timeout=True,
                          resources={"metadata": {"path": str(path.parent)}})
    run = Execution()
    with client.setup_kernel():
        for index, source in enumerate(nb.cells):
            if source.cell_type != "code" or not source.source.strip():
                continue
            start = time.perf_counter()
            try:
                client.execute_cell(source, index)
            except CellTimeoutError as error:
                lost = "IOPub" in str(error)  # the reply came, its status idle did not
                run.problem = "lost message" if lost else "stall"
            except DeadKernelError:
                run.problem = "dead kernel"
            except CellExecutionError as error:
                run.problem = "raised"
                run.detail = f"{error.ename}: {error.evalue}\n"
            client.note("client: execute_cell returned", time.time())
            cell = Cell(f"{path.name} cell {index}", time.perf_counter() - start,
                        client.timeline)
            if run.problem:
                run.detail = f"{run.problem} at cell {index}\n{run.detail}{cell.why()}"
                return run
            run.cells.append(cell)
    return run


WIDGET_LIMIT = 5  # s, the per-cell limit here: the lost wake-up costs exactly this
#: How long the client is busy with each output: long enough for the kernel's reply to
#: arrive meanwhile even on a loaded machine (0.3 s was not, at a load of 10 on 2 cores).
BUSY = 1.0


class SlowOutputHandling:
    """A client busy for BUSY seconds with each output it receives (a loaded machine):
    the kernel's execute_reply is then waiting in the shell socket when nbclient's
    Output-widget stand-in sends its comm_msg on that socket."""

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] == "stream":
            time.sleep(BUSY)
        return super().process_message(msg, cell, cell_index)


class SlowNbclient(SlowOutputHandling, NotebookClient):
    pass


class SlowTraced(SlowOutputHandling, TracedClient):
    pass


class SlowBounded(SlowOutputHandling, BoundedClient):
    pass


def output_widget_cell_seconds(client_class: type[NotebookClient]) -> float:
    """Seconds of a cell printing into an ipywidgets Output, as an explorer does."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import ipywidgets\nfrom IPython.display import display"),
                nbformat.v4.new_code_cell("out = ipywidgets.Output()\ndisplay(out)\n"
                                          "with out:\n    print('hello')")]
    client = client_class(nb, timeout=WIDGET_LIMIT, kernel_name="python3")
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        start = time.perf_counter()
        client.execute_cell(nb.cells[1], 1)
        return time.perf_counter() - start



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs of each notebook")
    parser.add_argument("--notebooks", default="*", help="glob of the notebooks to run")
    args = parser.parse_args(argv)
    paths = [p for p in SOURCES if p.match(f"{args.notebooks}.ipynb")]
    print(f"ipykernel {ipykernel.__version__}, nbclient {nbclient.__version__}, "
          f"jupyter_client {jupyter_client.__version__}, pyzmq {zmq.__version__} "
          f"(libzmq {zmq.zmq_version()}), tornado {tornado.version}, "
          f"Python {sys.version.split()[0]}", flush=True)

    cells: list[Cell] = []
    problems = Counter({problem: 0 for problem in PROBLEMS})
    slow = 0
    start = time.perf_counter()
    for run in range(1, args.runs + 1):
        for path in paths:
            execution = run_once(path)
            cells += execution.cells
            if execution.problem:
                problems[execution.problem] += 1
                print(f"run {run}, {path.name}: {execution.detail}", flush=True)
            for cell in execution.cells:
                if cell.seconds > SLOW:
                    slow += 1
                    print(f"run {run}: {cell.where} took {cell.seconds:.2f} s\n{cell.why()}",
                          flush=True)
        print(f"run {run}/{args.runs}: {len(cells)} cells, {problems.total()} problems, "
              f"{slow} cells over {SLOW} s, {time.perf_counter() - start:.0f} s", flush=True)

    seconds = sorted(cell.seconds for cell in cells)
    median, longest = statistics.median(seconds), max(cells, key=lambda c: c.seconds)
    print(f"{args.runs * len(paths)} notebook executions ({args.runs} runs x {len(paths)} "
          f"notebooks), {len(cells)} cells in {time.perf_counter() - start:.0f} s")
    print(f"stalls (no execute_reply within {CELL_LIMIT} s): {problems['stall']}; lost "
          f"messages: {problems['lost message']}; dead kernels: {problems['dead kernel']}; "
          f"cells that raised: {problems['raised']}; cells over {SLOW} s: {slow}")
    print(f"cell time: median {median:.3f} s, 99th percentile "
          f"{seconds[int(0.99 * (len(seconds) - 1))]:.3f} s, longest {longest.seconds:.2f} s "
          f"({longest.where}) = x{longest.seconds / median:.0f} the median "
          f"(the limit, {CELL_LIMIT} s, is x{CELL_LIMIT / median:.0f})")
    theirs = output_widget_cell_seconds(SlowNbclient)
    ours = output_widget_cell_seconds(SlowTraced)
    print(f"a cell printing into an Output widget, client busy {BUSY} s per output: "
          f"nbclient's client {theirs:.2f} s, ours {ours:.2f} s (x{theirs / ours:.1f}; "
          f"nbclient waits out its {WIDGET_LIMIT} s limit when it misses the reply)")
    return 1 if problems.total() or slow else 0


if __name__ == "__main__":
    sys.exit(main())
