"""The number an explanation explains: one class's probability, or its log-odds, as a function of the raw
features, for any model of ``nnprobe.models`` (batched to bounded memory), and as a differentiable torch function
where the model is a torch network.

Log-odds of class c: log(p_c / (1 - p_c)). From a network's logits z this is z_c - logsumexp(z_j, j != c) (for two
classes, z_1 - z_0: the network's own pre-softmax score); for a two-class scikit-learn model whose
``decision_function`` is its log-odds (LOG_ODDS_ESTIMATORS), that; else from probabilities,
log(p_c) - log(1 - p_c) with p clipped to [1e-15, 1 - 1e-15] (which flattens the log-odds where p rounds to 0 or 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnprobe.errors import ConfigError
from nnprobe.models.base import Model, row_batches

OUTPUTS = ("probability", "logit")
CLIP = 1e-15
# two-class scikit-learn classifiers whose decision_function is the log-odds of their second class
LOG_ODDS_ESTIMATORS = ("LogisticRegression", "HistGradientBoostingClassifier", "GradientBoostingClassifier")


@dataclass
class Output:
    """``f(X) -> [n]``: class ``target``'s probability or log-odds under ``model``."""

    model: Model
    kind: str = "probability"  # or "logit"
    target: int = -1  # class index; -1: the last class (the positive one of two)

    def __post_init__(self) -> None:
        if self.kind not in OUTPUTS:
            raise ConfigError(f"output {self.kind!r} is unknown: use probability or logit.")
        k = self.model.n_classes
        if not -k <= self.target < k:
            raise ConfigError(f"class index {self.target} is out of range for {k} classes.")
        self.target %= k

    @property
    def label(self) -> str:
        return f"{'P' if self.kind == 'probability' else 'log-odds'}(class {self.target})"

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The output for rows ``X [n, d]``, predicted in row batches (a torch network's from its logits, so that
        log-odds do not saturate where float32 probabilities round to 0 or 1)."""
        import torch

        X = np.asarray(X, dtype=np.float32)
        f = self.torch_function()
        parts = []
        log_odds = self._decision_log_odds()
        for rows in row_batches(len(X), max(1, X.shape[1]) * self.model.n_classes):
            if log_odds is not None:
                parts.append(log_odds(X[rows]))
            elif f is None:
                parts.append(self._from_proba(self.model.predict_proba(X[rows])))
            else:
                with torch.no_grad():
                    parts.append(f(torch.from_numpy(X[rows])).double().numpy())
        return np.concatenate(parts) if parts else np.zeros(0)

    def _decision_log_odds(self) -> Callable | None:
        """The log-odds from a two-class scikit-learn model's decision_function, where that is what it gives."""
        estimator = getattr(self.model, "estimator", None)
        columns = getattr(self.model, "class_columns", None)
        if (self.kind != "logit" or columns is None or len(columns) != 2 or self.model.n_classes != 2
                or type(estimator).__name__ not in LOG_ODDS_ESTIMATORS):
            return None
        sign = 1.0 if columns[1] == self.target else -1.0  # decision_function scores the estimator's second class
        return lambda X: sign * np.asarray(estimator.decision_function(X), dtype=np.float64).reshape(-1)

    def _from_proba(self, proba: np.ndarray) -> np.ndarray:
        p = np.asarray(proba, dtype=np.float64)[:, self.target]
        if self.kind == "probability":
            return p
        p = np.clip(p, CLIP, 1 - CLIP)
        return np.log(p) - np.log1p(-p)

    def torch_function(self) -> Callable | None:
        """The output as a differentiable function of a float32 tensor ``[n, d]`` -> ``[n]``; None where the
        model is not a torch network."""
        import torch

        logits = self.model.logits_function()
        if logits is None:
            return None
        c = self.target

        def f(x: torch.Tensor) -> torch.Tensor:
            z = logits(x)
            if self.kind == "probability":
                return torch.softmax(z, dim=-1)[:, c]
            others = torch.cat([z[:, :c], z[:, c + 1:]], dim=1)
            return z[:, c] - torch.logsumexp(others, dim=1)

        return f
