"""The model adapters: nnprobe's own MLP on the batched engine, a scikit-learn estimator, a user's
``torch.nn.Module`` with a training recipe, a plain ``predict_proba`` function, and precomputed predictions.
Each says what it is and whether it can be retrained; those that can train many copies at once for the
permutation tests (one batched ensemble, ``torch.func``, or joblib over clones)."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable

import numpy as np

from nnprobe.data.dataset import standard_scaling
from nnprobe.errors import ConfigError
from nnprobe.models.base import (
    PROBA_SUM_TOL,
    FitScores,
    Model,
    ModelError,
    ModelInfo,
    accuracy_rows,
    row_batches,
    users_model,
)
from nnprobe.nn.config import TrainConfig


def _one_hot(classes: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(classes), n_classes))
    out[np.arange(len(classes)), classes] = 1.0
    return out


class MLPModel(Model):
    """nnprobe's MLP, trained by the batched engine on standardised features: every copy of a permutation test
    is a member of one ensemble (shared inputs, labels of its own; inputs of its own in the feature test)."""

    ROWS_SEEN = 200_000  # default training: about this many rows seen, as epochs over the training set ...
    EPOCHS = (10, 200)  # ... but at least 10 epochs and at most 200

    def __init__(self, hidden: tuple[int, ...], *, n_features: int, n_classes: int, activation: str = "relu",
                 config: TrainConfig | None = None, auto_epochs: bool | None = None, device: str = "cpu") -> None:
        from nnprobe.nn.mlp import MLPSpec

        self.spec = MLPSpec.from_hidden(n_features, hidden, n_classes, activation=activation)
        # without a config: Adam at 1e-3 in batches of 256; unless told, epochs from the size of the training set
        self.config = config or TrainConfig(epochs=1, lr=1e-3, batch_size=256)
        self.auto_epochs = config is None if auto_epochs is None else auto_epochs
        self.device, self.n_classes = device, n_classes
        self._fitted = None  # (Ensemble of one, center, scale) once fit
        self.info = ModelInfo("nnprobe MLP", f"mlp:{'-'.join(map(str, hidden))}", self.spec.n_params, True)

    def recipe(self, n_rows: int) -> TrainConfig:
        """The training recipe for ``n_rows`` training rows: the given one, or the default with about ROWS_SEEN
        rows seen (10 to 200 epochs: 200 for breast_cancer's 380 rows, 15 for 15,000 rows)."""
        if not self.auto_epochs:
            return self.config
        low, high = self.EPOCHS
        return dataclasses.replace(self.config, epochs=int(min(high, max(low, np.ceil(self.ROWS_SEEN / n_rows)))))

    def _scaled(self, X, center, scale):
        import torch

        from nnprobe.data import standardize
        return torch.from_numpy(standardize(X, center, scale))

    def fit_many(self, X_train, Y_train, X_test, Y_test, *, seeds, inputs=None, progress=None) -> FitScores:
        import torch

        from nnprobe.nn import Ensemble, Trainer

        if inputs is None:
            center, scale = standard_scaling(X_train)
            x = self._scaled(X_train, center, scale)
            x_test = self._scaled(X_test.reshape(-1, X_test.shape[-1]), center, scale).view(X_test.shape)
        else:  # each member standardised by the statistics of its own training inputs, as a fit on them alone
            stats = [standard_scaling(member) for member in inputs]
            x = torch.stack([self._scaled(member, *stat) for member, stat in zip(inputs, stats)])  # [M, n, d]
            x_test = torch.stack([self._scaled(X_test if X_test.ndim == 2 else X_test[m], *stat)
                                  for m, stat in enumerate(stats)])  # [M, n_test, d]
        model = Ensemble(self.spec, seeds=seeds, device=self.device)
        y = torch.from_numpy(np.ascontiguousarray(Y_train)).to(model.device)
        config = dataclasses.replace(self.recipe(len(X_train)), log_every=2**31 - 1)  # only the last record is read
        history = Trainer(model, config).fit(x.to(model.device), y, progress=progress)
        test = self._predict_members(model, x_test)
        path = (f"one batched ensemble of {len(seeds)} networks, {config.epochs} epochs of "
                f"{'Adam' if config.optimizer == 'adam' else 'SGD'} at {config.lr:g}"
                f"{'' if config.batch_size is None else f' in batches of {config.batch_size}'} ({history.path})")
        return FitScores(history.train_accuracy[-1], accuracy_rows(test, Y_test), test[0], path)

    def _predict_members(self, model, x) -> np.ndarray:
        """Predicted classes [M, n] of every member on inputs [n, d] (shared) or [M, n, d], in row batches."""
        values = model.n_members * max(self.spec.sizes[1:])
        return np.concatenate([model.predict(x[..., rows, :].to(model.device)).cpu().numpy()
                               for rows in row_batches(x.shape[-2], values)], axis=1)

    def fit(self, X, y, *, seed: int = 0) -> MLPModel:
        """This model trained on ``X``, ``y`` (one network), ready to predict."""
        from nnprobe.nn import train_network

        center, scale = standard_scaling(X)
        model, _ = train_network(self.spec, self._scaled(X, center, scale), np.asarray(y), self.recipe(len(X)),
                                 seed=seed, device=self.device)
        self._fitted = (model, center, scale)
        return self

    def logits_function(self):
        import torch

        if self._fitted is None:
            raise ConfigError("the MLP has not been trained yet: call fit first.")
        model, center, scale = self._fitted
        net = model.member(0).eval()
        shift = torch.as_tensor(center, dtype=torch.float32, device=model.device)
        divide = torch.as_tensor(scale, dtype=torch.float32, device=model.device)
        return lambda x: net((x - shift) / divide)

    def predict_proba(self, X) -> np.ndarray:
        import torch

        if self._fitted is None:
            raise ConfigError("the MLP has not been trained yet: call fit first.")
        model, center, scale = self._fitted
        x = self._scaled(X, center, scale)
        with torch.no_grad():
            return np.concatenate([model.predict_proba(x[rows].to(model.device))[0].cpu().numpy()
                                   for rows in row_batches(x.shape[0], max(self.spec.sizes[1:]))])


class SklearnModel(Model):
    """A scikit-learn classifier: copies are ``sklearn.base.clone``s (with the copy's seed as ``random_state``
    where the estimator has one), fitted in parallel by joblib."""

    def __init__(self, estimator, *, class_names: list[str], name: str | None = None, fitted: bool = False) -> None:
        self.estimator, self.n_classes = estimator, len(class_names)
        # a fitted estimator predicts the user's labels; ours, refitted here, class indices 0..k-1
        self._columns = _class_columns(estimator, class_names) if fitted else None
        self.saved = fitted  # the user's own fitted model: scored as it is; its copies are refitted clones
        self.info = ModelInfo("scikit-learn", name or _describe_estimator(estimator), _sklearn_params(estimator), True)

    @property
    def class_columns(self) -> np.ndarray | None:
        """For each of the estimator's ``classes_``, its index among the data's classes; None until fitted."""
        return self._columns

    def fit(self, X, y, *, seed: int = 0) -> SklearnModel:
        with users_model(self.info.name, "fitting"):
            self.estimator = _fit_clone(self.estimator, X, y, seed)
        self._columns = np.asarray(self.estimator.classes_)
        self.saved = False
        return self

    def predict_proba(self, X) -> np.ndarray:
        if self._columns is None:
            raise ConfigError("the scikit-learn model has not been fitted: give a fitted estimator or let nnprobe "
                              "fit it.")
        with users_model(self.info.name, "predicting"):
            return np.concatenate([_proba(self.estimator, X[rows], self._columns, self.n_classes)
                                   for rows in row_batches(len(X), self.n_classes)])

    def predict(self, X) -> np.ndarray:
        """The estimator's own predictions (its ``predict``, which need not be the argmax of its probabilities),
        as the data's class indices."""
        if self._columns is None:
            self.predict_proba(X)  # says it is not fitted
        classes = np.asarray(self.estimator.classes_)
        with users_model(self.info.name, "predicting"):
            return np.concatenate([self._columns[np.searchsorted(classes, self.estimator.predict(X[rows]))]
                                   for rows in row_batches(len(X), 1)])

    def fit_many(self, X_train, Y_train, X_test, Y_test, *, seeds, inputs=None, progress=None) -> FitScores:
        from joblib import Parallel, delayed

        from nnprobe.threads import current_threads

        jobs = [delayed(_fit_score)(self.estimator, X_train if inputs is None else inputs[m], Y_train[m],
                                    X_test if X_test.ndim == 2 else X_test[m], Y_test[m], seed)
                for m, seed in enumerate(seeds)]
        workers = min(current_threads(), len(jobs))  # the cores the study may use
        with users_model(self.info.name, "fitting its copies"):
            results = Parallel(n_jobs=workers)(jobs)
        for *_, caught in results:  # warnings of the worker processes, raised again here: they become notes
            for message in dict.fromkeys(caught):
                warnings.warn(message, RuntimeWarning, stacklevel=1)
        train, test = (np.array([r[i] for r in results]) for i in (0, 1))
        if progress is not None:
            progress(len(seeds), len(seeds))
        return FitScores(train, test, results[0][2], f"joblib over {len(seeds)} clones of the estimator, "
                          f"{workers} at a time")


def _describe_estimator(estimator) -> str:
    """``Name(param=value, ...)`` for the parameters that differ from the defaults."""
    try:
        defaults = type(estimator)().get_params(deep=False)
        changed = {k: v for k, v in estimator.get_params(deep=False).items() if defaults.get(k, object()) != v}
    except Exception:  # an estimator that cannot be built without arguments: show no parameters
        changed = {}
    return f"{type(estimator).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def _sklearn_params(estimator) -> int | None:
    """Learned coefficients and intercepts of a fitted linear model; None where unknown."""
    coef = getattr(estimator, "coef_", None)
    if coef is None:
        return None
    return int(np.size(coef) + np.size(getattr(estimator, "intercept_", 0)))


def _fit_clone(estimator, X, y, seed: int):
    from sklearn.base import clone

    fresh = clone(estimator)
    seeded = {key: seed for key in fresh.get_params(deep=True)  # nested ones too (a Pipeline's steps)
              if key == "random_state" or key.endswith("__random_state")}
    return fresh.set_params(**seeded).fit(X, y)


def _class_columns(estimator, class_names: list[str]) -> np.ndarray:
    """For each of a fitted estimator's ``classes_``, the index of that class in the data's ``class_names``."""
    names = [str(c) for c in estimator.classes_]
    unknown = [c for c in names if c not in class_names]
    if unknown:
        raise ConfigError(f"the fitted model knows class(es) {', '.join(map(repr, unknown[:5]))} that the data lacks "
                          f"(its classes: {', '.join(map(repr, class_names[:8]))}): give the data it was trained for.")
    return np.array([class_names.index(c) for c in names])


def _proba(estimator, X, columns: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all ``n_classes``, the estimator's classes in their ``columns`` (classes it never saw
    stay 0)."""
    out = np.zeros((len(X), n_classes))
    if hasattr(estimator, "predict_proba"):
        out[:, columns] = estimator.predict_proba(X)
    else:  # a classifier without probabilities (e.g. LinearSVC): its prediction has probability 1
        predicted = np.searchsorted(np.asarray(estimator.classes_), estimator.predict(X))
        out[np.arange(len(X)), columns[predicted]] = 1.0
    return out


def _fit_score(estimator, X, y, X_test, y_test, seed):
    """One clone fitted and scored: (train accuracy, test accuracy, its held-out predictions, the messages of the
    warnings it raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        fitted = _fit_clone(estimator, X, y, seed)
        predicted = fitted.predict(X_test)
        scores = float((fitted.predict(X) == y).mean()), float((predicted == y_test).mean())
    return (*scores, predicted, [f"{w.category.__name__}: {str(w.message).strip().splitlines()[0]}" for w in caught])


class TorchModel(Model):
    """A user's ``torch.nn.Module`` with a training recipe (cross-entropy, the TrainConfig's optimizer, learning
    rate, epochs and batch size). ``make_module(seed)`` builds a freshly initialised copy; copies of a
    permutation test train together through ``torch.func`` (see ``nnprobe.nn.stacked``)."""

    def __init__(self, make_module: Callable[[int], object], *, n_classes: int, config: TrainConfig, name: str,
                 n_params: int | None = None) -> None:
        self.make_module, self.config, self.n_classes = make_module, config, n_classes
        self._fitted = None
        self.info = ModelInfo("torch module", name, n_params, True)

    def fit_many(self, X_train, Y_train, X_test, Y_test, *, seeds, inputs=None, progress=None) -> FitScores:
        import torch

        from nnprobe.nn.stacked import predict_stacked, train_stacked

        x = torch.from_numpy(np.ascontiguousarray(X_train if inputs is None else inputs))
        y = torch.from_numpy(np.ascontiguousarray(Y_train))
        self._check_outputs(X_train[:2])
        with users_model(self.info.name, "training its copies"):
            trained = train_stacked(self.make_module, list(seeds), x, y, self.config, progress=progress)
            with torch.no_grad():
                if not torch.isfinite(trained.modules[0](x[..., :64, :] if x.dim() == 2 else x[0, :64])).all():
                    raise ModelError(f"the model {self.info.name} gives NaN or infinite outputs after training: "
                                     "lower the learning rate (?lr=) or check the module's forward pass.")
            train = predict_stacked(trained.modules, x).numpy()
            test = predict_stacked(trained.modules, torch.from_numpy(np.ascontiguousarray(X_test))).numpy()
        return FitScores(accuracy_rows(train, Y_train), accuracy_rows(test, Y_test), test[0], trained.path)

    def _check_outputs(self, X) -> None:
        """Refuse a module whose outputs are not one logit per class of the data."""
        import torch

        with torch.no_grad(), users_model(self.info.name, "computing its outputs"):
            out = self.make_module(0).eval()(torch.from_numpy(np.ascontiguousarray(X)))
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(X), self.n_classes):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ModelError(f"the model {self.info.name} returns {shape} for {len(X)} rows: it must return one "
                             f"logit per class, ({len(X)}, {self.n_classes}) for these data's {self.n_classes} "
                             "classes.")

    def fit(self, X, y, *, seed: int = 0) -> TorchModel:
        import torch

        from nnprobe.nn.stacked import train_stacked

        self._check_outputs(X[:2])
        with users_model(self.info.name, "training"):
            trained = train_stacked(self.make_module, [seed], torch.from_numpy(np.ascontiguousarray(X)),
                                    torch.from_numpy(np.asarray(y))[None], self.config)
        self._fitted = trained.modules[0]
        return self

    def logits_function(self):
        if self._fitted is None:
            raise ConfigError("the torch module has not been trained yet: call fit first.")
        return self._fitted.eval()

    def predict_proba(self, X) -> np.ndarray:
        import torch

        if self._fitted is None:
            raise ConfigError("the torch module has not been trained yet: call fit first.")
        with torch.no_grad(), users_model(self.info.name, "predicting"):
            return np.concatenate([torch.softmax(self._fitted(torch.from_numpy(np.ascontiguousarray(X[rows]))), -1)
                                   .numpy() for rows in row_batches(len(X), 4 * self.n_classes)])


def module_factory(module) -> Callable[[int], object]:
    """A builder of freshly initialised copies of ``module``: a deep copy whose submodules with a
    ``reset_parameters`` (Linear, Conv, BatchNorm...) are reinitialised from the copy's seed, except frozen
    parameters (``requires_grad`` False), which keep the module's values."""
    import torch

    def make(seed: int):
        fresh = copy.deepcopy(module)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            for sub in fresh.modules():
                if hasattr(sub, "reset_parameters"):
                    sub.reset_parameters()
        with torch.no_grad():  # frozen parameters (requires_grad False: e.g. a pretrained part) keep their values
            for new, old in zip(fresh.parameters(), module.parameters()):
                if not old.requires_grad:
                    new.copy_(old)
        return fresh
    return make


class FunctionModel(Model):
    """A plain function ``predict_proba(X) -> array (n_samples, n_classes)``: predictions only, never retrained."""

    def __init__(self, function: Callable, *, n_classes: int, name: str) -> None:
        self.function, self.n_classes = function, n_classes
        self.info = ModelInfo("function", name, None, False,
                              "a plain function gives predictions but cannot be retrained")

    def predict_proba(self, X) -> np.ndarray:
        parts = []
        for rows in row_batches(len(X), self.n_classes):
            with users_model(self.info.name, "predicting"):
                proba = np.asarray(self.function(X[rows]), dtype=np.float64)
            if proba.shape != (rows.stop - rows.start, self.n_classes) or not np.isfinite(proba).all():
                raise ModelError(f"{self.info.name} returned an array of shape {proba.shape} (or with NaN): it must "
                                 f"return finite probabilities of shape (n_samples, {self.n_classes}).")
            if (proba < 0).any() or (proba > 1).any() or np.abs(proba.sum(axis=1) - 1).max() > PROBA_SUM_TOL:
                row = int(np.flatnonzero((proba < 0).any(1) | (proba > 1).any(1)
                                         | (np.abs(proba.sum(axis=1) - 1) > PROBA_SUM_TOL))[0])
                raise ModelError(f"{self.info.name} returned {proba[row].tolist()} for row {rows.start + row + 1}: "
                                 "probabilities must lie in [0, 1] and sum to 1 in every row.")
            parts.append(proba)
        return np.concatenate(parts)


class PredictionsModel(Model):
    """Predictions computed elsewhere, one per held-out row (class indices, and probabilities when given)."""

    def __init__(self, predicted: np.ndarray, *, n_classes: int, name: str,
                 probabilities: np.ndarray | None = None) -> None:
        self.predicted, self.probabilities, self.n_classes = np.asarray(predicted), probabilities, n_classes
        self.info = ModelInfo("predictions", name, None, False, "precomputed predictions cannot be retrained")

    def predict_proba(self, X) -> np.ndarray:
        if len(X) != len(self.predicted):
            raise ConfigError(f"the predictions file has {len(self.predicted)} rows and the data to score {len(X)}: "
                              "give one prediction per held-out row.")
        return self.probabilities if self.probabilities is not None else _one_hot(self.predicted, self.n_classes)

    def predict(self, X) -> np.ndarray:
        """The given predicted classes (``y_pred``; the most probable class only where no ``y_pred`` was given):
        never re-derived from the probabilities, whose argmax need not be the threshold the model used."""
        self.predict_proba(X)  # the row count check
        return self.predicted
