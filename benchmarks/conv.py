"""Convolution and pooling speed: week14's NumPy code against its loop version and
against PyTorch on the CPU, plus time-to-98 % on the digits for the CNN.

Run with ``make bench`` or ``.venv/bin/python benchmarks/conv.py``. PyTorch is optional:
without it, the PyTorch comparisons are skipped. Each comparison is a ratio against a
baseline measured in the same run (``ratio = week14 time / baseline time``: below 1
means week14 is faster), in float32. Times are the minimum over interleaved rounds, the
most stable statistic on a shared machine.

Sections:

1. ``conv2d`` (vectorised) against ``conv2d_naive`` (loops), forward;
2. the ``Conv2D`` layer against ``torch.nn.functional.conv2d``, forward and
   forward + backward (dx, dW, db), on four shapes (N, C, H, W, F, k, pad), with the
   default threads (wall-clock time) and again with one thread each (the calling
   thread's CPU time, which other processes on a shared machine hardly disturb);
3. ``MaxPool2D`` / ``AvgPool2D`` against PyTorch's pooling, forward + backward;
4. time-to-98 % test accuracy on the digits: ``week14.cnn.digits_cnn`` trained by the
   ``Trainer`` against the same network in PyTorch, with the same initial weights and
   the same batch order.
"""

from __future__ import annotations

import contextlib
import os
import time
import timeit
from collections.abc import Callable, Iterator

import numpy as np

from week14.cnn import digits_cnn
from week14.data import digits
from week14.functional import conv2d, conv2d_naive
from week14.layers import AvgPool2D, Conv2D, MaxPool2D
from week14.optimizers import SGD
from week14.training import Trainer

try:
    import torch
except ImportError:  # PyTorch is optional: the torch columns are skipped
    torch = None

SHAPES = [  # (N, C, H, W, F, k, pad), all stride 1
    (64, 1, 8, 8, 16, 3, 1),
    (64, 16, 8, 8, 32, 3, 1),
    (64, 3, 32, 32, 16, 3, 1),
    (32, 16, 28, 28, 32, 5, 2),
]
POOL_SHAPES = [(64, 16, 8, 8), (64, 16, 32, 32)]
DTYPE = np.float32
TARGET_ACCURACY = 0.98
MAX_EPOCHS = 15
CNN_SEEDS = range(5)


SETTLE = 0.02
"""Seconds of pause before each turn in :func:`interleaved_min`. PyTorch's OpenMP
threads keep spinning for a few milliseconds after each call, on the cores the next
contestant needs, and would slow whatever is timed right after them. The pause lets the
threads of the function before go to sleep, so that each is timed on a machine of its
own, as it would run in practice."""


def interleaved_min(
    fns: list[Callable[[], object]],
    rounds: int = 15,
    clock: Callable[[], float] = time.perf_counter,
    budget: float = 0.05,
) -> list[float]:
    """Seconds per call of each function: the minimum over ``rounds`` rounds, the
    functions taking turns within each round so that they share the machine's noise,
    each turn (as many calls as take about ``budget`` seconds) after a pause of
    ``SETTLE`` seconds."""
    timers = [timeit.Timer(fn, timer=clock) for fn in fns]
    counts = [max(1, int(budget / max(timer.timeit(1), 1e-7))) for timer in timers]
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, (timer, count) in enumerate(zip(timers, counts, strict=True)):
            time.sleep(SETTLE)
            best[i] = min(best[i], timer.timeit(count) / count)
    return best


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Limit NumPy's BLAS and PyTorch to one thread each (a per-core comparison, less
    disturbed by other processes on a shared machine). week14's convolution uses as
    many threads as BLAS may, so it then runs in the calling thread alone."""
    from threadpoolctl import threadpool_limits

    torch_threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(torch_threads)


def geometric_mean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def shape_label(shape: tuple[int, ...]) -> str:
    n, c, h, w, f, k, pad = shape
    return f"({n},{c},{h},{w}) F{f} k{k} p{pad}"


# ---------------------------------------------------------------- 1. fast vs loops


def bench_naive() -> None:
    print("\n1. conv2d (vectorised) vs conv2d_naive (loops), forward, float32")
    print(f"   {'shape':<28}{'loops ms':>11}{'fast ms':>10}{'speed-up':>10}")
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        n, c, h, w, f, k, pad = shape
        x = rng.standard_normal((n, c, h, w), dtype=DTYPE)
        weight = rng.standard_normal((f, c, k, k), dtype=DTYPE)
        start = time.perf_counter()
        conv2d_naive(x, weight, None, 1, pad)  # seconds: timed once
        slow = time.perf_counter() - start
        (fast,) = interleaved_min([lambda: conv2d(x, weight, None, 1, pad)])  # noqa: B023
        print(f"   {shape_label(shape):<28}{slow * 1e3:>11.1f}{fast * 1e3:>10.2f}"
              f"{slow / fast:>9.0f}×")


# ---------------------------------------------------------------- 2. conv vs PyTorch


def conv_contestants(shape: tuple[int, ...], rng: np.random.Generator) -> list[Callable]:
    """Forward and forward + backward, ours then torch's, on the same data and weights."""
    n, c, h, w, f, k, pad = shape
    x = rng.standard_normal((n, c, h, w), dtype=DTYPE)
    layer = Conv2D(c, f, k, padding=pad, rng=0, dtype=DTYPE)
    grad = rng.standard_normal(layer.forward(x).shape, dtype=DTYPE)
    tx = torch.from_numpy(x).requires_grad_()
    tw = torch.from_numpy(layer.params["W"].copy()).requires_grad_()
    tb = torch.from_numpy(layer.params["b"].copy()).requires_grad_()
    tgrad = torch.from_numpy(grad)

    def ours_forward() -> None:
        layer.forward(x)

    def torch_forward() -> None:
        with torch.no_grad():
            torch.nn.functional.conv2d(tx, tw, tb, padding=pad)

    def ours_training() -> None:
        layer.forward(x)
        layer.backward(grad)

    def torch_training() -> None:
        tx.grad = tw.grad = tb.grad = None
        torch.nn.functional.conv2d(tx, tw, tb, padding=pad).backward(tgrad)

    # The two sides compute the same thing: check before timing.
    ours_training()
    torch_training()
    np.testing.assert_allclose(layer.grads["W"], tw.grad.numpy(), rtol=2e-3, atol=2e-3)
    return [ours_forward, torch_forward, ours_training, torch_training]


def bench_conv_vs_torch(single_thread: bool = False) -> None:
    threads = "one thread each, CPU time" if single_thread else "default threads"
    print(f"\n2. Conv2D layer vs torch.nn.functional.conv2d, float32, {threads} "
          "(ratio = week14 / torch; < 1: week14 faster)")
    print(f"   {'shape':<28}{'fwd ms':>8}{'torch':>8}{'ratio':>7}"
          f"{'fwd+bwd ms':>12}{'torch':>8}{'ratio':>7}")
    rng = np.random.default_rng(0)
    forward_ratios, training_ratios = [], []
    for shape in SHAPES:
        contestants = conv_contestants(shape, rng)
        if single_thread:  # all work runs in this thread: time its CPU use
            with one_thread():
                fwd, tfwd, train, ttrain = interleaved_min(contestants, clock=time.thread_time)
        else:
            fwd, tfwd, train, ttrain = interleaved_min(contestants)
        forward_ratios.append(fwd / tfwd)
        training_ratios.append(train / ttrain)
        print(f"   {shape_label(shape):<28}{fwd * 1e3:>8.2f}{tfwd * 1e3:>8.2f}"
              f"{fwd / tfwd:>7.2f}{train * 1e3:>12.2f}{ttrain * 1e3:>8.2f}"
              f"{train / ttrain:>7.2f}")
    print(f"   {'geometric mean':<28}{'':>16}{geometric_mean(forward_ratios):>7.2f}"
          f"{'':>20}{geometric_mean(training_ratios):>7.2f}")


# ---------------------------------------------------------------- 3. pooling vs PyTorch


def pool_contestants(layer, torch_pool: Callable, x: np.ndarray) -> list[Callable]:
    """Forward + backward through ``layer`` and through ``torch_pool(x, 2)``."""
    grad = np.ones_like(layer.forward(x))
    tx = torch.from_numpy(x).requires_grad_()
    tgrad = torch.from_numpy(grad)

    def ours() -> None:
        layer.forward(x)
        layer.backward(grad)

    def theirs() -> None:
        tx.grad = None
        torch_pool(tx, 2).backward(tgrad)

    return [ours, theirs]


def bench_pool_vs_torch() -> None:
    print("\n3. pooling layers vs torch max_pool2d / avg_pool2d, 2×2 stride 2, "
          "forward + backward, float32")
    print(f"   {'input':<20}{'max ms':>8}{'torch':>8}{'ratio':>7}"
          f"{'avg ms':>8}{'torch':>8}{'ratio':>7}")
    rng = np.random.default_rng(0)
    for shape in POOL_SHAPES:
        x = rng.standard_normal(shape, dtype=DTYPE)
        mx, tmx = interleaved_min(pool_contestants(MaxPool2D(2),
                                                   torch.nn.functional.max_pool2d, x))
        av, tav = interleaved_min(pool_contestants(AvgPool2D(2),
                                                   torch.nn.functional.avg_pool2d, x))
        print(f"   {str(shape):<20}{mx * 1e3:>8.3f}{tmx * 1e3:>8.3f}{mx / tmx:>7.2f}"
              f"{av * 1e3:>8.3f}{tav * 1e3:>8.3f}{av / tav:>7.2f}")


# ---------------------------------------------------------------- 4. time to 98 %


def torch_copy_of(model) -> object:
    """The digits CNN in PyTorch with the NumPy model's current weights."""
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10),
    )
    params = model.parameters()
    with torch.no_grad():
        for i in (0, 3):
            net[i].weight.copy_(torch.from_numpy(params[f"{i}.W"]))
            net[i].bias.copy_(torch.from_numpy(params[f"{i}.b"]))
        net[7].weight.copy_(torch.from_numpy(params["7.W"].T.copy()))  # ours is (in, out)
        net[7].bias.copy_(torch.from_numpy(params["7.b"]))
    return net


def time_to_target_numpy(seed: int, data) -> tuple[int | None, float, int]:
    """Epochs and training seconds (CPU time of this thread) until the test accuracy
    reaches the target (epochs None if it does not), and the epochs run."""
    X_train, X_test, y_train, y_test = data
    model = digits_cnn(rng=seed)
    trainer = Trainer(model, "cross_entropy", SGD(0.05, momentum=0.9), batch_size=32,
                      seed=seed, progress=False)
    seconds = 0.0
    for epoch in range(1, MAX_EPOCHS + 1):
        start = time.thread_time()
        trainer.fit(X_train, y_train, epochs=1)
        seconds += time.thread_time() - start
        if trainer.evaluate(X_test, y_test)["accuracy"] >= TARGET_ACCURACY:
            return epoch, seconds, epoch
    return None, seconds, MAX_EPOCHS


def time_to_target_torch(seed: int, data) -> tuple[int | None, float, int]:
    """The same as :func:`time_to_target_numpy` in PyTorch: the same initial weights,
    the same batches in the same order (the Trainer's permutation stream), SGD with
    momentum 0.9 (PyTorch's form, equal to ours at a constant learning rate)."""
    X_train, X_test, y_train, y_test = data
    net = torch_copy_of(digits_cnn(rng=seed))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    order_rng = np.random.default_rng(seed)  # what Trainer(seed=seed) draws from
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train)
    Xt, yt = torch.from_numpy(X_test), torch.from_numpy(y_test)
    seconds = 0.0
    for epoch in range(1, MAX_EPOCHS + 1):
        start = time.thread_time()
        order = torch.from_numpy(order_rng.permutation(len(y_train)))
        for batch in order.split(32):
            optimizer.zero_grad()
            loss_fn(net(X[batch]), y[batch]).backward()
            optimizer.step()
        seconds += time.thread_time() - start
        with torch.no_grad():
            accuracy = (net(Xt).argmax(1) == yt).double().mean().item()
        if accuracy >= TARGET_ACCURACY:
            return epoch, seconds, epoch
    return None, seconds, MAX_EPOCHS


def bench_time_to_target() -> None:
    versus = " vs the same CNN in PyTorch" if torch is not None else ""
    print(f"\n4. digits CNN, time to {TARGET_ACCURACY:.0%} test accuracy (at most "
          f"{MAX_EPOCHS} epochs, batch 32, SGD lr 0.05 momentum 0.9, float32){versus}; "
          "one thread, CPU seconds of training (evaluation excluded)")
    X_train, X_test, y_train, y_test = digits(images=True)
    data = (X_train.astype(DTYPE), X_test.astype(DTYPE), y_train, y_test)
    header = f"   {'seed':<6}{'epochs':>7}{'seconds':>9}"
    if torch is not None:
        header += f"{'torch epochs':>14}{'seconds':>9}{'ratio':>7}"
    print(header)
    ours, theirs = [], []  # (epochs to target or None, seconds, epochs run) per seed
    with one_thread():
        for seed in CNN_SEEDS:
            ours.append(time_to_target_numpy(seed, data))
            line = f"   {seed:<6}{ours[-1][0] or '-':>7}{ours[-1][1]:>9.2f}"
            if torch is not None:
                theirs.append(time_to_target_torch(seed, data))
                line += f"{theirs[-1][0] or '-':>14}{theirs[-1][1]:>9.2f}"
                if ours[-1][0] and theirs[-1][0]:
                    line += f"{ours[-1][1] / theirs[-1][1]:>7.2f}"
            print(line)
    print("   ('-': not reached within the epochs"
          + ("; the ratio compares seeds where both reach it)" if theirs else ")"))
    reached = [seconds for epochs, seconds, _ in ours if epochs]
    if reached:
        print(f"   week14: median time to {TARGET_ACCURACY:.0%} {np.median(reached):.2f} s, "
              f"{sum(s for _, s, _ in ours) / sum(e for _, _, e in ours):.3f} s per epoch")
    if theirs:
        reached = [seconds for epochs, seconds, _ in theirs if epochs]
        per_epoch = sum(s for _, s, _ in theirs) / sum(e for _, _, e in theirs)
        ours_per_epoch = sum(s for _, s, _ in ours) / sum(e for _, _, e in ours)
        print(f"   torch:  median time to {TARGET_ACCURACY:.0%} "
              f"{np.median(reached) if reached else float('nan'):.2f} s, "
              f"{per_epoch:.3f} s per epoch; week14 / torch per epoch "
              f"{ours_per_epoch / per_epoch:.2f}")


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"NumPy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")
    if torch is not None:
        print(f"torch threads: {torch.get_num_threads()}")
    bench_naive()
    if torch is not None:
        bench_conv_vs_torch()
        bench_conv_vs_torch(single_thread=True)
        bench_pool_vs_torch()
    else:
        print("\n(PyTorch not installed: sections 2 and 3 and the torch column of 4 skipped)")
    bench_time_to_target()


if __name__ == "__main__":
    main()
