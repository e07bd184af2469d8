"""Run folders made and found again: run a study into its run folder, and list or look up past runs under runs/."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnprobe.errors import ConfigError
from nnprobe.studies import Progress, no_progress, tally
from nnprobe.text import printable

RUNS_ROOT = Path("runs")  # where commands put their run folders by default, relative to the current folder


@dataclass
class Outcome:
    """What running a study into its run folder gave."""

    result: object  # the study's Result
    report: object  # its nnprobe.report.Report
    html: Path  # the report.html that was written


def notes_of(caught: list[warnings.WarningMessage]) -> list[str]:
    """One line per distinct caught warning: its kind and the first line of its message (no file path)."""
    lines = []
    for w in caught:
        text = str(w.message).strip()
        lines.append(printable(f"{w.category.__name__}: {text.splitlines()[0] if text else ''}"))
    return list(dict.fromkeys(lines))


def run_and_report(study, config, *, out: Path | None = None, progress: Progress = no_progress,
                   writing: Callable[[], None] = lambda: None) -> Outcome:
    """Load and run ``study`` with ``config``, build its report and write its run folder.

    Parameters
    ----------
    study : nnprobe.studies.registry.Study (or anything with its load, run and build_report)
    config : the study's config
    out : the run folder [default: runs/<study>-<time>, a fresh name that never replaces a run]
    progress : called with (done, total) while the study runs
    writing : called once when the work is done and the report is being built and written

    The run folder is checked before any work (a bad ``out`` fails at once). Warnings that libraries raise while
    the study runs or its report is built become the report's notes, one line each.
    """
    from nnprobe import report as report_mod

    fresh = out is None  # a name nnprobe chose never replaces a run, even one started in the same second
    out = out or report_mod.default_out(study.name)
    report_mod.check_out(out)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        result = study.execute(config, progress)
        writing()
        report = study.build_report(result)
    report.notes += notes_of(caught)
    seconds = time.perf_counter() - started  # the whole command: loading, computing and the report's figures
    html = report_mod.write(out, report, config=config, result=result, seconds=seconds, device=result.device,
                            fresh=fresh)
    return Outcome(result, report, html)


@dataclass
class PastRun:
    """A run folder found on disk."""

    path: Path
    command: str
    created: str  # ISO time the run was written
    summary: str  # its verdict, or how many of its claims hold
    report: Path | None  # its report.html, when there is one


def _summary(results: dict) -> str:
    """A run's verdict (audit) or its claims tally (studies), from its results.json."""
    verdict = (results.get("result") or {}).get("verdict")
    if isinstance(verdict, dict) and verdict.get("label"):
        return str(verdict["label"])
    if isinstance(verdict, str) and verdict:
        return verdict
    claims = [c for c in results.get("claims") or [] if isinstance(c, dict)]
    return tally(c.get("holds") for c in claims) if claims else ""


def read_run(folder: Path) -> PastRun | None:
    """The run in ``folder``, or None when it is not a finished nnprobe run folder."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(config, dict) and "command" in config and "versions" in config and isinstance(results, dict)):
        return None
    html = folder / "report.html"
    return PastRun(folder, str(config["command"]), str(config.get("created", "")), _summary(results),
                   html if html.is_file() else None)


def list_runs(root: Path = RUNS_ROOT) -> list[PastRun]:
    """The run folders directly under ``root``, oldest first (hidden staging folders are not runs)."""
    if not root.is_dir():
        return []
    found = []
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir() and not entry.name.startswith("."):
                run = read_run(Path(entry.path))
                if run is not None:
                    found.append(run)
    return sorted(found, key=lambda r: (_moment(r.created), r.path.name))


def _moment(created: str) -> float:
    """A run's ISO time as seconds since the epoch (time zones compared rightly); 0 where it does not parse."""
    try:
        moment = dt.datetime.fromisoformat(created)
    except ValueError:
        return 0.0
    return (moment if moment.tzinfo else moment.astimezone()).timestamp()


def find_run(name: str | None, root: Path = RUNS_ROOT) -> PastRun:
    """The run ``name`` (a run folder's path, or a folder name under ``root``), or the latest run with a report.

    Raises
    ------
    ConfigError
        When there is no such run folder, or no run at all.
    """
    if name is None:
        with_report = [r for r in list_runs(root) if r.report is not None]
        if not with_report:
            raise ConfigError(f"no run with a report under {root}/: run a command first, e.g. nnprobe reproduce "
                              "--quick, or name a run folder.")
        return with_report[-1]
    for folder in (Path(name), root / name):
        run = read_run(folder) if folder.is_dir() else None
        if run is not None:
            return run
    known = ", ".join(r.path.name for r in list_runs(root)[-3:])
    raise ConfigError(f"{name} is not an nnprobe run folder: give a run folder's path or its name under {root}/"
                      + (f" (the latest: {known})." if known else "; nnprobe runs lists them."))
