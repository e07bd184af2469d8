"""Tests of nnprobe.stats against independent answers: enumeration of all outcomes, exact rational sums,
statsmodels, scipy, closed forms and simulation."""

import itertools
import math
import time
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import PermutationMethod, binom, binomtest, norm, rankdata, wilcoxon
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

import nnprobe.limits
import nnprobe.stats.paired
from nnprobe.errors import ConfigError
from nnprobe.stats import (
    delong_test,
    exact_paired_power,
    exact_paired_sample_size,
    flips_needed,
    flips_needed_single,
    head_race,
    mcnemar_conditional_power,
    mcnemar_critical_count,
    mcnemar_test,
    paired_bootstrap,
    paired_sample_size,
    per_query_tests,
    prob_loaded_beats_fair,
    prob_more_heads,
    signed_rank_p_value,
    simulate_power_paired,
    unpaired_sample_size,
    verdict,
)
from nnprobe.stats.coin import _first_true

# ---------------------------------------------------------------- independent answers for the coin functions

def enumerated_more_heads(p, n_flips):
    """P(more heads than tails), summing the probability of every sequence of flips."""
    total = 0.0
    for flips in itertools.product((0, 1), repeat=n_flips):
        heads = sum(flips)
        if heads > n_flips - heads:
            total += p**heads * (1 - p) ** (n_flips - heads)
    return total


def enumerated_race(p_a, p_b, n_flips):
    """(P(A > B), P(A = B), P(A < B)), summing over every joint sequence of both coins' flips."""
    chances = [0.0, 0.0, 0.0]
    for flips in itertools.product((0, 1), repeat=2 * n_flips):
        heads_a, heads_b = sum(flips[:n_flips]), sum(flips[n_flips:])
        weight = p_a**heads_a * (1 - p_a) ** (n_flips - heads_a) * p_b**heads_b * (1 - p_b) ** (n_flips - heads_b)
        chances[0 if heads_a > heads_b else 1 if heads_a == heads_b else 2] += weight
    return chances


def exact_pmf_numerators(heads_per_thousand, n_flips):
    """Integers C(n, k) h^k (1000 - h)^(n - k), k = 0..n: the binomial pmf times 1000^n, without rounding."""
    h = heads_per_thousand
    return [math.comb(n_flips, k) * h**k * (1000 - h) ** (n_flips - k) for k in range(n_flips + 1)]


# ---------------------------------------------------------------- coin

def test_prob_more_heads_matches_enumeration_of_all_flips():
    for p in (0.3, 0.501, 0.8):
        expected = [enumerated_more_heads(p, n) for n in range(9)]
        # scalar and vectorised calls both agree with the sum over all 2^n sequences (n = 0: no flips, no win)
        assert [prob_more_heads(p, n) for n in range(9)] == pytest.approx(expected, abs=1e-14)
        assert prob_more_heads(p, np.arange(9)) == pytest.approx(expected, abs=1e-14)


def test_head_race_matches_enumeration_of_all_flips():
    for p_a, p_b in ((0.501, 0.5), (0.7, 0.4), (0.2, 0.9)):
        for n in range(7):
            race = head_race(p_a, p_b, n)
            # each of the three outcomes, including a loaded coin that is worse than the other (0.2 vs 0.9)
            assert [race.a_more, race.tie, race.b_more] == pytest.approx(enumerated_race(p_a, p_b, n), abs=1e-14)
            assert prob_loaded_beats_fair(p_a, p_b, n) == race.a_more


def test_exact_rational_sums_at_a_few_hundred_flips():
    p = Fraction(501, 1000)
    for n in (200, 201):  # a tie possible, and not
        exact = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n // 2 + 1, n + 1))
        assert prob_more_heads(0.501, n) == pytest.approx(float(exact), abs=1e-12)
    n = 200
    loaded, fair = exact_pmf_numerators(501, n), exact_pmf_numerators(500, n)
    loaded_above = [sum(loaded[k + 1:]) for k in range(n + 1)]  # 1000^n P(A > k)
    a_more = Fraction(sum(f * above for f, above in zip(fair, loaded_above)), 1000 ** (2 * n))
    tie = Fraction(sum(f * l for f, l in zip(fair, loaded)), 1000 ** (2 * n))
    race = head_race(0.501, 0.5, n)
    # P(A > B) = sum_k P(B = k) P(A > k) and P(A = B), in exact integer arithmetic
    assert race.a_more == pytest.approx(float(a_more), abs=1e-12)
    assert race.tie == pytest.approx(float(tie), abs=1e-12)


def test_fair_coin_at_a_billion_flips_is_exact():
    # By symmetry a fair coin shows more heads with chance exactly 1/2 for odd n and (1 - P(tie)) / 2 for even n,
    # P(tie) = C(2m, m) / 4^m = (1 - 1/(8m) + 1/(128m^2) - ...) / sqrt(pi m) for n = 2m: closed forms at
    # n = 10^9, where a naive sum would overflow.
    assert prob_more_heads(0.5, 10**9 + 1) == pytest.approx(0.5, rel=1e-12)
    m = 5 * 10**8
    tie = (1 - 1 / (8 * m) + 1 / (128 * m**2)) / math.sqrt(math.pi * m)
    assert prob_more_heads(0.5, 2 * m) == pytest.approx((1 - tie) / 2, rel=1e-13)


def test_the_largest_allowed_count_is_still_exact():
    # 2^53 flips, the most a double holds exactly: P(tie) = C(2m, m) / 4^m ~ (1 - 1/(8m)) / sqrt(pi m), m = 2^52;
    # the incomplete beta function keeps the answer within 1e-11 of it (within 1e-15 at 10^9 flips)
    m = 2**52
    tie = (1 - 1 / (8 * m)) / math.sqrt(math.pi * m)
    assert prob_more_heads(0.5, np.array([2 * m - 1, 2 * m])) == pytest.approx([0.5, (1 - tie) / 2], abs=1e-11)


def test_ten_million_flips_of_the_loaded_coin():
    n, p = 10**7, 0.501
    chance = prob_more_heads(p, n)
    # Normal approximation with continuity correction of P(heads <= n/2): about 1.3e-10; a precise 1 - chance
    # shows the tail is computed, not lost to rounding (1 - chance would be 0 or garbage otherwise).
    expected_miss = norm.cdf((n / 2 + 0.5 - n * p) / math.sqrt(n * p * (1 - p)))
    assert 0 < 1 - chance == pytest.approx(expected_miss, rel=0.05)


def test_ten_million_flips_against_a_fair_coin_is_fast_and_near_one():
    start = time.perf_counter()
    race = head_race(0.501, 0.5, 10**7)
    elapsed = time.perf_counter() - start
    # summing only B's likely head counts keeps it well under a second (a full sum over 10^7 counts takes ~5 s)
    assert elapsed < 2, elapsed
    assert 0.99 < race.a_more < 1
    # Normal approximation of the head difference D: P(D <= 0) ~ Phi((0.5 - n gap) / sqrt(n (var_a + var_b)))
    expected_miss = norm.cdf((0.5 - 10**7 * 0.001) / math.sqrt(10**7 * (0.501 * 0.499 + 0.25)))
    assert race.tie + race.b_more == pytest.approx(expected_miss, rel=0.05)
    # the three outcomes are computed separately and must still cover everything
    assert race.a_more + race.tie + race.b_more == pytest.approx(1, abs=1e-12)


def test_one_flip_tells_almost_nothing():
    race = head_race(0.501, 0.5, 1)
    # one flip each: A wins only with heads against tails, 0.501 * 0.5; the reverse 0.499 * 0.5; else a tie
    assert race.a_more == pytest.approx(0.501 * 0.5, rel=1e-12)
    assert race.b_more == pytest.approx(0.499 * 0.5, rel=1e-12)
    assert race.tie == pytest.approx(0.5, rel=1e-12)


def test_summing_a_window_of_head_counts_loses_nothing():
    # at 20000 flips the window covers a fraction of 0..n; for the coin with p = 1e-7, 40 standard deviations
    # are ~1 head, where 3 heads still have a chance of ~2e-10: the full sum over every count must agree
    for n, p_a, p_b in ((20_000, 0.301, 0.3), (10_000, 5e-4, 1e-7)):
        heads = np.arange(n + 1)
        full_sum = np.sum(binom.pmf(heads, n, p_b) * binom.sf(heads, n, p_a))
        assert prob_loaded_beats_fair(p_a, p_b, n) == pytest.approx(full_sum, abs=1e-14)


def test_search_finds_the_switch_from_any_guess():
    for answer in (1, 2, 3, 17, 1000, 123_457):
        for guess in (1, 2, 3, 4, 16, 999, 10**6):
            # a predicate that switches at a known n: any guess, too low or too high, must land on it
            assert _first_true(lambda n: n >= answer, guess) == answer, (answer, guess)


def test_flips_needed_is_the_first_n_that_reaches_the_confidence():
    for p_loaded, p_fair, confidence in ((0.6, 0.5, 0.9), (0.7, 0.4, 0.3), (0.55, 0.45, 0.99)):
        n = flips_needed(p_loaded, p_fair, confidence)
        chances = [prob_loaded_beats_fair(p_loaded, p_fair, m) for m in range(1, 3 * n + 20)]
        # a scan from 1 flip finds the same first n; the chance then stays above (it increases with n)
        assert n == 1 + next(i for i, c in enumerate(chances) if c >= confidence)
        assert min(chances[n - 1:]) >= confidence
    n = flips_needed(0.501, 0.5, 0.99)
    assert prob_loaded_beats_fair(0.501, 0.5, n) >= 0.99 > prob_loaded_beats_fair(0.501, 0.5, n - 1)
    # in the millions, as the normal approximation (z sqrt(var_a + var_b) / gap)^2 says
    assert n == pytest.approx((norm.ppf(0.99) * math.sqrt(0.501 * 0.499 + 0.25) / 0.001) ** 2, rel=0.01)


def test_flips_needed_single_is_where_the_chance_stays_above():
    for p, confidence in ((0.6, 0.9), (0.6, 0.55), (0.55, 0.8)):
        n = flips_needed_single(p, confidence)
        chances = prob_more_heads(p, np.arange(1, 4 * n + 50))
        last_below = np.flatnonzero(chances < confidence)[-1] + 1  # in flips
        # from the returned n on every count reaches the confidence, and the count before does not
        assert n == last_below + 1
    # the zigzag: one flip of a 0.6 coin already reaches 0.55, but two flips fall back to 0.36
    assert prob_more_heads(0.6, 1) >= 0.55 and flips_needed_single(0.6, 0.55) > 1
    n = flips_needed_single(0.501, 0.99)
    assert min(prob_more_heads(0.501, np.arange(n, n + 4))) >= 0.99 > prob_more_heads(0.501, n - 1)


# ---------------------------------------------------------------- McNemar

def correctness_from_table(table, rng):
    """Shuffled correctness arrays of A and B with the 2x2 table [[both, only A], [only B, neither]]."""
    (both, only_a), (only_b, neither) = table
    a = np.array([1] * both + [1] * only_a + [0] * only_b + [0] * neither, dtype=bool)
    b = np.array([1] * both + [0] * only_a + [1] * only_b + [0] * neither, dtype=bool)
    order = rng.permutation(len(a))
    return a[order], b[order]


def test_mcnemar_matches_statsmodels():
    rng = np.random.default_rng(0)
    tables = [[[3, 0], [5, 2]], [[10, 1], [0, 0]], [[0, 12], [1, 0]], [[50, 30], [28, 2]], [[900, 3], [17, 80]]]
    tables += rng.integers(0, 40, size=(5, 2, 2)).tolist()
    for table in tables:
        a, b = correctness_from_table(table, rng)
        result = mcnemar_test(a, b)
        assert [[result.both_correct, result.only_a_correct], [result.only_b_correct, result.both_wrong]] == table
        # the exact binomial test on the discordant pairs, statsmodels' definition
        assert result.p_value == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-12), table
        assert result.accuracy_difference == pytest.approx(b.mean() - a.mean(), abs=1e-15)


def test_mcnemar_mid_p_is_the_two_sided_mid_p_of_the_discordant_split():
    rng = np.random.default_rng(1)
    for only_a, only_b in ((3, 9), (9, 3), (6, 6), (0, 5), (20, 41)):
        a, b = correctness_from_table([[15, only_a], [only_b, 4]], rng)
        discordant = only_a + only_b
        distance = np.abs(np.arange(discordant + 1) - discordant / 2)
        observed = abs(only_b - discordant / 2)
        chances = binom.pmf(np.arange(discordant + 1), discordant, 0.5)
        # definition: P(a split further from even than observed) + half P(a split as far)
        expected = chances[distance > observed + 1e-9].sum() + 0.5 * chances[np.abs(distance - observed) < 1e-9].sum()
        assert mcnemar_test(a, b).mid_p_value == pytest.approx(expected, rel=1e-12)


def test_identical_predictions_give_p_one():
    correct = np.random.default_rng(2).random(50) < 0.8
    result = mcnemar_test(correct, correct)
    # no discordant pair: nothing speaks for either model
    assert result.p_value == 1 and result.accuracy_difference == 0
    assert result.only_a_correct == result.only_b_correct == 0


# ---------------------------------------------------------------- bootstrap

def synthetic_scores(n, true_difference, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 0.2, n)
    return a, a + true_difference + rng.normal(0, 0.3, n)


def test_bootstrap_is_reproducible_by_seed():
    a, b = synthetic_scores(300, 0.05, seed=3)
    first = paired_bootstrap(a, b, n_boot=500, seed=7)
    # same seed, same interval; another seed, another interval
    assert paired_bootstrap(a, b, n_boot=500, seed=7) == first
    assert paired_bootstrap(a, b, n_boot=500, seed=8) != first


def test_chunked_bootstrap_equals_a_plain_loop(monkeypatch):
    a, b = synthetic_scores(50, 0.05, seed=4)
    n_boot, seed = 1000, 5
    monkeypatch.setattr(nnprobe.stats.paired, "MAX_RESAMPLE_BYTES", 7 * 24 * 50)  # chunks of 7 resamples
    result = paired_bootstrap(a, b, n_boot=n_boot, level=0.9, seed=seed)
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(n_boot):  # one resample at a time, each index floor(n * uniform) as documented
        indices = (rng.random(50) * 50).astype(int)
        means.append(np.mean(b[indices] - a[indices]))
    # vectorised chunks, including a last partial one, give the very same resamples
    assert [result.low, result.high] == pytest.approx(np.quantile(means, [0.05, 0.95]), abs=1e-15)
    assert result.difference == pytest.approx(np.mean(b - a))


def test_bootstrap_interval_covers_the_truth_with_the_normal_width():
    a, b = synthetic_scores(4000, 0.02, seed=6)
    result = paired_bootstrap(a, b, n_boot=2000, level=0.95, seed=0)
    assert result.low < 0.02 < result.high  # true mean difference of the generating process
    normal_width = 2 * norm.ppf(0.975) * np.std(b - a) / math.sqrt(4000)
    # percentile bootstrap of a mean ~ normal-theory interval on a large sample
    assert result.high - result.low == pytest.approx(normal_width, rel=0.15)


# ---------------------------------------------------------------- per-query tests

def test_wilcoxon_p_value_matches_enumeration_of_signs():
    differences = np.array([0.3, -0.1, 0.45, 0.2, -0.05, 0.6, 0.15, 0.35])  # distinct sizes: no tied ranks
    a = np.full(8, 0.4)
    ranks = np.argsort(np.argsort(np.abs(differences))) + 1
    observed = ranks[differences > 0].sum()
    # under no difference every sign pattern is equally likely: the exact law of the positive rank sum
    sums = np.array([ranks[np.array(signs, dtype=bool)].sum() for signs in itertools.product((0, 1), repeat=8)])
    expected = min(1.0, 2 * min(np.mean(sums <= observed), np.mean(sums >= observed)))
    assert per_query_tests(a, a + differences, n_boot=100).wilcoxon_p_value == pytest.approx(expected, rel=1e-12)


def test_per_query_tests_match_scipy_and_counting():
    rng = np.random.default_rng(8)
    a = np.round(rng.random(80), 1)  # rounded, so some queries tie and some differences share a rank
    b = np.clip(np.round(a + rng.normal(0.05, 0.15, 80), 1), 0, 1)
    result = per_query_tests(a, b, n_boot=200, level=0.9, seed=1)
    differences = b - a
    assert result.wilcoxon_method == "exact"
    assert result.wilcoxon_p_value == signed_rank_p_value(differences)[0]  # tested against enumeration below
    wins, losses = int(np.sum(differences > 0)), int(np.sum(differences < 0))
    assert (result.n_b_better, result.n_a_better, result.n_ties) == (wins, losses, 80 - wins - losses)
    # sign test by counting: twice the chance of at most min(wins, losses) heads in wins + losses fair flips
    tail = sum(math.comb(wins + losses, k) for k in range(min(wins, losses) + 1)) / 2 ** (wins + losses)
    assert result.sign_test_p_value == pytest.approx(min(1, 2 * tail), rel=1e-12)
    assert result.bootstrap == paired_bootstrap(a, b, n_boot=200, level=0.9, seed=1)


def enumerated_signed_rank_p_value(differences):
    """Two-sided p of the signed-rank statistic, by listing every sign pattern of the non-zero differences."""
    untied = differences[differences != 0]
    ranks = rankdata(np.abs(untied))  # midranks for tied sizes
    observed = ranks[untied > 0].sum()
    patterns = itertools.product((0, 1), repeat=len(untied))
    sums = np.array([ranks[np.array(signs, dtype=bool)].sum() for signs in patterns])
    return min(1.0, 2 * min(np.mean(sums <= observed + 1e-9), np.mean(sums >= observed - 1e-9)))


def test_wilcoxon_is_exact_with_ties_and_zero_differences():
    # 16 queries, 2 of them tied between the models and several differences of the same size: scipy's default
    # switches to the normal approximation here; the exact law over all 2^14 sign patterns is the answer
    differences = np.array([0.1, -0.1, 0.2, 0.2, 0.3, 0.1, 0, 0.4, -0.2, 0.5, 0.3, 0, 0.1, 0.6, -0.3, 0.2])
    a = np.zeros(16)  # b - a is then exactly the differences: equal sizes stay tied
    expected = enumerated_signed_rank_p_value(differences)
    result = per_query_tests(a, a + differences, n_boot=100)
    assert result.wilcoxon_method == "exact"
    assert result.wilcoxon_p_value == pytest.approx(expected, rel=1e-9)


def test_exact_wilcoxon_agrees_with_scipys_permutation_test_and_simulation():
    rng = np.random.default_rng(12)
    for n in (5, 9, 13):  # scipy enumerates every sign pattern for n <= 13
        differences = np.round(rng.normal(0.1, 0.3, n), 1)
        scipy_exact = wilcoxon(differences, method=PermutationMethod()).pvalue
        assert signed_rank_p_value(differences) == (pytest.approx(scipy_exact, rel=1e-9), "exact")
    # 80 queries with many ties: 200,000 random sign patterns estimate the exact p to ~0.0004 (standard error)
    differences = np.round(rng.normal(0.04, 0.2, 80), 1)
    differences = differences[differences != 0]
    ranks = rankdata(np.abs(differences))
    observed = ranks[differences > 0].sum()
    flips = rng.integers(0, 2, size=(200_000, len(differences)), dtype=np.int8)
    sums = flips @ ranks
    simulated = min(1.0, 2 * min(np.mean(sums <= observed + 1e-9), np.mean(sums >= observed - 1e-9)))
    p_value, method = signed_rank_p_value(differences)
    assert method == "exact" and p_value == pytest.approx(simulated, abs=0.002)


def test_wilcoxon_beyond_the_exact_limit_is_the_tie_corrected_normal_approximation():
    differences = np.round(np.random.default_rng(13).normal(0.02, 0.2, 700), 1)
    p_value, method = signed_rank_p_value(differences)
    # scipy's approximation: zeros dropped, tie-corrected variance, no continuity correction
    assert method == "normal approximation"
    assert p_value == pytest.approx(wilcoxon(differences, method="approx").pvalue, rel=1e-12)


def test_all_equal_metrics_give_p_one():
    metric = np.random.default_rng(9).random(30)
    result = per_query_tests(metric, metric.copy(), n_boot=100)
    # no query differs: no evidence either way (scipy's Wilcoxon may refuse all-zero differences)
    assert result.wilcoxon_p_value == 1 and result.sign_test_p_value == 1
    assert result.wilcoxon_method == "no untied query"
    assert result.n_ties == 30 and result.bootstrap.low == result.bootstrap.high == 0


def test_sign_test_on_one_untied_query():
    # with a single non-zero difference the sign test is a fair coin's single flip: p = 1
    result = per_query_tests([0.5, 0.5, 0.5], [0.5, 0.5, 0.9], n_boot=100)
    assert result.sign_test_p_value == pytest.approx(binomtest(1, 1).pvalue)
    assert result.n_b_better == 1 and result.n_ties == 2


# ---------------------------------------------------------------- verdict

def test_verdict_names_the_winner_only_when_the_evidence_agrees():
    assert verdict(0.007, 0.002, 0.012, 0.004) == "B is better by 0.7 points, 95% CI [0.2, 1.2], p = 0.004"
    # A ahead: the interval is shown for A's lead, so it reads the same way round
    assert verdict(-0.007, -0.012, -0.002, 0.0001) == "A is better by 0.7 points, 95% CI [0.2, 1.2], p < 0.001"
    assert verdict(0.001, -0.003, 0.005, 0.62) == (
        "no detectable difference (B - A = 0.1 points, 95% CI [-0.3, 0.5], p = 0.62)")
    # a small p-value with an interval through 0 is not enough to name a winner
    assert verdict(0.004, -0.001, 0.009, 0.03).startswith("no detectable difference")
    # narrower intervals get more decimals; metrics in their own units
    assert verdict(0.12, 0.07, 0.17, 0.01, scale=1, unit="", level=0.9) == (
        "B is better by 0.12, 90% CI [0.07, 0.17], p = 0.01")


def test_verdict_without_spread_shows_no_float_noise():
    # every query 0.1 better: the bootstrap's means are 0.1 give or take rounding (0.30000000000000004 - 0.2),
    # which used to ask for 17 decimals
    differences = (np.linspace(0.2, 0.8, 7) + 0.1) - np.linspace(0.2, 0.8, 7)
    boot = paired_bootstrap(np.zeros(7), differences, n_boot=200)
    assert 0 < boot.high - boot.low < 1e-15
    assert verdict(boot.difference, boot.low, boot.high, 1e-5, scale=1, unit="") == (
        "B is better by 0.1000, 95% CI [0.1000, 0.1000], p < 0.001")
    assert verdict(-0.01, -0.01, -0.01, 1e-5) == "A is better by 1.000 points, 95% CI [1.000, 1.000], p < 0.001"


# ---------------------------------------------------------------- power

def exact_mcnemar_power(n, lift, discordance, alpha):
    """Power of the exact McNemar test by summing over every discordant count and split."""
    power = 0.0
    share_b = (discordance + lift) / (2 * discordance)
    for m in range(n + 1):
        splits = np.arange(m + 1)
        p_values = np.minimum(1, 2 * binom.cdf(np.minimum(splits, m - splits), m, 0.5))
        power += binom.pmf(m, n, discordance) * binom.pmf(splits[p_values <= alpha], m, share_b).sum()
    return power


def test_simulated_power_matches_the_exact_sum():
    simulated = simulate_power_paired(200, 0.06, 0.2, alpha=0.05, n_sim=20000, seed=0)
    # Monte-Carlo standard error ~0.0035; 4 of them
    assert simulated == pytest.approx(exact_mcnemar_power(200, 0.06, 0.2, 0.05), abs=0.015)


def test_simulated_size_is_at_most_alpha():
    # without a lift the exact test rejects at most alpha of the time (it is conservative)
    assert simulate_power_paired(500, 0.0, 0.1, alpha=0.05, n_sim=20000, seed=1) <= 0.05 + 0.005


def test_paired_sample_size_gives_the_requested_power():
    for lift, discordance in ((0.005, 0.05), (0.02, 0.1)):
        n = paired_sample_size(lift, discordance=discordance, power=0.8, alpha=0.05)
        # the normal-approximation formula against the exact test it stands for
        assert simulate_power_paired(n, lift, discordance, alpha=0.05, n_sim=20000, seed=2) == pytest.approx(0.8,
                                                                                                           abs=0.05)
    # fewer examples give less power: the formula is not just generous
    n = paired_sample_size(0.005, discordance=0.05)
    assert simulate_power_paired(n // 2, 0.005, 0.05, n_sim=20000, seed=3) < 0.6


def brute_force_conditional_powers(largest, lift, discordance, alpha):
    """P(reject | m discordant pairs) for m = 0..largest, by listing every split and its exact p-value."""
    share_b = (discordance + lift) / (2 * discordance)
    chances = []
    for m in range(largest + 1):
        splits = np.arange(m + 1)
        p_values = np.minimum(1, 2 * binom.cdf(np.minimum(splits, m - splits), m, 0.5))
        chances.append(binom.pmf(splits[p_values <= alpha], m, share_b).sum())
    return np.array(chances)


def brute_force_powers(largest_n, lift, discordance, alpha):
    """Exact power at n = 1..largest_n, each a full sum over all discordant counts 0..n."""
    conditional = brute_force_conditional_powers(largest_n, lift, discordance, alpha)
    return np.array([binom.pmf(np.arange(n + 1), n, discordance) @ conditional[:n + 1]
                     for n in range(1, largest_n + 1)])


def test_critical_count_is_the_largest_rejected_split():
    for alpha in (0.05, 0.01, 0.4999, 1e-6, 2**-4):  # 2^-4: splits whose p-value equals alpha exactly
        counts = np.arange(300)
        rejected = [np.flatnonzero(np.minimum(1, 2 * binom.cdf(np.arange(m // 2 + 1), m, 0.5)) <= alpha)
                    for m in counts]
        expected = [int(ks[-1]) if len(ks) else -1 for ks in rejected]  # the largest k with p <= alpha, if any
        assert mcnemar_critical_count(counts, alpha).tolist() == expected, alpha


def test_conditional_and_exact_power_match_brute_force_sums():
    for lift, discordance in ((0.06, 0.2), (0.3, 0.9), (0.5, 1.0), (0.1, 0.1)):
        expected = brute_force_conditional_powers(400, lift, discordance, 0.05)
        assert mcnemar_conditional_power(np.arange(401), lift, discordance, 0.05) == pytest.approx(expected, abs=1e-14)
    # the unconditional power against the per-n brute force kept from before, and against simulation
    assert exact_paired_power(200, 0.06, 0.2) == pytest.approx(exact_mcnemar_power(200, 0.06, 0.2, 0.05), abs=1e-13)
    assert exact_paired_power(700, 0.0, 0.1) <= 0.05  # the size of the exact test


@pytest.mark.parametrize("lift, discordance, power, alpha", [
    (0.5, 1.0, 0.8, 0.05),  # every pair discordant: the power zigzags, first reached at 30, for good from 35
    (0.3, 0.9, 0.8, 0.05),
    (0.1, 0.3, 0.8, 0.05),
    (0.2, 0.999, 0.9, 0.01),  # first reached at 373, for good from 382
    (0.2, 0.5, 0.5, 0.4),
])
def test_exact_sample_size_matches_a_brute_force_scan(lift, discordance, power, alpha):
    exact = exact_paired_sample_size(lift, discordance=discordance, power=power, alpha=alpha)
    powers = brute_force_powers(3 * exact.n + 30, lift, discordance, alpha)  # powers[i]: n = i + 1
    below = np.flatnonzero(powers < power)
    assert exact.n == below[-1] + 2  # the last n short of the power, plus one
    assert exact.first_n == np.argmax(powers >= power) + 1
    assert exact.power == pytest.approx(powers[exact.n - 1], abs=1e-12)
    assert exact.normal_n == paired_sample_size(lift, discordance=discordance, power=power, alpha=alpha)


def test_zigzag_makes_the_two_sample_sizes_differ():
    exact = exact_paired_sample_size(0.5, discordance=1.0)
    powers = brute_force_powers(60, 0.5, 1.0, 0.05)  # every pair discordant: the power is P(reject | D = n)
    # the power reaches 0.8 at first_n, falls below it again, and stays above only from n on
    assert exact.first_n < exact.n and powers[exact.first_n - 1] >= 0.8
    assert min(powers[exact.first_n - 1:exact.n - 1]) < 0.8 <= min(powers[exact.n - 1:])
    assert exact_paired_power(exact.first_n + 1, 0.5, 1.0) == pytest.approx(powers[exact.first_n], abs=1e-13)


def test_exact_sample_size_has_the_power_by_simulation_and_connors_does_not():
    # the issue: at Connor's n (15,696) the exact test compare runs has power ~0.79, not 0.80
    lift, discordance, n_sim = 0.005, 0.05, 20000
    exact = exact_paired_sample_size(lift, discordance=discordance)
    z_alpha, z_power = norm.ppf(0.975), norm.ppf(0.8)  # Connor (1987), computed here
    connor = math.ceil((z_alpha * math.sqrt(discordance) + z_power * math.sqrt(discordance - lift**2)) ** 2 / lift**2)
    assert exact.normal_n == connor and exact.n > exact.normal_n
    standard_error = math.sqrt(0.8 * 0.2 / n_sim)  # 0.0028
    at_exact = simulate_power_paired(exact.n, lift, discordance, n_sim=n_sim, seed=4)
    at_normal = simulate_power_paired(exact.normal_n, lift, discordance, n_sim=n_sim, seed=5)
    assert at_exact == pytest.approx(exact.power, abs=4 * standard_error) and exact.power >= 0.8
    assert at_normal == pytest.approx(exact_paired_power(exact.normal_n, lift, discordance), abs=4 * standard_error)
    assert exact_paired_power(exact.normal_n, lift, discordance) < 0.795


def test_exact_sample_size_refuses_work_beyond_its_limit():
    connor = paired_sample_size(0.0001, discordance=0.3)  # about 0.3 * 2.35e8 = 7e7 discordant pairs to sum over
    with pytest.raises(ConfigError, match=f"Connor's normal approximation gives {connor:,} examples"):
        exact_paired_sample_size(0.0001, discordance=0.3)


def test_unpaired_sample_size_matches_statsmodels():
    for lift, base_accuracy, power, alpha in ((0.005, 0.9, 0.8, 0.05), (0.01, 0.7, 0.9, 0.01), (0.1, 0.5, 0.8, 0.05)):
        expected = samplesize_proportions_2indep_onetail(lift, base_accuracy, power, alpha=alpha)
        assert unpaired_sample_size(lift, base_accuracy=base_accuracy, power=power, alpha=alpha) == math.ceil(expected)


# ---------------------------------------------------------------- input validation

@pytest.mark.parametrize("call, message", [
    (lambda: prob_more_heads(1.5, 10), "p=1.5"),
    (lambda: prob_more_heads(0.5, -1), "n_flips=-1"),
    (lambda: prob_more_heads(0.5, 2.5), "n_flips=2.5"),
    (lambda: head_race(0.5, 0.5, [1, 2]), "single number"),
    (lambda: flips_needed(0.5, 0.501, 0.9), "p_loaded=0.5"),
    (lambda: flips_needed(0.501, 0.5, 1.0), "confidence=1.0"),
    (lambda: flips_needed(0.5000001, 0.5, 0.99), "flips"),
    (lambda: flips_needed_single(0.5, 0.9), "p=0.5"),
    (lambda: mcnemar_test([1, 0, 2], [1, 0, 1]), "0/1"),
    (lambda: mcnemar_test([1, 0], [1, 0, 1]), "same length"),
    (lambda: mcnemar_test([1], [0]), "at least 2"),
    (lambda: paired_bootstrap([0.0, np.nan], [1.0, 2.0]), "finite"),
    (lambda: paired_bootstrap([0.0, 1.0], [1.0, 2.0], n_boot=0), "n_boot=0"),
    (lambda: paired_bootstrap([0.0, 1.0], [1.0, 2.0], level=95), "level=95"),
    (lambda: per_query_tests(["a", "b"], [1.0, 2.0]), "finite numbers"),
    (lambda: paired_sample_size(0.1, discordance=0.05), "discordance=0.05"),
    (lambda: paired_sample_size(0, discordance=0.1), "lift=0"),
    (lambda: unpaired_sample_size(0.05, base_accuracy=0.98), "base_accuracy=0.98"),
    (lambda: prob_more_heads(0.5, 2**53 + 1), "double holds exactly"),
    (lambda: prob_more_heads(0.5, 10**30), "double holds exactly"),
    (lambda: flips_needed_single(0.5 + 1e-9, 0.999999), "more than the 9,007,199,254,740,992"),
    (lambda: paired_bootstrap([0.0, 1.0], [1.0, 2.0], n_boot=10**8), "n_boot=100,000,000 is out of range"),
    (lambda: exact_paired_sample_size(0.1, discordance=0.05), "discordance=0.05"),
    (lambda: unpaired_sample_size(0.05, base_accuracy=0.9, power=1), "power=1"),
    (lambda: simulate_power_paired(0, 0.01, 0.1), "n=0"),
    (lambda: verdict(0.01, 0.0, 0.02, 0.01, alpha=5), "alpha=5"),
])
def test_bad_arguments_raise_config_error(call, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        call()


def test_a_bootstrap_beyond_the_time_limit_is_refused_before_it_starts(monkeypatch):
    monkeypatch.setattr("nnprobe.limits.available_memory", lambda: 64 * 2**30)  # so that time, not memory, decides
    with pytest.raises(ConfigError, match="would take at least"):  # 10^13 resampled examples
        paired_bootstrap(np.zeros(10**6), np.ones(10**6), n_boot=10**7)


# ---- DeLong's test of two correlated AUCs ----------------------------------------------------------------------

def _correlated_scores(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(bool)
    shared = rng.normal(size=n)  # both models see the same signal, so their AUCs are correlated
    a = 1.0 * y + shared + rng.normal(size=n)
    b = 1.3 * y + shared + rng.normal(size=n)
    return y, np.round(a, 1), np.round(b, 1)  # rounding makes ties, which must count 1/2


def test_delong_aucs_match_scikit_learn():
    from sklearn.metrics import roc_auc_score

    from nnprobe.stats import delong_test

    y, a, b = _correlated_scores()
    r = delong_test(y, a, b)
    assert r.auc_a == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert r.auc_b == pytest.approx(roc_auc_score(y, b), abs=1e-12)
    assert r.difference == pytest.approx(r.auc_b - r.auc_a)


def test_delong_standard_error_matches_a_paired_bootstrap():
    from sklearn.metrics import roc_auc_score

    from nnprobe.stats import delong_test

    y, a, b = _correlated_scores()
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(1500):  # the bootstrap distribution of the AUC difference: an independent estimate of its spread
        i = rng.integers(0, len(y), len(y))
        diffs.append(roc_auc_score(y[i], b[i]) - roc_auc_score(y[i], a[i]))
    assert delong_test(y, a, b).standard_error == pytest.approx(np.std(diffs), rel=0.1)


def test_delong_identical_scores_and_a_planted_difference():
    from nnprobe.stats import delong_test

    y, a, b = _correlated_scores(n=3000, seed=2)
    same = delong_test(y, a, a)
    assert same.difference == 0 and same.p_value == 1
    planted = delong_test(y, a, b)
    assert planted.p_value < 1e-3 and planted.low > 0  # B's larger weight on the label is detected
    with pytest.raises(ConfigError):
        delong_test(np.array([True, False, False]), [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])


def test_delong_difference_with_zero_variance_is_significant_not_p_one():
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.zeros(5, bool), np.ones(5, bool)]
    perfect, reversed_, constant = y * 1.0, 1.0 - y, np.full(10, 0.3)
    for scores_b, auc_b in ((reversed_, 0.0), (constant, 0.5)):
        r = delong_test(y, perfect, scores_b)
        assert (r.auc_a, r.auc_b) == (roc_auc_score(y, perfect), roc_auc_score(y, scores_b)) == (1.0, auc_b)
        # every resample of the examples (with both classes) gives the same difference: no spread at all
        rng = np.random.default_rng(0)
        resampled = {roc_auc_score(y[i], scores_b[i]) - roc_auc_score(y[i], perfect[i])
                     for i in (rng.integers(0, 10, 10) for _ in range(50)) if 0 < y[i].sum() < 10}
        assert resampled == {auc_b - 1.0} and r.standard_error == 0
        assert r.p_value == 0 and "difference with zero variance" in r.note
    # equal AUCs with zero variance (two perfect separations): no difference, p = 1
    same = delong_test(y, perfect, 2 * perfect + 1)
    assert same.standard_error == 0 and same.difference == 0 and same.p_value == 1
    assert "no difference with zero variance" in same.note
    assert delong_test(*_correlated_scores()[:3]).note == ""  # a positive standard error needs no note
