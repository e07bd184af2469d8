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
                      feature_permutations: int = 20, progress=None) -> PermutationResult:
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
    progress : optional callback (done, total)
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
    steps = len(splits) + (1 if feature_permutations else 0)  # a tick per fold of test 1, one for test 2
    done = [0]

    def tick(_done=None, _total=None):
        done[0] += 1
        if progress is not None:
            progress(done[0], steps)

    test1 = _pooled([model.fit_many(X_all[s.train], labels[:, s.train], X_all[s.test], labels[:, s.test],
                                    seeds=seeds) for s in _ticking(splits, tick)], splits)
    scored = np.concatenate([s.test for s in splits])
    result = PermutationResult(
        labels=_test("labels", test1["test"][0], test1["test"][1:], observed_train=float(test1["train"][0]),
                     null_train=test1["train"][1:], path=test1["path"]),
        features=None, features_reason="" if feature_permutations else "not asked for",
        predictions=test1["predictions"], scored_labels=y_all[scored],
        validation=f"a held-out set of {len(y_test)} rows" if held_out else f"{cv}-fold cross-validation")
    if feature_permutations:
        feature_seeds = [int(s) for s in rng.integers(0, 2**32 - 1, size=feature_permutations)]
        result.features = _feature_test(model, X_all, y_all, labels[0], splits, feature_seeds, rng, held_out, tick,
                                        observed=result.labels.observed)
    return result


def _ticking(splits, tick):
    for s in splits:
        yield s
        tick()


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


def _feature_test(model, X_all, y_all, labels0, splits, seeds, rng, held_out, tick, *, observed) -> PermutationTest:
    """Test 2: each copy trains (and, with cross-validation, is scored) on data whose feature columns are
    permuted within each class."""
    B = len(seeds)
    n, d = X_all.shape
    # with a held-out set only the training rows are permuted; with cross-validation the whole data set
    permuted_rows = splits[0].train if held_out else np.arange(n)
    chunk = max(1, min(B, MEMBERS_MEMORY // max(1, 4 * n * d)))
    test_acc, train_acc, path = np.zeros(B), np.zeros(B), ""
    for start in range(0, B, chunk):
        members = range(start, min(B, start + chunk))
        inputs = np.repeat(X_all[None], len(members), axis=0)  # [m, n, d]
        for i, _ in enumerate(members):
            inputs[i, permuted_rows] = permute_within_classes(X_all[permuted_rows], y_all[permuted_rows], rng)
        scores = []
        for s in splits:
            y_rows = np.tile(labels0, (len(members), 1))
            scores.append(model.fit_many(X_all[s.train], y_rows[:, s.train], inputs[:, s.test] if not held_out else
                                         X_all[s.test], y_rows[:, s.test], seeds=[seeds[m] for m in members],
                                         inputs=inputs[:, s.train]))
        pooled = _pooled(scores, splits)
        test_acc[start:start + len(members)] = pooled["test"]
        train_acc[start:start + len(members)] = pooled["train"]
        path = pooled["path"]
    tick()
    return _test("features within classes", observed, test_acc, null_train=train_acc, path=path)


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
