"""Text as people read it, shared by the terminal summary, the figures and report.html: numbers in cells, and
user strings made safe to show."""

from __future__ import annotations

import math
import re

# Characters that would act on a terminal or hide text instead of showing: C0/C1 controls, DEL, the line and
# paragraph separators, the bidirectional marks, overrides and isolates ("Trojan source"), and lone surrogates
# (the undecodable bytes of a file name, which no text encoding can write).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def fmt(value) -> str:
    """A table cell as text: floats to 4 significant digits, None as an em dash, anything else as str()."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def number(value: float, spec: str = ".3f") -> str:
    """``value`` formatted by ``spec``, or an em dash when it is None, NaN or infinite (a diverged network's)."""
    if value is None or not math.isfinite(value):
        return "—"
    return format(value, spec)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``, ``\\u202e``), so that a data file cannot
    send escape sequences to the terminal or draw invisible glyphs in a figure; other characters unchanged."""
    return _HIDDEN.sub(_escape, str(text))


def numeric(cell) -> bool:
    """Whether a table cell reads as a number (or is empty), to be right-aligned: ``1,234``, ``12%``, ``3x`` and
    ``12 (3/4)`` count, by their first word; the terminal and report.html align by the same rule."""
    text = fmt(cell).split(" ")[0].rstrip("%x").replace(",", "")
    try:
        float(text)
    except ValueError:
        return text in ("—", "", "…")
    return True
