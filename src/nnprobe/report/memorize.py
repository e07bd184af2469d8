"""Report of the memorize study: figures, tables and metrics built from a MemorizeResult."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps

from nnprobe.report.document import Figure, Report, Section, Table, listing
from nnprobe.report.figures import new_figure
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.memorize import MemorizeResult
from nnprobe.text import number


def _accuracy_vs_epochs(r: MemorizeResult) -> bytes:
    fig, ax = new_figure()
    cmap = colormaps["viridis"]
    F = len(r.summaries)
    for i, s in enumerate(r.summaries):
        acc = r.train_accuracy[i]  # [S, T]
        color = cmap(i / max(F - 1, 1))
        ax.plot(r.epochs, acc.mean(0), color=color, label=f"{s.n_features} features")
        ax.fill_between(r.epochs, acc.min(0), acc.max(0), color=color, alpha=0.2, linewidth=0)
    ax.axhline(r.chance, color="grey", linestyle="--", linewidth=1, label=f"chance (1/{r.config.n_classes})")
    ax.set(xlabel="epoch", ylabel="train accuracy", ylim=(0, 1.02),
           title=f"Random labels, random features: train accuracy (n = {r.config.n_samples})")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return figure_png(fig)


def _accuracy_vs_features(r: MemorizeResult) -> bytes:
    fig, ax = new_figure()
    d = np.array([s.n_features for s in r.summaries])
    order = np.argsort(d)
    for kind, color in (("train", "C0"), ("heldout", "C3")):
        mean = np.array([getattr(s, f"{kind}_accuracy_mean") for s in r.summaries])[order]
        lo = np.array([getattr(s, f"{kind}_accuracy_min") for s in r.summaries])[order]
        hi = np.array([getattr(s, f"{kind}_accuracy_max") for s in r.summaries])[order]
        label = "train (memorised)" if kind == "train" else "held-out (fresh data)"
        ax.errorbar(d[order], mean, yerr=[mean - lo, hi - mean], marker="o", capsize=3, color=color, label=label)
    ax.axhline(r.chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(d[order], [str(v) for v in d[order]])
    ax.minorticks_off()
    ax.set(xlabel="number of random features", ylabel="final accuracy", ylim=(0, 1.02),
           title=f"Final accuracy after {r.config.epochs} epochs (min–max over {r.config.n_seeds} seeds)")
    ax.legend(loc="center right", fontsize=9)
    return figure_png(fig)


def _params_vs_bound(r: MemorizeResult) -> bytes:
    fig, ax = new_figure()
    ratio = np.array([s.params_over_bound for s in r.summaries])
    acc = np.array([s.train_accuracy_mean for s in r.summaries])
    ax.plot(ratio, acc, "o-", color="C0")
    for s in r.summaries:
        ax.annotate(f"d={s.n_features}", (s.params_over_bound, s.train_accuracy_mean), textcoords="offset points",
                    xytext=(4, -12), fontsize=8)
    ax.axvline(1.0, color="C3", linestyle="--", label="Zhang et al. 2017 bound: 2n + d parameters")
    ax.set_xscale("log")
    ax.set(xlabel="parameters / (2n + d)", ylabel="final train accuracy", ylim=(0, 1.05),
           title="Parameter count against the memorisation bound")
    ax.legend(loc="lower right", fontsize=9)
    return figure_png(fig)


def metrics_frame(r: MemorizeResult) -> pd.DataFrame:
    """Training histories in long format: n_features, seed_index, epoch, metric, value."""
    F, S, T = r.train_accuracy.shape
    frames = []
    for name, arr in (("train_accuracy", r.train_accuracy), ("heldout_accuracy", r.heldout_accuracy),
                      ("train_loss", r.loss)):
        f_idx, s_idx, t_idx = np.meshgrid(np.arange(F), np.arange(S), np.arange(T), indexing="ij")
        frames.append(pd.DataFrame({
            "n_features": np.array([s.n_features for s in r.summaries])[f_idx.ravel()],
            "seed_index": s_idx.ravel(),
            "epoch": r.epochs[t_idx.ravel()],
            "metric": name,
            "value": arr.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def summary_table(r: MemorizeResult) -> Table:
    """One row per feature count: final accuracies over seeds and the epoch at which 99% was reached, and how
    many networks diverged where any did."""
    any_diverged = any(e is not None for s in r.summaries for e in s.diverged_at)
    rows = []
    for s in r.summaries:
        reached = [e for e in s.epochs_to_99 if e is not None]
        diverged = [e for e in s.diverged_at if e is not None]
        rows.append([
            s.n_features, s.n_params, f"{s.params_over_bound:.2f}",
            number(s.train_accuracy_mean), number(s.train_accuracy_min),
            number(s.heldout_accuracy_mean), number(s.heldout_p_value, ".2f"),
            f"{int(np.median(reached))} ({len(reached)}/{len(s.epochs_to_99)})" if reached else "never",
            *([f"{len(diverged)}, at {min(diverged)}" if diverged else "0"] if any_diverged else []),
        ])
    return Table(
        title=f"Final numbers per feature count ({r.config.n_seeds} seeds)",
        columns=["features", "params", "/(2n+d)", "train", "train min", "held-out", "p", "99% at epoch",
                 *(["diverged"] if any_diverged else [])],
        rows=rows,
        note="train and held-out: mean final accuracy over seeds; p: binomial test of held-out accuracy against "
        "chance; 99% at epoch: median over the seeds that reached 99% train accuracy (how many did)"
        + ("; diverged: networks whose loss became NaN or infinite (left out of the other columns)."
           if any_diverged else "."),
    )


def build(r: MemorizeResult) -> Report:
    """The full report of a memorize run."""
    c = r.config
    figures = {
        "train_accuracy_vs_epochs.png": _accuracy_vs_epochs(r),
        "accuracy_vs_features.png": _accuracy_vs_features(r),
        "params_vs_bound.png": _params_vs_bound(r),
    }
    setup = (
        f"Each network ({'-'.join(str(h) for h in c.hidden)} hidden, {c.activation}, {c.optimizer} at lr {c.lr:g}, "
        f"{'full batch' if c.batch_size is None else f'batches of {c.batch_size}'}, {c.epochs} epochs) is trained on "
        f"{c.n_samples} rows of standard normal features whose {c.n_classes} classes are drawn uniformly at random, "
        f"independently of the features. There is nothing to learn. Held-out accuracy is measured on "
        f"{c.n_heldout} fresh rows from the same generator; it can only be chance ({r.chance:.3f})."
    )
    summary = summary_table(r)
    by_features = sorted(r.summaries, key=lambda s: s.n_features)
    train = listing(f"{number(s.train_accuracy_mean, '.2f')} with {s.n_features} features" for s in by_features)
    heldout = [s.heldout_accuracy_mean for s in by_features if np.isfinite(s.heldout_accuracy_mean)]
    sections = [
        Section("Train accuracy against epochs", [setup], figures=[Figure(
            "train_accuracy_vs_epochs.png",
            "Train accuracy on random labels against epochs, one line per number of random features.",
            f"Line chart of train accuracy (0 to 1) against epochs {r.epochs[0]} to {r.epochs[-1]}, one line per "
            f"feature count with a band from the lowest to the highest of {c.n_seeds} seeds, and chance "
            f"({r.chance:.3f}) as a dashed line. Final mean train accuracy: {train}.")]),
        Section("Memorised, not learned", [
            "Train accuracy climbs with the number of features while held-out accuracy stays at chance: "
            "the network stores the labels; it finds no rule, because there is none. The p-value is a two-sided "
            "binomial test of the pooled held-out accuracy against chance.",
        ], tables=[summary], figures=[Figure(
            "accuracy_vs_features.png",
            f"Final train and held-out accuracy after {c.epochs} epochs against the number of random features.",
            f"Two lines against the number of features on a log axis ({listing(s.n_features for s in by_features)}"
            f"), with bars from the lowest to the highest seed: train accuracy is {train}; held-out accuracy stays "
            + (f"between {min(heldout):.2f} and {max(heldout):.2f}" if heldout else "undefined (every network "
               "diverged)") + f", around chance ({r.chance:.3f}, dashed).")]),
        Section("Parameters against the memorisation bound", [
            "Zhang et al. (2017, 'Understanding deep learning requires rethinking generalization', Theorem 1) show "
            "that a depth-2 ReLU network with 2n + d parameters can represent any labelling of n points in d "
            "dimensions. The bound is sufficient, not necessary: a network below it may still fit.",
        ], figures=[Figure(
            "params_vs_bound.png",
            "Final train accuracy against the parameter count divided by the bound 2n + d of Zhang et al.",
            "Line chart, one point per feature count, of final train accuracy against parameters / (2n + d) on a "
            "log axis, with the bound (ratio 1) as a dashed vertical line: " + listing(
                f"d = {s.n_features} at ratio {s.params_over_bound:.2g} reaches {number(s.train_accuracy_mean, '.2f')}"
                for s in by_features) + ".")]),
    ]
    diverged = [e for s in r.summaries for e in s.diverged_at if e is not None]
    return Report(
        command="memorize",
        headline=(f"{len(diverged)} network(s) diverged (NaN or infinite from epoch {min(diverged)}): lower --lr "
                  "(their numbers are left out)" if diverged else ""),
        title="memorize — a network memorises random labels",
        terminal=[summary],
        sections=sections,
        figures=figures,
        metrics=metrics_frame(r),
        claims=r.claims,
    )
