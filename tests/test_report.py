"""Tests of the report documents: escaped HTML, files of a run folder that agree with the result and each other.

The run folder mechanics (atomic replacement, manifest, refusals, recovery) are tested in test_runfolder.py.
"""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from nnprobe.report import Report, Section, Table, write
from nnprobe.report import memorize as report_memorize
from nnprobe.report.runfolder import MANIFEST
from nnprobe.studies import Claim, memorize


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
    assert config["schema"] == "nnprobe.config/1"  # tells later readers (and nnprobe) which layout this is
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


def test_the_manifest_vouches_for_every_file_of_the_run(small_run):
    _, out = small_run
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir() if p.name != MANIFEST)
    for name, listed in manifest["files"].items():
        assert listed["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest(), name
