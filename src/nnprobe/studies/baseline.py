"""Study `baseline` (seed 002, "Why does a single-layer neural network initialized with zero parameters achieve
92% accuracy?"): how much of a model's accuracy the majority class gives away, what zero initialisation really
does, and the leakage checks that explain accuracy too good to be true."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnprobe.checks import CheckResult
from nnprobe.errors import ConfigError
from nnprobe.limits import (
    MAX_EPOCHS,
    MAX_ROWS,
    MAX_WIDTH,
    check_int,
    check_number,
    check_rate,
    check_seed,
    check_training,
    step_flops,
)
from nnprobe.nn.config import TrainConfig
from nnprobe.nn.mlp import MLPSpec
from nnprobe.studies import Claim, Progress, derive_seed, no_progress
from nnprobe.text import number
from nnprobe.threads import check_threads

SEED_SET = "synth:imbalanced?n=2000&d=5&majority=0.92&separation=1&seed=0"
IDENTICAL_TOL = 1e-6  # hidden units whose weights differ by less than this (relative) count as identical


@dataclass
class BaselineConfig:
    """Options of the baseline study."""

    data: str = SEED_SET  # data spec: a file (with target), sklearn:NAME or synth:NAME?...; default: a 92% majority set
    target: str | None = None  # class column of a data file
    test: str | None = None  # a separate test file (same columns); default: a stratified split of `data`
    test_size: float = 0.25  # held-out share when there is no separate test file
    hidden: tuple[int, ...] = (32,)  # hidden layers of the MLPs
    epochs: int = 200  # full-batch Adam epochs for every network
    lr: float = 0.01
    max_rows: int | None = 20000  # rows for training networks and for leakage checks; larger data is sampled
    seed: int = 0
    device: str = "auto"
    threads: int | None = None  # None: chosen from the size of the work and the cores free now

    def __post_init__(self) -> None:
        self.hidden = tuple(check_int("hidden layer size (--hidden)", h, 1, MAX_WIDTH) for h in self.hidden)
        if not self.hidden:
            raise ConfigError("hidden needs at least one layer: the zero-initialisation experiment compares an MLP "
                              "with a single layer.")
        self.test_size = check_number("test_size (--test-size)", self.test_size, low=0.0, high=1.0, low_open=True,
                                      high_open=True, example="0.25")
        if self.max_rows is not None:
            self.max_rows = check_int("max_rows (--max-rows)", self.max_rows, 100, MAX_ROWS)
        self.epochs = check_int("epochs (--epochs)", self.epochs, 0, MAX_EPOCHS)
        self.lr = check_rate("lr", self.lr)
        self.seed = check_seed(self.seed)
        self.threads = check_threads(self.threads)
        MLPSpec.from_hidden(1, self.hidden, 2)
        TrainConfig(epochs=self.epochs, lr=self.lr)

    @classmethod
    def small(cls, **overrides) -> BaselineConfig:
        """A seconds-long configuration for tests and a first look."""
        return cls(**{**dict(epochs=100, max_rows=3000), **overrides})


@dataclass
class ZeroInitRow:
    """One network of the zero-initialisation experiment."""

    network: str  # e.g. "single layer, zero init"
    spec: str
    init: str
    accuracy: float
    balanced_accuracy: float
    distinct_predictions: int  # how many classes it ever predicts on the test set
    constant: bool  # predicts the same class for every test row
    hidden_units_identical: bool | None  # all hidden units of the first layer the same (None: no hidden layer)
    hidden_spread: float | None  # largest difference between two hidden units' weights (None: no hidden layer)


@dataclass
class BaselineResult:
    config: BaselineConfig
    data: dict  # source, rows, features, class counts of the data
    n_train: int
    n_test: int
    class_names: list[str]
    baselines: dict[str, dict]  # DummyClassifier strategy -> scores on the test set
    network: dict  # scores of the trained MLP (default init) on the test set
    zero_init: list[ZeroInitRow]
    checks: list[CheckResult]
    notes: list[str] = field(default_factory=list)  # what was sampled, and why
    claims: list[Claim] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    threads: int = 1  # threads the study ran on (--threads, or chosen)


def load(config: BaselineConfig):
    """(full, train, test) Datasets: the data, and its split (or the --test file) with aligned classes."""
    from nnprobe.data import align, split
    from nnprobe.data import load as load_data

    c = config
    full = load_data(c.data, target=c.target)
    if not full.is_classification:
        raise ConfigError(f"{full.source} is a regression set: the baseline study needs class labels.")
    if c.test is None:
        train, test = split(full, test_size=c.test_size, seed=derive_seed(c.seed, 1))
        return full, train, test
    train, test = align(full, load_data(c.test, target=c.target, min_classes=1))
    return full, train, test


def hidden_spread(model) -> float:
    """Largest difference between any two hidden units' incoming weights and biases (first layer, member 0)."""
    import torch

    units = torch.cat([model.weights[0][0], model.biases[0][0]], dim=1).detach()  # [h, d + 1]
    return float((units - units[:1]).abs().max())


def run(config: BaselineConfig, data, progress: Progress = no_progress) -> BaselineResult:
    """Baselines, the zero-initialisation experiment and the checks, on ``data`` (:func:`load`'s three sets)."""
    from nnprobe.checks import baseline as checks_baseline
    from nnprobe.checks.leakage import subsample
    from nnprobe.nn import resolve_device
    from nnprobe.threads import resolve_threads, using_threads

    t0 = time.perf_counter()
    c = config
    device = resolve_device(c.device)
    full, train, test = data
    k = len(train.class_names)
    notes = []
    rows = subsample(train.y, c.max_rows, derive_seed(c.seed, 2))
    sizes = (train.n_features, *c.hidden, k)
    check_training(f"the baseline study's networks ({len(rows):,} rows x {train.n_features:,} features)",
                   "lower --max-rows, --hidden or --epochs", sizes=sizes, members=3, rows=len(rows),
                   eval_rows=test.n_samples, epochs=c.epochs, device=str(device))
    if len(rows) < train.n_samples:
        notes.append(f"networks trained on a random sample of {len(rows)} of {train.n_samples} training rows")
    missing = [name for name, count in zip(train.class_names, np.bincount(test.y, minlength=k)) if count == 0]
    if missing:
        notes.append(f"the test set has no rows of class(es) {', '.join(repr(m) for m in missing)}: balanced "
                     "accuracy, kappa and MCC are not comparable to a full test set (kappa may be undefined)")
    threads = resolve_threads(c.threads, step_flops(sizes, 1, len(rows)))
    with using_threads(threads):
        baselines = checks_baseline.dummy_baselines(train.X, train.y, test.X, test.y, k, seed=c.seed)
        progress(1, 6)
        zero_rows, network_scores = _zero_init_experiment(c, train, test, rows, device, progress)
        checks = _checks(c, full, train, test, network_scores, baselines)
    progress(6, 6)
    result = BaselineResult(
        config=c, data=full.describe(), n_train=train.n_samples, n_test=test.n_samples,
        class_names=train.class_names, baselines=baselines, network=network_scores, zero_init=zero_rows,
        checks=checks, notes=notes, device=str(device), threads=threads,
    )
    result.claims = check_claims(result, test.y)
    result.seconds = time.perf_counter() - t0
    return result


def _zero_init_experiment(c: BaselineConfig, train, test, rows, device, progress) -> tuple[list[ZeroInitRow], dict]:
    """A single layer from zero, an MLP with every parameter zero and the same MLP with default init, trained on
    standardised features; returns their rows and the scores of the default-init MLP (the study's network)."""
    import torch

    from nnprobe.checks import baseline as checks_baseline
    from nnprobe.data import standard_scaling, standardize
    from nnprobe.nn import train_network

    k, d = len(train.class_names), train.n_features
    center, scale = standard_scaling(train.X)
    x_train = standardize(train.X[rows], center, scale)
    x_test = torch.from_numpy(standardize(test.X, center, scale)).to(device)
    networks = [
        ("single layer, zero init", MLPSpec((d, k)), "zero"),  # logistic regression
        ("MLP, all zero", MLPSpec.from_hidden(d, c.hidden, k), "zero"),
        ("MLP, default init", MLPSpec.from_hidden(d, c.hidden, k), "default"),
    ]
    zero_rows, network_scores = [], {}
    for i, (name, spec, init) in enumerate(networks):
        model, _ = train_network(spec, x_train, train.y[rows], TrainConfig(epochs=c.epochs, lr=c.lr),
                                 seed=derive_seed(c.seed, 3, i), init=init, device=device)
        s = checks_baseline.scores(test.y, model.predict(x_test)[0].cpu().numpy(), k)
        spread = hidden_spread(model) if len(spec.sizes) > 2 else None
        largest = float(model.weights[0].detach().abs().max()) if spread is not None else 0.0
        zero_rows.append(ZeroInitRow(name, str(spec), init, s["accuracy"], s["balanced_accuracy"],
                                     s["distinct_predictions"], s["distinct_predictions"] == 1,
                                     None if spread is None else spread <= IDENTICAL_TOL * (1 + largest), spread))
        if init == "default":
            network_scores = s
        progress(2 + i, 6)
    return zero_rows, network_scores


def _checks(c: BaselineConfig, full, train, test, network_scores: dict, baselines: dict) -> list[CheckResult]:
    """The six checks of the data and the study's network."""
    from nnprobe.checks import baseline as checks_baseline
    from nnprobe.checks import leakage

    spec = MLPSpec.from_hidden(train.n_features, c.hidden, len(train.class_names))
    return [
        checks_baseline.class_balance(full.y, full.class_names),
        checks_baseline.lift_over_baseline(network_scores, baselines["most_frequent"],
                                           model_name=f"The MLP ({spec})"),
        leakage.single_feature_power(full.X, full.y, full.feature_names, seed=c.seed, max_rows=c.max_rows),
        leakage.identifier_leakage(full.X, full.y, full.feature_names, seed=c.seed, max_rows=c.max_rows),
        leakage.contamination(train.X, train.y, test.X, test.y),
        leakage.importance_concentration(train.X, train.y, test.X, test.y, train.feature_names, seed=c.seed,
                                         max_rows=None if c.max_rows is None else c.max_rows // 2),
    ]


def check_claims(r: BaselineResult, y_test: np.ndarray) -> list[Claim]:
    """The article's zero-initialisation claims and ours, on the test set; not tested where the test set lacks
    a class (the baseline's balanced accuracy is then not 1/k)."""
    majority = r.baselines["most_frequent"]
    k = len(r.class_names)
    share = float(np.bincount(y_test).max() / len(y_test))
    single, zero_mlp, _ = r.zero_init
    full_test = len(np.unique(y_test)) == k
    claims = [
        Claim("baseline.majority_share", "seed", f"A constant prediction of the majority class scores the majority share ({share:.1%}) as "
              f"accuracy, with balanced accuracy 1/{k} and MCC 0.",
              bool(abs(majority["accuracy"] - share) < 1e-12 and abs(majority["balanced_accuracy"] - 1 / k) < 1e-12
                   and majority["mcc"] == 0) if full_test else None,
              f"majority baseline on the test set: accuracy {majority['accuracy']:.4f}, balanced accuracy "
              f"{majority['balanced_accuracy']:.4f}, kappa {number(majority['kappa'], '.4f')}, MCC "
              f"{majority['mcc']:.4f}" if full_test else
              f"not tested: the test set holds {len(np.unique(y_test))} of the {k} classes, so balanced accuracy "
              f"cannot be 1/{k}"),
        Claim("baseline.zero_single_layer_constant", "seed", "A single-layer network initialised with zero parameters predicts a constant.",
              single.constant,
              f"it predicts {single.distinct_predictions} distinct class(es); accuracy {single.accuracy:.3f}, "
              f"balanced accuracy {single.balanced_accuracy:.3f}. Zero weights are no obstacle for one layer: "
              "every weight gets its own gradient from its own input."),
        Claim("baseline.zero_mlp_symmetric", "nnprobe", "In an MLP with every parameter zero the hidden units stay identical (symmetry is never "
              "broken) and a ReLU hidden layer gets no gradient at all, so the network predicts a constant.",
              bool(zero_mlp.hidden_units_identical and zero_mlp.constant),
              f"largest difference between hidden units {zero_mlp.hidden_spread:.1e}; it predicts "
              f"{zero_mlp.distinct_predictions} distinct class(es), balanced accuracy {zero_mlp.balanced_accuracy:.3f}"),
    ]
    return claims
