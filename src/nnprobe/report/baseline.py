"""Report of the baseline study: the checks with their status, baselines, the zero-init table and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnprobe.checks import verdict_line
from nnprobe.report.document import Figure, Report, Section, Table, listing
from nnprobe.report.figures import label, new_figure
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.baseline import BaselineResult
from nnprobe.text import number

MARK = {"pass": "pass", "warn": "WARN", "fail": "FAIL"}


def _balance_figure(r: BaselineResult) -> bytes:
    counts = r.data["class_counts"]
    fig, ax = new_figure(figsize=(6.5, 3.6))
    names, values = list(counts), np.array(list(counts.values()))
    bars = ax.bar(range(len(names)), values / values.sum(), color="C0")
    for bar, v in zip(bars, values):
        ax.annotate(f"{v} ({v / values.sum():.1%})", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), [label(n)[:18] for n in names], rotation=30 if len(names) > 4 else 0)
    ax.set(ylabel="share of rows", ylim=(0, 1.1), title=f"Class balance of {r.data['n_samples']} rows")
    return figure_png(fig)


def _importance_figure(r: BaselineResult) -> bytes | None:
    check = next(c for c in r.checks if c.name == "importance concentration")
    forest, perm = check.values["forest_importance"], check.values["permutation_importance"]
    names = sorted(forest, key=lambda n: -forest[n])[:15]
    fig, axes = new_figure(ncols=2, figsize=(11, 0.3 * len(names) + 1.6))
    for ax, values, title in ((axes[0], forest, "random-forest importance"),
                              (axes[1], perm, "permutation importance (held out)")):
        ax.barh(range(len(names)), [values[n] for n in names], color="C0")
        ax.set_yticks(range(len(names)), [label(n)[:28] for n in names], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
    fig.suptitle("Which features the models lean on (top 15 by forest importance)", fontsize=11)
    fig.tight_layout()
    return figure_png(fig)


def _balance_alt(r: BaselineResult) -> str:
    counts = r.data["class_counts"]
    total = sum(counts.values())
    return (f"Bar chart of each class's share of the {total} rows: "
            + listing(f"{name} {count / total:.1%} ({count} rows)" for name, count in counts.items()) + ".")


def _importance_alt(r: BaselineResult) -> str:
    check = next(c for c in r.checks if c.name == "importance concentration")
    forest, perm = check.values["forest_importance"], check.values["permutation_importance"]
    shown = sorted(forest, key=lambda n: -forest[n])[:15]

    def top(values: dict) -> str:
        return listing(f"{name} ({values[name]:.3g})" for name in sorted(shown, key=lambda n: -values[n])[:3])

    return (f"Two horizontal bar charts of the {len(shown)} features with the largest random-forest importance (of "
            f"{len(forest)}). Random-forest importance is largest for {top(forest)}; permutation importance on "
            f"held-out rows is largest for {top(perm)}.")


def build(r: BaselineResult) -> Report:
    checks = Table("Checks", ["check", "status", "what it found"],
                   [[c.name, MARK[c.status], c.message] for c in r.checks])
    rows = []
    for name, s in (("majority class", r.baselines["most_frequent"]), ("class prior", r.baselines["prior"]),
                    ("random by prior", r.baselines["stratified"]), ("the MLP", r.network)):
        base = r.baselines["most_frequent"]["accuracy"]
        rows.append([name, f"{s['accuracy']:.4f}", f"{s['balanced_accuracy']:.4f}", number(s["kappa"], ".4f"),
                     f"{s['mcc']:.4f}", f"{(s['accuracy'] - base) / (1 - base):.3f}" if base < 1 else "—"])
    baselines = Table(f"Baselines and the MLP on the test set ({r.n_test} rows)",
                      ["model", "accuracy", "balanced acc", "kappa", "MCC", "gain"], rows,
                      note="baselines: scikit-learn's DummyClassifier (most_frequent, prior, stratified). gain = "
                      "(accuracy − majority accuracy) / (1 − majority accuracy): the share of the baseline's errors "
                      "a model removes. Per-class recall of the MLP: " + ", ".join(
                          f"{n} {number(v)}" for n, v in zip(r.class_names, r.network["recall"]))
                      + " (— where the test set has no rows of the class).")
    zero = Table("What zero initialisation really does (same data, same training)",
                 ["network", "accuracy", "balanced acc", "classes predicted", "hidden units identical"],
                 [[z.network, f"{z.accuracy:.4f}", f"{z.balanced_accuracy:.4f}", z.distinct_predictions,
                   "—" if z.hidden_units_identical is None else
                   f"{'yes' if z.hidden_units_identical else 'no'} ({z.hidden_spread:.1e})"] for z in r.zero_init])
    figures = {"class_balance.png": _balance_figure(r), "importance.png": _importance_figure(r)}
    sections = [
        Section("Checks", [f"Data: {r.data['source']}, {r.data['n_samples']} rows, {r.data['n_features']} features; "
                           f"{r.n_train} rows train the models, {r.n_test} test them."], tables=[checks]),
        Section("Class balance and baselines", [
            "A model is only as good as its gain over what needs no model at all. scikit-learn's DummyClassifier "
            "gives the baselines; the MLP is trained by nnprobe's engine on standardised features.",
        ], tables=[baselines], figures=[Figure(
            "class_balance.png", "How the rows divide between the classes: the majority share is what a constant "
            "prediction scores.", _balance_alt(r))]),
        Section("Zero initialisation: the article's claims", [
            "The article says a single-layer network initialised with zero parameters predicts a constant. That is "
            "true of hidden layers, not of a single layer: with all weights zero, every hidden unit computes the "
            "same value and receives the same gradient, so the units stay identical forever (and an all-zero "
            "ReLU layer receives no gradient at all); a single layer has no such symmetry, since each weight's "
            "gradient comes from its own input.",
        ], claims=r.claims, tables=[zero]),
        Section("Feature importance", [], figures=[Figure(
            "importance.png", "Which features the models lean on, by random-forest importance and by permutation "
            "importance on held-out rows.", _importance_alt(r))]),
    ]
    check_rows = [(c.name, key, value) for c in r.checks for key, value in c.values.items()
                  if isinstance(value, int | float) and not isinstance(value, bool)]
    metrics = pd.DataFrame(check_rows, columns=["check", "metric", "value"])
    return Report(command="baseline", title="baseline — baselines, zero initialisation and leakage",
                  terminal=[checks, baselines, zero], sections=sections, figures=figures, metrics=metrics,
                  claims=r.claims, headline=f"Checks on {r.data['source']}: {verdict_line(r.checks)}",
                  notes=list(r.notes))
