"""Report of the coin study: the curves on a log axis, the head race, the flips-needed table, the formulas."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from nnprobe.report.document import Figure, Formula, Report, Section, Table, listing
from nnprobe.report.figures import new_figure
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.coin import FORMULA_RACE, FORMULA_SINGLE, CoinResult, coin_key

# The study's formulas as the page shows them (MathML, written here; nothing in them comes from the user).
FORMULAS = {
    FORMULA_SINGLE: Formula(
        "P(more heads than tails in 2N flips) = sum over k from N + 1 to 2N of C(2N, k) · pᵏ · (1 − p)^(2N − k)",
        Markup(
            '<math display="block"><mrow><mi>P</mi><mo stretchy="false">(</mo><mtext>more heads than tails in\u00a0'
            '</mtext><mn>2</mn><mi>N</mi><mtext>\u00a0flips</mtext><mo stretchy="false">)</mo><mo>=</mo>'
            '<munderover><mo>\u2211</mo><mrow><mi>k</mi><mo>=</mo><mi>N</mi><mo>+</mo><mn>1</mn></mrow>'
            '<mrow><mn>2</mn><mi>N</mi></mrow></munderover><mi>C</mi><mo stretchy="false">(</mo><mn>2</mn><mi>N</mi>'
            '<mo>,</mo><mi>k</mi><mo stretchy="false">)</mo><mo>\u2062</mo><msup><mi>p</mi><mi>k</mi></msup>'
            '<mo>\u2062</mo><msup><mrow><mo stretchy="false">(</mo><mn>1</mn><mo>\u2212</mo><mi>p</mi>'
            '<mo stretchy="false">)</mo></mrow><mrow><mn>2</mn><mi>N</mi><mo>\u2212</mo><mi>k</mi></mrow></msup>'
            '</mrow></math>')),
    FORMULA_RACE: Formula(
        "P(A shows more heads than B in n flips each) = sum over k of P(B = k) · P(A > k)",
        Markup(
            '<math display="block"><mrow><mi>P</mi><mo stretchy="false">(</mo><mtext>A shows more heads than B in\u00a0'
            '</mtext><mi>n</mi><mtext>\u00a0flips each</mtext><mo stretchy="false">)</mo><mo>=</mo>'
            '<munder><mo>\u2211</mo><mi>k</mi></munder><mi>P</mi><mo stretchy="false">(</mo><mi>B</mi><mo>=</mo>'
            '<mi>k</mi><mo stretchy="false">)</mo><mo>\u00b7</mo><mi>P</mi><mo stretchy="false">(</mo><mi>A</mi>'
            '<mo>&gt;</mo><mi>k</mi><mo stretchy="false">)</mo></mrow></math>')),
}


def _curves(r: CoinResult) -> bytes:
    fig, (left, right) = new_figure(ncols=2, figsize=(12, 4.2))
    for i, (p, values) in enumerate(r.more_heads.items()):
        left.plot(r.flips, values, color=f"C{i}", label=f"p = {p}")
    left.set(xscale="log", xlabel="flips (2N)", ylabel="P(more heads than tails)", ylim=(0, 1.02),
             title="One coin: more heads than tails")
    left.legend()
    for i, p in enumerate(r.beats_fair):
        right.plot(r.flips, r.beats_fair[p], color=f"C{i + 1}", label=f"p = {p} shows more heads")
        right.plot(r.flips, r.loses[p], color=f"C{i + 1}", linestyle="--", label="the fair coin shows more heads")
        right.plot(r.flips, r.ties[p], color="grey", linestyle=":", label="tie")
    for conf in r.config.confidences:
        right.axhline(conf, color="grey", linewidth=0.6)
    right.set(xscale="log", xlabel="flips of each coin", ylabel="probability", ylim=(0, 1.02),
              title=f"Loaded against fair (p = {coin_key(r.config.fair)}), n flips each")
    if r.beats_fair:
        right.legend(fontsize=8)
    return figure_png(fig)


def _flips_cell(flips: int | None, note: str) -> str:
    """A flips-needed cell: the count, 'not computed' (the note says why), or a dash where the question does not
    apply (a coin not loaded towards heads, or not above the fair one)."""
    if flips is not None:
        return f"{flips:,}"
    return "not computed" if note else "—"


def build(r: CoinResult) -> Report:
    rows, notes = [], []
    for n in r.needed:
        rows.append([coin_key(n.p), f"{n.confidence:.10g}", _flips_cell(n.more_heads_than_tails, n.note),
                     _flips_cell(n.beats_fair, n.note)])
        notes += [f"p = {coin_key(n.p)} at {n.confidence:.10g}: {n.note}"] if n.note else []
    needed = Table("Flips needed", ["coin p", "confidence", "more heads than tails", "more heads than the fair coin"],
                   rows, note=" ".join(["the smallest number of flips from which the chance stays at or above the "
                                        "confidence.", *notes]))
    picks = [i for i, n in enumerate(r.flips) if n in {2 * 10**j for j in range(12)}]  # 2, 20, 200, ... flips
    curve = Table("Chances at chosen flip counts", ["flips", *[f"P(more heads), p = {p}" for p in r.more_heads],
                                                   *[f"P(p = {p} beats fair)" for p in r.beats_fair]],
                  [[f"{r.flips[i]:,}", *[f"{v[i]:.6f}" for v in r.more_heads.values()],
                    *[f"{v[i]:.6f}" for v in r.beats_fair.values()]] for i in picks])
    last = f"{r.flips[-1]:,}"
    alt = (f"Two line charts against the number of flips on a log axis, from {r.flips[0]:,} to {last}. Left: the "
           "chance that a coin shows more heads than tails, one line per coin, ending at " + listing(
               f"{r.more_heads[p][-1]:.3f} for p = {p}" for p in r.more_heads) + ".")
    if r.beats_fair:
        alt += (" Right: the chance that each coin shows more heads than the fair coin (solid), fewer (dashed) or "
                "as many (dotted), with grey lines at the confidences " + listing(
                    f"{c:g}" for c in r.config.confidences) + "; at " + last + " flips each " + listing(
                    f"p = {p} shows more heads with chance {r.beats_fair[p][-1]:.3f}" for p in r.beats_fair) + ".")
    sections = [Section("The formula", [
        "The article plots this curve but leaves out the formula; here it is, computed exactly (scipy's binomial "
        "survival function and, for the race, a sum over the likely head counts; no simulation, no overflow at "
        "10⁸ flips):", *(FORMULAS.get(formula, formula) for formula in r.formulas),
    ], tables=[curve, needed], figures=[Figure(
        "coin_curves.png", "How the chance of telling a loaded coin from a fair one grows with the number of flips.",
        alt)])]
    rows = []
    for p, values in r.more_heads.items():
        rows += [("more_heads", p, n, v) for n, v in zip(r.flips, values)]
    for p in r.beats_fair:
        rows += [(key, p, n, v) for key, series in (("beats_fair", r.beats_fair[p]), ("tie", r.ties[p]),
                                                    ("loses", r.loses[p])) for n, v in zip(r.flips, series)]
    metrics = pd.DataFrame(rows, columns=["metric", "p", "flips", "value"])
    return Report("coin", "coin — a loaded coin and a fair one", terminal=[curve, needed], sections=sections,
                  figures={"coin_curves.png": _curves(r)}, metrics=metrics, claims=r.claims)
