"""Time the default `nnprobe memorize` sweep three ways on the same work, on the CPU, in one run.

The sweep (the study's defaults): 18 networks d-16-4 (d in 10, 30, 60, 120, 240, 480; 3 seeds), full-batch
Adam at lr 0.003 for 400 epochs on n = 2000 random rows; the study's own data and init seeds. Two scenarios:

- "with history": train and held-out accuracy recorded at epoch 0 and every 5 epochs, as the study does;
  nnprobe's engine (the study itself) against a plain per-network PyTorch loop (accuracies read back with
  ``.item()``, as a plain loop would).
- "training only": final accuracy only; the engine, the plain loop, and scikit-learn's ``MLPClassifier``
  (adam, full batch, 400 epochs, tol=0, no early stopping, alpha=0), which can only be timed this way, on
  float32 features (the engine's precision) and on float64 features (what NumPy and pandas give by default).

Each timing is the median of ``--repeats`` runs, the methods taking turns, and the best run, which ``timeit``
recommends as the least disturbed. This small shared VM is noisy: in some spells the engine's memory-bound steps
slow down by up to 1.7x while sklearn's timings barely move. Ratios are to the engine's median and best run.
The script also prints each method's final train accuracies (comparable work) and the engine's achieved matmul
FLOP/s as a fraction of this machine's fp32 matmul FLOP/s, measured in the same run on a 2048x2048 product.
Last, the shapes of the audit's permutation test (101 networks sharing 20,000 rows with labels of their own),
full batch and in minibatches, with their fraction of the matmul rate.

    .venv/bin/python benchmarks/bench_memorize.py              # about 4 minutes on 2 cores (make bench)
    .venv/bin/python benchmarks/bench_memorize.py --quick      # 50 epochs, 1 repeat: a smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from torch import nn

from nnprobe.studies.memorize import MemorizeConfig, MemorizeData, make_data, member_seed, run

MATMUL_SIZE = 2048


def recorded_epochs(cfg: MemorizeConfig) -> set[int]:
    """Epochs at which accuracies are recorded: 0, every ``log_every``, and the last."""
    return {0} | {e for e in range(1, cfg.epochs + 1) if e % cfg.log_every == 0 or e == cfg.epochs}


def engine_sweep(cfg: MemorizeConfig, data: MemorizeData) -> np.ndarray:
    """nnprobe's engine (the study); final train accuracy ``[F, S]``. It draws the same data itself."""
    return run(cfg).train_accuracy[:, :, -1]


def loop_sweep(cfg: MemorizeConfig, data: MemorizeData) -> np.ndarray:
    """One network at a time, the textbook PyTorch way; final train accuracy ``[F, S]``."""
    (h,) = cfg.hidden
    log_at = recorded_epochs(cfg)
    final = np.zeros((len(cfg.n_features), cfg.n_seeds))
    for i, d in enumerate(cfg.n_features):
        x, xh = torch.from_numpy(data.features[:, :d]), torch.from_numpy(data.heldout_features[:, :d])
        for s in range(cfg.n_seeds):
            y, yh = torch.from_numpy(data.labels[s]), torch.from_numpy(data.heldout_labels[s])
            torch.manual_seed(member_seed(cfg, s, d))
            model = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, cfg.n_classes))
            opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
            history = []
            for e in range(cfg.epochs + 1):
                if e > 0:
                    opt.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
                if e in log_at:
                    with torch.no_grad():
                        history.append(((model(x).argmax(1) == y).float().mean().item(),
                                        (model(xh).argmax(1) == yh).float().mean().item()))
            final[i, s] = history[-1][0]
    return final


def sklearn_sweep(cfg: MemorizeConfig, data: MemorizeData, dtype=np.float32) -> np.ndarray:
    """scikit-learn's MLPClassifier fitted once per network on ``dtype`` features; final train accuracy ``[F, S]``.

    MLPClassifier computes in the dtype of its input: float32 is the engine's precision, float64 what it gets
    from a NumPy or pandas table by default.
    """
    final = np.zeros((len(cfg.n_features), cfg.n_seeds))
    for i, d in enumerate(cfg.n_features):
        x = data.features[:, :d].astype(dtype)
        for s in range(cfg.n_seeds):
            clf = MLPClassifier(
                hidden_layer_sizes=cfg.hidden, activation=cfg.activation, solver="adam", batch_size=cfg.n_samples,
                learning_rate_init=cfg.lr, max_iter=cfg.epochs, tol=0.0, n_iter_no_change=10**9,
                early_stopping=False, alpha=0.0, shuffle=False, random_state=member_seed(cfg, s, d),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is reached on purpose
                clf.fit(x, data.labels[s])
            final[i, s] = clf.score(x, data.labels[s])
    return final


def sklearn64_sweep(cfg: MemorizeConfig, data: MemorizeData) -> np.ndarray:
    return sklearn_sweep(cfg, data, np.float64)


def engine_flops(cfg: MemorizeConfig) -> float:
    """Matrix-product FLOPs of the engine's sweep (biases, activations, loss and Adam are lower-order).

    Per network with d inputs, h hidden units, k classes and n training rows, per epoch (one full-batch step):
        forward   2*n*(d*h + h*k)
        backward  2*n*d*h           (layer 1: weight gradient only; the inputs need no gradient)
                + 2*2*n*h*k         (layer 2: weight and input gradients)
    and per recorded epoch, a forward pass on the held-out rows (the training rows' metrics come from the next
    step's own forward pass; only the last record evaluates the training rows separately):
        eval      2*n_heldout*(d*h + h*k), plus 2*n*(d*h + h*k) once
    """
    n, n_h, k = cfg.n_samples, cfg.n_heldout, cfg.n_classes
    (h,) = cfg.hidden
    records = len(recorded_epochs(cfg))
    total = 0
    for d in cfg.n_features:
        step = 2 * n * (d * h + h * k) + 2 * n * d * h + 2 * 2 * n * h * k
        total += cfg.epochs * step + (records * n_h + n) * 2 * (d * h + h * k)
    return float(total * cfg.n_seeds)


def matmul_flops_per_second(repeats: int = 5) -> float:
    """fp32 FLOP/s of one square matrix product on this machine, best of a few repeats."""
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * MATMUL_SIZE**3 / best


def scenario(title: str, cfg: MemorizeConfig, methods: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Time each method on ``cfg``, print the median and best times, the ratios and the final accuracies, and
    return each method's (median, best) seconds.

    The methods take turns within each repeat, so that a slow spell of this shared machine falls on all of them
    rather than on whichever happened to be running.
    """
    data = make_data(cfg)
    times: dict[str, list[float]] = {name: [] for name in methods}
    accuracy = {}
    for _ in range(repeats):
        for name, sweep in methods.items():
            t0 = time.perf_counter()
            accuracy[name] = sweep(cfg, data)
            times[name].append(time.perf_counter() - t0)
    seconds = {name: (statistics.median(runs), min(runs)) for name, runs in times.items()}
    engine, engine_best = seconds["nnprobe engine"]
    print(f"\n{title}\n{'method':<30}{'median s':>9}{'ratio':>8}{'best s':>9}{'ratio':>8}   runs")
    for name, (median, best) in seconds.items():
        runs = " ".join(f"{t:.2f}" for t in times[name])
        print(f"{name:<30}{median:>9.2f}{median / engine:>7.2f}x{best:>9.2f}{best / engine_best:>7.2f}x   {runs}")
    print("final mean train accuracy over seeds, per feature count:")
    for name, acc in accuracy.items():
        print(f"  {name:<28}" + " ".join(f"{d}:{a:.3f}" for d, a in zip(cfg.n_features, acc.mean(1))))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 epochs and 1 repeat: a smoke run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing; the median and best are shown")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    cfg = MemorizeConfig(device="cpu", **(dict(epochs=50) if args.quick else {}))
    print(f"memorize sweep: {len(cfg.n_features) * cfg.n_seeds} networks, {cfg.epochs} epochs, n={cfg.n_samples}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {repeats} runs each")

    tiny = MemorizeConfig.small(epochs=5, device="cpu")  # first-call costs land on no method
    for sweep in (engine_sweep, loop_sweep, sklearn_sweep, sklearn64_sweep):
        sweep(tiny, make_data(tiny))
    matmul = matmul_flops_per_second()

    history = scenario("with history (accuracies every 5 epochs, as the study records them)", cfg,
                       {"nnprobe engine": engine_sweep, "plain PyTorch loop": loop_sweep}, repeats)
    scenario("training only (final accuracy only)", dataclasses.replace(cfg, log_every=cfg.epochs),
             {"nnprobe engine": engine_sweep, "plain PyTorch loop": loop_sweep,
              "scikit-learn MLP, float32": sklearn_sweep, "scikit-learn MLP, float64": sklearn64_sweep}, repeats)

    work = engine_flops(cfg)
    print()
    for label, engine in zip(("median", "best"), history["nnprobe engine"]):
        achieved = work / engine
        print(f"engine matmul work (with history, {label} run): {work / 1e9:.1f} GFLOP in {engine:.2f} s = "
              f"{achieved / 1e9:.1f} GFLOP/s; fp32 {MATMUL_SIZE}^3 matmul here: {matmul / 1e9:.1f} GFLOP/s; "
              f"fraction {achieved / matmul:.2f}")
    audit_shapes(matmul, repeats, quick=args.quick)


def audit_shapes(matmul: float, repeats: int, *, quick: bool) -> None:
    """The permutation test's work (the audit): 101 networks 100-32-2 sharing 20,000 rows, each with its own
    labels (the true ones and 100 shuffles), full batch and minibatches of 1,024, 512 and 256; the engine's
    matrix-product FLOP/s against this machine's fp32 matmul rate."""
    from nnprobe.nn import Ensemble, MLPSpec, TrainConfig, Trainer

    n, d, h, k, members = 20_000, 100, 32, 2, 101
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, k, (members, n), generator=g)  # [M, n]
    print(f"\naudit shapes: {members} networks {d}-{h}-{k}, n={n}, labels of their own, {torch.get_num_threads()} "
          "threads")
    print(f"{'batch':<12}{'epochs':>7}{'median s':>10}{'ms/epoch':>10}{'GFLOP/s':>9}{'of matmul':>10}")
    for batch_size in (None, 1024, 512, 256):
        epochs = 2 if quick else (10 if batch_size is None else 4)
        cfg = TrainConfig(epochs=epochs, lr=0.01, batch_size=batch_size, log_every=epochs)
        # per row and epoch: forward 2(dh + hk), backward 2dh (no input gradient) + 4hk
        flops = float(epochs * members * n * (2 * (d * h + h * k) + 2 * d * h + 4 * h * k))
        times = []
        for _ in range(repeats):
            model = Ensemble(MLPSpec((d, h, k)), seeds=range(members))
            t0 = time.perf_counter()
            Trainer(model, cfg).fit(x, y)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        print(f"{str(batch_size or 'full'):<12}{epochs:>7}{median:>10.2f}{1e3 * median / epochs:>10.0f}"
              f"{flops / median / 1e9:>9.1f}{flops / median / matmul:>10.2f}")


if __name__ == "__main__":
    main()
