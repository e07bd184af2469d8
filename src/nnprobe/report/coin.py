"""Report of the coin study: the curves on a log axis, the head race, the flips-needed table, the formulas."""

from __future__ import annotations

import pandas as pd

from nnprobe.report.document import Report, Section, Table
from nnprobe.report.figures import new_figure
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.coin import CoinResult


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
              title=f"Loaded against fair (p = {r.config.fair:g}), n flips each")
    if r.beats_fair:
        right.legend(fontsize=8)
    return figure_png(fig)


def build(r: CoinResult) -> Report:
    needed = Table("Flips needed", ["coin p", "confidence", "more heads than tails", "more heads than the fair coin"],
                   [[f"{n.p:g}", f"{n.confidence:g}", f"{n.more_heads_than_tails:,}" if n.more_heads_than_tails else "—",
                     f"{n.beats_fair:,}" if n.beats_fair else "—"] for n in r.needed],
                   note="the smallest number of flips from which the chance stays at or above the confidence.")
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
