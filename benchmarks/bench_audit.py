"""The audit's label-permutation test on a 20,000 x 100 table with real signal, against scikit-learn doing the
same work, in one run:

1. Per permutation: nnprobe's MLP (one batched ensemble of B + 1 networks) against scikit-learn's
   ``permutation_test_score`` with ``MLPClassifier`` (same hidden sizes, epochs, Adam at the same rate, full
   batch, the same train/test split). scikit-learn runs a reduced B and is scaled per fit, as the issue allows.
2. The engine's matrix-product FLOP/s in that run against this machine's fp32 matmul rate (same run).
3. The whole default `nnprobe audit` of that table (B = 100, cross-validation, both tests, every check).
4. A user's ``torch.nn.Module``: copies trained together through ``torch.func`` against a loop over the copies,
   on small and larger training sets (the gain is largest where a loop spends its time in per-step overhead).

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
    from nnprobe.models import MLPModel
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
        result = audit.run(config, audit.load(config))
        whole = time.perf_counter() - t0
    print(f"3. whole default audit (B = {config.n_permutations}, {result.validation}, both tests, every check): "
          f"{whole:.0f} s, verdict {result.verdict.label} (train accuracy {result.train_accuracy:.3f}, held-out "
          f"{result.heldout_accuracy:.3f}, p = {result.labels_test.p_value:.3g}) (target < 120 s)")

    # 4: a user's torch module, torch.func against a loop over copies
    print("4. a user's torch module (Linear-ReLU-Linear-ReLU-Linear), B + 1 copies trained with torch.func vmap "
          "against a loop over the copies (the same steps):")
    first_call = torch_func_first_call()
    print(f"   torch.func's first call in a process: {first_call:.2f} s (it imports torch._dynamo), paid once per "
          "command, not counted below")
    for rows, batch, epochs_m in ((380, 32, 20), (380, 256, 30), (2000, 128, 10), (5000, 256, 3)):
        if args.quick:
            epochs_m = 1
        t_vmap, t_loop, accuracy = torch_module_race(X, y, rows=rows, batch=batch, epochs=epochs_m,
                                                     copies=21 if args.quick else B + 1)
        print(f"   {rows:>5} rows x {D} features, batches of {batch:>3}, {epochs_m:>2} epochs: torch.func "
              f"{t_vmap:5.2f} s, loop {t_loop:5.2f} s: {t_loop / t_vmap:4.1f}x (target >= 5); held-out accuracy "
              f"agrees: {accuracy}")


def torch_func_first_call() -> float:
    from nnprobe.models import TorchModel, module_factory
    from nnprobe.nn.config import TrainConfig

    model = TorchModel(module_factory(torch.nn.Linear(3, 2)), n_classes=2, name="warm-up",
                       config=TrainConfig(epochs=1, lr=1e-3))
    x, labels = np.zeros((4, 3), np.float32), np.zeros((2, 4), np.int64)
    t0 = time.perf_counter()
    model.fit_many(x, labels, x, labels, seeds=[0, 1])
    return time.perf_counter() - t0


def torch_module_race(X, y, *, rows: int, batch: int, epochs: int, copies: int) -> tuple[float, float, bool]:
    """Seconds of ``copies`` trainings of one module through torch.func and through a loop, and whether their
    held-out accuracies agree (to rounding)."""
    import nnprobe.nn.stacked as stacked
    from nnprobe.models import TorchModel, module_factory
    from nnprobe.nn.config import TrainConfig

    net = torch.nn.Sequential(torch.nn.Linear(D, HIDDEN[0]), torch.nn.ReLU(), torch.nn.Linear(HIDDEN[0], HIDDEN[1]),
                              torch.nn.ReLU(), torch.nn.Linear(HIDDEN[1], 2))
    model = TorchModel(module_factory(net), n_classes=2, name="Sequential",
                       config=TrainConfig(epochs=epochs, lr=1e-3, batch_size=batch))
    rng = np.random.default_rng(2)
    train, test = np.arange(rows), np.arange(N - 1000, N)
    labels = np.stack([y[train]] + [rng.permutation(y[train]) for _ in range(copies - 1)])
    test_labels = np.tile(y[test], (copies, 1))
    args = (X[train], labels, X[test], test_labels)
    t0 = time.perf_counter()
    vmapped = model.fit_many(*args, seeds=list(range(copies)))
    t_vmap = time.perf_counter() - t0
    real = stacked._train_vmapped
    stacked._train_vmapped = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("the loop, for comparison"))
    try:
        t0 = time.perf_counter()
        looped = model.fit_many(*args, seeds=list(range(copies)))
        t_loop = time.perf_counter() - t0
    finally:
        stacked._train_vmapped = real
    assert vmapped.path == "torch.func vmap" and looped.path.startswith("a loop")
    return t_vmap, t_loop, bool(np.allclose(vmapped.test_accuracy, looped.test_accuracy, atol=0.01))

if __name__ == "__main__":
    main()
