"""Load two models' predictions (or per-query metrics) on the same examples, matched by id, with clear errors.

Two files, one per model, each with columns ``id``, ``y_true``, ``y_pred`` and optionally ``score`` (the model's
score for the positive class, used when both files have it and there are two classes); or one
file with ``id``, ``y_true`` and one prediction column per model. Per-query metrics (e.g. NDCG of each search
query): columns ``id`` and ``metric`` in each file, or two metric columns of one file.

One model's predictions of a held-out file (``nnprobe audit --predictions``): ``y_pred`` (a class of the data)
and/or one column ``proba_<class>`` per class, and optionally ``id``, matched to the held-out file's id column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnprobe.data.loaders import _list, _read_table, as_text, load_synthetic, read_ids
from nnprobe.data.dataset import Dataset
from nnprobe.errors import DataError, closest
from nnprobe.models.base import PROBA_SUM_TOL


@dataclass
class PairedPredictions:
    """Predictions of models A and B on the same examples, in id order."""

    ids: np.ndarray  # [n]
    y_true: np.ndarray  # [n] labels as strings (classification) or None (per-query metrics)
    a: np.ndarray  # [n] A's predicted labels (strings) or metric values (float)
    b: np.ndarray  # [n]
    a_name: str
    b_name: str
    kind: str  # "classification" or "per-query"
    a_score: np.ndarray | None = None  # [n] scores for the positive class, when both files have a score column
    b_score: np.ndarray | None = None
    score_note: str = ""  # why there are no scores although one file has a score column
    truth: dict | None = None  # a built-in pair's true accuracy, lift and discordance (None for files)

    @property
    def a_correct(self) -> np.ndarray:
        return self.a == self.y_true

    @property
    def b_correct(self) -> np.ndarray:
        return self.b == self.y_true


def _column(frame: pd.DataFrame, name: str, source: str, role: str) -> pd.Series:
    columns = [str(c) for c in frame.columns]
    if name not in columns:
        raise DataError(f"{source} has no {role} column {name!r}.{closest(name, columns)} Its columns are "
                        f"{_list(columns)}; name the right one with the matching option.")
    return frame[name]


def _labels(series: pd.Series, source: str) -> pd.Series:
    """Labels compared as text, so that 1, 1.0 and '1' in different files agree; missing labels are an error."""
    if series.isna().any():
        raise DataError(f"{source}: column {series.name!r} has {int(series.isna().sum())} missing label(s): give a "
                        "label for every example (or drop those rows from both files).")
    return as_text(series)


MAX_METRIC = 1e100  # |metric| or |score|: differences and squares of larger values overflow float64


def _metric(series: pd.Series, source: str, name: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0))
    if bad.any():
        raise DataError(f"{source}: column {name!r} has {int(bad.sum())} missing or non-numeric value(s) "
                        f"(e.g. {series[bad].astype(str).iloc[0]!r}): give a number for every query.")
    huge = values.abs() > MAX_METRIC
    if huge.any():
        raise DataError(f"{source}: column {name!r} has {int(huge.sum())} value(s) beyond ±{MAX_METRIC:g} (e.g. "
                        f"{series[huge].astype(str).iloc[0]!r}): rescale the metric (e.g. to other units).")
    return values.to_numpy(dtype=np.float64)


def _check_size(n: int, what: str) -> None:
    if n < 2:
        raise DataError(f"{what} has {n} example(s) in common: a comparison needs at least 2 (hundreds for a "
                        "useful answer).")


def synthetic_pair(*, n: int = 20000, accuracy: float = 0.9, lift: float = 0.01, discordance: float = 0.05,
                   seed: int = 0) -> PairedPredictions:
    """Two classifiers' predictions of ``n`` two-class examples whose truth is known: A is right with chance
    ``accuracy``, B with ``accuracy + lift``, and exactly one of them is right with chance ``discordance``.

    The loaded coin of seed 001 as a pair of models: each example is one flip of a four-sided die (both right,
    only A, only B, both wrong) with chances ``accuracy - (discordance - lift) / 2``, ``(discordance - lift) / 2``,
    ``(discordance + lift) / 2`` and the rest.
    """
    only_a, only_b = (discordance - lift) / 2, (discordance + lift) / 2
    chances = np.array([accuracy - only_a, only_a, only_b, 1 - accuracy - only_b])
    if not (1 <= n <= 10**8) or n != int(n) or not (0 <= lift <= discordance <= 1) or not (chances >= 0).all():
        raise DataError(f"synth:ab?n={n:g}&accuracy={accuracy:g}&lift={lift:g}&discordance={discordance:g} is not a "
                        "pair of classifiers: give 1 <= n <= 10^8, 0 <= lift <= discordance, and an accuracy that "
                        "leaves room for both models' discordant examples, e.g. synth:ab?accuracy=0.9&lift=0.01"
                        "&discordance=0.05.")
    from nnprobe.limits import check_seed

    rng = np.random.default_rng(check_seed(seed))
    outcome = rng.choice(4, size=int(n), p=chances / chances.sum())  # [n] 0 both right, 1 only A, 2 only B, 3 none
    y = rng.integers(0, 2, size=int(n))
    a_right, b_right = np.isin(outcome, (0, 1)), np.isin(outcome, (0, 2))
    labels = np.array(["0", "1"])
    return PairedPredictions(np.arange(int(n)), labels[y], labels[np.where(a_right, y, 1 - y)],
                             labels[np.where(b_right, y, 1 - y)], f"A (accuracy {accuracy:g})",
                             f"B (accuracy {accuracy + lift:g})", "classification",
                             truth={"accuracy": accuracy, "lift": lift, "discordance": discordance})


PAIR_GENERATORS = {"ab": synthetic_pair}  # synth:NAME of built-in pairs of predictions


def load_pair(a: str, b: str | None = None, *, kind: str = "classification", id_col: str = "id",
              true_col: str = "y_true", pred_col: str = "y_pred", metric_col: str = "metric", score_col: str = "score",
              a_col: str | None = None, b_col: str | None = None) -> PairedPredictions:
    """Load and match two models' outputs. With ``b`` None, ``a`` is one file holding both models' columns
    ``a_col`` and ``b_col``, or ``synth:ab?key=value&...``, a built-in pair (:func:`synthetic_pair`)."""
    if kind not in ("classification", "per-query"):
        raise DataError(f"kind {kind!r} is unknown: use classification or per-query.")
    if a.startswith("synth:"):
        if b is not None or kind != "classification":
            raise DataError(f"{a} is a built-in pair of classifiers on its own: give no second file and no --kind.")
        return load_synthetic(a.removeprefix("synth:"), PAIR_GENERATORS, example="synth:ab?n=20000&lift=0.01")
    if b is None:
        if not (a_col and b_col):
            raise DataError("one file compares two of its columns: name them with --a-col and --b-col "
                            "(or give two files, one per model).")
        frame = _read_table(Path(a))
        ids = read_ids(frame, id_col, a)
        _check_size(len(frame), a)
        if kind == "per-query":
            return PairedPredictions(ids.to_numpy(), None, _metric(_column(frame, a_col, a, "metric"), a, a_col),
                                     _metric(_column(frame, b_col, a, "metric"), a, b_col), a_col, b_col, kind)
        return PairedPredictions(ids.to_numpy(), _labels(_column(frame, true_col, a, "true-label"), a).to_numpy(),
                                 _labels(_column(frame, a_col, a, "prediction"), a).to_numpy(),
                                 _labels(_column(frame, b_col, a, "prediction"), a).to_numpy(), a_col, b_col, kind)

    fa, fb = _read_table(Path(a)), _read_table(Path(b))
    ids_a, ids_b = read_ids(fa, id_col, a), read_ids(fb, id_col, b)
    only_a, only_b = sorted(set(ids_a) - set(ids_b)), sorted(set(ids_b) - set(ids_a))
    if only_a or only_b:
        parts = [f"{len(x)} id(s) only in {src} (e.g. {', '.join(repr(i) for i in x[:3])})"
                 for x, src in ((only_a, a), (only_b, b)) if x]
        raise DataError("the two files do not cover the same examples: " + "; ".join(parts)
                        + ". Compare models on the same examples: keep the common ids in both files.")
    _check_size(len(ids_a), "the pair of files")
    fa = fa.assign(_id=ids_a.to_numpy()).set_index("_id")
    fb = fb.assign(_id=ids_b.to_numpy()).set_index("_id").loc[fa.index]
    names = (Path(a).stem, Path(b).stem) if Path(a).stem != Path(b).stem else (a, b)
    if kind == "per-query":
        return PairedPredictions(fa.index.to_numpy(), None,
                                 _metric(_column(fa, metric_col, a, "metric"), a, metric_col),
                                 _metric(_column(fb, metric_col, b, "metric"), b, metric_col), *names, kind)
    true_a = _labels(_column(fa, true_col, a, "true-label"), a)
    true_b = _labels(_column(fb, true_col, b, "true-label"), b)
    differ = true_a.to_numpy() != true_b.to_numpy()
    if differ.any():
        first = fa.index[np.argmax(differ)]
        raise DataError(f"the true labels differ between the files for {int(differ.sum())} id(s) (e.g. id {first!r}: "
                        f"{true_a.loc[first]!r} vs {true_b.loc[first]!r}): both files must hold the same truth.")
    scores, score_note = (None, None), ""
    has_scores = [score_col in frame.columns for frame in (fa, fb)]
    if all(has_scores):  # optional: both files, or neither is used
        scores = (_metric(fa[score_col], a, score_col), _metric(fb[score_col], b, score_col))
    elif any(has_scores):
        score_note = (f"AUCs not compared: only {a if has_scores[0] else b} has a score column {score_col!r}; give "
                      "each model's scores in its file (--score names the column)")
    predicted = [_labels(_column(frame, pred_col, source, "prediction"), source).to_numpy()
                 for frame, source in ((fa, a), (fb, b))]
    return PairedPredictions(fa.index.to_numpy(), true_a.to_numpy(), *predicted, *names, kind, *scores, score_note)


PROBA_PREFIX = "proba_"


@dataclass
class HeldOutPredictions:
    """One model's predictions of the rows of a held-out Dataset, in that Dataset's row order."""

    predicted: np.ndarray  # [n] class indices
    probabilities: np.ndarray | None  # [n, k] or None
    matched_by: str  # "id column 'id'" or "row order"
    note: str = ""  # where y_pred and the probabilities disagree


def load_heldout_predictions(path: str, test: Dataset, *, id_col: str = "id") -> HeldOutPredictions:
    """Predictions of ``test``'s rows from the file at ``path``: matched by ``id_col`` when both have it, else by
    row order; classes are ``test``'s class names."""
    frame = _read_table(Path(path).expanduser())
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    names = test.class_names
    proba_cols = [PROBA_PREFIX + name for name in names]
    has_proba = [c in frame.columns for c in proba_cols]
    stray = [c for c in frame.columns if c.startswith(PROBA_PREFIX) and c not in proba_cols]
    if stray or (any(has_proba) and not all(has_proba)):
        missing = [c for c, has in zip(proba_cols, has_proba) if not has]
        raise DataError(f"{path}: give one {PROBA_PREFIX}<class> column for each class of the data "
                        f"({', '.join(proba_cols[:6])}{', ...' if len(names) > 6 else ''})"
                        + (f"; {', '.join(map(repr, stray[:3]))} name(s) no class of the data" if stray else "")
                        + (f"; missing {', '.join(map(repr, missing[:3]))}" if missing and any(has_proba) else "")
                        + ".")
    if "y_pred" not in frame.columns and not all(has_proba):
        raise DataError(f"{path} has no column 'y_pred' (nor one {PROBA_PREFIX}<class> column per class: "
                        f"{', '.join(proba_cols[:4])}{', ...' if len(names) > 4 else ''}): give one predicted class "
                        f"per held-out row. Its columns are {_list(list(frame.columns))}.")
    if id_col in frame.columns:
        if test.ids is None:
            raise DataError(f"{path} has an id column {id_col!r} but the held-out file does not: add the ids to the "
                            "held-out file, or drop the column to match rows by order.")
        ids = read_ids(frame, id_col, path)
        wanted = pd.Index(test.ids)
        missing, extra = wanted.difference(ids), pd.Index(ids).difference(wanted)
        if len(missing) or len(extra):
            parts = [f"{len(x)} id(s) {where} (e.g. {', '.join(repr(i) for i in x[:3])})"
                     for x, where in ((missing, "of the held-out file have no prediction"),
                                      (extra, "are not in the held-out file")) if len(x)]
            raise DataError(f"{path}: " + "; ".join(parts) + ": give one prediction per held-out row.")
        frame = frame.set_index(ids.to_numpy()).loc[wanted]
        matched_by = f"id column {id_col!r}"
    else:
        if len(frame) != test.n_samples:
            raise DataError(f"{path} has {len(frame)} rows and the held-out file {test.n_samples}: give one "
                            "prediction per held-out row, in the same order (or match them by an id column).")
        matched_by = "row order"
    probabilities = None
    if all(has_proba):
        probabilities = frame[proba_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(probabilities) | (probabilities < 0) | (probabilities > 1)
        off = np.abs(probabilities.sum(axis=1) - 1) > PROBA_SUM_TOL
        if bad.any() or off.any():
            row = int(np.flatnonzero(bad.any(axis=1) | off)[0])
            raise DataError(f"{path}: the {PROBA_PREFIX}<class> columns must be probabilities in [0, 1] summing to "
                            f"1 in every row; row {row + 1} holds {probabilities[row].tolist()}.")
    index = {name: i for i, name in enumerate(names)}
    if "y_pred" in frame.columns:
        predicted = _labels(frame["y_pred"], path).to_numpy()
        unknown = sorted({p for p in predicted if p not in index})
        if unknown:
            raise DataError(f"{path} predicts class(es) the data lacks: {', '.join(map(repr, unknown[:5]))} (the "
                            f"classes are {_list(names)}).")
        predicted = np.array([index[p] for p in predicted], dtype=np.int64)
    else:
        predicted = probabilities.argmax(axis=1)
    note = ""
    if probabilities is not None and "y_pred" in frame.columns:
        differ = int(np.count_nonzero(probabilities.argmax(axis=1) != predicted))
        if differ:
            note = (f"{path}: y_pred is not the most probable class in {differ} of {len(predicted)} rows (a threshold "
                    "other than the argmax?): y_pred is what is scored")
    return HeldOutPredictions(predicted, probabilities, matched_by, note)
