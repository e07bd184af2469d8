"""Tests of nnprobe.explain against closed forms: a linear function's derivatives are constant and it has no
interaction; x1*x2 on independent uniform inputs has H^2 = 1/7; an additive model's partial dependence and ALE
are its generating functions up to a constant; with correlated inputs ALE follows its closed form where partial
dependence does not; integrated gradients complete; chunking changes nothing."""

import numpy as np
import pytest
import torch

from nnprobe.explain import (
    Output,
    accumulated_local_effects,
    central_differences,
    derivatives,
    gradient,
    h_statistics,
    integrated_gradients,
    partial_dependence,
)
from nnprobe.models import FunctionModel, MLPModel, SklearnModel, TorchModel, module_factory
from nnprobe.nn.config import TrainConfig


def as_model(f, name="f"):
    """A two-class FunctionModel whose class-1 probability is f(X) (in [0, 1])."""
    return FunctionModel(lambda X: np.stack([1 - f(X), f(X)], 1), n_classes=2, name=name)


def uniform(n, d, seed, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=(n, d)).astype(np.float32)


def test_a_linear_log_odds_has_constant_derivatives_and_no_interaction():
    w = np.array([1.5, -2.0, 0.5])
    X = uniform(300, 3, 0)
    model = as_model(lambda X: 1 / (1 + np.exp(-(X.astype(np.float64) @ w + 0.3))))
    d = derivatives(Output(model, "logit"), X)
    assert d.method.startswith("central differences")
    np.testing.assert_allclose(d.values, np.tile(w, (300, 1)), rtol=1e-4)  # the log-odds are exactly linear
    assert d.pooled_non_constancy < 1e-4
    totals, pairs = h_statistics(Output(model, "logit"), X, n_max=100, bootstrap=10)
    assert max(t.h for t in totals) < 1e-5 and max(p.unnormalised for p in pairs) < 1e-5
    prob = derivatives(Output(model, "probability"), X)  # on the probability scale the same model is not constant
    assert prob.pooled_non_constancy > 0.05


def test_h_of_a_product_on_independent_uniform_inputs_is_its_closed_form():
    # f = x1 x2, x ~ U(0, 1): PD_1 = x1/2 - 1/4, interaction part (x1 - 1/2)(x2 - 1/2): H^2 = (1/144) / (7/144)
    X = uniform(2000, 3, 1, 0.0, 1.0)
    output = Output(as_model(lambda X: X[:, 0].astype(np.float64) * X[:, 1]), "probability")
    totals, pairs = h_statistics(output, X, n_max=400, pairs=3, bootstrap=40)
    truth = np.sqrt(1 / 7)
    assert totals[0].h == pytest.approx(truth, abs=0.04) and totals[1].h == pytest.approx(truth, abs=0.04)
    assert totals[2].h < 1e-6  # x3 is not used
    top = pairs[0]
    assert set(top.features) == {0, 1} and top.h == pytest.approx(truth, abs=0.04)
    assert top.low <= truth <= top.high
    assert top.unnormalised == pytest.approx(1 / 12, abs=0.01)  # sd of (x1 - 1/2)(x2 - 1/2)


def test_an_additive_model_has_partial_dependence_and_ale_equal_to_its_parts():
    X = uniform(1000, 2, 2)
    output = Output(as_model(lambda X: 0.5 + 0.2 * np.sin(3 * X[:, 0].astype(np.float64)) + 0.2 * X[:, 1] ** 2),
                    "probability")
    pd = partial_dependence(output, X, 0)
    assert np.std(pd.average - 0.2 * np.sin(3 * pd.grid)) < 1e-6  # equal up to a constant
    assert pd.ice_spread < 1e-5  # parallel ICE curves: no interaction
    ale = accumulated_local_effects(output, X, 0, bootstrap=20)
    assert np.std(ale.effect - 0.2 * np.sin(3 * ale.edges)) < 1e-6
    assert abs(np.mean((ale.effect[:-1] + ale.effect[1:]) / 2 * ale.counts) / ale.counts.sum()) < 1e-9  # centred


def test_ale_follows_its_closed_form_with_correlated_inputs_where_partial_dependence_does_not():
    # f = 0.5 + 0.4 x1 x2 with x2 = x1 + noise: E[df/dx1 | x1 = t] = 0.4 t, so ALE_1(z) = 0.2 z^2 + c;
    # PD_1(z) = 0.5 + 0.4 z E[x2] = 0.5
    rng = np.random.default_rng(3)
    x1 = rng.uniform(-1, 1, 4000)
    X = np.stack([x1, x1 + rng.normal(0, 0.05, 4000)], 1).astype(np.float32)
    output = Output(as_model(lambda X: 0.5 + 0.4 * X[:, 0].astype(np.float64) * X[:, 1]), "probability")
    ale = accumulated_local_effects(output, X, 0, bootstrap=20)
    closed = 0.2 * ale.edges**2
    assert np.max(np.abs((ale.effect - ale.effect.mean()) - (closed - closed.mean()))) < 0.01
    pd = partial_dependence(output, X, 0, rows=1000)
    assert np.ptp(pd.average) < 0.04 < 0.19 < np.ptp(closed)  # flat: it averages over x2 values that never occur with x1
    assert pd.outside_support > 0.3  # most of its points are far from the data: the warning's evidence


def test_derivatives_of_each_model_kind_agree_with_central_differences():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
    mlp = MLPModel((16,), n_features=3, n_classes=2, activation="tanh",
                   config=TrainConfig(epochs=50, lr=0.02)).fit(X, y)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    module = TorchModel(module_factory(net), n_classes=2, name="net", config=TrainConfig(epochs=5, lr=0.01)).fit(X, y)
    for model in (mlp, module):  # autograd against small central differences (smooth networks)
        output = Output(model, "logit")
        exact = derivatives(output, X)
        assert exact.method == "autograd"
        np.testing.assert_allclose(exact.values, central_differences(output, X, step=1e-2), rtol=2e-2, atol=2e-3)
    from sklearn.linear_model import LogisticRegression

    lr = SklearnModel(LogisticRegression(), class_names=["0", "1"]).fit(X, y)
    exact = derivatives(Output(lr, "logit", target=1), X)
    assert exact.method == "exact (linear model)" and exact.pooled_non_constancy == 0
    np.testing.assert_allclose(exact.values[0], central_differences(Output(lr, "logit", 1), X[:5])[0], rtol=1e-3)
    np.testing.assert_allclose(derivatives(Output(lr, "logit", target=0), X).values, -exact.values)


def test_integrated_gradients_complete_and_chunking_changes_nothing():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    f = lambda x: net(x)[:, 0]  # noqa: E731
    X = np.random.default_rng(5).normal(size=(50, 6)).astype(np.float32)
    ig = integrated_gradients(f, X)
    assert ig.median_error < 0.01 and ig.steps >= 32
    small = integrated_gradients(f, X, steps=ig.steps, max_memory=ig.steps * 6 * 32 * 3)  # three rows at a time
    np.testing.assert_allclose(small.values, ig.values, rtol=1e-5, atol=1e-7)
    w = torch.tensor([0.5, -1.0, 2.0, 0.0, 1.0, 3.0])  # a linear function: IG = (x - b) w exactly, any steps
    lin = integrated_gradients(lambda x: x @ w, X, baseline=np.ones(6, np.float32), steps=1)
    np.testing.assert_allclose(lin.values, (X - 1) * w.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradient(lambda x: x @ w, X).values, np.tile(w.numpy(), (50, 1)))


def test_integrated_gradients_equal_captums_on_the_same_steps():
    from captum.attr import IntegratedGradients

    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    X = np.random.default_rng(6).normal(size=(20, 5)).astype(np.float32)
    baseline = np.full(5, 0.5, np.float32)
    ours = integrated_gradients(lambda x: net(x)[:, 2], X, baseline=baseline, steps=50)
    theirs = IntegratedGradients(net).attribute(torch.from_numpy(X), baselines=torch.from_numpy(baseline)[None],
                                                target=2, n_steps=50, method="riemann_middle")
    np.testing.assert_allclose(ours.values, theirs.detach().double().numpy(), rtol=1e-4, atol=1e-6)


def test_the_explain_study_finds_the_planted_interaction_and_judges_the_seeds_order(tmp_path):
    import json

    from typer.testing import CliRunner

    from nnprobe.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["explain", "synth:interaction?n=1500", "--small", "--device", "cpu", "--json",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    models = {m["role"]: m for m in doc["result"]["data"][0]["models"]}
    assert models["linear"]["non_constancy"] == 0 and models["linear"]["derivative_method"] == "exact (linear model)"
    network = {f["name"]: f for f in models["neural network"]["features"]}
    assert network["x1"]["h"] > 0.3 and "interacts with x2" in network["x1"]["warning"]  # 4 x1 x2 in the log-odds
    assert network["x4"]["h"] is None or network["x4"]["h"] < network["x1"]["h"]  # x4 is noise
    order = [c for c in doc["claims"] if c["source"] == "seed"]
    values = [models[role]["non_constancy"] for role in ("linear", "gradient-boosted trees", "neural network")]
    assert order[0]["holds"] == (values[0] < values[1] < values[2])  # the claim reports what was measured
    bad = runner.invoke(app, ["explain", "--output", "odds"])
    assert bad.exit_code == 2 and "use logit or probability" in bad.stderr


def test_second_order_ale_is_the_pure_interaction_and_zero_without_one():
    from nnprobe.explain import accumulated_local_effects_2d

    X = uniform(4000, 3, 7)
    product = accumulated_local_effects_2d(Output(as_model(lambda X: 0.5 + 0.4 * X[:, 0].astype(np.float64)
                                                           * X[:, 1]), "probability"), X, 0, 1, bins=10)
    zj, zk = product.edges
    truth = 0.4 * np.outer(zj, zk)  # on independent inputs symmetric about 0, x1 x2 has no main effects
    assert np.max(np.abs(product.effect - truth)) < 0.02
    additive = accumulated_local_effects_2d(Output(as_model(lambda X: 0.5 + 0.2 * np.sin(X[:, 0].astype(np.float64))
                                                            + 0.2 * X[:, 1]), "probability"), X, 0, 1, bins=10)
    assert np.max(np.abs(additive.effect)) < 1e-9


def test_claims_come_out_false_or_untested_on_numbers_that_say_so():
    from types import SimpleNamespace as NS

    from nnprobe.studies import explain as study

    def result(linear, trees, network, linear_probability):
        roles = (("linear", linear, linear_probability), ("gradient-boosted trees", trees, None),
                 ("neural network", network, None))
        models = [NS(role=role, non_constancy=v, non_constancy_probability=p) for role, v, p in roles]
        return NS(output="logit", data=[NS(source="synth:interaction?n=100", models=models)])

    order, linear = "explain.explainability_order:synth-interaction-n-100", \
        "explain.linear_constant_on_log_odds:synth-interaction-n-100"
    # a network more constant than the trees breaks the seed's order
    assert {c.id: c.holds for c in study.check_claims(result(0.0, 0.5, 0.3, 0.2))} == {order: False, linear: True}
    # an undefined non-constancy (NaN) leaves the order untested; a constant probability refutes ours
    assert {c.id: c.holds for c in study.check_claims(result(0.0, float("nan"), 0.3, 0.0))} == {order: None,
                                                                                              linear: False}
