"""`compare`: is model B really better than model A on the same examples? Paired significance (McNemar's exact
test and a paired bootstrap for classifiers; bootstrap, Wilcoxon and sign tests for per-query metrics) and the
sample size needed to detect a given lift. The check side of seed 001: a 0.5-1% lift shows only in aggregate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nnprobe.errors import ConfigError
from nnprobe.studies import Claim, Progress, no_progress


@dataclass
class CompareConfig:
    """Options of a comparison."""

    a: str | None = None  # predictions of model A (or one file with both models' columns)
    b: str | None = None  # predictions of model B
    kind: str = "classification"  # "classification" (labels) or "per-query" (a metric per query)
    id_col: str = "id"
    true_col: str = "y_true"
    pred_col: str = "y_pred"
    metric_col: str = "metric"
    score_col: str = "score"  # optional score column (both files): ROC AUCs compared by DeLong's test
    positive: str | None = None  # the positive class for the scores; default: the last of the sorted labels
    a_col: str | None = None  # with one file: the column of model A
    b_col: str | None = None  # with one file: the column of model B
    n_boot: int = 10000  # bootstrap resamples
    level: float = 0.95  # confidence level of the intervals
    alpha: float = 0.05  # significance level of the verdict and of the sample sizes
    power: float = 0.8  # power for the sample sizes
    lifts: tuple[float, ...] = (0.005, 0.01)  # lifts to size for (accuracy fractions: 0.005 = half a point)
    discordance: float | None = None  # share of examples where exactly one model is right (known from data)
    base_accuracy: float | None = None  # accuracy of A, for the unpaired sizes (known from data)
    seed: int = 0

    def __post_init__(self) -> None:
        self.lifts = tuple(float(x) for x in self.lifts)
        if self.kind not in ("classification", "per-query"):
            raise ConfigError(f"kind {self.kind!r} is unknown: use classification or per-query.")
        if self.n_boot < 100:
            raise ConfigError(f"n_boot={self.n_boot} is too few for an interval: give at least 100 (10000 is usual).")
        for name in ("level", "power"):
            if not 0 < getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must lie strictly between 0 and 1.")
        if not 0 < self.alpha < 0.5:
            raise ConfigError(f"alpha={self.alpha} must lie between 0 and 0.5, e.g. 0.05.")
        if any(not 0 < x < 1 for x in self.lifts):
            raise ConfigError(f"lifts {self.lifts} must be fractions between 0 and 1, e.g. 0.005,0.01.")
        for name in ("discordance", "base_accuracy"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 1:
                raise ConfigError(f"{name}={value} must be a fraction strictly between 0 and 1, e.g. 0.06.")
        if self.a is None and (self.discordance is None or self.base_accuracy is None):
            raise ConfigError("give the two models' predictions (A and B), or, for sample sizes alone, both "
                              "--discordance and --base-accuracy.")

    @classmethod
    def small(cls, **overrides) -> CompareConfig:
        return cls(**{**dict(n_boot=2000), **overrides})


@dataclass
class SampleSize:
    lift: float  # accuracy lift to detect (fraction)
    paired: int | None  # examples for McNemar's test (None when the discordance is below the lift)
    unpaired: int | None  # examples per model for a two-proportion test on separate samples
    discordance: float | None
    base_accuracy: float | None


@dataclass
class CompareResult:
    config: CompareConfig
    kind: str
    a_name: str
    b_name: str
    n_examples: int
    a_accuracy: float | None  # classification: accuracies; per-query: mean metrics
    b_accuracy: float | None
    mcnemar: object | None  # nnprobe.stats.McNemarResult (classification)
    bootstrap: object | None  # nnprobe.stats.BootstrapResult of B - A
    per_query: object | None  # nnprobe.stats.PerQueryResult (per-query)
    auc: object | None  # nnprobe.stats.DeLongResult, when both files carry scores of a two-class task
    positive: str | None  # the positive class of those scores
    verdict: str
    sample_sizes: list[SampleSize]
    claims: list[Claim] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"


def sample_sizes(c: CompareConfig, discordance: float | None, base_accuracy: float | None) -> list[SampleSize]:
    from nnprobe.stats import paired_sample_size, unpaired_sample_size

    out = []
    for lift in c.lifts:
        paired = (paired_sample_size(lift, discordance=discordance, power=c.power, alpha=c.alpha)
                  if discordance is not None and discordance >= lift else None)
        unpaired = (unpaired_sample_size(lift, base_accuracy=base_accuracy, power=c.power, alpha=c.alpha)
                    if base_accuracy is not None and base_accuracy + lift < 1 else None)
        out.append(SampleSize(lift, paired, unpaired, discordance, base_accuracy))
    return out


def run(config: CompareConfig, progress: Progress = no_progress) -> CompareResult:
    from nnprobe.data.predictions import load_pair
    from nnprobe.stats import delong_test, mcnemar_test, paired_bootstrap, per_query_tests, verdict

    t0 = time.perf_counter()
    c = config
    if c.a is None:  # sample sizes only
        result = CompareResult(c, c.kind, "A", "B", 0, None, None, None, None, None, None, None,
                               "no predictions given: sample sizes only",
                               sample_sizes(c, c.discordance, c.base_accuracy))
        result.seconds = time.perf_counter() - t0
        return result
    pair = load_pair(c.a, c.b, kind=c.kind, id_col=c.id_col, true_col=c.true_col, pred_col=c.pred_col,
                     metric_col=c.metric_col, score_col=c.score_col, a_col=c.a_col, b_col=c.b_col)
    progress(1, 2)
    if c.kind == "classification":
        a_ok, b_ok = pair.a_correct, pair.b_correct
        test = mcnemar_test(a_ok, b_ok)
        boot = paired_bootstrap(a_ok.astype(float), b_ok.astype(float), n_boot=c.n_boot, level=c.level, seed=c.seed)
        words = verdict(boot.difference, boot.low, boot.high, test.p_value, level=c.level, alpha=c.alpha)
        discordance = (test.only_a_correct + test.only_b_correct) / test.n_examples
        auc, positive = None, None
        labels = sorted(set(pair.y_true))
        if pair.a_score is not None and len(labels) == 2:
            positive = c.positive if c.positive is not None else labels[-1]
            if positive not in labels:
                raise ConfigError(f"--positive {positive!r} is not one of the labels {labels}.")
            auc = delong_test(pair.y_true == positive, pair.a_score, pair.b_score, level=c.level)
        result = CompareResult(c, c.kind, pair.a_name, pair.b_name, len(pair.ids), float(a_ok.mean()),
                               float(b_ok.mean()), test, boot, None, auc, positive, words,
                               sample_sizes(c, c.discordance if c.discordance is not None else discordance,
                                            c.base_accuracy if c.base_accuracy is not None else float(a_ok.mean())))
    else:
        tests = per_query_tests(pair.a, pair.b, n_boot=c.n_boot, level=c.level, seed=c.seed)
        boot = tests.bootstrap
        words = verdict(boot.difference, boot.low, boot.high, tests.wilcoxon_p_value, level=c.level, alpha=c.alpha,
                        scale=1.0, unit="")  # metrics in their own units
        result = CompareResult(c, c.kind, pair.a_name, pair.b_name, len(pair.ids), float(pair.a.mean()),
                               float(pair.b.mean()), None, boot, tests, None, None, words,
                               sample_sizes(c, c.discordance, c.base_accuracy))
    progress(2, 2)
    result.seconds = time.perf_counter() - t0
    return result
