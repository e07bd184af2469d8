"""What every model adapter offers the checks: predictions (batched to bounded memory), what the model is, and,
where it can be retrained, many trainings at once on relabelled or reshuffled copies of the data (the
permutation tests). No torch here: adapters import what they need."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnprobe.errors import UserInputError

PROBA_SUM_TOL = 0.01  # rows of rounded probabilities (e.g. to 3 decimals) may sum to 1 +- a few thousandths
PREDICT_BATCH_VALUES = 2**24  # values a prediction batch may hold (rows x members x widest layer): ~64 MB


@dataclass
class ModelInfo:
    """What a model is, in words and numbers, for the report."""

    kind: str  # "nnprobe MLP", "scikit-learn", "torch module", "function", "predictions"
    name: str  # e.g. "mlp:64-32", "LogisticRegression(C=0.5)"
    n_params: int | None  # weights and biases, where known
    can_refit: bool  # whether checks that retrain (the permutation tests) can run
    no_refit_reason: str = ""  # why not, in words, when it cannot


@dataclass
class FitScores:
    """Accuracies of M models trained on M relabelled (or reshuffled) copies of the training data."""

    train_accuracy: np.ndarray  # [M] on each model's own training data (its labels, its inputs)
    test_accuracy: np.ndarray  # [M] on the held-out rows, against each model's held-out labels
    first_test_predictions: np.ndarray  # [n_test] the held-out predicted classes of model 0 (the real data's)
    path: str = ""  # how the M trainings ran ("one batched ensemble", "torch.func vmap", "a loop: <why>", ...)


Progress = Callable[[float, float], None]


class ModelError(UserInputError):
    """The user's model (its code, its parameters) failed on the data it was given."""


@contextlib.contextmanager
def users_model(name: str, doing: str):
    """Turn anything the user's model raises while ``doing`` (an estimator's fit, a module's forward pass, a
    function's call) into one line naming the model; nnprobe's own errors pass through unchanged."""
    try:
        yield
    except UserInputError:
        raise
    except Exception as exc:  # the user's code: whatever it raises is reported, in one line
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        raise ModelError(f"the model {name} failed while {doing}: {type(exc).__name__}: "
                         f"{lines[-1].rstrip('.') if lines else 'no message'}. Check that it suits these data (features, "
                         "classes, sizes).") from None


class Model:
    """A classifier the checks can ask for predictions and, where ``info.can_refit``, retrain.

    Subclasses implement ``predict_proba`` and, when they can retrain, ``fit_many``.
    """

    info: ModelInfo
    n_classes: int

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of shape (n_samples, n_classes) for features ``X`` (n_samples, n_features)."""
        raise NotImplementedError(f"{type(self).__name__} gives no probabilities")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class indices of shape (n_samples,)."""
        return self.predict_proba(X).argmax(axis=1)

    def logits_function(self):
        """A differentiable torch function from raw features ``[n, d]`` (float32) to class logits ``[n, k]``
        (softmax of which are the probabilities), for the trained model; None where the model is not a torch
        network (explanations then use finite differences)."""
        return None

    def fit_many(self, X_train: np.ndarray, Y_train: np.ndarray, X_test: np.ndarray, Y_test: np.ndarray, *,
                 seeds: list[int], inputs: np.ndarray | None = None,
                 progress: Progress | None = None) -> FitScores:
        """Train one copy of the model per row of ``Y_train`` and score each.

        Parameters
        ----------
        X_train : array (n_train, d), float32, shared by every copy unless ``inputs`` is given
        Y_train : int array (M, n_train): copy m trains on labels ``Y_train[m]``
        X_test : array (n_test, d), or (M, n_test, d): copy m is scored on ``X_test[m]``
        Y_test : int array (M, n_test): copy m is scored against ``Y_test[m]``
        seeds : M initialisation seeds
        inputs : optional float32 array (M, n_train, d): copy m trains on ``inputs[m]`` instead of ``X_train``
        progress : optional callback (done, total)
        """
        raise NotImplementedError(self.info.no_refit_reason or f"{type(self).__name__} cannot be retrained")


def accuracy_rows(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Share of matching entries per row: predicted and labels of shape (M, n) -> (M,)."""
    return (np.asarray(predicted) == np.asarray(labels)).mean(axis=1)


def row_batches(n_rows: int, values_per_row: int):
    """Slices of at most PREDICT_BATCH_VALUES / values_per_row rows covering 0..n_rows."""
    step = max(1, PREDICT_BATCH_VALUES // max(1, values_per_row))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))
