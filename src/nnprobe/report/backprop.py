"""Report of the backprop study: every table a learner can check by hand, and the figures."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from nnprobe.report.document import Figure, Formula, Report, Section, Table, listing
from nnprobe.report.figures import new_figure
from nnprobe.report.runfolder import figure_png
from nnprobe.studies.backprop import BackpropResult, NetworkResult, total_squared_error


def g(value: float, digits: int = 10) -> str:
    """Enough significant digits to check by hand (119.9880003 must not print as 120)."""
    return f"{value:.{digits}g}"


def _loss_curve(r: BackpropResult) -> bytes:
    line, c = r.line, r.config
    xs = np.asarray(line.xs)
    # The steps near the start: a diverging descent's later weights would stretch the axis beyond reading.
    reach = 10 * abs(c.w0 - c.slope) + 1
    shown = [s for s in line.descent if abs(s.w - c.slope) <= reach] or line.descent[:1]
    path = [s.w for s in shown]
    losses = [s.loss for s in shown]
    lo, hi = min([*path, c.w0, c.slope, c.far_w]) - 1, max([*path, c.w0, c.slope, c.far_w]) + 1
    w = np.linspace(lo, hi, 400)
    fig, (ax, ax_log) = new_figure(ncols=2, figsize=(10.5, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    ax.plot(w, [total_squared_error(v, xs, c.slope) for v in w], color="grey", label="L(w) = Σ (y − w·x)²")
    ax.plot(path, losses, "o-", color="C3", markersize=5, label=f"gradient descent, lr {c.lr:g}")
    for s in shown[:2]:
        ax.annotate(f"step {s.step}", (s.w, s.loss), textcoords="offset points", xytext=(6, 6), fontsize=8)
    tangent = line.probe.loss + line.probe.slope_exact * (w - c.w0)
    near = np.abs(w - c.w0) < 1.2
    ax.plot(w[near], tangent[near], "--", color="C0", label=f"slope at w = {c.w0:g}: {line.probe.slope_exact:g}")
    ax.plot([c.far_w], [line.probe.far_loss], "s", color="C2", label=f"L({c.far_w:g}) = {line.probe.far_loss:g}")
    ax.set(xlabel="weight w", ylabel="total squared error", title=f"Learning y = {c.slope:g}x from w = {c.w0:g}")
    ax.legend(fontsize=8)
    if any(loss > 0 for loss in losses):
        ax_log.semilogy([s.step for s in shown], losses, "o-", color="C3")
        ax_log.axhline(c.tolerance, color="grey", linestyle=":", label=f"stop below {c.tolerance:g}")
        ax_log.set(xlabel="step", ylabel="total squared error (log scale)", title="Loss at each step")
        ax_log.legend(fontsize=8)
    else:  # the first guess is the answer: nothing to put on a log scale
        ax_log.plot([s.step for s in shown], losses, "o-", color="C3")
        ax_log.set(xlabel="step", ylabel="total squared error", ylim=(-1, 1), title="Loss at each step: 0 from the start")
    return figure_png(fig)


def _learning_curve(r: BackpropResult) -> bytes:
    d = r.digits
    fig, ax = new_figure()
    ax.plot(d.epochs, d.train_accuracy, label=f"train ({d.n_train} digits)")
    ax.plot(d.epochs, d.test_accuracy, label=f"test ({d.n_test} digits)")
    ax.axhline(0.95, color="grey", linestyle=":", linewidth=1, label="0.95")
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title=f"Digits: a {d.spec} network learning")
    ax.legend(loc="lower right", fontsize=9)
    return figure_png(fig)


def _confusion(r: BackpropResult) -> bytes:
    m = np.asarray(r.digits.confusion)
    fig, ax = new_figure(figsize=(5.2, 4.6))
    ax.imshow(m, cmap="Blues")
    ax.grid(False)
    for i in range(10):
        for j in range(10):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit",
           title=f"Test confusion matrix (accuracy {r.digits.final_test_accuracy:.3f})")
    return figure_png(fig)


def _samples(r: BackpropResult) -> bytes:
    d = r.digits
    n = len(d.sample_labels)
    fig, axes = new_figure(nrows=2, ncols=n, figsize=(1.3 * n, 3.2), gridspec_kw={"height_ratios": [1, 1.1]})
    for k in range(n):
        top, bottom = axes[0, k], axes[1, k]
        top.imshow(np.asarray(d.sample_images[k]), cmap="gray_r")
        top.set_axis_off()
        top.set_title(f"true {d.sample_labels[k]}", fontsize=8)
        probs = np.asarray(d.sample_probabilities[k])
        bottom.bar(range(10), probs, color=["C3" if i == probs.argmax() else "C0" for i in range(10)])
        bottom.set(ylim=(0, 1), xticks=range(10))
        bottom.tick_params(labelsize=6)
        bottom.grid(False)
        if k:
            bottom.set_yticklabels([])
    fig.suptitle("Test digits and the predicted probability of each class", fontsize=10)
    return figure_png(fig)


def node(name: str) -> str | Formula:
    """A node's name as the study writes it in plain text, with its sums, subscripts and squares shown as such:
    "z1 = sum_i w1{i} x_i" as z1 = Σᵢ w1ᵢ xᵢ (in report.html with <sub>), "(y - target)^2" as (y − target)²."""
    if not re.search(r"sum_i|\{i\}|_i\b|\^2", name):
        return name
    text = (name.replace("sum_i", "\u03a3\u1d62").replace("{i}", "\u1d62").replace("x_i", "x\u1d62")
            .replace("^2", "\u00b2").replace(" - ", " \u2212 "))
    html = str(escape(name)).replace(" - ", " \u2212 ").replace("^2", "<sup>2</sup>")
    html = re.sub(r"\bsum_i\b", "\u2211<sub>i</sub>", html)
    html = re.sub(r"\b([a-z])(\d)\{i\}", r"\1<sub>\2i</sub>", html)
    html = re.sub(r"\b([a-z])_i\b", r"\1<sub>i</sub>", html)
    return Formula(text, Markup(html))  # escaped first: only the tags added here are markup


def _network_tables(net: NetworkResult) -> list[Table]:
    nodes = Table(f"4-2-1, {net.kind}: forward pass", ["node", "value"],
                  [[node(n.name), g(n.value, 8)] for n in net.nodes])
    grads = Table(
        f"4-2-1, {net.kind}: dL/dweight", ["weight", "value", "backprop (autograd)", "finite difference",
                                          "relative error"],
        [[w.name, g(w.value, 6), g(w.autograd, 9), g(w.finite_difference, 9), f"{w.relative_error:.1e}"]
         for w in net.gradients],
        note="finite difference: (L(w + 1e-6) − L(w − 1e-6)) / 2e-6 in float64; "
        "relative error |a − f| / max(|a|, |f|).",
    )
    return [nodes, grads]


def _loss_alt(r: BackpropResult) -> str:
    line, c, p = r.line, r.config, r.line.probe
    first, last = line.descent[0], line.descent[-1]
    alt = (f"Left: the total squared error L(w) against the weight w, a parabola with its minimum 0 at w = "
           f"{c.slope:g}; at the first guess w = {c.w0:g} it is {p.loss:g}, with a tangent of slope "
           f"{p.slope_exact:g}, and L({c.far_w:g}) = {p.far_loss:g} is marked. Gradient descent at lr {c.lr:g} goes "
           f"from w = {first.w:g} to w = {g(last.w, 6)} in {last.step} steps. Right: the loss at each step on a log "
           f"scale, from {g(first.loss, 4)} to {g(last.loss, 3)}")
    if line.steps_to_tolerance is not None:
        return alt + f", below the stopping line at {c.tolerance:g} after {line.steps_to_tolerance} steps."
    return alt + (f"; it diverges at step {line.diverged_at}." if line.diverged_at is not None else
                  f"; it is still above {c.tolerance:g} at the last step.")


def _a(digit) -> str:
    """The article for a digit's name: "an 8", "a 3"."""
    return f"an {digit}" if int(digit) == 8 else f"a {digit}"


def _confusion_alt(r: BackpropResult) -> str:
    m = np.asarray(r.digits.confusion)
    off = m - np.diag(np.diag(m))
    i, j = np.unravel_index(off.argmax(), off.shape)
    return (f"Ten by ten grid of test counts, true digit down, predicted digit across: {np.trace(m)} of {m.sum()} "
            f"digits on the diagonal (accuracy {r.digits.final_test_accuracy:.3f}); "
            + (f"the most frequent mistake is {_a(i)} taken for {_a(j)} ({off[i, j]} times)." if off.max() else
               "no digit is taken for another."))


def _samples_alt(r: BackpropResult) -> str:
    d = r.digits
    guesses = [(label, int(np.argmax(p)), float(np.max(p))) for label, p in zip(d.sample_labels,
                                                                                d.sample_probabilities)]
    return (f"{len(guesses)} test digits as 8 by 8 pixel images, each above a bar chart of the probability the "
            "network gives each of the ten classes: " + listing(
                (f"{_a(label)} read as {guess} ({prob:.2f})" for label, guess, prob in guesses), limit=10) + ".")


def build(r: BackpropResult) -> Report:
    """The full report of a backprop run."""
    c, line, p = r.config, r.line, r.line.probe
    forward = Table(
        f"Forward pass at w = {c.w0:g}", ["x", "actual y", "predicted y' = w·x", "squared error (y − y')²"],
        [[g(f.x), g(f.y), g(f.y_pred), g(f.squared_error)] for f in line.forward] + [["total", "", "", g(line.total)]],
    )
    probe = Table(
        "Finite-difference probe", ["w", "total squared error L(w)", "L(w) − L(w0)", "slope implied"],
        [[g(c.w0), g(p.loss), "0", ""],
         [g(c.w0 + p.h), g(p.loss_up), g(p.loss_up - p.loss, 6), g(p.slope_forward, 8)],
         [g(c.w0 - p.h), g(p.loss_down), g(p.loss_down - p.loss, 6), g(p.slope_backward, 8)],
         ["central", "", "", g(p.slope_central, 10)],
         ["closed form", "", "", g(p.slope_exact)],
         [g(p.far_w), g(p.far_loss), g(p.far_loss - p.loss), ""]],
        note=f"L(w) = (4 − w)² · Σx² with Σx² = {sum(x * x for x in line.xs):g}; dL/dw = −2 (4 − w) Σx².".replace(
            "4", f"{c.slope:g}"),
    )
    descent = Table(
        f"Gradient descent, w ← w − {c.lr:g} · dL/dw (engine: SGD on the total squared error)",
        ["step", "w", "loss", "dL/dw closed form", "dL/dw autograd", "dL/dw finite diff."],
        [[s.step, g(s.w, 9), g(s.loss, 6), g(s.grad_closed_form, 7), g(s.grad_autograd, 7),
          g(s.grad_finite_difference, 7)] for s in line.descent],
        note=(f"loss < {c.tolerance:g} after {line.steps_to_tolerance} steps" if line.steps_to_tolerance is not None
              else f"diverged: the loss overflowed at step {line.diverged_at}. " if line.diverged_at is not None
              else f"loss still ≥ {c.tolerance:g} after {c.steps} steps. ")
        + ("" if line.steps_to_tolerance is not None else
           f"Each step multiplies the error {c.slope:g} − w by 1 − 2·lr·Σx² = {1 - 2 * c.lr / line.stable_lr:.6g}: "
           + (f"lower --lr below 1/Σx² = {line.stable_lr:.4g}, where the error shrinks." if c.lr >= line.stable_lr
              else f"raise --steps or --lr (below 1/Σx² = {line.stable_lr:.4g}).")),
    )
    errata = Table(
        "Errata: where the article's numbers differ from computed ones", ["where", "article", "computed", "kind"],
        [[e.where, e.stated, "—" if e.computed is None else g(e.computed, 10), e.kind] for e in line.errata],
        note=f"{line.n_seed_values_checked} printed values compared at their stated precision; 'truncated' means cut "
        "instead of rounded." if line.n_seed_values_checked else "errata are checked only on the article's own set-up.",
    )
    d = r.digits
    digits = Table("Ten digits", ["network", "train digits", "test digits", "epochs", "train accuracy", "test accuracy"],
                   [[d.spec, d.n_train, d.n_test, d.epochs[-1], f"{d.train_accuracy[-1]:.3f}",
                     f"{d.final_test_accuracy:.3f}"]])
    tied_tables, dense_tables = _network_tables(r.tied), _network_tables(r.dense)
    figures = {"loss_vs_w.png": _loss_curve(r), "digits_learning_curve.png": _learning_curve(r),
               "digits_confusion.png": _confusion(r), "digits_samples.png": _samples(r)}
    sections = [
        Section(f"Part 1 — learning y = {c.slope:g}x from the guess w = {c.w0:g}", [
            "Every number below is computed. The loss is the total squared error, as in the article; its slope "
            "with respect to the weight w (not x, as the article writes) tells which way to move w.",
        ], tables=[forward, probe, descent], figures=[Figure(
            "loss_vs_w.png", "The loss as a function of the weight, its slope at the first guess, and the steps of "
            "gradient descent towards the minimum.", _loss_alt(r))]),
        Section("Errata", ["The article's tables are kept as data in nnprobe and compared with the computed values."],
                tables=[errata]),
        Section("Part 2 — the 4-2-1 network", [
            "The article writes h1 = x1·w1 + x2·w1 + x3·w1 + x4·w1: one weight per hidden node, shared by all "
            "inputs (tied). An ordinary fully connected layer gives each input its own weight. Both are shown for "
            f"the same input, {c.net_activation} hidden nodes, no biases (as in the article's formula), loss "
            f"(y − {c.net_target:g})². Backpropagation's gradient of every weight is checked against finite "
            f"differences. At equal weights a tied weight's gradient equals the sum of the gradients of the weights "
            f"it ties (largest gap measured: {r.tie_error:.1e}).",
        ], tables=[*tied_tables, *dense_tables]),
        Section("Part 3 — many outputs: the ten digits", [
            f"scikit-learn's 8×8 digits (pixels scaled from 0–16 to 0–1), one output node per digit, a {d.spec} "
            f"network trained by nnprobe's engine (Adam, lr {c.digits_lr:g}, full batch).",
        ], tables=[digits], figures=[
            Figure("digits_learning_curve.png", "Train and test accuracy of the digits network as it trains.",
                   f"Line chart of accuracy (0 to 1) against epochs {d.epochs[0]} to {d.epochs[-1]}: train accuracy "
                   f"({d.n_train} digits) ends at {d.train_accuracy[-1]:.3f}, test accuracy ({d.n_test} digits) at "
                   f"{d.test_accuracy[-1]:.3f}; a dotted line marks 0.95."),
            Figure("digits_confusion.png", "Which digits the trained network confuses on the test set.",
                   _confusion_alt(r)),
            Figure("digits_samples.png", "Test digits and the probability the network gives each class.",
                   _samples_alt(r)),
        ]),
    ]
    metrics = pd.concat([
        pd.DataFrame({"part": "descent", "epoch": [s.step for s in line.descent], "metric": "w",
                      "value": [s.w for s in line.descent]}),
        pd.DataFrame({"part": "descent", "epoch": [s.step for s in line.descent], "metric": "loss",
                      "value": [s.loss for s in line.descent]}),
        *[pd.DataFrame({"part": "digits", "epoch": d.epochs, "metric": name, "value": values})
          for name, values in (("train_accuracy", d.train_accuracy), ("test_accuracy", d.test_accuracy),
                               ("train_loss", d.train_loss))],
    ], ignore_index=True)
    return Report(
        command="backprop", title="backprop — backpropagation from the ground up",
        terminal=[forward, probe, descent, errata, *tied_tables, *dense_tables, digits],
        sections=sections, figures=figures, metrics=metrics, claims=r.claims,
    )
