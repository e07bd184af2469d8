"""`compare`: is model B really better than model A on the same examples? Paired significance (McNemar's exact
test and a paired bootstrap for classifiers; bootstrap, Wilcoxon and sign tests for per-query metrics) and the
sample size needed to detect a given lift. The check side of seed 001: a 0.5-1% lift shows only in aggregate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from numbers import Real

from nnprobe.errors import ConfigError
from nnprobe.limits import MAX_BOOT, check_int, check_number, check_seed
from nnprobe.studies import Claim, Progress, no_progress

MAX_LIFTS = 20  # rows of the sample-size table
MIN_LIFT = 1e-4  # 0.01 points: smaller lifts need billions of examples
MIN_ALPHA = 1e-8


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
    positive: str | None = None  # the positive class for the scores; default: the largest label (numbers by value)
    a_col: str | None = None  # with one file: the column of model A
    b_col: str | None = None  # with one file: the column of model B
    n_boot: int = 10000  # bootstrap resamples, 100..10^7
    level: float = 0.95  # confidence level of the intervals, 0.5..0.9999
    alpha: float = 0.05  # significance level of the verdict and of the sample sizes, 1e-8..0.5
    power: float = 0.8  # power for the sample sizes, 0.5..0.9999
    lifts: tuple[float, ...] = (0.005, 0.01)  # lifts to size for (accuracy fractions: 0.005 = half a point)
    discordance: float | None = None  # share of examples where exactly one model is right (default: measured)
    base_accuracy: float | None = None  # accuracy of A, for the unpaired sizes (default: measured)
    seed: int = 0  # of the bootstrap resamples

    def __post_init__(self) -> None:
        if self.kind not in ("classification", "per-query"):
            raise ConfigError(f"kind {self.kind!r} is unknown: use classification or per-query.")
        self.n_boot = check_int("n_boot (--boot)", self.n_boot, 100, MAX_BOOT)
        self.level = check_number("level", self.level, low=0.5, high=0.9999, example="0.95")
        self.alpha = check_number("alpha", self.alpha, low=MIN_ALPHA, high=0.5, high_open=True, example="0.05")
        self.power = check_number("power", self.power, low=0.5, high=0.9999, example="0.8")
        self.lifts = (self.lifts,) if isinstance(self.lifts, Real) else tuple(self.lifts)  # one lift alone
        if not 1 <= len(self.lifts) <= MAX_LIFTS:
            raise ConfigError(f"give 1 to {MAX_LIFTS} lifts (got {len(self.lifts)}), e.g. --lifts 0.005,0.01.")
        self.lifts = tuple(check_number("lift", x, low=MIN_LIFT, high=1, example="0.005 for half a point")
                           for x in self.lifts)
        if self.discordance is not None:
            self.discordance = check_number("discordance", self.discordance, low=0, high=1, low_open=True,
                                            example="0.06")
        if self.base_accuracy is not None:
            self.base_accuracy = check_number("base_accuracy", self.base_accuracy, low=0, high=1, example="0.9")
        self.seed = check_seed(self.seed)
        if self.a is None and self.discordance is None and self.base_accuracy is None:
            raise ConfigError("give the two models' predictions (A and B), or, for sample sizes alone, "
                              "--discordance (paired) and/or --base-accuracy (unpaired).")

    @classmethod
    def small(cls, **overrides) -> CompareConfig:
        return cls(**{**dict(n_boot=2000), **overrides})


@dataclass
class SampleSize:
    """Examples needed to detect one lift with the configured power and alpha, per test, or why not computed."""

    lift: float  # accuracy lift to detect (fraction)
    paired: int | None  # McNemar's exact test (the one compare runs): smallest n from which its power stays >= target
    paired_first: int | None  # the smallest n at which that power first reaches the target (it zigzags in n)
    paired_power: float | None  # the exact test's power at `paired`
    paired_normal: int | None  # Connor's normal approximation of McNemar's test, for reference
    paired_note: str  # why the paired numbers are missing ("" when computed)
    unpaired: int | None  # examples per model for a two-proportion z-test on separate samples
    unpaired_note: str  # why `unpaired` is missing
    discordance: float | None  # the discordance the paired numbers are for
    base_accuracy: float | None  # the accuracy of A the unpaired number is for


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
    auc_note: str  # why the AUCs were not compared ("" when they were, or when no file has scores)
    verdict: str
    sample_sizes: list[SampleSize]
    claims: list[Claim] = field(default_factory=list)
    truth: dict | None = None  # a built-in pair's true accuracy, lift and discordance (None for files)
    seconds: float = 0.0
    device: str = "cpu"


def _points(fraction: float) -> str:
    """An accuracy fraction in percentage points, as people write it: 0.005 -> '0.5 points', 0.01 -> '1 point'."""
    points = 100 * fraction
    return f"{points:.4g} point{'' if points == 1 else 's'}"


def _paired_size(lift: float, discordance: float | None, power: float, alpha: float) -> dict:
    """The paired fields of a SampleSize, or their note."""
    from nnprobe.stats import exact_paired_sample_size

    missing = dict(paired=None, paired_first=None, paired_power=None, paired_normal=None)
    if discordance is None:
        return {**missing, "paired_note": "needs the discordance (--discordance), or both classifiers' predictions"}
    if discordance == 0:
        return {**missing, "paired_note": "not computable: the two models are right and wrong on the same examples "
                                          "(discordance 0), so McNemar's test has no pairs to count; give the "
                                          "discordance you expect with --discordance"}
    if discordance < lift:
        return {**missing, "paired_note": f"not computable: a lift of {_points(lift)} needs the models to disagree "
                                          f"on at least that share of examples, and the discordance is "
                                          f"{discordance:.4g}"}
    try:
        exact = exact_paired_sample_size(lift, discordance=discordance, power=power, alpha=alpha)
    except ConfigError as exc:  # a lift so small that the exact search would take too long
        from nnprobe.stats import paired_sample_size

        return {**missing, "paired_normal": paired_sample_size(lift, discordance=discordance, power=power, alpha=alpha),
                "paired_note": str(exc).rstrip(".")}
    return dict(paired=exact.n, paired_first=exact.first_n, paired_power=exact.power, paired_normal=exact.normal_n,
                paired_note="")


def _unpaired_size(lift: float, base_accuracy: float | None, power: float, alpha: float) -> dict:
    """The unpaired fields of a SampleSize, or their note."""
    from nnprobe.stats import unpaired_sample_size

    if base_accuracy is None:
        return dict(unpaired=None, unpaired_note="needs the accuracy of A (--base-accuracy), or both classifiers' "
                                                 "predictions")
    if base_accuracy + lift > 1:
        return dict(unpaired=None, unpaired_note=f"not computable: an accuracy of {base_accuracy:.4g} cannot rise by "
                                                 f"{_points(lift)}")
    return dict(unpaired=unpaired_sample_size(lift, base_accuracy=base_accuracy, power=power, alpha=alpha),
                unpaired_note="")


def sample_sizes(c: CompareConfig, discordance: float | None, base_accuracy: float | None) -> list[SampleSize]:
    """Examples needed for each lift of ``c``; never raises for measured rates, it says why a number is missing."""
    return [SampleSize(lift=lift, **_paired_size(lift, discordance, c.power, c.alpha),
                       **_unpaired_size(lift, base_accuracy, c.power, c.alpha), discordance=discordance,
                       base_accuracy=base_accuracy) for lift in c.lifts]


def _label_order(label: str) -> tuple:
    """Sort key of a label: numbers by value (so '10' comes after '9'), before any text."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _auc_comparison(c: CompareConfig, pair) -> tuple[object | None, str | None, str]:
    """(DeLong result, positive class, note) for the score columns of ``pair``; the note says why there is none."""
    from nnprobe.stats import delong_test

    if pair.a_score is None:
        return None, None, pair.score_note
    labels = sorted(set(pair.y_true), key=_label_order)
    if len(labels) != 2:
        return None, None, (f"AUCs not compared: the scores are for a two-class task and the true labels have "
                            f"{len(labels)} classes")
    positive = c.positive if c.positive is not None else labels[-1]
    if positive not in labels:
        raise ConfigError(f"--positive {positive} is not one of the two labels, {labels[0]} and {labels[1]}: name "
                          "one of them.")
    is_positive = pair.y_true == positive
    n_positive, n_negative = int(is_positive.sum()), int((~is_positive).sum())
    if min(n_positive, n_negative) < 2:
        return None, positive, (f"AUCs not compared: {n_positive} example(s) of the positive class {positive} and "
                                f"{n_negative} of the other; DeLong's test needs at least 2 of each")
    return delong_test(is_positive, pair.a_score, pair.b_score, level=c.level), positive, ""


def load(config: CompareConfig):
    """The two models' predictions the comparison reads (files, or a built-in ``synth:ab`` pair); None when only
    sample sizes are asked for."""
    from nnprobe.data.predictions import load_pair

    c = config
    if c.a is None:
        return None
    return load_pair(c.a, c.b, kind=c.kind, id_col=c.id_col, true_col=c.true_col, pred_col=c.pred_col,
                     metric_col=c.metric_col, score_col=c.score_col, a_col=c.a_col, b_col=c.b_col)


def run(config: CompareConfig, data, progress: Progress = no_progress) -> CompareResult:
    """Compare the two models of ``data`` (:func:`load`'s pair of predictions), or size studies when it is None."""
    from nnprobe.stats import mcnemar_test, paired_bootstrap, per_query_tests, verdict

    t0 = time.perf_counter()
    c, pair = config, data
    if pair is None:  # sample sizes only
        result = CompareResult(c, c.kind, "A", "B", 0, None, None, None, None, None, None, None, "",
                               "no predictions given: sample sizes only",
                               sample_sizes(c, c.discordance, c.base_accuracy))
        result.seconds = time.perf_counter() - t0
        return result
    progress(1, 2)
    if c.kind == "classification":
        a_ok, b_ok = pair.a_correct, pair.b_correct
        test = mcnemar_test(a_ok, b_ok)
        boot = paired_bootstrap(a_ok.astype(float), b_ok.astype(float), n_boot=c.n_boot, level=c.level, seed=c.seed)
        words = verdict(boot.difference, boot.low, boot.high, test.p_value, level=c.level, alpha=c.alpha)
        measured_discordance = (test.only_a_correct + test.only_b_correct) / test.n_examples
        auc, positive, auc_note = _auc_comparison(c, pair)
        result = CompareResult(c, c.kind, pair.a_name, pair.b_name, len(pair.ids), float(a_ok.mean()),
                               float(b_ok.mean()), test, boot, None, auc, positive, auc_note, words,
                               sample_sizes(c, c.discordance if c.discordance is not None else measured_discordance,
                                            c.base_accuracy if c.base_accuracy is not None else float(a_ok.mean())),
                               truth=pair.truth)
    else:
        tests = per_query_tests(pair.a, pair.b, n_boot=c.n_boot, level=c.level, seed=c.seed)
        boot = tests.bootstrap
        words = verdict(boot.difference, boot.low, boot.high, tests.wilcoxon_p_value, level=c.level, alpha=c.alpha,
                        scale=1.0, unit="")  # metrics in their own units
        result = CompareResult(c, c.kind, pair.a_name, pair.b_name, len(pair.ids), float(pair.a.mean()),
                               float(pair.b.mean()), None, boot, tests, None, None, "", words,
                               sample_sizes(c, c.discordance, c.base_accuracy))
    result.claims = check_claims(result)
    progress(2, 2)
    result.seconds = time.perf_counter() - t0
    return result


SIMULATED_STUDIES = 4000  # simulated studies behind the sample-size claim (Monte-Carlo error of the power <= 0.008)


def check_claims(r: CompareResult) -> list[Claim]:
    """Seed 001's claims about small lifts, on a built-in pair whose true lift is known; none on users' files,
    whose truth nobody knows (the comparison itself is the answer there)."""
    from nnprobe.stats import simulate_power_paired

    if r.truth is None or r.mcnemar is None:
        return []
    c, lift, discordance = r.config, r.truth["lift"], r.truth["discordance"]
    found = r.mcnemar.p_value < c.alpha and r.bootstrap.low > 0
    claims = [Claim(
        "compare.lift_shows_in_aggregate", "seed", "Given enough trials, a model better by a tiny fraction (0.5% to "
        "1%) can be told with certainty from the one it improves on.",
        None if lift <= 0 else bool(found),
        "not tested: the two built-in models are equally good" if lift <= 0 else
        f"true lift {lift:g}; measured B − A = {r.bootstrap.difference:+.4f} ({c.level:.0%} interval "
        f"{r.bootstrap.low:+.4f} to {r.bootstrap.high:+.4f}), McNemar p = {r.mcnemar.p_value:.2g} on "
        f"{r.n_examples:,} examples",
    )]
    small = min(c.lifts)
    size = next(s for s in r.sample_sizes if s.lift == small)
    exact, why = None, f"the lift {small:g} exceeds the pair's discordance {discordance:g}"
    if small <= discordance:
        from nnprobe.stats import exact_paired_sample_size

        try:
            exact = exact_paired_sample_size(small, discordance=discordance, power=c.power, alpha=c.alpha)
        except ConfigError as exc:  # a lift so small that the exact search would take too long
            why = str(exc).rstrip(".")
    if exact is None:
        claims.append(Claim("compare.sample_size_holds", "nnprobe", "The paired sample size is right: a study of "
                            "that size detects the lift with the promised power.", None, f"not tested: {why}"))
        return claims
    simulated = simulate_power_paired(exact.n, small, discordance, alpha=c.alpha, n_sim=SIMULATED_STUDIES,
                                      seed=c.seed)
    margin = 3 * (c.power * (1 - c.power) / SIMULATED_STUDIES) ** 0.5
    claims.append(Claim(
        "compare.sample_size_holds", "nnprobe", f"A lift of {_points(small)} shows only in aggregate: it takes "
        f"{exact.n:,} paired examples to detect with {c.power:.0%} power, and a study of that size does.",
        bool(simulated >= c.power - margin),
        f"{SIMULATED_STUDIES:,} simulated studies of {exact.n:,} examples at discordance {discordance:g} detected the "
        f"lift in {simulated:.1%} (target {c.power:.0%}, Monte-Carlo margin {margin:.1%}); the measured discordance "
        f"gives {f'{size.paired:,}' if size.paired else '—'} examples",
    ))
    return claims
