"""The audit's label-permutation test on a 20,000 x 100 table with real signal, against scikit-learn doing the
same work, in one run:

1. Per permutation: nnprobe's MLP (one batched ensemble of B + 1 networks) against scikit-learn's
   ``permutation_test_score`` with ``MLPClassifier`` (same hidden sizes, epochs, Adam at the same rate, full
   batch, the same train/test split). scikit-learn runs a reduced B and is scaled per fit, as the issue allows.
2. The engine's matrix-product FLOP/s in that run against this machine's fp32 matmul rate (same run).
3. The whole default `nnprobe audit` of that table (B = 100, cross-validation, both tests, every check).
4. A user's ``torch.nn.Module``: copies trained together through ``torch.func`` against a loop over the copies.

    .venv/bin/python benchmarks/bench_audit.py            # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_audit.py --quick    # smaller B and fewer epochs: a smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

N, D, HIDDEN = 20_000, 100, (64, 32)
MATMUL_SIZE = 2048


def table(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features; the class is a noisy linear rule of the first 10 (held-out accuracy about 0.9)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)).astype(np.float32)
    y = ((X[:, :10] @ rng.normal(size=10) + rng.normal(scale=1.5, size=N)) > 0).astype(np.int64)
    return X, y


def matmul_rate() -> float:
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    a @ b
    best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
    return 2 * MATMUL_SIZE**3 / best


def mlp_flops(n_train: int, n_test: int, members: int, epochs: int) -> float:
    """Matrix-product FLOPs of training ``members`` d-64-32-2 networks full batch and scoring them: per row and
    epoch forward 2W, backward 4W less the first layer's input gradient (2 d h1)."""
    sizes = (D, *HIDDEN, 2)
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    per_row = 6 * weights - 2 * D * HIDDEN[0]
    return float(members * (epochs * n_train * per_row + (n_train + n_test) * 2 * weights))


def main() -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import permutation_test_score
    from sklearn.neural_network import MLPClassifier

    from nnprobe import audit
    from nnprobe.checks.permutation import permutation_tests
    from nnprobe.models import MLPModel, TorchModel, module_factory
    from nnprobe.nn.config import TrainConfig
    from nnprobe.threads import cores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="B = 20, 3 epochs: a smoke run")
    args = parser.parse_args()
    B, epochs, b_sklearn = (20, 3, 2) if args.quick else (100, 10, 3)
    torch.set_num_threads(cores())
    X, y = table()
    rng = np.random.default_rng(1)
    order = rng.permutation(N)
    train, test = order[: int(0.75 * N)], order[int(0.75 * N):]
    peak = matmul_rate()
    print(f"{N} x {D} table, MLP {'-'.join(map(str, HIDDEN))}, {epochs} epochs full batch, B = {B}; "
          f"{torch.get_num_threads()} threads; fp32 {MATMUL_SIZE}^3 matmul: {peak / 1e9:.0f} GFLOP/s")

    # 1 and 2: the label-permutation test, nnprobe against scikit-learn, per permutation
    model = MLPModel(HIDDEN, n_features=D, n_classes=2, config=TrainConfig(epochs=epochs, lr=1e-3))
    t0 = time.perf_counter()
    ours = permutation_tests(model, X[train], y[train], X_test=X[test], y_test=y[test], n_permutations=B,
                             feature_permutations=0)
    seconds = time.perf_counter() - t0
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="adam", learning_rate_init=1e-3, batch_size=len(train),
                        max_iter=epochs, tol=0.0, n_iter_no_change=10**9, early_stopping=False, alpha=0.0,
                        shuffle=False, random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is reached on purpose
        score, null, _ = permutation_test_score(clf, X, y, cv=[(train, test)], n_permutations=b_sklearn,
                                                random_state=0, n_jobs=1)
    sk_seconds = time.perf_counter() - t0
    per_ours, per_sk = seconds / (B + 1), sk_seconds / (b_sklearn + 1)
    rate = mlp_flops(len(train), len(test), B + 1, epochs) / seconds
    print("\n1. label-permutation test, per permutation (one network trained and scored):")
    print(f"   nnprobe MLP (one batched ensemble of {B + 1}): {seconds:.1f} s in all, {per_ours * 1e3:.0f} ms each; "
          f"held-out {ours.labels.observed:.3f}, null {np.mean(ours.labels.null):.3f}, p = {ours.labels.p_value:.3g}")
    print(f"   scikit-learn permutation_test_score + MLPClassifier ({b_sklearn + 1} fits): {sk_seconds:.1f} s, "
          f"{per_sk * 1e3:.0f} ms each; held-out {score:.3f}, null {np.mean(null):.3f}")
    print(f"   ratio: nnprobe {per_sk / per_ours:.1f}x faster per permutation (target >= 20)")
    print(f"2. engine matrix products: {rate / 1e9:.0f} GFLOP/s = {rate / peak:.2f} of the fp32 matmul rate "
          "(target >= 0.50)")

    # 3: the whole default audit of that table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        pd.DataFrame(X, columns=[f"x{j}" for j in range(D)]).assign(label=y).to_csv(path, index=False)
        config = audit.AuditConfig(data=str(path), target="label", n_permutations=20 if args.quick else 100)
        t0 = time.perf_counter()
        result = audit.run(config)
        whole = time.perf_counter() - t0
    print(f"3. whole default audit (B = {config.n_permutations}, {result.validation}, both tests, every check): "
          f"{whole:.0f} s, verdict {result.verdict.label} (target < 120 s)")

    # 4: a user's torch module, torch.func against a loop over copies
    net = torch.nn.Sequential(torch.nn.Linear(D, HIDDEN[0]), torch.nn.ReLU(), torch.nn.Linear(HIDDEN[0], HIDDEN[1]),
                              torch.nn.ReLU(), torch.nn.Linear(HIDDEN[1], 2))
    copies, small = (8, 2000) if args.quick else (32, 5000)
    torch_model = TorchModel(module_factory(net), n_classes=2, name="Sequential",
                             config=TrainConfig(epochs=3, lr=1e-3, batch_size=256))
    labels = np.stack([rng.permutation(y[train[:small]]) for _ in range(copies)])
    test_labels = np.tile(y[test[:1000]], (copies, 1))
    import nnprobe.nn.stacked as stacked

    t0 = time.perf_counter()
    vmapped = torch_model.fit_many(X[train[:small]], labels, X[test[:1000]], test_labels, seeds=list(range(copies)))
    t_vmap = time.perf_counter() - t0
    real_vmapped = stacked._train_vmapped
    stacked._train_vmapped = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("the loop, for comparison"))
    try:
        t0 = time.perf_counter()
        looped = torch_model.fit_many(X[train[:small]], labels, X[test[:1000]], test_labels, seeds=list(range(copies)))
        t_loop = time.perf_counter() - t0
    finally:
        stacked._train_vmapped = real_vmapped
    print(f"4. torch module, {copies} copies on {small} rows, 3 epochs of batches of 256: torch.func {t_vmap:.2f} s "
          f"({vmapped.path}), loop {t_loop:.2f} s: {t_loop / t_vmap:.1f}x (target >= 5); mean held-out "
          f"{vmapped.test_accuracy.mean():.3f} vs {looped.test_accuracy.mean():.3f}")


if __name__ == "__main__":
    main()
