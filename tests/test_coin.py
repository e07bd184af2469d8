"""Tests of the `coin` study: its claims against closed forms, the bounds of its options, refusals with the
estimated cost, and text fit for people."""

import math
import re

import numpy as np
import pytest

import nnprobe.limits
from nnprobe.errors import ConfigError
from nnprobe.report.coin import build
from nnprobe.stats import flips_needed
from nnprobe.stats.coin import RACE_SECONDS_PER_COUNT, race_cost
from nnprobe.studies import coin
from nnprobe.studies.registry import run_study


def test_coin_claims_and_formula_values():
    r = run_study(coin.CoinConfig.small())
    by_flips = dict(zip(r.flips, r.more_heads["0.501"]))
    assert by_flips[2] == pytest.approx(0.501**2)  # 2 flips: more heads than tails only with 2 heads
    assert r.one_flip["loaded_heads_fair_tails"] == pytest.approx(501 / 2000, abs=1e-15)
    assert r.one_flip["fair_heads_loaded_tails"] == pytest.approx(499 / 2000, abs=1e-15)
    for p in r.beats_fair:
        total = np.array(r.beats_fair[p]) + np.array(r.ties[p]) + np.array(r.loses[p])
        assert np.allclose(total, 1, atol=1e-12)
    verdicts = {c.statement[:40]: c.holds for c in r.claims}
    assert verdicts["One flip tells almost nothing: loaded he"] is True
    assert verdicts["After 2 million flips we can say with ce"] is False  # 0.977, not certainty


def test_grid_has_the_decades_and_stays_within_max_flips():
    for max_flips, points in ((2, 2), (10**8, 57), (2 * 10**15 - 2, 5), (999, 3)):
        grid = coin.flip_grid(max_flips, points)
        decades = [2 * 10**j for j in range(16) if 2 * 10**j <= max_flips]
        assert set(decades) <= set(grid) and grid == sorted(set(grid)) and grid[-1] <= max_flips
        assert all(n % 2 == 0 for n in grid)  # 2N flips, as the article plots


@pytest.mark.parametrize("option, value, message", [
    ("max_flips", 1, "max_flips=1 is out of range: allowed 2..9,007,199,254,740,992"),
    ("max_flips", 2**60, "allowed 2..9,007,199,254,740,992"),
    ("max_flips", math.inf, "max_flips=inf must be a whole number"),
    ("points", 0, "points=0 is out of range: allowed 2..10,000"),
    ("points", 10**6, "allowed 2..10,000"),
    ("points", math.nan, "points=nan must be a whole number"),
    ("p_values", (0.5, math.nan), r"p=nan must be a finite number in \(0, 1\)"),
    ("p_values", (0.5, 1.0), r"p=1.0 must be a finite number in \(0, 1\)"),
    ("p_values", (), "1 to 20 coins"),
    ("p_values", (0.501, 0.501), "name a coin twice"),
    ("fair", -0.5, r"fair=-0.5 must be a finite number in \(0, 1\)"),
    ("confidences", (0.99, 1.0), r"confidence=1.0 must be a finite number in \(0.5, 1\]"),
    ("confidences", (math.inf,), "confidence=inf"),
])
def test_options_outside_their_range_are_refused_with_the_range(option, value, message):
    with pytest.raises(ConfigError, match=message):
        coin.CoinConfig(**{option: value})


def test_far_too_many_flips_are_refused_with_the_estimate(monkeypatch):
    monkeypatch.setattr(nnprobe.limits, "available_memory", lambda: 8 * 2**30)
    # a head race at 10^14 flips each holds 2 (40 sd + 500) head counts of 90 bytes, sd = sqrt(10^14 / 4) (33.5
    # GiB): refused before any work
    expected_bytes = 90 * (2 * (40 * math.sqrt(10**14 * 0.25) + 500) + 1)
    assert race_cost(0.501, 0.5, 10**14)[0] == pytest.approx(expected_bytes, rel=1e-6)
    with pytest.raises(ConfigError, match=f"needs about {nnprobe.limits.human_bytes(expected_bytes)} of memory; this "
                                          "machine has 8 GiB available: lower --max-flips"):
        coin.CoinConfig(max_flips=10**14)
    monkeypatch.setattr(nnprobe.limits, "MAX_SECONDS", 1)
    with pytest.raises(ConfigError, match="would take at least .* on this machine"):
        coin.CoinConfig(max_flips=10**11)  # the grid's races sum over ~10^8 head counts: seconds
    coin.CoinConfig()  # the default, well under a second of head races, fits


def test_time_estimate_counts_every_head_race():
    config = coin.CoinConfig.small(p_values=(0.5, 0.501, 0.6))
    grid = coin.flip_grid(config.max_flips, config.points)
    windows = sum(2 * min(n + 1, 2 * (40 * math.sqrt(n * p * (1 - p)) + 500) + 1) for p in (0.501, 0.6) for n in grid)
    searches = sum(2 * 2 * (2 * (40 * math.sqrt(m * 0.25) + 500) + 1) for m in (
        flips_needed(p, 0.5, c) for p in (0.501, 0.6) for c in config.confidences))
    # two windows per race (both coins' head counts), about two evaluations per flips-needed search
    assert coin.work_estimate(config)[1] == pytest.approx(RACE_SECONDS_PER_COUNT * (windows + searches), rel=0.02)


def test_coins_too_close_to_size_get_a_note_not_a_failure():
    r = run_study(coin.CoinConfig.small(p_values=(0.501, 0.5000001), confidences=(0.99,)))
    close = next(n for n in r.needed if n.p == 0.5000001)
    # one coin alone: one binomial tail per guess, exact at any size: the first odd n from which it stays >= 0.99
    from scipy.stats import binom

    n = close.more_heads_than_tails
    assert n % 2 == 1 and binom.sf(n // 2 + 1, n + 1, 0.5000001) >= 0.99 > binom.sf(n // 2, n - 1, 0.5000001)
    # the race against the fair coin sums a window that grows with the flips: beyond 10^9 it is not computed
    assert close.beats_fair is None and "more than the 1,000,000,000 computed exactly" in close.note
    table = build(r).terminal[1]
    assert any("not computed" in cell for row in table.rows for cell in row) and "1,000,000,000" in table.note


def test_report_text_has_no_python_reprs_or_float_noise():
    r = run_study(coin.CoinConfig.small(p_values=(0.5, 0.501, 0.5000001), confidences=(0.95,)))
    report = build(r)
    parts = [report.title, *[c.evidence for c in report.claims], *[c.statement for c in report.claims]]
    for table in report.terminal:
        parts += [table.title, table.note, *table.columns, *(str(cell) for row in table.rows for cell in row)]
    text = "\n".join(parts)
    for pattern in (r"\bNone\b", r"\bnan\b", r"np\.", r"\d[eE][+-]\d", r"(?<![\d.,])\d{5,}(?![\d,])",
                    r"\d\.\d*(0{8,}|9{8,})\d"):
        assert not re.search(pattern, text), (pattern, re.search(pattern, text))


def test_curve_claims_come_out_false_on_curves_that_contradict_them():
    import copy

    r = copy.deepcopy(run_study(coin.CoinConfig.small()))
    r.more_heads[coin.coin_key(0.5)][-1] = 0.45  # the fair coin's chance stays away from 0.5
    r.more_heads[coin.coin_key(0.501)][-1] = 0.9  # the loaded coin's does not approach 1
    verdicts = {c.statement: c.holds for c in coin.check_claims(r)}
    assert verdicts["For the fair coin the chance of more heads than tails converges to 0.5."] is False
    assert verdicts["For the loaded coin (p = 0.501) that chance approaches 1."] is False


def test_claims_are_found_by_id_and_come_out_false_or_untested_on_numbers_that_say_so():
    import copy

    r = copy.deepcopy(run_study(coin.CoinConfig.small()))
    r.more_heads["0.501"][-1] = 0.9  # the loaded coin's chance of more heads stuck far below 1
    r.more_heads["0.5"][-1] = 0.45  # and the fair coin's far from 0.5
    claims = {c.id: c.holds for c in coin.check_claims(r)}
    assert claims["coin.loaded_approaches_one:0.501"] is False
    assert claims["coin.fair_converges_to_half"] is False
    assert claims["coin.one_flip"] is True  # 501/2000 and 499/2000 are exact: the flips of a run change nothing
    other = run_study(coin.CoinConfig.small(p_values=(0.6, 0.7), fair=0.55))
    by_id = {c.id: c for c in other.claims}
    for claim_id in ("coin.one_flip", "coin.million_flips", "coin.two_million_flips", "coin.fair_converges_to_half"):
        assert by_id[claim_id].holds is None and by_id[claim_id].evidence.startswith("not tested")  # not these coins
    assert by_id["coin.loaded_approaches_one:0.7"].holds  # 0.7 against tails: certain long before 10^6 flips
