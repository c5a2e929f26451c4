"""Redraw time of the decay-schedule explorer (week14.widgets.schedules.ScheduleExplorer).

Baseline: the 0.3 s budget for a redraw after a control change, at the default model
size (500 training / 300 validation digits, 64-32-10, 30 epochs of 5 SGD steps), with
0, 1 and 3 pinned runs on the plots. For each number of pinned runs a new explorer
pins that many runs (step, exponential and plateau decay from the default rate) and
then two cases are timed with ``time.perf_counter`` (wall) and ``time.process_time``
(CPU):

* fresh: a control change whose settings have not been trained yet (train the run,
  draw, render the PNG), as when a student moves a slider to a new value;
* cached: ``explorer.update()`` with every run already trained (draw and render only).

Each line gives the median's ratio to the budget (below 1: within it) and to the same
case with nothing pinned, measured in this run (the cost of the overlays). The explorer
renders its PNG itself (``Explorer.show_figure``), so this headless run pays the same
drawing cost as a notebook. On a shared machine wall time includes waiting for the
CPU; the script prints a reference timing of pure Python (``sum(range(10**6))``, about
15–20 ms on an idle laptop) so numbers can be compared.

Usage::

    python benchmarks/schedule_explorer.py
    python benchmarks/schedule_explorer.py --cached 20
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import statistics
import time
import timeit
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

from week14.widgets.schedules import ScheduleExplorer  # noqa: E402

BUDGET = 0.3
"""Seconds allowed for one redraw after a control change."""

PINNED = (0, 1, 3)
"""Numbers of pinned runs to time the redraws with."""

PINS = [{}, {"kind": "exponential"}, {"kind": "plateau"}]
"""Settings (from the defaults) of the runs pinned, in order."""

CHANGES = [
    {"lr": 0.5}, {"factor": 0.3}, {"every": 3}, {"kind": "exponential"}, {"staircase": True},
    {"kind": "plateau"}, {"patience": 5}, {"cooldown": 2}, {"min_lr": 0.1},
    {"kind": "constant"}, {"lr": 3.0}, {"kind": "step"}, {"factor": 0.7}, {"every": 8},
    {"lr": 0.1},
]
"""Control changes from the default step decay, each to settings not trained before (a
change of ``lr`` also trains the grey constant-rate run)."""


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def _pinned_explorer(n_pinned: int) -> ScheduleExplorer:
    """A new explorer with ``n_pinned`` runs pinned, back at the default step decay."""
    explorer = ScheduleExplorer()
    for settings in PINS[:n_pinned]:
        explorer.set(**settings)
        explorer.pin()
    explorer.set(kind="step")
    assert len(explorer.pinned) == n_pinned, explorer.message.value
    return explorer


def _report(name: str, runs: list[tuple[float, float]], unpinned: float) -> float:
    """Print one line; return the wall median."""
    wall, cpu = zip(*runs, strict=True)
    median = statistics.median(wall)
    print(f"{name:30s} wall median {median:.3f} s, max {max(wall):.3f} s | "
          f"CPU median {statistics.median(cpu):.3f} s (n={len(runs)}) | "
          f"{median / BUDGET:.2f} x the {BUDGET} s budget, "
          f"{median / (unpinned or median):.2f} x 0 pinned")
    return median


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cached", type=int, default=10, help="cached redraws to time")
    args = parser.parse_args(argv)

    reference = min(timeit.repeat("sum(range(10**6))", number=5, repeat=5)) / 5
    print(f"reference: sum(range(10**6)) takes {reference * 1e3:.1f} ms on this machine now")
    unpinned = {"fresh": 0.0, "cached": 0.0}
    # Headless, the explorer's Output prints what it displays: keep that off the report.
    for n_pinned in PINNED:
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            explorer = _pinned_explorer(n_pinned)
            built = time.perf_counter() - start
            fresh = [_timed(functools.partial(explorer.set, **change)) for change in CHANGES]
            cached = [_timed(explorer.update) for _ in range(args.cached)]
        print(f"{n_pinned} pinned: construction and pinning {built:.2f} s")
        for case, runs in (("fresh", fresh), ("cached", cached)):
            name = f"  {case} ({'train + draw' if case == 'fresh' else 'draw only'})"
            median = _report(name, runs, unpinned[case])
            if n_pinned == 0:
                unpinned[case] = median


if __name__ == "__main__":
    main()
