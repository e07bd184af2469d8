"""Report of the explain study: the seed's order of explainability first, then the features whose partial
dependence is not to be trusted, and per model its derivatives, partial dependence with ICE beside ALE (warnings
drawn on the plot), and Friedman's H of features and pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnprobe.report.document import Figure, Report, Section, Table, listing
from nnprobe.report.figures import label, new_figure
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.explain import ExplainResult, ModelView


def _slug(i: int, role: str) -> str:
    return f"{i}_{role.replace(' ', '_').replace('-', '_')}"


def _derivative_figure(r: ExplainResult) -> bytes:
    """Per data set: each model's derivatives of its most important features, divided by their mean magnitude
    (a constant derivative is a single line at +-1)."""
    fig, axes = new_figure(ncols=len(r.data), figsize=(5.5 * len(r.data), 3.8), squeeze=False)
    for ax, view in zip(axes[0], r.data):
        samples = [m.derivative_sample.ravel() for m in view.models]
        ax.boxplot(samples, showfliers=False)
        ax.set_xticks(range(1, len(view.models) + 1), [f"{m.role}\n{m.non_constancy:.2g}" for m in view.models],
                      fontsize=8)
        ax.set(ylabel=f"d {r.output} / dx ÷ mean |d/dx|", title=label(view.source))
        ax.title.set_fontsize(9)
    fig.suptitle("How constant is each model's derivative? (non-constancy under each box)", fontsize=10)
    fig.tight_layout()
    return figure_png(fig)


def _effects_figure(r: ExplainResult, view, m: ModelView) -> bytes:
    shown = [f for f in m.features if f.pd is not None]
    fig, axes = new_figure(nrows=len(shown), ncols=2, figsize=(10, 2.8 * len(shown)), squeeze=False)
    for (left, right), f in zip(axes, shown):
        pd_, ale = f.pd, f.ale
        for curve in pd_.ice[: 60]:
            left.plot(pd_.grid, curve, color="C0", alpha=0.15, linewidth=0.7)
        left.plot(pd_.grid, pd_.average, color="C3", linewidth=2, label="partial dependence")
        left.set(xlabel=label(f.name), ylabel=r.output, title="partial dependence and ICE")
        if f.warning:
            left.text(0.02, 0.97, label(f.warning), transform=left.transAxes, va="top", fontsize=7, color="C3",
                      wrap=True, bbox=dict(facecolor="white", alpha=0.8, edgecolor="C3"))
        right.fill_between(ale.edges, ale.low, ale.high, color="C2", alpha=0.25, label="bootstrap 95%")
        right.plot(ale.edges, ale.effect, color="C2", linewidth=2, label="ALE")
        right.set(xlabel=label(f.name), ylabel=f"{r.output} (centred)", title="accumulated local effects")
        for ax in (left, right):
            ax.title.set_fontsize(9)
        right.legend(fontsize=7)
    fig.suptitle(f"{label(m.role)} ({label(m.name)}) on {label(view.source)}", fontsize=10)
    fig.tight_layout()
    return figure_png(fig)


def _interaction_figure(view, m: ModelView) -> bytes:
    with_h = [f for f in m.features if f.h is not None]
    fig, (bars, heat, second) = new_figure(ncols=3, figsize=(15, 0.3 * len(with_h) + 2.6))
    bars.barh(range(len(with_h)), [f.h for f in with_h], color="C1")
    bars.set_yticks(range(len(with_h)), [label(f.name)[:24] for f in with_h], fontsize=8)
    bars.invert_yaxis()
    bars.set(xlabel="total H (share of variance from interactions, square root)", xlim=(0, 1.05))
    names = sorted({name for p in m.pairs for name in p["features"]})
    matrix = np.full((len(names), len(names)), np.nan)
    for p in m.pairs:
        a, b = (names.index(x) for x in p["features"])
        matrix[a, b] = matrix[b, a] = p["h"]
    heat.grid(False)  # grid lines over a colour map only hide it
    second.grid(False)
    if names:
        image = heat.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        heat.set_xticks(range(len(names)), [label(n)[:14] for n in names], rotation=45, ha="right", fontsize=8)
        heat.set_yticks(range(len(names)), [label(n)[:14] for n in names], fontsize=8)
        fig.colorbar(image, ax=heat, label="pair H")
    heat.set_title("H of the top pairs", fontsize=9)
    if m.pair_ale is not None:
        a, b = m.pair_ale.features
        zj, zk = m.pair_ale.edges
        # One flat cell per grid point: the effect is known there, not in between (and flat cells stay small as PNG).
        mesh = second.pcolormesh(zk, zj, m.pair_ale.effect, shading="nearest", cmap="RdBu_r")
        fig.colorbar(mesh, ax=second, label="second-order ALE", format="{x:.2g}")  # no offset text over the title
        second.set(xlabel=label(view.feature_names[b]), ylabel=label(view.feature_names[a]))
    second.set_title("the top pair's pure interaction (second-order ALE)", fontsize=9)
    fig.suptitle(f"Interactions of {label(m.role)} on {label(view.source)}", fontsize=10)
    fig.tight_layout()
    return figure_png(fig)


def _derivative_alt(r: ExplainResult) -> str:
    return (f"Box plots, one panel per data set, of each model's derivative of the {r.output} divided by its mean "
            "magnitude over the rows; a constant derivative is a flat box at 1 or -1. Non-constancy (0 for a "
            "constant derivative): " + "; ".join(
                f"on {label(view.source)}, " + listing(f"{m.role} {m.non_constancy:.2g}" for m in view.models)
                for view in r.data) + ".")


def _effects_alt(r: ExplainResult, m: ModelView) -> str:
    shown = [f for f in m.features if f.pd is not None]
    spans = listing((f"{label(f.name)}, partial dependence from {np.min(f.pd.average):.3g} to "
                     f"{np.max(f.pd.average):.3g} and ALE from {np.min(f.ale.effect):.3g} to {np.max(f.ale.effect):.3g}"
                     for f in shown), limit=6)
    warned = [f for f in shown if f.warning]
    return (f"{len(shown)} rows of two line charts, one row per feature. Left: the partial dependence of the "
            f"{r.output} (thick line) over individual ICE curves (thin lines); right: accumulated local effects (ALE) "
            f"with a bootstrap 95% band. Per feature: {spans}. " + (
                "Marked on the plot as not to be trusted: " + listing(
                    f"{label(f.name)} ({label(f.warning)})" for f in warned) + "." if warned else
                "No partial dependence plot is marked as not to be trusted."))


def _interaction_alt(view, m: ModelView) -> str:
    with_h = sorted((f for f in m.features if f.h is not None), key=lambda f: -f.h)
    alt = ("Three panels. A bar chart of the total Friedman's H of " + (
        f"{len(with_h)} features, largest for " + listing(f"{label(f.name)} ({f.h:.2f})" for f in with_h[:3])
        if with_h else "no feature") + "; ")
    if m.pairs:
        top = max(m.pairs, key=lambda p: p["h"])
        alt += (f"a heat map of the H of the {len(m.pairs)} top pairs, largest for "
                f"{' × '.join(label(n) for n in top['features'])} ({top['h']:.2f}); ")
    if m.pair_ale is not None:
        a, b = m.pair_ale.features
        effect = np.asarray(m.pair_ale.effect)
        alt += (f"a colour map of the pure interaction (second-order ALE) of {label(view.feature_names[a])} and "
                f"{label(view.feature_names[b])}, from {np.nanmin(effect):.3g} to {np.nanmax(effect):.3g}.")
    else:
        alt += "no pair's second-order ALE to draw."
    return alt


def metrics_frame(r: ExplainResult) -> pd.DataFrame:
    rows = []
    for view in r.data:
        for m in view.models:
            for f in m.features:
                rows += [(view.source, m.role, f.name, "importance", f.importance),
                         (view.source, m.role, f.name, "non_constancy", f.non_constancy)]
                if f.h is not None:
                    rows.append((view.source, m.role, f.name, "h", f.h))
    return pd.DataFrame(rows, columns=["data", "model", "feature", "metric", "value"])


def build(r: ExplainResult) -> Report:
    models = Table(f"Models and their derivatives (output: {r.output})",
                   ["data", "model", "held-out acc", "derivative by", "non-constancy", "integrated gradients"],
                   [[view.source, f"{m.role}: {m.name}", f"{m.heldout_accuracy:.3f}", m.derivative_method,
                     f"{m.non_constancy:.3g}", "—" if m.ig is None else
                     f"{m.ig['steps']} steps, median completeness error {m.ig['median_error']:.2%}"]
                    for view in r.data for m in view.models],
                   note="non-constancy: sd of d output / dx over the rows divided by its mean magnitude, pooled over "
                        "features (0: a constant derivative, a fully explainable effect).")
    warnings_rows = [[view.source, m.role, f.name, f.warning] for view in r.data for m in view.models
                     for f in m.features if f.warning]
    untrusted = Table("Partial dependence plots not to be trusted", ["data", "model", "feature", "why"],
                      warnings_rows or [["—", "—", "—", "every plot shown passed the checks"]],
                      note="total H ≥ 0.3, centred ICE spread ≥ 0.3 of the curve's range, or ≥ 20% of its points "
                           "outside the data's support; read the ALE curve beside it instead.")
    figures = {"derivatives.png": _derivative_figure(r)}
    sections = [Section("The seed's three classes, one yardstick", [
        "The seed says linear models are fully explainable (df/dx is a constant), gradient-boosted trees "
        "partially, networks hardly. Measured as how constant each model's derivative is across the data. The "
        f"explained output is the {r.output} of the last class.",
    ], claims=r.claims, tables=[models], figures=[Figure(
        "derivatives.png", "How constant each model's derivative is across the rows of each data set.",
        _derivative_alt(r))]),
        Section("When not to trust a partial dependence plot", [], tables=[untrusted])]
    for i, view in enumerate(r.data):
        for m in view.models:
            slug = _slug(i, m.role)
            figures[f"effects_{slug}.png"] = _effects_figure(r, view, m)
            figures[f"interactions_{slug}.png"] = _interaction_figure(view, m)
            pairs = Table(f"Top pairs by Friedman's H: {m.role} on {view.source}",
                          ["pair", "H", "95% interval", "unnormalised"],
                          [[" × ".join(p["features"]), f"{p['h']:.3f}", f"[{p['low']:.3f}, {p['high']:.3f}]",
                            f"{p['unnormalised']:.3g}"] for p in m.pairs],
                          note="H of a pair is large whenever its joint effect is small; the unnormalised value, in "
                               "output units, says whether the interaction matters.")
            sections.append(Section(f"{m.role} on {view.source}", [], tables=[pairs], figures=[
                Figure(f"effects_{slug}.png", f"Partial dependence with ICE curves beside accumulated local effects, "
                       f"{m.role} on {view.source}.", _effects_alt(r, m)),
                Figure(f"interactions_{slug}.png", f"Interactions between features, {m.role} on {view.source}.",
                       _interaction_alt(view, m)),
            ]))
    ordering = [c for c in r.claims if c.source == "seed"]
    verdict = {True: "holds", False: "does not hold", None: "not tested"}
    headline = ("The seed's order of explainability (linear, then trees, then networks): " + "; ".join(
        f"{verdict[c.holds]} ({c.evidence.split(': ', 1)[1]})" for c in ordering) if ordering else
        f"{len(warnings_rows)} partial dependence plot(s) not to be trusted")
    return Report(command="explain", title="explain — how far can each model be explained?",
                  terminal=[models, untrusted], sections=sections, figures=figures, metrics=metrics_frame(r),
                  claims=r.claims, headline=headline, notes=list(r.notes))
