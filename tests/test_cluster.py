"""Tests of the cluster study: the input step is autograd's, alpha = 0 moves nothing, points separate."""

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

from nnprobe.nn import Ensemble, MLPSpec, TrainConfig, Trainer
from nnprobe.report import cluster as report_cluster
from nnprobe.studies import cluster
from nnprobe.studies.registry import run_study


def test_loo_knn_matches_scikit_learn():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(60, 2))
    labels = (points[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int) + (points[:, 1] > 1).astype(int)
    expected = cross_val_predict(KNeighborsClassifier(n_neighbors=5), points, labels, cv=LeaveOneOut())
    assert cluster.loo_knn_accuracy(points, labels) == pytest.approx((expected == labels).mean())


def test_input_step_is_minus_alpha_times_autograd_gradient():
    g = torch.Generator().manual_seed(0)
    u0 = torch.rand(2, 30, 2, generator=g) * 2 - 1  # two members, each its own points
    y = torch.randint(0, 3, (2, 30), generator=g)
    model = Ensemble(MLPSpec((2, 8, 3)), seeds=[1, 2])
    members = [model.member(i) for i in range(2)]
    expected = []
    for i, m in enumerate(members):  # autograd's gradient of each member's mean loss w.r.t. its points
        x = u0[i].clone().requires_grad_()
        expected.append(torch.autograd.grad(F.cross_entropy(m(x), y[i]), x)[0])
    u = u0.clone().requires_grad_()
    alpha = 0.5
    Trainer(model, TrainConfig(epochs=1, lr=0.01), extra_optimizers=[torch.optim.SGD([u], lr=alpha)]).fit(u, y)
    torch.testing.assert_close(u.detach(), u0 - alpha * torch.stack(expected))


def test_alpha_zero_moves_nothing():
    r = run_study(cluster.ClusterConfig.small(input_lr=0.0, n_seeds=1, epochs=300, snapshot_every=100,
                                                device="cpu"))
    run = r.runs[0]
    assert np.array_equal(run.points[0], run.points[-1])
    assert all(s.mean_shift == 0 for s in run.snapshots)


@pytest.fixture(scope="module")
def default_run():
    # The default configuration (500 points, 2 features, 7000 epochs), one seed.
    return run_study(cluster.ClusterConfig(n_seeds=1, device="cpu"))


def test_default_points_go_from_chance_to_separated(default_run):
    snaps = default_run.runs[0].snapshots
    assert abs(snaps[0].knn_accuracy - 1 / 3) < 0.08  # random labels: near chance
    assert snaps[-1].knn_accuracy >= 0.9
    assert [s.epoch for s in snaps] == list(range(0, 7001, 500))
    assert snaps[-1].mean_shift > snaps[1].mean_shift > 0


def test_gif_has_one_frame_per_snapshot(default_run):
    run = default_run.runs[0]
    gif = Image.open(io.BytesIO(report_cluster.animation(run)))
    assert gif.format == "GIF" and gif.n_frames == len(run.snapshots)


def test_real_data_runs_and_keeps_labels():
    r = run_study(cluster.ClusterConfig.small(data="sklearn:iris", n_seeds=1, epochs=200, snapshot_every=100,
                                                device="cpu"))
    run = r.runs[0]
    assert run.label == "sklearn:iris" and run.n_features == 4 and run.points.shape == (3, 150, 4)
    np.testing.assert_allclose(run.points[0], cluster.load(r.config)[0][1][0].X, rtol=1e-5)  # starts on the data
    pts, names = report_cluster.projection(run)
    assert pts.shape == (3, 150, 2) and names[0] == "principal axis 1"  # 4 features drawn on 2 principal axes


def test_config_validation():
    for bad in (dict(dims=(2, 2)), dict(input_lr=-1.0), dict(low=5.0, high=5.0), dict(n_classes=1)):
        with pytest.raises(cluster.ConfigError):
            cluster.ClusterConfig(**bad)


def _fake_result(knn_first, knn_500, knn_last, silhouette, linear, separated_at):
    """A ClusterResult with one seed per feature count and the given numbers (2 and 3 features)."""
    runs = []
    for d, sep in zip((2, 3), separated_at):
        snaps = [cluster.Snapshot(e, knn, silhouette, linear, 0.0, 0.0, 0.9)
                 for e, knn in ((0, knn_first), (500, knn_500), (7000, knn_last))]
        runs.append(cluster.RunResult(f"{d} features", d, 0, snaps, sep, np.zeros((3, 4, d)), np.zeros(4, int)))
    return cluster.ClusterResult(cluster.ClusterConfig(dims=(2, 3), n_seeds=1), runs, input_lr_raw=[0.03])


def test_each_claim_comes_out_false_on_numbers_that_contradict_it():
    # 3 features separate later than 2; the points stay mixed, or change early, or are compact linear clusters
    mixed = {c.id: c.holds for c in cluster.check_claims(_fake_result(0.35, 0.8, 0.6, 0.1, 0.5, (4000, 6000)))}
    for group in ("2-features", "3-features"):
        assert mixed[f"cluster.points_form_clusters:{group}"] is False
        assert mixed[f"cluster.slow_start:{group}"] is False
    assert mixed["cluster.three_features_sooner"] is False
    compact = cluster.check_claims(_fake_result(0.35, 0.4, 0.99, 0.6, 0.98, (4000, 3000)))
    gather = [c for c in compact if c.id.startswith("cluster.decision_regions:")]
    assert [c.holds for c in gather] == [False, False]
    # the evidence agrees with the verdict: it says these are compact, close to linearly separable clusters
    assert all("0.25 or more: compact clusters" in c.evidence and "close to linearly separable" in c.evidence
               for c in gather)


def test_claim_evidence_matches_its_verdict_when_only_one_condition_holds():
    # silhouette 0.38 (compact) but logistic regression far below 5-NN: the claim holds because of linearity only
    claims = cluster.check_claims(_fake_result(0.35, 0.4, 0.99, 0.38, 0.5, (4000, 3000)))
    gather = next(c for c in claims if c.id == "cluster.decision_regions:2-features")
    assert gather.holds and "0.25 or more: compact clusters" in gather.evidence
    assert "not linearly separable" in gather.evidence and "below 0.25" not in gather.evidence


def test_epochs_in_the_evidence_read_as_people_write_them():
    claims = cluster.check_claims(_fake_result(0.35, 0.4, 0.99, 0.1, 0.5, (4000, None)))
    text = next(c.evidence for c in claims if c.id == "cluster.three_features_sooner")
    assert "2 features 4000, 3 features not reached" in text and "4000.0" not in text and "None" not in text


def test_points_that_go_non_finite_are_reported_as_diverged(monkeypatch):
    from nnprobe.nn import optim

    real_step = optim.SGD.step
    calls = []

    def step_that_overflows(self):
        real_step(self)
        calls.append(1)
        if len(calls) == 150:  # the point step of epoch 150 blows up (as a too large step would)
            with torch.no_grad():
                self.params[0][0].fill_(float("inf"))

    monkeypatch.setattr(optim.SGD, "step", step_that_overflows)
    r = run_study(cluster.ClusterConfig.small(n_seeds=2, epochs=300, snapshot_every=100, device="cpu"))
    first, second = r.runs
    assert first.diverged_at == 200 and second.diverged_at is None  # seed 0's points went to infinity
    assert np.isnan(first.snapshots[-1].knn_accuracy) and np.isfinite(second.snapshots[-1].knn_accuracy)
    assert all(c.holds is None and "diverged" in c.evidence for c in r.claims)
    report_cluster.build(r)  # figures and tables of a diverged run draw without error


def test_three_features_sooner_is_untested_when_neither_group_separates():
    claims = {c.id: c for c in cluster.check_claims(_fake_result(0.35, 0.4, 0.99, 0.1, 0.5, (None, None)))}
    assert claims["cluster.three_features_sooner"].holds is None
    assert "neither separated within the run: not tested" in claims["cluster.three_features_sooner"].evidence
