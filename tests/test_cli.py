"""Tests of the command line: CliRunner for behaviour, one real subprocess run, bad input -> exit 2."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import nnprobe
from nnprobe.cli import app

runner = CliRunner()
TINY = ["--small", "--features", "3,20", "--epochs", "15", "--seeds", "2", "--device", "cpu"]


def test_version_and_help():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and nnprobe.__version__ in result.output
    result = runner.invoke(app, ["memorize", "--help"])
    text = " ".join(result.output.split())  # help is wrapped to the terminal width
    assert result.exit_code == 0 and "--features" in text and "[default: 10,30,60,120,240,480]" in text


def test_memorize_json_matches_the_run_folder(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["memorize", *TINY, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads((out / "results.json").read_text())
    assert [s["n_features"] for s in printed["result"]["summaries"]] == [3, 20]
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["epochs"] == 15 and config["options"]["n_seeds"] == 2  # options override --small


def test_memorize_summary_shows_claims(tmp_path):
    result = runner.invoke(app, ["memorize", *TINY, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "features" in result.stdout and "held-out" in result.stdout
    assert "Held-out accuracy on fresh random data stays at chance" in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["memorize", "--features", "ten"], "--features 'ten' must be comma-separated integers"),
        (["memorize", "--init", "xavier"], "init scheme 'xavier' is unknown"),
        (["memorize", "--classes", "1"], "n_classes (--classes)=1 is out of range: allowed 2..10,000"),
        (["memorize", "--device", "tpu"], "device 'tpu' is unknown"),
        (["describe", "missing.csv", "--target", "y"], "does not exist"),
        (["describe", "sklearn:wines"], "Did you mean 'wine'"),
        (["cluster", "--small", "--classes", "60"], "5 per class of 60 classes at least)=200 is out of range"),
        (["compare", "--discordance", "0.1", "--base-accuracy", "1.5"], "base_accuracy=1.5 must be a finite number in [0, 1]"),
        (["coin", "--small", "--out", __file__], "is a file"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_describe_shows_class_counts(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,kind\n1,2,<b>x</b>\n3,4,y\n5,6,y\n")
    result = runner.invoke(app, ["describe", str(path), "--target", "kind", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["class_counts"] == {"<b>x</b>": 1, "y": 2}


def test_real_process_run_and_real_bad_input(tmp_path):
    exe = [sys.executable, "-m", "nnprobe"]
    done = subprocess.run([*exe, "memorize", *TINY, "--out", str(tmp_path / "r"), "--quiet"], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r" / "results.json").read_text())["command"] == "memorize"
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a,y\nnot-a-number,1\n2,0\n")
    bad = subprocess.run([*exe, "describe", str(bad_csv), "--target", "y"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "not numeric" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_backprop_run_shows_every_table_and_writes_errata(tmp_path):
    out = tmp_path / "bp"
    result = runner.invoke(app, ["backprop", "--small", "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for title in ("Forward pass at w = 2", "Finite-difference probe", "Gradient descent", "Errata",
                  "4-2-1, tied", "4-2-1, fully connected", "Ten digits"):
        assert title in result.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["result"]["line"]["total"] == 120
    assert {e["kind"] for e in results["result"]["line"]["errata"]} == {"wrong", "repeated row", "truncated"}
    assert "row printed twice" in (out / "report.html").read_text()


def test_long_tables_are_cut_on_screen_with_a_note(tmp_path):
    result = runner.invoke(app, ["backprop", "--small", "--device", "cpu", "--lr", "0.0005", "--steps", "60",
                                 "--out", str(tmp_path / "bp")])
    assert result.exit_code == 0, result.output
    assert "rows cut here; all are in results.json" in result.stdout
    rows = json.loads((tmp_path / "bp" / "results.json").read_text())["result"]["line"]["descent"]
    assert len(rows) == 61  # step 0 and 60 steps: all kept in the file


def test_cluster_writes_gif_points_and_claims(tmp_path):
    out = tmp_path / "cl"
    result = runner.invoke(app, ["cluster", "--small", "--dims", "2,3", "--epochs", "500", "--seeds", "1",
                                 "--device", "cpu", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)
    assert [r["label"] for r in results["result"]["runs"]] == ["2 features", "3 features"]
    assert any("3 features the points separate sooner" in c["statement"] for c in results["claims"])
    assert (out / "points_2_features.gif").read_bytes()[:6] == b"GIF89a"
    html = (out / "report.html").read_text()
    assert html.count("data:image/gif;base64,") == 2


def test_cluster_bad_data_exits_2():
    result = runner.invoke(app, ["cluster", "--data", "nowhere.csv", "--target", "y"])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_baseline_cli_checks_and_bad_test_file(tmp_path):
    out = tmp_path / "bl"
    result = runner.invoke(app, ["baseline", "--small", "--device", "cpu", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)["result"]["checks"]
    assert {c["name"] for c in checks} >= {"class balance", "lift over baseline", "train/test contamination"}
    assert all(set(c) == {"name", "status", "message", "values"} for c in checks)
    (tmp_path / "a.csv").write_text("x,y,label\n" + "1,2,a\n3,4,b\n" * 20)
    (tmp_path / "b.csv").write_text("x,z,label\n1,2,a\n3,4,b\n")
    bad = runner.invoke(app, ["baseline", str(tmp_path / "a.csv"), "--target", "label", "--test",
                              str(tmp_path / "b.csv")])
    assert bad.exit_code == 2 and "feature columns differ" in bad.stderr


def test_coin_cli(tmp_path):
    result = runner.invoke(app, ["coin", "--small", "--out", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["result"]["formulas"][0].startswith("P(more heads than tails in 2N flips)")
    bad = runner.invoke(app, ["coin", "--p", "0.5,1.5"])
    assert bad.exit_code == 2 and "p=1.5 must be a finite number in (0, 1)" in bad.stderr


def test_compare_cli_prints_the_verdict(tmp_path):
    ids = list(range(400))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("id,y_true,y_pred\n" + "".join(f"{i},1,{1 if i % 10 else 0}\n" for i in ids))
    b.write_text("id,y_true,y_pred\n" + "".join(f"{i},1,{1 if i % 20 else 0}\n" for i in ids))
    result = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "B is better by 5.0 points" in result.stdout and "only B right" in result.stdout
    missing = runner.invoke(app, ["compare", str(a), str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    nothing = runner.invoke(app, ["compare"])
    assert nothing.exit_code == 2 and "--discordance" in nothing.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["memorize", "--epochs", "abc"], "Invalid value for '--epochs'"),
        (["memorize", "--no-such-option"], "No such option: --no-such-option"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["memorize", "--epochs", "99999999999999999999"], "epochs (--epochs)=99,999,999,999,999,999,999 is out of "
                                                            "range: allowed 0..1,000,000"),
        (["memorize", "--features", "10,,20"], "--features '10,,20' has an empty item"),
        (["memorize", "--seed", "-1"], "seed=-1 is out of range: allowed 0..4,294,967,295"),
        (["memorize", "--seed", str(2**63)], "seed=9,223,372,036,854,775,808 is out of range"),
        (["memorize", "--lr", "nan"], "lr (--lr)=nan must be a finite number in (0, 1000]"),
        (["memorize", "--lr", "inf"], "lr (--lr)=inf must be a finite number"),
        (["memorize", "--init", "normal:1e308"], "the std of 'normal:<std>' must be a number in (0, 100]"),
        (["memorize", "--batch-size", "0"], "batch_size (--batch-size)=0 is out of range"),
        (["memorize", "--seeds", "1000", "--samples", "1000000", "--features", "100000"],
         "GiB of memory; this machine has 16 GiB available"),
        (["cluster", "--input-momentum", "1"], "input_momentum (--input-momentum)=1.0 must be a finite number in [0, 1)"),
        (["cluster", "--input-lr", "-inf"], "input_lr (--input-lr)=-inf must be a finite number"),
        (["cluster", "--data", "synth:line"], "synth:line?slope=4&n=5 is a regression set"),
        (["baseline", "synth:line"], "is a regression set"),
        (["backprop", "--w0", "1e308"], "w0=1e+308 must be a finite number in [-1e+06, 1e+06]"),
        (["backprop", "--lr", "1e39"], "lr (--lr)=1e+39 must be a finite number in (0, 1000]"),
        (["backprop", "--epochs", "2000000"], "epochs (--epochs)=2,000,000 is out of range"),
    ],
)
def test_usage_errors_and_absurd_values_exit_2_with_one_line(args, message, monkeypatch):
    monkeypatch.setattr("nnprobe.limits.available_memory", lambda: 16 * 2**30)  # what any machine might have
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_help_names_each_article_by_title_and_the_seed_range():
    from nnprobe.studies import ARTICLES

    for command, title in ARTICLES.items():
        text = " ".join(runner.invoke(app, [command, "--help"]).output.split())
        assert f"From the article “{title}”" in text and "(seed 0" not in text, command
    assert "0..4294967295" in " ".join(runner.invoke(app, ["memorize", "--help"]).output.split())


def test_sigterm_is_an_interrupt_that_leaves_nothing(tmp_path, monkeypatch):
    import os
    import signal

    from nnprobe.studies import memorize as study

    def terminated_midway(config, data, progress):
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` from another terminal, while the study trains
        raise AssertionError("SIGTERM did not stop the run")

    monkeypatch.setattr(study, "run", terminated_midway)
    before = signal.getsignal(signal.SIGTERM)
    result = runner.invoke(app, ["memorize", *TINY, "--out", str(tmp_path / "r")])
    assert result.exit_code == 143, result.output
    assert result.stderr.strip() == "interrupted: nothing half-written was left behind."
    assert list(tmp_path.iterdir()) == []  # no run folder, no staging folder
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back after the command


def test_library_warnings_become_one_note_each_without_paths(tmp_path, monkeypatch):
    import warnings

    from nnprobe.studies import coin as study

    real_run = study.run

    def warns(config, data, progress):
        for _ in range(3):
            warnings.warn("overflow encountered in exp\nsecond line", RuntimeWarning, stacklevel=1)
        return real_run(config, data, progress)

    monkeypatch.setattr(study, "run", warns)
    result = runner.invoke(app, ["coin", "--small", "--out", str(tmp_path / "c"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["note: RuntimeWarning: overflow encountered in exp",  # once, first line only
                                          f"report: {tmp_path / 'c' / 'report.html'}"]  # -q still names the report
    assert json.loads((tmp_path / "c" / "results.json").read_text())["notes"] == [
        "RuntimeWarning: overflow encountered in exp"]
    assert "note: RuntimeWarning: overflow encountered in exp" in (tmp_path / "c" / "report.html").read_text()


def test_describe_shows_control_characters_escaped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,kind\n1,\x1b[31mred\n2,blue\u202e\n3,blue\u202e\n")
    result = runner.invoke(app, ["describe", str(path), "--target", "kind"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\x1b[31mred" in result.stdout and "blue\\u202e" in result.stdout


def test_a_sweep_that_cannot_fit_is_refused_with_at_least_its_input_matrix(monkeypatch):
    import re

    monkeypatch.setattr("nnprobe.limits.available_memory", lambda: 16 * 2**30)
    result = runner.invoke(app, ["memorize", "--seeds", "1000", "--samples", "1000000", "--features", "100000"])
    estimate = float(re.search(r"needs about ([\d.]+) GiB", result.stderr).group(1))
    assert result.exit_code == 2 and estimate >= 1e6 * 1e5 * 4 / 2**30  # the float32 features alone: 372.5 GiB


def test_output_to_a_full_device_or_an_ascii_terminal_is_one_line_or_escaped(tmp_path):
    exe = [sys.executable, "-m", "nnprobe"]
    with open("/dev/full", "w") as full:
        done = subprocess.run([*exe, "describe", "sklearn:wine", "--json"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.strip() == "error: cannot write the output: No space left on device."
    labels = tmp_path / "t.csv"
    labels.write_text("a,kind\n1,中文\n2,line\u2028break\n3,中文\n", encoding="utf-8")
    env = {**__import__("os").environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([*exe, "describe", str(labels), "--target", "kind"], capture_output=True, text=True,
                          timeout=120, env=env, encoding="ascii")
    assert done.returncode == 0, done.stderr
    assert "\\u4e2d\\u6587" in done.stdout and "line\\u2028break" in done.stdout  # escapes, not a crash
