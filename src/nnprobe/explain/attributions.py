"""Local attributions of a differentiable model: the gradient, gradient x input, and integrated gradients
(Sundararajan et al. 2017) with their completeness check, batched over steps and chunked to a memory bound.

Integrated gradients of row x against baseline b: (x - b) times the mean gradient along the straight path from b
to x, by the midpoint rule at ``steps`` points. Completeness: the attributions sum to f(x) - f(b) in the limit;
the relative error |sum - (f(x) - f(b))| / |f(x) - f(b)| is reported per row (NaN where |f(x) - f(b)| is below
1e-6 (1 + |f(x)|): nothing to attribute, no ratio to judge), and with ``steps=None`` the step count doubles from
32 until the median error is under ``tolerance`` (1%; a ReLU network's error falls roughly as 1/steps), at most
MAX_STEPS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnprobe.errors import ConfigError

FIRST_STEPS = 32
MAX_STEPS = 4096
DEFAULT_MEMORY = 512 * 2**20  # bytes for the interpolated inputs, their gradients and the network's activations
BYTES_PER_VALUE = 4 * 8  # float32, times room for the gradient and the activations a network keeps per input value
TINY = 1e-6


@dataclass
class Attributions:
    method: str  # "gradient", "gradient x input" or "integrated gradients"
    values: np.ndarray  # [n, d]
    steps: int | None = None  # integrated gradients: the step count used
    completeness_error: np.ndarray | None = None  # [n] relative error of the sum (NaN where f(x) ~ f(b))
    baseline: np.ndarray | None = None  # [d]

    @property
    def median_error(self) -> float:
        e = self.completeness_error
        return float(np.nanmedian(e)) if e is not None and np.isfinite(e).any() else float("nan")


def _gradient(f: Callable, x) -> np.ndarray:

    x = x.detach().clone().requires_grad_(True)
    f(x).sum().backward()
    return x.grad.double().numpy()


def gradient(f: Callable, X: np.ndarray) -> Attributions:
    """df/dx at every row (one batched autograd pass)."""
    import torch

    return Attributions("gradient", _gradient(f, torch.from_numpy(np.asarray(X, dtype=np.float32))))


def gradient_x_input(f: Callable, X: np.ndarray) -> Attributions:
    """x * df/dx at every row."""
    g = gradient(f, X).values
    return Attributions("gradient x input", g * np.asarray(X, dtype=np.float64))


def integrated_gradients(f: Callable, X: np.ndarray, *, baseline: np.ndarray | None = None,
                         steps: int | None = None, tolerance: float = 0.01,
                         max_memory: int = DEFAULT_MEMORY) -> Attributions:
    """Integrated gradients of every row of ``X`` against ``baseline`` (default: zeros), at ``steps`` points or,
    with ``steps=None``, at the fewest of 32, 64, ... MAX_STEPS whose median completeness error is under
    ``tolerance``."""
    X = np.asarray(X, dtype=np.float32)
    b = np.zeros(X.shape[1], dtype=np.float32) if baseline is None else np.asarray(baseline, dtype=np.float32)
    if b.shape != (X.shape[1],):
        raise ConfigError(f"the baseline has shape {b.shape}; it needs one value per feature ({X.shape[1]}).")
    if steps is not None:
        return _integrated(f, X, b, int(steps), max_memory)
    n = FIRST_STEPS
    while True:
        result = _integrated(f, X, b, n, max_memory)
        if not result.median_error >= tolerance or n >= MAX_STEPS:  # also stops when no row can be judged (NaN)
            return result
        n *= 2


def _integrated(f: Callable, X: np.ndarray, b: np.ndarray, steps: int, max_memory: int) -> Attributions:
    import torch

    if steps < 1:
        raise ConfigError(f"integrated gradients need at least 1 step (got {steps}).")
    n, d = X.shape
    per_row = steps * d * BYTES_PER_VALUE
    chunk = max_memory // per_row
    if chunk < 1:
        raise ConfigError(f"one row of integrated gradients at {steps} steps needs about {per_row / 2**20:.0f} MiB, "
                          f"more than the memory bound of {max_memory / 2**20:.0f} MiB: raise it or use fewer steps.")
    alphas = torch.arange(steps, dtype=torch.float32).add_(0.5).div_(steps)  # midpoints of [0, 1]
    x_all, base = torch.from_numpy(X), torch.from_numpy(b)
    values = np.empty((n, d))
    for start in range(0, n, chunk):
        x = x_all[start:start + chunk]  # [r, d]
        path = base + alphas[:, None, None] * (x - base)[None]  # [steps, r, d]
        grads = _gradient(f, path.reshape(-1, d)).reshape(steps, len(x), d)
        values[start:start + len(x)] = (x - base).double().numpy() * grads.mean(axis=0)
    with torch.no_grad():
        fx = f(x_all).double().numpy()
        fb = float(f(base[None]).double().numpy()[0])
    delta = fx - fb
    judged = np.abs(delta) >= TINY * (1 + np.abs(fx))
    error = np.full(n, np.nan)
    error[judged] = np.abs(values.sum(axis=1)[judged] - delta[judged]) / np.abs(delta[judged])
    return Attributions("integrated gradients", values, steps, error, b.astype(np.float64))
