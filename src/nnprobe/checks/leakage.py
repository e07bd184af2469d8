"""Leakage checks: a single feature that nearly determines the target, identifier and row-order leaks,
train/test contamination, and feature importance concentrated on one feature."""

from __future__ import annotations

import warnings

import numpy as np
from joblib import parallel_config
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from nnprobe.checks import CheckResult, graded
from nnprobe.errors import DataError

SINGLE_FAIL, SINGLE_WARN = 0.97, 0.90  # balanced accuracy of one feature alone (breast_cancer's best: 0.89)
ORDER_FAIL, ORDER_WARN = 0.90, 0.75  # balanced accuracy of the row index or an ID-like column alone
SHARE_FAIL, SHARE_WARN = 0.8, 0.5  # share of the importance carried by the top feature
MAX_CHECKED = 50  # features a costly check looks at one by one; wider tables are screened first
SCREEN_ROWS = 2000  # rows of the quick screen of a wide table


def subsample(y: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """Row indices: all rows, or a seeded sample of about ``max_rows`` stratified by class, keeping at least
    3 rows of every class (all of a rarer one), so a sample never loses a class. Sorted, so order checks
    still see the order."""
    n = len(y)
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        take = min(len(rows), max(3, round(max_rows * len(rows) / n)))
        keep.append(rng.choice(rows, size=take, replace=False))
    return np.sort(np.concatenate(keep))


def _tree_scale(X: np.ndarray) -> np.ndarray:
    """Per column of ``X`` (2-D), what to divide it by for scikit-learn's trees, whose checks sum columns in
    float32: a column beyond ±1e30 by its largest magnitude, the others by 1. Trees split on orderings, which a
    positive scale keeps, so their results are the same."""
    peak = np.abs(np.asarray(X, dtype=np.float64)).max(axis=0, initial=0.0)
    return np.where(peak > 1e30, peak, 1.0)


def _tree_ready(X: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """``X`` in float64 divided by ``scale`` (by default its own :func:`_tree_scale`)."""
    return np.asarray(X, dtype=np.float64) / (_tree_scale(X) if scale is None else scale)


def _tree_score(column: np.ndarray, y: np.ndarray, seed: int) -> float:
    """3-fold cross-validated balanced accuracy of a depth-3 tree on one column."""
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2 or counts.min() < 2:
        raise DataError("leakage checks need at least 2 classes with at least 2 rows each: add rows of the rare "
                        "classes or drop them.")
    folds = StratifiedKFold(n_splits=min(3, int(counts.min())), shuffle=True, random_state=seed)
    tree = DecisionTreeClassifier(max_depth=3, random_state=seed)
    return float(cross_val_score(tree, _tree_ready(column.reshape(-1, 1)), y, cv=folds,
                                 scoring="balanced_accuracy").mean())


def _sample_note(n_used: int, n_total: int) -> str:
    return f" (on a random sample of {n_used} of {n_total} rows)" if n_used < n_total else ""


def _screen(X, y, seed: int, keep: int) -> np.ndarray:
    """Column indices of the ``keep`` features that predict ``y`` best alone in a quick screen: one depth-3 tree
    per feature on half of a stratified sample of about SCREEN_ROWS rows, scored (balanced accuracy) on the other
    half. Wide tables are screened so that the costly checks look at the features that matter."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import train_test_split

    rows = subsample(y, SCREEN_ROWS, seed)
    fit, held = train_test_split(rows, test_size=0.5, random_state=seed, stratify=y[rows])
    sample = _tree_ready(X[fit]), _tree_ready(X[held], _tree_scale(X[fit]))
    scores = []
    for j in range(X.shape[1]):
        tree = DecisionTreeClassifier(max_depth=3, random_state=seed).fit(sample[0][:, j : j + 1], y[fit])
        scores.append(balanced_accuracy_score(y[held], tree.predict(sample[1][:, j : j + 1])))
    return np.sort(np.argsort(scores, kind="stable")[::-1][:keep])


def _screen_note(kept: int, total: int) -> str:
    return f" (of the {kept} strongest of {total} features in a first screen)" if kept < total else ""


def single_feature_power(X, y, names, *, seed: int = 0, max_rows: int | None = 20000) -> CheckResult:
    """Each feature alone, through a shallow tree: does one nearly determine the target?

    Each feature's tree is scored by cross-validation; beyond MAX_CHECKED features, only the MAX_CHECKED that a
    first screen finds strongest (see :func:`_screen`).
    """
    rows = subsample(y, max_rows, seed)
    columns = _screen(X, y, seed, MAX_CHECKED) if X.shape[1] > MAX_CHECKED else np.arange(X.shape[1])
    per_feature = {names[j]: _tree_score(X[rows, j], y[rows], seed) for j in columns}
    ranked = sorted(per_feature.items(), key=lambda kv: -kv[1])
    top, best = ranked[0]
    values = {"balanced_accuracy": per_feature, "rows_used": int(len(rows)), "features_checked": int(len(columns)),
              "thresholds": [SINGLE_WARN, SINGLE_FAIL]}
    note = _sample_note(len(rows), len(y)) + _screen_note(len(columns), X.shape[1])
    if best >= SINGLE_FAIL:
        bad = [n for n, s in ranked if s >= SINGLE_FAIL]
        return CheckResult("single-feature leakage", "fail",
                           f"{', '.join(repr(b) for b in bad[:5])} alone predict(s) the target with balanced accuracy "
                           f"{best:.3f}{note}: a feature that nearly determines the target is usually the target "
                           "in disguise (recorded after the outcome, or derived from it). Check how it is made.", values)
    status = "warn" if best >= SINGLE_WARN else "pass"
    return CheckResult("single-feature leakage", status,
                       f"The strongest single feature, {top!r}, reaches balanced accuracy {best:.3f} alone{note}"
                       + (": strong enough to check how it is recorded." if status == "warn" else "."), values)


def identifier_leakage(X, y, names, *, seed: int = 0, max_rows: int | None = 20000) -> CheckResult:
    """The row index, and any integer column unique per row or sorted, as a predictor of the target."""
    rows = subsample(y, max_rows, seed)
    candidates = {"(row order)": rows.astype(np.float64)}
    for j, name in enumerate(names):
        col = X[:, j]
        integer = bool(np.all(np.mod(col, 1) == 0))
        unique = len(np.unique(col)) == len(col)
        diffs = np.diff(col.astype(np.float64))  # float32 differences of values near its limit overflow
        monotone = len(col) > 2 and (bool(np.all(diffs >= 0)) or bool(np.all(diffs <= 0))) and len(np.unique(col)) > 2
        if (integer and unique) or monotone:
            candidates[name] = col[rows]
    per_column = {name: _tree_score(col, y[rows], seed) for name, col in candidates.items()}
    values = {"balanced_accuracy": per_column, "rows_used": int(len(rows)), "thresholds": [ORDER_WARN, ORDER_FAIL]}
    name, best = max(per_column.items(), key=lambda kv: kv[1])
    what = "the row order" if name == "(row order)" else f"the ID-like column {name!r}"
    messages = {
        "fail": f"{what.capitalize()} predicts the target (balanced accuracy {best:.3f}): the rows are grouped or "
                "sorted by class. Shuffle before splitting and drop identifiers from the features.",
        "warn": f"{what.capitalize()} partly predicts the target (balanced accuracy {best:.3f}): check how the rows "
                "were collected and shuffle before splitting.",
        "pass": f"Neither the row order nor any ID-like column predicts the target (best {best:.3f}).",
    }
    return graded("identifier and order leakage", best, warn_at=ORDER_WARN, fail_at=ORDER_FAIL, messages=messages,
                  values=values)


def _row_keys(X: np.ndarray) -> np.ndarray:
    """One hashable key per row: its bytes (identical feature rows have identical keys)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    return X.view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()


def contamination(x_train, y_train, x_test, y_test) -> CheckResult:
    """Test rows whose features also occur in training, and identical features carrying different labels."""
    train_keys, test_keys = _row_keys(x_train), _row_keys(x_test)
    in_train = np.isin(test_keys, train_keys)
    keys = np.concatenate([train_keys, test_keys])
    labels = np.concatenate([y_train, y_test])
    _, group = np.unique(keys, return_inverse=True)
    n_groups = group.max() + 1
    label_sets = np.zeros((n_groups, int(labels.max()) + 1), dtype=bool)
    label_sets[group, labels] = True
    conflicting = label_sets.sum(1) > 1
    values = {"test_rows_in_train": int(in_train.sum()), "test_rows": int(len(test_keys)),
              "conflicting_feature_groups": int(conflicting.sum()),
              "rows_in_conflicting_groups": int(conflicting[group].sum()),
              "duplicate_rows": int(len(keys) - n_groups)}
    problems = []
    if in_train.any():
        problems.append(f"{in_train.sum()} of {len(test_keys)} test rows ({in_train.mean():.1%}) also occur in "
                        "training: their test score measures memory, not generalisation; deduplicate before splitting")
    if conflicting.any():
        problems.append(f"{conflicting.sum()} distinct feature rows carry more than one label "
                        f"({values['rows_in_conflicting_groups']} rows): no model can get them all right")
    if not problems:
        return CheckResult("train/test contamination", "pass",
                           "No test row occurs in training and no identical rows disagree on the label.", values)
    status = "fail" if in_train.mean() > 0.01 else "warn"
    return CheckResult("train/test contamination", status, "; ".join(problems).capitalize() + ".", values)


class _OnColumns(ClassifierMixin, BaseEstimator):
    """A fitted model seen through some of its columns: ``predict`` puts the given columns into a copy of the full
    test rows, so that scikit-learn's permutation_importance permutes only those (it permutes every column it is
    given, and a forest on thousands of columns would take minutes)."""

    def __init__(self, model, X_full: np.ndarray, columns: np.ndarray) -> None:
        self.model, self.X_full, self.columns = model, X_full, columns
        self.classes_ = model.classes_

    def fit(self, X, y):  # permutation_importance takes an estimator; this one is fitted already
        return self

    def predict(self, X_columns: np.ndarray) -> np.ndarray:
        X = self.X_full.copy()
        X[:, self.columns] = X_columns
        return self.model.predict(X)


def importance_concentration(x_train, y_train, x_test, y_test, names, *, seed: int = 0,
                             max_rows: int | None = 10000) -> CheckResult:
    """Random-forest and held-out permutation importance: does one feature carry most of it?

    Permutation importance is measured for every feature up to MAX_CHECKED of them, else for the MAX_CHECKED with
    the largest forest importance (the others count as 0).
    """
    train_rows = subsample(y_train, max_rows, seed)
    test_rows = subsample(y_test, max_rows // 2 if max_rows else None, seed + 1)
    forest = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=seed, n_jobs=-1)
    scale = _tree_scale(x_train[train_rows])  # one scale for the training and the test rows
    forest.fit(_tree_ready(x_train[train_rows], scale), y_train[train_rows])
    impurity = forest.feature_importances_
    d = len(names)
    columns = np.sort(np.argsort(impurity, kind="stable")[::-1][:MAX_CHECKED]) if d > MAX_CHECKED else np.arange(d)
    x_held = _tree_ready(x_test[test_rows], scale)
    # Threads, not joblib's worker processes: the forest's predictions release the GIL, and warnings raised in a
    # thread reach the run's notes (a worker process prints them to the terminal with its file path).
    with warnings.catch_warnings(), parallel_config(backend="threading"):
        # a test set with fewer classes than training: balanced accuracy still ranks the features
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true", category=UserWarning)
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        measured = permutation_importance(_OnColumns(forest, x_held, columns), x_held[:, columns], y_test[test_rows],
                                          n_repeats=3, random_state=seed, scoring="balanced_accuracy",
                                          n_jobs=-1).importances_mean
    perm = np.zeros(d)
    perm[columns] = measured
    positive = np.clip(perm, 0, None)
    perm_share = positive / positive.sum() if positive.sum() > 0 else np.zeros_like(positive)
    top_imp, top_perm = int(impurity.argmax()), int(perm_share.argmax())
    values = {"forest_importance": dict(zip(names, impurity.tolist())),
              "permutation_importance": dict(zip(names, perm.tolist())),
              "top_forest_share": float(impurity[top_imp]), "top_permutation_share": float(perm_share[top_perm]),
              "rows_used": [int(len(train_rows)), int(len(test_rows))], "features_permuted": int(len(columns))}
    share, name = max((impurity[top_imp], names[top_imp]), (perm_share[top_perm], names[top_perm]))
    note = _sample_note(len(train_rows), len(y_train)) + (
        f" (permutation importance of the {len(columns)} features the forest ranks highest, of {d})" if len(columns) < d
        else "")
    messages = {
        "fail": f"{name!r} carries {share:.0%} of the importance{note}: the model leans on one feature; if it should "
                "not be that decisive, it may leak the target.",
        "warn": f"{name!r} carries {share:.0%} of the importance{note}: check that it is available at prediction time "
                "and not derived from the target.",
        "pass": f"Importance is spread: the top feature carries {share:.0%}{note}.",
    }
    return graded("importance concentration", share, warn_at=SHARE_WARN, fail_at=SHARE_FAIL, messages=messages,
                  values=values)
