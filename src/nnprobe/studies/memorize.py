"""Study `memorize` (seed 000, "The Forcefulness of Neural Networks"): a network fits random labels on random
gaussian features, better with more epochs and more features, while held-out accuracy stays at chance."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from nnprobe.errors import ConfigError
from nnprobe.executors import check_executor
from nnprobe.limits import (
    MAX_CLASSES,
    MAX_EPOCHS,
    MAX_REPEATS,
    MAX_ROWS,
    MAX_WIDTH,
    check_int,
    check_rate,
    check_seed,
    check_training,
    step_flops,
)
from nnprobe.nn.config import TrainConfig
from nnprobe.nn.mlp import MLPSpec, parse_init
from nnprobe.studies import Claim, Progress, derive_seed, no_progress, unless_diverged
from nnprobe.threads import check_threads


@dataclass
class MemorizeConfig:
    """Options of the memorize study (defaults chosen so that the seed's claims can show in under 60 s)."""

    n_features: tuple[int, ...] = (10, 30, 60, 120, 240, 480)  # feature counts swept
    n_seeds: int = 3  # independent repeats (data and init) per feature count
    n_samples: int = 2000  # training rows of random data
    n_classes: int = 4  # random classes, drawn uniformly
    n_heldout: int = 2000  # fresh rows from the same generator, to measure held-out accuracy
    hidden: tuple[int, ...] = (16,)  # hidden layer sizes of the network
    activation: str = "relu"  # hidden activation
    init: str = "default"  # weight init scheme
    epochs: int = 400  # full passes over the training rows
    lr: float = 0.003  # Adam learning rate
    optimizer: str = "adam"  # adam or sgd
    batch_size: int | None = None  # None: full batch
    log_every: int = 5  # record accuracies every this many epochs
    seed: int = 0  # master seed: data, init and batch order derive from it
    device: str = "auto"  # auto, cpu or cuda
    threads: int | None = None  # None: chosen from the size of the work and the cores free now
    executor: str = "local"  # where the networks train: local (this process) or ray (a Ray cluster)
    ray_address: str | None = None  # the Ray cluster (None: RAY_ADDRESS, or a new one on this machine)
    chunk_size: int | None = None  # networks per batched ensemble, a task on Ray; None: all at once locally, 32 on Ray

    def __post_init__(self) -> None:
        self.executor = check_executor(self.executor, self.ray_address, self.device)
        if self.chunk_size is not None:
            self.chunk_size = check_int("chunk_size (--chunk-size)", self.chunk_size, 1, MAX_REPEATS * MAX_WIDTH)
        self.n_features = tuple(check_int("feature count (--features)", d, 1, MAX_WIDTH) for d in self.n_features)
        self.hidden = tuple(check_int("hidden layer size (--hidden)", h, 1, MAX_WIDTH) for h in self.hidden)
        if not self.n_features:
            raise ConfigError("feature counts are empty: give at least one, e.g. 10,30,60.")
        if len(set(self.n_features)) != len(self.n_features):
            raise ConfigError(f"feature counts {list(self.n_features)} repeat a value: give each count once.")
        self.n_seeds = check_int("n_seeds (--seeds)", self.n_seeds, 1, MAX_REPEATS)
        self.n_samples = check_int("n_samples (--samples)", self.n_samples, 1, MAX_ROWS)
        self.n_heldout = check_int("n_heldout (--heldout)", self.n_heldout, 1, MAX_ROWS)
        self.n_classes = check_int("n_classes (--classes)", self.n_classes, 2, MAX_CLASSES)
        self.epochs = check_int("epochs (--epochs)", self.epochs, 0, MAX_EPOCHS)
        self.lr = check_rate("lr (--lr)", self.lr)
        if self.batch_size is not None:
            self.batch_size = check_int("batch_size (--batch-size)", self.batch_size, 1, MAX_ROWS)
        self.log_every = check_int("log_every (--log-every)", self.log_every, 1, MAX_EPOCHS)
        self.seed = check_seed(self.seed)
        self.threads = check_threads(self.threads)
        parse_init(self.init)
        MLPSpec.from_hidden(1, self.hidden, self.n_classes, activation=self.activation)  # validates shape
        TrainConfig(epochs=self.epochs, lr=self.lr, optimizer=self.optimizer, batch_size=self.batch_size,
                    log_every=self.log_every)  # validates training options
        d_max, members = max(self.n_features), len(self.n_features) * self.n_seeds
        check_training("this memorize sweep", "lower --features, --seeds, --samples, --heldout, --hidden, --epochs "
                       "or --chunk-size", sizes=(d_max, *self.hidden, self.n_classes), members=members,
                       rows=self.n_samples, eval_rows=self.n_heldout, epochs=self.epochs, batch_size=self.batch_size,
                       labels_per_member=True, device=self.device, at_once=self.members_at_once(members))

    def members_at_once(self, members: int) -> int:
        """Networks trained together: all of them locally, ``chunk_size`` (default RAY_CHUNK on Ray) otherwise."""
        from nnprobe.executors import RAY_CHUNK

        size = self.chunk_size or (RAY_CHUNK if self.executor == "ray" else members)
        return min(members, size)

    @classmethod
    def small(cls, **overrides) -> MemorizeConfig:
        """A seconds-long configuration for tests and a first look."""
        base = dict(n_features=(5, 40, 160), n_seeds=2, n_samples=400, n_heldout=400, epochs=150, lr=0.01)
        return cls(**{**base, **overrides})


@dataclass
class FeatureSummary:
    """Final numbers for one feature count, over its seeds."""

    n_features: int
    n_params: int  # weights and biases of the network
    zhang_bound: int  # 2n + d: a depth-2 ReLU net with this many parameters can fit any labelling (Zhang et al. 2017)
    params_over_bound: float  # n_params / zhang_bound
    train_accuracy_mean: float  # over the seeds whose networks did not diverge (NaN when none is left)
    train_accuracy_min: float
    train_accuracy_max: float
    heldout_accuracy_mean: float
    heldout_accuracy_min: float
    heldout_accuracy_max: float
    heldout_p_value: float  # two-sided binomial test of the pooled held-out accuracy against chance 1/k
    epochs_to_99: list[int | None]  # per seed: first recorded epoch with train accuracy >= 0.99, or None
    diverged_at: list[int | None]  # per seed: first recorded epoch whose loss was NaN or infinite, or None


@dataclass
class MemorizeResult:
    """Everything the memorize study measured."""

    config: MemorizeConfig
    chance: float  # 1 / n_classes
    epochs: np.ndarray  # [T] recorded epochs
    train_accuracy: np.ndarray  # [F, S, T] per feature count, seed, recorded epoch
    heldout_accuracy: np.ndarray  # [F, S, T]
    loss: np.ndarray  # [F, S, T] training cross-entropy
    summaries: list[FeatureSummary]
    claims: list[Claim]
    seconds: float  # wall time of the whole study
    device: str
    threads: int = 1  # threads the study ran on (--threads, or chosen)


@dataclass
class MemorizeData:
    """The random data of a memorize run (shared by every network; see :func:`run`)."""

    features: np.ndarray  # [n_samples, max(n_features)] standard normal
    heldout_features: np.ndarray  # [n_heldout, max(n_features)] fresh rows from the same generator
    labels: np.ndarray  # [n_seeds, n_samples] uniform random classes, one labelling per seed
    heldout_labels: np.ndarray  # [n_seeds, n_heldout]


def make_data(config: MemorizeConfig) -> MemorizeData:
    """Draw the features, held-out features and per-seed labels of a run from its master seed."""
    from nnprobe.data import synthetic

    c = config
    d_max = max(c.n_features)
    return MemorizeData(
        features=synthetic.gaussian(n=c.n_samples, d=d_max, k=c.n_classes, seed=derive_seed(c.seed)).X,
        heldout_features=synthetic.gaussian(n=c.n_heldout, d=d_max, k=c.n_classes, seed=derive_seed(c.seed, 1)).X,
        labels=np.stack([synthetic.random_labels(n=c.n_samples, k=c.n_classes, seed=derive_seed(c.seed, 2, s))
                         for s in range(c.n_seeds)]),
        heldout_labels=np.stack([synthetic.random_labels(n=c.n_heldout, k=c.n_classes, seed=derive_seed(c.seed, 3, s))
                                 for s in range(c.n_seeds)]),
    )


def member_seed(config: MemorizeConfig, seed_index: int, n_features: int) -> int:
    """The init seed of the network for (seed, feature count)."""
    return derive_seed(config.seed, 4, seed_index, n_features)


def _summary(c: MemorizeConfig, d: int, tr: np.ndarray, he: np.ndarray, epochs: np.ndarray,
             diverged: np.ndarray) -> FeatureSummary:
    """Final numbers of one feature count from its train and held-out curves ``[S, T]``, over the seeds whose
    networks did not diverge (NaN throughout when every one did)."""
    from scipy import stats

    ok = diverged < 0  # [S]
    final_tr, final_he = tr[ok, -1], he[ok, -1]

    def spread(values):
        return (float(values.mean()), float(values.min()), float(values.max())) if values.size else (np.nan,) * 3

    correct = int(round(float(final_he.sum()) * c.n_heldout))  # pooled over the seeds that did not diverge
    n_params = MLPSpec.from_hidden(d, c.hidden, c.n_classes).n_params
    bound = 2 * c.n_samples + d
    return FeatureSummary(
        n_features=d, n_params=n_params, zhang_bound=bound, params_over_bound=n_params / bound,
        **dict(zip(("train_accuracy_mean", "train_accuracy_min", "train_accuracy_max"), spread(final_tr))),
        **dict(zip(("heldout_accuracy_mean", "heldout_accuracy_min", "heldout_accuracy_max"), spread(final_he))),
        heldout_p_value=(float(stats.binomtest(correct, final_he.size * c.n_heldout, 1 / c.n_classes).pvalue)
                         if final_he.size else np.nan),
        epochs_to_99=[_first_epoch_at(tr[j], epochs, 0.99) if ok[j] else None for j in range(len(ok))],
        diverged_at=[int(e) if e >= 0 else None for e in diverged],
    )


def _first_epoch_at(acc: np.ndarray, epochs: np.ndarray, level: float) -> int | None:
    hit = np.flatnonzero(acc >= level)
    return int(epochs[hit[0]]) if hit.size else None


def load(config: MemorizeConfig) -> None:
    """Nothing to read: the random data are drawn in :func:`run` from the seed."""


def run(config: MemorizeConfig, data: None = None, progress: Progress = no_progress) -> MemorizeResult:
    """Fit random labels for every (feature count, seed) and measure train and held-out accuracy.

    One matrix of ``max(n_features)`` gaussian columns (and one fresh held-out matrix) serves every network;
    feature count ``d`` reads its first ``d`` columns. Each seed draws its own random labels (train and
    held-out), used by all its feature counts, so feature counts are compared on the same points and labels;
    each network starts from weights of its own seed. The features carry no information about the labels, so
    the spread over seeds is the spread over labellings and initial weights. All networks train together as
    one ragged ensemble, or in chunks of ``chunk_size`` networks (each a task on Ray) with the same numbers.
    """
    # Heavy imports here, not at the top: the CLI reads MemorizeConfig for its help without loading torch.
    from nnprobe.executors import Local, chunks_of, device_for, make_executor
    from nnprobe.nn import resolve_device
    from nnprobe.threads import resolve_threads, using_threads

    t0 = time.perf_counter()
    c = config
    device = resolve_device(device_for(c.executor, c.device))
    order = np.argsort(c.n_features)
    sizes = [c.n_features[i] for i in order]  # ascending, as a ragged ensemble needs
    S = c.n_seeds
    sweep = _Sweep(c, str(device), make_data(c), [(d, s) for d in sizes for s in range(S)])  # member f * S + s
    executor = make_executor(c.executor, c.ray_address)
    tasks = chunks_of(len(sweep.members), c.members_at_once(len(sweep.members)))
    threads = executor.task_threads or resolve_threads(c.threads, step_flops((sizes[-1], *c.hidden, c.n_classes),
                                                                             len(sizes) * S, c.batch_size or c.n_samples))
    with using_threads(threads):
        if isinstance(executor, Local) and len(tasks) == 1:  # one ensemble here: progress epoch by epoch
            parts = [_train_members(sweep, tasks[0], progress)]
        else:
            parts = executor.map(_train_members, sweep, tasks, progress)
    history = _joined(parts)
    T = len(history.epochs)
    train_acc = history.train_accuracy.T.reshape(len(sizes), S, T)  # [F, S, T], feature counts ascending
    held_acc = history.heldout_accuracy.T.reshape(len(sizes), S, T)
    losses = history.loss.T.reshape(len(sizes), S, T)
    back = np.argsort(order)  # from ascending order back to the order the user gave
    diverged = history.diverged_epoch.reshape(len(sizes), S)[back]  # [F, S]
    tr_all, he_all = train_acc[back], held_acc[back]
    summaries = [_summary(c, d, tr_all[i], he_all[i], history.epochs, diverged[i]) for i, d in enumerate(c.n_features)]
    result = MemorizeResult(
        config=c,
        chance=1 / c.n_classes,
        epochs=history.epochs,
        train_accuracy=tr_all,
        heldout_accuracy=he_all,
        loss=losses[back],
        summaries=summaries,
        claims=[],
        seconds=0.0,
        device=str(device),
        threads=threads,
    )
    result.claims = check_claims(result)
    result.seconds = time.perf_counter() - t0
    return result


@dataclass
class _Sweep:
    """What every chunk of a sweep reads (sent once to a cluster's object store)."""

    config: MemorizeConfig
    device: str  # where the networks train (on Ray: the workers' CPUs)
    data: MemorizeData
    members: list[tuple[int, int]]  # (feature count, seed index) of each network, feature counts ascending


def _train_members(sweep: _Sweep, members: range, progress: Progress | None = None):
    """One batched ensemble: the networks ``members`` of the sweep, each from its own seed, on the shared data.

    Every network's initialisation comes from (run seed, its seed index, its feature count) and the minibatch order
    from the run seed, so a network trains the same whichever chunk, machine or order it trains in; the ensemble's
    spec is the sweep's widest in every chunk, so that the same chunks give the same numbers bit for bit.
    """
    import torch

    from nnprobe.nn import Ensemble, Trainer

    c, data, device = sweep.config, sweep.data, sweep.device
    chosen = [sweep.members[m] for m in members]
    widest = max(d for d, _ in sweep.members)
    model = Ensemble(MLPSpec.from_hidden(widest, c.hidden, c.n_classes, activation=c.activation),
                     seeds=[member_seed(c, s, d) for d, s in chosen], init=c.init,
                     input_sizes=[d for d, _ in chosen], device=device)
    train_cfg = TrainConfig(epochs=c.epochs, lr=c.lr, optimizer=c.optimizer, batch_size=c.batch_size,
                            log_every=c.log_every, shuffle_seed=c.seed)

    def to_device(array):
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)

    seeds = [s for _, s in chosen]
    return Trainer(model, train_cfg).fit(
        to_device(data.features), to_device(data.labels[seeds]),  # [n, d_max], [m, n]
        x_eval=to_device(data.heldout_features), y_eval=to_device(data.heldout_labels[seeds]), progress=progress)


def _joined(parts: list):
    """One History of the sweep from the Histories of its chunks, in member order. A chunk whose every network
    diverged stops early (the trainer's rule); its records after that are NaN, as they are for a diverged network
    in a chunk that goes on."""
    longest = max(parts, key=lambda h: len(h.epochs))
    T = len(longest.epochs)

    def padded(values):  # [T_chunk, m] -> [T, m], NaN after the chunk stopped
        return np.concatenate([values, np.full((T - len(values), values.shape[1]), np.nan)])

    def joined(name):
        return np.concatenate([padded(getattr(h, name)) for h in parts], axis=1)

    return dataclasses.replace(
        longest, loss=joined("loss"), train_accuracy=joined("train_accuracy"), heldout_loss=joined("heldout_loss"),
        heldout_accuracy=joined("heldout_accuracy"), stopped_epoch=np.concatenate([h.stopped_epoch for h in parts]),
        diverged_epoch=np.concatenate([h.diverged_epoch for h in parts]))


def check_claims(result: MemorizeResult) -> list[Claim]:
    """The seed's claims and ours, each judged on the measured numbers; none is tested on a run where a network
    diverged (its numbers measure the learning rate, not memorisation)."""
    return unless_diverged(_judge(result), [e for s in result.summaries for e in s.diverged_at if e is not None],
                           len(result.summaries) * result.config.n_seeds, what="networks", fix="lower --lr")


def _judge(result: MemorizeResult) -> list[Claim]:
    order = np.argsort([s.n_features for s in result.summaries])
    summ = [result.summaries[i] for i in order]
    acc = result.train_accuracy[order]  # [F, S, T]
    claims = []

    gains = acc[:, :, -1].mean(1) - acc[:, :, 0].mean(1)  # [F]
    claims.append(Claim(
        "memorize.rises_with_epochs", "seed", "Train accuracy rises as training goes on.",
        bool((gains > 0.02).all()),
        "gain from epoch 0 to the last epoch, per feature count: "
        + ", ".join(f"{s.n_features}: {g:+.3f}" for s, g in zip(summ, gains)),
    ))

    finals = [s.train_accuracy_mean for s in summ]
    drops = [b - a for a, b in zip(finals[:-1], finals[1:])]
    shown = ", ".join(f"{s.n_features}: {a:.3f}" for s, a in zip(summ, finals))
    constant = len(summ) >= 2 and max(finals) - min(finals) <= 0.01
    claims.append(Claim(
        "memorize.rises_with_features", "seed", "More features give a higher final train accuracy.",
        None if len(summ) < 2 or constant else bool(finals[-1] - finals[0] > 0.02 and min(drops) > -0.01),
        "not tested: only one feature count" if len(summ) < 2 else
        f"not tested: the final accuracies are the same at every feature count ({shown}), so this run cannot show "
        "a rise; sweep fewer features" if constant else
        f"final mean train accuracy: {shown} (it must rise by more than 0.02 overall and never fall by more than "
        "0.01)",
    ))

    big = [s for s in summ if s.n_features >= 240]
    claims.append(Claim(
        "memorize.fits_at_240_features", "seed", "At 240 or more features the network fits random labels almost perfectly (>= 0.98).",
        None if not big else bool(min(s.train_accuracy_min for s in big) >= 0.98),
        "not tested: no feature count >= 240 in this run" if not big else
        "lowest final train accuracy over seeds: " + ", ".join(f"{s.n_features}: {s.train_accuracy_min:.3f}" for s in big),
    ))

    few = summ[0]
    claims.append(Claim(
        "memorize.few_features_partial", "nnprobe", f"With few features ({few.n_features}) the fit stays clearly partial (< 0.8).",
        bool(few.train_accuracy_max < 0.8),
        f"highest final train accuracy at {few.n_features} features: {few.train_accuracy_max:.3f}",
    ))

    alpha = 0.01 / len(summ)  # Bonferroni over feature counts
    claims.append(Claim(
        "memorize.heldout_chance", "nnprobe", f"Held-out accuracy on fresh random data stays at chance ({result.chance:.3f}): "
        "nothing was learned, everything was memorised.",
        bool(min(s.heldout_p_value for s in summ) > alpha),
        "held-out accuracy (binomial p vs chance): "
        + ", ".join(f"{s.n_features}: {s.heldout_accuracy_mean:.3f} (p={s.heldout_p_value:.2f})" for s in summ)
        + f"; a p below {alpha:.4f} would mean above-chance accuracy",
    ))

    below = [s for s in summ if s.params_over_bound < 1 and s.train_accuracy_mean >= 0.95]
    claims.append(Claim(
        "memorize.below_zhang_bound", "nnprobe", "Networks with fewer parameters than the Zhang et al. (2017) bound 2n + d can still fit "
        "(almost) all random labels: the bound is sufficient, not necessary.",
        bool(below) if any(s.params_over_bound < 1 for s in summ) else None,
        "feature counts with params < 2n + d and train accuracy >= 0.95: "
        + (", ".join(f"{s.n_features} ({s.n_params} params vs {s.zhang_bound})" for s in below) or "none"),
    ))
    return claims
