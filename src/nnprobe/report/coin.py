"""Report of the coin study: the curves on a log axis, the head race, the flips-needed table, the formulas."""

from __future__ import annotations

import pandas as pd

from nnprobe.report.document import Report, Section, Table
from nnprobe.report.figures import new_figure
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.coin import CoinResult, coin_key


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
    sections = [Section("The formula", [
        "The article plots this curve but leaves out the formula; here it is, computed exactly (scipy's binomial "
        "survival function and, for the race, a sum over the likely head counts; no simulation, no overflow at "
        "10^8 flips):", *r.formulas,
    ], tables=[curve, needed], figures=["coin_curves.png"])]
    rows = []
    for p, values in r.more_heads.items():
        rows += [("more_heads", p, n, v) for n, v in zip(r.flips, values)]
    for p in r.beats_fair:
        rows += [(key, p, n, v) for key, series in (("beats_fair", r.beats_fair[p]), ("tie", r.ties[p]),
                                                    ("loses", r.loses[p])) for n, v in zip(r.flips, series)]
    metrics = pd.DataFrame(rows, columns=["metric", "p", "flips", "value"])
    return Report("coin", "coin — a loaded coin and a fair one", terminal=[curve, needed], sections=sections,
                  figures={"coin_curves.png": _curves(r)}, metrics=metrics, claims=r.claims)
