"""Paired significance of two models scored on the same examples: McNemar's test on correctness, a paired
bootstrap of the mean difference, Wilcoxon and sign tests on per-query metrics, and a verdict in words."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, binomtest, rankdata, wilcoxon

from nnprobe.errors import ConfigError
from nnprobe.limits import MAX_BOOT, check_int, check_memory, check_time

# Memory for one chunk of bootstrap resamples: 24 bytes per drawn example (uniform double, index, value).
MAX_RESAMPLE_BYTES = 200 * 2**20
# Least time per drawn example of the bootstrap (draw, index, gather, mean): 18-64 ns measured on the development
# machine (2 cores) for 100 to 10^6 examples; the lowest, rounded down, so that estimates are lower bounds.
BOOTSTRAP_SECONDS_PER_DRAW = 15e-9
# The exact Wilcoxon distribution is summed over all 2^n sign patterns of the untied queries up to this many
# (a pass per query over the ~n^2 possible rank sums: ~0.1 s at 500); beyond, the normal approximation.
MAX_EXACT_SIGNED_RANK = 500


@dataclass
class McNemarResult:
    """The 2x2 table of two classifiers' correctness on the same examples, and McNemar's exact test."""

    n_examples: int
    both_correct: int
    only_a_correct: int  # discordant: A right, B wrong
    only_b_correct: int  # discordant: B right, A wrong
    both_wrong: int
    p_value: float  # exact two-sided: min(1, 2 P(X <= min(only_a, only_b))), X ~ Binomial(discordant, 1/2)
    mid_p_value: float  # the same with half the probability of the observed split (Fagerland et al. 2013)
    accuracy_difference: float  # accuracy of B minus accuracy of A, as a fraction


@dataclass
class BootstrapResult:
    """Paired bootstrap percentile interval of mean(b - a)."""

    difference: float  # mean(b - a) on the data
    low: float
    high: float
    level: float  # the interval's nominal coverage, e.g. 0.95
    n_boot: int  # resamples drawn


@dataclass
class PerQueryResult:
    """Paired tests of two rankers' per-query metric (B minus A)."""

    n_queries: int
    n_b_better: int  # queries where B scores higher
    n_a_better: int
    n_ties: int  # queries with equal scores; left out of the Wilcoxon and sign tests
    bootstrap: BootstrapResult  # interval of the mean difference
    wilcoxon_p_value: float  # two-sided signed-rank test; 1 when all differences are 0
    wilcoxon_method: str  # how that p-value was computed: "exact", "normal approximation" or "no untied query"
    sign_test_p_value: float  # two-sided binomial test of n_b_better out of the untied queries; 1 without any


def _paired_arrays(a, b, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D float arrays of the same length >= 2 with finite values, or ConfigError."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 1 or b.ndim != 1 or len(a) != len(b):
        raise ConfigError(f"{names[0]} and {names[1]} must be 1-D and of the same length, one entry per example; "
                          f"got shapes {a.shape} and {b.shape}. Score both models on the same examples.")
    if len(a) < 2:
        raise ConfigError(f"{names[0]} and {names[1]} have {len(a)} example(s): a paired comparison needs at least 2.")
    for name, values in zip(names, (a, b)):
        if values.dtype.kind not in "biuf" or not np.all(np.isfinite(values)):
            raise ConfigError(f"{name} must hold finite numbers; got dtype {values.dtype} with non-finite or "
                              "non-numeric entries. Drop or fix those examples in both arrays.")
    return a.astype(np.float64), b.astype(np.float64)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ConfigError(f"level={level} must be strictly between 0 and 1, e.g. 0.95 for a 95% interval.")


def mcnemar_p_value(only_a_correct, only_b_correct):
    """Exact two-sided McNemar p-value: min(1, 2 P(X <= k)), X ~ Binomial(only_a + only_b, 1/2), k the smaller count.

    The same definition as statsmodels' ``mcnemar(table, exact=True)``; 1 when there are no discordant pairs.
    Vectorised over arrays of counts.
    """
    discordant = np.add(only_a_correct, only_b_correct)
    return np.minimum(1.0, 2 * binom.cdf(np.minimum(only_a_correct, only_b_correct), discordant, 0.5))


def mcnemar_test(a_correct, b_correct) -> McNemarResult:
    """McNemar's exact test of two classifiers' correctness on the same examples.

    Only the discordant examples (one model right, the other wrong) carry information: under "equally accurate"
    each of them is A's or B's with chance 1/2. The mid-p value (Fagerland, Lydersen and Laake 2013) is the exact
    p-value minus P(X = k): 2 P(X <= k) - P(X = k), or 1 - P(X = k)/2 when both discordant counts are equal. It is
    less conservative than the exact p-value and keeps the nominal level in practice. With no discordant pairs
    at all the exact p-value is 1 and the mid-p value 1/2.

    Parameters
    ----------
    a_correct, b_correct : array-like of bool or 0/1 of shape (n_examples,), whether model A / B got each example
    """
    a, b = _paired_arrays(a_correct, b_correct, ("a_correct", "b_correct"))
    for name, values in (("a_correct", a), ("b_correct", b)):
        if not np.all((values == 0) | (values == 1)):
            raise ConfigError(f"{name} must be booleans or 0/1 (correct or not); got values such as "
                              f"{values[(values != 0) & (values != 1)][:3].tolist()}. Compare predictions with labels "
                              "first, e.g. predictions == labels.")
    a, b = a.astype(bool), b.astype(bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p_value = float(mcnemar_p_value(only_a, only_b))
    observed_chance = float(binom.pmf(min(only_a, only_b), only_a + only_b, 0.5))
    return McNemarResult(
        n_examples=len(a), both_correct=int(np.sum(a & b)), only_a_correct=only_a, only_b_correct=only_b,
        both_wrong=int(np.sum(~a & ~b)), p_value=p_value,
        mid_p_value=1 - observed_chance / 2 if only_a == only_b else p_value - observed_chance,
        accuracy_difference=(only_b - only_a) / len(a),
    )


def paired_bootstrap(a_values, b_values, *, n_boot: int = 10000, level: float = 0.95,
                     seed: int = 0) -> BootstrapResult:
    """Percentile bootstrap interval of mean(b - a), resampling examples (pairs) with replacement.

    All resamples are drawn at once with numpy's Generator, in chunks that keep memory under ~200 MB. Each
    resampled index comes from one uniform double, so the numbers depend only on the seed, not on the chunking.

    Parameters
    ----------
    a_values, b_values : array-like of shape (n_examples,), per-example scores of models A and B
    n_boot : number of resamples, 1..10^7
    level : coverage of the interval, e.g. 0.95
    seed : seed of the resampling

    Raises
    ------
    ConfigError
        For invalid arguments, or, before any work, when the resamples would not fit in memory or would take over
        a day (at BOOTSTRAP_SECONDS_PER_DRAW per drawn example, a lower bound).
    """
    a, b = _paired_arrays(a_values, b_values, ("a_values", "b_values"))
    n_boot = check_int("n_boot", n_boot, 1, MAX_BOOT)
    _check_level(level)
    differences = b - a
    n = len(differences)
    rows_per_chunk = max(1, MAX_RESAMPLE_BYTES // (24 * n))
    what = f"a bootstrap of {n_boot:,} resamples of {n:,} examples"
    fix = "lower n_boot (--boot); 10,000 resamples give a stable 95% interval"
    check_memory(16.0 * n_boot + 24.0 * n * min(rows_per_chunk, n_boot), what, fix)  # the means, their sort, a chunk
    check_time(BOOTSTRAP_SECONDS_PER_DRAW * n * n_boot, what, fix)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, rows_per_chunk):
        rows = min(rows_per_chunk, n_boot - start)
        indices = (rng.random((rows, n)) * n).astype(np.int64)  # [rows, n], uniform on 0..n-1
        means[start:start + rows] = differences[indices].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapResult(difference=float(differences.mean()), low=float(low), high=float(high), level=level,
                           n_boot=n_boot)


def signed_rank_distribution(doubled_ranks) -> np.ndarray:
    """Exact law of the Wilcoxon statistic (twice the sum of the positive differences' ranks) under no difference.

    With no difference every sign pattern of the untied differences is equally likely: each rank joins the sum
    with chance 1/2, independently. Ranks are midranks (tied sizes share their average rank), so twice a rank is a
    whole number and the law is a vector of chances indexed by twice the sum. One pass per rank over the sums
    reached so far.

    Parameters
    ----------
    doubled_ranks : array of ints >= 1 of shape (n,), twice the midranks of the absolute differences

    Returns
    -------
    ndarray of shape (sum(doubled_ranks) + 1,), the chance of each doubled sum
    """
    ranks = np.sort(np.asarray(doubled_ranks, dtype=np.int64))
    chances = np.zeros(int(ranks.sum()) + 1)
    chances[0] = 1.0
    reached = 0  # largest sum so far
    for rank in ranks:
        without = chances[:reached + 1].copy()
        chances[:reached + 1] *= 0.5
        chances[rank:rank + reached + 1] += 0.5 * without
        reached += rank
    return chances


def signed_rank_p_value(differences) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p-value of paired differences, and the method used.

    Zero differences are left out (Wilcoxon's own choice, scipy's ``zero_method="wilcox"``); tied sizes get
    midranks. Up to MAX_EXACT_SIGNED_RANK untied differences the p-value is exact, from all 2^n sign patterns
    (:func:`signed_rank_distribution`): 2 min(P(S <= s), P(S >= s)), at most 1, as scipy's exact test has it
    without ties. Beyond, the normal approximation with the tie correction of the variance (scipy's
    ``method="approx"``), close at that size. scipy's own default falls back to that approximation from 14
    queries on whenever a difference is 0 or two sizes tie, which per-query metrics (NDCG, precision at k) do.

    Returns
    -------
    (p_value, method): method is "exact", "normal approximation", or "no untied query" (p = 1)
    """
    differences = np.asarray(differences, dtype=np.float64)
    untied = differences[differences != 0]
    if len(untied) == 0:
        return 1.0, "no untied query"
    if len(untied) > MAX_EXACT_SIGNED_RANK:
        return float(wilcoxon(untied, method="approx").pvalue), "normal approximation"
    doubled_ranks = np.rint(2 * rankdata(np.abs(untied))).astype(np.int64)
    chances = signed_rank_distribution(doubled_ranks)
    observed = int(doubled_ranks[untied > 0].sum())
    p_value = 2 * min(chances[:observed + 1].sum(), chances[observed:].sum())
    return float(min(1.0, p_value)), "exact"


def per_query_tests(a_metric, b_metric, *, n_boot: int = 10000, level: float = 0.95, seed: int = 0) -> PerQueryResult:
    """Paired bootstrap, Wilcoxon signed-rank and sign tests of two rankers' per-query metric (e.g. NDCG@10).

    The bootstrap interval is about the mean difference; the Wilcoxon test (:func:`signed_rank_p_value`: untied
    queries only, exact over all their sign patterns up to 500 of them, with or without ties, then the normal
    approximation) asks whether differences lean one way, weighting them by rank; the sign test only counts which
    model wins each untied query, so a few large differences cannot drive it.

    Parameters
    ----------
    a_metric, b_metric : array-like of shape (n_queries,), the metric of rankers A and B on each query
    n_boot, level, seed : as in :func:`paired_bootstrap`
    """
    a, b = _paired_arrays(a_metric, b_metric, ("a_metric", "b_metric"))
    bootstrap = paired_bootstrap(a, b, n_boot=n_boot, level=level, seed=seed)
    differences = b - a
    n_b_better, n_a_better = int(np.sum(differences > 0)), int(np.sum(differences < 0))
    untied = n_b_better + n_a_better
    wilcoxon_p_value, wilcoxon_method = signed_rank_p_value(differences)
    return PerQueryResult(
        n_queries=len(a), n_b_better=n_b_better, n_a_better=n_a_better, n_ties=len(a) - untied, bootstrap=bootstrap,
        wilcoxon_p_value=wilcoxon_p_value, wilcoxon_method=wilcoxon_method,
        sign_test_p_value=float(binomtest(n_b_better, untied, 0.5).pvalue) if untied else 1.0,
    )


def verdict(difference: float, low: float, high: float, p_value: float, *, level: float = 0.95, alpha: float = 0.05,
            scale: float = 100.0, unit: str = "points") -> str:
    """A comparison of B against A in words, e.g. "B is better by 0.7 points, 95% CI [0.2, 1.2], p = 0.004".

    A winner is named only when the p-value is below ``alpha`` and the interval excludes 0 (when the two
    disagree, as a bootstrap interval and an exact test can near the edge, the cautious reading wins);
    otherwise "no detectable difference (B - A = ...)". The interval is shown for the winner's lead.

    Parameters
    ----------
    difference, low, high : B - A and its confidence interval, as fractions (accuracy 0.912 - 0.905 = 0.007)
    p_value : of the test of no difference
    level : the interval's coverage, for the label
    alpha : significance level
    scale, unit : shown numbers are ``scale`` times the fractions, in ``unit``; the default gives percentage
        points; use scale=1, unit="" for metrics in their own units
    """
    _check_level(level)
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha={alpha} must be strictly between 0 and 1, e.g. 0.05.")
    half_width, shown_difference = (high - low) * abs(scale) / 2, abs(difference * scale)
    if half_width > 1e-9 * max(shown_difference, 1e-3):
        # Decimals down to the leading digit of the interval's half-width (at least one): the digits it supports.
        decimals = max(1, -math.floor(math.log10(half_width)))
    else:  # no spread beyond rounding (every example differs alike): 4 significant digits of the difference
        decimals = min(10, max(1, 3 - math.floor(math.log10(shown_difference)))) if shown_difference else 1

    def number(value: float) -> str:
        return f"{value * scale:.{decimals}f}"

    amount = f" {unit}" if unit else ""
    label = f"{level * 100:g}% CI"
    p_text = "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"
    if p_value < alpha and low > 0:
        return f"B is better by {number(difference)}{amount}, {label} [{number(low)}, {number(high)}], {p_text}"
    if p_value < alpha and high < 0:
        return f"A is better by {number(-difference)}{amount}, {label} [{number(-high)}, {number(-low)}], {p_text}"
    return (f"no detectable difference (B - A = {number(difference)}{amount}, {label} [{number(low)}, "
            f"{number(high)}], {p_text})")
