"""Tests of the memorize study on its small configuration: the trends the seed claims, and chance held out."""

import numpy as np
import pytest
from scipy import stats

from nnprobe.errors import ConfigError
from nnprobe.studies import memorize
from nnprobe.studies.registry import run_study


@pytest.fixture(scope="module")
def result():
    return run_study(memorize.MemorizeConfig.small(device="cpu"))


def test_train_accuracy_rises_with_features(result):
    finals = [s.train_accuracy_mean for s in result.summaries]
    assert result.config.n_features == (5, 40, 160)
    assert finals[0] < 0.8 and finals[-1] >= 0.98  # 5 features cannot fit 400 random labels; 160 can
    assert all(b >= a - 0.01 for a, b in zip(finals, finals[1:]))


def test_train_accuracy_rises_with_epochs(result):
    mean_curve = result.train_accuracy.mean(1)  # [F, T]
    assert (mean_curve[:, -1] > mean_curve[:, 0] + 0.1).all()
    assert result.epochs[0] == 0 and result.epochs[-1] == result.config.epochs


def test_heldout_accuracy_stays_at_chance(result):
    c = result.config
    for s in result.summaries:
        # The pooled held-out accuracy lies inside the 99.9% binomial interval around chance.
        lo, hi = stats.binom.interval(0.999, c.n_seeds * c.n_heldout, result.chance)
        pooled = s.heldout_accuracy_mean * c.n_seeds * c.n_heldout
        assert lo <= pooled <= hi


def test_summaries_agree_with_curves_and_closed_forms(result):
    c = result.config
    for i, s in enumerate(result.summaries):
        final = result.train_accuracy[i, :, -1]
        assert s.train_accuracy_mean == pytest.approx(final.mean())
        assert s.train_accuracy_min == pytest.approx(final.min())
        assert s.n_params == s.n_features * 16 + 16 + 16 * c.n_classes + c.n_classes
        assert s.zhang_bound == 2 * c.n_samples + s.n_features
        for seed, epoch in enumerate(s.epochs_to_99):
            curve = result.train_accuracy[i, seed]
            if epoch is None:
                assert curve.max() < 0.99
            else:
                first = result.epochs[np.argmax(curve >= 0.99)]
                assert epoch == first


def test_claims_are_judged_on_the_numbers(result):
    by_id = {c.id: c for c in result.claims}
    assert by_id["memorize.fits_at_240_features"].holds is None  # the small run has no 240+ feature count
    assert "no feature count >= 240" in by_id["memorize.fits_at_240_features"].evidence
    assert all(c.holds for c in result.claims if c.holds is not None), by_id


def test_same_seed_same_result():
    cfg = memorize.MemorizeConfig.small(n_features=(4, 12), epochs=20, device="cpu")
    a, b = run_study(cfg), run_study(cfg)
    np.testing.assert_array_equal(a.train_accuracy, b.train_accuracy)
    c = run_study(memorize.MemorizeConfig.small(n_features=(4, 12), epochs=20, seed=1, device="cpu"))
    assert not np.array_equal(a.train_accuracy, c.train_accuracy)


def test_feature_order_given_by_the_user_is_kept():
    cfg = memorize.MemorizeConfig.small(n_features=(12, 4), epochs=20, device="cpu")
    r = run_study(cfg)
    assert [s.n_features for s in r.summaries] == [12, 4]
    sorted_run = run_study(memorize.MemorizeConfig.small(n_features=(4, 12), epochs=20, device="cpu"))
    np.testing.assert_array_equal(r.train_accuracy[::-1], sorted_run.train_accuracy)


@pytest.mark.parametrize("bad", [dict(n_features=(10, 10)), dict(n_features=()), dict(n_classes=1),
                                 dict(n_seeds=0), dict(lr=-1.0), dict(activation="swish")])
def test_bad_config_is_refused(bad):
    with pytest.raises(ConfigError):
        memorize.MemorizeConfig(**bad)


def test_each_claim_comes_out_false_on_numbers_that_contradict_it(result):
    import copy

    r = copy.deepcopy(result)
    r.train_accuracy[:] = 0.25  # flat: no rise with epochs, none with features
    for s in r.summaries:
        s.train_accuracy_mean = s.train_accuracy_min = s.train_accuracy_max = 0.9  # every count fits alike, the
        s.heldout_p_value = 1e-9  # fewest too, none to 95% (below the Zhang bound too); held out far above chance
    r.summaries[-1].n_features = 240
    r.summaries[-1].train_accuracy_min = 0.5  # 240 features, yet one seed fits only half
    claims = {c.id: c.holds for c in memorize.check_claims(r)}
    assert claims == {
        "memorize.rises_with_epochs": False,
        "memorize.rises_with_features": None,  # constant numbers can show no rise
        "memorize.fits_at_240_features": False,
        "memorize.few_features_partial": False,
        "memorize.heldout_chance": False,
        "memorize.below_zhang_bound": False,
    }, claims


def test_a_diverging_learning_rate_leaves_every_claim_untested_and_says_so():
    r = run_study(memorize.MemorizeConfig.small(n_features=(4, 30), epochs=30, optimizer="sgd", lr=900,
                                                   device="cpu"))
    assert all(e is not None for s in r.summaries for e in s.diverged_at)
    assert all(np.isnan(s.train_accuracy_mean) for s in r.summaries)  # no accuracy of a NaN network is reported
    assert all(c.holds is None and "diverged" in c.evidence and "lower --lr" in c.evidence for c in r.claims)
