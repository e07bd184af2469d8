"""Tests of the run folder: atomic writes, JSON without NaN, escaped HTML, files that agree with the result."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnprobe.report import Report, Section, Table, to_jsonable, write
from nnprobe.report import memorize as report_memorize
from nnprobe.errors import ConfigError
from nnprobe.report.runfolder import check_out, write_run
from nnprobe.studies import Claim, memorize


def test_to_jsonable_handles_numpy_and_non_finite():
    doc = to_jsonable({"a": np.float32(0.5), "b": np.array([1, 2]), "c": float("nan"), "d": (np.int64(3), None),
                       "e": np.bool_(True), "f": float("inf")})
    assert doc == {"a": 0.5, "b": [1, 2], "c": None, "d": [3, None], "e": True, "f": None}
    json.dumps(doc, allow_nan=False)


def test_interrupted_write_leaves_no_results(tmp_path, monkeypatch):
    real_write = Path.write_bytes
    calls = []

    def write_then_fail(self, data):
        calls.append(self.name)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user presses Ctrl-C halfway through writing the files
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path / "run", {"a.txt": "1", "b.txt": "2", "results.json": "{}"})
    assert list(tmp_path.iterdir()) == []  # neither a partial run folder nor the staging folder is left


def test_an_earlier_run_is_replaced_whole(tmp_path):
    out = tmp_path / "run"
    write_run(out, {"config.json": "{}", "points.npz": b"old", "results.json": "{}"})
    write_run(out, {"config.json": "{}", "results.json": '{"new": 1}'})
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "results.json"]  # no stale points.npz
    assert json.loads((out / "results.json").read_text()) == {"new": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_out_that_cannot_take_a_run_is_refused(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="already holds other files"):
        write_run(tmp_path / "notes", {"results.json": "{}"})
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_out(tmp_path / "file")


def test_html_escapes_user_strings(tmp_path):
    evil = '<script>alert("x")</script>'
    report = Report(
        command="memorize", title=f"run on {evil}", terminal=[Table("t", [evil], [[evil]])],
        sections=[Section(evil, [evil], [Claim("seed", evil, True, evil)], [Table(evil, ["c"], [[evil]])])],
        figures={}, metrics=pd.DataFrame({"x": [1]}), claims=[Claim("seed", evil, False, evil)],
    )
    html_path = write(tmp_path / "r", report, config={"data": evil, "seed": 0}, result={"x": 1.0}, seconds=1.0,
                      device="cpu")
    html = html_path.read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    result = memorize.run(memorize.MemorizeConfig.small(n_features=(4, 30), epochs=30, device="cpu"))
    out = tmp_path_factory.mktemp("run")
    write(out, report_memorize.build(result), config=result.config, result=result, seconds=result.seconds,
          device=result.device)
    return result, out


def test_run_folder_files_agree_with_the_result(small_run):
    result, out = small_run
    results = json.loads((out / "results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["n_features"] == [4, 30] and config["seed"] == 0
    assert config["versions"]["torch"] and config["versions"]["numpy"]
    got = [s["train_accuracy_mean"] for s in results["result"]["summaries"]]
    assert got == pytest.approx([s.train_accuracy_mean for s in result.summaries])
    assert [c["holds"] for c in results["claims"]] == [c.holds for c in result.claims]

    metrics = pd.read_csv(out / "metrics.csv")
    F, S, T = result.train_accuracy.shape
    assert len(metrics) == 3 * F * S * T  # three metrics per (feature count, seed, epoch)
    rows = metrics[(metrics.metric == "train_accuracy") & (metrics.n_features == 30) & (metrics.seed_index == 1)]
    np.testing.assert_allclose(rows.sort_values("epoch").value, result.train_accuracy[1, 1])


def test_report_html_embeds_every_figure(small_run):
    _, out = small_run
    html = (out / "report.html").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 3
    assert html.count('src="data:image/png;base64,') == len(pngs)
    for png in pngs:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
