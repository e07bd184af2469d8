"""Tests of the baseline study: the 92% headline, zero initialisation, and a clean real set."""

import numpy as np
import pytest

from nnprobe.studies import baseline
from nnprobe.studies.registry import run_study


def claim(result, claim_id):
    """The claim of ``result`` with id ``claim_id``."""
    return next(c for c in result.claims if c.id == claim_id)


@pytest.fixture(scope="module")
def seed_run():
    return run_study(baseline.BaselineConfig.small(device="cpu"))


def test_headline_numbers_are_exact(seed_run):
    majority = seed_run.baselines["most_frequent"]
    assert majority["accuracy"] == 0.92  # the stratified test split keeps 460 majority rows of 500
    assert majority["balanced_accuracy"] == 0.5 and majority["mcc"] == 0
    assert claim(seed_run, "baseline.majority_share").holds


def test_zero_init_single_layer_learns_and_all_zero_mlp_is_stuck(seed_run):
    single, all_zero, default = seed_run.zero_init
    assert not single.constant and single.balanced_accuracy > 0.6  # one layer learns from zero
    assert all_zero.hidden_units_identical and all_zero.hidden_spread == 0  # ReLU units get no gradient at all
    assert all_zero.constant and all_zero.accuracy == 0.92  # it can only learn the class prior
    assert not default.hidden_units_identical
    assert claim(seed_run, "baseline.zero_single_layer_constant").holds is False  # the article is wrong there
    assert claim(seed_run, "baseline.zero_mlp_symmetric").holds


def test_no_signal_gives_no_lift():
    r = run_study(baseline.BaselineConfig.small(data="synth:imbalanced?n=2000&majority=0.92&separation=0",
                                                   device="cpu"))
    lift = next(c for c in r.checks if c.name == "lift over baseline")
    assert lift.status == "fail" and lift.values["gain"] < 0.05  # 92% accuracy, nothing learned


def test_breast_cancer_has_no_fail():
    r = run_study(baseline.BaselineConfig.small(data="sklearn:breast_cancer", device="cpu"))
    assert all(c.status != "fail" for c in r.checks), [(c.name, c.message) for c in r.checks]
    assert r.network["accuracy"] > 0.93


def test_separate_test_file_is_aligned(tmp_path):
    rng = np.random.default_rng(0)
    header = "a,b,label\n"
    rows = lambda n: "".join(f"{x:.4f},{z:.4f},{'yes' if x > 0 else 'no'}\n" for x, z in rng.normal(size=(n, 2)))  # noqa: E731
    (tmp_path / "train.csv").write_text(header + rows(200))
    (tmp_path / "test.csv").write_text(header + rows(80))
    r = run_study(baseline.BaselineConfig.small(data=str(tmp_path / "train.csv"), target="label",
                                                   test=str(tmp_path / "test.csv"), device="cpu"))
    assert (r.n_train, r.n_test) == (200, 80) and r.class_names == ["no", "yes"]
    assert r.network["accuracy"] > 0.9


def test_each_claim_comes_out_false_on_numbers_that_contradict_it(seed_run):
    import copy

    r = copy.deepcopy(seed_run)
    r.baselines["most_frequent"]["mcc"] = 0.1
    r.zero_init[0].constant = False
    r.zero_init[1].hidden_units_identical = False
    y_test = np.r_[np.zeros(460, int), np.ones(40, int)]
    assert {c.id: c.holds for c in baseline.check_claims(r, y_test)} == dict.fromkeys(
        ["baseline.majority_share", "baseline.zero_single_layer_constant", "baseline.zero_mlp_symmetric"], False)


def test_verdict_comes_first_and_the_articles_claims_after_the_checks(seed_run, tmp_path):
    from nnprobe.checks import count_line
    from nnprobe.report import baseline as report_baseline
    from nnprobe.report import write

    report = report_baseline.build(seed_run)
    statuses = [c.status for c in seed_run.checks]
    counts = f"{statuses.count('fail')} fail, {statuses.count('warn')} warn, {statuses.count('pass')} pass"
    assert count_line(seed_run.checks) == counts and counts in report.headline
    for check in seed_run.checks:
        assert (f"{check.status.upper()} {check.name}" in report.headline) == (check.status != "pass")
    html = write(tmp_path / "r", report, config=seed_run.config, result=seed_run, seconds=1.0, device="cpu").read_text()
    verdict, checks, claims = (html.index(t) for t in (counts, "<h2>Checks</h2>", 'class="claims"'))
    assert verdict < checks < claims  # the user's own checks before the article's zero-init claims


def test_a_test_file_of_one_class_runs_and_leaves_the_majority_claim_untested(tmp_path):
    rng = np.random.default_rng(1)
    rows = lambda n, only=None: "".join(  # noqa: E731
        f"{x:.4f},{z:.4f},{only or ('yes' if x > 0 else 'no')}\n" for x, z in rng.normal(size=(n, 2)))
    (tmp_path / "train.csv").write_text("a,b,label\n" + rows(200))
    (tmp_path / "test.csv").write_text("a,b,label\n" + rows(30, only="yes"))
    r = run_study(baseline.BaselineConfig.small(data=str(tmp_path / "train.csv"), target="label",
                                                   test=str(tmp_path / "test.csv"), device="cpu"))
    assert r.n_test == 30 and r.baselines["most_frequent"]["accuracy"] == 0.0  # the majority of training: "no"
    majority = claim(r, "baseline.majority_share")
    assert majority.holds is None and "holds 1 of the 2 classes" in majority.evidence
    assert any("no rows of class(es) 'no'" in note for note in r.notes)
