"""Numbers as people read them, shared by the terminal summary and report.html."""

from __future__ import annotations


def fmt(value) -> str:
    """A table cell as text: floats to 4 significant digits, None as an em dash, anything else as str()."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
