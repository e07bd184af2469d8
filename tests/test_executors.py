"""Tests of the executors: chunks of batched work give the same numbers in this process and on a local Ray
cluster (bit for bit with the same chunks), a worker killed mid-run loses nothing and counts nothing twice, and
asking for Ray without it installed is a clear exit-2 error.

The cluster is started on loopback only (127.0.0.1, no dashboard) and stopped after the module.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from nnprobe.checks.permutation import permutation_tests
from nnprobe.cli import app
from nnprobe.errors import ConfigError
from nnprobe.executors import Local, chunks_of, make_executor
from nnprobe.models import from_spec
from nnprobe.studies import memorize
from nnprobe.studies.registry import run_study

runner = CliRunner()


def test_chunks_cover_every_member_once_in_order():
    for total, size in ((101, 32), (5, 1), (7, None), (3, 10)):
        chunks = chunks_of(total, size)
        assert [m for chunk in chunks for m in chunk] == list(range(total))
        assert all(len(chunk) <= (size or total) for chunk in chunks)


def test_local_runs_chunks_in_order_and_reports_progress():
    seen = []
    out = Local().map(lambda shared, chunk: shared + chunk, 10, [1, 2, 3],
                      lambda done, total: seen.append((done, total)))
    assert out == [11, 12, 13] and seen == [(1, 3), (2, 3), (3, 3)]


def test_ray_asked_for_without_ray_installed_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ConfigError, match=r"pip install 'nnprobe\[ray\]'"):
        make_executor("ray")
    result = runner.invoke(app, ["memorize", "--small", "--executor", "ray", "--out", "unused"])
    assert result.exit_code == 2 and "pip install 'nnprobe[ray]'" in result.stderr
    bad = runner.invoke(app, ["audit", "--small", "--executor", "spark"])
    assert bad.exit_code == 2 and "--executor 'spark' is unknown" in bad.stderr


def test_a_sweep_in_chunks_whose_networks_diverge_at_different_epochs_joins_like_one_ensemble():
    # every network diverges; a chunk whose networks all have stops early, so chunks end at different epochs
    config = dict(n_features=(4, 30), n_seeds=2, n_samples=100, n_heldout=100, epochs=30, optimizer="sgd", lr=1000,
                  device="cpu")
    chunked = run_study(memorize.MemorizeConfig.small(**config, chunk_size=1))
    whole = run_study(memorize.MemorizeConfig.small(**config))
    assert [s.diverged_at for s in chunked.summaries] == [s.diverged_at for s in whole.summaries]
    assert chunked.train_accuracy.shape[-1] >= whole.train_accuracy.shape[-1]  # the longest chunk's records
    assert all(c.holds is None for c in chunked.claims)  # diverged networks: nothing tested, no crash


def test_ray_with_a_gpu_is_refused_up_front():
    with pytest.raises(ConfigError, match="leave out --device cuda"):
        memorize.MemorizeConfig.small(executor="ray", device="cuda")


def test_a_ray_address_where_nothing_answers_is_refused_at_once():
    import socket

    pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'nnprobe[ray]')")
    from nnprobe.executors import check_reachable

    with socket.socket() as closed:  # a port that was free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ConfigError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}")  # asked before ray.init, which would retry for minutes
    with pytest.raises(ConfigError, match="must be HOST:PORT"):
        check_reachable("my-cluster")


# ---- on a local Ray cluster ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'nnprobe[ray]'); make test "
                                            "installs it")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             configure_logging=False)
    yield ray
    ray.shutdown()


def breast_cancer():
    from nnprobe.data import load

    data = load("sklearn:breast_cancer")
    return data.X, data.y


def audit_tests(executor, chunk_size, progress=None):
    X, y = breast_cancer()
    model = from_spec("mlp:16?epochs=20", n_features=X.shape[1], class_names=["0", "1"], device="cpu")
    return permutation_tests(model, X, y, cv=3, n_permutations=19, seed=5, feature_permutations=9,
                             executor=executor, chunk_size=chunk_size, progress=progress)


def test_the_permutation_tests_on_ray_equal_local_ones(ray_cluster):
    from nnprobe.executors import Ray

    seen = []
    on_ray = audit_tests(Ray(), 8, progress=lambda done, total: seen.append((done, total)))
    local_same_chunks = audit_tests(Local(), 8)
    # the same chunks: the same numbers, bit for bit, wherever and in whatever order they ran
    for a, b in ((on_ray.labels, local_same_chunks.labels), (on_ray.features, local_same_chunks.features)):
        np.testing.assert_array_equal(a.null, b.null)
        np.testing.assert_array_equal(a.null_train, b.null_train)
        assert a.observed == b.observed and a.p_value == b.p_value
    # one chunk (local's default) against chunks of 8: every permutation and seed is the same; only the batched
    # products' rounding differs, which moves an accuracy by at most a few rows of 569 (measured: 0 here)
    local_one_chunk = audit_tests(Local(), None)
    for a, b in ((on_ray.labels, local_one_chunk.labels), (on_ray.features, local_one_chunk.features)):
        assert np.abs(a.null - b.null).max() <= 3 / 569
        assert abs(a.p_value - b.p_value) <= 2 / (len(a.null) + 1)
    # progress fed by finished chunks: 3 chunks x 3 folds of test 1, then 2 x 3 of test 2
    assert [d for d, _ in seen] == list(range(1, 16)) and {t for _, t in seen} == {15}
    assert "chunks on ray" in on_ray.labels.path


def test_a_memorize_sweep_on_ray_equals_the_local_one(ray_cluster):
    config = dict(n_features=(4, 12, 30), n_seeds=2, n_samples=200, n_heldout=200, epochs=30, device="cpu")
    on_ray = run_study(memorize.MemorizeConfig.small(**config, executor="ray", chunk_size=4))
    local = run_study(memorize.MemorizeConfig.small(**config, chunk_size=4))
    np.testing.assert_array_equal(on_ray.train_accuracy, local.train_accuracy)
    np.testing.assert_array_equal(on_ray.loss, local.loss)
    whole = run_study(memorize.MemorizeConfig.small(**config))  # one ensemble of all 6 networks
    np.testing.assert_allclose(on_ray.loss, whole.loss, rtol=1e-5, atol=1e-6)  # float32 rounding of the products


def _worker_running(name: str) -> int | None:
    """The pid of a Ray worker process executing task ``name`` now (its process title is ray::NAME)."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if fh.read().startswith(f"ray::{name}".encode()):
                        return int(pid)
            except OSError:
                continue
    return None


def test_a_worker_killed_mid_run_loses_nothing_and_counts_nothing_twice(ray_cluster):
    from nnprobe.executors import Ray

    killed = []

    def kill_one_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            pid = _worker_running("run_chunk")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)  # as the OOM killer or a lost machine would
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    on_ray = audit_tests(Ray(), 8)
    killer.join()
    assert killed, "no Ray worker was seen running a chunk"
    local = audit_tests(Local(), 8)
    np.testing.assert_array_equal(on_ray.labels.null, local.labels.null)  # every chunk once, none lost
    np.testing.assert_array_equal(on_ray.features.null, local.features.null)
    assert len(on_ray.labels.null) == 19 and len(on_ray.features.null) == 9


def _refuses(shared, chunk):
    from nnprobe.errors import DataError

    raise DataError(f"chunk {chunk} cannot be trained")


def test_an_error_inside_a_task_comes_back_as_itself_without_the_remote_traceback(ray_cluster):
    from nnprobe.errors import DataError
    from nnprobe.executors import Ray

    import sys

    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    with pytest.raises(DataError, match=r"^chunk \d cannot be trained$"):
        Ray().map(_refuses, None, [0, 1, 2])
