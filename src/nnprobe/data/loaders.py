"""Load a Dataset from a CSV or Parquet file, a scikit-learn shipped set, or a synthetic generator by name.

Every check on the user's table happens here, once, and raises a DataError whose one-line message names the
problem and the fix. Specs:

- ``path/to/table.csv`` or ``.parquet`` / ``.pq``, with ``target=COLUMN``;
- ``sklearn:breast_cancer``, ``sklearn:digits``, ``sklearn:wine``, ``sklearn:iris`` (shipped, no download);
- ``synth:NAME?key=value&key=value``, e.g. ``synth:gaussian?n=2000&d=240&k=4&seed=0``; names and keys are those
  of :mod:`nnprobe.data.synthetic` (gaussian, box, line, imbalanced).
"""

from __future__ import annotations

import csv
import inspect
import math
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd

from nnprobe.data import synthetic
from nnprobe.data.dataset import Dataset
from nnprobe.errors import DataError, closest

SKLEARN_SETS = ("breast_cancer", "digits", "wine", "iris")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def load(spec: str, *, target: str | None = None, min_classes: int = 2, id_col: str | None = None) -> Dataset:
    """The Dataset named by ``spec`` (see the module docstring); ``target`` names the class column of a file.

    ``min_classes``: the fewest classes a file may hold (2 for data to train on; 1 for a test file, which may
    hold rows of one class only). ``id_col``: a column of row ids, when the file has it: kept as the Dataset's
    ``ids``, not a feature.
    """
    spec = str(spec).strip()
    if spec.startswith("sklearn:"):
        return load_sklearn(spec.removeprefix("sklearn:"))
    if spec.startswith("synth:"):
        return load_synthetic(spec.removeprefix("synth:"))
    return load_table(spec, target=target, min_classes=min_classes, id_col=id_col)


def load_sklearn(name: str) -> Dataset:
    """One of scikit-learn's shipped data sets, by name."""
    import sklearn.datasets

    if name not in SKLEARN_SETS:
        raise DataError(
            f"unknown scikit-learn data set {name!r}: use one of {', '.join('sklearn:' + s for s in SKLEARN_SETS)}."
            + closest(name, SKLEARN_SETS)
        )
    bunch = getattr(sklearn.datasets, f"load_{name}")()
    features = [str(f) for f in getattr(bunch, "feature_names", [f"x{i}" for i in range(bunch.data.shape[1])])]
    classes = [str(c) for c in bunch.target_names]
    return Dataset(bunch.data, bunch.target, features, classes, f"sklearn:{name}")


def load_synthetic(text: str, generators=None, *, example: str = "synth:gaussian?n=2000&d=240&k=4"):
    """A synthetic set from ``NAME?key=value&...`` made by one of ``generators`` (name -> function of keyword
    arguments; default :data:`synthetic.GENERATORS`); unknown names and keys get a suggestion."""
    generators = synthetic.GENERATORS if generators is None else generators
    name, _, query = text.partition("?")
    generator = generators.get(name)
    if generator is None:
        raise DataError(
            f"unknown synthetic data set {name!r}: use one of {', '.join(generators)}, e.g. {example}."
            + closest(name, generators)
        )
    params = inspect.signature(generator).parameters
    kwargs: dict[str, float | int] = {}
    for key, raw in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key not in params:
            raise DataError(
                f"synth:{name} has no parameter {key!r}: its parameters are {', '.join(params)}."
                + closest(key, params)
            )
        kind = type(params[key].default)
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (kind is int and value != int(value)):
            raise DataError(f"synth:{name} parameter {key}={raw!r} must be {'an integer' if kind is int else 'a number'}.")
        kwargs[key] = int(value) if kind is int else value
    return generator(**kwargs)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        exists = path.exists()
    except OSError as exc:  # a name too long for the file system, a loop of links...
        raise DataError(f"data file path '{path}' cannot be used: {exc.strerror or exc}.") from None
    if not exists:
        raise DataError(f"data file '{path}' does not exist: check the path (relative paths start at {Path.cwd()}).")
    if path.is_dir():
        raise DataError(f"'{path}' is a folder, not a data file: give a .csv or .parquet file.")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(
            f"'{path}' is not a .csv or .parquet file: convert it, or use sklearn:NAME or synth:NAME for built-in data."
        )
    if path.stat().st_size == 0:
        raise DataError(f"data file '{path}' is empty: it needs a header row and at least one data row.")
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                header = next(csv.reader(fh), [])
            _reject_duplicate_columns(header, path)
            frame = pd.read_csv(path, encoding="utf-8-sig")
        else:
            import pyarrow.parquet as pq

            _reject_duplicate_columns(pq.read_schema(path).names, path)
            frame = pd.read_parquet(path)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"data file '{path}' is empty: it needs a header row and at least one data row.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"'{path}' is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}): "
                        "save it as UTF-8 and try again.") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read '{path}': {first}. Check that it is a valid {path.suffix} file.") from None
    if frame.shape[0] == 0:
        raise DataError(f"data file '{path}' has a header but no data rows: add rows.")
    return frame


def _reject_duplicate_columns(names: list[str], path: Path | str) -> None:
    seen, dups = set(), []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    if dups:
        raise DataError(
            f"'{path}' has duplicate column names {', '.join(repr(d) for d in dups)}: rename them so each is unique."
        )


def load_table(path_text: str, *, target: str | None, min_classes: int = 2, id_col: str | None = None) -> Dataset:
    """A CSV or Parquet file with class column ``target`` (and optionally an id column ``id_col``); all other
    columns must be numeric features."""
    path = Path(path_text).expanduser()
    frame = _read_table(path)
    return from_frame(frame, target=target, source=str(path), min_classes=min_classes, id_col=id_col)


def from_frame(frame: pd.DataFrame, *, target: str | None, source: str = "data frame",
               min_classes: int = 2, id_col: str | None = None) -> Dataset:
    """Validate a DataFrame and turn it into a classification Dataset with class column ``target``.

    Features must be numeric and finite in float32, the engine's precision (values beyond about 3.4e38 are
    refused, naming the columns); the target must hold class labels, at least ``min_classes`` of them.
    """
    columns = [str(c) for c in frame.columns]
    _reject_duplicate_columns(columns, source)
    frame = frame.set_axis(columns, axis=1)
    if target is None:
        raise DataError(f"{source}: say which column holds the classes with --target COLUMN (columns: "
                        f"{_list(columns)}).")
    if target not in columns:
        raise DataError(f"{source} has no column {target!r}." + (closest(target, columns) or "")
                        + f" Its columns are {_list(columns)}.")
    if frame.shape[0] == 0:
        raise DataError(f"{source} has no data rows: add rows.")
    ids = None
    if id_col is not None and id_col in columns and id_col != target:
        ids = read_ids(frame, id_col, source).to_numpy(dtype=object)
    features = [c for c in columns if c not in (target, id_col if ids is not None else None)]
    if not features:
        raise DataError(f"{source} has only the target column {target!r}: add feature columns.")
    bad = [c for c in features if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if bad:
        column = frame[bad[0]]
        text = column.notna() & pd.to_numeric(column, errors="coerce").isna()  # the cells that are not numbers
        example = (f" (e.g. {_label(column[text].iloc[0])!r} in {bad[0]!r}, row {int(np.argmax(text.to_numpy())) + 1})"
                   if text.any() else "")
        raise DataError(f"{source}: feature column(s) {_list(bad)} are not numeric{example}: encode them as numbers or "
                        "drop them.")
    X = frame[features].to_numpy(dtype=np.float64)
    _reject_non_finite(X, features, source, "missing or infinite value(s)", "Fill or drop them")
    with np.errstate(over="ignore"):  # overflow is what is checked here
        X32 = X.astype(np.float32)
    _reject_non_finite(X32, features, source, "value(s) beyond float32's range (about ±3.4e38, the precision "
                       "nnprobe computes in)", "Rescale those columns (e.g. to other units or a log scale)")
    y_raw = frame[target]
    if y_raw.isna().any():
        raise DataError(f"{source}: target column {target!r} has {int(y_raw.isna().sum())} missing value(s): "
                        "drop those rows or fill them.")
    if pd.api.types.is_float_dtype(y_raw) and not np.isfinite(y_raw.to_numpy()).all():
        raise DataError(f"{source}: target column {target!r} has {int((~np.isfinite(y_raw.to_numpy())).sum())} infinite "
                        "value(s): give a class label for every row.")
    if pd.api.types.is_float_dtype(y_raw) and not np.all(np.mod(y_raw.to_numpy(), 1) == 0):
        raise DataError(
            f"{source}: target column {target!r} holds non-integer numbers ({y_raw.nunique()} distinct values): "
            "nnprobe classifies, so give a column of class labels."
        )
    classes, y = np.unique(y_raw.map(_label).astype(str) if not pd.api.types.is_numeric_dtype(y_raw)
                           else y_raw.to_numpy(), return_inverse=True)
    class_names = [str(int(c)) if isinstance(c, float | np.floating) else str(c) for c in classes]
    if len(class_names) < min_classes:
        raise DataError(
            f"{source}: target column {target!r} has a single class ({class_names[0]!r}): a classifier needs at least "
            "two. Check the column or the rows selected."
        )
    return Dataset(X32, y, features, class_names, source, ids)


def as_text(series: pd.Series) -> pd.Series:
    """Values as text, whole floats without '.0': 7, 7.0 and '7' in different files agree (up to 2^53, where
    doubles stop holding every whole number; larger floats stay as Python writes them, e.g. 1e+39)."""
    text = series.astype(str)
    if pd.api.types.is_float_dtype(series):
        whole = ((np.mod(series, 1) == 0) & (np.abs(series) <= 2**53)).to_numpy()
        text[whole] = series[whole].astype(np.int64).astype(str)
    return text


def read_ids(frame: pd.DataFrame, id_col: str, source: str) -> pd.Series:
    """The id column as text; missing or blank ids and duplicates are errors."""
    columns = [str(c) for c in frame.columns]
    if id_col not in columns:
        raise DataError(f"{source} has no id column {id_col!r}.{closest(id_col, columns)} Its columns are "
                        f"{_list(columns)}; name the right one with the matching option.")
    raw = frame[frame.columns[columns.index(id_col)]]
    missing = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        raise DataError(f"{source}: column {id_col!r} has {len(rows)} missing or blank id(s) (data rows "
                        f"{', '.join(str(r + 1) for r in rows[:3])}{', ...' if len(rows) > 3 else ''}): give every "
                        "example an id, or drop those rows from both files.")
    ids = as_text(raw)
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise DataError(f"{source}: {len(dup)} id(s) appear more than once in column {id_col!r} (e.g. "
                        f"{', '.join(repr(d) for d in dup[:3])}): each example needs one row.")
    return ids


def _label(value) -> str:
    """A cell as text: bytes (from a Parquet binary column) decoded as UTF-8, with escapes where they are not."""
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def _reject_non_finite(X: np.ndarray, features: list[str], source: str, what: str, fix: str) -> None:
    """DataError counting the non-finite values of ``X`` per column, when there are any."""
    finite = np.isfinite(X)
    if finite.all():
        return
    per_col = (~finite).sum(axis=0)
    where = ", ".join(f"{features[j]!r} ({per_col[j]})" for j in np.flatnonzero(per_col)[:5])
    more = "" if np.count_nonzero(per_col) <= 5 else f" and {np.count_nonzero(per_col) - 5} more columns"
    raise DataError(f"{source} has {int((~finite).sum())} {what} in features: {where}{more}. {fix} before "
                    "running nnprobe.")


def _list(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
