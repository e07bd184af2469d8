"""Report of a model comparison: the 2x2 table with labelled cells, the tests, the interval and the verdict."""

from __future__ import annotations

import pandas as pd

from nnprobe.report.document import Report, Section, Table
from nnprobe.studies.compare import CompareResult


def build(r: CompareResult) -> Report:
    c = r.config
    tables, paragraphs = [], [r.verdict]
    if r.mcnemar is not None:
        m = r.mcnemar
        tables.append(Table(f"Both models on the same {m.n_examples} examples",
                            ["", f"{r.b_name} right", f"{r.b_name} wrong"],
                            [[f"{r.a_name} right", f"{m.both_correct} (both right)", f"{m.only_a_correct} (only A right)"],
                             [f"{r.a_name} wrong", f"{m.only_b_correct} (only B right)", f"{m.both_wrong} (both wrong)"]],
                            note="only the discordant cells (one model right, the other wrong) carry evidence."))
        tables.append(Table("Tests", ["test", "value"], [
            [f"accuracy of {r.a_name} (A)", f"{r.a_accuracy:.4f}"], [f"accuracy of {r.b_name} (B)", f"{r.b_accuracy:.4f}"],
            ["McNemar exact p (two-sided)", f"{m.p_value:.4g}"], ["McNemar mid-p", f"{m.mid_p_value:.4g}"],
            [f"paired bootstrap {c.level:.0%} CI of B − A (points)",
             f"{100 * r.bootstrap.difference:+.2f} [{100 * r.bootstrap.low:+.2f}, {100 * r.bootstrap.high:+.2f}]"],
        ]))
        if r.auc is not None:
            d = r.auc
            tables.append(Table(f"ROC AUC from the scores (positive class {r.positive!r}; DeLong's test)",
                                ["", "value"], [
                                    [f"AUC of {r.a_name} (A)", f"{d.auc_a:.4f}"], [f"AUC of {r.b_name} (B)", f"{d.auc_b:.4f}"],
                                    [f"B − A, {d.level:.0%} CI", f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"],
                                    ["p (two-sided)", f"{d.p_value:.4g}"]],
                                note=f"{d.n_positive} positive and {d.n_negative} negative examples; the two AUCs are "
                                "correlated (same examples), which DeLong's variance accounts for."))
    elif r.per_query is not None:
        q = r.per_query
        tables.append(Table(f"Per-query metric on {q.n_queries} queries", ["test", "value"], [
            [f"mean of {r.a_name} (A)", f"{r.a_accuracy:.4g}"], [f"mean of {r.b_name} (B)", f"{r.b_accuracy:.4g}"],
            ["queries where B is better / A is better / tied", f"{q.n_b_better} / {q.n_a_better} / {q.n_ties}"],
            [f"paired bootstrap {c.level:.0%} CI of mean B − A",
             f"{q.bootstrap.difference:+.4g} [{q.bootstrap.low:+.4g}, {q.bootstrap.high:+.4g}]"],
            ["Wilcoxon signed-rank p", f"{q.wilcoxon_p_value:.4g}"], ["sign test p", f"{q.sign_test_p_value:.4g}"],
        ]))
    sizes = Table(f"Examples needed to detect a lift (power {c.power:g}, alpha {c.alpha:g}, two-sided)",
                  ["lift (points)", "paired (McNemar)", "unpaired (two proportions, per model)"],
                  [[f"{100 * s.lift:g}", f"{s.paired:,}" if s.paired else "—", f"{s.unpaired:,}" if s.unpaired else "—"]
                   for s in r.sample_sizes],
                  note=(f"paired: from the discordance rate {r.sample_sizes[0].discordance:.4g}; " if r.sample_sizes
                        and r.sample_sizes[0].discordance is not None else "paired: needs the discordance rate; ")
                  + (f"unpaired: from the base accuracy {r.sample_sizes[0].base_accuracy:.4g}." if r.sample_sizes
                     and r.sample_sizes[0].base_accuracy is not None else "unpaired: needs the base accuracy."))
    if any(s.paired or s.unpaired for s in r.sample_sizes):
        tables.append(sizes)
    sections = [Section("Verdict", paragraphs, tables=tables)]
    metrics = pd.DataFrame([("lift", s.lift, "paired_n", s.paired) for s in r.sample_sizes]
                           + [("lift", s.lift, "unpaired_n", s.unpaired) for s in r.sample_sizes],
                           columns=["key", "value_of_key", "metric", "value"])
    return Report("compare", f"compare — {r.a_name} (A) against {r.b_name} (B)", terminal=tables, sections=sections,
                  figures={}, metrics=metrics, claims=r.claims, headline=r.verdict)
