"""What a study's report holds (tables, figures, sections, metrics) and how it becomes a run folder."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from nnprobe.report.metrics import long_metrics
from nnprobe.report.runfolder import RESULTS_SCHEMA, dumps, library_versions, to_jsonable, write_run
from nnprobe.studies import ARTICLES, Claim
from nnprobe.text import fmt, numeric

SCREEN_DPI = 110  # pixels per inch of a figure shown one PNG pixel to one CSS pixel
PIXEL_RATIO = 2  # figures are drawn with this many pixels per CSS pixel (figures.DPI): sharp on dense screens
WIDE_FIGURE = 900  # CSS pixels: a figure wider than this has panels side by side, which a phone shrinks unreadably
LEGIBLE_SCALE = 0.6  # ...so it is never shown below this share of its size; on a phone it scrolls sideways instead
SHORT_CELL = 12  # a table cell of at most this many characters never wraps (a word, "29 (2/2)")
TEXT_CELL = 40  # one of more characters is a finding: its column is kept wide enough to read on a phone
LONG_WORD = 24  # a table cell with an unbroken run of more characters (a path, an id) may break anywhere
# Table cells whose whole text is one of these words: the class that colours them and the mark that says the same
# without colour, for readers who do not see the difference (claim verdicts get the same marks).
STATUS = {
    "pass": ("good", "\u2713"), "holds": ("good", "\u2713"), "learned": ("good", "\u2713"),
    "warn": ("warn", "\u26a0"), "memorised": ("warn", "\u26a0"),
    "fail": ("bad", "\u2717"), "does not hold": ("bad", "\u2717"), "shortcut": ("bad", "\u2717"),
    "no signal": ("bad", "\u2717"),
    "untested": ("unknown", "?"), "not tested": ("unknown", "?"),
}
VERDICT = {True: ("good", "\u2713", "Holds"), False: ("bad", "\u2717", "Does not hold"),
           None: ("unknown", "?", "Not tested")}  # a claim's verdict: class, mark, words
_FILE_NAME = re.compile(r"\.(png|gif|jpe?g|svg|webp)$", re.IGNORECASE)
# Powers in plain text: 10^6, x^2, (4 - w)^2, p^k, e^(−x). Base and exponent are a number, one letter or a short
# bracket, so that a caret inside a longer word (a file name like run^2.csv) stays as it is.
_POWER = re.compile(r"(?<![\w.^])(\d+(?:\.\d+)?|[A-Za-z]|\([^()<>]{1,40}\))\^(\d+|[A-Za-z]|\([^()<>]{1,40}\))"
                    r"(?!\w|\.\w)")


@dataclass(frozen=True)
class Formula:
    """A formula that nnprobe writes: plain Unicode text where text is shown (terminal, CSV, JSON), MathML or HTML
    in report.html. In a section's paragraphs it is shown as a displayed formula; in a table cell, inline.

    ``html`` must be a ``markupsafe.Markup`` built by nnprobe's own code from literals, with any number passed in
    through ``Markup.format`` (which escapes it): text from the user never goes into it.
    """

    text: str  # the formula as plain text, e.g. "w ← w − α·dL/dw"
    html: Markup  # the same as MathML (<math>...</math>) or HTML (<sup>, <sub>)

    def __post_init__(self) -> None:
        if not isinstance(self.html, Markup):
            raise TypeError(f"Formula.html must be markupsafe.Markup written by nnprobe, not {type(self.html).__name__}"
                            f": wrap the literal in Markup(...) and pass numbers through Markup.format.")

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:  # what Jinja's autoescaping shows instead of escaping
        return str(self.html)


@dataclass
class Figure:
    """A figure of a section: a file of the run folder, shown with a caption and described in words."""

    name: str  # file name in the run folder, a key of Report.figures
    caption: str  # one sentence shown under the figure
    alt: str  # what the figure shows, in words (and numbers), for readers who cannot see it

    def __post_init__(self) -> None:
        for what in ("caption", "alt"):
            text = getattr(self, what)
            if not isinstance(text, str) or not re.search(r"[^\W\d_]", text) or _FILE_NAME.search(text.strip()):
                raise ValueError(f"figure {self.name!r}: its {what} {text!r} says nothing; give it in words what the "
                                 "figure shows (not its file name).")


@dataclass
class Table:
    """A titled table of plain cells (strings, numbers and Formulas)."""

    title: str
    columns: list[str]
    rows: list[list]
    note: str = ""  # shown under the table (e.g. "rows cut at 40")


@dataclass
class Section:
    """One part of report.html under a heading: paragraphs (plain text, escaped in the page, or a Formula shown
    displayed), claims, figures and tables."""

    title: str
    paragraphs: list[str | Formula] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    level: int = 2  # heading level: 2 (<h2>), or 3 (<h3>) for a part of a study under its heading in a combined report

    def __post_init__(self) -> None:
        if self.level not in (2, 3):
            raise ValueError(f"Section {self.title!r}: level {self.level!r}; a section is at level 2 or 3.")
        for figure in self.figures:
            if not isinstance(figure, Figure):
                raise TypeError(f"Section {self.title!r}: figures holds {figure!r}; give Figure(name, caption, alt).")


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
    lead: int = 0  # sections shown before the table of contents (reproduce: its verdict table, first on the page)


def listing(parts, limit: int = 8) -> str:
    """Parts joined as in a sentence, "a, b and c", at most ``limit`` of them ("a, b, c and 4 more"): for the alt
    texts of figures, which describe one curve or bar per part."""
    parts = [str(part) for part in parts]
    if len(parts) > limit:
        parts = [*parts[:limit - 1], f"{len(parts) - limit + 1} more"]
    if len(parts) < 2:
        return parts[0] if parts else "none"
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def with_powers(text) -> Markup:
    """Plain text as HTML, escaped, with powers written a^b shown as superscripts (10^6, x^2, (4 - w)^2): the
    notation of evidence strings and formulas in text. Formulas and other markup-like objects pass unchanged."""
    if hasattr(text, "__html__"):
        return Markup(text.__html__())
    return Markup(_POWER.sub(lambda m: f"{m[1]}<sup>{m[2][1:-1] if m[2][0] == '(' else m[2]}</sup>",
                             str(escape(fmt(text)))))


def anchor(title: str, taken: set[str]) -> str:
    """A stable, unique ``id`` for a heading: the title's letters and digits in lower case, joined by hyphens
    ("Part 1 — learning y = 4x" -> "part-1-learning-y-4x"), with -2, -3... where ``taken`` has it; added to
    ``taken``."""
    plain = unicodedata.normalize("NFKD", str(title)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60].rstrip("-") or "section"
    found, k = slug, 2
    while found in taken:
        found, k = f"{slug}-{k}", k + 1
    taken.add(found)
    return found


@dataclass
class _Cell:
    content: object  # text, or a Formula
    css: str  # classes of the <td>
    mark: str  # a status word's mark, shown before it


def _fit(text: str) -> str:
    """How a cell's text wraps: "short" (never: a word, a count with its share), "" (at spaces), "text" (at spaces,
    in a column kept wide enough to read: a finding) or "long" (an unbroken run such as a path: anywhere)."""
    if any(len(word) > LONG_WORD for word in text.split()):
        return "long"
    return "short" if len(text) <= SHORT_CELL else "text" if len(text) > TEXT_CELL else ""


def _table_view(table: Table, ident: str) -> dict:
    """What the template needs of a table: per column its name and classes, and per cell its content and classes.
    A column holds numbers (right-aligned, as in the terminal) when every cell reads as one; the first holds the
    rows' names. A status word gets its class and mark."""
    width = len(table.columns)
    number_columns = [i > 0 and bool(table.rows) and all(numeric(row[i]) for row in table.rows if i < len(row))
                      for i in range(width)]
    rows = []
    for row in table.rows:
        cells = []
        for i, value in enumerate(row):
            text = fmt(value)
            css, mark = STATUS.get(text.strip().lower(), ("", ""))
            classes = ["num"] if i < width and number_columns[i] else [_fit(text)] if _fit(text) else []
            if mark:
                classes += ["status", css]
            cells.append(_Cell(value if isinstance(value, Formula) else text, " ".join(classes), mark))
        rows.append(cells)
    columns = [(name, "num" if number_columns[i] else _fit(str(name))) for i, name in enumerate(table.columns)]
    return {"id": ident, "title": table.title, "note": table.note, "rows": rows, "columns": columns}


def _figure_view(figure: Figure, data: bytes) -> dict:
    """What the template needs of a figure: its data URL and the size to show it at (half the pixels of a PNG drawn
    at twice the screen's density), with a smallest width for a wide one."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        (width, height), kind, dpi = image.size, image.format.lower(), image.info.get("dpi")
    ratio = max(1, round(dpi[0] / SCREEN_DPI)) if dpi else 1  # a PNG says its density; a GIF is drawn at 1x
    width, height = -(-width // ratio), -(-height // ratio)
    return {"figure": figure, "width": width, "height": height, "animated": kind == "gif",
            "min_width": round(LEGIBLE_SCALE * width) if width > WIDE_FIGURE else None,
            "src": f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")}


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("nnprobe.report", "templates"),
    autoescape=True,  # every string from the user (column names, paths) is escaped
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,  # a block tag's line leaves no empty line in the page
    lstrip_blocks=True,
)


_env.filters["fmt"] = fmt
_env.filters["powers"] = with_powers
_env.tests["formula"] = lambda value: isinstance(value, Formula)


def render_html(report: Report, *, config: dict, seconds: float, created: str) -> str:
    """The self-contained report.html: a table of contents, figures embedded as base64 PNG (or GIF) at half their
    pixel size, all text escaped; the creation time in <time> and the duration in <span class="duration">, the only
    parts that differ between two runs of the same configuration."""
    every_claim = [*report.claims, *(c for section in report.sections for c in section.claims)]
    taken = {"contents", "claims-checked", "configuration", *(f"claim-{c.id}" for c in every_claim)}
    sections = []
    for section in report.sections:
        missing = [f.name for f in section.figures if f.name not in report.figures]
        if missing:
            raise ValueError(f"section {section.title!r} shows {missing}, which are not among the report's figures "
                             f"{sorted(report.figures)}.")
        sections.append({
            "section": section, "id": anchor(section.title, taken),
            "tables": [_table_view(t, anchor(f"table {t.title}", taken)) for t in section.tables],
            "figures": [_figure_view(f, report.figures[f.name]) for f in section.figures],
        })
    claims_apart = bool(report.claims) and not any(section.claims for section in report.sections)
    toc = [{"id": "claims-checked", "title": "Claims checked", "children": []}] if claims_apart else []
    for view in sections:
        entry = {"id": view["id"], "title": view["section"].title, "children": []}
        if view["section"].level == 3 and toc:
            toc[-1]["children"].append(entry)
        else:
            toc.append(entry)
    toc.append({"id": "configuration", "title": "Configuration", "children": []})
    return _env.get_template("report.html.j2").render(
        report=report, sections=sections, toc=toc, claims_apart=claims_apart, verdict=VERDICT, config=config,
        seconds=seconds, created=created, versions=library_versions(), article=ARTICLES.get(report.command, ""),
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
        "metrics.csv": long_metrics(report.command, report.metrics).to_csv(index=False),
        **report.figures,
        **report.files,
        "report.html": render_html(report, config=options, seconds=seconds, created=created),
    }
    written = write_run(out, files, fresh=fresh)
    return written[0].parent / "report.html"
