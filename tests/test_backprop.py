"""Tests of the backprop study: the seed's y = 4x numbers against their closed forms, gradients against finite
differences, and the digits network."""

import numpy as np
import pytest

from nnprobe.studies import backprop
from nnprobe.studies.registry import run_study


@pytest.fixture(scope="module")
def result():
    return run_study(backprop.BackpropConfig.small(device="cpu"))


def test_forward_table_and_total(result):
    line = result.line
    assert [f.squared_error for f in line.forward] == [0, 4, 16, 36, 64]  # (4x - 2x)^2
    assert line.total == 120


def test_probe_matches_closed_forms(result):
    p = result.line.probe
    # L(w) = (4 - w)^2 * 30
    assert p.loss_up == pytest.approx(1.9999**2 * 30, rel=1e-12)  # 119.9880003
    assert p.loss_down == pytest.approx(2.0001**2 * 30, rel=1e-12)  # 120.0120003
    assert p.slope_exact == -120
    assert p.slope_central == pytest.approx(-120, abs=1e-6)  # central differences are exact on a parabola
    assert p.slope_forward == pytest.approx(-120 + 30 * 1e-4, rel=1e-6)  # one-sided: off by L''h/2 = 60h/2
    assert p.far_loss == 270


def test_descent_reaches_tolerance_and_gradients_agree(result):
    steps = result.line.descent
    assert steps[0].w == 2 and steps[0].loss == 120
    assert steps[-1].loss < 1e-6 and result.line.steps_to_tolerance == steps[-1].step
    assert all(a.loss > b.loss for a, b in zip(steps, steps[1:]))
    for s in steps:
        assert s.grad_closed_form == pytest.approx(-60 * (4 - s.w), rel=1e-12, abs=1e-12)
        assert s.grad_autograd == pytest.approx(s.grad_closed_form, rel=1e-9, abs=1e-12)
        assert s.grad_finite_difference == pytest.approx(s.grad_closed_form, rel=1e-6, abs=1e-9)
    for a, b in zip(steps, steps[1:]):  # plain gradient descent: w <- w - lr * dL/dw (float32 engine)
        assert b.w == pytest.approx(a.w - result.config.lr * a.grad_closed_form, rel=1e-6)


def test_descent_table_is_capped_by_steps():
    line = backprop.run_line(backprop.BackpropConfig(lr=0.001, steps=4))  # too small a step to converge in 4
    assert len(line.descent) == 5 and line.steps_to_tolerance is None


def test_errata_find_the_seeds_mistakes(result):
    errata = {(e.where, e.kind) for e in result.line.errata}
    assert ("derivatives, x = 1: (y − y')² at w = 2", "wrong") in errata  # the seed prints 2; (4 - 2)^2 = 4
    assert ("derivatives, x = 4", "repeated row") in errata
    assert sum(e.kind == "truncated" for e in result.line.errata) == 3  # 3.99, 15.99, 35.99 are cut, not rounded
    assert len(result.line.errata) == 5
    other = backprop.run_line(backprop.BackpropConfig(w0=3.0))  # not the seed's set-up: nothing to compare
    assert other.errata == [] and other.n_seed_values_checked == 0


def test_check_stated_precision_rules():
    assert backprop.check_stated("a", "119.988", 119.9880003) is None
    assert backprop.check_stated("a", "64.006", 64.0064) is None  # rounds to the stated value
    assert backprop.check_stated("a", "3.99", 3.9996).kind == "truncated"
    assert backprop.check_stated("a", "2", 4.0).kind == "wrong"


def test_four_two_one_gradients_agree_with_finite_differences(result):
    for net in (result.tied, result.dense):
        assert net.max_relative_error < 1e-6
    assert len(result.tied.gradients) == 4 and len(result.dense.gradients) == 10  # 2 + 2 tied; 8 + 2 dense
    assert result.tie_error < 1e-12


def test_four_two_one_forward_values_by_hand(result):
    nodes = {n.name.split(" ")[0]: n.value for n in result.tied.nodes}
    w = {g.name: g.value for g in result.tied.gradients}
    total = nodes["x1"] + nodes["x2"] + nodes["x3"] + nodes["x4"]
    z1, z2 = w["w1"] * total, w["w2"] * total
    h1, h2 = 1 / (1 + np.exp(-z1)), 1 / (1 + np.exp(-z2))
    assert nodes["h1"] == pytest.approx(h1) and nodes["h2"] == pytest.approx(h2)
    assert nodes["y"] == pytest.approx(w["v1"] * h1 + w["v2"] * h2)


def test_digits_reach_95_percent():
    config = backprop.BackpropConfig(device="cpu")
    r = backprop.run_digits(config, backprop.load(config), backprop.no_progress)
    assert r.final_test_accuracy >= 0.95
    confusion = np.asarray(r.confusion)
    assert confusion.sum() == r.n_test and np.trace(confusion) / r.n_test == pytest.approx(r.final_test_accuracy)
    assert np.allclose(np.asarray(r.sample_probabilities).sum(1), 1, atol=1e-5)


def test_article_claims_are_not_judged_on_other_settings():
    r = run_study(backprop.BackpropConfig.small(w0=3.0, epochs=1, device="cpu"))
    article = {c.id: c.holds for c in r.claims if c.source == "seed"}
    assert article["backprop.error_at_w2"] is None  # not tested: w0 = 3 is not the article's
    assert article["backprop.loss_at_w7"] is None
    assert r.line.total == 30  # (4 - 3)^2 * 30: the run itself is still computed for w0 = 3


def test_descent_is_computed_in_float64_without_float_noise(result):
    # w1 = w0 - lr * dL/dw = 2 + 0.015 * 120 = 3.8; float32 arithmetic would show 3.79999995
    assert abs(result.line.descent[1].w - 3.8) < 1e-12
    assert abs(result.line.descent[2].w - 3.98) < 1e-12


def test_a_diverging_rate_stops_the_table_and_says_why():
    r = backprop.run_line(backprop.BackpropConfig.small(lr=1.0, steps=200))
    line = r
    assert line.stable_lr == pytest.approx(1 / 30)  # sum of x^2 over x = 0..4
    assert line.diverged_at is not None and line.steps_to_tolerance is None
    assert all(np.isfinite(s.loss) for s in line.descent)  # the table stops before the overflow
    # each step multiplies the error by 1 - 2 lr sum x^2 = -59: exactly, until the overflow
    errors = [4 - s.w for s in line.descent]
    np.testing.assert_allclose(errors[1:6], [2 * (-59) ** k for k in range(1, 6)], rtol=1e-12)


def test_each_claim_comes_out_false_on_numbers_that_contradict_it(result):
    import copy

    r = copy.deepcopy(result)
    r.line.total, r.line.probe.slope_central, r.line.probe.far_loss = 121.0, -119.0, 271.0
    r.line.steps_to_tolerance = None
    r.tied.max_relative_error = 0.5
    r.tie_error = 1e-3
    r.digits.final_test_accuracy = 0.5
    assert {c.id: c.holds for c in backprop.check_claims(r)} == dict.fromkeys([
        "backprop.error_at_w2", "backprop.nudge_slope", "backprop.loss_at_w7", "backprop.descent_converges",
        "backprop.autograd_matches_differences", "backprop.tied_gradient_is_sum", "backprop.digits_classified",
        "backprop.article_numbers_right"], False)  # the errata claim stays false
