"""Tests of `compare` and `coin`: matching predictions by id with clear errors, the verdict on planted lifts,
and the coin study's claims against closed forms."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from nnprobe.data.predictions import load_pair
from nnprobe.errors import DataError
from nnprobe.studies import coin, compare


def write(tmp_path, name, **columns):
    path = tmp_path / name
    pd.DataFrame(columns).to_csv(path, index=False)
    return str(path)


@pytest.fixture
def planted(tmp_path):
    """B is right on 120 examples where A is wrong, A on 60 where B is wrong; rows shuffled differently."""
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, 2, n)
    a_ok = np.ones(n, bool)
    b_ok = np.ones(n, bool)
    a_ok[:120] = False  # only B right
    b_ok[120:180] = False  # only A right
    a_ok[180:400] = b_ok[180:400] = False  # both wrong
    order_a, order_b = rng.permutation(n), rng.permutation(n)
    a = write(tmp_path, "model_a.csv", id=order_a, y_true=y[order_a], y_pred=np.where(a_ok, y, 1 - y)[order_a])
    b = write(tmp_path, "model_b.csv", id=order_b, y_true=y[order_b], y_pred=np.where(b_ok, y, 1 - y)[order_b])
    return a, b


def test_pair_is_matched_by_id_and_mcnemar_agrees_with_statsmodels(planted):
    a, b = planted
    result = compare.run(compare.CompareConfig.small(a=a, b=b))
    m = result.mcnemar
    assert (m.both_correct, m.only_a_correct, m.only_b_correct, m.both_wrong) == (2600, 60, 120, 220)
    expected = mcnemar([[2600, 60], [120, 220]], exact=True).pvalue
    assert m.p_value == pytest.approx(expected, rel=1e-10)
    assert result.b_accuracy - result.a_accuracy == pytest.approx(60 / 3000)
    assert result.verdict.startswith("B is better by 2.0 points")
    low, high = result.bootstrap.low, result.bootstrap.high
    assert low < 0.02 < high and low > 0  # the interval holds the true lift and excludes no difference


def test_identical_predictions_give_no_difference(tmp_path):
    ids, y = np.arange(100), np.arange(100) % 3
    a = write(tmp_path, "a.csv", id=ids, y_true=y, y_pred=(y + (ids % 7 == 0)) % 3)
    r = compare.run(compare.CompareConfig.small(a=a, b=a))
    assert r.mcnemar.p_value == 1 and r.verdict.startswith("no detectable difference")


def test_one_file_with_two_columns(tmp_path):
    ids = np.arange(50)
    path = write(tmp_path, "both.csv", id=ids, y_true=ids % 2, old=ids % 2, new=(ids + (ids < 5)) % 2)
    pair = load_pair(path, a_col="old", b_col="new")
    assert pair.a_correct.sum() == 50 and pair.b_correct.sum() == 45


@pytest.mark.parametrize("problem,message", [
    ("missing", "do not cover the same examples: 2 id\\(s\\) only in"),
    ("duplicate", "appear more than once"),
    ("labels", "true labels differ between the files for 1 id"),
    ("one-row", "at least 2"),
    ("column", "no prediction column 'y_pred'.*Did you mean 'y_prd'"),
    ("nan", "missing label"),
])
def test_bad_pairs_get_clear_errors(tmp_path, problem, message):
    ids = np.arange(10)
    a = write(tmp_path, "a.csv", id=ids, y_true=ids % 2, y_pred=ids % 2)
    b_cols = dict(id=ids, y_true=ids % 2, y_pred=(ids + 1) % 2)
    if problem == "missing":
        b_cols = {k: v[:8] for k, v in b_cols.items()}
    elif problem == "duplicate":
        b_cols["id"] = np.r_[ids[:9], 0]
    elif problem == "labels":
        b_cols["y_true"] = np.r_[ids[:9] % 2, 5]
    elif problem == "one-row":
        a = write(tmp_path, "a.csv", id=[0], y_true=[1], y_pred=[1])
        b_cols = dict(id=[0], y_true=[1], y_pred=[0])
    elif problem == "column":
        b_cols["y_prd"] = b_cols.pop("y_pred")
    elif problem == "nan":
        b_cols["y_pred"] = np.r_[np.full(9, 1.0), np.nan]
    b = write(tmp_path, "b.csv", **b_cols)
    with pytest.raises(DataError, match=message):
        load_pair(a, b)


def test_per_query_metrics(tmp_path):
    rng = np.random.default_rng(3)
    q = rng.random(400)
    a = write(tmp_path, "qa.csv", id=range(400), metric=q)
    b = write(tmp_path, "qb.csv", id=range(400), metric=q + 0.02 + 0.01 * rng.normal(size=400))
    r = compare.run(compare.CompareConfig.small(a=a, b=b, kind="per-query"))
    assert r.per_query.n_b_better > 350 and r.per_query.wilcoxon_p_value < 1e-10
    assert r.verdict.startswith("B is better by 0.02")


def test_sample_sizes_without_predictions():
    r = compare.run(compare.CompareConfig(discordance=0.1, base_accuracy=0.9))
    half, one = r.sample_sizes
    assert half.paired > one.paired > 0 and half.unpaired > half.paired  # pairing needs fewer examples
    # Quadrupling: halving the lift needs about four times the examples (McNemar, normal approximation).
    assert 3.5 < half.paired / one.paired < 4.2


def test_coin_claims_and_formula_values():
    r = coin.run(coin.CoinConfig.small())
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


def test_scores_give_a_delong_auc_comparison(tmp_path):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    n = 800
    y = rng.integers(0, 2, n)
    shared = rng.normal(size=n)
    sa, sb = 0.8 * y + shared + rng.normal(size=n), 1.6 * y + shared + rng.normal(size=n)
    a = write(tmp_path, "a.csv", id=range(n), y_true=np.where(y, "spam", "ham"), y_pred=np.where(sa > 0.4, "spam", "ham"),
              score=sa)
    b = write(tmp_path, "b.csv", id=range(n), y_true=np.where(y, "spam", "ham"), y_pred=np.where(sb > 0.8, "spam", "ham"),
              score=sb)
    r = compare.run(compare.CompareConfig.small(a=a, b=b))
    assert r.positive == "spam"  # the last of the sorted labels
    assert r.auc.auc_a == pytest.approx(roc_auc_score(y, sa)) and r.auc.auc_b == pytest.approx(roc_auc_score(y, sb))
    assert r.auc.p_value < 0.01 and r.auc.low > 0
    flipped = compare.run(compare.CompareConfig.small(a=a, b=b, positive="ham"))
    assert flipped.auc.auc_a == pytest.approx(1 - roc_auc_score(y, sa))  # scores read as the other class's
