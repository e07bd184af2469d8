"""How many threads nnprobe's work runs on: chosen from the size of the work and the cores free now, set for
the duration of a study in torch and in the BLAS/OpenMP pools (through threadpoolctl, as scikit-learn does), and
restored after.

Why not torch's default (one thread per core): the networks nnprobe trains are small, and a step is many short
kernels. A second thread pays only on products of several MFLOP (measured on this 2-core machine: 0.65x at 0.1
MFLOP, 1.5x at 5 MFLOP, 1.9x at 550 MFLOP), and when another process keeps a core busy, OpenMP threads waiting
for each other cost far more than they give (the memorize study: 6.7 s on one thread, 61 s on two, beside one
busy process). So: one thread for small work or when fewer than two cores are free, else one per free core.
"""

from __future__ import annotations

import contextlib
import os
import time

from nnprobe.limits import check_int

MIN_PARALLEL_FLOPS = 2e7  # FLOPs per training step from which a second thread pays (see the module docstring)
MAX_THREADS = 256


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_times() -> tuple[float, float] | None:
    """(idle, total) jiffies of all CPUs from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat") as fh:
            fields = [float(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user..steal


def free_cores(sample_seconds: float = 0.05) -> float:
    """Cores idle now: the idle share of all CPUs over a short sample, times the number of cores (this process
    sleeps meanwhile). Where /proc/stat is missing, every core counts as free."""
    n = cores()
    before = _cpu_times()
    if before is None:
        return float(n)
    time.sleep(sample_seconds)
    after = _cpu_times()
    total = after[1] - before[1] if after else 0
    if total <= 0:
        return float(n)
    return min(n, (after[0] - before[0]) / total * (os.cpu_count() or n))


def choose_threads(step_flops: float, *, free: float | None = None) -> int:
    """Threads for training steps of ``step_flops`` FLOPs each: 1 below ``MIN_PARALLEL_FLOPS``, else one per
    free core (rounded; at least 1)."""
    if step_flops < MIN_PARALLEL_FLOPS:
        return 1
    free = free_cores() if free is None else free
    return max(1, min(cores(), int(free + 0.5)))


def resolve_threads(requested: int | None, step_flops: float) -> int:
    """The threads a study runs on: ``requested`` (``--threads``), or :func:`choose_threads` when it is None."""
    return requested if requested is not None else choose_threads(step_flops)


def check_threads(threads) -> int | None:
    """``--threads``: None (automatic) or a whole number in 1..MAX_THREADS."""
    return None if threads is None else check_int("threads (--threads)", threads, 1, MAX_THREADS)


def current_threads() -> int:
    """The threads chosen for the study running now (torch's intra-op pool, which :func:`using_threads` sets):
    what parallel work of the study (joblib's workers) may use."""
    import torch

    return torch.get_num_threads()


@contextlib.contextmanager
def using_threads(threads: int):
    """Run the block on ``threads`` threads: torch's intra-op pool and the BLAS/OpenMP pools of numpy, scipy and
    scikit-learn (threadpoolctl); the previous settings come back after."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield threads
    finally:
        torch.set_num_threads(previous)
