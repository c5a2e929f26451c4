"""The lottery-ticket experiment on the scikit-learn digits (slide: "Lottery ticket hypothesis").

Frankle & Carbin (arXiv:1803.03635) on an MLP 64-300-100-10: iterative magnitude
pruning, 20 % of each hidden layer's remaining weights per round (the output layer
10 %), survivors rewound to their initial weights, against the control that keeps
each mask but draws fresh random weights. Every run reports test accuracy at its epoch
of best validation accuracy. Baseline: the dense network (round 0). 20 rounds reach
1.4 % of the weights, the range of the paper's LeNet figures; the whole run is 126
trainings, about 200 s of CPU time.

Usage::

    python benchmarks/lottery_ticket.py                   # full run, prints the table
    python benchmarks/lottery_ticket.py --png lottery.png # and saves the plot
    python benchmarks/lottery_ticket.py --rounds 3 --seeds 0   # quick look
"""

from __future__ import annotations

import argparse
import os
import time

# The matrices here are small (batches of 64 by at most 300 units): BLAS threads only add
# synchronisation, and on a busy 2-core machine OpenBLAS's threads made a 32x300 @ 300x100
# product 50 times slower (7.7 ms instead of 0.15 ms). One thread, unless the caller says
# otherwise; this must happen before NumPy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from week14.lottery import digits_splits, lottery_ticket, plot_lottery  # noqa: E402
from week14.pruning import sparsity_report  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=20, help="pruning rounds (default 20: 1.4 %% remain)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30, help="epochs per run (default 30)")
    parser.add_argument("--fraction", type=float, default=0.2, help="pruned per round")
    parser.add_argument("--png", help="write the accuracy-vs-sparsity plot to this path")
    args = parser.parse_args(argv)

    data = digits_splits()
    print(
        f"digits: {len(data.y_train)} train / {len(data.y_val)} validation / "
        f"{len(data.y_test)} test; MLP 64-300-100-10; {args.rounds} rounds of "
        f"{args.fraction:.0%} (output layer {args.fraction / 2:.0%}); "
        f"{args.epochs} epochs per run; seeds {args.seeds}"
    )
    start, cpu = time.perf_counter(), time.process_time()
    result = lottery_ticket(
        data, rounds=args.rounds, fraction=args.fraction, seeds=args.seeds, epochs=args.epochs
    )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(result.to_table())
    last = result.masks[(args.seeds[0], args.rounds)]
    print(f"\nlayers after round {args.rounds} (seed {args.seeds[0]}):")
    print(sparsity_report(last).to_table())
    runs = len(result.records)
    print(f"\n{runs} training runs in {elapsed:.1f} s wall, {cpu:.1f} s CPU")

    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        ax = plot_lottery(result)
        ax.figure.savefig(args.png, dpi=120, bbox_inches="tight")
        print(f"plot written to {args.png}")


if __name__ == "__main__":
    main()
