"""Tests of the model adapters and of --model: every form builds the model it names, bad specs are refused with
the allowed forms, .skops files load only trusted types, and torch modules train the same with torch.func as
in a loop."""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from nnprobe.errors import ConfigError
from nnprobe.models import MLPModel, PredictionsModel, SklearnModel, TorchModel, from_spec, module_factory
from nnprobe.nn.config import TrainConfig
from nnprobe.nn.stacked import train_stacked

NAMES = ["no", "yes"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def test_each_form_builds_the_model_it_names(data):
    mlp = from_spec("mlp:16-8?epochs=5&lr=0.01", n_features=5, class_names=NAMES)
    assert isinstance(mlp, MLPModel) and mlp.spec.sizes == (5, 16, 8, 2) and mlp.config.epochs == 5
    assert mlp.info.n_params == 5 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2
    hgb = from_spec("sklearn:HistGradientBoostingClassifier?max_depth=3&learning_rate=0.2", n_features=5,
                    class_names=NAMES)
    assert isinstance(hgb, SklearnModel) and hgb.estimator.max_depth == 3 and hgb.estimator.learning_rate == 0.2
    assert hgb.info.name == "HistGradientBoostingClassifier(learning_rate=0.2, max_depth=3)" and hgb.info.can_refit


@pytest.mark.parametrize("spec, message", [
    ("keras:model", "is not a model this version knows"),
    ("mlp:64-x", "hidden sizes '64-x' must be dash-separated"),
    ("mlp:8?epoch=3", "unknown option(s) epoch"),
    ("sklearn:LogisticRegresion", "Did you mean 'LogisticRegression'"),
    ("sklearn:LogisticRegression?C=-1", "'C' parameter of LogisticRegression must be"),
    ("sklearn:LogisticRegression?c=1", "has no parameter 'c'. Did you mean 'C'"),
    ("python:no_such_module_here:make", "cannot import 'no_such_module_here'"),
    ("nowhere.skops", "the .skops file does not exist"),
])
def test_bad_specs_are_refused_with_the_allowed_forms(spec, message):
    with pytest.raises(ConfigError) as info:
        from_spec(spec, n_features=5, class_names=NAMES)
    assert message in str(info.value) and "\n" not in str(info.value)
    if "skops" not in spec:
        assert "sklearn:NAME?param=value" in str(info.value)  # the allowed forms are listed


def test_a_factory_in_the_users_own_code_builds_any_kind(tmp_path, monkeypatch, data):
    (tmp_path / "mymodels.py").write_text(
        "import torch\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "def tree():\n    return DecisionTreeClassifier(max_depth=2)\n"
        "def net():\n    return torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))\n"
        "def rule():\n    import numpy as np\n    return lambda X: np.stack([X[:, 0] <= 0, X[:, 0] > 0], 1) * 1.0\n"
        "def broken():\n    raise RuntimeError('no GPU here')\n")
    monkeypatch.chdir(tmp_path)
    assert isinstance(from_spec("python:mymodels:tree", n_features=5, class_names=NAMES), SklearnModel)
    net = from_spec("python:mymodels:net?epochs=3", n_features=5, class_names=NAMES)
    assert isinstance(net, TorchModel) and net.info.n_params == 5 * 4 + 4 + 4 * 2 + 2 and net.config.epochs == 3
    rule = from_spec("python:mymodels:rule", n_features=5, class_names=NAMES)
    X, _ = data
    assert (rule.predict(X) == (X[:, 0] > 0)).all() and not rule.info.can_refit
    with pytest.raises(ConfigError, match="broken\\(\\) raised RuntimeError: no GPU here"):
        from_spec("python:mymodels:broken", n_features=5, class_names=NAMES)


def test_a_skops_file_loads_with_trusted_types_only(tmp_path, data):
    from skops import io as skops_io

    X, y = data
    fitted = LogisticRegression().fit(X, np.array(NAMES)[y])  # trained on the user's labels, not indices
    skops_io.dump(fitted, tmp_path / "lr.skops")
    model = from_spec(str(tmp_path / "lr.skops"), n_features=5, class_names=NAMES)
    np.testing.assert_allclose(model.predict_proba(X), fitted.predict_proba(X))  # classes_ 'no','yes' in order
    skops_io.dump({"model": fitted, "extra": np.float64(1.0), "f": np.random.default_rng}, tmp_path / "odd.skops")
    with pytest.raises(ConfigError, match="holds types that skops does not trust: .*never loads untrusted types"):
        from_spec(str(tmp_path / "odd.skops"), n_features=5, class_names=NAMES)


def test_torch_func_trains_every_copy_as_a_loop_would(data):
    X, y = data
    x, labels = torch.from_numpy(X), torch.from_numpy(np.stack([y, 1 - y, y]))
    net = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    cfg = TrainConfig(epochs=6, lr=0.05, batch_size=32)
    vmapped = train_stacked(module_factory(net), [1, 2, 3], x, labels, cfg)
    assert vmapped.path == "torch.func vmap"
    import nnprobe.nn.stacked as stacked

    looped = [module_factory(net)(seed).train() for seed in (1, 2, 3)]
    stacked._train_looped(looped, x, labels, cfg, None)
    for a, b in zip(vmapped.modules, looped):
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4)
    copies = [m[0].weight for m in vmapped.modules]
    assert not torch.equal(copies[0], copies[1])  # each copy has its own initialisation


class Gated(torch.nn.Module):
    """A module with data-dependent control flow (``.item()`` in its forward pass), which vmap cannot batch."""

    def __init__(self):
        super().__init__()
        self.first, self.second = torch.nn.Linear(5, 6), torch.nn.Linear(6, 2)

    def forward(self, x):
        h = torch.relu(self.first(x))
        return self.second(h * 0 if h.mean().item() > 1e9 else h)


def test_a_module_that_cannot_be_vmapped_trains_in_a_loop_and_says_why(data):
    X, y = data
    model = TorchModel(module_factory(Gated()), n_classes=2, config=TrainConfig(epochs=5, lr=0.05, batch_size=40),
                       name="gated")
    labels = np.stack([y, y])
    scores = model.fit_many(X, labels, X[:40], labels[:, :40], seeds=[0, 1])
    assert scores.path.startswith("a loop, one copy after another (torch.func could not vmap this module")
    assert (scores.train_accuracy > 0.8).all()  # it still learns the rule


def test_frozen_parameters_stay_the_users_and_torch_func_still_equals_a_loop(data):
    X, y = data
    x, labels = torch.from_numpy(X), torch.from_numpy(np.stack([y, 1 - y]))
    net = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(), torch.nn.Dropout(0.3), torch.nn.Linear(6, 2))
    net[0].requires_grad_(False)  # a "pretrained" first layer, frozen
    cfg = TrainConfig(epochs=4, lr=0.05, batch_size=32)
    vmapped = train_stacked(module_factory(net), [1, 2], x, labels, cfg)
    assert all(torch.equal(m[0].weight, net[0].weight) and torch.equal(m[0].bias, net[0].bias)
               for m in vmapped.modules)  # neither re-initialised nor trained
    again = train_stacked(module_factory(net), [1, 2], x, labels, cfg)
    assert all(torch.equal(a[3].weight, b[3].weight) for a, b in zip(vmapped.modules, again.modules))  # dropout seeded
    eval_cfg = dataclasses.replace(cfg, epochs=3)
    no_dropout = torch.nn.Sequential(net[0], torch.nn.Tanh(), torch.nn.Linear(6, 2))
    vm = train_stacked(module_factory(no_dropout), [1, 2], x, labels, eval_cfg)
    import nnprobe.nn.stacked as stacked

    looped = [module_factory(no_dropout)(seed).train() for seed in (1, 2)]
    stacked._train_looped(looped, x, labels, eval_cfg, None)
    for a, b in zip(vm.modules, looped):
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4)


def test_an_option_given_twice_is_refused():
    with pytest.raises(ConfigError, match="epochs are given more than once"):
        from_spec("mlp:8?epochs=5&epochs=6", n_features=5, class_names=["a", "b"])


def test_a_factory_returning_a_regressor_is_refused(tmp_path, monkeypatch, data):
    (tmp_path / "reg.py").write_text("from sklearn.linear_model import LinearRegression\n"
                                     "def make():\n    return LinearRegression()\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="not know as a classifier"):
        from_spec("python:reg:make", n_features=5, class_names=["a", "b"])


def test_predictions_are_the_given_classes_even_where_probabilities_say_otherwise():
    proba = np.array([[0.6, 0.4], [0.65, 0.35], [0.9, 0.1]])
    model = PredictionsModel(np.array([1, 1, 0]), n_classes=2, name="thresholded at 0.3", probabilities=proba)
    assert model.predict(np.zeros((3, 2))).tolist() == [1, 1, 0]
