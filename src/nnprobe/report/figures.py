"""Shared matplotlib set-up for the report figures (headless Agg backend, one consistent style, text shown
literally: user strings such as column names with ``$`` or backslashes are never parsed as mathtext), and the
resolution and compression of the PNGs that report.html embeds."""

from __future__ import annotations

import copy
import io
import re

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import LogFormatterSciNotation  # noqa: E402

from nnprobe.report.document import PIXEL_RATIO, SCREEN_DPI  # noqa: E402
from nnprobe.text import printable  # noqa: E402

DPI = SCREEN_DPI * PIXEL_RATIO  # what figures are drawn at: report.html shows them at 1/PIXEL_RATIO of their pixels
PALETTE_TOLERANCE = 8  # a pixel counts as changed by the 256-colour palette when a channel moves by more than this
PALETTE_MAX_CHANGED = 1e-4  # share of pixels in changed patches (not lone edge shades) that keeps full colours

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


_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")


def unmath(text: str) -> str:
    """A tick label that matplotlib wrote as mathtext, as plain text: ``$\\mathdefault{10^{-3}}$`` -> 10⁻³,
    ``$\\mathdefault{2\\times10^{0}}$`` -> 2×10⁰; other text unchanged."""
    match = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", text)
    if match is None:
        return text
    body = re.sub(r"\^\{(-?\d+)\}", lambda power: power[1].translate(_SUPERSCRIPT), match[1])
    return body.replace("\\times", "\u00d7").replace("-", "\u2212")


class PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's log-axis tick labels (the same ticks and values) as plain text, 10⁸ and 2×10⁻³: the default
    writes mathtext, which the report style shows literally (``text.parse_math`` is off for the sake of user
    strings)."""

    def __call__(self, x, pos=None):
        return unmath(super().__call__(x, pos))


def plain_tick_labels(fig) -> None:
    """Give every log axis of ``fig`` (3-d ones too) a :class:`PlainLogFormatter` in place of matplotlib's default,
    keeping its settings."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis, *([ax.zaxis] if hasattr(ax, "zaxis") else [])):
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                if type(get()) is LogFormatterSciNotation:
                    plain = copy.copy(get())
                    plain.__class__ = PlainLogFormatter  # a subclass that adds no state: only the text differs
                    put(plain)


def compact_png(png: bytes) -> bytes:
    """``png`` made smaller for report.html, its look kept: even pixel dimensions, and 256 colours where they show it.

    A figure's width and height are made even by a column or row of its own background colour, so that the page
    can show it at exactly half its pixel size. Line and bar charts use a few hundred colours plus the shades that
    antialiasing mixes at the edges of lines and letters: mapped onto a palette of their 256 most frequent colours
    (the shades onto the nearest of those), they come out at a third of the size with no visible change, since only
    lone pixels along edges change. Where patches of pixels would change colour by more than ``PALETTE_TOLERANCE``
    levels, in more than ``PALETTE_MAX_CHANGED`` of the figure (colour bars, heat maps, smooth gradients), it stays
    in full colour, compressed losslessly.

    Parameters
    ----------
    png : bytes
        A PNG as matplotlib writes it (RGBA).

    Returns
    -------
    bytes
        The PNG to write, with the same dpi recorded in it.
    """
    from PIL import Image

    source = Image.open(io.BytesIO(png))
    dpi = source.info.get("dpi")
    image = source.convert("RGBA")
    if image.getextrema()[3][0] == 255:  # opaque, as matplotlib's figures are: the alpha channel carries nothing
        image = image.convert("RGB")
    width, height = image.size
    if width % 2 or height % 2:
        padded = Image.new(image.mode, (width + width % 2, height + height % 2), image.getpixel((0, 0)))
        padded.paste(image, (0, 0))
        image = padded
    if image.mode == "RGB":
        image = _palette(image) or image
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6, **({"dpi": dpi} if dpi else {}))
    return out.getvalue()


def _palette(image):
    """``image`` (RGB) as a palette image of its 256 most frequent colours, or None when that would change it visibly
    (see :func:`compact_png`)."""
    from PIL import Image
    from scipy.ndimage import minimum_filter

    pixels = np.asarray(image, dtype=np.uint32)  # [h, w, 3]
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]  # [h, w], one number per colour
    counts = image.getcolors(maxcolors=image.width * image.height)  # [(count, (r, g, b))], every colour once
    counts.sort(key=lambda item: -item[0])
    colours = np.array([rgb for _, rgb in counts], dtype=np.int32)  # [C, 3], most frequent first
    palette = colours[:256]  # [P, 3]
    nearest = np.empty(len(colours), dtype=np.uint8)  # palette index of each colour
    change = np.empty(len(colours), dtype=np.uint8)  # largest channel change when a colour takes that entry
    for start in range(0, len(colours), 4096):  # [4096, P] distances at a time
        chunk = colours[start:start + 4096]
        index = ((chunk[:, None, :] - palette[None]) ** 2).sum(axis=2).argmin(axis=1)
        nearest[start:start + 4096] = index
        change[start:start + 4096] = np.abs(chunk - palette[index]).max(axis=1)
    # Look-up tables over every 24-bit colour, so that each pixel finds its entry by one indexing.
    keys = (colours[:, 0] << 16) | (colours[:, 1] << 8) | colours[:, 2]
    lookup = np.zeros(1 << 24, dtype=np.uint8)
    lookup[keys] = nearest
    moved = np.zeros(1 << 24, dtype=np.uint8)
    moved[keys] = change
    # A changed pixel shows only where its neighbours changed too: the shades along a line's edge are single pixels,
    # a band in a colour bar or a heat map is a patch. So the change of each pixel's 3x3 neighbourhood is its least.
    least = minimum_filter(moved[packed], size=3, mode="nearest")  # [h, w], edges repeated
    if np.mean(least > PALETTE_TOLERANCE) > PALETTE_MAX_CHANGED:
        return None
    result = Image.frombytes("P", image.size, lookup[packed].tobytes())
    result.putpalette(palette.astype(np.uint8).ravel().tolist())
    return result
