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

from nnprobe.errors import ConfigError

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


def dumps(obj) -> str:
    """Indented JSON of ``obj`` after :func:`to_jsonable` (NaN never reaches the file)."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot take a run folder, before any work is done."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder (new, empty, or an earlier nnprobe run).")
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").exists():
        raise ConfigError(f"--out {out} already holds other files: give a new or empty folder (an earlier nnprobe run "
                          "folder is replaced whole).")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the parent folder of --out {out}: {exc.strerror}.") from None
    if not os.access(out.parent, os.W_OK):
        raise ConfigError(f"cannot write into {out.parent}: choose an --out in a folder you can write to.")


def write_run(out: Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write every file of a run so that no half-written result is ever visible.

    The files go into a staging folder beside ``out``, which then takes ``out``'s place by a rename. An earlier
    run in ``out`` is moved aside first and deleted after, so no stale file of it mixes with the new run; if
    anything fails, ``out`` is left as it was.
    """
    out = Path(out)
    check_out(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    old = out.parent / f".{out.name}.{staging.name.rsplit('.', 2)[-2]}.old"
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        if out.exists():
            os.rename(out, old)
        os.rename(staging, out)
    except OSError as exc:
        raise ConfigError(f"cannot write the run folder {out}: {exc.strerror or exc}.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists():
            if out.exists():
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(old, out)  # the new run did not land: put the earlier one back
    return [out / name for name in files]


def figure_png(fig) -> bytes:
    """The PNG bytes of a matplotlib figure (which is then closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
