"""Tests of `nnprobe audit`: each verdict on data built to deserve it, every kind of model, the exit codes."""

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from nnprobe import audit
from nnprobe.cli import app
from nnprobe.studies.registry import run_study

runner = CliRunner()
B = 19  # the smallest p is 1/20 = 0.05: enough for alpha 0.05, quick enough for a test


def table(tmp_path, X, y, name="data.csv"):
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(label=np.array(["a", "b"])[y])
    frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


def test_random_labels_are_no_signal_though_a_big_network_memorises_them(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(240, 20)).astype(np.float32), rng.integers(0, 2, 240)
    r = run_study(audit.AuditConfig(data=table(tmp_path, X, y), target="label", model="mlp:256?epochs=150&lr=0.01",
                                    n_permutations=B, feature_permutations=0, device="cpu"))
    assert r.verdict.label == "NO SIGNAL" and r.labels_test.p_value > 0.05
    assert np.mean(r.labels_test.null_train) > 0.95  # the network fits shuffled labels almost perfectly
    assert "memorised noise" in " ".join(r.verdict.reasons)


def test_a_planted_leak_is_a_shortcut_and_without_it_the_model_is_at_the_baseline(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    y = rng.integers(0, 2, 400)
    X[:, 4] = y + rng.normal(scale=0.05, size=400)  # "balance_after_close": the label in disguise
    r = run_study(audit.AuditConfig(data=table(tmp_path, X, y), target="label", model="mlp:32?epochs=40&lr=0.01",
                                    n_permutations=B, feature_permutations=0, device="cpu"))
    assert r.verdict.label == "SHORTCUT" and r.heldout_accuracy > 0.95
    (shortcut,) = r.shortcuts
    assert shortcut.columns == ["x4"] and shortcut.confirmed
    assert abs(shortcut.heldout_accuracy - r.majority_accuracy) < 0.1 and shortcut.p_value > 0.05
    assert "Without 'x4'" in r.verdict.reasons[1]


def test_real_data_is_learned_with_the_smallest_p_value_the_permutations_allow():
    r = run_study(audit.AuditConfig(data="sklearn:breast_cancer", n_permutations=B, device="cpu"))
    assert r.verdict.label == "LEARNED" and r.labels_test.p_value == 1 / (B + 1)
    assert r.heldout_accuracy > 0.93 and r.labels_test.smallest_p == 1 / (B + 1)
    assert r.validation == "3-fold cross-validation" and r.features_test is not None


def test_an_unpruned_tree_on_noisy_labels_memorises(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    y = ((X[:, 0] + rng.normal(scale=1.0, size=600)) > 0).astype(np.int64)  # a real but noisy signal
    r = run_study(audit.AuditConfig(data=table(tmp_path, X, y), target="label", model="sklearn:DecisionTreeClassifier",
                                    n_permutations=B, feature_permutations=0, device="cpu"))
    assert r.verdict.label == "MEMORISED" and r.train_accuracy == 1.0  # an unpruned tree stores every row
    assert r.train_accuracy - r.heldout_accuracy >= 0.1 and r.labels_test.p_value == 1 / (B + 1)


def test_the_cli_writes_the_verdict_and_fail_on_sets_exit_code_3(tmp_path):
    out = tmp_path / "run"
    args = ["audit", "--small", "--permutations", "19", "--feature-permutations", "0", "--device", "cpu",
            "--out", str(out)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)["result"]["verdict"]
    assert verdict["label"] == "LEARNED" and verdict["level"] == "pass"
    assert all(set(c) == {"name", "status", "message", "values"} for c in verdict["checks"])
    html = (out / "report.html").read_text()
    assert html.index("LEARNED") < html.index("<h2>Checks</h2>")  # the verdict first, then each check
    noise = tmp_path / "noise.csv"
    rng = np.random.default_rng(3)
    pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"]).assign(y=rng.integers(0, 2, 120)).to_csv(
        noise, index=False)
    failed = runner.invoke(app, ["audit", str(noise), "--target", "y", *args[1:-1], str(tmp_path / "r2"),
                                 "--fail-on", "fail", "--quiet"])
    assert failed.exit_code == 3, failed.output  # NO SIGNAL is a fail: for CI


def test_any_model_kind_is_audited(tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from skops import io as skops_io

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 2] > 0).astype(np.int64)
    train, test = table(tmp_path, X[:200], y[:200], "train.csv"), table(tmp_path, X[200:], y[200:], "test.csv")
    skops_io.dump(LogisticRegression().fit(X[:200], np.array(["a", "b"])[y[:200]]), tmp_path / "lr.skops")
    (tmp_path / "mine.py").write_text("import numpy as np\n"
                                      "def rule():\n    return lambda X: np.stack([X[:, 0] - X[:, 2] <= 0, "
                                      "X[:, 0] - X[:, 2] > 0], 1) * 1.0\n")
    pd.DataFrame({"y_pred": np.array(["a", "b"])[y[200:]]}).to_csv(tmp_path / "pred.csv", index=False)
    monkeypatch.chdir(tmp_path)
    base = ["audit", train, "--target", "label", "--test", test, "--permutations", "19", "--feature-permutations", "0",
            "--device", "cpu", "--json"]
    for extra, kind in ((["--model", "sklearn:LogisticRegression"], "scikit-learn"),
                        (["--model", "lr.skops"], "scikit-learn"),
                        (["--model", "python:mine:rule"], "function"),
                        (["--predictions", "pred.csv"], "predictions")):
        result = runner.invoke(app, [*base, *extra, "--out", str(tmp_path / kind / extra[-1].replace(":", "_"))])
        assert result.exit_code == 0, (extra, result.output)
        doc = json.loads(result.stdout)["result"]
        assert doc["model"]["kind"] == kind and doc["verdict"]["label"] == "LEARNED", (extra, doc["verdict"])
        assert doc["validation"] == "a held-out set of 100 rows"


def test_bad_model_specs_exit_2_with_the_allowed_forms():
    result = runner.invoke(app, ["audit", "--model", "xgboost:XGBClassifier"])
    assert result.exit_code == 2 and "is not a model this version knows" in result.stderr
    assert "mlp:64-32" in result.stderr and "python:package.module:factory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_predictions_are_matched_to_held_out_rows_by_id_and_may_be_probabilities(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    ids = np.array([f"r{i:03d}" for i in range(300)])
    for name, rows in (("train.csv", slice(0, 200)), ("test.csv", slice(200, 300))):
        pd.DataFrame(X[rows], columns=["x0", "x1", "x2"]).assign(id=ids[rows], label=np.array(["a", "b"])[y[rows]]
                                                                  ).to_csv(tmp_path / name, index=False)
    flip = np.zeros(100, bool)
    flip[:10] = True  # 10 wrong predictions: held-out accuracy exactly 0.9
    predicted = np.where(flip, 1 - y[200:], y[200:])
    order = rng.permutation(100)  # the predictions file in another order than the held-out file
    proba = np.stack([1.0 - predicted, predicted.astype(float)], 1)
    pd.DataFrame({"id": ids[200:][order], "proba_a": proba[order, 0], "proba_b": proba[order, 1]}).to_csv(
        tmp_path / "pred.csv", index=False)
    r = run_study(audit.AuditConfig(data=str(tmp_path / "train.csv"), target="label", test=str(tmp_path / "test.csv"),
                                    predictions=str(tmp_path / "pred.csv"), n_permutations=B, device="cpu"))
    assert r.heldout_accuracy == 0.9 and "id column 'id'" in r.model.name
    pd.DataFrame({"id": ids[200:], "y_pred": "a", "proba_a": 0.2, "proba_b": 0.8}).to_csv(tmp_path / "thr.csv",
                                                                                           index=False)
    thresholded = run_study(audit.AuditConfig(data=str(tmp_path / "train.csv"), target="label",
                                              test=str(tmp_path / "test.csv"), predictions=str(tmp_path / "thr.csv"),
                                              n_permutations=B, device="cpu"))
    assert thresholded.heldout_accuracy == float(np.mean(y[200:] == 0))  # y_pred ("a") is scored, not the argmax
    assert any("not the most probable class in 100 of 100 rows" in note for note in thresholded.notes)
    assert r.data["n_features"] == 3 and any("row ids" in note for note in r.notes)  # the ids are not a feature
    pd.DataFrame({"id": ids[200:][order][:-1], "y_pred": "a"}).to_csv(tmp_path / "short.csv", index=False)
    pd.DataFrame({"id": ids[200:], "proba_a": 0.7, "proba_b": 0.7}).to_csv(tmp_path / "bad.csv", index=False)
    pd.DataFrame({"id": ids[200:], "proba_a": 0.5, "proba_b": 0.5, "proba_c": 0.0}).to_csv(tmp_path / "stray.csv",
                                                                                        index=False)
    for name, message in (("short.csv", "1 id(s) of the held-out file have no prediction"),
                          ("stray.csv", "'proba_c' name(s) no class of the data"),
                          ("bad.csv", "summing to 1 in every row; row 1 holds [0.7, 0.7]")):
        result = runner.invoke(app, ["audit", str(tmp_path / "train.csv"), "--target", "label", "--test",
                                     str(tmp_path / "test.csv"), "--predictions", str(tmp_path / name)])
        assert result.exit_code == 2 and message in result.stderr, result.output


def test_a_leak_that_cannot_be_retested_without_is_said_so(tmp_path):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = rng.integers(0, 2, 300)
    X[:, 1] = y + rng.normal(scale=0.01, size=300)  # the label in disguise
    train, test = table(tmp_path, X[:200], y[:200], "train.csv"), table(tmp_path, X[200:], y[200:], "test.csv")
    pd.DataFrame({"y_pred": np.array(["a", "b"])[y[200:]]}).to_csv(tmp_path / "pred.csv", index=False)
    r = run_study(audit.AuditConfig(data=train, target="label", test=test, predictions=str(tmp_path / "pred.csv"),
                                    n_permutations=B, device="cpu"))
    assert r.shortcuts == [] and any("'x1' flagged by the leakage checks could not be retested" in n for n in r.notes)
    assert audit.reaches(r.verdict, "fail")  # the failing leakage check still fails a CI run


def test_a_saved_model_is_scored_as_it_is_not_as_a_refitted_copy(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from skops import io as skops_io

    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    train, test = table(tmp_path, X[:200], y[:200], "train.csv"), table(tmp_path, X[200:], y[200:], "test.csv")
    inverted = LogisticRegression().fit(X[:200], np.array(["b", "a"])[y[:200]])  # trained on the wrong labels
    skops_io.dump(inverted, tmp_path / "wrong.skops")
    r = run_study(audit.AuditConfig(data=train, target="label", test=test, model=str(tmp_path / "wrong.skops"),
                                    n_permutations=B, feature_permutations=0, device="cpu"))
    truth = float(np.mean(np.array(["a", "b"])[y[200:]] == inverted.predict(X[200:])))
    assert r.heldout_accuracy == truth < 0.1 and r.verdict.label == "NO SIGNAL"
    assert any("scored as it is" in note for note in r.notes)


def test_a_leak_copied_into_two_columns_is_a_shortcut_of_both(tmp_path):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    y = rng.integers(0, 2, 400)
    X[:, 3] = y + rng.normal(scale=0.05, size=400)
    X[:, 4] = 2 * X[:, 3] + 1  # the same leak again: without either column alone the other still carries it
    r = run_study(audit.AuditConfig(data=table(tmp_path, X, y), target="label", model="sklearn:LogisticRegression",
                                    n_permutations=B, feature_permutations=0, device="cpu"))
    assert r.verdict.label == "SHORTCUT"
    alone = [s for s in r.shortcuts if len(s.columns) == 1]
    (both,) = [s for s in r.shortcuts if len(s.columns) == 2]
    assert sorted(both.columns) == ["x3", "x4"] and both.confirmed and not any(s.confirmed for s in alone)
    assert "Without 'x" in r.verdict.reasons[1] and "and 'x" in r.verdict.reasons[1]


def test_work_that_cannot_fit_is_refused_with_its_estimate(monkeypatch):
    monkeypatch.setattr("nnprobe.limits.available_memory", lambda: 2**30)
    result = runner.invoke(app, ["audit", "synth:gaussian?n=200000&d=200&k=2", "--permutations", "2000",
                                 "--device", "cpu"])
    assert result.exit_code == 2 and "this machine has 1 GiB available" in result.stderr, result.output
    stated = float(result.stderr.split("needs about ")[1].split(" GiB")[0])
    activations = 4 * 2001 * (64 + 32 + 2) * 200_000 / 2**30  # float32 outputs of every layer, every network, every row
    assert activations <= stated <= 2 * activations
    result = runner.invoke(app, ["audit", "--feature-permutations", "5"])
    assert result.exit_code == 2 and "smallest is 1/6" in result.stderr


def test_a_model_that_fails_on_the_data_is_one_line_naming_it(tmp_path, monkeypatch):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(90, 3)).astype(np.float32)
    data = table(tmp_path, X, (X[:, 0] > 0).astype(np.int64))
    (tmp_path / "failing_models.py").write_text(
        "import sys, torch\n"
        "def wrong_inputs():\n    return torch.nn.Linear(7, 2)\n"  # the data have 3 features
        "def raises():\n    return lambda X: 1 / 0\n"
        "def leaves():\n    sys.exit(5)\n"
        "def three_outputs():\n    return torch.nn.Linear(3, 3)\n"  # 2 classes in the data
        "def scores():\n    return lambda X: X[:, :2] * 10\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    monkeypatch.chdir(tmp_path)
    for spec, message in (("python:failing_models:wrong_inputs",
                           "failed while computing its outputs: RuntimeError: mat1 and mat2"),
                          ("python:failing_models:raises", "failed while predicting: ZeroDivisionError"),
                          ("python:failing_models:leaves", "leaves() raised SystemExit: 5"),
                          ("python:failing_models:three_outputs", "must return one logit per class, (2, 2)"),
                          ("python:failing_models:scores", "probabilities must lie in [0, 1] and sum to 1"),
                          ("python:failing_models:scores?epochs=3", "set a torch module's training"),
                          ("mlp:8?epochs=0", "trains nothing"),
                          ("python:broken:f", "importing 'broken' raised SyntaxError"),
                          ("sklearn:KNeighborsClassifier?n_neighbors=500", "Expected n_neighbors <= n_samples_fit")):
        result = runner.invoke(app, ["audit", data, "--target", "label", "--model", spec, "--permutations", "19",
                                     "--feature-permutations", "0", "--device", "cpu", "--out", str(tmp_path / "r")])
        assert result.exit_code == 2 and message in result.stderr, (spec, result.output)
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_id_column_cannot_be_the_target_nor_missing_and_held_out_files_need_rows(tmp_path):
    result = runner.invoke(app, ["audit", "data.csv", "--target", "label", "--id", "label"])
    assert result.exit_code == 2 and "names the target column" in result.stderr
    rng = np.random.default_rng(10)
    X = rng.normal(size=(120, 2)).astype(np.float32)
    frame = pd.DataFrame(X, columns=["a", "b"]).assign(id=(X[:, 0] > 0).astype(int))  # a target called "id"
    frame.to_csv(tmp_path / "d.csv", index=False)
    args = ["--model", "sklearn:LogisticRegression", "--permutations", "19", "--feature-permutations", "0"]
    ok = runner.invoke(app, ["audit", str(tmp_path / "d.csv"), "--target", "id", *args, "--out", str(tmp_path / "r")])
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(app, ["audit", str(tmp_path / "d.csv"), "--target", "id", "--id", "row", *args])
    assert missing.exit_code == 2 and "has no id column 'row'" in missing.stderr
    frame[:5].to_csv(tmp_path / "tiny.csv", index=False)
    tiny = runner.invoke(app, ["audit", str(tmp_path / "d.csv"), "--target", "id", "--test", str(tmp_path / "tiny.csv"),
                               *args])
    assert tiny.exit_code == 2 and "has 5 row(s)" in tiny.stderr
