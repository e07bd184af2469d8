"""Tests of the run folder: atomic replacement, the manifest, refusals of an --out that cannot take a run, the
user's permissions, and recovery from interrupted and killed writes."""

import errno
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnprobe.errors import ConfigError
from nnprobe.report.runfolder import MANIFEST, check_out, to_jsonable, write_run

# config.json as nnprobe writes it (and as versions before the manifest wrote it, without "schema").
CONFIG = json.dumps({"schema": "nnprobe.config/1", "command": "memorize", "options": {}, "versions": {"torch": "2"}})
LEGACY_CONFIG = json.dumps({"command": "memorize", "options": {}, "versions": {"torch": "2"}})
RUN = {"config.json": CONFIG, "results.json": '{"old": 1}', "metrics.csv": "epoch,value\n1,0.5\n",
       "loss.png": b"\x89PNG old", "points.npz": b"old points"}
NEW = {"config.json": CONFIG, "results.json": '{"new": 1}'}
TWENTY_MINUTES = 20 * 60


def listing(folder: Path) -> list[str]:
    """Every entry below ``folder``, hidden ones included, as sorted relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def contents(folder: Path) -> dict[str, bytes]:
    """File name -> bytes of each file in ``folder``."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def as_bytes(files: dict) -> dict[str, bytes]:
    """``files`` with text encoded as write_run encodes it."""
    return {name: data.encode() if isinstance(data, str) else data for name, data in files.items()}


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def set_writer(run: Path, pid: int, token: str) -> None:
    """Make ``run``'s manifest say that process ``pid`` of this host wrote it through staging token ``token``."""
    manifest = json.loads((run / MANIFEST).read_text())
    manifest["writer"] = {"host": socket.gethostname(), "pid": pid, "token": token}
    (run / MANIFEST).write_text(json.dumps(manifest))


def age(*folders: Path, seconds: float = TWENTY_MINUTES) -> None:
    """Set the modification time of ``folders`` to ``seconds`` ago."""
    past = time.time() - seconds
    for folder in folders:
        os.utime(folder, (past, past))


def test_to_jsonable_handles_numpy_and_non_finite():
    doc = to_jsonable({"a": np.float32(0.5), "b": np.array([1, 2]), "c": float("nan"), "d": (np.int64(3), None),
                       "e": np.bool_(True), "f": float("inf")})
    assert doc == {"a": 0.5, "b": [1, 2], "c": None, "d": [3, None], "e": True, "f": None}
    json.dumps(doc, allow_nan=False)


# --- the manifest and what may be replaced ---------------------------------------------------------------------

def test_manifest_lists_each_file_with_its_size_and_sha256(tmp_path):
    paths = write_run(tmp_path / "run", RUN)
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    expected = {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                for name, data in as_bytes(RUN).items()}
    assert manifest["schema"] == "nnprobe.manifest/1" and manifest["files"] == expected
    assert paths == [tmp_path / "run" / name for name in RUN] + [tmp_path / "run" / MANIFEST]


def test_an_earlier_run_is_replaced_whole(tmp_path):
    out = tmp_path / "run"
    write_run(out, RUN)
    write_run(out, NEW)
    assert listing(out) == sorted([MANIFEST, "config.json", "results.json"])  # no stale points.npz of the old run
    assert json.loads((out / "results.json").read_text()) == {"new": 1}
    assert listing(tmp_path) == ["run", *(f"run/{name}" for name in listing(out))]  # nothing hidden left beside


def test_files_added_to_an_earlier_run_are_kept(tmp_path):
    out = tmp_path / "run"
    write_run(out, RUN)
    (out / "train.py").write_text("print('mine')")
    (out / "data").mkdir()
    (out / "data" / "labels.csv").write_text("y\n1\n")
    (out / "my_notes.md").write_text("notes")
    (out / "empty").mkdir()
    before = listing(tmp_path)
    for attempt in (check_out, lambda path: write_run(path, NEW)):
        with pytest.raises(ConfigError, match=r"did not write.*: data/labels\.csv, empty/, my_notes\.md, train\.py\. "
                                              r".*choose another --out, or move those files"):
            attempt(out)
    assert listing(tmp_path) == before  # the user's files and the run are untouched
    assert (out / "data" / "labels.csv").read_text() == "y\n1\n" and (out / "results.json").read_text() == '{"old": 1}'


def test_a_file_changed_since_the_run_is_foreign(tmp_path):
    out = tmp_path / "run"
    write_run(out, RUN)
    (out / "results.json").write_text('{"old": 2}')  # same size, other bytes: only the sha256 tells
    with pytest.raises(ConfigError, match=r"changed since: results\.json\."):
        check_out(out)
    os.symlink(out / "config.json", out / "loss2.png")  # a link is never nnprobe's, whatever its name
    with pytest.raises(ConfigError, match=r"loss2\.png, results\.json\."):
        check_out(out)


def test_the_refusal_names_the_first_five_foreign_files_and_counts_the_rest(tmp_path):
    for i in range(8):
        (tmp_path / f"mine{i}.txt").write_text("x")
    named = r": mine0\.txt, mine1\.txt, mine2\.txt, mine3\.txt, mine4\.txt and 3 more\. "
    with pytest.raises(ConfigError, match=named):
        check_out(tmp_path)


def test_a_run_of_an_earlier_version_without_manifest_is_refused(tmp_path):
    # Nothing can tell nnprobe's loss.png from a user's my_figure.png added since: only a manifest can vouch.
    out = tmp_path / "run"
    out.mkdir()
    legacy = {"config.json": LEGACY_CONFIG, "results.json": "{}", "metrics.csv": "a\n", "report.html": "<p>",
              "loss.png": b"png", "my_figure.png": b"the user's own"}
    for name, data in as_bytes(legacy).items():
        (out / name).write_bytes(data)
    with pytest.raises(ConfigError, match="an nnprobe version without a manifest"):
        write_run(out, NEW)
    assert contents(out) == as_bytes(legacy)  # untouched


@pytest.mark.parametrize(("files", "named"), [
    ({"config.json": '{"lr": 0.1}', "results.json": "{}"}, "config.json, results.json"),  # config.json of another tool
    ({"results.json": "{}"}, "results.json"),  # no config.json: nothing says the folder is nnprobe's
    ({"config.json": CONFIG, MANIFEST: "{not json"}, f"{MANIFEST}, config.json"),  # a broken manifest
])
def test_a_folder_that_is_not_verifiably_nnprobes_is_refused(tmp_path, files, named):
    out = tmp_path / "run"
    out.mkdir()
    for name, data in files.items():
        (out / name).write_text(data)
    with pytest.raises(ConfigError, match=f"did not write or that changed since: {named}\\."):
        write_run(out, NEW)
    assert {p.name: p.read_text() for p in out.iterdir()} == files  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_empty_folder_takes_the_run(tmp_path):
    (tmp_path / "run").mkdir()
    write_run(tmp_path / "run", NEW)
    assert json.loads((tmp_path / "run" / "results.json").read_text()) == {"new": 1}


def test_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_out(tmp_path / "file")
    with pytest.raises(ConfigError, match="is a special file, not a folder"):
        check_out(Path(os.devnull))


# --- permissions -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_the_run_folder_takes_the_users_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_run(tmp_path / "new" / "run", NEW)
    finally:
        os.umask(previous)
    # as `mkdir` and `touch` would make them (a staging folder from mkdtemp would be 0700: owner only)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "new" / "run").stat().st_mode & 0o777 == 0o777 & ~umask
    for path in (tmp_path / "new" / "run").iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


# --- an --out where nothing can be written: refused up front, nothing left behind --------------------------------

@pytest.mark.parametrize(("out", "reason"), [
    ("/proc/nnprobe-test/run", "this file system does not take new folders in /proc"),
    ("/sys/nnprobe-test", "in /sys"),
])
def test_a_special_file_system_is_refused(out, reason):
    mount = Path(out).parents[-2]
    if not os.path.ismount(mount):
        pytest.skip(f"no {mount} file system here")
    with pytest.raises(ConfigError, match=f"--out {out} cannot be written: .*{reason}"):
        check_out(Path(out))


def test_a_read_only_file_system_is_refused(tmp_path, monkeypatch):
    def read_only(path, mode=0o777, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(os, "mkdir", read_only)  # what mkdir says on a read-only mount
    with pytest.raises(ConfigError, match=r"cannot be written: the file system is read-only in "):
        check_out(tmp_path / "run")


def test_a_parent_that_is_not_writable_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root writes into any folder: mkdir answers as it does for anyone else there
        real_mkdir = os.mkdir

        def denied(path, mode=0o777, **kwargs):
            if Path(path).parent == locked:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_mkdir(path, mode, **kwargs)

        monkeypatch.setattr(os, "mkdir", denied)
    try:
        with pytest.raises(ConfigError, match=r"cannot be written: permission denied in .*locked"):
            check_out(locked / "run")
    finally:
        locked.chmod(0o700)


def test_a_name_that_leaves_no_room_for_the_staging_folder_is_refused(tmp_path):
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")  # 255 on most file systems
    out = tmp_path / "missing" / ("a" * (name_max - 5))  # fits the file system; the staging name does not
    with pytest.raises(ConfigError, match=rf"too long; .* give a name of at most {name_max - 18} bytes\."):
        check_out(out)
    with pytest.raises(ConfigError, match=f"longer than the {name_max} bytes"):
        check_out(tmp_path / ("b" * (name_max + 1)) / "run")
    assert listing(tmp_path) == []  # the missing parent was not created for the check


def test_a_path_through_a_file_is_refused(tmp_path):
    (tmp_path / "passwd").write_text("x")
    with pytest.raises(ConfigError, match=r"goes through .*passwd, which is a file"):
        check_out(tmp_path / "passwd" / "x" / "run")
    assert listing(tmp_path) == ["passwd"]


def test_the_current_folder_and_its_parents_are_refused(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    for out in (".", "..", str(tmp_path / "work"), "/"):
        with pytest.raises(ConfigError, match="is the current folder or one of its parents"):
            check_out(Path(out))


def test_a_refused_write_leaves_nothing_behind(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError):
        write_run(tmp_path / "mine", NEW)
    with pytest.raises(ValueError, match="plain file name"):
        write_run(tmp_path / "new" / "run", {"sub/x.txt": "x"})
    assert listing(tmp_path) == ["mine", "mine/notes.txt"]


# --- symbolic links ----------------------------------------------------------------------------------------------

def test_a_link_to_a_run_keeps_pointing_at_the_new_run(tmp_path):
    write_run(tmp_path / "run1", RUN)
    (tmp_path / "latest").symlink_to("run1")
    write_run(tmp_path / "latest", NEW)
    assert os.readlink(tmp_path / "latest") == "run1"  # the link itself was neither replaced nor renamed
    assert json.loads((tmp_path / "latest" / "results.json").read_text()) == {"new": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run1"]


def test_a_dangling_link_is_refused(tmp_path):
    (tmp_path / "latest").symlink_to("nowhere")
    with pytest.raises(ConfigError, match=r"is a symbolic link to nowhere, which does not exist"):
        check_out(tmp_path / "latest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"] and not (tmp_path / "nowhere").exists()


# --- interrupts: the parent folder holds the earlier run or the new one, whole, and nothing else ----------------

def test_an_interrupt_raised_while_writing_leaves_the_parent_as_it_was(tmp_path, monkeypatch):
    write_run(tmp_path / "run", RUN)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real_write = Path.write_bytes

    def write_then_fail(self, data):
        if self.name == "results.json":
            raise KeyboardInterrupt  # the user presses Ctrl-C halfway through writing the files
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path / "run", NEW)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path / "new" / "run", NEW)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder, no created parent "new"


@pytest.mark.parametrize(("step", "lands"), [
    ("write", False),  # between two files: the run is abandoned
    ("aside", True),  # the earlier run was just moved aside: the new one still lands, whole
    ("land", True),  # the new run just took the place of the earlier one
    ("delete", True),  # while the earlier run is deleted
])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_step_ends_with_one_whole_run(tmp_path, monkeypatch, step, lands, signum):
    out = tmp_path / "run"
    write_run(out, RUN)
    real_write, real_rename, real_unlink = Path.write_bytes, os.rename, os.unlink

    def write_bytes(self, data):
        real_write(self, data)
        if step == "write" and self.name == "results.json":
            signal.raise_signal(signum)

    def rename(src, dst):
        real_rename(src, dst)
        if (step, Path(dst).suffix) in (("aside", ".old"), ("land", "")):
            signal.raise_signal(signum)

    def unlink(path, *args, **kwargs):
        real_unlink(path, *args, **kwargs)
        if step == "delete" and str(path).endswith(".old/points.npz"):
            signal.raise_signal(signum)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "unlink", unlink)
    # SIGTERM as nnprobe's CLI handles it: a KeyboardInterrupt in the main thread
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            write_run(out, NEW)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert contents(out) == {**as_bytes(NEW if lands else RUN), MANIFEST: (out / MANIFEST).read_bytes()}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


# --- leftovers of killed writes: recovered by the next run into the same parent ---------------------------------

def test_leftovers_of_an_earlier_version_are_recovered(tmp_path):
    # killed between moving the earlier run aside and putting the new one in its place (before manifests)
    old, staging = tmp_path / ".run.k3x_a9zq.old", tmp_path / ".run.k3x_a9zq.partial"
    for folder, results in ((old, "earlier"), (staging, "new")):
        folder.mkdir()
        (folder / "config.json").write_text(LEGACY_CONFIG)
        (folder / "results.json").write_text(results)
    (tmp_path / ".other.abcd1234.partial").mkdir()  # killed right after mkdtemp
    age(old, staging, tmp_path / ".other.abcd1234.partial")
    check_out(tmp_path / "next")
    assert listing(tmp_path) == ["run", "run/config.json", "run/results.json"]
    assert (tmp_path / "run" / "results.json").read_text() == "earlier"


def test_an_earlier_run_moved_aside_by_a_dead_writer_is_restored(tmp_path):
    write_run(tmp_path / "run", RUN)
    write_run(tmp_path / "staged", NEW)
    pid, token = dead_pid(), "0123abcd"
    set_writer(tmp_path / "staged", pid, token)
    os.rename(tmp_path / "run", tmp_path / f".run.{token}.old")
    os.rename(tmp_path / "staged", tmp_path / f".run.{token}.partial")
    write_run(tmp_path / "next", NEW)  # fresh leftovers: only the dead writer says they are abandoned
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next", "run"]
    assert (tmp_path / "run" / "results.json").read_text() == '{"old": 1}'


def test_an_earlier_run_left_beside_the_new_one_is_deleted(tmp_path):
    write_run(tmp_path / "run", NEW)
    write_run(tmp_path / "earlier", RUN)
    set_writer(tmp_path / "run", dead_pid(), "0123abcd")
    os.unlink(tmp_path / "earlier" / "points.npz")  # its deletion had begun
    os.rename(tmp_path / "earlier", tmp_path / ".run.0123abcd.old")
    check_out(tmp_path / "next")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert (tmp_path / "run" / "results.json").read_text() == '{"new": 1}'


def test_leftovers_of_a_running_writer_are_left_until_they_are_old(tmp_path):
    write_run(tmp_path / "staged", NEW)
    staging = tmp_path / ".run.0123abcd.partial"
    set_writer(tmp_path / "staged", os.getpid(), "0123abcd")  # a writer that still runs
    os.rename(tmp_path / "staged", staging)
    check_out(tmp_path / "next")
    assert staging.is_dir()
    age(staging)
    check_out(tmp_path / "next")
    assert not staging.exists()


def test_folders_that_only_look_like_leftovers_are_left_alone(tmp_path):
    mine = [tmp_path / ".notes.abcd1234.old", tmp_path / ".data.abcd1234.partial", tmp_path / ".run.0123abcd.old"]
    for folder in mine:
        folder.mkdir()
        (folder / "mine.txt").write_text("keep")
    (tmp_path / ".run.0123abcd.old" / "config.json").write_text(LEGACY_CONFIG)  # nnprobe's run, plus a user's file
    write_run(tmp_path / "run", NEW)
    (tmp_path / ".staged.0123abcd.partial").mkdir()
    (tmp_path / ".staged.0123abcd.partial" / "config.json").write_text("mine")  # no marker: not nnprobe's
    age(*mine, tmp_path / ".staged.0123abcd.partial")
    check_out(tmp_path / "next")
    assert all((folder / "mine.txt").read_text() == "keep" for folder in mine)
    assert (tmp_path / ".staged.0123abcd.partial" / "config.json").read_text() == "mine"


KILLED_WRITER = """
import os, sys, time
from pathlib import Path
from nnprobe.report.runfolder import write_run

out, step = Path(sys.argv[1]), sys.argv[2]
real_write, real_rename, real_unlink = Path.write_bytes, os.rename, os.unlink

def pause():
    print("paused", flush=True)
    time.sleep(120)

def write_bytes(self, data):
    real_write(self, data)
    if step == "write" and self.name == "b.txt":
        pause()

def rename(src, dst):
    if step == "swap" and str(src).endswith(".partial"):
        pause()
    real_rename(src, dst)

def unlink(path, *args, **kwargs):
    real_unlink(path, *args, **kwargs)
    if step == "delete" and ".old" in str(path):
        pause()

Path.write_bytes, os.rename, os.unlink = write_bytes, rename, unlink
write_run(out, {"a.txt": "new a", "b.txt": "new b", "c.txt": "new c"})
"""


@pytest.mark.parametrize(("step", "survivor"), [
    ("write", "earlier"),  # killed while staging the files
    ("swap", "earlier"),  # killed with the earlier run moved aside and the new one not yet in place
    ("delete", "new"),  # killed while deleting the earlier run
])
def test_a_writer_killed_at_any_step_is_put_right_by_the_next_run(tmp_path, step, survivor):
    earlier = {"config.json": CONFIG, "a.txt": "old a", "z.txt": "old z"}
    write_run(tmp_path / "run", earlier)
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path / "run"), step],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "paused\n"
    finally:
        writer.kill()  # SIGKILL: no handler and no finally runs
        writer.wait()
        writer.stdout.close()
    assert any(p.name.startswith(".run.") for p in tmp_path.iterdir())  # it did leave something behind
    write_run(tmp_path / "next", {"n.txt": "next"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next", "run"]
    expected = earlier if survivor == "earlier" else {"a.txt": "new a", "b.txt": "new b", "c.txt": "new c"}
    assert {p.name: p.read_text() for p in (tmp_path / "run").iterdir() if p.name != MANIFEST} == expected


def test_a_default_name_never_replaces_a_run_that_took_it_first(tmp_path, monkeypatch):
    import datetime as dt

    from nnprobe.report.runfolder import default_out

    monkeypatch.chdir(tmp_path)
    now = dt.datetime(2026, 12, 1, 9, 30, 5)
    first = default_out("coin", now)
    assert first == Path("runs/coin-20261201-093005")
    write_run(first, RUN)
    assert default_out("coin", now) == Path("runs/coin-20261201-093005-2")  # taken: the next free name
    # two runs that chose the same name in the same second: the one that lands second takes the next name
    landed = write_run(first, NEW, fresh=True)[0].parent
    assert landed == (tmp_path / "runs/coin-20261201-093005-2").resolve()
    assert contents(first) == {**as_bytes(RUN), MANIFEST: (first / MANIFEST).read_bytes()}  # the first is intact
    assert json.loads((landed / "results.json").read_text()) == {"new": 1}


def test_a_home_folder_name_is_expanded_and_staging_like_names_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    written = write_run(Path("~") / "run", NEW)
    assert written[0].parent == (tmp_path / "run").resolve()  # not a folder named '~'
    with pytest.raises(ConfigError, match="names like '.NAME.TOKEN.partial'"):
        check_out(tmp_path / ".run.abcdefgh.partial")
