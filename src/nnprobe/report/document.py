"""What a study's report holds (tables, figures, sections, metrics) and how it becomes a run folder."""

from __future__ import annotations

import base64
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from nnprobe.report.runfolder import RESULTS_SCHEMA, dumps, library_versions, to_jsonable, write_run
from nnprobe.studies import ARTICLES, Claim
from nnprobe.text import fmt


@dataclass
class Table:
    """A titled table of plain cells (strings and numbers)."""

    title: str
    columns: list[str]
    rows: list[list]
    note: str = ""  # shown under the table (e.g. "rows cut at 40")


@dataclass
class Section:
    """One part of report.html: text, claims, tables and figures (by file name)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Everything a study's run folder holds besides config.json and results.json."""

    command: str
    title: str
    terminal: list[Table]  # the tables printed in the terminal at the end
    sections: list[Section]
    figures: dict[str, bytes]  # file name -> PNG (or GIF) bytes, also embedded in report.html
    metrics: pd.DataFrame  # long format: one row per (keys..., epoch, metric, value)
    claims: list[Claim] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # further files of the run folder (e.g. points.npz)
    headline: str = ""  # one line shown first, in the terminal and in report.html (a verdict, a divergence)
    notes: list[str] = field(default_factory=list)  # what the run's libraries warned about, one line each


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("nnprobe.report", "templates"),
    autoescape=True,  # every string from the user (column names, paths) is escaped
    undefined=jinja2.StrictUndefined,
)


_env.filters["fmt"] = fmt


def render_html(report: Report, *, config: dict, seconds: float, created: str) -> str:
    """The self-contained report.html: figures embedded as base64 PNG, all text escaped."""
    images = {name: f"data:image/{'gif' if name.endswith('.gif') else 'png'};base64,"
              + base64.b64encode(data).decode("ascii") for name, data in report.figures.items()}
    return _env.get_template("report.html.j2").render(
        report=report, images=images, config=config, seconds=seconds, created=created,
        versions=library_versions(), article=ARTICLES.get(report.command, ""),
    )


def write(out: Path, report: Report, *, config, result, seconds: float, device: str, fresh: bool = False) -> Path:
    """Write the run folder for ``report``; returns the path of its report.html (``fresh``: see ``write_run``)."""
    created = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    options = to_jsonable(config)
    config_doc = {
        "schema": "nnprobe.config/1",
        "command": report.command,
        "options": options,
        "seed": options.get("seed") if isinstance(options, dict) else None,
        # the threads the work ran on: numbers can differ in their last digits between thread counts, so this
        # is part of what reproduces them (with --threads)
        "threads": getattr(result, "threads", None),
        "argv": sys.argv,
        "created": created,
        "versions": library_versions(),
    }
    result_doc = to_jsonable(result)
    if isinstance(result_doc, dict):
        for key in ("config", "claims", "seconds", "device", "threads"):  # held once: in config.json or at the top
            result_doc.pop(key, None)
    results = {
        "schema": RESULTS_SCHEMA,
        "command": report.command,
        "created": created,
        "seconds": seconds,
        "device": device,
        "claims": to_jsonable(report.claims),
        "notes": report.notes,
        "result": result_doc,
    }
    files: dict[str, bytes | str] = {
        "config.json": dumps(config_doc),
        "results.json": dumps(results),
        "metrics.csv": report.metrics.to_csv(index=False),
        **report.figures,
        **report.files,
        "report.html": render_html(report, config=options, seconds=seconds, created=created),
    }
    written = write_run(out, files, fresh=fresh)
    return written[0].parent / "report.html"
