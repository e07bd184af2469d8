"""Sample sizes for detecting a small accuracy lift, paired (McNemar) or unpaired (two proportions), and a
Monte-Carlo check of the paired formula against the exact McNemar test."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from nnprobe.errors import ConfigError
from nnprobe.stats.paired import mcnemar_p_value


def _check_open_fraction(name: str, value: float, example: float) -> None:
    if not 0 < value < 1:
        raise ConfigError(f"{name}={value} must be strictly between 0 and 1, e.g. {example}.")


def _check_lift_and_discordance(lift: float, discordance: float, *, allow_zero_lift: bool) -> None:
    if not (0 <= lift if allow_zero_lift else 0 < lift):
        raise ConfigError(f"lift={lift} must be {'>= 0' if allow_zero_lift else '> 0'}: the accuracy gain as a "
                          "fraction, e.g. 0.005 for half a point.")
    if not (lift <= discordance <= 1 and discordance > 0):
        raise ConfigError(f"discordance={discordance} must be > 0 and lie between lift={lift} and 1: it is the share "
                          "of examples where exactly one model is right, and the lift is the difference of its two "
                          "parts (only B right minus only A right).")


def paired_sample_size(lift: float, *, discordance: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Examples needed for McNemar's test to detect an accuracy lift, both models scored on the same examples.

    Connor's (1987) normal-approximation formula, the one in most texts:
    n = [z_{1-alpha/2} sqrt(pd) + z_{power} sqrt(pd - lift^2)]^2 / lift^2, rounded up, with pd the discordance
    (share of examples where exactly one model is right). Only discordant examples inform the test: a lift of
    0.5 points at 5% discordance needs 15,696 examples, where two independent samples at 90% accuracy need
    55,252 each (:func:`unpaired_sample_size`).

    Parameters
    ----------
    lift : accuracy of B minus accuracy of A to detect, as a fraction (0.005 = half a point)
    discordance : share of examples where exactly one model is right, between lift and 1
    power : chance of detecting the lift
    alpha : two-sided significance level
    """
    _check_lift_and_discordance(lift, discordance, allow_zero_lift=False)
    _check_open_fraction("power", power, 0.8)
    _check_open_fraction("alpha", alpha, 0.05)
    z_alpha, z_power = norm.ppf(1 - alpha / 2), norm.ppf(power)
    return math.ceil((z_alpha * math.sqrt(discordance) + z_power * math.sqrt(discordance - lift**2)) ** 2 / lift**2)


def unpaired_sample_size(lift: float, *, base_accuracy: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Examples per model for a two-sided two-proportion z-test of accuracies ``base_accuracy`` and ``+ lift``.

    n = [z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_{power} sqrt(p1 (1 - p1) + p2 (1 - p2))]^2 / lift^2, rounded
    up, with p1 = base_accuracy, p2 = p1 + lift and pbar their mean: the pooled variance under no difference,
    the unpooled one under the lift (Fleiss, without continuity correction; statsmodels'
    ``samplesize_proportions_2indep_onetail``).

    Parameters
    ----------
    lift : accuracy gain to detect, as a fraction, > 0
    base_accuracy : accuracy of the baseline model, with base_accuracy + lift <= 1
    power : chance of detecting the lift
    alpha : two-sided significance level
    """
    if not (0 < lift and 0 < base_accuracy and base_accuracy + lift <= 1):
        raise ConfigError(f"lift={lift} and base_accuracy={base_accuracy} must be positive with a sum <= 1, e.g. "
                          "lift=0.005, base_accuracy=0.9.")
    _check_open_fraction("power", power, 0.8)
    _check_open_fraction("alpha", alpha, 0.05)
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
    _check_open_fraction("alpha", alpha, 0.05)
    for name, value in (("n", n), ("n_sim", n_sim)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name}={value!r} must be a whole number >= 1.")
    rng = np.random.default_rng(seed)
    discordant = rng.binomial(n, discordance, size=n_sim)  # [n_sim]
    only_b = rng.binomial(discordant, (discordance + lift) / (2 * discordance))
    return float(np.mean(mcnemar_p_value(discordant - only_b, only_b) <= alpha))
