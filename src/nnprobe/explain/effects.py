"""Global explanations of any model (through ``nnprobe.explain.output.Output``): partial dependence with ICE
curves, accumulated local effects, and Friedman's H-statistic of interaction; and when a partial dependence plot
is not to be trusted.

- **Partial dependence** (Friedman 2001) of feature j at grid value g: the mean over rows of f(x with x_j = g).
  The grid: quantiles of the column (so that it follows the data, not its extremes). ICE curves are the rows'
  own curves. Each (row, grid value) point is checked against the data: it is outside the data's support when
  its distance to the nearest data row (standardised features) exceeds the 95th percentile of the data rows'
  own nearest-neighbour distances; the share of such points is reported.
- **Accumulated local effects** (Apley & Zhu 2020), first order: quantile bins of the column; within each bin
  the mean of f(x with x_j at the bin's upper edge) - f(x with x_j at its lower edge) over the rows in the bin;
  accumulated over bins and centred to mean 0 over the rows. Unlike partial dependence it only evaluates the
  model near the data, so it stays right when features are correlated. Bands: bootstrap over rows of the same
  per-row differences (no new predictions).
- **Friedman's H** (Friedman & Popescu 2008) on a subsample of at most ``n_max`` = 500 rows (its cost is
  O(n_max^2) predictions per feature and pair, as in R's ``hstats``): with F, PD_j, PD_-j, PD_jk centred,
  H_j^2 = sum (F - PD_j - PD_-j)^2 / sum F^2 (the share of the output's variance that is interaction involving j)
  and H_jk^2 = sum (PD_jk - PD_j - PD_k)^2 / sum PD_jk^2. The normalised pair value is large when the pair's
  joint effect is small, whatever the interaction's size (the guard R's hstats documents): the unnormalised
  sqrt(mean (PD_jk - PD_j - PD_k)^2), in the output's units, is reported beside it. Intervals: bootstrap over
  the subsample's rows of the same predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnprobe.explain.output import Output
from nnprobe.models.base import PREDICT_BATCH_VALUES

GRID_POINTS = 20
ICE_ROWS = 200  # rows whose ICE curves are computed (and that the partial dependence averages)
H_ROWS = 500  # n_max of the H-statistic
BOOTSTRAP = 100
SUPPORT_QUANTILE = 0.95  # a point farther from the data than this quantile of within-data NN distances is outside
REFERENCE_ROWS = 2000  # data rows the support check compares with


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=size, replace=False)) if n > size else np.arange(n)


def quantile_grid(column: np.ndarray, points: int = GRID_POINTS) -> np.ndarray:
    """Distinct quantiles of ``column`` at ``points`` evenly spaced levels from 2.5% to 97.5% (the distinct
    values themselves when there are fewer)."""
    distinct = np.unique(column)
    if len(distinct) <= points:
        return distinct.astype(np.float64)
    return np.unique(np.quantile(column.astype(np.float64), np.linspace(0.025, 0.975, points)))


@dataclass
class PartialDependence:
    feature: int
    grid: np.ndarray  # [G]
    average: np.ndarray  # [G] partial dependence (mean of the ICE curves)
    ice: np.ndarray  # [rows, G]
    outside_support: float  # share of the (row, grid value) points outside the data's support
    ice_spread: float  # sd over rows of the ICE curves centred at their own means, averaged over the grid,
    #                    relative to the partial dependence's range (0: parallel curves, no interaction seen)


def partial_dependence(output: Output, X: np.ndarray, feature: int, *, grid_points: int = GRID_POINTS,
                       rows: int = ICE_ROWS, seed: int = 0, support: bool = True) -> PartialDependence:
    """Partial dependence and ICE curves of ``feature`` on a seeded sample of ``rows`` rows of ``X``; with
    ``support``, the share of its points outside the data's support (NaN without)."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    grid = quantile_grid(X[:, feature], grid_points)
    sample = X[_sample(len(X), rows, rng)]
    points = np.repeat(sample[:, None, :], len(grid), axis=1)  # [rows, G, d]
    points[:, :, feature] = grid[None, :]
    ice = output(points.reshape(-1, X.shape[1])).reshape(len(sample), len(grid))
    average = ice.mean(axis=0)
    centred = ice - ice.mean(axis=1, keepdims=True)
    span = float(np.ptp(average))
    spread = float(centred.std(axis=0).mean() / span) if span > 0 else (0.0 if np.allclose(centred, 0) else np.inf)
    outside = outside_support(points.reshape(-1, X.shape[1]), X, seed=seed) if support else float("nan")
    return PartialDependence(feature, grid, average, ice, outside, spread)


def outside_support(points: np.ndarray, X: np.ndarray, *, seed: int = 0) -> float:
    """Share of ``points`` farther (standardised Euclidean distance) from every row of ``X`` than the
    SUPPORT_QUANTILE of the rows' own nearest-neighbour distances."""
    import torch

    rng = np.random.default_rng(seed)
    center, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    ref = torch.from_numpy(((X[_sample(len(X), REFERENCE_ROWS, rng)] - center) / scale).astype(np.float32))
    within = torch.cdist(ref, ref)
    within.fill_diagonal_(float("inf"))
    threshold = torch.quantile(within.min(dim=1).values, SUPPORT_QUANTILE)
    pts = torch.from_numpy(((points - center) / scale).astype(np.float32))
    far = [(torch.cdist(pts[i:i + 4096], ref).min(dim=1).values > threshold) for i in range(0, len(pts), 4096)]
    return float(torch.cat(far).double().mean())


@dataclass
class AccumulatedEffects:
    feature: int
    edges: np.ndarray  # [K + 1] bin edges (quantiles of the column)
    effect: np.ndarray  # [K + 1] the ALE at each edge, centred to mean 0 over the rows
    low: np.ndarray  # [K + 1] bootstrap 2.5% band
    high: np.ndarray  # [K + 1] bootstrap 97.5% band
    counts: np.ndarray  # [K] rows per bin


def accumulated_local_effects(output: Output, X: np.ndarray, feature: int, *, bins: int = GRID_POINTS,
                              bootstrap: int = BOOTSTRAP, seed: int = 0) -> AccumulatedEffects:
    """First-order ALE of ``feature`` with a bootstrap band (see the module docstring)."""
    X = np.asarray(X, dtype=np.float32)
    column = X[:, feature].astype(np.float64)
    edges = np.unique(np.quantile(column, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:  # a constant column: no effect to accumulate
        zero = np.zeros(1)
        return AccumulatedEffects(feature, edges, zero, zero, zero, np.zeros(0, dtype=int))
    which = np.clip(np.searchsorted(edges, column, side="left") - 1, 0, len(edges) - 2)  # bin of each row
    upper, lower = X.copy(), X.copy()
    upper[:, feature], lower[:, feature] = edges[which + 1], edges[which]
    local = output(upper) - output(lower)  # [n] each row's change across its bin
    K = len(edges) - 1

    def curve(rows: np.ndarray) -> np.ndarray:
        counts = np.bincount(which[rows], minlength=K)
        sums = np.bincount(which[rows], weights=local[rows], minlength=K)
        means = np.divide(sums, counts, out=np.zeros(K), where=counts > 0)
        acc = np.concatenate([[0.0], np.cumsum(means)])
        at_rows = (acc[which[rows]] + acc[which[rows] + 1]) / 2  # each row at its bin's midpoint value
        return acc - at_rows.mean()

    rng = np.random.default_rng(seed)
    n = len(X)
    effect = curve(np.arange(n))
    draws = np.stack([curve(rng.integers(0, n, n)) for _ in range(bootstrap)]) if bootstrap else effect[None]
    return AccumulatedEffects(feature, edges, effect, np.quantile(draws, 0.025, axis=0),
                              np.quantile(draws, 0.975, axis=0), np.bincount(which, minlength=K))


@dataclass
class AccumulatedEffects2D:
    features: tuple[int, int]
    edges: tuple[np.ndarray, np.ndarray]  # bin edges of each feature
    effect: np.ndarray  # [K1 + 1, K2 + 1] the pure second-order effect at the edges (main effects removed, centred)
    counts: np.ndarray  # [K1, K2] rows per cell (empty cells add nothing to the accumulation)


def accumulated_local_effects_2d(output: Output, X: np.ndarray, j: int, k: int, *, bins: int = 10
                                 ) -> AccumulatedEffects2D:
    """Second-order ALE of the pair (j, k) (Apley & Zhu 2020, eq. 13-15): per cell of the two features' quantile
    bins, the mean over its rows of the second difference f(z_a, z_b) - f(z_a-1, z_b) - f(z_a, z_b-1) +
    f(z_a-1, z_b-1); accumulated over both axes; the first-order effects of the result removed and the rest
    centred to mean 0 over the rows. 0 everywhere for a model without interaction between j and k."""
    X = np.asarray(X, dtype=np.float32)
    edges, which = [], []
    for f in (j, k):
        column = X[:, f].astype(np.float64)
        e = np.unique(np.quantile(column, np.linspace(0, 1, bins + 1)))
        if len(e) < 2:
            e = np.array([column[0], column[0]])
        edges.append(e)
        which.append(np.clip(np.searchsorted(e, column, side="left") - 1, 0, len(e) - 2))
    (ej, ek), (wj, wk) = edges, which
    corners = []
    for dj, dk in ((1, 1), (0, 1), (1, 0), (0, 0)):
        moved = X.copy()
        moved[:, j], moved[:, k] = ej[wj + dj], ek[wk + dk]
        corners.append(output(moved))
    second = corners[0] - corners[1] - corners[2] + corners[3]  # [n]
    K1, K2 = len(ej) - 1, len(ek) - 1
    cell = wj * K2 + wk
    counts = np.bincount(cell, minlength=K1 * K2).reshape(K1, K2)
    sums = np.bincount(cell, weights=second, minlength=K1 * K2).reshape(K1, K2)
    means = np.divide(sums, counts, out=np.zeros((K1, K2)), where=counts > 0)
    g = np.zeros((K1 + 1, K2 + 1))
    g[1:, 1:] = means.cumsum(axis=0).cumsum(axis=1)
    # remove g's own first-order effects: along j, the count-weighted mean over k-cells of its steps in j
    step_j = ((g[1:, 1:] - g[:-1, 1:] + g[1:, :-1] - g[:-1, :-1]) / 2 * counts).sum(axis=1) / np.maximum(
        counts.sum(axis=1), 1)
    step_k = ((g[1:, 1:] - g[1:, :-1] + g[:-1, 1:] - g[:-1, :-1]) / 2 * counts).sum(axis=0) / np.maximum(
        counts.sum(axis=0), 1)
    h = g - np.concatenate([[0.0], np.cumsum(step_j)])[:, None] - np.concatenate([[0.0], np.cumsum(step_k)])[None, :]
    at_cells = (h[:-1, :-1] + h[1:, :-1] + h[:-1, 1:] + h[1:, 1:]) / 4
    h -= (at_cells * counts).sum() / counts.sum()
    return AccumulatedEffects2D((j, k), (ej, ek), h, counts)


@dataclass
class Interaction:
    features: tuple[int, ...]  # (j,) for a feature's total interaction, (j, k) for a pair
    h: float  # normalised H (square root of the share of variance)
    unnormalised: float  # sqrt(mean of the squared interaction part), in the output's units
    low: float  # bootstrap 2.5% of h
    high: float  # bootstrap 97.5% of h


def _h(numerator_terms: np.ndarray, denominator_terms: np.ndarray) -> float:
    den = float(np.sum(denominator_terms**2))
    return float(np.sqrt(np.sum(numerator_terms**2) / den)) if den > 0 else 0.0


def _mixed(output: Output, S: np.ndarray, features: list[int]) -> np.ndarray:
    """``F[i, l] = f(x_i on features, x_l elsewhere)`` for the rows of ``S``: [m, m], in chunks of rows i."""
    m, d = S.shape
    out = np.empty((m, m))
    chunk = max(1, PREDICT_BATCH_VALUES // max(1, m * d))
    for start in range(0, m, chunk):
        rows = S[start:start + chunk]
        points = np.repeat(S[None, :, :], len(rows), axis=0)  # [i, l, d]: row l's values ...
        points[:, :, features] = rows[:, None, features]  # ... with row i's values on the features
        out[start:start + len(rows)] = output(points.reshape(-1, d)).reshape(len(rows), m)
    return out


def h_statistics(output: Output, X: np.ndarray, *, features: list[int] | None = None, pairs: int = 5,
                 n_max: int = H_ROWS, bootstrap: int = BOOTSTRAP, seed: int = 0
                 ) -> tuple[list[Interaction], list[Interaction]]:
    """Friedman's H of each feature (total interaction) and of the ``pairs`` pairs among the features with the
    largest total H; on a seeded subsample of at most ``n_max`` rows, with bootstrap intervals."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    S = X[_sample(len(X), n_max, rng)]
    m = len(S)
    features = list(range(X.shape[1])) if features is None else list(features)
    F = output(S)
    draws = [rng.integers(0, m, m) for _ in range(bootstrap)]

    def centred(v):
        return v - v.mean()

    pd_main: dict[int, np.ndarray] = {}
    mixed_of: dict[int, np.ndarray] = {}
    totals = []
    for j in features:
        mixed = mixed_of[j] = _mixed(output, S, [j])  # f(x_ij, x_l,-j)
        pd_main[j] = mixed.mean(axis=1)  # PD_j at row i's x_j
        pd_rest = mixed.mean(axis=0)  # PD_-j at row l's x_-j

        def total(idx, mixed=mixed):
            sub = mixed[np.ix_(idx, idx)]
            f, pj, pr = centred(F[idx]), centred(sub.mean(axis=1)), centred(sub.mean(axis=0))
            return _h(f - pj - pr, f)

        f, pj, pr = centred(F), centred(pd_main[j]), centred(pd_rest)
        boot = [total(idx) for idx in draws]
        totals.append(Interaction((j,), _h(f - pj - pr, f), float(np.sqrt(np.mean((f - pj - pr) ** 2))),
                                  *_band(boot)))
    top = [t.features[0] for t in sorted(totals, key=lambda t: -t.h)[: max(0, min(len(features), 2 * pairs))]]
    candidates = [(a, b) for i, a in enumerate(top) for b in top[i + 1:]][: pairs]
    pair_results = []
    for j, k in candidates:
        joint = _mixed(output, S, [j, k])
        mixed_j, mixed_k = mixed_of[j], mixed_of[k]

        def pair_h(idx, joint=joint, mixed_j=mixed_j, mixed_k=mixed_k):
            pjk = centred(joint[np.ix_(idx, idx)].mean(axis=1))
            pj = centred(mixed_j[np.ix_(idx, idx)].mean(axis=1))
            pk = centred(mixed_k[np.ix_(idx, idx)].mean(axis=1))
            return _h(pjk - pj - pk, pjk)

        pjk, pj, pk = centred(joint.mean(axis=1)), centred(pd_main[j]), centred(pd_main[k])
        pair_results.append(Interaction((j, k), _h(pjk - pj - pk, pjk),
                                        float(np.sqrt(np.mean((pjk - pj - pk) ** 2))),
                                        *_band([pair_h(idx) for idx in draws])))
    pair_results.sort(key=lambda t: -t.unnormalised)
    return totals, pair_results


def _band(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))
