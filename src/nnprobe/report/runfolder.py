"""The run folder: config.json, results.json, metrics.csv, PNG figures and report.html, written atomically.

A run folder appears whole by one rename, carries a manifest of the files nnprobe wrote, and replaces only a folder
that nnprobe wrote itself; what an interrupted run leaves behind is put right by the next run into the same folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import hashlib
import io
import itertools
import json
import math
import os
import platform
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnprobe.errors import ConfigError

RESULTS_SCHEMA = "nnprobe.results/1"
MANIFEST = ".nnprobe-manifest.json"  # in every run folder: each file nnprobe wrote, with its size and sha256
MANIFEST_SCHEMA = "nnprobe.manifest/1"
STALE_SECONDS = 600  # a leftover of an interrupted write this old is abandoned, whoever its writer was
SHOWN_FOREIGN = 5  # foreign files named in a refusal; the rest are counted
# Hidden folders of a write in progress beside the run folder NAME: ".NAME.TOKEN.partial" (the new run being
# staged) and ".NAME.TOKEN.old" (the earlier run moved aside). TOKEN also matches the staging names of earlier
# nnprobe versions (tempfile.mkdtemp), so that their leftovers are recovered too.
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<token>[a-z0-9_]{8})\.(?P<kind>partial|old)")
# The files that nnprobe versions without a manifest wrote into a run folder.
_LEGACY_FILE = re.compile(r"config\.json|results\.json|metrics\.csv|report\.html|.+\.(png|gif|npz)")
_STAGING_EXTRA = len("..TOKEN123.partial")  # bytes that ".NAME.TOKEN.partial" adds to NAME


def default_out(command: str, now: dt.datetime | None = None) -> Path:
    """``runs/<command>-<YYYYmmdd-HHMMSS>`` in the current folder, or with ``-2``, ``-3``... when that is taken.

    A default name never replaces a run: :func:`write_run` with ``fresh=True`` takes the next free name if a run
    started in the same second lands there first.
    """
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return next(path for path in _numbered(Path("runs") / f"{command}-{stamp}") if not os.path.lexists(path))


def _numbered(path: Path):
    """``path``, then ``path-2``, ``path-3``, ..."""
    yield path
    for k in itertools.count(2):
        yield path.with_name(f"{path.name}-{k}")


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
    for name in ("nnprobe", "torch", "numpy", "scipy", "scikit-learn", "pandas", "matplotlib", "joblib", "skops"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def dumps(obj) -> str:
    """Indented JSON of ``obj`` after :func:`to_jsonable` (NaN never reaches the file)."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot take a run folder, before any work is done.

    Parameters
    ----------
    out : Path
        The run folder to write: new, an empty folder, or a run folder that nnprobe wrote (which is then replaced
        whole). A symbolic link stands for the folder it points to.

    Raises
    ------
    ConfigError
        When ``out`` is a file, a dangling link, the current folder or one of its parents, a mount point, holds
        files that nnprobe did not write, or when nothing can be written where it would go (the check creates and
        removes a staging folder there). Nothing is left behind by a refusal.

    Notes
    -----
    Leftovers of interrupted writes into the same parent folder are put right first (see :func:`write_run`).
    Missing parent folders are not created here but by :func:`write_run`.
    """
    _prepare(Path(out))


def write_run(out: Path, files: Mapping[str, bytes | str], *, fresh: bool = False) -> list[Path]:
    """Write every file of a run so that no half-written result is ever visible.

    The files and the manifest go into a staging folder ``.NAME.TOKEN.partial`` beside ``out``, which then takes
    ``out``'s place by a rename. An earlier run in ``out`` is first moved aside to ``.NAME.TOKEN.old`` and deleted
    once the new run is in place, so no stale file of it mixes with the new run. SIGINT and SIGTERM are held while
    this runs: one that arrives before the new run is in place abandons it (the parent folder is left as it was),
    and the signal then reaches its own handler (for nnprobe's CLI, a KeyboardInterrupt).

    What a killed writer (SIGKILL, power loss) leaves behind is put right by the next :func:`check_out` or
    ``write_run`` into the same parent folder. A group of leftovers ``.NAME.TOKEN.*`` is abandoned when the
    writer recorded in its manifest (host name and process id) ran on this host and is no longer running, or when
    the newest of its folders was last modified more than ``STALE_SECONDS`` ago. Then an earlier run that survives
    only as ``.NAME.TOKEN.old`` is renamed back to NAME if NAME does not exist, and deleted if NAME exists and the
    folder holds nothing but nnprobe's files; the staging folder is deleted if it holds nothing but the files its
    manifest lists. A folder is only ever touched when it carries nnprobe's marker: the manifest, or for earlier
    nnprobe versions a config.json with "command" and "versions" (an empty folder holds nothing to lose).

    Parameters
    ----------
    out : Path
        The run folder, checked as in :func:`check_out`; missing parent folders are created.
    files : mapping of str to bytes or str
        File name (no folder part) -> contents; text is written as UTF-8.
    fresh : bool
        ``out`` is a name nnprobe chose (:func:`default_out`): never replace anything there; if another run took
        it meanwhile, land on the next free name ``out-2``, ``out-3``...

    Returns
    -------
    list of Path
        The paths of the run's files under the folder they landed in (``out``, or its real path when ``out`` is a
        link, or the next free name with ``fresh``), the manifest last.

    Raises
    ------
    ConfigError
        When ``out`` is refused by :func:`check_out`, or writing fails (the parent folder is then left as it was).
    """
    out = Path(out)
    # Text as UTF-8; a lone surrogate (an undecodable byte of a file name quoted in a report) as a \udcff escape.
    contents = {name: data.encode("utf-8", "backslashreplace") if isinstance(data, str) else bytes(data)
                for name, data in files.items()}
    for name in contents:
        if name in ("", ".", "..", MANIFEST) or Path(name).name != name:
            raise ValueError(f"run file name {name!r} must be a plain file name other than {MANIFEST}")
    target = _prepare(out)
    with _signals_held() as arrived:
        made: list[Path] = []
        staging = old = None
        try:
            _make_parents(target.parent, made)
            staging, token = _new_staging(target.parent, target.name, contents)
            for name, data in contents.items():
                if arrived():
                    raise KeyboardInterrupt  # abandon the run now; the signal is delivered once the parent is tidy
                (staging / name).write_bytes(data)
            if arrived():
                raise KeyboardInterrupt
            if fresh:
                target = _rename_to_free_name(staging, target)
            else:
                if os.path.lexists(target):
                    old = target.parent / f".{target.name}.{token}.old"
                    os.rename(target, old)
                os.rename(staging, target)
        except BaseException as exc:
            _undo(target, staging, old, made)
            if isinstance(exc, OSError):
                raise ConfigError(f"cannot write the run folder {out}: {exc.strerror or exc}; the folder was left as "
                                  "it was.") from None
            raise
        if old is not None:
            with contextlib.suppress(OSError):  # the new run is in place; the next run deletes what is left
                _remove_folder(old)
    return [target / name for name in contents] + [target / MANIFEST]


def _rename_to_free_name(staging: Path, target: Path) -> Path:
    """Rename ``staging`` to ``target``, or to the first of ``target-2``, ``target-3``... that is free; the rename
    itself fails where a run already stands, so two runs that picked the same name both land."""
    for candidate in _numbered(target):  # endless: returns at the first free name
        try:
            os.rename(staging, candidate)
            return candidate
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM for the block; yields a function that tells whether one arrived.

    On leaving, the previous handlers come back and each signal that arrived is raised again, so that it reaches
    them (a KeyboardInterrupt, or the default action). Only the main thread can set handlers; elsewhere nothing is
    held, and no signal can interrupt the block there anyway (Python runs handlers in the main thread).
    """
    arrived: list[int] = []
    holding = True
    previous = {}

    def hold(signum, frame):
        if holding:
            arrived.append(signum)
        else:  # the block is over but this handler is not replaced yet: act as the one it stands in for
            _deliver(signum, previous[signum], frame)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if handler is not None and handler != signal.SIG_IGN:  # None: a handler set outside Python, left as is
                previous[signum] = signal.signal(signum, hold)
    try:
        yield lambda: bool(arrived)
    finally:
        holding = False
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(arrived):
            signal.raise_signal(signum)


def _deliver(signum: int, handler, frame) -> None:
    """Give signal ``signum`` to ``handler``: call it, or let the default action happen."""
    if callable(handler):
        handler(signum, frame)
    else:
        signal.signal(signum, handler)
        signal.raise_signal(signum)


def _prepare(out: Path) -> Path:
    """Check ``out`` as :func:`check_out` describes and put right leftovers beside it; returns its real path.

    Only the probe and the recovery hold signals: the rest only reads, so Ctrl-C stops it at once.
    """
    try:
        return _prepare_checked(Path(os.path.expanduser(out)))
    except OSError as exc:  # a path too long for the file system, a current folder deleted meanwhile, ...
        raise ConfigError(f"--out {out} cannot be used: {(exc.strerror or str(exc)).lower()}. Give a shorter path, "
                          "in a folder that exists.") from None


def _prepare_checked(out: Path) -> Path:
    if _LEFTOVER.fullmatch(out.name):
        raise ConfigError(f"--out {out}: names like '.NAME.TOKEN.partial' and '.NAME.TOKEN.old' are those of "
                          "nnprobe's staging folders, which a later run may clean up: choose another name.")
    if os.path.islink(out) and not os.path.exists(out):
        raise ConfigError(f"--out {out} is a symbolic link to {os.readlink(out)}, which does not exist: give a "
                          "folder, or create the one the link points to.")
    target = Path(os.path.realpath(out))
    shown = f"{out} (a link to {target})" if os.path.islink(out) else str(out)
    cwd = Path(os.path.realpath(os.getcwd()))
    if target == cwd or target in cwd.parents:
        raise ConfigError(f"--out {shown} is the current folder or one of its parents, which a run folder would "
                          "replace: give a folder below it, e.g. runs/NAME.")
    if os.path.exists(target) and not target.is_dir():
        kind = "a file" if target.is_file() else "a special file"
        raise ConfigError(f"--out {shown} is {kind}, not a folder: give a new folder, an empty one, or an earlier "
                          "nnprobe run folder.")
    if os.path.ismount(target):
        raise ConfigError(f"--out {shown} is a mount point, which a run folder cannot replace: give a folder "
                          "inside it.")
    ancestor, missing = target.parent, []
    while not os.path.lexists(ancestor):  # the first folder that exists; the rest is created when writing
        missing.insert(0, ancestor.name)
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"--out {shown} goes through {ancestor}, which is a file, not a folder: give an --out "
                          "under a folder.")
    _probe(shown, ancestor, missing, target.name)
    if not missing:
        _recover(target.parent)
    if target.is_dir():
        try:
            foreign = _foreign_files(target)
        except OSError as exc:
            raise ConfigError(f"--out {shown} cannot be read ({(exc.strerror or str(exc)).lower()}), so nnprobe cannot "
                              "tell whether it may replace it: choose another --out.") from None
        if foreign and not os.path.lexists(target / MANIFEST) and _nnprobe_config(target):
            raise ConfigError(f"--out {shown} is a run folder of an nnprobe version without a manifest, so nnprobe "
                              "cannot tell its files from files added since: delete it (after moving out what you "
                              "keep) or choose another --out.")
        if foreign:
            named = ", ".join(foreign[:SHOWN_FOREIGN])
            if len(foreign) > SHOWN_FOREIGN:
                named += f" and {len(foreign) - SHOWN_FOREIGN} more"
            raise ConfigError(f"--out {shown} holds files that nnprobe did not write or that changed since: {named}. "
                              "nnprobe replaces only its own run folders whole: choose another --out, or move those "
                              "files out of it.")
    return target


def _probe(shown: str, ancestor: Path, missing: list[str], name: str) -> None:
    """Create and remove a staging folder for ``name`` in ``ancestor``, the first existing folder above the run
    folder (``missing`` are the folders in between), so that a run folder that cannot be written is refused now."""
    try:
        name_max = os.pathconf(ancestor, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255  # the common limit, where the file system does not say
    for part in missing:
        if len(os.fsencode(part)) > name_max:
            raise ConfigError(f"--out {shown}: the folder name {part!r} is longer than the {name_max} bytes this "
                              "file system allows: give a shorter name.")
    try:
        with _signals_held():
            probe, _ = _new_staging(ancestor, name, {})
            _remove_folder(probe)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG and len(os.fsencode(name)) + _STAGING_EXTRA > name_max:
            raise ConfigError(f"--out {shown}: the name {name!r} is too long; this file system allows {name_max} "
                              f"bytes and nnprobe's hidden staging folder beside the run folder adds {_STAGING_EXTRA}: "
                              f"give a name of at most {name_max - _STAGING_EXTRA} bytes.") from None
        reasons = {errno.ENAMETOOLONG: "the path is too long", errno.EROFS: "the file system is read-only",
                   errno.ENOENT: "this file system does not take new folders"}
        reason = reasons.get(exc.errno, (exc.strerror or str(exc)).lower())
        raise ConfigError(f"--out {shown} cannot be written: {reason} in {ancestor}. Choose an --out in a folder you "
                          "can write to.") from None


def _new_staging(parent: Path, name: str, contents: Mapping[str, bytes]) -> tuple[Path, str]:
    """A new staging folder ``.NAME.TOKEN.partial`` in ``parent`` holding the manifest of ``contents``, and TOKEN.

    The manifest is written first, so that a staging folder left by a killed writer carries nnprobe's marker and
    the writer's identity. The folder gets the permissions of the user's umask, like any folder they make.
    """
    for _ in range(100):
        token = secrets.token_hex(4)
        staging = parent / f".{name}.{token}.partial"
        try:
            os.mkdir(staging, 0o777)
        except FileExistsError:
            continue
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "writer": {"host": socket.gethostname(), "pid": os.getpid(), "token": token},
            "files": {file: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                      for file, data in sorted(contents.items())},
        }
        (staging / MANIFEST).write_bytes(json.dumps(manifest, indent=2).encode("utf-8") + b"\n")
        return staging, token
    raise FileExistsError(errno.EEXIST, "no free staging folder name", str(parent))


def _make_parents(folder: Path, made: list[Path]) -> None:
    """Create ``folder`` and the folders above it that are missing, appending each to ``made`` as it is created
    (outermost first), so that a failure part way still knows what to remove."""
    missing = []
    while not os.path.lexists(folder):
        missing.insert(0, folder)
        folder = folder.parent
    for path in missing:
        os.mkdir(path)
        made.append(path)


def _undo(target: Path, staging: Path | None, old: Path | None, made: list[Path]) -> None:
    """Put the parent folder back as it was before a write that failed or was interrupted, as far as possible."""
    with contextlib.suppress(OSError):
        if old is not None and not os.path.lexists(target):
            os.rename(old, target)  # the new run did not land: the earlier one comes back
    with contextlib.suppress(OSError):
        if staging is not None:
            _remove_folder(staging)
    for path in reversed(made):
        with contextlib.suppress(OSError):
            path.rmdir()


def _remove_folder(folder: Path) -> None:
    """Delete a folder of plain files that nnprobe wrote, its markers last, so that a deletion cut short leaves a
    folder that is still recognised as nnprobe's."""
    markers = [folder / MANIFEST, folder / "config.json"]
    with os.scandir(folder) as entries:
        paths = [Path(entry.path) for entry in entries]
    for path in paths:
        if path not in markers:
            os.unlink(path)
    for marker in markers:
        marker.unlink(missing_ok=True)
    folder.rmdir()


def _recover(parent: Path) -> None:
    """Put right what interrupted writes left in ``parent``: restore or delete a moved-aside earlier run, delete
    staging folders (see :func:`write_run` for the rule). Best effort: what cannot be changed is left as it is."""
    groups: dict[tuple[str, str], dict[str, Path]] = {}
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in entries:
            match = _LEFTOVER.fullmatch(entry.name)
            if match and entry.is_dir(follow_symlinks=False):
                groups.setdefault((match["name"], match["token"]), {})[match["kind"]] = Path(entry.path)
    for (name, token), leftovers in groups.items():
        final = parent / name
        with contextlib.suppress(OSError), _signals_held():
            if not _abandoned(final, token, leftovers):
                continue
            old = leftovers.get("old")
            if old is not None and not os.path.lexists(final) and (_is_empty(old) or _has_marker(old)):
                os.rename(old, final)  # the earlier run was moved aside and the new one never landed
            elif old is not None and os.path.lexists(final) and not _foreign_files(old):
                _remove_folder(old)  # the new run landed; the earlier one was being deleted
            staging = leftovers.get("partial")
            if staging is not None and _is_staging(staging):
                _remove_folder(staging)


def _abandoned(final: Path, token: str, leftovers: dict[str, Path]) -> bool:
    """Whether the write that left ``leftovers`` is over: its writer is gone, or they are ``STALE_SECONDS`` old."""
    for folder in (leftovers.get("partial"), final):  # the staging folder, or the run it became, names the writer
        manifest = _read_manifest(folder) if folder is not None else None
        writer = manifest.get("writer") if manifest is not None else None
        if isinstance(writer, dict) and writer.get("token") == token:
            if writer.get("host") == socket.gethostname() and not _running(writer.get("pid")):
                return True
            break
    newest = max(folder.lstat().st_mtime for folder in leftovers.values())
    return time.time() - newest > STALE_SECONDS


def _running(pid) -> bool:
    """Whether process ``pid`` of this host still runs (a process id reused since counts as running)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if os.name != "posix":
        return True  # no harmless signal 0 to ask with: leave it to the age rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _read_manifest(folder: Path) -> dict | None:
    """The manifest of ``folder`` when it has a readable one of this schema, else None."""
    try:
        doc = json.loads((folder / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != MANIFEST_SCHEMA or not isinstance(doc.get("files"), dict):
        return None
    return doc


def _nnprobe_config(folder: Path) -> bool:
    """Whether ``folder`` holds a config.json that nnprobe wrote (a JSON object with "command" and "versions")."""
    try:
        doc = json.loads((folder / "config.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "command" in doc and "versions" in doc


def _has_marker(folder: Path) -> bool:
    """Whether ``folder`` carries nnprobe's marker: a manifest, or nnprobe's config.json (earlier versions)."""
    return _read_manifest(folder) is not None or _nnprobe_config(folder)


def _is_empty(folder: Path) -> bool:
    """Whether ``folder`` has no entries at all."""
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def _is_staging(folder: Path) -> bool:
    """Whether ``folder`` holds nothing but the plain files of an nnprobe staging folder (complete or not)."""
    entries = list(os.scandir(folder))
    if not all(entry.is_file(follow_symlinks=False) for entry in entries):
        return False
    names = {entry.name for entry in entries}
    manifest = _read_manifest(folder)
    if manifest is not None:
        return names <= set(manifest["files"]) | {MANIFEST}
    return not names or (_nnprobe_config(folder) and all(_LEGACY_FILE.fullmatch(name) for name in names))


def _foreign_files(folder: Path) -> list[str]:
    """The files in ``folder`` that nnprobe did not write there, or that changed since, sorted, as paths relative to
    it (an empty subfolder as ``NAME/``).

    A folder with a manifest holds nothing foreign when each other entry is a plain file that the manifest lists
    with the same size and sha256 (listed files may be missing). Without a readable manifest nothing vouches for
    any file: in a run folder of an nnprobe version before manifests, a user's `my_figure.png` would look like
    nnprobe's own.
    """
    manifest = _read_manifest(folder)
    if manifest is not None:
        def ours(entry: os.DirEntry) -> bool:
            if entry.name == MANIFEST:
                return True
            listed = manifest["files"].get(entry.name)
            return (isinstance(listed, dict) and listed.get("size") == entry.stat().st_size
                    and listed.get("sha256") == _sha256(entry.path))
    else:
        def ours(entry: os.DirEntry) -> bool:
            return False
    foreign = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            foreign.extend(_all_below(Path(entry.path), entry.name + "/"))
        elif not entry.is_file(follow_symlinks=False) or not ours(entry):
            foreign.append(entry.name)
    return foreign


def _all_below(folder: Path, prefix: str) -> list[str]:
    """Every entry below ``folder`` as ``prefix + relative path``; an empty (or unreadable) folder as itself."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return [prefix]
    found = []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            found.extend(_all_below(Path(entry.path), prefix + entry.name + "/"))
        else:
            found.append(prefix + entry.name)
    return found or [prefix]


def _sha256(path: str) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def figure_png(fig, *, dpi: int | None = None) -> bytes:
    """The PNG bytes of a matplotlib figure (which is then closed), drawn at ``dpi`` (default ``figures.DPI``: twice
    the pixels that report.html shows it at, so that it stays sharp on high-density screens), then made smaller
    without a visible change (``figures.compact_png``). The dpi is recorded in the PNG, where the page reads it."""
    import matplotlib.pyplot as plt

    from nnprobe.report.figures import DPI, compact_png, plain_tick_labels

    plain_tick_labels(fig)  # log axes: 10⁸, not the raw mathtext that the report style would show
    buf = io.BytesIO()
    # compress_level 1: this PNG is decoded again at once by compact_png, which writes the compressed one
    fig.savefig(buf, format="png", dpi=dpi or DPI, bbox_inches="tight", pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return compact_png(buf.getvalue())
