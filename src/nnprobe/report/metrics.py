"""metrics.csv: one long schema for every command, ``study, series, step, metric, value``.

A study's report gives its metrics as a long frame with its own key columns (feature count and seed, coin and flip
count, ...). Here they become the shared schema: ``series`` names the curve a row belongs to as ``key=value`` pairs
joined by `` | `` (in the frame's column order), and ``step`` is the x of the curve: the epoch, the number of flips
or the permuted run (empty where a metric is a single number).
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["study", "series", "step", "metric", "value"]
STEP_COLUMNS = ("epoch", "flips", "run", "step")  # the key column that is a curve's x, where a frame has one
SEPARATOR = " | "


def long_metrics(study: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (key columns, ``metric``, ``value``) in the schema of :data:`COLUMNS`, rows in their order; a frame
    already in that schema (a combined report's) is returned as it is."""
    if list(frame.columns) == COLUMNS:
        return frame
    step = next((c for c in STEP_COLUMNS if c in frame.columns), None)
    keys = [c for c in frame.columns if c not in ("metric", "value", step)]
    series = frame[keys].astype(str).apply(lambda row: SEPARATOR.join(f"{k}={v}" for k, v in row.items()), axis=1) \
        if keys and len(frame) else pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return pd.DataFrame({
        "study": study,
        "series": series,
        "step": frame[step].astype("Int64") if step else pd.Series([pd.NA] * len(frame), index=frame.index,
                                                                     dtype="Int64"),
        "metric": frame["metric"],
        "value": frame["value"],
    }, columns=COLUMNS).reset_index(drop=True)
