"""Stall test: run every source notebook top to bottom many times, as "Run All" does.

ipykernel 7.x with nbclient 0.11 was seen to stall about one execution in 25: the
kernel idle, the client waiting for a reply that never came (ipykernel issue 1471).
This project pins ipykernel 6.x (pyproject.toml). Each run here starts a fresh kernel
with nbclient, executes every cell with a 30 s limit per cell, and counts the cells
that hit it (a stall: no cell of these notebooks needs more than a few seconds) and the
runs whose kernel died. The baseline in the same run is the median time of a cell.

    python benchmarks/stalls.py [--runs 50]     # 50 runs of each of 10 notebooks

``tests/test_stalls.py`` runs the short version in ``make test``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted((REPO / "solutions" / "week14").glob("*.ipynb"))
CELL_LIMIT = 30


def run_once(path: Path) -> tuple[list[tuple[float, str]], str | None]:
    """Execute one notebook; (seconds, which cell) per code cell, and why it stopped
    early."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_LIMIT, kernel_name="python3",
                            allow_errors=True, resources={"metadata": {"path": str(path.parent)}})
    seconds: list[tuple[float, str]] = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                return seconds, f"cell {index} took over {CELL_LIMIT} s (a stall)"
            except DeadKernelError:
                return seconds, f"the kernel died at cell {index}"
            seconds.append((time.perf_counter() - start, f"{path.name} cell {index}"))
    return seconds, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs of each notebook")
    args = parser.parse_args(argv)
    import ipykernel

    cells: list[tuple[float, str]] = []
    stalls: list[str] = []
    start = time.perf_counter()
    for run in range(args.runs):
        for path in SOURCES:
            seconds, problem = run_once(path)
            cells += seconds
            if problem:
                stalls.append(f"run {run + 1}, {path.name}: {problem}")
                print(stalls[-1], flush=True)
    executions = args.runs * len(SOURCES)
    print(f"ipykernel {ipykernel.__version__}: {executions} notebook executions, "
          f"{len(cells)} cells in {time.perf_counter() - start:.0f} s; "
          f"{len(stalls)} stalls or dead kernels")
    longest, where = max(cells)
    print(f"cell time: median {statistics.median(s for s, _ in cells):.3f} s, longest "
          f"{longest:.2f} s ({where}; the limit is {CELL_LIMIT} s)")
    return 1 if stalls else 0


if __name__ == "__main__":
    sys.exit(main())
