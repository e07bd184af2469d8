"""Time the default `nnprobe memorize` sweep three ways on the same work, on the CPU.

The sweep: for each seed, one random-label gaussian data set (n=2000, d=480, k=4) and one fresh held-out set;
for each feature count d in (10, 30, 60, 120, 240, 480), a d-16-4 ReLU MLP trained on the first d columns with
full-batch Adam (lr 0.003) for 400 epochs, train and held-out accuracy recorded at epoch 0 and every 5 epochs.
3 seeds x 6 feature counts = 18 networks. It is done

1. by nnprobe's engine: ``nnprobe.studies.memorize.run`` (one ragged ensemble per seed);
2. by a plain PyTorch loop: one ``nn.Sequential`` and one Adam per network, accuracies read back with ``.item()``;
3. by scikit-learn's ``MLPClassifier``, fitted once per network: it records no accuracy during training, so it is
   timed doing LESS work than the other two.

It prints each time, the ratios to the engine, the final mean train accuracy per feature count of each method
(to show the three did comparable work), and the engine's achieved FLOP/s, also as a fraction of this machine's
fp32 matmul FLOP/s measured in the same run (2048x2048 @ 2048x2048, best of a few repeats).

Run from the repository root:

    .venv/bin/python benchmarks/bench_memorize.py            # the default sweep (about a minute or two)
    .venv/bin/python benchmarks/bench_memorize.py --quick    # 50 epochs, 2 seeds: a smoke run
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from torch import nn

from nnprobe.data import synthetic
from nnprobe.studies import derive_seed
from nnprobe.studies.memorize import MemorizeConfig, run

MATMUL_SIZE = 2048
MATMUL_REPEATS = 5


def seed_data(cfg: MemorizeConfig, s: int) -> tuple[torch.Tensor, ...]:
    """The study's training and held-out sets of seed ``s``, with all ``max(n_features)`` columns."""
    d_max = max(cfg.n_features)
    train = synthetic.gaussian(n=cfg.n_samples, d=d_max, k=cfg.n_classes, seed=derive_seed(cfg.seed, s))
    fresh = synthetic.gaussian(n=cfg.n_heldout, d=d_max, k=cfg.n_classes, seed=derive_seed(cfg.seed, s, 1))
    return tuple(torch.from_numpy(a) for a in (train.X, train.y, fresh.X, fresh.y))


def recorded_epochs(cfg: MemorizeConfig) -> list[int]:
    """Epochs at which the study records accuracies: 0, every ``log_every``, and the last."""
    return [0] + [e for e in range(1, cfg.epochs + 1) if e % cfg.log_every == 0 or e == cfg.epochs]


def engine_sweep(cfg: MemorizeConfig) -> np.ndarray:
    """nnprobe's engine; returns the final train accuracy ``[F, S]``."""
    return run(cfg).train_accuracy[:, :, -1]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def loop_fit(cfg: MemorizeConfig, d: int, seed: int, data: tuple[torch.Tensor, ...]) -> float:
    """One network trained alone, as a plain PyTorch loop would; returns its final train accuracy."""
    X, y, Xh, yh = data
    x, xh = X[:, :d], Xh[:, :d]
    (h,) = cfg.hidden
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, cfg.n_classes))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    log_at = set(recorded_epochs(cfg))
    train_acc, heldout_acc = [], []
    for e in range(cfg.epochs + 1):
        if e > 0:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        if e in log_at:
            with torch.no_grad():
                train_acc.append(accuracy(model, x, y))
                heldout_acc.append(accuracy(model, xh, yh))
    return train_acc[-1]


def loop_sweep(cfg: MemorizeConfig) -> np.ndarray:
    """A plain per-network PyTorch loop over the sweep; returns the final train accuracy ``[F, S]``."""
    acc = np.zeros((len(cfg.n_features), cfg.n_seeds))
    for s in range(cfg.n_seeds):
        data = seed_data(cfg, s)
        for i, d in enumerate(cfg.n_features):
            acc[i, s] = loop_fit(cfg, d, derive_seed(cfg.seed, s, d), data)
    return acc


def sklearn_sweep(cfg: MemorizeConfig) -> np.ndarray:
    """scikit-learn's MLPClassifier, fitted once per network; returns the final train accuracy ``[F, S]``."""
    acc = np.zeros((len(cfg.n_features), cfg.n_seeds))
    for s in range(cfg.n_seeds):
        X, y, _, _ = (t.numpy() for t in seed_data(cfg, s))
        for i, d in enumerate(cfg.n_features):
            clf = MLPClassifier(
                hidden_layer_sizes=cfg.hidden, activation=cfg.activation, solver="adam",
                batch_size=cfg.n_samples, learning_rate_init=cfg.lr, max_iter=cfg.epochs, tol=0.0,
                n_iter_no_change=10**9, early_stopping=False, alpha=0.0, shuffle=False,
                random_state=derive_seed(cfg.seed, s, d),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is reached on purpose
                clf.fit(X[:, :d], y)
            acc[i, s] = clf.score(X[:, :d], y)
    return acc


def engine_flops(cfg: MemorizeConfig) -> float:
    """Matrix-product FLOPs of the engine's sweep (biases, activations, loss and Adam are lower-order, left out).

    Per network with d inputs, h hidden units, k classes and n training rows, per epoch (one full-batch step):
        forward   2*n*(d*h + h*k)
        backward  2*n*d*h           (layer 1: weight gradient only, the inputs need no gradient)
                + 2*2*n*h*k         (layer 2: weight and input gradients)
    and per recorded epoch, a forward pass on the training and the held-out rows:
        eval      2*(n + n_heldout)*(d*h + h*k)
    summed over the feature counts, the seeds, the epochs and the recorded epochs.
    """
    n, n_h, k = cfg.n_samples, cfg.n_heldout, cfg.n_classes
    (h,) = cfg.hidden
    n_records = len(recorded_epochs(cfg))
    total = 0
    for d in cfg.n_features:
        step = 2 * n * (d * h + h * k) + 2 * n * d * h + 2 * 2 * n * h * k
        evaluate = 2 * (n + n_h) * (d * h + h * k)
        total += cfg.epochs * step + n_records * evaluate
    return float(total * cfg.n_seeds)


def matmul_flops_per_second() -> float:
    """fp32 FLOP/s of one square matrix product on this machine, best of a few repeats."""
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(MATMUL_REPEATS):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * MATMUL_SIZE**3 / best


def timed(sweep, cfg: MemorizeConfig) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    acc = sweep(cfg)
    return time.perf_counter() - t0, acc


def warm_up() -> None:
    """One tiny sweep per method, so that first-call costs (imports, kernel set-up) land on none of them."""
    tiny = MemorizeConfig.small(epochs=5, n_seeds=1, device="cpu")
    for sweep in (engine_sweep, loop_sweep, sklearn_sweep):
        sweep(tiny)


def report(cfg: MemorizeConfig, times: dict[str, float], accs: dict[str, np.ndarray], matmul: float) -> None:
    engine = times["nnprobe engine"]
    print(f"\n{'method':<28}{'seconds':>9}{'vs engine':>11}")
    for name, seconds in times.items():
        print(f"{name:<28}{seconds:>9.2f}{seconds / engine:>10.2f}x")
    print("* scikit-learn fits each network once and records no accuracy during training:"
          " it is timed doing LESS work than the other two.")

    print("\nfinal mean train accuracy over seeds")
    print(f"{'features':>8}" + "".join(f"{name:>28}" for name in accs))
    for i, d in enumerate(cfg.n_features):
        print(f"{d:>8}" + "".join(f"{acc[i].mean():>28.3f}" for acc in accs.values()))

    flops = engine_flops(cfg)
    achieved = flops / engine
    print(f"\nengine matmul work: {flops / 1e9:.1f} GFLOP in {engine:.2f} s = {achieved / 1e9:.1f} GFLOP/s")
    print(f"fp32 matmul {MATMUL_SIZE}^3 on this machine (best of {MATMUL_REPEATS}): {matmul / 1e9:.1f} GFLOP/s")
    print(f"engine / matmul: {achieved / matmul:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 epochs and 2 seeds: a smoke run")
    args = parser.parse_args()
    cfg = MemorizeConfig(device="cpu", **(dict(epochs=50, n_seeds=2) if args.quick else {}))
    print(f"memorize sweep: {len(cfg.n_features) * cfg.n_seeds} networks, {cfg.epochs} epochs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    warm_up()
    matmul = matmul_flops_per_second()
    times, accs = {}, {}
    for name, sweep in (("nnprobe engine", engine_sweep), ("plain PyTorch loop", loop_sweep),
                        ("scikit-learn (fit only)*", sklearn_sweep)):
        times[name], accs[name] = timed(sweep, cfg)
    report(cfg, times, accs, matmul)


if __name__ == "__main__":
    main()
