"""Time `nnprobe baseline` end to end on a 100,000-row x 50-feature CSV (the issue's target: under 60 s).

The table: 50 gaussian features, two classes (70/30) that depend on the first five features, written to a
temporary CSV. The command runs as a user would run it (a subprocess, `--quiet`); the script prints the wall
time, the study's own time from results.json, what was sampled, and each check's status.

    .venv/bin/python benchmarks/bench_baseline.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/bench_baseline.py --rows 20000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_table(path: Path, rows: int, features: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    score = X[:, :5] @ np.array([1.0, -0.8, 0.6, 0.4, -0.3]) + rng.normal(size=rows)
    y = (score > np.quantile(score, 0.7)).astype(int)  # 30% positives
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(features)])
    frame["label"] = np.where(y == 1, "yes", "no")
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table, out = Path(tmp) / "big.csv", Path(tmp) / "run"
        make_table(table, args.rows, args.features)
        print(f"table: {args.rows} rows x {args.features} features, {table.stat().st_size / 1e6:.1f} MB CSV")
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "nnprobe", "baseline", str(table), "--target", "label",
                               "--out", str(out), "--quiet"], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode:
            sys.exit(f"nnprobe baseline failed ({done.returncode}): {done.stderr.strip()}")
        results = json.loads((out / "results.json").read_text())
    print(f"wall time, process start to exit: {wall:.1f} s (study itself: {results['seconds']:.1f} s; target < 60 s)")
    for note in results["result"]["notes"]:
        print(f"sampled: {note}")
    for check in results["result"]["checks"]:
        print(f"  {check['status']:<5} {check['name']}: {check['message']}")


if __name__ == "__main__":
    main()
