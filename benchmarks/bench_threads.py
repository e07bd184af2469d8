"""Threads on a quiet and on a busy machine: the memorize and cluster defaults with 1 thread, 2 threads and
nnprobe's automatic choice, each in a fresh process, without and with a CPU-bound background load that this
script starts itself (busy Python processes, stopped at the end), in one run.

    .venv/bin/python benchmarks/bench_threads.py                  # both studies, loads 0, 1 and one per core
    .venv/bin/python benchmarks/bench_threads.py --studies memorize --repeats 3

Printed per study and load: the study's own time (its `seconds`, median of the repeats) with each setting, the
threads the automatic choice took, auto / best fixed choice (target <= 1.10), and the loaded time against the
quiet one scaled by the cores the load leaves (target: auto <= 1.5 x quiet x cores / free cores, where a load of
one busy process per core leaves each of the cores+1 runnable processes cores/(cores+1) of a core).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PY = sys.executable
STUDY = """
import json, sys
from nnprobe.studies import {study} as study
threads = None if sys.argv[1] == "auto" else int(sys.argv[1])
config = study.{config}(device="cpu", threads=threads)
r = study.run(config, study.load(config))
print(json.dumps({{"seconds": r.seconds, "threads": r.threads}}))
"""
CONFIGS = {"memorize": "MemorizeConfig", "cluster": "ClusterConfig"}


def run_study(study: str, threads: str, env: dict) -> dict:
    code = STUDY.format(study=study, config=CONFIGS[study])
    done = subprocess.run([PY, "-c", code, threads], capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def busy_processes(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([PY, "-c", "while True: pass"]) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", default="memorize,cluster")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    loads = sorted({0, 1, cores})
    print(f"{cores} cores; background loads: {loads} busy processes; settings 1, 2 and auto threads; "
          f"median of {args.repeats}")
    rows = []
    for study in args.studies.split(","):
        quiet = {}
        for load in loads:
            background = busy_processes(load)
            time.sleep(0.5 if load else 0)  # let the load start
            try:
                runs = {setting: [] for setting in ("1", "2", "auto")}
                for _ in range(args.repeats):  # the settings take turns, so that a slower spell of the machine
                    for setting, done in runs.items():  # falls on each of them alike
                        done.append(run_study(study, setting, env))
                times = {setting: statistics.median(r["seconds"] for r in done) for setting, done in runs.items()}
                chosen = sorted({r["threads"] for r in runs["auto"]})
            finally:
                for p in background:
                    p.kill()
            if load == 0:
                quiet = times
            best = min(times["1"], times["2"])
            share = cores / (load + 1) if load >= cores else cores - load  # cores left for this process
            bound = 1.5 * min(quiet["1"], quiet["2"]) * cores / share
            rows.append((study, load, times, chosen, times["auto"] / best, times["auto"] / bound))
            print(f"{study:9s} load {load}: 1 thread {times['1']:7.2f} s | 2 threads {times['2']:7.2f} s | "
                  f"auto {times['auto']:7.2f} s (chose {chosen}) | auto/best {times['auto'] / best:5.2f} | "
                  f"auto/bound {times['auto'] / bound:5.2f}", flush=True)
    worst_best = max(r[4] for r in rows)
    worst_bound = max(r[5] for r in rows)
    print(f"worst auto/best fixed: {worst_best:.2f} (target <= 1.10); worst auto/bound: {worst_bound:.2f} "
          "(target <= 1.00)")


if __name__ == "__main__":
    main()
