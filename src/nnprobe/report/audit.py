"""Report of an audit: the verdict first, then its evidence, the permutation tests with their null distributions,
and every check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnprobe.audit import AuditResult
from nnprobe.report.document import Figure, Report, Section, Table
from nnprobe.report.figures import label, new_figure
from nnprobe.report.runfolder import figure_png

MARK = {"pass": "pass", "warn": "WARN", "fail": "FAIL"}


def _null_figure(r: AuditResult) -> bytes:
    """Histograms of each null distribution with the observed value marked."""
    panels = [("held-out accuracy, labels permuted (test 1)", r.labels_test.null, r.labels_test.observed)]
    if r.labels_test.null_train is not None:
        panels.append(("training accuracy on permuted labels (memorisation)", r.labels_test.null_train,
                       r.train_accuracy))
    if r.features_test is not None:
        panels.append(("held-out accuracy, features permuted within classes (test 2)", r.features_test.null,
                       r.features_test.observed))
    fig, axes = new_figure(ncols=len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, (title, null, observed) in zip(axes[0], panels):
        ax.hist(null, bins=min(30, max(5, len(null) // 3)), color="C0", alpha=0.8, label=f"null ({len(null)} runs)")
        ax.axvline(observed, color="C3", linewidth=2, label=f"the real model: {observed:.3f}")
        ax.axvline(r.majority_accuracy, color="grey", linestyle=":", label=f"majority class: {r.majority_accuracy:.3f}")
        ax.set(title=title, xlabel="accuracy", ylabel="runs")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
    fig.suptitle(f"{label(r.model.name)} on {label(r.data['source'])}: the real model against its null distributions",
                 fontsize=10)
    fig.tight_layout()
    return figure_png(fig)


def _null_alt(r: AuditResult) -> str:
    """What the null-distribution figure shows, in words and its numbers."""
    panels = [("held-out accuracy of the model retrained on copies with permuted labels", r.labels_test.null,
               r.labels_test.observed, "held-out accuracy")]
    if r.labels_test.null_train is not None:
        panels.append(("training accuracy on those permuted labels (memorisation)", r.labels_test.null_train,
                       r.train_accuracy, "training accuracy"))
    if r.features_test is not None:
        panels.append(("held-out accuracy with every feature permuted within each class", r.features_test.null,
                       r.features_test.observed, "held-out accuracy"))
    count = {1: "One histogram", 2: "Two histograms", 3: "Three histograms"}[len(panels)]
    return (f"{count}, with the real model's value as a red line and the majority class's "
            f"accuracy ({r.majority_accuracy:.3f}) as a dotted line: " + "; ".join(
                f"{title}, {len(null)} runs from {np.min(null):.3f} to {np.max(null):.3f} (mean {np.mean(null):.3f}),"
                f" against the real model's {what} of {observed:.3f}" for title, null, observed, what in panels)
            + ".")


def _tests_table(r: AuditResult) -> Table:
    rows = []
    for test in (r.labels_test, r.features_test):
        if test is None:
            continue
        low, high = test.p_interval
        rows.append([test.name, f"{test.observed:.4f}", f"{np.mean(test.null):.4f}",
                     f"{np.min(test.null):.3f}–{np.max(test.null):.3f}", f"{test.p_value:.3g}",
                     f"[{low:.3g}, {high:.3g}]", test.n_permutations])
    note = (f"held-out accuracy of the real model, and of the same model trained on each permuted copy of the data "
            f"({r.validation}); p = (count(null >= observed) + 1) / (B + 1), as scikit-learn's "
            "permutation_test_score; its interval: Clopper-Pearson 95%. Copies trained as: " + r.labels_test.path)
    if r.features_test is None:
        note += f". Test 2 did not run: {r.features_reason}."
    return Table("Permutation tests (Ojala & Garriga 2010)", ["test", "observed", "null mean", "null range", "p",
                                                               "p interval", "B"], rows, note=note)


def metrics_frame(r: AuditResult) -> pd.DataFrame:
    """Every permuted run in long format: test, run, metric, value."""
    rows = []
    for test in (r.labels_test, r.features_test):
        if test is None:
            continue
        rows += [(test.name, i, "heldout_accuracy", v) for i, v in enumerate(test.null)]
        if test.null_train is not None:
            rows += [(test.name, i, "train_accuracy", v) for i, v in enumerate(test.null_train)]
    return pd.DataFrame(rows, columns=["test", "run", "metric", "value"])


def build(r: AuditResult) -> Report:
    v = r.verdict
    verdict = Table(f"Verdict: {v.label} ({v.counts})", ["", "evidence and what to do next"],
                    [[str(i + 1), reason] for i, reason in enumerate(v.reasons)]
                    + [["next", step] for step in v.next_steps])
    checks = Table("Checks", ["check", "status", "what it found"], [[c.name, MARK[c.status], c.message]
                                                                    for c in v.checks])
    tests = _tests_table(r)
    terminal = [verdict, tests, checks]
    model = r.model
    sections = [
        Section(f"Verdict: {v.label}", [*v.reasons, *(f"Next: {step}" for step in v.next_steps)]),
        Section("The model and the data", [
            f"Model: {model.name} ({model.kind}" + (f", {model.n_params:,} parameters" if model.n_params else "")
            + ("" if model.can_refit else f"; not retrainable: {model.no_refit_reason}") + ").",
            f"Data: {r.data['source']}, {r.data['n_samples']} rows, {r.data['n_features']} features, classes "
            + ", ".join(f"{name} ({count})" for name, count in r.data.get("class_counts", {}).items())
            + f". Scored by {r.validation}.",
        ]),
        Section("Permutation tests", [
            "Test 1 asks whether the held-out accuracy depends on the labels at all: the model is retrained on "
            "copies of the data whose labels are permuted, and scored the same way. Test 2 asks whether the model "
            "uses dependencies between features: every feature column is permuted within each class, which keeps "
            "each feature's relation to the class and breaks the relations between features.",
        ], tables=[tests], figures=[Figure(
            "null_distributions.png", "The real model against what the same model reaches on permuted copies of the "
            "data.", _null_alt(r))]),
        Section("Checks", [], tables=[checks]),
    ]
    if r.shortcuts:
        shortcut = Table("Retrained without flagged columns (held at their means)",
                         ["column(s)", "flagged by", "held-out accuracy", "p (test 1)", "gain", "carries the model"],
                         [[", ".join(s.columns), s.flagged_by, f"{s.heldout_accuracy:.4f}", f"{s.p_value:.3g}",
                           f"{s.gain:.3f}", "yes" if s.confirmed else "no"] for s in r.shortcuts],
                         note=f"gain = (accuracy − majority) / (1 − majority), majority {r.majority_accuracy:.4f}.")
        sections.insert(2, Section("Shortcuts", [], tables=[shortcut]))
        terminal.insert(1, shortcut)
    return Report(command="audit", title=f"audit — {r.model.name} on {r.data['source']}", terminal=terminal,
                  sections=sections, figures={"null_distributions.png": _null_figure(r)}, metrics=metrics_frame(r),
                  headline=f"{v.label} ({v.counts}): {v.reasons[0]}", notes=list(r.notes))
