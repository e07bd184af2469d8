"""Shared matplotlib set-up for the report figures (headless Agg backend, one consistent style, text shown
literally: user strings such as column names with ``$`` or backslashes are never parsed as mathtext)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from nnprobe.text import printable  # noqa: E402

plt.rcParams.update({
    "figure.figsize": (7.0, 4.2),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "text.parse_math": False,
})


def label(text) -> str:
    """A user string as figure text: control characters escaped (no missing-glyph boxes or warnings)."""
    return printable(text)


def new_figure(**kwargs):
    """A new (figure, axes) pair in the report style."""
    return plt.subplots(**kwargs)
