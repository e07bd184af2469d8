"""Any model, one interface (``Model``): nnprobe's MLP, a scikit-learn estimator, a torch module with a training
recipe, a plain function or precomputed predictions; ``from_spec`` turns ``--model`` text into one."""

from nnprobe.models.adapters import (
    FunctionModel,
    MLPModel,
    PredictionsModel,
    SklearnModel,
    TorchModel,
    module_factory,
)
from nnprobe.models.base import FitScores, Model, ModelInfo
from nnprobe.models.spec import DEFAULT, FORMS, from_spec

__all__ = ["DEFAULT", "FORMS", "FitScores", "FunctionModel", "MLPModel", "Model", "ModelInfo", "PredictionsModel",
           "SklearnModel", "TorchModel", "from_spec", "module_factory"]
