"""Study `cluster` (seed 004, "Explainable Clustering in a Classification Neural Network"): gradient descent on
the inputs as well as the weights, I <- I - alpha * dJ/dI, moves randomly labelled points into class clusters.

How the network sees the points: through a fixed per-feature scaling u = (I - c) / s (for the seed's box
[-1000, 1000]^d: c = 0, s = 1000; for real data: each feature's mean and standard deviation). The input step
is plain gradient descent (optionally with momentum) on u: u <- u - alpha * dJ/du, which is the seed's
I <- I - (alpha * s^2) * dJ/dI on the raw coordinates. J is the mean cross-entropy over the points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnprobe.errors import ConfigError, DataError
from nnprobe.nn.config import TrainConfig
from nnprobe.nn.mlp import MLPSpec
from nnprobe.studies import Claim, Progress, derive_seed, no_progress


@dataclass
class ClusterConfig:
    """Options of the cluster study (defaults: the seed's set-up, tuned so its progression is visible)."""

    data: str | None = None  # None: the seed's random points in a box; else a data spec (sklearn:wine, file.csv)
    target: str | None = None  # class column of a data file
    n_points: int = 500  # random points (box only)
    dims: tuple[int, ...] = (2,)  # features of the random points, one run each (box only), e.g. (2, 3)
    n_classes: int = 3  # random classes (box only)
    low: float = -1000.0  # the box [low, high]^d (box only)
    high: float = 1000.0
    hidden: tuple[int, ...] = (8,)  # hidden layers: small, so the network cannot simply memorise random labels
    activation: str = "relu"
    lr: float = 0.001  # Adam learning rate of the weights
    input_lr: float = 0.03  # alpha: step of the points in scaled units (seed's raw alpha = input_lr * s^2)
    input_momentum: float = 0.0  # momentum of the input step (0: plain gradient descent, as the seed)
    epochs: int = 7000  # full-batch epochs
    snapshot_every: int = 500  # record the points (and measure them) every this many epochs
    n_seeds: int = 3  # independent repeats: points, labels and initial weights
    separation: float = 0.95  # 5-NN accuracy that counts as separated
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.dims = tuple(int(d) for d in self.dims)
        self.hidden = tuple(int(h) for h in self.hidden)
        if not self.dims or min(self.dims) < 1 or len(set(self.dims)) != len(self.dims):
            raise ConfigError(f"dims {self.dims} must be distinct positive integers, e.g. 2,3.")
        if self.n_classes < 2 or self.n_points < 5 * self.n_classes:
            raise ConfigError(f"{self.n_points} points for {self.n_classes} classes: give at least 2 classes and 5 "
                              "points per class, so that every class can be measured.")
        if not self.high > self.low:
            raise ConfigError(f"the box [{self.low}, {self.high}] is empty: give low < high.")
        if self.input_lr < 0 or self.input_momentum < 0:
            raise ConfigError("input_lr and input_momentum must be 0 or more.")
        if self.snapshot_every < 1 or self.n_seeds < 1:
            raise ConfigError("snapshot_every and n_seeds must be at least 1.")
        if not 0 < self.separation <= 1:
            raise ConfigError(f"separation={self.separation} must lie in (0, 1].")
        if self.data is not None:
            self.dims = ()  # the data decides its features
        MLPSpec.from_hidden(1, self.hidden, 2, activation=self.activation)
        TrainConfig(epochs=self.epochs, lr=self.lr)

    @classmethod
    def small(cls, **overrides) -> ClusterConfig:
        """A seconds-long configuration for tests and a first look."""
        return cls(**{**dict(n_points=200, epochs=2000, snapshot_every=250, n_seeds=2, input_lr=0.06), **overrides})


@dataclass
class Snapshot:
    """The points of one run at one epoch, and how separated their classes are."""

    epoch: int
    knn_accuracy: float  # leave-one-out 5-nearest-neighbour accuracy of the points (scaled coordinates)
    silhouette: float  # silhouette score of the classes (scaled coordinates)
    linear_accuracy: float  # 5-fold cross-validated accuracy of logistic regression on the points
    mean_shift: float  # mean distance moved since epoch 0, in the data's units
    max_shift: float
    network_accuracy: float  # the network's train accuracy on the points at that epoch


@dataclass
class RunResult:
    """One (feature count or data set, seed) run."""

    label: str  # "2 features", "3 features" or the data source
    n_features: int
    seed_index: int
    snapshots: list[Snapshot]
    epochs_to_separation: int | None  # first snapshot with knn_accuracy >= separation, or None
    points: np.ndarray = field(metadata={"json": False})  # [snapshots, n, d] in the data's units (points.npz)
    labels: np.ndarray = field(metadata={"json": False})  # [n]
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)


@dataclass
class ClusterResult:
    config: ClusterConfig
    runs: list[RunResult]
    input_lr_raw: list[float]  # the seed's alpha on raw coordinates, input_lr * s^2, per feature (first run group)
    claims: list[Claim] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"

    def groups(self) -> dict[str, list[RunResult]]:
        """Runs grouped by label (feature count or data set), in run order."""
        out: dict[str, list[RunResult]] = {}
        for r in self.runs:
            out.setdefault(r.label, []).append(r)
        return out


def loo_knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy: each point classified by the majority of its k nearest other points.

    Ties go to the smallest class index, as in scikit-learn's KNeighborsClassifier.
    """
    from sklearn.neighbors import NearestNeighbors

    idx = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(return_distance=False)  # excludes the point itself
    n_classes = int(labels.max()) + 1
    votes = np.zeros((len(labels), n_classes), dtype=int)
    np.add.at(votes, (np.arange(len(labels))[:, None], labels[idx]), 1)
    return float((votes.argmax(1) == labels).mean())


def measure(points_scaled: np.ndarray, labels: np.ndarray, seed: int) -> tuple[float, float, float]:
    """(LOO 5-NN accuracy, silhouette by class, 5-fold logistic-regression accuracy) of one set of points."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = StratifiedKFold(n_splits=min(5, int(np.bincount(labels).min())), shuffle=True, random_state=seed)
    linear = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), points_scaled, labels,
                             cv=folds).mean()
    return loo_knn_accuracy(points_scaled, labels), float(silhouette_score(points_scaled, labels)), float(linear)


def _datasets(c: ClusterConfig):
    """(label, [Dataset per seed], center, scale) for each group of runs."""
    from nnprobe.data import load, synthetic

    if c.data is not None:
        ds = load(c.data, target=c.target)
        counts = np.bincount(ds.y, minlength=ds.n_classes)
        if counts.min() < 5:
            rare = ds.class_names[int(counts.argmin())]
            raise DataError(f"{ds.source}: class {rare!r} has {int(counts.min())} row(s); measuring how the points "
                            "separate needs at least 5 per class. Drop that class or add rows.")
        center, scale = ds.X.mean(0), ds.X.std(0)
        scale[scale == 0] = 1.0  # a constant feature stays put and is seen as 0
        return [(ds.source, [ds] * c.n_seeds, center, scale)]
    groups = []
    for d in c.dims:
        sets = [synthetic.uniform_box(n=c.n_points, d=d, k=c.n_classes, low=c.low, high=c.high,
                                      seed=derive_seed(c.seed, d, s)) for s in range(c.n_seeds)]
        groups.append((f"{d} features", sets, np.full(d, (c.low + c.high) / 2), np.full(d, (c.high - c.low) / 2)))
    return groups


def run(config: ClusterConfig, progress: Progress = no_progress) -> ClusterResult:
    """Train networks and points together, one ensemble per feature count (members: the seeds)."""
    import torch

    from nnprobe.nn import Ensemble, Trainer, optim, resolve_device

    t0 = time.perf_counter()
    c = config
    device = resolve_device(c.device)
    groups = _datasets(c)
    total = len(groups) * c.epochs
    runs: list[RunResult] = []
    for g, (label, sets, center, scale) in enumerate(groups):
        d = sets[0].n_features
        u = torch.from_numpy(np.stack([(s.X - center) / scale for s in sets]).astype(np.float32)).to(device)
        u.requires_grad_(True)  # [S, n, d]: the points, in scaled units, are trained
        y = torch.from_numpy(np.stack([s.y for s in sets])).to(device)  # [S, n]
        model = Ensemble(MLPSpec.from_hidden(d, c.hidden, sets[0].n_classes, activation=c.activation),
                         seeds=[derive_seed(c.seed, 100 + d, s) for s in range(c.n_seeds)], device=device)
        input_step = optim.SGD([u], lr=c.input_lr, momentum=c.input_momentum)
        snapshots: list[np.ndarray] = []
        history = Trainer(model, TrainConfig(epochs=c.epochs, lr=c.lr, log_every=c.snapshot_every),
                          extra_optimizers=[input_step]).fit(
            u, y, on_record=lambda _e: snapshots.append(u.detach().cpu().numpy().copy()),
            progress=lambda e, _t, g=g: progress(g * c.epochs + e, total),
        )
        moved = np.stack(snapshots)  # [T, S, n, d] scaled
        for s, dataset in enumerate(sets):
            raw = moved[:, s] * scale + center  # [T, n, d] in the data's units
            shift = np.linalg.norm(raw - raw[0], axis=-1)  # [T, n]
            snaps = []
            for t, epoch in enumerate(history.epochs):
                knn, sil, lin = measure(moved[t, s], dataset.y, derive_seed(c.seed, s))
                snaps.append(Snapshot(int(epoch), knn, sil, lin, float(shift[t].mean()), float(shift[t].max()),
                                      float(history.train_accuracy[t, s])))
            reached = [sn.epoch for sn in snaps if sn.knn_accuracy >= c.separation]
            runs.append(RunResult(label, d, s, snaps, reached[0] if reached else None, raw.astype(np.float32),
                                  dataset.y, dataset.feature_names, dataset.class_names))
    result = ClusterResult(c, runs, input_lr_raw=(c.input_lr * groups[0][3] ** 2).tolist(), device=str(device))
    result.claims = check_claims(result)
    result.seconds = time.perf_counter() - t0
    return result


def _median(values: list[int | None]) -> float | None:
    """Median epoch, counting runs that never separated as infinitely late; None if most never did."""
    ordered = sorted(np.inf if v is None else v for v in values)
    m = float(np.median(ordered))
    return None if not np.isfinite(m) else m


def check_claims(r: ClusterResult) -> list[Claim]:
    c = r.config
    groups = r.groups()
    if c.data is not None:  # the seed's claims are about random points; on real data, say what changed
        (label, runs), = groups.items()
        first, last = runs[0].snapshots[0], [run.snapshots[-1] for run in runs]
        return [Claim(
            "nnprobe", f"{label}: moving the points makes the network's task easier: the classes pull apart.",
            bool(np.mean([s.silhouette for s in last]) > first.silhouette),
            f"silhouette {first.silhouette:.2f} -> {np.mean([s.silhouette for s in last]):.2f}, 5-NN accuracy "
            f"{first.knn_accuracy:.2f} -> {np.mean([s.knn_accuracy for s in last]):.2f}, mean shift "
            f"{np.mean([s.mean_shift for s in last]):.3g} (data units) after {last[0].epoch} epochs",
        )]
    claims = []
    for label, runs in groups.items():
        first = [run.snapshots[0].knn_accuracy for run in runs]
        last = [run.snapshots[-1].knn_accuracy for run in runs]
        early = [next((sn.knn_accuracy for sn in run.snapshots if sn.epoch == 500), None) for run in runs]
        claims.append(Claim(
            "seed", f"{label}: as gradient descent moves the points, they form class clusters.",
            bool(min(last) >= 0.9 and min(last) > max(first) + 0.2),
            f"5-NN accuracy from {np.mean(first):.2f} at epoch 0 to {np.mean(last):.2f} at epoch "
            f"{runs[0].snapshots[-1].epoch} (mean over {len(runs)} seeds)",
        ))
        sil = float(np.mean([run.snapshots[-1].silhouette for run in runs]))
        lin = float(np.mean([run.snapshots[-1].linear_accuracy for run in runs]))
        claims.append(Claim(
            "nnprobe", f"{label}: the points gather in the network's decision regions; locally pure, these "
            "need not be compact clusters or linearly separable.",
            bool(np.mean(last) >= 0.9 and (sil < 0.25 or lin < np.mean(last) - 0.2)),
            f"at the end: 5-NN accuracy {np.mean(last):.2f}, silhouette {sil:.2f} (below 0.25: no compact "
            f"clusters), logistic regression {lin:.2f}",
        ))
        if all(e is not None for e in early):
            claims.append(Claim(
                "seed", f"{label}: not much changes in the first 500 epochs.",
                bool(np.mean(early) < np.mean(first) + 0.15),
                f"5-NN accuracy {np.mean(first):.2f} at epoch 0, {np.mean(early):.2f} at epoch 500",
            ))
    if {"2 features", "3 features"} <= set(groups):
        m2 = _median([run.epochs_to_separation for run in groups["2 features"]])
        m3 = _median([run.epochs_to_separation for run in groups["3 features"]])
        holds = None if m2 is None and m3 is None else (m3 is not None and (m2 is None or m3 < m2))
        claims.append(Claim(
            "seed", "With 3 features the points separate sooner than with 2 (about 3000 vs 5000+ epochs).", holds,
            f"median epochs to 5-NN accuracy >= {c.separation:g}: 2 features {m2 if m2 is not None else 'not reached'}, "
            f"3 features {m3 if m3 is not None else 'not reached'} (per seed: "
            + "; ".join(f"{k}: {[run.epochs_to_separation for run in groups[k]]}" for k in ("2 features", "3 features"))
            + ")",
        ))
    return claims
