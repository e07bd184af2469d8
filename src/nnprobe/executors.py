"""Where chunks of batched work run: in this process (``local``, the default) or on a Ray cluster (``ray``).

A chunk is one batched computation of the engine (e.g. an ensemble of 32 permuted copies), never one fit. A chunk's
function is pure: it returns its numbers and writes nothing, and every random choice in it comes from the run seed
and the chunk's index, fixed before anything is scheduled. So a chunk can run anywhere, any number of times (Ray
runs it again when a worker dies), and the results, gathered by chunk index, do not depend on where or in which
order the chunks ran. Ray is an optional extra (``pip install 'nnprobe[ray]'``); nothing here imports it unless
asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nnprobe.errors import ConfigError

EXECUTORS = ("local", "ray")
RAY_CHUNK = 32  # members per chunk on Ray by default: see benchmarks/bench_ray.py for the overhead it keeps small
TASK_RETRIES = 3  # Ray runs a chunk again this many times when the worker running it dies


def check_executor(executor: str, ray_address: str | None, device: str = "auto") -> str:
    """``--executor`` (local or ray) and ``--ray-address`` (only with ray); Ray's tasks train on their workers'
    CPUs, so ``--device cuda`` is refused with it."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r} is unknown: use local (this process) or ray (a Ray cluster).")
    if ray_address is not None and executor != "ray":
        raise ConfigError("--ray-address needs --executor ray.")
    if executor == "ray" and device == "cuda":
        raise ConfigError("--executor ray trains on the workers' CPUs: leave out --device cuda (or use --executor "
                          "local on this machine's GPU).")
    return executor


def device_for(executor: str, device: str) -> str:
    """The --device a study trains on: Ray's tasks ask for no GPU, so on Ray "auto" means the CPU."""
    return "cpu" if executor == "ray" else device


@dataclass
class Local:
    """Every chunk in this process, one after another (the engine already uses this machine's cores within one)."""

    name: str = "local"
    task_threads: int | None = None  # the threads a chunk runs on: None, those of the study

    def map(self, function: Callable, shared, chunks: Sequence, progress: Callable[[int, int], None] | None = None):
        """``[function(shared, chunk) for chunk in chunks]``, calling ``progress(done, total)`` after each."""
        results = []
        for chunk in chunks:
            results.append(function(shared, chunk))
            if progress is not None:
                progress(len(results), len(chunks))
        return results


@dataclass
class Ray:
    """Every chunk as a Ray task on the cluster at ``address`` (None: ``RAY_ADDRESS``, or a new local one), joined
    when the first chunks are sent.

    The shared inputs go into Ray's object store once (``ray.put``) and each task receives the reference; each task
    asks for ``cpus`` CPUs and sets torch's and the BLAS pools' threads to the CPUs Ray assigned it.
    """

    address: str | None = None
    cpus: int = 1  # CPUs per task
    name: str = "ray"

    @property
    def task_threads(self) -> int:
        """The threads a chunk runs on: the CPUs each task asks for."""
        return self.cpus

    def __post_init__(self) -> None:
        import_ray()  # a missing extra is said at once, before any work

    def connect(self) -> None:
        """Join the cluster (or start one here), once: only when there is work to send."""
        ray = import_ray()
        if not ray.is_initialized():
            import logging

            if self.address is not None:
                check_reachable(self.address)  # Ray itself would wait for minutes before giving up
            try:
                ray.init(address=self.address, include_dashboard=False, logging_level=logging.WARNING,
                         log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = self.address or os.environ.get("RAY_ADDRESS") or "this machine"
                raise ConfigError(f"cannot start or join a Ray cluster at {where}: {str(exc).splitlines()[0]}. "
                                  "Start one with `ray start --head`, or leave out --ray-address to start one on "
                                  "this machine.") from None

    def map(self, function: Callable, shared, chunks: Sequence, progress: Callable[[int, int], None] | None = None):
        """``[function(shared, chunk) for chunk in chunks]`` as Ray tasks, in chunk order whatever order they finish
        in; ``progress(done, total)`` is called as chunks finish."""
        self.connect()
        ray = import_ray()
        task = ray.remote(num_cpus=self.cpus, max_retries=TASK_RETRIES)(run_chunk)
        shared_ref = ray.put(shared)  # once: every task gets the reference, not a copy of the data
        pending = {task.remote(function, shared_ref, chunk): i for i, chunk in enumerate(chunks)}
        results = [None] * len(chunks)
        waiting = list(pending)
        while waiting:
            finished, waiting = ray.wait(waiting, num_returns=1)
            for ref in finished:
                try:
                    results[pending[ref]] = ray.get(ref)  # by the chunk's index: a retried chunk is counted once
                except ray.exceptions.RayTaskError as exc:  # the task's own error, as if it had run here
                    for other in waiting:
                        ray.cancel(other)
                    cause = getattr(exc, "cause", None)
                    raise cause if isinstance(cause, BaseException) else exc from None
            if progress is not None:
                progress(len(chunks) - len(waiting), len(chunks))
        return results


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Refuse a ``--ray-address`` HOST:PORT where nothing answers, within ``timeout`` seconds (``auto`` and
    ``ray://`` client addresses are left to Ray)."""
    import socket

    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r} must be HOST:PORT, the address `ray start --head` prints "
                          "(e.g. 10.0.0.5:6379).")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {(exc.strerror or str(exc)).lower()}. Start "
                          "it with `ray start --head --port PORT` on that machine, or leave out --ray-address to "
                          "start one on this machine.") from None


def run_chunk(function: Callable, shared, chunk):
    """One chunk in a Ray worker: torch's and the BLAS pools' threads set to the CPUs Ray assigned to the task."""
    import ray

    from nnprobe.threads import using_threads

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    with using_threads(max(1, int(cpus))):
        return function(shared, chunk)


def import_ray():
    """The ray module, or a clear error naming the install command."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray, an optional extra: pip install 'nnprobe[ray]'.") from None
    return ray


def make_executor(executor: str = "local", ray_address: str | None = None):
    """The executor named by ``--executor`` (checked): Local(), or Ray(ray_address) connected (or started)."""
    check_executor(executor, ray_address)
    return Local() if executor == "local" else Ray(ray_address)


def chunks_of(total: int, size: int | None) -> list[range]:
    """``range(total)`` cut into consecutive ranges of ``size`` (the last may be shorter); one range when None."""
    size = total if size is None else max(1, size)
    return [range(start, min(total, start + size)) for start in range(0, total, size)] or [range(0)]
