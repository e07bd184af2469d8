"""DeLong's test: two models' ROC AUCs on the same examples, compared with their correlation accounted for
(DeLong, DeLong & Clarke-Pearson 1988, in the midrank form of Sun & Xu 2014)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from nnprobe.errors import ConfigError


@dataclass
class DeLongResult:
    """AUCs of A and B, the difference B - A with its standard error, interval and two-sided p-value."""

    n_positive: int
    n_negative: int
    auc_a: float
    auc_b: float
    difference: float  # auc_b - auc_a
    standard_error: float
    low: float
    high: float
    level: float
    p_value: float  # normal test of difference = 0; with a zero standard error: 0 if the AUCs differ, else 1
    note: str = ""  # what a zero standard error means here ("" when it is positive)


def _components(positive: np.ndarray, negative: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components V10 (per positive) and V01 (per negative), from midranks."""
    m, n = len(positive), len(negative)
    all_ranks = stats.rankdata(np.r_[positive, negative])  # ties get the average rank: a tie counts 1/2
    rank_pos, rank_neg = all_ranks[:m], all_ranks[m:]
    v10 = (rank_pos - stats.rankdata(positive)) / n  # share of negatives each positive outranks
    v01 = 1 - (rank_neg - stats.rankdata(negative)) / m  # share of positives that outrank each negative
    auc = (rank_pos.sum() - m * (m + 1) / 2) / (m * n)
    return float(auc), v10, v01


def delong_test(is_positive, score_a, score_b, *, level: float = 0.95) -> DeLongResult:
    """Compare the ROC AUCs of two score columns on the same examples.

    The difference's variance is DeLong's, from each example's structural components. When it is 0 (e.g. a perfect
    separation against its reverse, AUC 1 against 0, or against constant scores, 1 against 0.5), the normal test
    has no spread to measure against: p is 0 if the AUCs differ (the test's limit) and 1 if not, and ``note`` says
    so.

    Parameters
    ----------
    is_positive : array of bool, shape (n,): the examples of the positive class
    score_a, score_b : arrays of shape (n,): each model's score for the positive class (higher = more positive)
    level : coverage of the normal-theory interval of the difference
    """
    pos = np.asarray(is_positive, dtype=bool)
    a, b = (np.asarray(s, dtype=np.float64) for s in (score_a, score_b))
    if not (a.shape == b.shape == pos.shape) or pos.ndim != 1:
        raise ConfigError(f"labels and both score columns need the same length (got {pos.shape}, {a.shape}, "
                          f"{b.shape}).")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ConfigError("scores must be finite numbers: drop or fill missing scores.")
    m, n = int(pos.sum()), int((~pos).sum())
    if m < 2 or n < 2:
        raise ConfigError(f"an AUC comparison needs at least 2 positive and 2 negative examples (got {m} and {n}).")
    if not 0 < level < 1:
        raise ConfigError(f"level={level} must lie strictly between 0 and 1.")
    auc_a, v10_a, v01_a = _components(a[pos], a[~pos])
    auc_b, v10_b, v01_b = _components(b[pos], b[~pos])
    # Var(auc_b - auc_a) = Var(V10_b - V10_a) / m + Var(V01_b - V01_a) / n: DeLong's covariance, applied to the
    # difference. It is 0 exactly when both differences of components are constant (tested as such, not as a float
    # that rounding can leave at 1e-34).
    d10, d01 = v10_b - v10_a, v01_b - v01_a
    constant = np.ptp(d10) == 0 and np.ptp(d01) == 0
    se = 0.0 if constant else float(np.sqrt(np.var(d10, ddof=1) / m + np.var(d01, ddof=1) / n))
    diff = auc_b - auc_a
    z = stats.norm.ppf(0.5 + level / 2)
    note = ""
    if se > 0:
        p = float(2 * stats.norm.sf(abs(diff) / se))
    elif diff != 0:
        p = 0.0  # the limit of the normal test as the standard error goes to 0
        note = (f"difference with zero variance: every positive and every negative example shows the same AUC "
                f"difference ({diff:+.4g}; DeLong's components do not vary), so the standard error is 0, the "
                f"interval is the single point {diff:+.4g} and p = 0 is the normal test's limit, not a measured "
                f"chance; it rests on {m} positive and {n} negative examples")
    else:
        p = 1.0
        note = ("no difference with zero variance: every positive and every negative example shows the same AUC in "
                "both models (DeLong's components do not differ)")
    return DeLongResult(m, n, auc_a, auc_b, diff, se, float(diff - z * se), float(diff + z * se), level, p, note)
