"""Bounds on what a run may ask for, checked before any work: seeds, rates, counts, and estimates of the memory
and time a configuration needs, refused up front with the estimate in the message (no torch here, so study
configs stay light to import)."""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

from nnprobe.errors import ConfigError

MAX_SEED = 2**32 - 1  # numpy's legacy seeding range; derived seeds come from numpy's SeedSequence
MAX_EPOCHS = 1_000_000
MAX_WIDTH = 100_000  # features, hidden units per layer
MAX_REPEATS = 1_000  # seeds, repeats
MAX_ROWS = 100_000_000  # rows of generated data
MAX_CLASSES = 10_000
MAX_BOOT = 10**7  # bootstrap resamples; past a million the interval's ends no longer move
FLOAT32_MAX = 3.4028234663852886e38  # the engine computes in float32: larger values become infinity
MAX_RATE = 1e3  # learning rates and steps above this only diverge for the networks nnprobe trains
MAX_SECONDS = 24 * 3600  # work estimated (at an optimistic speed) to take longer than this is refused
FLOP_RATE = 2e11  # FLOP/s: optimistic for a CPU, so that time estimates are lower bounds
GPU_FLOP_RATE = 1e14  # FLOP/s: optimistic for a GPU (an H200 does about 6e13 in float32)
STEP_SECONDS = 2e-5  # least time per optimizer step (kernel launches), whatever its size
MEMORY_SHARE = 0.8  # refuse work whose estimated memory exceeds this share of the memory available now


def check_int(name: str, value, low: int, high: int) -> int:
    """``value`` as an int within ``low..high``, or ConfigError naming the allowed range."""
    if isinstance(value, bool) or not isinstance(value, Integral | Real) or (
            isinstance(value, Real) and not isinstance(value, Integral) and not float(value).is_integer()):
        raise ConfigError(f"{name}={value!r} must be a whole number in {low:,}..{high:,}.")
    value = int(value)
    if not low <= value <= high:
        raise ConfigError(f"{name}={value:,} is out of range: allowed {low:,}..{high:,}.")
    return value


def check_seed(value, name: str = "seed") -> int:
    """A seed in 0..2^32-1."""
    return check_int(name, value, 0, MAX_SEED)


def check_number(name: str, value, *, low: float, high: float, low_open: bool = False,
                 high_open: bool = False, example: str = "") -> float:
    """A finite float within [low, high] (ends open where asked), or ConfigError naming the allowed range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    inside = math.isfinite(number) and (low < number if low_open else low <= number) and (
        number < high if high_open else number <= high)
    if not inside:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        hint = f", e.g. {example}" if example else ""
        raise ConfigError(f"{name}={value!r} must be a finite number in {interval}{hint}.")
    return number


def check_rate(name: str, value, *, example: str = "0.01") -> float:
    """A learning rate or step: finite, positive, at most MAX_RATE."""
    return check_number(name, value, low=0.0, high=MAX_RATE, low_open=True, example=example)


def check_momentum(name: str, value) -> float:
    """A momentum in [0, 1): 1 or more makes the steps grow without bound."""
    return check_number(name, value, low=0.0, high=1.0, high_open=True, example="0.9")


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable of /proc/meminfo; total physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"


def human_seconds(s: float) -> str:
    """90 -> '90 s', 86400 -> '24 hours', 1e9 -> '31.7 years'."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if s >= 2 * size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.3g} s"


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse ``what`` when it needs more than MEMORY_SHARE of the memory available now."""
    avail = available_memory()
    if nbytes > MEMORY_SHARE * avail:
        raise ConfigError(f"{what} needs about {human_bytes(nbytes)} of memory; this machine has "
                          f"{human_bytes(avail)} available: {fix}.")


def check_time(seconds: float, what: str, fix: str) -> None:
    """Refuse ``what`` when even at an optimistic speed it would take longer than MAX_SECONDS."""
    if seconds > MAX_SECONDS:
        raise ConfigError(f"{what} would take at least {human_seconds(seconds)} on this machine (the limit is "
                          f"{human_seconds(MAX_SECONDS)}): {fix}.")


def on_gpu(device: str) -> bool:
    """Whether work on ``device`` ("auto", "cpu", "cuda" or a torch.device) runs on a GPU: "auto" where an NVIDIA
    driver is present (its device node; checked without importing torch)."""
    device = str(device)
    return device.startswith("cuda") or (device == "auto" and os.path.exists("/dev/nvidiactl"))


def training_estimate(*, sizes: tuple[int, ...], members: int, rows: int, epochs: int,
                      batch_size: int | None = None, eval_rows: int = 0, labels_per_member: bool = False,
                      device: str = "cpu") -> tuple[float, float]:
    """(bytes, seconds) for the engine to train ``members`` MLPs of layer sizes ``sizes`` on ``rows`` rows.

    Memory: inputs (float32), per member parameters with gradient and two Adam moments, activations of a batch
    for forward and backward, and int64 labels per member where each has its own. Time: 6 FLOPs per weight per
    row and epoch (forward 2, backward 4) at FLOP_RATE (GPU_FLOP_RATE on a GPU), plus STEP_SECONDS per step,
    plus the evaluations; a lower bound.
    """
    weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    units = sum(sizes[1:])
    batch = rows if batch_size is None else min(batch_size, rows)
    nbytes = 4 * (rows * sizes[0] + eval_rows * sizes[0] + members * (4 * weights + 3 * batch * units
                                                                     + eval_rows * units))
    nbytes += 8 * members * (rows + eval_rows) if labels_per_member else 0
    steps = epochs * math.ceil(rows / batch)
    flops = 6.0 * weights * members * rows * epochs + 2.0 * weights * members * eval_rows * epochs
    return float(nbytes), flops / (GPU_FLOP_RATE if on_gpu(device) else FLOP_RATE) + steps * STEP_SECONDS


def step_flops(sizes: tuple[int, ...], members: int, rows: int) -> float:
    """FLOPs of one training step of ``members`` MLPs of layer sizes ``sizes`` on ``rows`` rows (forward 2,
    backward 4 per weight and row)."""
    return 6.0 * sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) * members * rows


def check_training(what: str, fix: str, *, at_once: int | None = None, **sizes) -> None:
    """Refuse training work (see :func:`training_estimate`) that cannot fit in memory or time. On a GPU the
    memory is the GPU's, which is not known without torch: there a run that does not fit ends with torch's
    out-of-memory error (one line, exit 2) instead. ``at_once``: the members trained together (a chunk, where the
    work is chunked), which is what the memory must hold; the time is that of all ``members``."""
    nbytes, seconds = training_estimate(**sizes)
    if at_once is not None and at_once < sizes["members"]:
        nbytes, _ = training_estimate(**{**sizes, "members": at_once})
    if not on_gpu(sizes.get("device", "cpu")):
        check_memory(nbytes, what, fix)
    check_time(seconds, what, fix)
