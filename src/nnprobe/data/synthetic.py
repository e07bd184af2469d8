"""Seeded synthetic data sets of the studies: random gaussian features with random classes (seed 000), points
uniform in a box with random classes (seed 004), the line y = 4x (seed 003), and a two-class set with a chosen
majority share (seed 002)."""

from __future__ import annotations

import numpy as np

from nnprobe.data.dataset import Dataset
from nnprobe.errors import DataError


def _names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value >= 1:
            raise DataError(f"{name}={value} must be a positive integer.")


def random_labels(*, n: int, k: int, seed: int) -> np.ndarray:
    """``n`` class indices drawn uniformly from ``k`` classes, independently of anything else."""
    _check_positive(n=n, k=k)
    return np.random.default_rng(seed).integers(0, k, size=n)


def gaussian(*, n: int = 2000, d: int = 240, k: int = 4, seed: int = 0) -> Dataset:
    """Standard normal features and classes drawn uniformly from ``k``, independent of the features.

    There is nothing to learn: any accuracy above 1/k on fresh data from this generator is luck.
    """
    _check_positive(n=n, d=d, k=k)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.integers(0, k, size=n)
    return Dataset(X, y, _names("x", d), _names("class_", k), f"synth:gaussian?n={n}&d={d}&k={k}&seed={seed}")


def uniform_box(*, n: int = 500, d: int = 2, k: int = 3, low: float = -1000.0, high: float = 1000.0,
                seed: int = 0) -> Dataset:
    """Points uniform in the box [low, high]^d with classes drawn uniformly from ``k``."""
    _check_positive(n=n, d=d, k=k)
    if not high > low:
        raise DataError(f"the box [low={low}, high={high}] is empty: give low < high.")
    rng = np.random.default_rng(seed)
    X = rng.uniform(low, high, size=(n, d)).astype(np.float32)
    y = rng.integers(0, k, size=n)
    return Dataset(X, y, _names("x", d), _names("class_", k),
                   f"synth:box?n={n}&d={d}&k={k}&low={low:g}&high={high:g}&seed={seed}")


def line(*, slope: float = 4.0, n: int = 5) -> Dataset:
    """The regression set x = 0, 1, ..., n-1 and y = slope * x (no noise, no randomness)."""
    _check_positive(n=n)
    x = np.arange(n, dtype=np.float32)
    return Dataset(x[:, None], slope * x, ["x"], [], f"synth:line?slope={slope:g}&n={n}")


def imbalanced(*, n: int = 1000, d: int = 5, majority: float = 0.92, separation: float = 1.0,
               seed: int = 0) -> Dataset:
    """Two classes, exactly ``round(majority * n)`` rows of class 0 (the majority) and the rest of class 1.

    Features are standard normal; those of class 1 are shifted by ``separation`` in every coordinate, so a
    model can beat the majority baseline when ``separation > 0`` (and cannot when it is 0).
    """
    _check_positive(n=n, d=d)
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


GENERATORS = {"gaussian": gaussian, "box": uniform_box, "line": line, "imbalanced": imbalanced}
