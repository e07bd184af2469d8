"""nnprobe explain on a 10,000 x 30 table, against its peers on the same work, in one run:

1. The whole default `nnprobe explain` study of the table (the seed's three model classes: training, derivatives,
   H-statistics, partial dependence with ICE, ALE, integrated gradients). Target: under 60 s.
2. Partial dependence of one feature, nnprobe against scikit-learn's ``partial_dependence`` (method "brute", the
   same grid, the same fitted HistGradientBoostingClassifier, the same rows, probabilities).
3. Integrated gradients of the study's MLP, nnprobe against Captum's ``IntegratedGradients`` (the same steps,
   the midpoint rule, the same rows and baseline).

    .venv/bin/python benchmarks/bench_explain.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

N, D = 10_000, 30


def table(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniform features; log-odds 3 x0 x1 + 1.5 x2 - x3^2 (an interaction, a main effect, a curve)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(N, D)).astype(np.float32)
    log_odds = 3 * X[:, 0] * X[:, 1] + 1.5 * X[:, 2] - X[:, 3] ** 2
    return X, (rng.random(N) < 1 / (1 + np.exp(-log_odds))).astype(np.int64)


def best_of(f, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    from captum.attr import IntegratedGradients
    from sklearn.inspection import partial_dependence as sk_partial_dependence

    from nnprobe.explain import Output, integrated_gradients, partial_dependence
    from nnprobe.models import from_spec
    from nnprobe.studies import explain
    from nnprobe.threads import cores

    torch.set_num_threads(cores())
    X, y = table()
    print(f"{N} x {D} table; {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        pd.DataFrame(X, columns=[f"x{j}" for j in range(D)]).assign(label=y).to_csv(path, index=False)
        t0 = time.perf_counter()
        config = explain.ExplainConfig(data=str(path), target="label", device="cpu")
        result = explain.run(config, explain.load(config))
        whole = time.perf_counter() - t0
    order = "; ".join(f"{m.role} {m.non_constancy:.3g}" for m in result.data[0].models)
    print(f"1. whole default explain study: {whole:.1f} s (target < 60 s); non-constancy {order}")

    names = [str(i) for i in range(2)]
    hgb = from_spec("sklearn:HistGradientBoostingClassifier", n_features=D, class_names=names).fit(X, y)
    rows = X[:1000]
    ours_pd = partial_dependence(Output(hgb, "probability"), rows, 0, grid_points=20, rows=1000)
    grid = ours_pd.grid
    t_ours = best_of(lambda: partial_dependence(Output(hgb, "probability"), rows, 0, grid_points=20, rows=1000,
                                                support=False))
    t_support = best_of(lambda: partial_dependence(Output(hgb, "probability"), rows, 0, grid_points=20, rows=1000))
    theirs = sk_partial_dependence(hgb.estimator, rows, [0], custom_values={0: grid}, kind="average",
                                   method="brute", response_method="predict_proba")
    t_sk = best_of(lambda: sk_partial_dependence(hgb.estimator, rows, [0], custom_values={0: grid},
                                                 kind="average", method="brute", response_method="predict_proba"))
    agree = np.allclose(ours_pd.average, theirs["average"][0], atol=1e-6)
    print(f"2. partial dependence, 1,000 rows x {len(grid)} grid values, HistGradientBoosting: nnprobe {t_ours:.3f} s "
          f"with ICE ({t_support:.3f} s with the support check too), scikit-learn {t_sk:.3f} s: ratio "
          f"{t_sk / t_ours:.2f}; equal: {agree}")

    mlp = from_spec("mlp:64-32", n_features=D, class_names=names).fit(X, y)
    f = Output(mlp, "logit").torch_function()
    net_rows, baseline = X[:500], X.mean(axis=0)
    t_ig = best_of(lambda: integrated_gradients(f, net_rows, baseline=baseline, steps=64))
    ig = IntegratedGradients(f)
    x, b = torch.from_numpy(net_rows), torch.from_numpy(baseline)[None]
    t_captum = best_of(lambda: ig.attribute(x, baselines=b, n_steps=64, method="riemann_middle"))
    same = np.allclose(integrated_gradients(f, net_rows, baseline=baseline, steps=64).values,
                       ig.attribute(x, baselines=b, n_steps=64, method="riemann_middle").detach().double().numpy(),
                       rtol=1e-3, atol=1e-5)
    print(f"3. integrated gradients, 500 rows x 64 steps, MLP 30-64-32-2: nnprobe {t_ig:.2f} s (with the "
          f"completeness check), Captum {t_captum:.2f} s: ratio {t_captum / t_ig:.2f}; equal: {same}")


if __name__ == "__main__":
    main()
