"""Seeded synthetic data sets of the studies: random gaussian features with random classes (seed 000), points
uniform in a box with random classes (seed 004), the line y = 4x (seed 003), and a two-class set with a chosen
majority share (seed 002)."""

from __future__ import annotations

import numpy as np

from nnprobe.data.dataset import Dataset
from nnprobe.errors import DataError
from nnprobe.limits import (
    FLOAT32_MAX,
    MAX_CLASSES,
    MAX_ROWS,
    MAX_WIDTH,
    check_int,
    check_memory,
    check_number,
    check_seed,
)


def _names(prefix: str, count: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i}" for i in range(start, start + count)]


def _check_size(*, n: int, d: int, k: int | None = None, seed: int | None = None, bytes_per_value: int = 4) -> None:
    """Rows, columns, classes and seed of a generator within range, and the table within memory."""
    check_int("n", n, 1, MAX_ROWS)
    check_int("d", d, 1, MAX_WIDTH)
    if k is not None:
        check_int("k (classes; a classifier needs at least 2)", k, 2, MAX_CLASSES)
    if seed is not None:
        check_seed(seed)
    check_memory(float(n) * d * bytes_per_value, f"a generated table of {n:,} x {d:,}", "lower n or d")


def random_labels(*, n: int, k: int, seed: int) -> np.ndarray:
    """``n`` class indices drawn uniformly from ``k`` classes, independently of anything else."""
    _check_size(n=n, d=1, k=k, seed=seed, bytes_per_value=8)
    return np.random.default_rng(seed).integers(0, k, size=n)


def gaussian(*, n: int = 2000, d: int = 240, k: int = 4, seed: int = 0) -> Dataset:
    """Standard normal features and classes drawn uniformly from ``k``, independent of the features.

    There is nothing to learn: any accuracy above 1/k on fresh data from this generator is luck.
    """
    _check_size(n=n, d=d, k=k, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.integers(0, k, size=n)
    return Dataset(X, y, _names("x", d), _names("class_", k), f"synth:gaussian?n={n}&d={d}&k={k}&seed={seed}")


def uniform_box(*, n: int = 500, d: int = 2, k: int = 3, low: float = -1000.0, high: float = 1000.0,
                seed: int = 0) -> Dataset:
    """Points uniform in the box [low, high]^d with classes drawn uniformly from ``k``."""
    _check_size(n=n, d=d, k=k, seed=seed, bytes_per_value=12)  # float64 draws, then float32
    low = check_number("low", low, low=-FLOAT32_MAX, high=FLOAT32_MAX)
    high = check_number("high", high, low=-FLOAT32_MAX, high=FLOAT32_MAX)
    if not high > low or high - low > FLOAT32_MAX:
        raise DataError(f"the box [low={low:g}, high={high:g}] must have low < high and a width within float32's "
                        "range (about 3.4e38).")
    rng = np.random.default_rng(seed)
    X = rng.uniform(low, high, size=(n, d)).astype(np.float32)
    y = rng.integers(0, k, size=n)
    return Dataset(X, y, _names("x", d), _names("class_", k),
                   f"synth:box?n={n}&d={d}&k={k}&low={low:g}&high={high:g}&seed={seed}")


def line(*, slope: float = 4.0, n: int = 5) -> Dataset:
    """The regression set x = 0, 1, ..., n-1 and y = slope * x (no noise, no randomness)."""
    check_int("n", n, 1, 10_000_000)
    slope = check_number("slope", slope, low=-1e6, high=1e6)
    x = np.arange(n, dtype=np.float32)
    return Dataset(x[:, None], slope * x, ["x"], [], f"synth:line?slope={slope:g}&n={n}")


def imbalanced(*, n: int = 1000, d: int = 5, majority: float = 0.92, separation: float = 1.0,
               seed: int = 0) -> Dataset:
    """Two classes, exactly ``round(majority * n)`` rows of class 0 (the majority) and the rest of class 1.

    Features are standard normal; those of class 1 are shifted by ``separation`` in every coordinate, so a
    model can beat the majority baseline when ``separation > 0`` (and cannot when it is 0).
    """
    _check_size(n=n, d=d, seed=seed, bytes_per_value=12)
    separation = check_number("separation", separation, low=-1e6, high=1e6)
    if not 0.5 <= majority < 1:
        raise DataError(f"majority share {majority} must lie in [0.5, 1), e.g. 0.92.")
    n_major = int(round(majority * n))
    if n_major >= n:
        raise DataError(f"majority share {majority} of n={n} rows leaves no minority row: lower it or add rows.")
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[n_major:] = 1
    y = rng.permutation(y)
    X = rng.standard_normal((n, d)).astype(np.float32) + separation * y[:, None].astype(np.float32)
    return Dataset(X, y, _names("x", d), ["majority", "minority"],
                   f"synth:imbalanced?n={n}&d={d}&majority={majority:g}&separation={separation:g}&seed={seed}")


def interaction(*, n: int = 4000, d: int = 5, seed: int = 0) -> Dataset:
    """Features uniform on [-1, 1]; the class drawn with log-odds 4 x1 x2 + 1.5 x3 (x1, x2, x3 the first three
    columns; the others are noise): a known interaction between x1 and x2, and a main effect of x3."""
    _check_size(n=n, d=d, seed=seed)
    if d < 3:
        raise DataError(f"synth:interaction needs d >= 3 features (x1, x2, x3 carry the signal); got d={d}.")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
    log_odds = 4 * X[:, 0].astype(np.float64) * X[:, 1] + 1.5 * X[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(np.int64)
    return Dataset(X, y, _names("x", d, start=1), ["0", "1"], f"synth:interaction?n={n}&d={d}&seed={seed}")


GENERATORS = {"gaussian": gaussian, "box": uniform_box, "line": line, "imbalanced": imbalanced,
              "interaction": interaction}
