"""Report of the cluster study: snapshot grids, an animated GIF of the points moving, separation curves."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from nnprobe.data import standard_scaling
from nnprobe.report.document import SCREEN_DPI, Figure, Report, Section, Table, listing
from nnprobe.report.figures import label, new_figure, plt
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.cluster import ClusterResult, RunResult
from nnprobe.text import number


def projection(run: RunResult) -> tuple[np.ndarray, list[str]]:
    """Points to draw, [T, n, 2 or 3]: as they are for 2 or 3 features; one feature against the class (a strip
    per class, spread by a fixed jitter); more than 3 on the first two principal axes of the starting points (one
    fixed projection for every snapshot, so movement is comparable)."""
    pts = run.points
    if run.n_features == 1:
        jitter = np.random.default_rng(0).uniform(-0.3, 0.3, size=len(run.labels))
        strips = np.broadcast_to(run.labels + jitter, pts.shape[:2])[..., None]
        return np.concatenate([pts, strips], axis=2), [run.feature_names[0], "class (jittered)"]
    if run.n_features <= 3:
        return pts, run.feature_names
    center, scale = standard_scaling(pts[0])
    _, _, vt = np.linalg.svd((pts[0] - center) / scale, full_matrices=False)
    return ((pts - center) / scale) @ vt[:2].T, ["principal axis 1", "principal axis 2"]


def _scatter(ax, pts: np.ndarray, labels: np.ndarray, class_names: list[str], limits) -> None:
    for k, name in enumerate(class_names):
        sel = labels == k
        coords = [pts[sel, j] for j in range(pts.shape[1])]
        # No depth shading in 3-d: a point's colour says its class, and fading it with depth would blur that (and
        # give every point a colour of its own, which makes the PNG several times larger).
        depth = {"depthshade": False} if pts.shape[1] == 3 else {}
        ax.scatter(*coords, s=6, color=f"C{k % 10}", label=label(name), alpha=0.8, linewidths=0, **depth)
    ax.set_xlim(limits[0])
    ax.set_ylim(limits[1])
    if pts.shape[1] == 3:
        ax.set_zlim(limits[2])


def _limits(pts: np.ndarray):
    lo, hi = np.nanmin(pts, axis=(0, 1)), np.nanmax(pts, axis=(0, 1))  # NaN: snapshots after a divergence
    pad = 0.05 * (hi - lo + 1e-9)
    return list(zip(lo - pad, hi + pad))


def _panel(fig, rows, cols, i, dims):
    return fig.add_subplot(rows, cols, i, projection="3d" if dims == 3 else None)


def snapshot_grid(run: RunResult) -> bytes:
    pts, names = projection(run)
    dims, T = pts.shape[2], len(run.snapshots)
    cols = 5
    rows = -(-T // cols)
    fig = plt.figure(figsize=(3.0 * cols, 2.8 * rows))
    limits = _limits(pts)
    for t, snap in enumerate(run.snapshots):
        ax = _panel(fig, rows, cols, t + 1, dims)
        _scatter(ax, pts[t], run.labels, run.class_names, limits)
        ax.set_title(f"epoch {snap.epoch}: 5-NN {number(snap.knn_accuracy, '.2f')}", fontsize=9)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"{label(run.label)}, seed {run.seed_index}: the points as gradient descent moves them "
                 f"({' / '.join(label(n) for n in names[:dims])})", fontsize=11)
    fig.tight_layout()
    return figure_png(fig)


def animation(run: RunResult) -> bytes:
    """An animated GIF, one frame per snapshot, at the screen's density (report.html shows it pixel for pixel)."""
    from PIL import Image

    pts, _ = projection(run)
    dims = pts.shape[2]
    limits = _limits(pts)
    frames = []
    for t, snap in enumerate(run.snapshots):
        fig = plt.figure(figsize=(4.2, 4.0))
        ax = _panel(fig, 1, 1, 1, dims)
        _scatter(ax, pts[t], run.labels, run.class_names, limits)
        ax.set_title(f"{label(run.label)}: epoch {snap.epoch}, 5-NN {number(snap.knn_accuracy, '.2f')}", fontsize=10)
        buf = io.BytesIO(figure_png(fig, dpi=SCREEN_DPI))  # at 1x: 9+ frames at 2x would double the page
        frames.append(Image.open(buf).convert("RGB").quantize(colors=64))
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=450, loop=0, optimize=False,
                   disposal=2)
    return out.getvalue()


def separation_curves(r: ClusterResult) -> bytes:
    fig, axes = new_figure(ncols=3, figsize=(13, 3.8))
    for g, (group, runs) in enumerate(r.groups().items()):
        epochs = [s.epoch for s in runs[0].snapshots]
        for ax, key, title in zip(axes, ("knn_accuracy", "silhouette", "linear_accuracy"),
                                  ("leave-one-out 5-NN accuracy", "silhouette by class",
                                   "logistic regression (5-fold CV)")):
            values = np.array([[getattr(s, key) for s in run.snapshots] for run in runs])  # [S, T]
            ax.plot(epochs, values.mean(0), color=f"C{g}", label=label(group))
            ax.fill_between(epochs, values.min(0), values.max(0), color=f"C{g}", alpha=0.2, linewidth=0)
            ax.set(title=title, xlabel="epoch")
    axes[0].axhline(r.config.separation, color="grey", linestyle=":", linewidth=1)
    axes[0].legend(fontsize=8)
    fig.suptitle("How separated the classes are as the points move (mean and min–max over seeds)", fontsize=11)
    fig.tight_layout()
    return figure_png(fig)


def slug(text: str) -> str:
    """A file-name part from a group label: letters and digits, the rest as underscores."""
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower()[:40] or "data"


def _separation_alt(r: ClusterResult) -> str:
    groups = r.groups()
    first_epoch, last_epoch = r.runs[0].snapshots[0].epoch, r.runs[0].snapshots[-1].epoch

    def span(key: str) -> str:
        return listing(
            f"{number(np.mean([getattr(run.snapshots[0], key) for run in runs]), '.2f')} to "
            f"{number(np.mean([getattr(run.snapshots[-1], key) for run in runs]), '.2f')} for {label(group)}"
            for group, runs in groups.items())

    return (f"Three line charts against epochs {first_epoch} to {last_epoch}, one line per group of runs with a band "
            f"from the lowest to the highest seed. Leave-one-out 5-nearest-neighbour accuracy goes from "
            f"{span('knn_accuracy')} (a dotted line marks {r.config.separation:g}); the silhouette of the classes "
            f"from {span('silhouette')}; the cross-validated accuracy of a logistic regression from "
            f"{span('linear_accuracy')}.")


def _points_alt(run: RunResult, *, animated: bool) -> str:
    _, names = projection(run)
    first, last = run.snapshots[0], run.snapshots[-1]
    what = (f"An animation of {len(run.snapshots)} frames" if animated else
            f"{len(run.snapshots)} scatter plots in a grid")
    return (f"{what}: the {len(run.labels)} points of {label(run.label)} (seed {run.seed_index}), coloured by class ("
            f"{listing(label(n) for n in run.class_names)}), on the axes {listing(label(n) for n in names)}, "
            f"at epochs {first.epoch} to {last.epoch}. The 5-nearest-neighbour accuracy of the points goes from "
            f"{number(first.knn_accuracy, '.2f')} to {number(last.knn_accuracy, '.2f')}; by the last epoch the points "
            f"have moved {number(last.mean_shift, '.3g')} on average.")


def build(r: ClusterResult) -> Report:
    c = r.config
    figures = {"separation.png": separation_curves(r)}
    sections = [Section("What is trained", [
        "Every epoch, one Adam step on the network's weights and one gradient-descent step on the points "
        "themselves, both on the same loss J (mean cross-entropy). The network sees each feature through a fixed "
        "scaling u = (I − c) / s; the points move by u ← u − α ∂J/∂u with α = "
        f"{c.input_lr:g} (momentum {c.input_momentum:g}), which is the article's I ← I − α′ ∂J/∂I with "
        f"α′ = α s² = {', '.join(f'{a:.3g}' for a in sorted(set(r.input_lr_raw)))} on the raw coordinates.",
        "Separation is measured on the points themselves, with no network: leave-one-out 5-nearest-neighbour "
        "accuracy, the silhouette of the classes, and a logistic regression's cross-validated accuracy.",
    ], figures=[Figure("separation.png", "How separated the classes are as gradient descent moves the points.",
                       _separation_alt(r))])]
    tables = []
    for group, runs in r.groups().items():
        key = slug(group)
        first = runs[0]
        figures[f"snapshots_{key}.png"] = snapshot_grid(first)
        figures[f"points_{key}.gif"] = animation(first)
        per_snapshot = Table(
            f"{group}: separation at each snapshot (mean over {len(runs)} seed(s))",
            ["epoch", "5-NN acc", "silhouette", "logistic acc", "mean shift", "network acc"],
            [[s.epoch, *(number(np.mean([getattr(run.snapshots[t], k) for run in runs])) for k in
                         ("knn_accuracy", "silhouette", "linear_accuracy")),
              number(np.mean([run.snapshots[t].mean_shift for run in runs]), ".4g"),
              number(np.mean([run.snapshots[t].network_accuracy for run in runs]))]
             for t, s in enumerate(first.snapshots)],
        )
        per_snapshot.note = f"epochs to 5-NN accuracy >= {c.separation:g}, per seed: " + ", ".join(
            str(run.epochs_to_separation) if run.epochs_to_separation is not None else f"not within {c.epochs}"
            for run in runs)
        tables.append(per_snapshot)
        sections.append(Section(group, [
            f"Seed {first.seed_index}'s points at every snapshot, and as an animation (points_{key}.gif in the run "
            "folder)." + (" More than three features: drawn on the first two principal axes of the starting points."
                           if first.n_features > 3 else ""),
        ], tables=[per_snapshot], figures=[
            Figure(f"snapshots_{key}.png", f"The points of {group} at every snapshot, as gradient descent moves them.",
                   _points_alt(first, animated=False)),
            Figure(f"points_{key}.gif", f"The same points of {group} moving, one frame per snapshot.",
                   _points_alt(first, animated=True)),
        ]))
    rows = []
    for run in r.runs:
        for s in run.snapshots:
            for metric in ("knn_accuracy", "silhouette", "linear_accuracy", "mean_shift", "max_shift",
                           "network_accuracy"):
                rows.append((run.label, run.seed_index, s.epoch, metric, getattr(s, metric)))
    metrics = pd.DataFrame(rows, columns=["group", "seed_index", "epoch", "metric", "value"])
    diverged = [run for run in r.runs if run.diverged_at is not None]
    headline = (f"{len(diverged)} of {len(r.runs)} runs diverged (points or loss NaN or infinite by epoch "
                f"{min(run.diverged_at for run in diverged)}): lower --input-lr or --lr; their later numbers are left "
                "out" if diverged else "")
    return Report(command="cluster", title="cluster — gradient descent on the inputs forms class clusters",
                  terminal=tables, sections=sections, figures=figures, metrics=metrics, claims=r.claims,
                  headline=headline,
                  files={"points.npz": points_npz(r)})


def points_npz(r: ClusterResult) -> bytes:
    """Every run's point positions at every snapshot: arrays ``points_<group>_seed<i>`` [T, n, d] and
    ``labels_<group>_seed<i>`` [n], plus ``epochs`` [T]."""
    arrays = {"epochs": np.array([s.epoch for s in r.runs[0].snapshots])}
    for run in r.runs:
        arrays[f"points_{slug(run.label)}_seed{run.seed_index}"] = run.points
        arrays[f"labels_{slug(run.label)}_seed{run.seed_index}"] = run.labels
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
