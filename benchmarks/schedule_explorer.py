"""Redraw time of the decay-schedule explorer (week14.widgets.schedules.ScheduleExplorer).

Baseline: the 0.3 s budget for a redraw after a control change, at the default model
size (500 training / 300 validation digits, 64-32-10, 20 epochs of 5 SGD steps).
Two cases are timed with ``time.perf_counter`` (wall) and ``time.process_time`` (CPU):

* fresh: a control change whose settings have not been trained yet (train the run,
  draw, render the PNG), as when a student moves a slider to a new value;
* cached: ``explorer.update()`` with every run already trained (draw and render only).

The explorer renders its PNG itself (``Explorer.show_figure``), so this headless
run pays the same drawing cost as a notebook. On a shared machine wall time includes
waiting for the CPU; the script prints a reference timing of pure Python
(``sum(range(10**6))``, about 15–20 ms on an idle laptop) so numbers can be compared.

Usage::

    python benchmarks/schedule_explorer.py
    python benchmarks/schedule_explorer.py --cached 20
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
import timeit

import matplotlib

matplotlib.use("Agg")

from week14.widgets.schedules import ScheduleExplorer  # noqa: E402

BUDGET = 0.3
"""Seconds allowed for one redraw after a control change."""

CHANGES = [
    {"lr": 0.5}, {"factor": 0.3}, {"every": 3}, {"kind": "exponential"}, {"staircase": True},
    {"kind": "plateau"}, {"patience": 5}, {"cooldown": 2}, {"min_lr": 0.1},
    {"kind": "constant"}, {"lr": 3.0}, {"kind": "step"}, {"factor": 0.7}, {"every": 8},
    {"lr": 0.1},
]
"""Control changes, each to settings not trained before (a change of ``lr`` also trains
the grey constant-rate baseline)."""


def _timed(action) -> tuple[float, float]:
    # Headless, the explorer's Output prints what it displays: keep that off the report.
    with contextlib.redirect_stdout(io.StringIO()):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        return time.perf_counter() - wall, time.process_time() - cpu


def _report(name: str, runs: list[tuple[float, float]]) -> None:
    wall, cpu = zip(*runs, strict=True)
    verdict = "within" if statistics.median(wall) <= BUDGET else "OVER"
    print(f"{name:22s} wall median {statistics.median(wall):.3f} s, max {max(wall):.3f} s | "
          f"CPU median {statistics.median(cpu):.3f} s, max {max(cpu):.3f} s "
          f"(n={len(runs)}; median {verdict} the {BUDGET} s budget)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cached", type=int, default=10, help="cached redraws to time")
    args = parser.parse_args(argv)

    reference = min(timeit.repeat("sum(range(10**6))", number=5, repeat=5)) / 5
    print(f"reference: sum(range(10**6)) takes {reference * 1e3:.1f} ms on this machine now")
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        explorer = ScheduleExplorer()
        built = time.perf_counter() - start
    print(f"construction (loads the digits, trains and draws two runs): {built:.2f} s")
    fresh = [_timed(lambda change=change: explorer.set(**change)) for change in CHANGES]
    cached = [_timed(explorer.update) for _ in range(args.cached)]
    _report("fresh (train + draw)", fresh)
    _report("cached (draw only)", cached)


if __name__ == "__main__":
    main()
