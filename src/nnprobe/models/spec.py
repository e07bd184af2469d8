"""``--model`` on the command line: which model a text names, validated with a one-line error that lists the
allowed forms. Never pickle: a ``.skops`` file is loaded by ``skops.io`` with its type check, and files holding
types it does not trust are refused."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from urllib.parse import parse_qsl

from nnprobe.errors import ConfigError, closest
from nnprobe.nn.config import TrainConfig

FORMS = ("mlp:64-32 (the default: nnprobe's MLP, hidden sizes after the colon), sklearn:NAME?param=value&... "
         "(any scikit-learn classifier, e.g. sklearn:HistGradientBoostingClassifier?max_depth=3), "
         "python:package.module:factory (a function of yours that returns the model), or path/to/model.skops")
DEFAULT = "mlp:64-32"
TRAINING_KEYS = {"epochs": int, "lr": float, "batch_size": int, "optimizer": str, "weight_decay": float}


def _refuse(text: str, why: str) -> ConfigError:
    return ConfigError(f"--model {text!r}: {why.rstrip('.')}. Give one of: {FORMS}.")


def _value(raw: str):
    """A query value as Python: numbers (whole floats such as 1e3 as integers; nan and inf as floats, for the
    range checks to name), true/false/none in any case, quoted or bare strings."""
    words = {"true": True, "false": False, "none": None}
    if raw.strip().lower() in words:
        return words[raw.strip().lower()]
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        try:
            return float(raw)  # nan, inf
        except ValueError:
            return raw
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _training(text: str, options: dict) -> TrainConfig:
    """The training recipe from ``epochs``, ``lr``, ``batch_size``, ``optimizer``, ``weight_decay`` options."""
    recipe = {"epochs": 30, "lr": 1e-3, "batch_size": 256}  # an MLP's epochs, unless given, follow the data
    for key, kind in TRAINING_KEYS.items():
        if key in options:
            value = options.pop(key)
            if not isinstance(value, kind) and not (kind is float and isinstance(value, int)):
                raise _refuse(text, f"{key}={value!r} must be {'a whole number' if kind is int else kind.__name__}")
            if key == "epochs" and value < 1:
                raise _refuse(text, f"epochs={value} trains nothing: an audited model needs at least 1 epoch")
            recipe[key] = value
    return TrainConfig(**recipe)


def from_spec(text: str, *, n_features: int, class_names: list[str], device: str = "cpu"):
    """The Model that ``text`` names, for data of ``n_features`` features and the classes ``class_names``."""
    n_classes = len(class_names)
    text = str(text).strip()
    kind, _, rest = text.partition(":")
    body, _, query = rest.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    repeated = sorted({k for k, _ in pairs if sum(key == k for key, _ in pairs) > 1})
    if repeated:
        raise _refuse(text, f"the option(s) {', '.join(repeated)} are given more than once: give each once")
    options = {k: _value(v) for k, v in pairs}
    if text.endswith(".skops"):
        return _skops(text, class_names)
    if kind == "mlp":
        return _mlp(text, body, options, n_features, n_classes, device)
    if kind == "sklearn":
        return _sklearn(text, body, options, class_names)
    if kind == "python":
        return _python(text, body, options, class_names)
    raise _refuse(text, "is not a model this version knows")


def _mlp(text, body, options, n_features, n_classes, device):
    from nnprobe.models.adapters import MLPModel

    try:
        hidden = tuple(int(h) for h in body.split("-")) if body else (64, 32)
    except ValueError:
        raise _refuse(text, f"the hidden sizes {body!r} must be dash-separated whole numbers, e.g. mlp:64-32") from None
    activation = str(options.pop("activation", "relu"))
    auto_epochs = "epochs" not in options  # the default: epochs from the size of the training set
    config = _training(text, options)
    if options:
        raise _refuse(text, f"unknown option(s) {', '.join(options)}: the MLP takes activation and "
                            f"{', '.join(TRAINING_KEYS)}")
    return MLPModel(hidden, n_features=n_features, n_classes=n_classes, activation=activation, config=config,
                    auto_epochs=auto_epochs, device=device)


def _sklearn(text, name, options, class_names):
    from sklearn.utils import all_estimators

    from nnprobe.models.adapters import SklearnModel

    classifiers = dict(all_estimators(type_filter="classifier"))
    if name not in classifiers:
        raise _refuse(text, f"{name!r} is not a scikit-learn classifier.{closest(name, classifiers)}")
    try:
        estimator = classifiers[name]()
    except TypeError:
        raise _refuse(text, f"{name} needs other estimators to be built (a meta-estimator): give it through "
                            "python:package.module:factory") from None
    known = estimator.get_params(deep=False)
    unknown = [k for k in options if k not in known]
    if unknown:
        raise _refuse(text, f"{name} has no parameter {unknown[0]!r}.{closest(unknown[0], known)} Its parameters "
                            f"are {', '.join(known)}")
    estimator.set_params(**options)
    try:
        estimator._validate_params()  # scikit-learn's own check of each parameter's type and range
    except (ValueError, TypeError) as exc:
        raise _refuse(text, str(exc).strip().splitlines()[0].rstrip(".")) from None
    return SklearnModel(estimator, class_names=class_names)


def _python(text, target, options, class_names):
    from nnprobe.models.adapters import FunctionModel, SklearnModel, TorchModel, module_factory

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise _refuse(text, "python: needs package.module:factory, e.g. python:mymodels:make_model")
    sys.path.insert(0, str(Path.cwd()))  # the user's own code, as `uvicorn module:app` finds it
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except ImportError as exc:
        raise _refuse(text, f"cannot import {module_name!r} ({exc})") from None
    except AttributeError:
        raise _refuse(text, f"{module_name} has no {attribute!r}") from None
    except (Exception, SystemExit) as exc:  # the user's module failed to load (a syntax error, its own code)
        raise _refuse(text, f"importing {module_name!r} raised {type(exc).__name__}: {_first_line(exc)}") from None
    finally:
        sys.path.pop(0)
    given = list(options)
    recipe = _training(text, options)
    if options:
        raise _refuse(text, f"unknown option(s) {', '.join(options)}: a torch module takes {', '.join(TRAINING_KEYS)}")
    try:
        made = factory()
    except (Exception, SystemExit) as exc:  # the user's code: anything it raises is reported, in one line
        raise _refuse(text, f"{attribute}() raised {type(exc).__name__}: {_first_line(exc)}") from None
    n_classes = len(class_names)
    if given and not _is_torch_module(made):
        raise _refuse(text, f"the option(s) {', '.join(given)} set a torch module's training; {attribute}() returned "
                            f"a {type(made).__name__}: set its parameters in your code instead")
    if hasattr(made, "fit") and hasattr(made, "predict"):
        if not _is_classifier(made):
            raise _refuse(text, f"{attribute}() returned a {type(made).__name__}, which scikit-learn does not know as "
                                "a classifier (a regressor or a transformer?): give a classifier (one with "
                                "sklearn.base.ClassifierMixin)")
        return SklearnModel(made, class_names=class_names, fitted=hasattr(made, "classes_"))
    if _is_torch_module(made):
        return TorchModel(module_factory(made), n_classes=n_classes, config=recipe, name=text,
                          n_params=sum(p.numel() for p in made.parameters()))
    if callable(made):
        return FunctionModel(made, n_classes=n_classes, name=text)
    raise _refuse(text, f"{attribute}() returned a {type(made).__name__}, not a scikit-learn estimator, a "
                        "torch.nn.Module or a predict_proba function")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def _is_classifier(obj) -> bool:
    """scikit-learn's is_classifier, False for objects it cannot even ask (a dict, a custom class)."""
    from sklearn.base import is_classifier

    try:
        return bool(is_classifier(obj))
    except Exception:  # not an estimator at all
        return False


def _is_torch_module(obj) -> bool:
    import torch

    return isinstance(obj, torch.nn.Module)


def _skops(text, class_names):
    from skops import io as skops_io

    from nnprobe.models.adapters import SklearnModel

    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"--model {text!r}: the .skops file does not exist: check the path.")
    try:
        untrusted = skops_io.get_untrusted_types(file=path)
    except Exception as exc:  # not a skops file, or a damaged one
        raise ConfigError(f"--model {text!r} cannot be read as a .skops file ({type(exc).__name__}: {exc}).") from None
    if untrusted:
        raise ConfigError(f"--model {text!r} holds types that skops does not trust: {', '.join(untrusted)}. nnprobe "
                          "never loads untrusted types: save the model with scikit-learn's own types, or load it in "
                          "your code and give it through python:package.module:factory.")
    estimator = skops_io.load(path, trusted=None)
    if not (_is_classifier(estimator) and hasattr(estimator, "classes_")):
        raise ConfigError(f"--model {text!r} holds a {type(estimator).__name__}, not a fitted classifier.")
    return SklearnModel(estimator, class_names=class_names, fitted=True)
