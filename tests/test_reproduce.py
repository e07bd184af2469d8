"""Tests of `nnprobe reproduce` and the study registry: every study in one report, claims found by stable ids,
one metrics schema, the same seed giving the same report, and the runs a person can find again."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nnprobe.cli import app
from nnprobe.report.metrics import COLUMNS
from nnprobe.studies import ARTICLES
from nnprobe.studies.registry import STUDIES, study_of

runner = CliRunner()
CLAIM_ID = re.compile(r"(?P<study>[a-z]+)\.[a-z0-9_]+(:[A-Za-z0-9._-]+)?")
MB = 1024 * 1024


def results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def test_every_study_is_registered_with_its_article_and_a_quick_configuration():
    assert list(STUDIES) == ["memorize", "coin", "compare", "baseline", "backprop", "cluster", "explain"]
    for name, study in STUDIES.items():
        assert study.article == ARTICLES[name] and study.quote  # each section names its article and quotes it
        config = study.reproduce_config(quick=True, seed=7)
        assert study_of(config) is study
        assert getattr(config, "seed", 7) == 7  # the run's seed reaches every study that draws at random
    on_ray = STUDIES["memorize"].reproduce_config(quick=True, seed=0, executor="ray", ray_address="10.0.0.1:6379")
    assert (on_ray.executor, on_ray.ray_address) == ("ray", "10.0.0.1:6379")  # the sweep goes to the cluster


def test_the_report_holds_every_study_and_every_claim_once_by_id(quick_report):
    doc = results(quick_report)
    runs = doc["result"]["runs"]
    assert [r["name"] for r in runs] == list(STUDIES)  # every study ran, in the registry's order
    ids = [c["id"] for c in doc["claims"]]
    assert len(ids) == len(set(ids))  # unique: tests and readers find a claim by its id
    for claim_id in ids:
        match = CLAIM_ID.fullmatch(claim_id)
        assert match and match["study"] in STUDIES, claim_id
    assert ids == [c["id"] for r in runs for c in r["result"]["claims"]]  # the index is the studies' own claims
    by_id = {c["id"]: c for c in doc["claims"]}
    # Claims whose truth is computed, not measured, in every configuration: they cannot come out otherwise.
    assert by_id["coin.one_flip"]["holds"] is True  # 501/2000 against 499/2000, exactly
    assert by_id["baseline.zero_single_layer_constant"]["holds"] is False  # the article is wrong: one layer learns
    assert by_id["memorize.fits_at_240_features"]["holds"] is None  # the quick sweep stops below 240 features

    html = (quick_report / "report.html").read_text()
    verdict_table = html[html.index("Every claim, checked"):html.index("</table>", html.index("Every claim, checked"))]
    assert verdict_table.count("<tr") == len(ids) + 1  # a header and one row per claim
    first_study = html.index(f'>{STUDIES["memorize"].title}</h2>')
    assert html.index("Every claim, checked") < first_study  # the verdict table comes before the studies
    for study in STUDIES.values():
        assert study.article in html  # each study's section names its article
        assert study.quote.split(",")[0] in html  # and quotes its claim in its own words


def test_metrics_are_one_long_table_whose_values_are_the_results(quick_report):
    metrics = pd.read_csv(quick_report / "metrics.csv", dtype={"series": str})
    assert list(metrics.columns) == COLUMNS
    assert set(metrics.study) <= set(STUDIES) and {"memorize", "coin", "backprop", "cluster"} <= set(metrics.study)
    memorize = next(r for r in results(quick_report)["result"]["runs"] if r["name"] == "memorize")["result"]
    accuracy = memorize["train_accuracy"]  # [F, S, T] in results.json
    rows = metrics[(metrics.study == "memorize") & (metrics.metric == "train_accuracy")
                   & (metrics.series == f"n_features={memorize['summaries'][1]['n_features']} | seed_index=0")]
    assert rows.sort_values("step").value.tolist() == pytest.approx(accuracy[1][0])
    assert rows.step.tolist() == sorted(rows.step) and rows.step.iloc[-1] == memorize["epochs"][-1]


def test_the_quick_report_is_small_and_states_its_time_against_its_budget(quick_report):
    assert (quick_report / "report.html").stat().st_size < 5 * MB  # images embedded at 2x, still under 5 MB
    doc = results(quick_report)
    assert doc["result"]["budget_seconds"] == 60  # what --quick promises, stated beside the time it took
    assert doc["seconds"] > sum(r["seconds"] for r in doc["result"]["runs"])  # the whole run: studies and figures


def without_times(text: str) -> str:
    """A report with its timestamps and durations blanked: what may differ between two runs of the same seed."""
    text = re.sub(r"<time\b[^>]*>.*?</time>", "<time></time>", text, flags=re.S)
    return re.sub(r'<span class="duration">.*?</span>', '<span class="duration"></span>', text, flags=re.S)


def without_keys(doc, keys=("seconds", "created")):
    if isinstance(doc, dict):
        return {k: without_keys(v, keys) for k, v in doc.items() if k not in keys}
    if isinstance(doc, list):
        return [without_keys(v, keys) for v in doc]
    return doc


def test_the_same_seed_gives_the_same_report_byte_for_byte(quick_report, tmp_path):
    again = tmp_path / "again"
    result = runner.invoke(app, ["reproduce", "--quick", "--threads", "1", "--device", "cpu", "--out", str(again),
                                 "-q"])
    assert result.exit_code == 0, result.output
    first, second = (quick_report / "report.html").read_text(), (again / "report.html").read_text()
    assert first != second or "<time" not in first  # the times differ (or there are none), the rest may not
    assert without_times(first) == without_times(second)
    assert without_keys(results(quick_report)) == without_keys(results(again))
    assert (quick_report / "metrics.csv").read_bytes() == (again / "metrics.csv").read_bytes()
    pngs = sorted(p.name for p in quick_report.glob("*.png"))
    assert pngs and all((quick_report / p).read_bytes() == (again / p).read_bytes() for p in pngs)


def test_only_runs_the_named_studies_and_unknown_names_are_refused(tmp_path):
    result = runner.invoke(app, ["reproduce", "--quick", "--only", "coin,memorize", "--device", "cpu",
                                 "--out", str(tmp_path / "two"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["name"] for r in doc["result"]["runs"]] == ["memorize", "coin"]  # the registry's order
    assert {c["id"].split(".")[0] for c in doc["claims"]} == {"memorize", "coin"}
    bad = runner.invoke(app, ["reproduce", "--only", "memorise"])
    assert bad.exit_code == 2 and "study 'memorise' is unknown" in bad.stderr and "memorize" in bad.stderr


def nnprobe(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "nnprobe", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_runs_lists_past_runs_and_open_hands_the_latest_report_to_the_browser(tmp_path):
    assert nnprobe("coin", "--small", "-q", cwd=tmp_path).returncode == 0
    assert nnprobe("reproduce", "--quick", "--only", "coin", "-q", cwd=tmp_path).returncode == 0
    listed = json.loads(nnprobe("runs", "--json", cwd=tmp_path).stdout)
    assert [r["command"] for r in listed] == ["coin", "reproduce"]  # oldest first
    coin_claims = [c for c in results(Path(tmp_path / listed[0]["path"]))["claims"]]
    held = sum(c["holds"] is True for c in coin_claims)
    assert listed[0]["summary"].startswith(f"{held} of {len(coin_claims)} claims hold")
    table = nnprobe("runs", cwd=tmp_path, env={"COLUMNS": "200"}).stdout
    assert "coin" in table and "reproduce" in table and listed[1]["path"] in table

    # A "browser" that writes down what it was asked to open (webbrowser honours $BROWSER).
    fake = tmp_path / "fake-browser"
    fake.write_text(f"#!/bin/sh\necho \"$1\" > {tmp_path / 'opened.txt'}\n")
    fake.chmod(0o755)
    opened = nnprobe("open", cwd=tmp_path, env={"BROWSER": str(fake)})
    assert opened.returncode == 0, opened.stderr
    latest = (tmp_path / listed[1]["report"]).resolve()
    assert (tmp_path / "opened.txt").read_text().strip() == latest.as_uri()
    # No browser at all (no display, nothing on PATH): the path is printed instead.
    bare = {"PATH": str(tmp_path / "empty"), "BROWSER": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    shown = nnprobe("open", listed[0]["path"], cwd=tmp_path, env=bare)
    assert shown.returncode == 0 and "no browser found" in shown.stderr
    assert str(Path(listed[0]["report"])) in shown.stderr.replace("\n", "")
    missing = nnprobe("open", "no-such-run", cwd=tmp_path)
    assert missing.returncode == 2 and "no-such-run is not an nnprobe run folder" in missing.stderr
