"""The seed's yardstick of explainability: the derivative of the model's output with respect to each feature,
across the data, and how far it is from a constant.

- torch networks: autograd, all rows in one batched pass;
- a two-class logistic regression (any scikit-learn linear classifier with a logistic ``predict_proba``) on the
  log-odds: exact, its coefficients (the one case where the derivative is a constant);
- every other model: central differences ``(f(x + h e_j) - f(x - h e_j)) / 2h`` with ``h = step`` x the feature's
  standard deviation (default step 0.1: a tree's output is piecewise constant, so a smaller step sees only
  zeros and jumps).

Non-constancy of a feature's derivative: its standard deviation over the rows divided by its mean magnitude
(0 for a linear function). For a model: the same ratio pooled over features, sum of standard deviations over sum
of mean magnitudes, so that features the model barely uses weigh little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnprobe.explain.output import Output
from nnprobe.models.base import PREDICT_BATCH_VALUES

DEFAULT_STEP = 0.1  # central-difference step, in standard deviations of the feature


@dataclass
class Derivatives:
    """d output / d feature at every row."""

    values: np.ndarray  # [n, d]
    method: str  # "autograd", "exact (linear model)" or "central differences, h = 0.1 sd"
    output: str  # what was differentiated, e.g. "log-odds(class 1)"

    @property
    def mean_magnitude(self) -> np.ndarray:
        return np.abs(self.values).mean(axis=0)

    @property
    def spread(self) -> np.ndarray:
        return self.values.std(axis=0)

    @property
    def non_constancy(self) -> np.ndarray:
        """Per feature: spread / mean magnitude (0: a constant derivative; NaN where the derivative is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.mean_magnitude > 0, self.spread / self.mean_magnitude, np.nan)

    @property
    def pooled_non_constancy(self) -> float:
        """Sum of spreads over sum of mean magnitudes: the model's one number (0 for a linear function)."""
        total = self.mean_magnitude.sum()
        return float(self.spread.sum() / total) if total > 0 else float("nan")


def derivatives(output: Output, X: np.ndarray, *, step: float = DEFAULT_STEP) -> Derivatives:
    """d output / d x_j at every row of ``X [n, d]`` (see the module docstring for the method chosen)."""
    X = np.asarray(X, dtype=np.float32)
    f = output.torch_function()
    if f is not None:
        return Derivatives(_autograd(f, X), "autograd", output.label)
    exact = _linear_log_odds(output)
    if exact is not None:
        return Derivatives(np.tile(exact, (len(X), 1)), "exact (linear model)", output.label)
    return Derivatives(central_differences(output, X, step=step), f"central differences, h = {step:g} sd",
                       output.label)


def _autograd(f, X: np.ndarray) -> np.ndarray:
    import torch

    x = torch.from_numpy(X).requires_grad_(True)
    f(x).sum().backward()  # rows are independent: the gradient of the sum is every row's own gradient
    return x.grad.numpy().astype(np.float64)


def _linear_log_odds(output: Output) -> np.ndarray | None:
    """The coefficients of a two-class logistic model on the log-odds of the target class; None otherwise."""
    estimator = getattr(output.model, "estimator", None)
    coef = getattr(estimator, "coef_", None)
    if output.kind != "logit" or coef is None or np.shape(coef)[0] != 1 or output.model.n_classes != 2:
        return None
    from sklearn.linear_model import LogisticRegression

    if not isinstance(estimator, LogisticRegression) or getattr(output.model, "class_columns", None) is None:
        return None
    positive = output.model.class_columns[1]  # the data's index of the estimator's second class: what coef_ scores
    return np.asarray(coef[0], dtype=np.float64) * (1.0 if output.target == positive else -1.0)


def central_differences(output: Output, X: np.ndarray, *, step: float = DEFAULT_STEP) -> np.ndarray:
    """``(f(x + h_j e_j) - f(x - h_j e_j)) / 2 h_j`` for every row and feature, ``h_j = step`` x sd of column j
    (``step`` where the column is constant); rows in chunks of bounded memory."""
    n, d = X.shape
    h = step * X.astype(np.float64).std(axis=0)
    h[h == 0] = step
    out = np.empty((n, d))
    chunk = max(1, PREDICT_BATCH_VALUES // max(1, 2 * d * d))
    for start in range(0, n, chunk):
        rows = X[start:start + chunk]
        m = len(rows)
        shifted = np.repeat(rows[None], 2 * d, axis=0)  # [2d, m, d]: +h_j then -h_j for each j
        idx = np.arange(d)
        shifted[idx, :, idx] += h[:, None].astype(np.float32)
        shifted[d + idx, :, idx] -= h[:, None].astype(np.float32)
        values = output(shifted.reshape(-1, d)).reshape(2 * d, m)
        # the steps actually taken, after rounding to float32
        taken = (shifted[idx, :, idx].astype(np.float64) - shifted[d + idx, :, idx].astype(np.float64))  # [d, m]
        out[start:start + m] = ((values[:d] - values[d:]) / taken).T
    return out
