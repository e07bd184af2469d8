"""The audit's permutation test in this process against a local 2-worker Ray cluster on this machine, in one run.

Prints the cluster's cold start, Ray's overhead per task, the time per chunk, the two runs' times (and that their
numbers agree), then a model of the speed-up on N machines and the chunk size that keeps Ray's overhead under 5%.

    python benchmarks/bench_ray.py            # B = 200 permutations of an MLP on 569 x 30 (breast cancer), 3 folds
    python benchmarks/bench_ray.py --quick    # B = 40
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from nnprobe.checks.permutation import permutation_tests
from nnprobe.data import load
from nnprobe.executors import Local, Ray
from nnprobe.models import from_spec
from nnprobe.threads import using_threads

WORKERS = 2  # the local cluster: one worker per core of this machine


def noop(shared, chunk):
    return chunk


def timed(function):
    t0 = time.perf_counter()
    out = function()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--chunk", type=int, default=32, help="permutations per chunk (Ray task)")
    args = parser.parse_args()
    B, folds = (40 if args.quick else 200), 3
    data = load("sklearn:breast_cancer")
    model = from_spec("mlp:64-32", n_features=data.n_features, class_names=data.class_names, device="cpu")

    def audit(executor, chunk):
        return permutation_tests(model, data.X, data.y, cv=folds, n_permutations=B, seed=0, feature_permutations=0,
                                 executor=executor, chunk_size=chunk)

    print(f"permutation test 1: B = {B} copies of {model.info.name} on {data.n_samples} x {data.n_features}, "
          f"{folds}-fold cross-validation; chunks of {args.chunk}")
    with using_threads(WORKERS):  # the whole machine, as the audit would choose on a quiet machine
        local, local_s = timed(lambda: audit(Local(), None))
    with using_threads(1):  # one core: what one Ray worker has
        chunked, chunked_s = timed(lambda: audit(Local(), args.chunk))
    chunks = math.ceil((B + 1) / args.chunk) * folds
    per_chunk = chunked_s / chunks  # on one core
    print(f"  local, one ensemble per fold, {WORKERS} threads: {local_s:.1f} s")
    print(f"  local, {chunks} chunks one after another, 1 thread: {chunked_s:.1f} s ({per_chunk:.2f} s a chunk, "
          f"{per_chunk / args.chunk * 1e3:.0f} ms a copy)")

    import ray

    _, cold = timed(lambda: ray.init(num_cpus=WORKERS, include_dashboard=False, _node_ip_address="127.0.0.1",
                                     log_to_driver=False, configure_logging=False))
    executor = Ray()
    executor.map(noop, None, list(range(WORKERS)))  # start the workers
    shared = {"X": data.X, "y": data.y}
    n_tasks = 40
    _, one_by_one = timed(lambda: [executor.map(noop, shared, [i]) for i in range(n_tasks)])
    overhead = one_by_one / n_tasks
    print(f"Ray: cold start of a {WORKERS}-worker cluster {cold:.1f} s; overhead {overhead * 1e3:.0f} ms a task "
          f"(a round trip of an empty task, {n_tasks} one after another)")
    on_ray, ray_s = timed(lambda: audit(executor, args.chunk))
    same = np.array_equal(on_ray.labels.null, chunked.labels.null)
    print(f"  Ray, {chunks} tasks on {WORKERS} workers: {ray_s:.1f} s; its null distribution equals the local "
          f"chunked one bit for bit: {same}; p-values {on_ray.labels.p_value:.3f} (Ray) {local.labels.p_value:.3f} "
          f"(local, one ensemble)")
    print(f"  ratio local / Ray on this machine: {local_s / ray_s:.2f}x")
    ray.shutdown()

    # The model: N machines of c cores, one worker per core; a task costs its copies' time plus Ray's overhead, and
    # the run pays the cluster's cold start once (connecting to a running cluster costs less than starting one).
    per_copy = per_chunk / args.chunk
    smallest = math.ceil(overhead / (0.05 * per_copy))  # copies per chunk that keep the overhead under 5%
    print(f"chunk size that keeps Ray's overhead under 5% of a task: >= {smallest} copies ({overhead * 1e3:.0f} ms "
          f"against {per_copy * 1e3:.0f} ms a copy)")

    def modelled(workers: int, chunk: int) -> float:
        tasks = math.ceil((B + 1) / chunk) * folds
        return cold + math.ceil(tasks / workers) * (chunk * per_copy + overhead)

    print(f"model of the speed-up over local ({local_s:.1f} s) on N machines of {WORKERS} cores (one worker a core):")
    print(f"  {'N':>3}  chunks of {args.chunk:<3}        the best chunk size for N")
    for machines in (1, 2, 4, 8, 16, 32):
        workers = machines * WORKERS
        fitted = min(range(smallest, B + 2), key=lambda chunk: modelled(workers, chunk))  # the best modelled
        default, best = modelled(workers, args.chunk), modelled(workers, fitted)
        print(f"  {machines:>3}  {default:5.1f} s {local_s / default:5.2f}x     {best:5.1f} s {local_s / best:5.2f}x "
              f"(--chunk-size {fitted})")
    print(f"  beyond that the cold start ({cold:.1f} s) bounds the time: more permutations (B) keep more machines busy")

if __name__ == "__main__":
    main()
