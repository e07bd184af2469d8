"""`nnprobe audit`: did the user's model learn something real from the user's data? The checks suite (class
balance, lift over the majority baseline, leakage, contamination, importance), the two permutation tests of
``nnprobe.checks.permutation``, the memorisation gap, and, for a column the leakage checks flag, the model
retrained without that column's information; then one verdict with its evidence.

The verdicts, in the order they are decided (alpha and the gap threshold are options):

- **NO SIGNAL**: the model's held-out accuracy is not above what the same model reaches when the labels are
  permuted (test 1: p > alpha). Whatever it reaches on its training data is memorised.
- **SHORTCUT**: test 1 passes, but a leakage check fails for a column, and the model retrained with that column
  held at a constant loses its signal: test 1 without it has p > alpha, or its gain over the majority baseline
  falls below 0.05. The column carries the model.
- **MEMORISED**: test 1 passes and there is no shortcut, but training accuracy exceeds held-out accuracy by at
  least the gap threshold (default 0.10): much of what it fits does not generalise.
- **LEARNED**: test 1 passes, no shortcut, and the gap is below the threshold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnprobe.checks import STATUSES, CheckResult, count_line, worst
from nnprobe.errors import ConfigError, DataError
from nnprobe.executors import RAY_CHUNK, check_executor, device_for, make_executor
from nnprobe.limits import MAX_ROWS, check_int, check_number, check_seed
from nnprobe.studies import Progress, derive_seed, no_progress
from nnprobe.threads import check_threads

VERDICTS = ("LEARNED", "MEMORISED", "SHORTCUT", "NO SIGNAL")
LEVEL = {"LEARNED": "pass", "MEMORISED": "warn", "SHORTCUT": "fail", "NO SIGNAL": "fail"}
MAX_SHORTCUT_COLUMNS = 3  # flagged columns retrained without, at most (each a permutation test of its own)
SHORTCUT_GAIN = 0.05  # without the column, a gain over the majority baseline below this counts as no signal
MAX_PERMUTATIONS = 10_000  # a p-value to 1e-4; more permutations only cost time


@dataclass
class AuditConfig:
    """Options of an audit."""

    data: str = "sklearn:breast_cancer"  # a file (with target), sklearn:NAME or synth:NAME?...
    target: str | None = None  # class column of a data file
    test: str | None = None  # a separate held-out file (same columns); default: cross-validation on `data`
    model: str = "mlp:64-32"  # see nnprobe.models.FORMS
    predictions: str | None = None  # precomputed held-out predictions instead of a model (id, y_pred[, proba...])
    id_col: str | None = None  # a column of row ids (not a feature; matches --predictions to held-out rows);
    #                            None: a column named "id", where the files have one
    n_permutations: int = 100  # B: permutations of each permutation test
    cv: int = 3  # folds of the cross-validation without a separate held-out file
    alpha: float = 0.05  # significance level of the permutation tests
    max_gap: float = 0.10  # train minus held-out accuracy from which the fit counts as memorised
    feature_permutations: int = 20  # permutations of test 2 (features permuted within classes); 0: no test 2
    max_rows: int | None = 20000  # rows for the leakage checks; larger data is sampled
    fail_on: str = "never"  # exit code 3 when the verdict or a check reaches "fail", "warn" (or "never")
    seed: int = 0
    device: str = "auto"
    threads: int | None = None  # None: chosen from the size of the work and the cores free now
    executor: str = "local"  # where the permuted copies train: local (this process) or ray (a Ray cluster)
    ray_address: str | None = None  # the Ray cluster (None: RAY_ADDRESS, or a new one on this machine)
    chunk_size: int | None = None  # copies per batched fit, a task on Ray; None: all at once locally, 32 on Ray

    def __post_init__(self) -> None:
        self.executor = check_executor(self.executor, self.ray_address, self.device)
        if self.chunk_size is not None:
            self.chunk_size = check_int("chunk_size (--chunk-size)", self.chunk_size, 1, MAX_PERMUTATIONS + 1)
        self.n_permutations = check_int("n_permutations (--permutations)", self.n_permutations, 1, MAX_PERMUTATIONS)
        self.feature_permutations = check_int("feature_permutations (--feature-permutations)",
                                              self.feature_permutations, 0, MAX_PERMUTATIONS)
        self.cv = check_int("cv (--cv)", self.cv, 2, 20)
        self.alpha = check_number("alpha (--alpha)", self.alpha, low=0.0, high=0.5, low_open=True, example="0.05")
        self.max_gap = check_number("max_gap (--max-gap)", self.max_gap, low=0.0, high=1.0, example="0.10")
        if self.max_rows is not None:
            self.max_rows = check_int("max_rows (--max-rows)", self.max_rows, 100, MAX_ROWS)
        if self.fail_on not in ("never", "warn", "fail"):
            raise ConfigError(f"--fail-on {self.fail_on!r} is unknown: use fail, warn or never.")
        if (self.n_permutations + 1) * self.alpha < 1:
            raise ConfigError(f"{self.n_permutations} permutations cannot show a p-value at or below alpha="
                              f"{self.alpha:g} (the smallest is 1/{self.n_permutations + 1}): use at least "
                              f"{int(np.ceil(1 / self.alpha)) - 1}.")
        if self.feature_permutations and (self.feature_permutations + 1) * self.alpha < 1:
            raise ConfigError(f"{self.feature_permutations} feature permutations cannot show a p-value at or below "
                              f"alpha={self.alpha:g} (the smallest is 1/{self.feature_permutations + 1}): use at "
                              f"least {int(np.ceil(1 / self.alpha)) - 1}, or 0 to skip test 2.")
        if self.id_col is not None and self.id_col == self.target:
            raise ConfigError(f"--id {self.id_col!r} names the target column: give the column of row ids, or "
                              "leave --id out.")
        if self.predictions is not None and self.test is None:
            raise ConfigError("--predictions are predictions of held-out rows: give those rows with --test FILE.")
        self.seed = check_seed(self.seed)
        self.threads = check_threads(self.threads)

    @classmethod
    def small(cls, **overrides) -> AuditConfig:
        """A seconds-long configuration for tests and a first look."""
        return cls(**{**dict(n_permutations=19, model="mlp:32?epochs=15"), **overrides})


@dataclass
class Shortcut:
    """The model retrained with flagged columns held at a constant (their means): its signal without them."""

    columns: list[str]  # one flagged column, or all of them together
    flagged_by: str  # the check(s) that flagged them
    heldout_accuracy: float  # without the columns' information
    p_value: float  # test 1 without them
    gain: float  # (accuracy - majority) / (1 - majority) without them
    confirmed: bool  # the signal is gone without them

    @property
    def label(self) -> str:
        return " and ".join(map(repr, self.columns))


@dataclass
class Verdict:
    label: str  # LEARNED, MEMORISED, SHORTCUT or NO SIGNAL
    level: str  # pass, warn or fail (for --fail-on)
    counts: str  # "1 fail, 1 warn, 5 pass"
    reasons: list[str]  # the evidence, most important first (3 to 5 lines)
    next_steps: list[str]
    checks: list[CheckResult]


@dataclass
class AuditResult:
    config: AuditConfig
    data: dict  # source, rows, features, class counts
    class_names: list[str]
    model: object  # nnprobe.models.ModelInfo
    validation: str  # "3-fold cross-validation" or "a held-out set of N rows"
    train_accuracy: float | None  # the real model's accuracy on its training data (pooled over folds)
    heldout_accuracy: float
    majority_accuracy: float  # the majority baseline's accuracy on the same scored rows
    labels_test: object  # nnprobe.checks.permutation.PermutationTest (test 1)
    features_test: object | None  # test 2, or None
    features_reason: str  # why test 2 did not run
    shortcuts: list[Shortcut]
    verdict: Verdict
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    threads: int = 1


MIN_HELD_OUT = 10  # rows of a held-out file: fewer cannot carry a permutation test's p-value or a verdict


def ids_of(c: AuditConfig) -> str | None:
    """The id column in use: the one given, else "id" unless the target is called so."""
    return c.id_col if c.id_col is not None else (None if c.target == "id" else "id")


def _data(c: AuditConfig):
    from nnprobe.data import align, load

    data = load(c.data, target=c.target, id_col=ids_of(c))
    if c.id_col is not None and data.ids is None and c.data.strip().split(":")[0] not in ("sklearn", "synth"):
        raise DataError(f"{data.source} has no id column {c.id_col!r} (--id): name a column of the file, or leave "
                        "--id out.")
    if not data.is_classification:
        raise DataError(f"{data.source} is a regression set: an audit needs class labels.")
    if c.test is None:
        return data, None
    train, test = align(data, load(c.test, target=c.target, min_classes=1, id_col=ids_of(c)))
    if test.n_samples < MIN_HELD_OUT:
        raise DataError(f"the held-out file {test.source} has {test.n_samples} row(s): a permutation test and a "
                        f"verdict need at least {MIN_HELD_OUT} (hundreds for a useful answer).")
    return train, test


def _model(c: AuditConfig, data, test, device: str):
    """The model to audit, and a note on it ("" when there is none)."""
    from nnprobe.models import PredictionsModel, from_spec

    if c.predictions is None:
        return from_spec(c.model, n_features=data.n_features, class_names=data.class_names, device=str(device)), ""
    from nnprobe.data.predictions import load_heldout_predictions

    given = load_heldout_predictions(c.predictions, test, id_col=ids_of(c) or "id")
    return PredictionsModel(given.predicted, n_classes=data.n_classes, probabilities=given.probabilities,
                            name=f"predictions from {c.predictions} (matched by {given.matched_by})"), given.note


def load(config: AuditConfig):
    """(data, held-out set or None, model, note on the model): everything the audit reads from files."""
    from nnprobe.nn import resolve_device

    data, test = _data(config)
    model, model_note = _model(config, data, test, resolve_device(device_for(config.executor, config.device)))
    return data, test, model, model_note


def run(config: AuditConfig, inputs, progress: Progress = no_progress) -> AuditResult:
    """Audit the configured model on the configured data (see the module docstring for the verdicts)."""
    from nnprobe.checks.baseline import class_balance
    from nnprobe.checks.permutation import permutation_tests
    from nnprobe.limits import step_flops
    from nnprobe.models import MLPModel
    from nnprobe.nn import resolve_device
    from nnprobe.threads import resolve_threads, using_threads

    t0 = time.perf_counter()
    c = config
    device = resolve_device(device_for(c.executor, c.device))
    executor = make_executor(c.executor, c.ray_address)
    chunk_size = c.chunk_size if c.chunk_size is not None or c.executor == "local" else RAY_CHUNK
    data, test, model, model_note = inputs
    _check_work(c, model, data, test, device, chunk_size)
    flops = step_flops(model.spec.sizes, c.n_permutations + 1, model.config.batch_size or data.n_samples) \
        if isinstance(model, MLPModel) else 1e12  # other models: as parallel as the free cores allow
    threads = executor.task_threads or resolve_threads(c.threads, flops)
    with using_threads(threads):
        tests = permutation_tests(model, data.X, data.y, X_test=None if test is None else test.X,
                                  y_test=None if test is None else test.y, cv=c.cv, n_permutations=c.n_permutations,
                                  seed=derive_seed(c.seed, 1), feature_permutations=c.feature_permutations,
                                  executor=executor, chunk_size=chunk_size,
                                  progress=lambda done, total: progress(done, total + 1))
        saved_note = _score_saved_model(model, data, test, tests)
        checks = _checks(c, data, test, tests)
        flagged = _flagged_columns(checks, data.feature_names)
        shortcuts = _shortcuts(c, model, data, test, flagged, _gain(tests, data), executor, chunk_size) \
            if model.info.can_refit else []
    progress(1, 1)
    labels = tests.labels
    majority = _majority(tests, data)
    checks = [class_balance(data.y, data.class_names), *checks, *_test_checks(c, labels)]
    result = AuditResult(
        config=c, data=data.describe(), class_names=data.class_names, model=model.info,
        validation=tests.validation, train_accuracy=labels.observed_train, heldout_accuracy=labels.observed,
        majority_accuracy=majority, labels_test=labels, features_test=tests.features,
        features_reason=tests.features_reason, shortcuts=shortcuts,
        verdict=None, device=str(device), threads=threads,
    )
    result.verdict = decide(result, checks)
    result.notes = [note for note in (labels.note, saved_note, model_note) if note]
    if flagged and not model.info.can_refit:
        result.notes.append(f"column(s) {', '.join(map(repr, flagged))} flagged by the leakage checks could not be "
                            f"retested without: {model.info.no_refit_reason}")
    if len(flagged) > MAX_SHORTCUT_COLUMNS and model.info.can_refit:
        result.notes.append(f"{len(flagged)} columns flagged by the leakage checks; the {MAX_SHORTCUT_COLUMNS} "
                            "strongest were retested without")
    if data.ids is not None:
        result.notes.append(f"column {ids_of(c)!r} holds row ids: not used as a feature")
    result.seconds = time.perf_counter() - t0
    return result


def _majority(tests, data) -> float:
    """Accuracy of always predicting the training data's majority class, on the rows ``tests`` scored."""
    return float(np.mean(tests.scored_labels == np.bincount(data.y).argmax()))


def _gain(tests, data) -> float:
    """The model's held-out gain over the majority baseline."""
    from nnprobe.checks.baseline import gain

    return gain(tests.labels.observed, _majority(tests, data))


def _check_work(c: AuditConfig, model, data, test, device, chunk_size: int | None) -> None:
    """Refuse, before any training, a permutation test that cannot fit in memory or time (nnprobe's MLP: its
    B + 1 networks, ``chunk_size`` of them trained at once; any model: the B + 1 label rows)."""
    from nnprobe.limits import check_memory, check_training
    from nnprobe.models import MLPModel

    rows = data.n_samples if test is not None else data.n_samples - data.n_samples // c.cv
    held_out = test.n_samples if test is not None else data.n_samples - rows
    fix = "lower --permutations or --chunk-size, or audit a sample of the rows"
    if isinstance(model, MLPModel):
        recipe = model.recipe(rows)
        check_training(f"the permutation test ({c.n_permutations + 1} networks {model.spec} on {rows} rows)", fix,
                       sizes=model.spec.sizes, members=c.n_permutations + 1, rows=rows, epochs=recipe.epochs,
                       batch_size=recipe.batch_size, eval_rows=rows + held_out, labels_per_member=True,
                       device=str(device), at_once=chunk_size)
    else:
        check_memory(8.0 * (c.n_permutations + 1) * (rows + held_out),
                     f"the permutation test's {c.n_permutations + 1} label rows of {rows + held_out} rows", fix)


def _score_saved_model(model, data, test, tests) -> str:
    """A user's saved, fitted model is audited as it is: with a held-out file, test 1's observed accuracy is its
    own (the null: clones of it refitted on permuted labels). Returns a note saying what was scored."""
    from nnprobe.checks.permutation import with_observed

    if not getattr(model, "saved", False):
        return ""
    refitted = tests.labels.observed
    if test is None:
        own = float(np.mean(model.predict(data.X) == data.y))
        return (f"the saved model scores {own:.3f} on these rows, which it may have been trained on: without a "
                f"held-out file (--test) the audit judges the estimator refitted by cross-validation ({refitted:.3f} "
                "held out)")
    predicted = model.predict(test.X)
    tests.predictions = predicted
    tests.labels = with_observed(tests.labels, float(np.mean(predicted == test.y)),
                                 float(np.mean(model.predict(data.X) == data.y)))
    return (f"the saved model is scored as it is ({tests.labels.observed:.3f} held out; the same estimator refitted "
            f"on the training file scores {refitted:.3f}); the null copies are clones of it refitted on permuted "
            "labels")


def _checks(c: AuditConfig, data, test, tests) -> list[CheckResult]:
    """The checks of the data, and the lift of the model's held-out predictions over the majority baseline."""
    from nnprobe.checks import baseline, leakage
    from nnprobe.checks.permutation import splits_for

    scored = baseline.scores(tests.scored_labels, tests.predictions, data.n_classes)
    majority = np.bincount(data.y, minlength=data.n_classes).argmax()
    floor = baseline.scores(tests.scored_labels, np.full_like(tests.scored_labels, majority), data.n_classes)
    if test is None:  # the first fold stands for the train/test pair of the contamination and importance checks
        split = splits_for(data.y, cv=c.cv, seed=derive_seed(c.seed, 1))[0]
        train_x, train_y, test_x, test_y = data.X[split.train], data.y[split.train], data.X[split.test], \
            data.y[split.test]
    else:
        train_x, train_y, test_x, test_y = data.X, data.y, test.X, test.y
    return [
        baseline.lift_over_baseline(scored, floor, model_name="The model"),
        leakage.single_feature_power(data.X, data.y, data.feature_names, seed=c.seed, max_rows=c.max_rows),
        leakage.identifier_leakage(data.X, data.y, data.feature_names, seed=c.seed, max_rows=c.max_rows),
        leakage.contamination(train_x, train_y, test_x, test_y),
        leakage.importance_concentration(train_x, train_y, test_x, test_y, data.feature_names, seed=c.seed,
                                         max_rows=None if c.max_rows is None else c.max_rows // 2),
    ]


def _test_checks(c: AuditConfig, labels) -> list[CheckResult]:
    """Test 1 and the memorisation gap as checks."""
    significant = labels.p_value <= c.alpha
    checks = [CheckResult(
        "permutation test (labels)", "pass" if significant else "fail",
        f"Held-out accuracy {labels.observed:.3f} against {np.mean(labels.null):.3f} (at most "
        f"{np.max(labels.null):.3f}) for the same model trained on permuted labels: p = {labels.p_value:.3g} "
        f"({'at most' if significant else 'above'} {c.alpha:g}; the smallest p that {labels.n_permutations} "
        f"permutations can show is {labels.smallest_p:.3g}).",
        {"observed": labels.observed, "p_value": labels.p_value, "null_mean": float(np.mean(labels.null)),
         "smallest_p": labels.smallest_p, "p_interval": list(labels.p_interval)})]
    if labels.observed_train is not None:
        gap = labels.observed_train - labels.observed
        null_gap = labels.null_train - labels.null
        checks.append(CheckResult(
            "memorisation gap", "warn" if gap >= c.max_gap else "pass",
            f"Training accuracy {labels.observed_train:.3f} against held-out {labels.observed:.3f}: a gap of "
            f"{gap:.3f} ({'at least' if gap >= c.max_gap else 'below'} {c.max_gap:g}). On permuted labels the same "
            f"model reaches {np.mean(labels.null_train):.3f} training accuracy (its capacity to memorise), a gap "
            f"of {np.mean(null_gap):.3f}.",
            {"gap": gap, "train_accuracy": labels.observed_train, "null_train_mean": float(np.mean(labels.null_train)),
             "null_gap_mean": float(np.mean(null_gap)), "threshold": c.max_gap}))
    return checks


def _flagged_columns(checks: list[CheckResult], feature_names: list[str]) -> dict[str, str]:
    """Columns a leakage check fails on, strongest first -> the check's name."""
    flagged: dict[str, str] = {}
    for check in checks:
        if check.status != "fail" or check.name not in ("single-feature leakage", "identifier and order leakage"):
            continue
        threshold = check.values["thresholds"][1]
        for column, score in sorted(check.values.get("balanced_accuracy", {}).items(), key=lambda kv: -kv[1]):
            if score >= threshold and column in feature_names:
                flagged.setdefault(column, check.name)
    return flagged


def _shortcuts(c: AuditConfig, model, data, test, flagged: dict[str, str], gain_with: float, executor,
               chunk_size: int | None) -> list[Shortcut]:
    """The model retrained with each flagged column (at most MAX_SHORTCUT_COLUMNS, strongest first) held at its
    mean, and with all of them together when there are several (a leak copied into two columns survives the loss
    of either), each followed by test 1 again. Confirmed: test 1 fails without them, or the gain over the majority
    baseline falls below SHORTCUT_GAIN and to at most half of ``gain_with``, the model's gain with every column."""
    from nnprobe.checks.baseline import gain
    from nnprobe.checks.permutation import permutation_tests

    columns = list(flagged)[:MAX_SHORTCUT_COLUMNS]
    groups = [[column] for column in columns] + ([columns] if len(columns) > 1 else [])
    out = []
    for group in groups:
        js = [data.feature_names.index(column) for column in group]
        X = data.X.copy()
        X[:, js] = X[:, js].mean(axis=0)  # the columns' information gone, the model's input shape kept
        X_test = None
        if test is not None:
            X_test = test.X.copy()
            X_test[:, js] = X[0, js]
        tests = permutation_tests(model, X, data.y, X_test=X_test, y_test=None if test is None else test.y,
                                  cv=c.cv, n_permutations=c.n_permutations, seed=derive_seed(c.seed, 2, *js),
                                  feature_permutations=0, executor=executor, chunk_size=chunk_size)
        g = gain(tests.labels.observed, _majority(tests, data))
        lost = tests.labels.p_value > c.alpha or (g < SHORTCUT_GAIN and g <= gain_with / 2)
        out.append(Shortcut(group, " and ".join(dict.fromkeys(flagged[column] for column in group)),
                            tests.labels.observed, tests.labels.p_value, g, lost))
    return out


def decide(r: AuditResult, checks: list[CheckResult]) -> Verdict:
    """The verdict of the module docstring, with its evidence lines and what to do next."""
    c, labels = r.config, r.labels_test
    significant = labels.p_value <= c.alpha
    confirmed = [s for s in r.shortcuts if s.confirmed]
    gap = None if r.train_accuracy is None else r.train_accuracy - r.heldout_accuracy
    chance = (f"held-out accuracy {r.heldout_accuracy:.3f} against {np.mean(labels.null):.3f} on permuted labels "
              f"(p = {labels.p_value:.3g}; majority baseline {r.majority_accuracy:.3f})")
    if not significant:
        label = "NO SIGNAL"
        reasons = [f"Not above chance: {chance}."]
        if labels.null_train is not None:
            reasons.append(f"It reaches {np.mean(labels.null_train):.3f} training accuracy on permuted labels: "
                           "what it fits on these data can be memorised noise.")
        steps = ["Check that the target column is the one you mean and that the features can carry it.",
                 "Look for more informative features or more rows; a bigger model will only memorise more."]
    elif confirmed:
        label = "SHORTCUT"
        s = confirmed[0]
        reasons = [f"Above chance: {chance}.",
                   f"Without {s.label} (flagged by the {s.flagged_by} check) the model scores "
                   f"{s.heldout_accuracy:.3f} held out (majority baseline {r.majority_accuracy:.3f}), p = "
                   f"{s.p_value:.3g}: the column carries the model."]
        steps = [f"Find out how {s.label} is recorded: a column that alone determines the target is usually "
                 "the target in disguise (recorded after the outcome, or derived from it).",
                 "If it will not be available at prediction time, drop it and audit again."]
    elif gap is not None and gap >= c.max_gap:
        label = "MEMORISED"
        reasons = [f"Above chance: {chance}.",
                   f"But training accuracy {r.train_accuracy:.3f} exceeds held-out by {gap:.3f} (threshold "
                   f"{c.max_gap:g}): much of the fit does not generalise; on permuted labels the same model "
                   f"reaches {np.mean(labels.null_train):.3f} training accuracy."]
        steps = ["Regularise (weight decay, fewer epochs, a smaller model) or get more rows, and audit again.",
                 "Judge the model by its held-out accuracy, never by its training accuracy."]
    else:
        label = "LEARNED"
        reasons = [f"Above chance: {chance}."]
        if gap is not None:
            reasons.append(f"Training and held-out accuracy agree within {gap:.3f}.")
        steps = ["Keep the held-out set untouched for the final number, and compare with a simpler model (e.g. "
                 "sklearn:LogisticRegression) before trusting the extra complexity."]
    if r.features_test is not None:
        f = r.features_test
        reasons.append("Test 2 (features permuted within classes): " + (
            f"held-out accuracy drops to {np.mean(f.null):.3f}, p = {f.p_value:.3g}: the model uses dependencies "
            "between features." if f.p_value <= c.alpha else
            f"the model reaches {np.mean(f.null):.3f} without the dependencies between features (p = "
            f"{f.p_value:.3g}): each feature's relation to the class is enough."))
    flagged = [x for x in checks if x.status == "fail" and x.name not in ("permutation test (labels)",)]
    if flagged and label != "SHORTCUT":
        reasons.append("Failing check(s): " + "; ".join(x.name for x in flagged) + " (see below).")
    return Verdict(label, LEVEL[label], count_line(checks), reasons[:5], steps, checks)


def reaches(verdict: Verdict, fail_on: str) -> bool:
    """Whether the worst of the verdict's level and its checks' statuses reaches ``fail_on`` ("warn" or "fail";
    never for "never"): the exit code 3 of ``--fail-on``."""
    if fail_on == "never":
        return False
    level = max(verdict.level, worst(verdict.checks), key=STATUSES.index)
    return STATUSES.index(level) >= STATUSES.index(fail_on)
