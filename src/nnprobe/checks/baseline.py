"""Checks of class balance and of a model against trivial baselines (majority class, class prior)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    log_loss,
    matthews_corrcoef,
    recall_score,
)

from nnprobe.checks import CheckResult

IMBALANCE_WARN = 3.0  # largest / smallest class size from which accuracy alone misleads
GAIN_FAIL = 0.05  # a model that closes less than 5% of the gap between the baseline and perfect has learned ~nothing
GAIN_WARN = 0.2


def class_balance(y: np.ndarray, class_names: list[str]) -> CheckResult:
    """Class counts, shares and the imbalance ratio (largest / smallest class)."""
    counts = np.bincount(y, minlength=len(class_names))
    shares = counts / counts.sum()
    ratio = float(counts.max() / max(counts.min(), 1))
    majority = class_names[int(counts.argmax())]
    values = {"counts": dict(zip(class_names, counts.tolist())), "shares": dict(zip(class_names, shares.tolist())),
              "imbalance_ratio": ratio, "majority_class": majority, "majority_share": float(shares.max())}
    if ratio >= IMBALANCE_WARN:
        return CheckResult("class balance", "warn",
                           f"Imbalanced: {majority!r} is {shares.max():.1%} of the rows ({ratio:.1f}x the smallest "
                           f"class). A model that always says {majority!r} scores {shares.max():.1%} accuracy: judge "
                           "models by balanced accuracy, kappa or MCC and by their gain over the baseline.", values)
    return CheckResult("class balance", "pass", f"Classes are roughly balanced (ratio {ratio:.1f}).", values)


def scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy, balanced accuracy, Cohen's kappa, Matthews correlation and per-class recall.

    On a test set that holds fewer classes than the model knows some are undefined: kappa, and the recall of a
    class without test rows, are NaN then. scikit-learn's warnings about that are silenced here; the callers say
    so in words.
    """
    from sklearn.exceptions import UndefinedMetricWarning

    labels = list(range(n_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true", category=UserWarning)
        return _scores(y_true, y_pred, labels)


def _scores(y_true: np.ndarray, y_pred: np.ndarray, labels: list[int]) -> dict:
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "kappa": float(cohen_kappa_score(y_true, y_pred, labels=labels)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "recall": recall_score(y_true, y_pred, labels=labels, average=None, zero_division=np.nan).tolist(),
        "distinct_predictions": int(len(np.unique(y_pred))),
    }


def dummy_baselines(x_train, y_train, x_test, y_test, n_classes: int, *, seed: int = 0) -> dict[str, dict]:
    """scikit-learn's DummyClassifier as majority class, class prior and stratified-random guesser."""
    out = {}
    labels = list(range(n_classes))
    for strategy in ("most_frequent", "prior", "stratified"):
        dummy = DummyClassifier(strategy=strategy, random_state=seed).fit(x_train, y_train)
        result = scores(y_test, dummy.predict(x_test), n_classes)
        result["log_loss"] = float(log_loss(y_test, dummy.predict_proba(x_test), labels=labels))
        out[strategy] = result
    return out


def gain(model_accuracy: float, baseline_accuracy: float) -> float:
    """(model - baseline) / (1 - baseline): the share of the baseline's errors the model removes."""
    return (model_accuracy - baseline_accuracy) / (1 - baseline_accuracy) if baseline_accuracy < 1 else 0.0


def lift_over_baseline(model: dict, baseline: dict, *, model_name: str = "the model") -> CheckResult:
    """Flag a model whose accuracy is mostly the majority baseline's, however high that accuracy is."""
    g = gain(model["accuracy"], baseline["accuracy"])
    values = {"model_accuracy": model["accuracy"], "baseline_accuracy": baseline["accuracy"], "gain": g,
              "model_balanced_accuracy": model["balanced_accuracy"], "model_mcc": model["mcc"]}
    text = (f"{model_name} scores {model['accuracy']:.1%} accuracy against {baseline['accuracy']:.1%} for always "
            f"predicting the majority class: gain {g:.2f} (share of the baseline's errors removed), balanced "
            f"accuracy {model['balanced_accuracy']:.3f}, MCC {model['mcc']:.3f}.")
    if g < GAIN_FAIL:
        return CheckResult("lift over baseline", "fail", text + " It has learned next to nothing beyond the class "
                           "shares.", values)
    if g < GAIN_WARN:
        return CheckResult("lift over baseline", "warn", text + " Most of its accuracy is the baseline's.", values)
    return CheckResult("lift over baseline", "pass", text, values)
