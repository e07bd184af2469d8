"""Tests of `compare`: matching predictions by id with clear errors, the verdict on planted lifts, what is skipped
and why, sample sizes for the test that is run, option bounds, and text fit for people."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar

import nnprobe.limits
from nnprobe.data.predictions import load_pair
from nnprobe.errors import ConfigError, DataError
from nnprobe.report.compare import build
from nnprobe.stats import exact_paired_sample_size, paired_sample_size, unpaired_sample_size
from nnprobe.studies import compare
from nnprobe.studies.registry import run_study


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
    result = run_study(compare.CompareConfig.small(a=a, b=b))
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
    r = run_study(compare.CompareConfig.small(a=a, b=a))
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
    r = run_study(compare.CompareConfig.small(a=a, b=b, kind="per-query"))
    assert r.per_query.n_b_better > 350 and r.per_query.wilcoxon_p_value < 1e-10
    assert r.verdict.startswith("B is better by 0.02")


def test_sample_sizes_without_predictions():
    r = run_study(compare.CompareConfig(discordance=0.1, base_accuracy=0.9))
    half, one = r.sample_sizes
    assert half.paired > one.paired > 0 and half.unpaired > half.paired  # pairing needs fewer examples
    # Quadrupling: halving the lift needs about four times the examples (McNemar's exact test, as the normal
    # approximation says: n is about (z_a sqrt(pd) + z_b sqrt(pd))^2 / lift^2).
    assert 3.5 < half.paired / one.paired < 4.2


def test_scores_give_a_delong_auc_comparison(tmp_path):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    n = 800
    y = rng.integers(0, 2, n)
    shared = rng.normal(size=n)
    sa, sb = 0.8 * y + shared + rng.normal(size=n), 1.6 * y + shared + rng.normal(size=n)
    labels = np.where(y, "spam", "ham")
    a = write(tmp_path, "a.csv", id=range(n), y_true=labels, y_pred=np.where(sa > 0.4, "spam", "ham"), score=sa)
    b = write(tmp_path, "b.csv", id=range(n), y_true=labels, y_pred=np.where(sb > 0.8, "spam", "ham"), score=sb)
    r = run_study(compare.CompareConfig.small(a=a, b=b))
    assert r.positive == "spam"  # the last of the sorted labels
    assert r.auc.auc_a == pytest.approx(roc_auc_score(y, sa)) and r.auc.auc_b == pytest.approx(roc_auc_score(y, sb))
    assert r.auc.p_value < 0.01 and r.auc.low > 0
    flipped = run_study(compare.CompareConfig.small(a=a, b=b, positive="ham"))
    assert flipped.auc.auc_a == pytest.approx(1 - roc_auc_score(y, sa))  # scores read as the other class's


def test_missing_ids_are_errors_not_the_string_nan(tmp_path):
    a = write(tmp_path, "a.csv", id=["1", "", "3"], y_true=[0, 1, 0], y_pred=[0, 1, 1])
    b = write(tmp_path, "b.csv", id=["1", "", "3"], y_true=[0, 1, 0], y_pred=[0, 0, 1])
    # the empty cell used to become the id "nan" in both files and match itself
    with pytest.raises(DataError, match="1 missing or blank id.*data rows 2"):
        load_pair(a, b)


def test_whole_float_ids_match_integer_ids(tmp_path):
    ids = np.arange(6)
    a = write(tmp_path, "a.csv", id=ids.astype(float), y_true=ids % 2, y_pred=ids % 2)  # written as 0.0, 1.0, ...
    b = write(tmp_path, "b.csv", id=ids, y_true=ids % 2, y_pred=np.zeros(6, int))
    pair = load_pair(a, b)
    assert pair.ids.tolist() == [str(i) for i in ids] and pair.b_correct.sum() == 3
    # whole floats beyond int64 stay as written instead of failing the conversion
    huge = write(tmp_path, "huge.csv", id=ids * 1e39, y_true=ids % 2 * 1e39, y_pred=np.zeros(6))
    assert load_pair(huge, huge).y_true.tolist()[:2] == ["0", "1e+39"]


def test_two_always_wrong_models_are_compared_with_sizes_explained(tmp_path):
    ids = np.arange(40)
    a = write(tmp_path, "a.csv", id=ids, y_true=ids % 2, y_pred=1 - ids % 2)
    b = write(tmp_path, "b.csv", id=ids, y_true=ids % 2, y_pred=1 - ids % 2)
    r = run_study(compare.CompareConfig.small(a=a, b=b))  # used to fail on the base accuracy of 0
    assert r.a_accuracy == r.b_accuracy == 0 and r.mcnemar.p_value == 1
    assert r.verdict.startswith("no detectable difference")
    for size in r.sample_sizes:
        # no discordant pair: McNemar's test cannot size anything; the unpaired test from accuracy 0 still can
        assert size.paired is None and "discordance 0" in size.paired_note
        assert size.unpaired == unpaired_sample_size(size.lift, base_accuracy=0.0)
    note = build(r).terminal[-1].note
    assert "discordance 0" in note and "--lifts" not in note


@pytest.fixture
def scored(tmp_path):
    """Files with scores: 20 examples, a single positive one."""
    def make(n_positive, score_b=True):
        y = np.zeros(20, int)
        y[:n_positive] = 1
        a = write(tmp_path, "sa.csv", id=range(20), y_true=y, y_pred=0, score=np.linspace(0, 1, 20))
        b_columns = dict(id=range(20), y_true=y, y_pred=0)
        if score_b:
            b_columns["score"] = np.linspace(1, 0, 20)
        return a, write(tmp_path, "sb.csv", **b_columns)
    return make


def test_a_single_positive_skips_only_the_auc_and_says_why(scored):
    a, b = scored(1)
    r = run_study(compare.CompareConfig.small(a=a, b=b))  # used to refuse the whole comparison
    assert r.auc is None and r.mcnemar is not None
    assert "1 example(s) of the positive class 1 and 19 of the other" in r.auc_note
    report = build(r)
    assert r.auc_note in report.headline and r.auc_note in report.sections[0].paragraphs[-1]


def test_scores_in_one_file_only_are_reported(scored):
    a, b = scored(8, score_b=False)
    r = run_study(compare.CompareConfig.small(a=a, b=b))
    assert r.auc is None and "only" in r.auc_note and "has a score column" in r.auc_note


def test_zero_variance_auc_difference_is_shown_with_its_note(tmp_path):
    y = np.r_[np.zeros(5, int), np.ones(5, int)]
    a = write(tmp_path, "a.csv", id=range(10), y_true=y, y_pred=y, score=y * 1.0)
    b = write(tmp_path, "b.csv", id=range(10), y_true=y, y_pred=1 - y, score=1.0 - y)
    r = run_study(compare.CompareConfig.small(a=a, b=b))
    assert (r.auc.auc_a, r.auc.auc_b, r.auc.p_value) == (1.0, 0.0, 0.0)  # perfect against reversed: p = 0, not 1
    auc_table = next(t for t in build(r).terminal if t.title.startswith("ROC AUC"))
    assert "difference with zero variance" in auc_table.note
    assert ["p (two-sided)", "0 (zero variance: see the note)"] in auc_table.rows


def test_numeric_labels_take_the_largest_value_as_positive(tmp_path):
    rng = np.random.default_rng(5)
    y = rng.choice([2, 10], 60)
    a = write(tmp_path, "a.csv", id=range(60), y_true=y, y_pred=y, score=(y == 10) + rng.random(60))
    b = write(tmp_path, "b.csv", id=range(60), y_true=y, y_pred=y, score=rng.random(60))
    assert run_study(compare.CompareConfig.small(a=a, b=b)).positive == "10"  # not "2", as text sorting had it


def test_sample_sizes_are_for_the_exact_test_that_compare_runs():
    r = run_study(compare.CompareConfig(discordance=0.06, base_accuracy=0.9))
    for size in r.sample_sizes:
        exact = exact_paired_sample_size(size.lift, discordance=0.06)
        assert (size.paired, size.paired_first, size.paired_power) == (exact.n, exact.first_n, exact.power)
        assert size.paired_normal == paired_sample_size(size.lift, discordance=0.06) < size.paired
        assert size.unpaired == unpaired_sample_size(size.lift, base_accuracy=0.9)
    table = build(r).terminal[-1]
    assert table.columns[1:] == ["paired: McNemar exact test", "paired: Connor's approximation",
                                 "unpaired: z-test, per model"]
    assert table.rows[0][1] == f"{r.sample_sizes[0].paired:,}"


def test_tiny_lift_gives_a_reason_instead_of_the_exact_n():
    r = run_study(compare.CompareConfig(discordance=0.3, lifts=(0.0001, 0.01)))
    tiny, usual = r.sample_sizes
    assert tiny.paired is None and tiny.paired_normal == paired_sample_size(0.0001, discordance=0.3)
    assert "discordant counts" in tiny.paired_note and usual.paired is not None
    assert tiny.unpaired is None and "--base-accuracy" in tiny.unpaired_note


def test_bootstrap_beyond_the_time_limit_is_refused_with_the_estimate(planted, monkeypatch):
    a, b = planted
    monkeypatch.setattr(nnprobe.limits, "MAX_SECONDS", 10)
    # 10^6 resamples of 3000 examples at 15 ns per drawn example: at least 45 s
    with pytest.raises(ConfigError, match="bootstrap of 1,000,000 resamples of 3,000 examples would take at least 45"):
        run_study(compare.CompareConfig(a=a, b=b, n_boot=10**6))


@pytest.mark.parametrize("option, value, message", [
    ("n_boot", 10**8, r"n_boot \(--boot\)=100,000,000 is out of range: allowed 100..10,000,000"),
    ("n_boot", 50, "allowed 100..10,000,000"),
    ("n_boot", 2.5, "whole number"),
    ("level", math.nan, r"level=nan must be a finite number in \[0.5, 0.9999\]"),
    ("level", 95, r"\[0.5, 0.9999\]"),
    ("alpha", math.inf, r"alpha=inf must be a finite number in \[1e-08, 0.5\)"),
    ("alpha", 0.0, r"\[1e-08, 0.5\)"),
    ("power", 1.0, r"power=1.0 .*\[0.5, 0.9999\]"),
    ("lifts", (0.005, math.nan), r"lift=nan .*\[0.0001, 1\]"),
    ("lifts", (0.005, 1.5), r"lift=1.5 "),
    ("lifts", (), "1 to 20 lifts"),
    ("discordance", -0.1, r"discordance=-0.1 .*\(0, 1\]"),
    ("discordance", math.nan, "discordance=nan"),
    ("base_accuracy", 1.2, r"base_accuracy=1.2 .*\[0, 1\]"),
    ("seed", -1, "seed=-1 is out of range: allowed 0..4,294,967,295"),
    ("seed", 2**32, "allowed 0..4,294,967,295"),
])
def test_options_outside_their_range_are_refused_with_the_range(option, value, message):
    with pytest.raises(ConfigError, match=message):
        compare.CompareConfig(**{"discordance": 0.06, option: value})


def people_text(report) -> str:
    """Every piece of text of a report that people read: headline, paragraphs, titles, columns, cells, notes."""
    parts = [report.headline, report.title]
    for section in report.sections:
        parts += section.paragraphs
    for table in report.terminal + [t for section in report.sections for t in section.tables]:
        parts += [table.title, table.note, *table.columns, *(str(cell) for row in table.rows for cell in row)]
    return "\n".join(parts)


# None or nan shown, numpy reprs, counts as floats (4,000.0), scientific notation, long numbers without thousands
# separators, float noise (0.30000000000000004, 0.7000000001)
PYTHON_NOISE = [r"\bNone\b", r"\bnan\b", r"np\.", r"\d,\d{3}\.0\b", r"\d[eE][+-]\d", r"(?<![\d.,])\d{5,}(?![\d,])",
                r"\d\.\d*(0{8,}|9{8,})\d"]


def test_report_text_has_no_python_reprs_or_float_noise(planted, tmp_path, scored):
    a, b = planted
    qa = write(tmp_path, "qa.csv", id=range(30), metric=np.linspace(0, 1, 30))
    qb = write(tmp_path, "qb.csv", id=range(30), metric=np.linspace(0, 1, 30) + 0.1)
    sa, sb = scored(1)
    configs = [compare.CompareConfig.small(a=a, b=b, lifts=(0.007, 0.03)), compare.CompareConfig.small(a=sa, b=sb),
               compare.CompareConfig.small(a=qa, b=qb, kind="per-query"),
               compare.CompareConfig(discordance=0.3, lifts=(0.0001, 0.01), level=0.975)]
    for config in configs:
        text = people_text(build(run_study(config)))
        for pattern in PYTHON_NOISE:
            assert not re.search(pattern, text), (pattern, re.search(pattern, text), text)


def test_metrics_beyond_what_their_differences_can_hold_are_refused(tmp_path):
    from nnprobe.data.predictions import load_pair
    from nnprobe.errors import DataError

    (tmp_path / "q.csv").write_text("id,a,b\n1,0.5,1e200\n2,0.25,0.5\n3,0.75,0.5\n")
    with pytest.raises(DataError, match=r"'b' has 1 value\(s\) beyond ±1e\+100"):
        load_pair(str(tmp_path / "q.csv"), kind="per-query", a_col="a", b_col="b")


def test_the_built_in_pair_has_the_accuracies_lift_and_discordance_it_is_made_with():
    from nnprobe.data.predictions import synthetic_pair

    pair = synthetic_pair(n=200_000, accuracy=0.8, lift=0.02, discordance=0.1, seed=4)
    n = len(pair.ids)
    for measured, truth in ((pair.a_correct.mean(), 0.8), (pair.b_correct.mean(), 0.82),
                            ((pair.a_correct != pair.b_correct).mean(), 0.1)):
        assert abs(measured - truth) < 4 * math.sqrt(truth * (1 - truth) / n)  # within 4 standard errors
    with pytest.raises(DataError, match="lift <= discordance"):
        synthetic_pair(lift=0.2, discordance=0.1)
    with pytest.raises(ConfigError, match="seed"):
        load_pair("synth:ab?seed=-1")  # a one-line error, not numpy's


def test_claims_on_built_in_pairs_hold_fail_or_stay_untested_by_what_the_truth_allows(planted):
    by_id = {c.id: c for c in run_study(compare.CompareConfig.small(a="synth:ab?seed=3")).claims}
    assert by_id["compare.lift_shows_in_aggregate"].holds  # 20,000 examples show a true lift of 1 point
    assert by_id["compare.sample_size_holds"].holds  # simulated studies of the computed size reach 80% power
    few = {c.id: c for c in run_study(compare.CompareConfig.small(a="synth:ab?n=300&seed=3")).claims}
    assert few["compare.lift_shows_in_aggregate"].holds is False  # 300 examples: about 15 discordant ones
    equal = {c.id: c for c in run_study(compare.CompareConfig.small(a="synth:ab?lift=0&seed=3")).claims}
    assert equal["compare.lift_shows_in_aggregate"].holds is None  # no lift to show
    a, b = planted
    assert run_study(compare.CompareConfig.small(a=a, b=b)).claims == []  # nobody knows the truth of users' files
