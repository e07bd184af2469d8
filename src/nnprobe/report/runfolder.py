"""The run folder: config.json, results.json, metrics.csv, PNG figures and report.html, written atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

RESULTS_SCHEMA = "nnprobe.results/1"


def default_out(command: str, now: dt.datetime | None = None) -> Path:
    """``runs/<command>-<YYYYmmdd-HHMMSS>`` in the current folder."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{command}-{stamp}"


def to_jsonable(obj):
    """Plain JSON types from dataclasses, numpy arrays and scalars, paths and tuples; NaN and inf become null.

    Dataclass fields marked ``field(metadata={"json": False})`` (bulky arrays kept in other files) are left out.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.metadata.get("json", True)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries whose numbers a run depends on."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("nnprobe", "torch", "numpy", "scipy", "scikit-learn", "pandas", "matplotlib"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(obj) -> str:
    """Indented JSON of ``obj`` after :func:`to_jsonable` (NaN never reaches the file)."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"


def write_run(out: Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write every file of a run into ``out`` so that no half-written result is ever visible.

    All files are first written to a staging folder beside ``out``; then each is moved into ``out`` by an
    atomic rename, ``results.json`` last, so a reader who sees results.json sees a complete run.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        out.mkdir(parents=True, exist_ok=True)
        names = sorted(files, key=lambda n: n == "results.json")
        for name in names:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in files]


def figure_png(fig) -> bytes:
    """The PNG bytes of a matplotlib figure (which is then closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
