"""Tests of the reusable checks on planted cases whose right answer is known by construction."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from nnprobe.checks import CheckResult, leakage, worst
from nnprobe.checks import baseline as cb


@pytest.fixture
def noise():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = rng.integers(0, 2, size=600)
    return X, y, [f"x{i}" for i in range(5)]


def test_constant_predictor_on_a_92_percent_set_is_flagged_with_exact_numbers():
    y = np.array([0] * 920 + [1] * 80)
    constant = np.zeros_like(y)
    s = cb.scores(y, constant, 2)
    assert s["accuracy"] == 0.92 and s["balanced_accuracy"] == 0.5  # recall 1 on the majority, 0 on the minority
    assert s["mcc"] == 0 and s["kappa"] == 0 and s["distinct_predictions"] == 1
    check = cb.lift_over_baseline(s, s)  # the model IS the majority baseline: gain exactly 0
    assert check.status == "fail" and check.values["gain"] == 0


def test_class_balance_counts_and_warns():
    check = cb.class_balance(np.array([0] * 920 + [1] * 80), ["no", "yes"])
    assert check.status == "warn"
    assert check.values["counts"] == {"no": 920, "yes": 80} and check.values["imbalance_ratio"] == 11.5
    assert cb.class_balance(np.array([0, 1] * 50), ["a", "b"]).status == "pass"


def test_dummy_baselines_are_the_closed_forms():
    rng = np.random.default_rng(1)
    y_train, y_test = rng.permutation([0] * 700 + [1] * 300), np.array([0] * 60 + [1] * 40)
    out = cb.dummy_baselines(np.zeros((1000, 1)), y_train, np.zeros((100, 1)), y_test, 2)
    assert out["most_frequent"]["accuracy"] == 0.6  # always class 0, which is 60% of the test set
    # The prior baseline's log loss is the cross-entropy of the test labels under the training shares 0.7 / 0.3.
    assert out["prior"]["log_loss"] == pytest.approx(-(0.6 * np.log(0.7) + 0.4 * np.log(0.3)))


def test_gain_formula():
    assert cb.gain(0.96, 0.92) == pytest.approx(0.5)  # halves the baseline's 8% error
    assert cb.gain(0.92, 0.92) == 0 and cb.gain(0.9, 0.92) < 0


def test_leaky_column_fails(noise):
    X, y, names = noise
    leak = y + 0.01 * np.random.default_rng(1).normal(size=len(y))  # the target plus small noise
    check = leakage.single_feature_power(np.c_[X, leak], y, names + ["leak"])
    assert check.status == "fail" and "'leak'" in check.message
    assert check.values["balanced_accuracy"]["leak"] > 0.99
    assert leakage.single_feature_power(X, y, names).status == "pass"


def test_id_column_sorted_with_the_target_fails(noise):
    X, y, names = noise
    order = np.argsort(y, kind="stable")
    ids = np.empty(len(y))
    ids[order] = np.arange(len(y))  # ids handed out after sorting by class; rows themselves stay shuffled
    check = leakage.identifier_leakage(np.c_[ids, X], y, ["customer_id"] + names)
    assert check.status == "fail" and "'customer_id'" in check.message
    assert check.values["balanced_accuracy"]["(row order)"] < 0.75  # the row order itself carries nothing here
    assert leakage.identifier_leakage(X, y, names).status == "pass"


def test_rows_sorted_by_class_fail_the_order_check(noise):
    X, y, names = noise
    order = np.argsort(y, kind="stable")
    check = leakage.identifier_leakage(X[order], y[order], names)
    assert check.status == "fail" and "row order" in check.message


def test_contamination_counts_are_exact(noise):
    X, y, _ = noise
    train_x, train_y, test_x, test_y = X[:400], y[:400], X[400:].copy(), y[400:].copy()
    test_x[:7] = train_x[10:17]  # 7 test rows copied from training...
    test_y[:7] = train_y[10:17]
    test_x[7:10] = train_x[20:23]  # ...and 3 more copied with the opposite label: 3 conflicting groups
    test_y[7:10] = 1 - train_y[20:23]
    check = leakage.contamination(train_x, train_y, test_x, test_y)
    assert check.values["test_rows_in_train"] == 10
    assert check.values["conflicting_feature_groups"] == 3 and check.values["rows_in_conflicting_groups"] == 6
    assert check.values["duplicate_rows"] == 10
    assert check.status == "fail"  # 10 of 200 test rows (5%) are in training
    clean = leakage.contamination(X[:400], y[:400], X[400:], y[400:])
    assert clean.status == "pass" and clean.values["test_rows_in_train"] == 0


def test_importance_concentration_flags_a_dominant_feature(noise):
    X, y, names = noise
    leak = y + 0.05 * np.random.default_rng(2).normal(size=len(y))
    Xl = np.c_[X, leak]
    check = leakage.importance_concentration(Xl[:400], y[:400], Xl[400:], y[400:], names + ["leak"])
    assert check.status == "fail" and "'leak'" in check.message


def test_clean_real_data_has_no_fail():
    X, y = load_breast_cancer(return_X_y=True)
    names = [f"f{i}" for i in range(X.shape[1])]
    results = [leakage.single_feature_power(X, y, names), leakage.identifier_leakage(X, y, names),
               leakage.contamination(X[:400], y[:400], X[400:], y[400:]),
               leakage.importance_concentration(X[:400], y[:400], X[400:], y[400:], names)]
    assert worst(results) != "fail", [(r.name, r.status, r.message) for r in results]


def test_subsample_is_seeded_sorted_stratified_and_keeps_rare_classes():
    y = np.r_[np.zeros(99_000, int), np.ones(998, int), np.full(2, 2)]  # class 2: two rows in 100,000
    rows = leakage.subsample(y, 5000, seed=3)
    assert np.all(np.diff(rows) > 0) and np.array_equal(rows, leakage.subsample(y, 5000, seed=3))
    counts = np.bincount(y[rows], minlength=3)
    assert counts[2] == 2  # a rare class is kept whole, never sampled away
    assert counts[0] == round(5000 * 0.99) and counts[1] == round(5000 * 0.00998)  # the rest in proportion
    assert np.array_equal(leakage.subsample(y[:50], 5000, seed=3), np.arange(50))


def test_a_sample_of_rare_classes_gives_no_false_leak():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 3))
    y = np.zeros(3000, int)
    y[rng.choice(3000, 4, replace=False)] = 1  # 4 rare rows: an unstratified 100-row sample would often lose them
    check = leakage.single_feature_power(X, y, ["a", "b", "c"], max_rows=100)
    assert check.status == "pass" and max(check.values["balanced_accuracy"].values()) < 0.9


def test_check_result_status_is_validated():
    with pytest.raises(ValueError):
        CheckResult("x", "maybe", "")
    assert worst([CheckResult("a", "pass", ""), CheckResult("b", "warn", "")]) == "warn"


def test_a_wide_table_is_screened_and_the_leak_is_still_found():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 400)).astype(np.float32)
    y = (X[:, 321] > 0).astype(int)  # one leaky column among 400
    names = [f"c{j}" for j in range(400)]
    single = leakage.single_feature_power(X, y, names)
    assert single.status == "fail" and "'c321'" in single.message and single.values["features_checked"] == 50
    assert "of the 50 strongest of 400 features" in single.message
    importance = leakage.importance_concentration(X[:450], y[:450], X[450:], y[450:], names)
    assert importance.values["features_permuted"] == 50 and "'c321'" in importance.message


def test_permutation_importance_on_the_strongest_columns_is_scikit_learns():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance

    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 60)).astype(np.float32)
    y = (X[:, 3] + 0.5 * X[:, 7] > 0).astype(int)
    names = [f"c{j}" for j in range(60)]
    check = leakage.importance_concentration(X[:600], y[:600], X[600:], y[600:], names)
    forest = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=0, n_jobs=-1).fit(X[:600], y[:600])
    expected = permutation_importance(forest, X[600:], y[600:], n_repeats=3, random_state=0,
                                      scoring="balanced_accuracy").importances_mean
    ours = np.array([check.values["permutation_importance"][n] for n in names])
    permuted = np.argsort(forest.feature_importances_, kind="stable")[::-1][:50]  # the forest's top 50
    np.testing.assert_allclose(ours[permuted], expected[permuted])  # the same permutations, the same scores
    assert check.values["features_permuted"] == 50
