"""Tests of the baseline study: the 92% headline, zero initialisation, and a clean real set."""

import numpy as np
import pytest

from nnprobe.studies import baseline


@pytest.fixture(scope="module")
def seed_run():
    return baseline.run(baseline.BaselineConfig.small(device="cpu"))


def test_headline_numbers_are_exact(seed_run):
    majority = seed_run.baselines["most_frequent"]
    assert majority["accuracy"] == 0.92  # the stratified test split keeps 460 majority rows of 500
    assert majority["balanced_accuracy"] == 0.5 and majority["mcc"] == 0
    assert seed_run.claims[0].holds


def test_zero_init_single_layer_learns_and_all_zero_mlp_is_stuck(seed_run):
    single, all_zero, default = seed_run.zero_init
    assert not single.constant and single.balanced_accuracy > 0.6  # one layer learns from zero
    assert all_zero.hidden_units_identical and all_zero.hidden_spread == 0  # ReLU units get no gradient at all
    assert all_zero.constant and all_zero.accuracy == 0.92  # it can only learn the class prior
    assert not default.hidden_units_identical
    assert seed_run.claims[1].holds is False and seed_run.claims[2].holds


def test_no_signal_gives_no_lift():
    r = baseline.run(baseline.BaselineConfig.small(data="synth:imbalanced?n=2000&majority=0.92&separation=0",
                                                   device="cpu"))
    lift = next(c for c in r.checks if c.name == "lift over baseline")
    assert lift.status == "fail" and lift.values["gain"] < 0.05  # 92% accuracy, nothing learned


def test_breast_cancer_has_no_fail():
    r = baseline.run(baseline.BaselineConfig.small(data="sklearn:breast_cancer", device="cpu"))
    assert all(c.status != "fail" for c in r.checks), [(c.name, c.message) for c in r.checks]
    assert r.network["accuracy"] > 0.93


def test_separate_test_file_is_aligned(tmp_path):
    rng = np.random.default_rng(0)
    header = "a,b,label\n"
    rows = lambda n: "".join(f"{x:.4f},{z:.4f},{'yes' if x > 0 else 'no'}\n" for x, z in rng.normal(size=(n, 2)))  # noqa: E731
    (tmp_path / "train.csv").write_text(header + rows(200))
    (tmp_path / "test.csv").write_text(header + rows(80))
    r = baseline.run(baseline.BaselineConfig.small(data=str(tmp_path / "train.csv"), target="label",
                                                   test=str(tmp_path / "test.csv"), device="cpu"))
    assert (r.n_train, r.n_test) == (200, 80) and r.class_names == ["no", "yes"]
    assert r.network["accuracy"] > 0.9
