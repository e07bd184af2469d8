"""Sample sizes for detecting a small accuracy lift: for McNemar's exact test as `compare` runs it (from the test's
exact power), Connor's normal approximation of that test, and the two-proportion z-test on separate samples;
plus a Monte-Carlo estimate of the exact test's power to check them by simulation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, norm

from nnprobe.errors import ConfigError
from nnprobe.limits import check_int, check_number
from nnprobe.stats.coin import _first_true
from nnprobe.stats.paired import mcnemar_p_value

# Discordant counts summed in the exact power: n pd +- (BULK_SDS sd + BULK_MARGIN). By Bernstein's inequality,
# P(|D - n pd| >= t) <= 2 exp(-t^2 / (2 (sd^2 + t/3))) < 2 exp(-50) < 1e-21 for that t, whatever n and pd.
BULK_SDS = 10
BULK_MARGIN = 40
# The exact sample-size search computes P(reject | D) for every discordant count D up to a little above the answer,
# 4.6 us each measured on the development machine (2 cores; scipy's binomial CDF at 1/2 dominates): 2-7 s for
# 0.4-0.8 million counts with the scan. Beyond this many counts it refuses, with Connor's n in the message.
MAX_EXACT_DISCORDANT = 10**6
# The search starts with the counts of n = SEARCH_HEADROOM x Connor's n, which covers the exact answer in practice
# (it is a few percent above Connor's); it doubles the range when not.
SEARCH_HEADROOM = 1.25
# Beyond the computed counts, P(reject | D) is bounded below in blocks of D about TAIL_BLOCK sqrt(D) wide, up to the
# count where Hoeffding's bound takes over (see _tail_lower_bound).
TAIL_BLOCK = 0.1
TINY = 1e-250  # chances below this are dropped in _powers: they add nothing, and as subnormals they are slow


@dataclass
class ExactSampleSize:
    """Examples needed for McNemar's exact test (the test `compare` runs) to detect a lift with a given power."""

    n: int  # the smallest n from which on the exact test's power stays at or above the target
    first_n: int  # the smallest n at which the power first reaches the target (the power zigzags in n: <= n)
    power: float  # the exact test's power at n
    normal_n: int  # Connor's normal-approximation n (paired_sample_size), for comparison


def _check_lift_and_discordance(lift: float, discordance: float, *, allow_zero_lift: bool) -> None:
    if not (0 <= lift if allow_zero_lift else 0 < lift):
        raise ConfigError(f"lift={lift} must be {'>= 0' if allow_zero_lift else '> 0'}: the accuracy gain as a "
                          "fraction, e.g. 0.005 for half a point.")
    if not (lift <= discordance <= 1 and discordance > 0):
        raise ConfigError(f"discordance={discordance} must be > 0 and lie between lift={lift} and 1: it is the share "
                          "of examples where exactly one model is right, and the lift is the difference of its two "
                          "parts (only B right minus only A right).")


def paired_sample_size(lift: float, *, discordance: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Examples needed for McNemar's test to detect an accuracy lift, by Connor's normal approximation.

    Connor's (1987) formula, the one in most texts:
    n = [z_{1-alpha/2} sqrt(pd) + z_{power} sqrt(pd - lift^2)]^2 / lift^2, rounded up, with pd the discordance
    (share of examples where exactly one model is right). Only discordant examples inform the test: a lift of
    0.5 points at 5% discordance needs 15,696 examples, where two independent samples at 90% accuracy need
    55,252 each (:func:`unpaired_sample_size`). It is the n of the asymptotic test: McNemar's exact test, the one
    `compare` runs, has a little less power there (0.79 instead of 0.80 in that example) and needs the n of
    :func:`exact_paired_sample_size`.

    Parameters
    ----------
    lift : accuracy of B minus accuracy of A to detect, as a fraction (0.005 = half a point)
    discordance : share of examples where exactly one model is right, between lift and 1
    power : chance of detecting the lift
    alpha : two-sided significance level
    """
    _check_lift_and_discordance(lift, discordance, allow_zero_lift=False)
    check_number("power", power, low=0, high=1, low_open=True, high_open=True, example="0.8")
    check_number("alpha", alpha, low=0, high=1, low_open=True, high_open=True, example="0.05")
    z_alpha, z_power = norm.ppf(1 - alpha / 2), norm.ppf(power)
    return math.ceil((z_alpha * math.sqrt(discordance) + z_power * math.sqrt(discordance - lift**2)) ** 2 / lift**2)


def mcnemar_critical_count(discordant, alpha: float) -> np.ndarray:
    """The largest k such that McNemar's exact test rejects a split of ``discordant`` pairs into k and D - k.

    The exact two-sided p-value of a split whose smaller part is k, min(1, 2 P(X <= k)) with X ~ Binomial(D, 1/2),
    rises with k, so the test rejects exactly when the smaller part is at most this count; -1 when no split of D
    pairs is significant. Decided by :func:`mcnemar_p_value` itself, so it agrees with the test `compare` runs.
    Vectorised over D.

    Parameters
    ----------
    discordant : int or array of ints >= 0, discordant pairs D
    alpha : two-sided significance level, in (0, 1)
    """
    counts = np.asarray(discordant, dtype=np.int64)

    def rejects(smaller: np.ndarray) -> np.ndarray:
        inside = (smaller >= 0) & (2 * smaller < counts)  # a split's smaller part: 0 <= k < D/2
        k = np.clip(smaller, 0, None)
        return inside & (mcnemar_p_value(k, counts - k) <= alpha)

    # normal approximation with continuity correction, then exact steps (one or two) to the largest rejected split
    k = np.floor(counts / 2 - 0.5 + norm.ppf(alpha / 2) * np.sqrt(counts) / 2).astype(np.int64).clip(-1, None)
    while np.any(up := rejects(k + 1)):
        k = np.where(up, k + 1, k)
    while np.any(down := (k >= 0) & ~rejects(k)):
        k = np.where(down, k - 1, k)
    return k


def mcnemar_conditional_power(discordant, lift: float, discordance: float, alpha: float) -> np.ndarray:
    """P(McNemar's exact test rejects | D discordant pairs), for a lift at a given discordance; vectorised over D.

    Of D discordant pairs, the number X that only B gets right is Binomial(D, q), q = (discordance + lift) /
    (2 discordance). The test rejects when min(X, D - X) <= k_D (:func:`mcnemar_critical_count`), so the chance is
    P(X <= k_D) + P(D - X <= k_D): two disjoint binomial tails, since k_D < D/2.
    """
    counts = np.asarray(discordant, dtype=np.int64)
    k = mcnemar_critical_count(counts, alpha)
    share_b = (discordance + lift) / (2 * discordance)
    return binom.cdf(k, counts, share_b) + binom.cdf(k, counts, 1 - share_b)


def _bulk(n: int, discordance: float) -> np.ndarray:
    """The discordant counts D that hold all but < 1e-21 of Binomial(n, discordance) (see BULK_SDS)."""
    mean, sd = n * discordance, math.sqrt(n * discordance * (1 - discordance))
    half_width = BULK_SDS * sd + BULK_MARGIN
    return np.arange(max(0, math.floor(mean - half_width)), min(n, math.ceil(mean + half_width)) + 1)


def exact_paired_power(n: int, lift: float, discordance: float, *, alpha: float = 0.05) -> float:
    """Power of McNemar's exact test at ``n`` paired examples, computed exactly.

    The number of discordant pairs is D ~ Binomial(n, discordance), and the power is
    sum_D P(D) P(reject | D) (:func:`mcnemar_conditional_power`), summed over the counts that hold all but 1e-21 of
    D's distribution. It zigzags in n: one more pair can lower it, when the critical count stays put.

    Parameters
    ----------
    n : paired examples
    lift, discordance : as in :func:`paired_sample_size`; lift may be 0 (then it is the test's size)
    alpha : two-sided significance level
    """
    _check_lift_and_discordance(lift, discordance, allow_zero_lift=True)
    check_number("alpha", alpha, low=0, high=1, low_open=True, high_open=True, example="0.05")
    n = check_int("n", n, 1, 2**62)
    counts = _bulk(n, discordance)
    return float(binom.pmf(counts, n, discordance) @ mcnemar_conditional_power(counts, lift, discordance, alpha))


def _tail_lower_bound(top: int, lift: float, discordance: float, alpha: float, cap: float) -> float:
    """A number below P(reject | D) (:func:`mcnemar_conditional_power`) for every D > ``top``.

    Far out, Hoeffding's inequality: the test rejects whenever D - X <= D/2 - t sqrt(D), t = sqrt(ln(2/alpha) / 2)
    (such a split has 2 P(Binomial(D, 1/2) <= k) <= 2 exp(-2 t^2) = alpha), and D - X ~ Binomial(D, 1 - q) with
    q - 1/2 = delta exceeds that only with chance exp(-2 (sqrt(D) delta - t)^2); so
    P(reject | D) >= 1 - exp(-2 (sqrt(D) delta - t)^2), which rises with D and reaches ``cap`` at some D_far.
    From top to D_far, in blocks [D1, D2]: the critical count never falls as D grows and a binomial CDF falls with
    the number of trials, so P(reject | D) >= P(Binomial(D2, 1 - q) <= k_{D1}) on the whole block.
    """
    delta = lift / (2 * discordance)  # q - 1/2
    t = math.sqrt(math.log(2 / alpha) / 2)

    def hoeffding(count: float) -> float:
        return 1 - math.exp(-2 * (math.sqrt(count) * delta - t) ** 2)

    far = math.ceil(((t + math.sqrt(math.log(1 / (1 - cap)) / 2)) / delta) ** 2)  # hoeffding(far) >= cap
    if far <= top + 1:
        return hoeffding(top + 1)
    steps = np.arange(math.ceil((math.sqrt(far) - math.sqrt(top + 1)) / (TAIL_BLOCK / 2)) + 1)
    starts = np.unique(np.minimum(np.ceil((math.sqrt(top + 1) + steps * TAIL_BLOCK / 2) ** 2), far)).astype(np.int64)
    ends = np.r_[starts[1:] - 1, far]  # blocks [start, end] cover top + 1 .. far
    share_a = 1 - (discordance + lift) / (2 * discordance)
    blocks = binom.cdf(mcnemar_critical_count(starts, alpha), ends, share_a)
    return float(min(blocks.min(), hoeffding(far)))


def _expected(chances: np.ndarray, beyond: float, n: int, discordance: float) -> float:
    """E[f(D)], D ~ Binomial(n, discordance), for f given by ``chances`` at D = 0..len-1 and ``beyond`` above."""
    counts = _bulk(n, discordance)
    values = np.where(counts < len(chances), chances[np.minimum(counts, len(chances) - 1)], beyond)
    return float(binom.pmf(counts, n, discordance) @ values)


def _powers(chances: np.ndarray, first: int, last: int, discordance: float) -> np.ndarray:
    """Exact power at every n in first..last, from P(reject | D) = ``chances[D]``; [last - first + 1].

    Each n's distribution of D comes from the previous one (P_{n+1}(D) = pd P_n(D - 1) + (1 - pd) P_n(D)), so the
    whole range costs one pass over the counts per n.
    """
    counts = np.arange(_bulk(first, discordance)[0], _bulk(last, discordance)[-1] + 1)
    chance_of_count = binom.pmf(counts, first, discordance)  # [len(counts)], P_first(D)
    conditional = chances[counts]
    powers = np.empty(last - first + 1)
    for i in range(len(powers)):
        powers[i] = (chance_of_count * conditional).sum()  # not a BLAS dot: its threads cost ms per call on a busy CPU
        chance_of_count[1:] = discordance * chance_of_count[:-1] + (1 - discordance) * chance_of_count[1:]
        chance_of_count[0] *= 1 - discordance
        chance_of_count[chance_of_count < TINY] = 0  # the edge decays like (1 - pd)^steps: no subnormals
    return powers


def exact_paired_sample_size(lift: float, *, discordance: float, power: float = 0.8,
                             alpha: float = 0.05) -> ExactSampleSize:
    """Examples needed for McNemar's exact test (the one `compare` runs) to detect a lift with a given power.

    The exact test's power (:func:`exact_paired_power`) zigzags in n, so two numbers answer: ``n``, the smallest
    n from which on the power stays at or above the target (more examples never drop below it), and ``first_n``,
    the smallest n at which it first reaches the target. A lift of 0.5 points at 5% discordance needs n = 16,064
    (power 0.800); Connor's normal approximation says 15,696, where the exact test's power is 0.791.

    How, exactly and quickly: with r(D) = P(reject | D), its running maximum from below and its running minimum
    from above (bounded beyond the computed counts by :func:`_tail_lower_bound`) are nondecreasing in D, and
    Binomial(n, pd) grows stochastically with n, so their expectations are nondecreasing bounds of the power in n.
    Below the first n where the upper bound reaches the target, the power cannot; from the first n where the
    lower bound does, it always does. Both are found by bisection from Connor's n, and the power is computed at
    every n between them.

    Parameters
    ----------
    lift : accuracy of B minus accuracy of A to detect, as a fraction (0.005 = half a point)
    discordance : share of examples where exactly one model is right, between lift and 1
    power : chance of detecting the lift, in (0, 1)
    alpha : two-sided significance level, in (0, 1)

    Raises
    ------
    ConfigError
        For invalid arguments, or when the search would need P(reject | D) at more than MAX_EXACT_DISCORDANT
        discordant counts (tiny lifts); the message gives Connor's n instead.
    """
    normal_n = paired_sample_size(lift, discordance=discordance, power=power, alpha=alpha)  # validates the arguments
    cap = (1 + power) / 2  # the tail bound's target: comfortably above the power wanted
    last_n = math.ceil(SEARCH_HEADROOM * normal_n) + 10
    while True:
        top = int(_bulk(last_n, discordance)[-1])
        if top > MAX_EXACT_DISCORDANT:
            raise ConfigError(
                f"the exact test's n for lift={lift:g} at discordance={discordance:g} would need its power at over "
                f"{top:,} discordant counts (more than the {MAX_EXACT_DISCORDANT:,} computed here); Connor's normal "
                f"approximation gives {normal_n:,} examples: use that, or size for a larger lift.")
        chances = mcnemar_conditional_power(np.arange(top + 1), lift, discordance, alpha)  # [top + 1], r(D)
        tail = _tail_lower_bound(top, lift, discordance, alpha, cap)
        if tail > power:  # else the lower bound could never reach the power: look further
            rising = np.maximum.accumulate(chances)
            falling = np.minimum(np.minimum.accumulate(chances[::-1])[::-1], tail)
            lowest = _first_true(lambda n: _expected(rising, 1.0, n, discordance) >= power, normal_n)
            highest = _first_true(lambda n: _expected(falling, tail, n, discordance) >= power, normal_n)
            if _bulk(highest, discordance)[-1] <= top:
                break
        last_n *= 2
    powers = _powers(chances, lowest, highest, discordance)  # powers[highest - lowest] >= power, by the lower bound
    short = np.flatnonzero(powers < power)
    stays = lowest + (int(short[-1]) + 1 if len(short) else 0)
    first = lowest + int(np.argmax(powers >= power))
    return ExactSampleSize(n=stays, first_n=first, power=float(powers[stays - lowest]), normal_n=normal_n)


def unpaired_sample_size(lift: float, *, base_accuracy: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Examples per model for a two-sided two-proportion z-test of accuracies ``base_accuracy`` and ``+ lift``.

    n = [z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_{power} sqrt(p1 (1 - p1) + p2 (1 - p2))]^2 / lift^2, rounded
    up, with p1 = base_accuracy, p2 = p1 + lift and pbar their mean: the pooled variance under no difference,
    the unpooled one under the lift (Fleiss, without continuity correction; statsmodels'
    ``samplesize_proportions_2indep_onetail``). It is for two models scored on separate samples; `compare` scores
    both on the same examples and needs the paired n.

    Parameters
    ----------
    lift : accuracy gain to detect, as a fraction, > 0
    base_accuracy : accuracy of the baseline model, in [0, 1 - lift]
    power : chance of detecting the lift
    alpha : two-sided significance level
    """
    if not (0 < lift <= 1 and 0 <= base_accuracy and base_accuracy + lift <= 1):
        raise ConfigError(f"lift={lift:g} above base_accuracy={base_accuracy:g} must be positive with a sum <= 1 "
                          "(an accuracy above 1 cannot be reached), e.g. lift=0.005, base_accuracy=0.9.")
    check_number("power", power, low=0, high=1, low_open=True, high_open=True, example="0.8")
    check_number("alpha", alpha, low=0, high=1, low_open=True, high_open=True, example="0.05")
    p1, p2 = base_accuracy, base_accuracy + lift
    pooled = (p1 + p2) / 2
    z_alpha, z_power = norm.ppf(1 - alpha / 2), norm.ppf(power)
    spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(spread**2 / lift**2)


def simulate_power_paired(n: int, lift: float, discordance: float, *, alpha: float = 0.05, n_sim: int = 10000,
                          seed: int = 0) -> float:
    """Monte-Carlo power of McNemar's exact test at ``n`` paired examples: the share of studies with p <= alpha.

    Each study draws its discordant count ~ Binomial(n, discordance), then how many of those B got right
    ~ Binomial(discordant, (discordance + lift) / (2 discordance)); all ``n_sim`` studies at once. The result has a
    Monte-Carlo standard error of sqrt(power (1 - power) / n_sim). With lift = 0 it estimates the test's size.

    Parameters
    ----------
    n : examples per study
    lift, discordance : as in :func:`paired_sample_size`; lift may be 0 here
    alpha : two-sided significance level
    n_sim : simulated studies
    seed : seed of the simulation
    """
    _check_lift_and_discordance(lift, discordance, allow_zero_lift=True)
    check_number("alpha", alpha, low=0, high=1, low_open=True, high_open=True, example="0.05")
    n, n_sim = check_int("n", n, 1, 2**62), check_int("n_sim", n_sim, 1, 2**62)
    rng = np.random.default_rng(seed)
    discordant = rng.binomial(n, discordance, size=n_sim)  # [n_sim]
    only_b = rng.binomial(discordant, (discordance + lift) / (2 * discordance))
    return float(np.mean(mcnemar_p_value(discordant - only_b, only_b) <= alpha))
