"""The explain study: the seed's three classes of explainability measured with one yardstick, and explanations of
any model that say when they cannot be trusted.

Seed ("Why Can't I Tell What My Neural Network is Doing?", its note for advanced readers): linear models are
fully explainable (df/dx_i is a constant), gradient-boosted trees partially (partial dependence holds while
features do not interact), networks hardly (df/dx_i is another non-linear function of every input). Measured
here as the non-constancy of the derivatives of each model's output across the data
(``nnprobe.explain.derivatives``). The seed leaves out which output: a logistic regression's derivative is
constant on the log-odds, not on the probability (dp/dx = p (1 - p) w); the study says which it used.

For each model: derivatives, Friedman's H of the most important features and their top pairs (the top pair's
second-order ALE), partial dependence with ICE curves and accumulated local effects of the most important
features, and, for torch networks,
integrated gradients with their completeness. A feature's partial dependence plot is marked not trustworthy when
its total H is at least H_WARN, its centred ICE curves spread by at least ICE_WARN of the curve's range, or at
least SUPPORT_WARN of its points lie outside the data's support; its ALE curve is shown beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnprobe.errors import ConfigError
from nnprobe.limits import check_int, check_number, check_seed
from nnprobe.studies import Claim, claim_key, Progress, derive_seed, no_progress
from nnprobe.threads import check_threads

DEFAULT_SETS = ("sklearn:breast_cancer", "synth:interaction")
THREE_CLASSES = {  # the seed's classes, in its order of explainability
    "linear": "sklearn:LogisticRegression?max_iter=10000",
    "gradient-boosted trees": "sklearn:HistGradientBoostingClassifier",
    "neural network": "mlp:64-32",
}
H_WARN = 0.3  # total H from which a feature's partial dependence is not trusted
ICE_WARN = 0.3  # spread of the centred ICE curves, relative to the partial dependence's range
SUPPORT_WARN = 0.2  # share of partial dependence points outside the data's support
FIGURE_ROWS = 500  # rows of derivatives kept for the figure
H_FEATURES = 10  # features (the most important) whose H is computed: each costs n_max^2 predictions


@dataclass
class ExplainConfig:
    """Options of the explain study."""

    data: str | None = None  # a file (with target), sklearn:NAME or synth:NAME?...; None: DEFAULT_SETS
    target: str | None = None  # class column of a data file
    model: str | None = None  # --model form (nnprobe.models); None: the seed's three classes
    output: str = "logit"  # what is explained: "logit" (log-odds of the class) or "probability"
    features: int = 4  # the most important features shown with partial dependence and ALE
    grid_points: int = 20
    ice_rows: int = 200  # rows of the ICE curves (and of the partial dependence)
    h_rows: int = 500  # n_max of Friedman's H
    pairs: int = 5  # pairs whose H is reported
    bootstrap: int = 50  # resamples of the ALE bands and H intervals
    step: float = 0.1  # central-difference step in standard deviations (models without autograd)
    max_rows: int = 2000  # rows (sampled) on which derivatives, ALE and attributions are computed
    ig_rows: int = 100  # rows given integrated gradients (torch networks)
    max_memory_mb: int = 512  # memory bound of integrated gradients
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.output not in ("logit", "probability"):
            raise ConfigError(f"--output {self.output!r} is unknown: use logit or probability.")
        self.features = check_int("features (--features)", self.features, 1, 50)
        self.grid_points = check_int("grid_points (--grid-points)", self.grid_points, 3, 200)
        self.ice_rows = check_int("ice_rows (--ice-rows)", self.ice_rows, 10, 10_000)
        self.h_rows = check_int("h_rows (--h-rows)", self.h_rows, 20, 5_000)
        self.pairs = check_int("pairs (--pairs)", self.pairs, 0, 45)
        self.bootstrap = check_int("bootstrap (--bootstrap)", self.bootstrap, 0, 10_000)
        self.step = check_number("step (--step)", self.step, low=0.0, high=10.0, low_open=True, example="0.1")
        self.max_rows = check_int("max_rows (--max-rows)", self.max_rows, 50, 1_000_000)
        self.ig_rows = check_int("ig_rows (--ig-rows)", self.ig_rows, 0, 100_000)
        self.max_memory_mb = check_int("max_memory_mb (--max-memory)", self.max_memory_mb, 16, 1_000_000)
        self.seed = check_seed(self.seed)
        self.threads = check_threads(self.threads)

    @classmethod
    def small(cls, **overrides) -> ExplainConfig:
        """A seconds-long configuration for tests and a first look."""
        return cls(**{**dict(features=2, ice_rows=50, h_rows=80, pairs=2, bootstrap=10, max_rows=300, ig_rows=20),
                      **overrides})


@dataclass
class FeatureView:
    """One feature of one model: its derivatives and its global effects."""

    name: str
    importance: float  # mean |derivative| x the feature's standard deviation (output units per sd)
    non_constancy: float  # sd / mean |derivative|
    h: float | None  # total H (None where not computed)
    pd: object | None  # nnprobe.explain.PartialDependence, for the features shown
    ale: object | None  # nnprobe.explain.AccumulatedEffects, for the features shown
    warning: str = ""  # why its partial dependence is not to be trusted ("" where it is)


@dataclass
class ModelView:
    """One model on one data set."""

    role: str  # "linear", "gradient-boosted trees", "neural network" or "your model"
    spec: str  # its --model form
    name: str
    heldout_accuracy: float
    derivative_method: str
    non_constancy: float  # pooled over features
    non_constancy_probability: float | None  # the same on the probability scale (linear model only)
    features: list[FeatureView]
    pairs: list[dict]  # [{features: [a, b], h, unnormalised, low, high}]
    derivative_sample: np.ndarray  # [rows, shown features] derivatives / their mean magnitude (for the figure)
    ig: dict | None = None  # {steps, median_error, rows, baseline, mean_abs}
    pair_ale: object | None = None  # nnprobe.explain.AccumulatedEffects2D of the top pair


@dataclass
class DataView:
    source: str
    n_samples: int
    feature_names: list[str]
    models: list[ModelView]


@dataclass
class ExplainResult:
    config: ExplainConfig
    output: str
    data: list[DataView]
    claims: list[Claim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    threads: int = 1


def model_specs(config: ExplainConfig) -> dict[str, str]:
    """role -> model spec of the models explained: the user's, or the seed's three classes."""
    return {"your model": config.model} if config.model is not None else THREE_CLASSES


def load(config: ExplainConfig) -> list[tuple]:
    """(data, train, test, {role: model}) for each data set: the data read and split, the models built from their
    specs (a .skops file is read here), not yet fitted."""
    from nnprobe.data import load as load_data
    from nnprobe.data import split
    from nnprobe.models import from_spec
    from nnprobe.nn import resolve_device

    c = config
    device = resolve_device(c.device)
    sets = [c.data] if c.data is not None else list(DEFAULT_SETS)
    inputs = []
    for i, spec in enumerate(sets):
        data = load_data(spec, target=c.target)
        if not data.is_classification:
            raise ConfigError(f"{data.source} is a regression set: explain needs class labels.")
        train, test = split(data, seed=derive_seed(c.seed, i))
        models = {role: from_spec(model_spec, n_features=train.n_features, class_names=train.class_names,
                                  device=str(device)) for role, model_spec in model_specs(c).items()}
        inputs.append((data, train, test, models))
    return inputs


def run(config: ExplainConfig, data: list[tuple], progress: Progress = no_progress) -> ExplainResult:
    """Explain the models of ``data`` (:func:`load`'s sets and models) as the module docstring says."""
    from nnprobe.nn import resolve_device
    from nnprobe.threads import resolve_threads, using_threads

    t0 = time.perf_counter()
    c = config
    device = resolve_device(c.device)
    total = sum(len(models) for *_, models in data)
    views = []
    threads = resolve_threads(c.threads, 1e12)
    done = 0
    with using_threads(threads):
        for i, (dataset, train, test, models) in enumerate(data):
            model_views = []
            for j, (role, model) in enumerate(models.items()):
                model_views.append(_model_view(c, role, model_specs(c)[role], model, train, test,
                                               derive_seed(c.seed, i, j)))
                done += 1
                progress(done, total)
            views.append(DataView(dataset.source, dataset.n_samples, dataset.feature_names, model_views))
    result = ExplainResult(c, c.output, views, device=str(device), threads=threads)
    result.claims = check_claims(result) if c.model is None else []
    result.seconds = time.perf_counter() - t0
    return result


def _model_view(c: ExplainConfig, role: str, spec: str, model, train, test, seed: int) -> ModelView:
    from nnprobe.explain import (
        Output,
        accumulated_local_effects,
        accumulated_local_effects_2d,
        derivatives,
        h_statistics,
        integrated_gradients,
        partial_dependence,
    )
    if not getattr(model, "saved", False) and model.info.can_refit:
        model.fit(train.X, train.y, seed=seed)
    heldout = float(np.mean(model.predict(test.X) == test.y))
    rng = np.random.default_rng(seed)
    rows = train.X[np.sort(rng.choice(train.n_samples, c.max_rows, replace=False))] \
        if train.n_samples > c.max_rows else train.X
    output = Output(model, c.output)
    d = derivatives(output, rows, step=c.step)
    sd = rows.astype(np.float64).std(axis=0)
    importance = d.mean_magnitude * sd
    order = [int(j) for j in np.argsort(-importance)]
    h_features = order[:H_FEATURES]
    totals, pairs = h_statistics(output, rows, features=h_features, pairs=c.pairs, n_max=c.h_rows,
                                 bootstrap=c.bootstrap, seed=seed)
    h_of = {t.features[0]: t.h for t in totals}
    shown = order[: c.features]
    features = []
    for j in order:
        pd = ale = None
        warning = ""
        if j in shown:
            pd = partial_dependence(output, rows, j, grid_points=c.grid_points, rows=c.ice_rows, seed=seed)
            ale = accumulated_local_effects(output, rows, j, bins=c.grid_points, bootstrap=c.bootstrap, seed=seed)
            warning = _warning(j, h_of.get(j), pd, pairs, train.feature_names)
        features.append(FeatureView(train.feature_names[j], float(importance[j]), float(d.non_constancy[j]),
                                    h_of.get(j), pd, ale, warning))
    sample = d.values[:FIGURE_ROWS, shown] / np.where(d.mean_magnitude[shown] > 0, d.mean_magnitude[shown], 1.0)
    prob = None
    if role == "linear" and c.output == "logit":
        prob = derivatives(Output(model, "probability"), rows, step=c.step).pooled_non_constancy
    ig = None
    f = output.torch_function()
    if f is not None and c.ig_rows:
        baseline = rows.mean(axis=0)
        attributions = integrated_gradients(f, rows[: c.ig_rows], baseline=baseline,
                                            max_memory=c.max_memory_mb * 2**20)
        ig = {"steps": attributions.steps, "median_error": attributions.median_error, "rows": len(rows[: c.ig_rows]),
              "baseline": "the mean row", "mean_abs": np.abs(attributions.values).mean(axis=0).tolist()}
    pair_ale = accumulated_local_effects_2d(output, rows, *pairs[0].features, bins=10) if pairs else None
    return ModelView(role, spec, model.info.name, heldout, d.method, d.pooled_non_constancy, prob, features,
                     [{"features": [train.feature_names[a] for a in p.features], "h": p.h,
                       "unnormalised": p.unnormalised, "low": p.low, "high": p.high} for p in pairs],
                     sample, ig, pair_ale)


def _warning(j: int, h: float | None, pd, pairs, names: list[str]) -> str:
    """Why feature j's partial dependence is not to be trusted, in words; "" where nothing says so."""
    reasons = []
    if h is not None and h >= H_WARN:
        partners = [p for p in pairs if j in p.features]
        partner = max(partners, key=lambda p: p.unnormalised, default=None)
        other = "" if partner is None else f" with {names[[k for k in partner.features if k != j][0]]}"
        reasons.append(f"interacts{other}, H = {h:.2f}")
    if pd.ice_spread >= ICE_WARN:
        reasons.append(f"ICE curves spread {pd.ice_spread:.2f} of its range")
    if pd.outside_support >= SUPPORT_WARN:
        reasons.append(f"{pd.outside_support:.0%} of its points lie outside the data")
    return ("not trustworthy: " + "; ".join(reasons)) if reasons else ""


def check_claims(r: ExplainResult) -> list[Claim]:
    """The seed's order of explainability, on each data set, and what it leaves out."""
    claims = []
    for view in r.data:
        by_role = {m.role: m for m in view.models}
        values = [by_role[role].non_constancy for role in THREE_CLASSES]
        holds = bool(values[0] < values[1] < values[2]) if all(np.isfinite(values)) else None
        claims.append(Claim(
            f"explain.explainability_order:{claim_key(view.source)}", "seed", f"On {view.source}: a linear model is fully explainable, gradient-boosted trees partially, a "
                    "network hardly (the derivative of the output is constant, less constant, least constant)",
            holds, "non-constancy of d " + r.output + " / dx (sd / mean magnitude, pooled over features): "
                   + ", ".join(f"{role} {v:.3g}" for role, v in zip(THREE_CLASSES, values))))
        linear = by_role["linear"]
        if linear.non_constancy_probability is not None:
            claims.append(Claim(
                f"explain.linear_constant_on_log_odds:{claim_key(view.source)}", "nnprobe", f"On {view.source}: a logistic regression's derivative is constant on the log-odds, not "
                           "on the probability",
                bool(linear.non_constancy < 1e-9 < linear.non_constancy_probability),
                f"non-constancy {linear.non_constancy:.3g} on the log-odds, {linear.non_constancy_probability:.3g} "
                "on the probability (dp/dx = p (1 - p) w)"))
    return claims
