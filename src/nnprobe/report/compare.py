"""Report of a model comparison: the 2x2 table with labelled cells, the tests, the interval, the verdict, and the
examples needed to detect a lift, each number labelled with the test it is for."""

from __future__ import annotations

import pandas as pd

from nnprobe.report.document import Report, Section, Table
from nnprobe.studies.compare import CompareResult


def _count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def _p(p_value: float) -> str:
    return "< 0.0001" if 0 < p_value < 1e-4 else f"{p_value:.4g}"


def _classification_tables(r: CompareResult) -> list[Table]:
    m, c = r.mcnemar, r.config
    a, b = r.a_name, r.b_name
    tables = [
        Table(f"Both models on the same {m.n_examples:,} examples", ["", f"{b} right", f"{b} wrong"],
              [[f"{a} right", f"{m.both_correct:,} (both right)", f"{m.only_a_correct:,} (only A right)"],
               [f"{a} wrong", f"{m.only_b_correct:,} (only B right)", f"{m.both_wrong:,} (both wrong)"]],
              note="only the discordant cells (one model right, the other wrong) carry evidence."),
        Table("Tests", ["test", "value"], [
            [f"accuracy of {a} (A)", f"{r.a_accuracy:.4f}"], [f"accuracy of {b} (B)", f"{r.b_accuracy:.4f}"],
            ["McNemar exact p (two-sided)", _p(m.p_value)], ["McNemar mid-p", _p(m.mid_p_value)],
            [f"paired bootstrap {100 * c.level:.4g}% CI of B − A (points)",
             f"{100 * r.bootstrap.difference:+.2f} [{100 * r.bootstrap.low:+.2f}, {100 * r.bootstrap.high:+.2f}]"],
        ], note=f"bootstrap: {r.bootstrap.n_boot:,} resamples of the examples, seed {c.seed}."),
    ]
    if r.auc is not None:
        d = r.auc
        tables.append(Table(f"ROC AUC from the scores (positive class: {r.positive}; DeLong's test)", ["", "value"], [
            [f"AUC of {a} (A)", f"{d.auc_a:.4f}"], [f"AUC of {b} (B)", f"{d.auc_b:.4f}"],
            [f"B − A, {100 * d.level:.4g}% CI", f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"],
            ["p (two-sided)", _p(d.p_value) if d.p_value > 0 else "0 (zero variance: see the note)"]],
            note=f"{d.n_positive:,} positive and {d.n_negative:,} negative examples; the two AUCs are correlated (same "
                 "examples), which DeLong's variance accounts for." + (f" Note: {d.note}." if d.note else "")))
    return tables


def _per_query_table(r: CompareResult) -> Table:
    q, c = r.per_query, r.config
    return Table(f"Per-query metric on {q.n_queries:,} queries", ["test", "value"], [
        [f"mean of {r.a_name} (A)", f"{r.a_accuracy:.4g}"], [f"mean of {r.b_name} (B)", f"{r.b_accuracy:.4g}"],
        ["queries where B is better / A is better / tied", f"{q.n_b_better:,} / {q.n_a_better:,} / {q.n_ties:,}"],
        [f"paired bootstrap {100 * c.level:.4g}% CI of mean B − A",
         f"{q.bootstrap.difference:+.4g} [{q.bootstrap.low:+.4g}, {q.bootstrap.high:+.4g}]"],
        [f"Wilcoxon signed-rank p ({q.wilcoxon_method})", _p(q.wilcoxon_p_value)],
        ["sign test p (exact)", _p(q.sign_test_p_value)],
    ], note="tied queries are left out of the Wilcoxon and sign tests; exact Wilcoxon p: over all sign patterns of "
            "the untied queries, tied sizes sharing their average rank.")


def _size_notes(r: CompareResult) -> list[str]:
    """Why size numbers are missing, once per reason: 'paired: <reason>' or 'paired, lift 0.5 points: <reason>'."""
    lifts_by_reason: dict[tuple[str, str], list[float]] = {}
    for s in r.sample_sizes:
        for test, reason in (("paired", s.paired_note), ("unpaired", s.unpaired_note)):
            if reason:
                lifts_by_reason.setdefault((test, reason), []).append(s.lift)
    notes = []
    for (test, reason), lifts in lifts_by_reason.items():
        which = "" if len(lifts) == len(r.sample_sizes) else f", lift {' and '.join(f'{100 * x:.4g}' for x in lifts)}"
        notes.append(f"{test}{which}: {reason}.")
    return notes


def _sizes_table(r: CompareResult) -> Table:
    c = r.config
    first = r.sample_sizes[0]
    rows = []
    for s in r.sample_sizes:
        paired = _count(s.paired)
        if s.paired is not None and s.paired_first != s.paired:
            paired += f" (first reached at {s.paired_first:,})"
        rows.append([f"{100 * s.lift:.4g}", paired, _count(s.paired_normal), _count(s.unpaired)])
    given = {"discordance": c.discordance is not None, "base accuracy": c.base_accuracy is not None}
    rates = [f"{name} {value:.4g} ({'given' if given[name] else 'measured on these examples'})"
             for name, value in (("discordance", first.discordance), ("base accuracy", first.base_accuracy))
             if value is not None]
    note = ("paired: both models on the same examples; for McNemar's exact test (what compare runs), the smallest n "
            "from which its power stays at or above the target, and Connor's normal approximation for reference. "
            "Unpaired: per model, on separate samples, two-proportion z-test. "
            + (f"From the {' and the '.join(rates)}. " if rates else "") + " ".join(_size_notes(r)))
    return Table(f"Examples needed to detect a lift (power {c.power:g}, alpha {c.alpha:g}, two-sided)",
                 ["lift (points)", "paired: McNemar exact test", "paired: Connor's approximation",
                  "unpaired: z-test, per model"], rows, note=note.strip())


def build(r: CompareResult) -> Report:
    tables = []
    if r.mcnemar is not None:
        tables += _classification_tables(r)
    elif r.per_query is not None:
        tables.append(_per_query_table(r))
    paragraphs = [r.verdict] + ([r.auc_note + "."] if r.auc_note else [])
    if r.kind == "classification" or any(s.paired or s.unpaired for s in r.sample_sizes):
        tables.append(_sizes_table(r))  # per-query metrics: only when the user asked for sizes with the rates
    sections = [Section("Verdict", paragraphs, tables=tables)]
    metrics = pd.DataFrame([(s.lift, metric, value) for s in r.sample_sizes
                            for metric, value in (("paired_exact_n", s.paired), ("paired_normal_n", s.paired_normal),
                                                  ("unpaired_n", s.unpaired))],
                           columns=["lift", "metric", "value"]).astype({"value": "Int64"})  # counts
    headline = r.verdict + (f" ({r.auc_note})" if r.auc_note else "")
    return Report("compare", f"compare — {r.a_name} (A) against {r.b_name} (B)", terminal=tables, sections=sections,
                  figures={}, metrics=metrics, claims=r.claims, headline=headline)
