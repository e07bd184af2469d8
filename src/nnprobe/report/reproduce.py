"""Report of `reproduce`: a verdict table of every claim first, then one section per study (the article, its claim
in its own words, what was measured and the study's own report), in one self-contained page."""

from __future__ import annotations

import dataclasses

import pandas as pd

from nnprobe.report.document import Report, Section, Table
from nnprobe.report.metrics import long_metrics
from nnprobe.studies import tally

STATUS = {True: "holds", False: "does not hold", None: "untested"}


def _study_section(study, run, report, quick: bool) -> list[Section]:
    """The study's heading section (article, claim in its words, what we measured) and its report's sections."""
    claims = run.result.claims
    wrong = [c for c in claims if c.source == "seed" and c.holds is False]
    kind = "small" if quick else "default"
    measured = f"What nnprobe measured ({kind} configuration): {tally(c.holds for c in claims)}." if claims else \
        "What nnprobe measured: see below (this study makes no claim to judge)."
    paragraphs = [
        f"The article: \u201c{study.article}\u201d.",
        f"What it says, in its own words: \u201c{study.quote}\u201d",
        measured,
    ]
    if wrong:
        paragraphs.append("Where the article is wrong: " + " ".join(f"\u201c{c.statement}\u201d does not hold "
                                                                   f"({c.evidence})." for c in wrong))
    if report.headline:
        paragraphs.append(report.headline)
    prefix = f"{run.name}_"
    parts = [Section(study.title, paragraphs, claims=claims, level=2)]
    for section in report.sections:  # the study's claims are listed once, under its heading
        figures = [dataclasses.replace(f, name=prefix + f.name) for f in section.figures]
        parts.append(dataclasses.replace(section, claims=[], level=3, figures=figures))
    return parts


def build(r) -> Report:
    """The combined report of a ReproduceResult."""
    from nnprobe.studies.registry import STUDIES

    reports = {run.name: STUDIES[run.name].build_report(run.result) for run in r.runs}
    # The status first: on a phone it is what shows before the table is scrolled sideways.
    verdicts = Table("Every claim, checked", ["status", "claim", "measured", "article"], [
        [STATUS[c.holds], ("" if c.source == "seed" else "(nnprobe) ") + c.statement, c.evidence,
         STUDIES[run.name].article] for run in r.runs for c in run.result.claims])
    summary = Section("Verdicts", [
        f"{tally(c.holds for c in r.claims)}. Each row is one claim: the articles' own (what they say) and nnprobe's "
        "(what the articles leave out or get wrong, marked (nnprobe)), judged on the numbers measured in this run. "
        "\u201cUntested\u201d means this configuration cannot decide the claim; the evidence says why.",
    ], tables=[verdicts], level=2)
    sections = [summary]
    figures, files, notes = {}, {}, []
    for run in r.runs:
        report = reports[run.name]
        sections += _study_section(STUDIES[run.name], run, report, r.config.quick)
        figures.update({f"{run.name}_{name}": data for name, data in report.figures.items()})
        files.update({f"{run.name}_{name}": data for name, data in report.files.items()})
        notes += [f"{run.name}: {note}" for note in report.notes]
    metrics = pd.concat([long_metrics(run.name, reports[run.name].metrics) for run in r.runs], ignore_index=True)
    terminal = Table("Claims", ["study", "claim", "status"], [
        [run.name, c.statement, STATUS[c.holds]] for run in r.runs for c in run.result.claims])
    kind = "small configurations" if r.config.quick else "default configurations"
    return Report("reproduce", f"nnprobe reproduce \u2014 the articles' claims, checked ({kind})",
                  terminal=[terminal], sections=sections, figures=figures, metrics=metrics, claims=r.claims,
                  files=files, headline=tally(c.holds for c in r.claims) + ".", notes=notes, lead=1)
