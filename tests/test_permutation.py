"""Tests of the permutation tests: the p-value convention, the Clopper-Pearson interval against statsmodels, the
within-class permutation, and the batched null against separate fits."""

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from nnprobe.checks.permutation import (
    clopper_pearson,
    permutation_p_value,
    permutation_tests,
    permute_within_classes,
    permuted_labels,
)
from nnprobe.models import FunctionModel, MLPModel
from nnprobe.nn.config import TrainConfig


def test_p_value_counts_the_observed_model_as_one_of_the_arrangements():
    null = np.array([0.5, 0.8, 0.9, 0.6])
    assert permutation_p_value(0.8, null) == (2 + 1) / (4 + 1)  # 0.8 and 0.9 are >= 0.8: ties count against
    assert permutation_p_value(1.0, null) == 1 / 5  # the smallest p four permutations can give
    assert permutation_p_value(0.0, null) == 1.0


@pytest.mark.parametrize("k, n", [(0, 99), (3, 99), (50, 100), (100, 100), (1, 19)])
def test_clopper_pearson_matches_statsmodels(k, n):
    low, high = proportion_confint(k, n, alpha=0.05, method="beta")
    assert clopper_pearson(k, n) == pytest.approx((low, high), abs=1e-12)


def test_labels_are_permuted_once_each_and_row_zero_is_the_truth():
    y = np.repeat(np.arange(3), 5)
    labels = permuted_labels(y, 4, np.random.default_rng(0))
    assert labels.shape == (5, 15) and (labels[0] == y).all()
    assert all(sorted(row) == sorted(y) for row in labels)  # a permutation keeps the class counts


def test_within_class_permutation_keeps_each_class_column_and_breaks_the_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = np.repeat([0, 1, 2], 20)
    P = permute_within_classes(X, y, np.random.default_rng(2))
    for c in range(3):
        for j in range(4):  # each feature keeps its values within each class
            np.testing.assert_array_equal(np.sort(P[y == c, j]), np.sort(X[y == c, j]))
    assert not np.array_equal(P, X)
    assert not np.array_equal(np.argsort(P[:20, 0]), np.argsort(P[:20, 1]))  # columns permuted independently


def test_the_batched_null_equals_separate_fits():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    X_test, y_test = X[:40], y[:40]
    model = MLPModel((8,), n_features=6, n_classes=2, config=TrainConfig(epochs=20, lr=0.02))
    labels = permuted_labels(y, 4, np.random.default_rng(4))
    tests = np.tile(y_test, (5, 1))
    together = model.fit_many(X, labels, X_test, tests, seeds=[10, 11, 12, 13, 14])
    for m in range(5):  # each member alone, with its own seed and labels
        alone = model.fit_many(X, labels[m : m + 1], X_test, tests[m : m + 1], seeds=[10 + m])
        assert alone.test_accuracy[0] == pytest.approx(together.test_accuracy[m], abs=1 / 40)
        assert alone.train_accuracy[0] == pytest.approx(together.train_accuracy[m], abs=1 / 120)


def test_a_model_that_cannot_be_retrained_gets_test_one_on_its_fixed_predictions():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = FunctionModel(lambda x: np.stack([x[:, 0] <= 0, x[:, 0] > 0], 1).astype(float), n_classes=2,
                          name="the sign of x0")
    result = permutation_tests(model, X[:100], y[:100], X_test=X[100:], y_test=y[100:], n_permutations=99)
    assert result.labels.observed == 1.0 and result.labels.p_value == 1 / 100  # perfect, never matched by chance
    assert result.features is None and "cannot be retrained" in result.features_reason
    assert "permuted held-out labels" in result.labels.note


def test_under_the_null_p_values_are_uniform_so_the_test_keeps_its_level():
    # Random labels: every p-value of {1/20, ..., 1} is equally likely. Folds chosen from the real labels would
    # favour the real model over every permuted copy and make p <= 0.05 common.
    ps = []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        X, y = rng.normal(size=(60, 4)).astype(np.float32), rng.integers(0, 2, 60)
        model = MLPModel((4,), n_features=4, n_classes=2, config=TrainConfig(epochs=5, lr=0.05))
        ps.append(permutation_tests(model, X, y, n_permutations=19, cv=3, seed=seed, feature_permutations=0)
                  .labels.p_value)
    assert sum(p <= 0.05 for p in ps) <= 5  # binomial(30, 0.05): 6 or more has chance 0.008
    assert 0.35 < np.mean(ps) < 0.65  # the mean of a uniform p-value is 0.525


def test_feature_test_finds_dependencies_between_features_and_not_where_there_are_none():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(400, 2)).astype(np.float32)
    xor = (X[:, 0] * X[:, 1] > 0).astype(np.int64)  # only the product tells the class: permuting within class breaks it
    model = MLPModel((32,), n_features=2, n_classes=2, config=TrainConfig(epochs=150, lr=0.02, batch_size=None))
    found = permutation_tests(model, X, xor, n_permutations=19, feature_permutations=19, seed=1)
    assert found.labels.observed > 0.85 and found.features.p_value == 1 / 20
    assert np.mean(found.features.null) < 0.7  # the copies cannot learn XOR from class-wise shuffled columns
    shift = rng.integers(0, 2, 400)  # each feature tells the class on its own, independently of the other
    X2 = (rng.normal(size=(400, 2)) + 1.5 * shift[:, None]).astype(np.float32)
    none = permutation_tests(model, X2, shift, n_permutations=19, feature_permutations=19, seed=1)
    assert none.features.p_value > 0.05


def test_copies_with_inputs_of_their_own_equal_separate_fits_on_those_inputs():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(90, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    inputs = np.stack([permute_within_classes(X, y, rng) for _ in range(3)])  # [3, n, d]
    model = MLPModel((6,), n_features=4, n_classes=2, config=TrainConfig(epochs=15, lr=0.05))
    labels = np.tile(y, (3, 1))
    together = model.fit_many(X, labels, X[:30], labels[:, :30], seeds=[1, 2, 3], inputs=inputs)
    for m in range(3):  # each alone, its inputs as the shared training data: standardised by their own statistics
        alone = model.fit_many(inputs[m], labels[m : m + 1], X[:30], labels[m : m + 1, :30], seeds=[1 + m])
        assert alone.test_accuracy[0] == pytest.approx(together.test_accuracy[m], abs=1 / 30)
        assert alone.train_accuracy[0] == pytest.approx(together.train_accuracy[m], abs=1 / 90)
