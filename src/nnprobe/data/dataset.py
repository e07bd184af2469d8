"""The Dataset every study and check reads, and its seeded stratified train/test split."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnprobe.errors import DataError


@dataclass
class Dataset:
    """Features, targets and names of one table.

    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64 class indices (classification) or float32 values (regression)
    feature_names : one name per column of X
    class_names : one name per class index (empty for regression)
    source : where the data came from, in words (a path, ``sklearn:wine``, ``synth:gaussian?...``)
    ids : optional text ids of the rows (a file's id column, which is then not a feature)
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str] = field(default_factory=list)
    source: str = ""
    ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int64 if self.class_names else np.float32)
        if self.X.ndim != 2 or self.y.shape != (self.X.shape[0],):
            raise DataError(f"features {self.X.shape} and target {self.y.shape} do not line up row by row.")
        if len(self.feature_names) != self.X.shape[1]:
            raise DataError(f"{len(self.feature_names)} feature names for {self.X.shape[1]} feature columns.")
        if self.ids is not None and len(self.ids) != self.X.shape[0]:
            raise DataError(f"{len(self.ids)} row ids for {self.X.shape[0]} rows.")

    @property
    def is_classification(self) -> bool:
        return bool(self.class_names)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def subset(self, rows: np.ndarray, *, source_suffix: str = "") -> Dataset:
        """The rows ``rows`` as a new Dataset with the same names."""
        return Dataset(self.X[rows], self.y[rows], list(self.feature_names), list(self.class_names),
                       self.source + source_suffix, None if self.ids is None else self.ids[rows])

    def describe(self) -> dict:
        """A JSON-ready summary: source, shape and class counts."""
        info = {"source": self.source, "n_samples": self.n_samples, "n_features": self.n_features}
        if self.is_classification:
            counts = np.bincount(self.y, minlength=self.n_classes)
            info["class_counts"] = {name: int(c) for name, c in zip(self.class_names, counts)}
        return info


def standard_scaling(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation, computed in float64 (float32 sums of values near its limit of
    3.4e38 overflow); a constant column gets scale 1, so that it is seen as 0.

    Returns (center, scale), each of shape (n_features,), float64.
    """
    X64 = np.asarray(X, dtype=np.float64)
    center, scale = X64.mean(0), X64.std(0)
    scale[scale == 0] = 1.0
    return center, scale


def standardize(X: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(X - center) / scale`` in float32, the engine's precision."""
    return ((np.asarray(X, dtype=np.float64) - center) / scale).astype(np.float32)


def split(dataset: Dataset, *, test_size: float = 0.25, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Seeded train/test split, stratified by class for classification.

    Raises DataError when a class has fewer than 2 rows or either side would miss a class.
    """
    from sklearn.model_selection import train_test_split  # here: scikit-learn takes 0.7 s to import
    if not 0 < test_size < 1:
        raise DataError(f"test size {test_size} must lie strictly between 0 and 1, e.g. 0.25.")
    n = dataset.n_samples
    n_test = int(np.ceil(test_size * n))
    stratify = None
    if dataset.is_classification:
        counts = np.bincount(dataset.y, minlength=dataset.n_classes)
        k = dataset.n_classes
        if counts.min() < 2 or n_test < k or n - n_test < k:
            rare = dataset.class_names[int(counts.argmin())]
            raise DataError(
                f"too few rows for a stratified {1 - test_size:.0%}/{test_size:.0%} split: {n} rows, {k} classes, "
                f"class {rare!r} has {int(counts.min())} row(s); each class needs at least 2 rows and each side "
                f"at least one row per class. Add rows or change the test size."
            )
        stratify = dataset.y
    elif n < 4:
        raise DataError(f"too few rows for a train/test split: {n} rows; give at least 4.")
    rows = np.arange(n)
    train_rows, test_rows = train_test_split(rows, test_size=test_size, random_state=seed, stratify=stratify)
    if dataset.is_classification:
        for side, part in (("test", test_rows), ("training", train_rows)):
            missing = np.flatnonzero(np.bincount(dataset.y[part], minlength=dataset.n_classes) == 0)
            if missing.size:
                rare = dataset.class_names[int(missing[0])]
                raise DataError(
                    f"class {rare!r} has too few rows ({int(counts[missing[0]])}) to appear in both parts of a "
                    f"{1 - test_size:.0%}/{test_size:.0%} split: its {side} part would have none. Add rows of that "
                    "class, change the test size, or give a separate test file."
                )
    return dataset.subset(np.sort(train_rows), source_suffix=" (train)"), dataset.subset(
        np.sort(test_rows), source_suffix=" (test)"
    )


def align(train: Dataset, test: Dataset) -> tuple[Dataset, Dataset]:
    """Put a separately loaded test set on the training set's columns and class indices.

    The test set's columns are put in the training set's order. Raises DataError when the feature columns differ
    or the test set has classes the training set lacks (the training set may have classes the test set lacks).
    """
    if train.feature_names != test.feature_names and sorted(train.feature_names) == sorted(test.feature_names):
        order = [test.feature_names.index(c) for c in train.feature_names]  # the same columns in another order
        test = Dataset(test.X[:, order], test.y, list(train.feature_names), test.class_names, test.source, test.ids)
    if train.feature_names != test.feature_names:
        missing = [c for c in train.feature_names if c not in test.feature_names]
        extra = [c for c in test.feature_names if c not in train.feature_names]
        detail = "; ".join(part for part in (f"missing {', '.join(map(repr, missing[:5]))}" if missing else "",
                                             f"unexpected {', '.join(map(repr, extra[:5]))}" if extra else "") if part)
        raise DataError(f"the test data's feature columns differ from the training data's ({detail}): give both "
                        "files the same feature columns (in any order).")
    unseen = [c for c in test.class_names if c not in train.class_names]
    if unseen:
        counts = np.bincount(test.y, minlength=test.n_classes)
        shown = ", ".join(f"{c!r} ({counts[test.class_names.index(c)]} rows)" for c in unseen[:5])
        raise DataError(f"the test data has class(es) the training data lacks: {shown}. A model trained on it can "
                        "never predict them: drop those test rows or add training rows of those classes.")
    remap = np.array([train.class_names.index(c) for c in test.class_names], dtype=np.int64)
    return train, Dataset(test.X, remap[test.y], test.feature_names, list(train.class_names), test.source, test.ids)
