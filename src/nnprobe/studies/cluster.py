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
from nnprobe.limits import (
    FLOAT32_MAX,
    MAX_CLASSES,
    MAX_EPOCHS,
    MAX_RATE,
    MAX_REPEATS,
    MAX_WIDTH,
    check_int,
    check_memory,
    check_momentum,
    check_number,
    check_rate,
    check_seed,
    check_time,
    check_training,
    step_flops,
)
from nnprobe.nn.config import TrainConfig
from nnprobe.nn.mlp import MLPSpec
from nnprobe.studies import Claim, claim_key, Progress, derive_seed, no_progress, unless_diverged
from nnprobe.threads import check_threads

MAX_POINTS = 1_000_000
MAX_DIMS = 10_000


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
    threads: int | None = None  # None: chosen from the size of the work and the cores free now

    def __post_init__(self) -> None:
        self.dims = tuple(check_int("feature count (--dims)", d, 1, MAX_DIMS) for d in self.dims)
        self.hidden = tuple(check_int("hidden layer size (--hidden)", h, 1, MAX_WIDTH) for h in self.hidden)
        if not self.dims or len(set(self.dims)) != len(self.dims):
            raise ConfigError(f"dims {list(self.dims)} must be distinct positive integers, e.g. 2,3.")
        self.n_classes = check_int("n_classes (--classes)", self.n_classes, 2, MAX_CLASSES)
        self.n_points = check_int(f"n_points (--points; 5 per class of {self.n_classes} classes at least)", self.n_points,
                                  5 * self.n_classes, MAX_POINTS)
        self.low = check_number("low", self.low, low=-FLOAT32_MAX, high=FLOAT32_MAX)
        self.high = check_number("high", self.high, low=-FLOAT32_MAX, high=FLOAT32_MAX)
        if not self.high > self.low or self.high - self.low > FLOAT32_MAX:
            raise ConfigError(f"the box [{self.low:g}, {self.high:g}] must have low < high and a width within float32's "
                              "range (about 3.4e38).")
        self.input_lr = check_number("input_lr (--input-lr)", self.input_lr, low=0.0, high=MAX_RATE, example="0.03")
        self.input_momentum = check_momentum("input_momentum (--input-momentum)", self.input_momentum)
        self.epochs = check_int("epochs (--epochs)", self.epochs, 0, MAX_EPOCHS)
        self.lr = check_rate("lr (--lr)", self.lr)
        self.snapshot_every = check_int("snapshot_every (--snapshot-every)", self.snapshot_every, 1, MAX_EPOCHS)
        self.n_seeds = check_int("n_seeds (--seeds)", self.n_seeds, 1, MAX_REPEATS)
        self.separation = check_number("separation", self.separation, low=0.0, high=1.0, low_open=True)
        self.seed = check_seed(self.seed)
        self.threads = check_threads(self.threads)
        if self.data is not None:
            self.dims = ()  # the data decides its features
        MLPSpec.from_hidden(1, self.hidden, 2, activation=self.activation)
        TrainConfig(epochs=self.epochs, lr=self.lr)
        for d in self.dims:
            check_cluster_work(self, self.n_points, d, self.n_classes)

    @classmethod
    def small(cls, **overrides) -> ClusterConfig:
        """A seconds-long configuration for tests and a first look."""
        return cls(**{**dict(n_points=200, epochs=2000, snapshot_every=250, n_seeds=2, input_lr=0.06), **overrides})


MEASURE_SECONDS = 0.05  # least time to measure one snapshot (5-NN, silhouette, 5-fold logistic regression)
MEASURE_PAIR_SECONDS = 1e-8  # and per pair of points (silhouette and neighbours), measured 0.1-0.3 s at 500-5000


def check_cluster_work(c: ClusterConfig, n: int, d: int, k: int) -> None:
    """Refuse a run whose training, snapshots or their measurement cannot fit in memory or time."""
    snapshots = c.epochs // c.snapshot_every + 2
    what = f"the cluster study ({n} points, {d} features, {c.n_seeds} seeds, {c.epochs} epochs)"
    fix = "lower --points, --epochs, --seeds or raise --snapshot-every"
    check_training(what, fix, sizes=(d, *c.hidden, k), members=c.n_seeds, rows=n, epochs=c.epochs, device=c.device,
                   labels_per_member=True)
    check_memory(2 * 4.0 * snapshots * c.n_seeds * n * d, what, fix)  # the points at every snapshot
    check_time(snapshots * c.n_seeds * (MEASURE_SECONDS + MEASURE_PAIR_SECONDS * n * n * d), what, fix)


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
    points: np.ndarray = field(metadata={"json": False})  # [snapshots, n, d] in the data's units (points.npz), float64
    labels: np.ndarray = field(metadata={"json": False})  # [n]
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    diverged_at: int | None = None  # first snapshot epoch whose points or loss were not finite (numbers NaN from there)


@dataclass
class ClusterResult:
    config: ClusterConfig
    runs: list[RunResult]
    input_lr_raw: list[float]  # the seed's alpha on raw coordinates, input_lr * s^2, per feature (first run group)
    claims: list[Claim] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    threads: int = 1  # threads the study ran on (--threads, or chosen)

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


def load(config: ClusterConfig):
    """(label, [Dataset per seed], center, scale) for each group of runs: the --data file, or random points."""
    from nnprobe.data import load as load_data
    from nnprobe.data import standard_scaling, synthetic

    c = config
    if c.data is not None:
        ds = load_data(c.data, target=c.target)
        if not ds.is_classification:
            raise DataError(f"{ds.source} is a regression set: the cluster study needs class labels.")
        check_cluster_work(c, ds.n_samples, ds.n_features, ds.n_classes)
        counts = np.bincount(ds.y, minlength=ds.n_classes)
        if counts.min() < 5:
            rare = ds.class_names[int(counts.argmin())]
            raise DataError(f"{ds.source}: class {rare!r} has {int(counts.min())} row(s); measuring how the points "
                            "separate needs at least 5 per class. Drop that class or add rows.")
        center, scale = standard_scaling(ds.X)
        return [(ds.source, [ds] * c.n_seeds, center, scale)]
    groups = []
    for d in c.dims:
        sets = [synthetic.uniform_box(n=c.n_points, d=d, k=c.n_classes, low=c.low, high=c.high,
                                      seed=derive_seed(c.seed, d, s)) for s in range(c.n_seeds)]
        groups.append((f"{d} features", sets, np.full(d, (c.low + c.high) / 2), np.full(d, (c.high - c.low) / 2)))
    return groups


def run(config: ClusterConfig, data, progress: Progress = no_progress) -> ClusterResult:
    """Train networks and points together, one ensemble per feature count (members: the seeds), on ``data``
    (:func:`load`'s groups)."""
    from nnprobe.nn import resolve_device
    from nnprobe.threads import resolve_threads, using_threads

    t0 = time.perf_counter()
    c = config
    device = resolve_device(c.device)
    groups = data
    widest = max(sets[0].n_features for _, sets, _, _ in groups)
    threads = resolve_threads(c.threads, step_flops((widest, *c.hidden, c.n_classes), c.n_seeds,
                                                    groups[0][1][0].n_samples))
    runs: list[RunResult] = []
    with using_threads(threads):
        for g, group in enumerate(groups):
            runs += _run_group(c, group, device,
                               lambda e, _t, g=g: progress(g * c.epochs + e, len(groups) * c.epochs))
    result = ClusterResult(c, runs, input_lr_raw=(c.input_lr * groups[0][3] ** 2).tolist(), device=str(device),
                           threads=threads)
    result.claims = check_claims(result)
    result.seconds = time.perf_counter() - t0
    return result


def _run_group(c: ClusterConfig, group, device, progress) -> list[RunResult]:
    """One ensemble (a member per seed) trained with its points, and every snapshot measured."""
    import torch

    from nnprobe.data import standardize
    from nnprobe.nn import Ensemble, Trainer, optim

    label, sets, center, scale = group
    d = sets[0].n_features
    u = torch.from_numpy(np.stack([standardize(s.X, center, scale) for s in sets])).to(device)
    u.requires_grad_(True)  # [S, n, d]: the points, in scaled units, are trained
    y = torch.from_numpy(np.stack([s.y for s in sets])).to(device)  # [S, n]
    model = Ensemble(MLPSpec.from_hidden(d, c.hidden, sets[0].n_classes, activation=c.activation),
                     seeds=[derive_seed(c.seed, 100 + d, s) for s in range(c.n_seeds)], device=device)
    input_step = optim.SGD([u], lr=c.input_lr, momentum=c.input_momentum)
    snapshots: list[np.ndarray] = []
    history = Trainer(model, TrainConfig(epochs=c.epochs, lr=c.lr, log_every=c.snapshot_every),
                      extra_optimizers=[input_step]).fit(
        u, y, on_record=lambda _e: snapshots.append(u.detach().cpu().numpy().copy()), progress=progress)
    moved = np.stack(snapshots)  # [T, S, n, d] scaled
    # A run diverges when its network's loss or its points stop being finite (a step too large): from that
    # snapshot on its numbers are NaN (left out), not measurements of a network or points gone to infinity.
    finite = np.isfinite(moved).all(axis=(2, 3)) & np.isfinite(history.loss)  # [T, S]
    runs = []
    for s, dataset in enumerate(sets):
        ok = finite[:, s]
        last = len(ok) if ok.all() else int(np.argmin(ok))  # snapshots before the first bad one
        raw = moved[:, s].astype(np.float64) * scale + center  # [T, n, d] in the data's units (float64: data
        # near float32's limit moves past it)
        raw[last:] = np.nan
        shift = np.linalg.norm(raw - raw[0], axis=-1)  # [T, n]
        snaps = []
        for t, epoch in enumerate(history.epochs):
            knn, sil, lin = measure(moved[t, s], dataset.y, derive_seed(c.seed, s)) if t < last else (np.nan,) * 3
            snaps.append(Snapshot(int(epoch), knn, sil, lin, float(shift[t].mean()), float(shift[t].max()),
                                  float(history.train_accuracy[t, s])))
        reached = [sn.epoch for sn in snaps if sn.knn_accuracy >= c.separation]
        runs.append(RunResult(label, d, s, snaps, reached[0] if reached else None, raw,
                              dataset.y, dataset.feature_names, dataset.class_names,
                              diverged_at=None if last == len(ok) else int(history.epochs[last])))
    return runs


def _median(values: list[int | None]) -> float | None:
    """Median epoch, counting runs that never separated as infinitely late; None if most never did."""
    ordered = sorted(np.inf if v is None else v for v in values)
    m = float(np.median(ordered))
    return None if not np.isfinite(m) else m


def _epoch_text(epoch: float | None) -> str:
    """An epoch (a median may be a half) as people write it; None as 'not reached'."""
    return "not reached" if epoch is None else f"{epoch:g}"


def check_claims(r: ClusterResult) -> list[Claim]:
    """The article's claims and ours on the measured separation; none is tested when a run diverged."""
    return unless_diverged(_judge(r), [run.diverged_at for run in r.runs if run.diverged_at is not None],
                           len(r.runs), what="runs (points or network)", fix="lower --input-lr or --lr")


def _judge(r: ClusterResult) -> list[Claim]:
    c = r.config
    groups = r.groups()
    if c.data is not None:  # the seed's claims are about random points; on real data, say what changed
        (label, runs), = groups.items()
        first, last = runs[0].snapshots[0], [run.snapshots[-1] for run in runs]
        sil_end = float(np.mean([s.silhouette for s in last]))
        return [Claim(
            "cluster.classes_pull_apart", "nnprobe", f"{label}: moving the points makes the network's task easier: the classes pull apart.",
            bool(sil_end > first.silhouette),
            f"silhouette {first.silhouette:.2f} -> {sil_end:.2f} ({'higher' if sil_end > first.silhouette else 'not higher'}"
            f"), 5-NN accuracy {first.knn_accuracy:.2f} -> {np.mean([s.knn_accuracy for s in last]):.2f}, mean shift "
            f"{np.mean([s.mean_shift for s in last]):.3g} (data units) after {last[0].epoch} epochs",
        )]
    claims = []
    for label, runs in groups.items():
        first = [run.snapshots[0].knn_accuracy for run in runs]
        last = [run.snapshots[-1].knn_accuracy for run in runs]
        early = [next((sn.knn_accuracy for sn in run.snapshots if sn.epoch == 500), None) for run in runs]
        clusters = min(last) >= 0.9 and min(last) > max(first) + 0.2
        claims.append(Claim(
            f"cluster.points_form_clusters:{claim_key(label)}", "seed", f"{label}: as gradient descent moves the points, they form class clusters.",
            bool(clusters),
            f"5-NN accuracy from {np.mean(first):.2f} at epoch 0 to {np.mean(last):.2f} at epoch "
            f"{runs[0].snapshots[-1].epoch} (mean over {len(runs)} seed(s); lowest {min(last):.2f}, it must reach 0.9 "
            "and rise by more than 0.2)",
        ))
        knn = float(np.mean(last))
        sil = float(np.mean([run.snapshots[-1].silhouette for run in runs]))
        lin = float(np.mean([run.snapshots[-1].linear_accuracy for run in runs]))
        pure, loose, curved = knn >= 0.9, sil < 0.25, lin < knn - 0.2
        claims.append(Claim(
            f"cluster.decision_regions:{claim_key(label)}", "nnprobe", f"{label}: the points gather in the network's decision regions; locally pure, these "
            "need not be compact clusters or linearly separable.",
            bool(pure and (loose or curved)),
            f"at the end: 5-NN accuracy {knn:.2f} ({'locally pure' if pure else 'below 0.9: not locally pure'}), "
            f"silhouette {sil:.2f} ({'below 0.25: no compact clusters' if loose else '0.25 or more: compact clusters'}),"
            f" logistic regression {lin:.2f} ("
            + ("more than 0.2 below the 5-NN accuracy: not linearly separable" if curved else
               "within 0.2 of the 5-NN accuracy: close to linearly separable") + ")",
        ))
        if all(e is not None for e in early):
            claims.append(Claim(
                f"cluster.slow_start:{claim_key(label)}", "seed", f"{label}: not much changes in the first 500 epochs.",
                bool(np.mean(early) < np.mean(first) + 0.15),
                f"5-NN accuracy {np.mean(first):.2f} at epoch 0, {np.mean(early):.2f} at epoch 500 (a rise of 0.15 "
                "or more counts as much)",
            ))
    if {"2 features", "3 features"} <= set(groups):
        m2 = _median([run.epochs_to_separation for run in groups["2 features"]])
        m3 = _median([run.epochs_to_separation for run in groups["3 features"]])
        holds = None if m2 is None and m3 is None else (m3 is not None and (m2 is None or m3 < m2))
        per_seed = "; ".join(f"{k}: {', '.join(_epoch_text(run.epochs_to_separation) for run in groups[k])}"
                             for k in ("2 features", "3 features"))
        claims.append(Claim(
            "cluster.three_features_sooner", "seed", "With 3 features the points separate sooner than with 2 (about 3000 vs 5000+ epochs).", holds,
            f"median epochs to 5-NN accuracy >= {c.separation:g}: 2 features {_epoch_text(m2)}, 3 features "
            f"{_epoch_text(m3)} (per seed, {per_seed})"
            + ("" if holds is not None else "; neither separated within the run: not tested"),
        ))
    return claims
