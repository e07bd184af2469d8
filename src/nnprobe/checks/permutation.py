"""Permutation tests of a classifier (Ojala & Garriga 2010, "Permutation Tests for Studying Classifier
Performance", JMLR 11): is its held-out accuracy more than a model of the same kind reaches when the labels carry
no information (test 1: labels permuted), or when the features keep their class-conditional distributions but
lose every dependency between them (test 2: each feature column permuted within each class)?

Each permuted copy of the data trains a fresh copy of the model, the same way the real one is trained; all copies
of a test train together where the model allows (``Model.fit_many``: one batched ensemble for nnprobe's MLP,
``torch.func`` for a torch module, joblib for scikit-learn). A model that cannot be retrained (a function,
precomputed predictions) gets test 1 in the only form left: its fixed held-out predictions against permuted
held-out labels.

p-value: ``(count(null >= observed) + 1) / (B + 1)``, scikit-learn's ``permutation_test_score`` convention: the
observed model counts as one of the B + 1 equally likely arrangements under the null, so the smallest p-value B
permutations can give is 1 / (B + 1). Its Clopper-Pearson interval says how much a larger B could move it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnprobe.executors import Local, chunks_of
from nnprobe.models.base import FitScores, Model

# bytes of per-copy inputs (test 2) trained at once, more copies in chunks: the fits' copies of them (row
# selections per fold, standardised float64 and float32 versions, tensors) peak at about 6x this
MEMBERS_MEMORY = 2**28


@dataclass
class PermutationTest:
    """One permutation test: the observed held-out accuracy against its null distribution."""

    name: str  # "labels" (test 1) or "features within classes" (test 2)
    observed: float  # held-out accuracy of the model trained on the real data
    null: np.ndarray  # [B] held-out accuracy of each copy trained on permuted data
    p_value: float  # (count(null >= observed) + 1) / (B + 1)
    smallest_p: float  # 1 / (B + 1): what B permutations can show at best
    p_interval: tuple[float, float]  # Clopper-Pearson 95% interval of the p-value's true value
    observed_train: float | None = None  # the real model's accuracy on its training data
    null_train: np.ndarray | None = None  # [B] each copy's accuracy on its own (permuted) training data
    path: str = ""  # how the copies were trained
    note: str = ""  # how this test ran, where it is not the usual way

    @property
    def n_permutations(self) -> int:
        return len(self.null)


@dataclass
class Split:
    """Training rows and held-out rows of one fold (or of the train/test pair)."""

    train: np.ndarray
    test: np.ndarray


@dataclass
class PermutationResult:
    """Both tests, and the real model's out-of-sample predictions."""

    labels: PermutationTest
    features: PermutationTest | None  # None where the model cannot be retrained
    features_reason: str  # why test 2 did not run ("" when it did)
    predictions: np.ndarray  # [n_scored] the real model's held-out predicted classes (out-of-fold with CV)
    scored_labels: np.ndarray  # [n_scored] their true classes
    validation: str  # "held-out set of N rows" or "K-fold cross-validation"


def permutation_p_value(observed: float, null: np.ndarray) -> float:
    """``(count(null >= observed) + 1) / (B + 1)``."""
    null = np.asarray(null)
    return float((np.count_nonzero(null >= observed) + 1) / (len(null) + 1))


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial probability from ``successes`` out of ``trials``."""
    from scipy.stats import beta

    tail = (1 - level) / 2
    low = 0.0 if successes == 0 else float(beta.ppf(tail, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1 - tail, successes + 1, trials - successes))
    return low, high


def _test(name: str, observed: float, null: np.ndarray, **extra) -> PermutationTest:
    """A PermutationTest with its p-value, smallest possible p-value and the p-value's interval."""
    B = len(null)
    exceed = int(np.count_nonzero(np.asarray(null) >= observed))
    return PermutationTest(name, float(observed), np.asarray(null, dtype=float), (exceed + 1) / (B + 1), 1 / (B + 1),
                           clopper_pearson(exceed, B), **extra)


def with_observed(test: PermutationTest, observed: float, observed_train: float | None) -> PermutationTest:
    """``test`` with another observed model's accuracies (its null distribution kept), and its p-value anew."""
    return _test(test.name, observed, test.null, observed_train=observed_train, null_train=test.null_train,
                 path=test.path, note=test.note)


def permuted_labels(y: np.ndarray, n_permutations: int, rng: np.random.Generator) -> np.ndarray:
    """``[B + 1, n]``: row 0 the labels as they are, then B independent permutations of them."""
    return np.stack([y] + [rng.permutation(y) for _ in range(n_permutations)])


def permute_within_classes(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``X`` whose every column is permuted independently among the rows of each class: each class keeps
    each feature's distribution, and loses every dependency between features."""
    out = np.empty_like(X)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        order = rng.permuted(np.tile(np.arange(len(rows)), (X.shape[1], 1)), axis=1)  # [d, n_c], one per column
        out[rows] = X[rows[order], np.arange(X.shape[1])[:, None]].T
    return out


def splits_for(y: np.ndarray, *, cv: int, seed: int) -> list[Split]:
    """K-fold splits of the rows of ``y`` in a seeded shuffled order.

    Not stratified, on purpose: folds chosen from the real labels would match every fold's class shares for the
    real labels only, and give the real model an edge over every permuted copy (measured: p <= 0.05 in 2 of 2
    seeded tries on random labels). Folds that ignore the labels keep the real and the permuted labelings
    exchangeable, which the test needs; scikit-learn's permutation_test_score re-splits each permutation instead,
    which would give every copy its own training rows, and so no shared inputs to train them together on.
    """
    from sklearn.model_selection import KFold

    folds = KFold(n_splits=cv, shuffle=True, random_state=seed)
    return [Split(train, test) for train, test in folds.split(np.zeros(len(y)))]


def permutation_tests(model: Model, X: np.ndarray, y: np.ndarray, *, X_test: np.ndarray | None = None,
                      y_test: np.ndarray | None = None, cv: int = 3, n_permutations: int = 100, seed: int = 0,
                      feature_permutations: int = 20, executor=None, chunk_size: int | None = None,
                      progress=None) -> PermutationResult:
    """Test 1 (labels) and test 2 (features within classes) of ``model`` on the data.

    With ``X_test``: the copies train on ``X``, ``y`` (permuted) and are scored on the real held-out rows. Without:
    ``cv``-fold cross-validation (see :func:`splits_for`), each permutation applied to the whole data set before
    the folds, as Ojala & Garriga and scikit-learn's ``permutation_test_score`` do; accuracies pooled over folds.

    Parameters
    ----------
    model : Model (retrained where ``model.info.can_refit``; else test 1 on its fixed predictions)
    X, y : float32 features (n, d) and class indices (n,)
    X_test, y_test : optional separate held-out rows
    cv : folds without a separate held-out set
    n_permutations : B, the permutations of test 1
    seed : seed of the permutations, the folds and the copies' initialisations
    feature_permutations : the permutations of test 2 (0: test 2 does not run); a secondary diagnostic, and
        each copy trains on inputs of its own, so fewer than test 1's by default
    executor : where the batched fits run (nnprobe.executors: Local, the default, or Ray)
    chunk_size : copies per batched fit (a task on Ray) [default: all of test 1 at once; test 2 as memory allows]
    progress : optional callback (done, total), called as the batched fits finish

    Every permutation and every copy's seed is drawn here, before any fit is scheduled, so the results do not
    depend on the executor; with the same ``chunk_size`` they are the same bit for bit.
    """
    rng = np.random.default_rng(seed)
    if not model.info.can_refit:
        held_out = X_test is not None
        return _fixed_predictions_test(model, X_test if held_out else X, y_test if held_out else y, n_permutations,
                                       rng, f"a held-out set of {len(y_test)} rows" if held_out else
                                       f"the {len(y)} rows of the data (the model is not trained on them here)")
    held_out = X_test is not None
    splits = [Split(np.arange(len(y)), np.arange(len(y), len(y) + len(y_test)))] if held_out else \
        splits_for(y, cv=cv, seed=seed)
    X_all = np.concatenate([X, X_test]) if held_out else X
    y_all = np.concatenate([y, y_test]) if held_out else y
    labels = permuted_labels(y, n_permutations, rng)  # [B + 1, n]
    if held_out:  # the copies are scored on the real held-out labels
        labels = np.concatenate([labels, np.tile(y_test, (n_permutations + 1, 1))], axis=1)
    seeds = [int(s) for s in rng.integers(0, 2**32 - 1, size=n_permutations + 1)]
    executor = executor or Local()
    test1_tasks = [(members, f) for members in chunks_of(n_permutations + 1, chunk_size) for f in range(len(splits))]
    test2_tasks = []
    feature_seeds: list[int] = []
    if feature_permutations:
        feature_seeds = [int(s) for s in rng.integers(0, 2**32 - 1, size=feature_permutations)]
        n, d = X_all.shape
        fits = max(1, min(feature_permutations, MEMBERS_MEMORY // max(1, 4 * n * d)))  # inputs [m, n, d] in memory
        test2_tasks = [(members, f) for members in chunks_of(feature_permutations, min(fits, chunk_size or fits))
                       for f in range(len(splits))]
    total = len(test1_tasks) + len(test2_tasks)

    def tick(offset):
        return None if progress is None else lambda done, _: progress(offset + done, total)

    shared = _Shared(model, X_all, y_all, labels, splits, seeds, held_out, feature_seeds)
    test1 = _pooled(_gathered(executor.map(_labels_fit, shared, test1_tasks, tick(0)), test1_tasks, splits,
                              executor), splits)
    scored = np.concatenate([s.test for s in splits])
    result = PermutationResult(
        labels=_test("labels", test1["test"][0], test1["test"][1:], observed_train=float(test1["train"][0]),
                     null_train=test1["train"][1:], path=test1["path"]),
        features=None, features_reason="" if feature_permutations else "not asked for",
        predictions=test1["predictions"], scored_labels=y_all[scored],
        validation=f"a held-out set of {len(y_test)} rows" if held_out else f"{cv}-fold cross-validation")
    if feature_permutations:
        test2 = _pooled(_gathered(executor.map(_features_fit, shared, test2_tasks, tick(len(test1_tasks))),
                                  test2_tasks, splits, executor), splits)
        result.features = _test("features within classes", result.labels.observed, test2["test"],
                                null_train=test2["train"], path=test2["path"])
    return result


@dataclass
class _Shared:
    """What every batched fit of both tests reads (sent once to a cluster's object store)."""

    model: Model
    X: np.ndarray  # [n_all, d] training rows, then the held-out rows where there are any
    y: np.ndarray  # [n_all] the real classes
    labels: np.ndarray  # [B + 1, n_all] test 1's labelings: the real one, then the permutations
    splits: list[Split]
    seeds: list[int]  # [B + 1] test 1's copies' initialisation seeds
    held_out: bool  # a separate held-out set (only the training rows are permuted in test 2)
    feature_seeds: list[int]  # [B2] test 2's copies' seeds (of their inputs' permutations and initialisations)


def _labels_fit(shared: _Shared, task: tuple[range, int]) -> FitScores:
    """Test 1, one batched fit: the copies ``members`` trained on their labelings of fold ``fold``."""
    members, fold = task
    s, rows = shared.splits[fold], shared.labels[members.start:members.stop]
    return shared.model.fit_many(shared.X[s.train], rows[:, s.train], shared.X[s.test], rows[:, s.test],
                                 seeds=shared.seeds[members.start:members.stop])


def _features_fit(shared: _Shared, task: tuple[range, int]) -> FitScores:
    """Test 2, one batched fit: the copies ``members`` trained (and, with cross-validation, scored) on fold
    ``fold`` of data whose feature columns are permuted within each class, each copy by its own seed."""
    members, fold = task
    X, y, s = shared.X, shared.y, shared.splits[fold]
    # with a held-out set only the training rows are permuted; with cross-validation the whole data set
    permuted_rows = shared.splits[0].train if shared.held_out else np.arange(len(y))
    inputs = np.repeat(X[None], len(members), axis=0)  # [m, n_all, d]
    for i, m in enumerate(members):
        rng = np.random.default_rng([shared.feature_seeds[m], 1])  # the copy's own permutation, wherever it runs
        inputs[i, permuted_rows] = permute_within_classes(X[permuted_rows], y[permuted_rows], rng)
    real = np.tile(shared.labels[0], (len(members), 1))  # [m, n_all]
    return shared.model.fit_many(X[s.train], real[:, s.train], X[s.test] if shared.held_out else inputs[:, s.test],
                                 real[:, s.test], seeds=[shared.feature_seeds[m] for m in members],
                                 inputs=inputs[:, s.train])


def _gathered(results: list[FitScores], tasks: list[tuple[range, int]], splits: list[Split], executor) -> list:
    """Per fold, the scores of every copy in member order, from the batched fits of ``tasks`` (in task order)."""
    chunks = sorted({members.start: members for members, _ in tasks}.values(), key=lambda r: r.start)
    by_task = {(members.start, fold): r for (members, fold), r in zip(tasks, results)}
    gathered = []
    for fold in range(len(splits)):
        parts = [by_task[(members.start, fold)] for members in chunks]
        path = parts[0].path + ("" if len(chunks) == 1 else f"; {len(chunks)} chunks on {executor.name}")
        gathered.append(FitScores(np.concatenate([p.train_accuracy for p in parts]),
                                  np.concatenate([p.test_accuracy for p in parts]),
                                  parts[0].first_test_predictions, path))
    return gathered


def _pooled(scores: list[FitScores], splits: list[Split]) -> dict:
    """Accuracies pooled over folds (weighted by the rows each fold scores), and member 0's predictions."""
    weights = np.array([len(s.test) for s in splits], dtype=float)
    train_weights = np.array([len(s.train) for s in splits], dtype=float)
    return {
        "test": sum(w * f.test_accuracy for w, f in zip(weights, scores)) / weights.sum(),
        "train": sum(w * f.train_accuracy for w, f in zip(train_weights, scores)) / train_weights.sum(),
        "predictions": np.concatenate([f.first_test_predictions for f in scores]),
        "path": scores[0].path,
    }


def _fixed_predictions_test(model: Model, X: np.ndarray, y: np.ndarray, n_permutations: int,
                            rng: np.random.Generator, validation: str) -> PermutationResult:
    """Test 1 for a model that cannot be retrained: its held-out predictions against permuted held-out labels."""
    predicted = model.predict(X)
    labels = permuted_labels(y, n_permutations, rng)
    accuracy = (labels == predicted).mean(axis=1)  # [B + 1]
    test = _test("labels", accuracy[0], accuracy[1:], path="no retraining: the held-out labels permuted",
                 note=f"{model.info.no_refit_reason}: its fixed predictions are compared with permuted held-out "
                      "labels, which tests whether they depend on the labels at all, not what retraining would find")
    return PermutationResult(test, None, model.info.no_refit_reason, predicted, y, validation)
