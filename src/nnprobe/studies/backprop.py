"""Study `backprop` (seed 003, "A Gentle Introduction to Neural Networks"): y = 4x learned from the guess
w = 2 with every number checkable by hand, finite differences against backpropagation, the seed's 4-2-1
network (tied and fully connected), and a 64-h-10 network on the ten digits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnprobe.errors import ConfigError
from nnprobe.limits import (
    MAX_EPOCHS,
    MAX_WIDTH,
    check_int,
    check_number,
    check_rate,
    check_seed,
    check_training,
    step_flops,
)
from nnprobe.nn.mlp import ACTIVATIONS
from nnprobe.studies import Claim, Progress, derive_seed, no_progress
from nnprobe.threads import check_threads

MAX_WEIGHT = 1e6  # |w0|, |slope|, far w: the squared errors of the walkthrough stay far from overflow
MAX_STEPS = 100_000
DIGITS_TRAIN_ROWS = 1347  # scikit-learn's 1797 digits less the held-out quarter

# The seed's printed numbers, as printed (strings keep their stated precision). Our errata compare them with
# computed values; nothing below is used as a result.
SEED_ERROR_TABLE = [  # "Step 3: Error": x, actual y, predicted y' (w = 2), squared error
    ("0", "0", "0", "0"), ("1", "4", "2", "4"), ("2", "8", "4", "16"), ("3", "12", "6", "36"), ("4", "16", "8", "64"),
]
SEED_ERROR_TOTAL = "120"
SEED_PROBE_TABLE = [  # "Derivatives": x, y, y'@2, err@2, y'@2.0001, err@2.0001, y'@1.9999, err@1.9999
    ("0", "0", "0", "0", "0", "0", "0", "0"),
    ("1", "4", "2", "2", "2.0001", "3.99", "1.9999", "4.0004"),
    ("2", "8", "4", "16", "4.0002", "15.99", "3.9998", "16.0016"),
    ("3", "12", "6", "36", "6.0003", "35.99", "5.9997", "36.0036"),
    ("4", "16", "8", "64", "8.0004", "63.99", "7.9996", "64.006"),
    ("4", "16", "8", "64", "8.0004", "63.99", "7.9996", "64.006"),
]
SEED_PROBE_TOTALS = ("120", "119.988", "120.012")  # at w = 2, 2.0001, 1.9999
SEED_PROBE_CHANGE = "0.012"  # "the loss decreased by 0.012"
SEED_SLOPE = "120"  # "the loss decreased by 120 times (0.012 / 0.0001)"
SEED_FAR_LOSS = "270"  # "weight ... 7, the loss increases to 270"


@dataclass
class BackpropConfig:
    """Options of the backprop study."""

    slope: float = 4.0  # the rule to learn, y = slope * x
    n_points: int = 5  # x = 0, 1, ..., n_points - 1
    w0: float = 2.0  # the seed's first guess
    probe: float = 1e-4  # the seed's finite-difference step
    far_w: float = 7.0  # the seed's second, far guess
    lr: float = 0.015  # gradient-descent step on the total squared error (from w = 2: the loss falls 100x a step)
    steps: int = 50  # most descent steps (and rows of the descent table)
    tolerance: float = 1e-6  # stop when the total squared error falls below this (the seed's 0.000001)
    net_activation: str = "sigmoid"  # hidden activation of the 4-2-1 networks
    net_target: float = 1.0  # target of the 4-2-1 networks' single output
    hidden: int = 32  # hidden units of the digits network 64-hidden-10
    epochs: int = 150  # training epochs on the digits
    digits_lr: float = 0.01  # Adam learning rate on the digits
    test_size: float = 0.25  # held-out share of the digits
    seed: int = 0  # master seed: 4-2-1 inputs and weights, digits split and init
    device: str = "auto"  # auto, cpu or cuda
    threads: int | None = None  # None: chosen from the size of the work and the cores free now

    def __post_init__(self) -> None:
        for name in ("slope", "w0", "far_w", "net_target"):
            setattr(self, name, check_number(name, getattr(self, name), low=-MAX_WEIGHT, high=MAX_WEIGHT))
        self.n_points = check_int("n_points", self.n_points, 2, 10_000)
        self.probe = check_number("probe", self.probe, low=0.0, high=1.0, low_open=True, example="1e-4")
        self.lr = check_rate("lr (--lr)", self.lr, example="0.015")
        self.digits_lr = check_rate("digits_lr", self.digits_lr)
        self.steps = check_int("steps (--steps)", self.steps, 1, MAX_STEPS)
        self.tolerance = check_number("tolerance (--tolerance)", self.tolerance, low=0.0, high=1e6, low_open=True,
                                      example="1e-6")
        self.hidden = check_int("hidden (--hidden)", self.hidden, 1, MAX_WIDTH)
        self.epochs = check_int("epochs (--epochs)", self.epochs, 0, MAX_EPOCHS)
        self.test_size = check_number("test_size", self.test_size, low=0.0, high=1.0, low_open=True, high_open=True)
        self.seed = check_seed(self.seed)
        self.threads = check_threads(self.threads)
        if self.net_activation not in ACTIVATIONS:
            raise ConfigError(f"net_activation {self.net_activation!r} is unknown: use one of {', '.join(ACTIVATIONS)}.")
        check_training("the digits network", "lower --hidden or --epochs", sizes=(64, self.hidden, 10), members=1,
                       rows=DIGITS_TRAIN_ROWS, epochs=self.epochs, device=self.device)

    @classmethod
    def small(cls, **overrides) -> BackpropConfig:
        """A seconds-long configuration for tests and a first look."""
        return cls(**{**dict(hidden=16, epochs=40, digits_lr=0.02), **overrides})


# ---- Part 1: y = slope * x from one weight -------------------------------------------------------------------


def total_squared_error(w: float, xs: np.ndarray, slope: float) -> float:
    """L(w) = sum (slope*x - w*x)^2 = (slope - w)^2 * sum x^2."""
    return float(((slope * xs - w * xs) ** 2).sum())


def closed_form_slope(w: float, xs: np.ndarray, slope: float) -> float:
    """dL/dw = -2 * sum x * (slope*x - w*x) = -2 (slope - w) sum x^2."""
    return float(-2 * (xs * (slope * xs - w * xs)).sum())


def autograd_slope(w: float, xs: np.ndarray, slope: float) -> float:
    """dL/dw by PyTorch's autograd, in float64."""
    import torch

    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    x = torch.from_numpy(xs.astype(np.float64))
    ((slope * x - wt * x) ** 2).sum().backward()
    return float(wt.grad)


def central_slope(w: float, xs: np.ndarray, slope: float, h: float) -> float:
    """(L(w + h) - L(w - h)) / 2h."""
    return (total_squared_error(w + h, xs, slope) - total_squared_error(w - h, xs, slope)) / (2 * h)


@dataclass
class ForwardRow:
    x: float
    y: float
    y_pred: float
    squared_error: float


@dataclass
class Probe:
    """The seed's finite-difference probe around w0."""

    h: float
    loss: float  # at w0
    loss_up: float  # at w0 + h
    loss_down: float  # at w0 - h
    slope_forward: float  # (L(w0 + h) - L(w0)) / h
    slope_backward: float  # (L(w0) - L(w0 - h)) / h
    slope_central: float  # (L(w0 + h) - L(w0 - h)) / 2h
    slope_exact: float  # closed form
    far_w: float
    far_loss: float


@dataclass
class DescentStep:
    step: int
    w: float
    loss: float
    grad_closed_form: float
    grad_autograd: float
    grad_finite_difference: float


@dataclass
class Erratum:
    """A number of the seed that disagrees with the computed one."""

    where: str  # e.g. "derivatives, x = 1: (y − y')² at w = 2"
    stated: str  # as printed
    computed: float | None  # None for a structural erratum (a repeated row)
    kind: str  # "wrong", "truncated" (cut, not rounded, at its stated precision) or "repeated row"


@dataclass
class LineResult:
    xs: list[float]
    ys: list[float]
    w0: float
    forward: list[ForwardRow]
    total: float
    probe: Probe
    lr: float
    descent: list[DescentStep]
    steps_to_tolerance: int | None  # first step with loss < tolerance, or None within the step budget
    diverged_at: int | None  # first step whose loss overflowed (the table stops before it), or None
    stable_lr: float  # 1 / sum x^2: below it each step shrinks the error (by |1 - 2 lr sum x^2|), above it grows
    errata: list[Erratum]
    n_seed_values_checked: int


def check_stated(where: str, stated: str, computed: float) -> Erratum | None:
    """An erratum when ``stated`` disagrees with ``computed`` at the stated number of decimals."""
    decimals = len(stated.partition(".")[2])
    value = float(stated)
    if abs(round(computed, decimals) - value) < 1e-9:
        return None
    kind = "truncated" if abs(computed - value) < 10.0**-decimals else "wrong"
    return Erratum(where, stated, computed, kind)


def seed_errata(xs: np.ndarray, slope: float, w0: float, h: float, far_w: float) -> tuple[list[Erratum], int]:
    """Compare every number the seed prints for y = 4x with ours; returns the errata and how many were checked.

    Only meaningful for the seed's own set-up (y = 4x, x = 0..4, w0 = 2, h = 1e-4, far w = 7).
    """
    checks: list[tuple[str, str, float]] = []
    for x_s, y_s, p_s, e_s in SEED_ERROR_TABLE:
        x = float(x_s)
        checks += [(f"error, x = {x_s}: y", y_s, slope * x),
                   (f"error, x = {x_s}: y'", p_s, w0 * x),
                   (f"error, x = {x_s}: (y − y')²", e_s, (slope * x - w0 * x) ** 2)]
    checks.append(("error: total", SEED_ERROR_TOTAL, total_squared_error(w0, xs, slope)))
    seen = set()
    errata = []
    for row in SEED_PROBE_TABLE:
        x = float(row[0])
        if row in seen:
            errata.append(Erratum(f"derivatives, x = {row[0]}", "row printed twice", None, "repeated row"))
            continue
        seen.add(row)
        for (p_s, e_s), w, label in zip(zip(row[2::2], row[3::2]), (w0, w0 + h, w0 - h),
                                         (f"{w0:g}", f"{w0 + h:g}", f"{w0 - h:g}")):
            checks += [(f"derivatives, x = {row[0]}: y' at w = {label}", p_s, w * x),
                       (f"derivatives, x = {row[0]}: (y − y')² at w = {label}", e_s, (slope * x - w * x) ** 2)]
    for stated, w in zip(SEED_PROBE_TOTALS, (w0, w0 + h, w0 - h)):
        checks.append((f"derivatives: total at w = {w:g}", stated, total_squared_error(w, xs, slope)))
    base = total_squared_error(w0, xs, slope)
    checks += [
        ("text: loss change for +0.0001", SEED_PROBE_CHANGE, base - total_squared_error(w0 + h, xs, slope)),
        ("text: slope (loss change / 0.0001)", SEED_SLOPE, -closed_form_slope(w0, xs, slope)),
        (f"text: loss at w = {far_w:g}", SEED_FAR_LOSS, total_squared_error(far_w, xs, slope)),
    ]
    errata += [e for e in (check_stated(*c) for c in checks) if e is not None]
    return errata, len(checks)


def run_line(c: BackpropConfig) -> LineResult:
    """Part 1: the forward table, the finite-difference probe, and gradient descent through the engine."""
    import torch

    from nnprobe.data import synthetic
    from nnprobe.nn import Ensemble, MLPSpec, TrainConfig, Trainer

    data = synthetic.line(slope=c.slope, n=c.n_points)
    xs = data.X[:, 0].astype(np.float64)
    loss = lambda w: total_squared_error(w, xs, c.slope)  # noqa: E731
    forward = [ForwardRow(float(x), float(c.slope * x), float(c.w0 * x), float((c.slope * x - c.w0 * x) ** 2))
               for x in xs]
    h = c.probe
    probe = Probe(
        h=h, loss=loss(c.w0), loss_up=loss(c.w0 + h), loss_down=loss(c.w0 - h),
        slope_forward=(loss(c.w0 + h) - loss(c.w0)) / h, slope_backward=(loss(c.w0) - loss(c.w0 - h)) / h,
        slope_central=central_slope(c.w0, xs, c.slope, h), slope_exact=closed_form_slope(c.w0, xs, c.slope),
        far_w=c.far_w, far_loss=loss(c.far_w),
    )

    # Gradient descent on the total squared error, through the engine: a one-weight network y' = w x, in float64
    # so that the table shows w = 3.8, not float32's 3.79999995.
    model = Ensemble(MLPSpec((1, 1), bias=False), seeds=[0]).double()
    with torch.no_grad():
        model.weights[0].fill_(c.w0)
    weights: list[float] = []
    cfg = TrainConfig(epochs=c.steps, lr=c.lr, optimizer="sgd", momentum=0.0, loss="sse", stop_loss=c.tolerance)
    Trainer(model, cfg).fit(torch.from_numpy(data.X.astype(np.float64)), torch.from_numpy(data.y.astype(np.float64)),
                            on_record=lambda _e: weights.append(float(model.weights[0].item())))
    descent, diverged_at = [], None
    for step, w in enumerate(weights):
        with np.errstate(over="ignore"):  # a diverging descent overflows: that is what is checked here
            overflowed = not np.isfinite(loss(w))
        if overflowed:
            diverged_at = step  # the loss overflowed: every later step is infinite or NaN
            break
        descent.append(DescentStep(step, w, loss(w), closed_form_slope(w, xs, c.slope), autograd_slope(w, xs, c.slope),
                                   central_slope(w, xs, c.slope, h)))
        if descent[-1].loss < c.tolerance:
            break  # the engine stops this member here; later records repeat the same weight
    reached = [d.step for d in descent if d.loss < c.tolerance]
    seed_setup = (c.slope, c.n_points, c.w0, c.probe, c.far_w) == (4.0, 5, 2.0, 1e-4, 7.0)
    errata, n_checked = seed_errata(xs, c.slope, c.w0, h, c.far_w) if seed_setup else ([], 0)
    return LineResult(xs=xs.tolist(), ys=(c.slope * xs).tolist(), w0=c.w0, forward=forward,
                      total=loss(c.w0), probe=probe, lr=c.lr, descent=descent,
                      steps_to_tolerance=reached[0] if reached else None, diverged_at=diverged_at,
                      stable_lr=1 / (xs**2).sum(), errata=errata, n_seed_values_checked=n_checked)


# ---- Part 2: the 4-2-1 network -------------------------------------------------------------------------------


@dataclass
class NodeValue:
    name: str
    value: float


@dataclass
class WeightGradient:
    name: str
    value: float
    autograd: float
    finite_difference: float
    relative_error: float


@dataclass
class NetworkResult:
    kind: str  # "tied" (the seed's h1 = x1 w1 + x2 w1 + ...) or "fully connected"
    nodes: list[NodeValue]
    gradients: list[WeightGradient]
    max_relative_error: float


def _tied_module(activation: str):
    """The seed's 4-2-1 network: hidden node j sums all inputs times one weight w_j; y = v1 h1 + v2 h2."""
    import torch

    from nnprobe.nn.activations import activation as registry

    act = registry(activation).forward

    class Tied(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(2))  # w1, w2: one weight per hidden node
            self.v = torch.nn.Parameter(torch.zeros(2))  # v1, v2: hidden -> output

        def forward(self, x, return_nodes: bool = False):
            z = x.sum(-1, keepdim=True) * self.w  # [n, 2]: z_j = x1 w_j + x2 w_j + x3 w_j + x4 w_j
            h = act(z)
            y = h @ self.v[:, None]  # [n, 1]
            return (y, z, h) if return_nodes else y

    return Tied()


def _network_report(kind, module, x, target, names, nodes_of, eps) -> NetworkResult:
    import torch

    from nnprobe.checks.gradient import central_differences, relative_error

    module = module.double()
    x64 = x.double()
    t = torch.tensor([[target]], dtype=torch.float64)

    def loss():
        return ((module(x64) - t) ** 2).sum()

    params = list(module.parameters())
    grads = torch.autograd.grad(loss(), params)
    rows = []
    for p, g, pnames in zip(params, grads, names):
        fd = central_differences(loss, p, eps, torch.arange(p.numel()))
        err = relative_error(g.reshape(-1), fd)
        rows += [WeightGradient(n, float(v), float(a), float(f), float(e))
                 for n, v, a, f, e in zip(pnames, p.detach().reshape(-1), g.reshape(-1), fd, err)]
    with torch.no_grad():
        nodes = nodes_of(module, x64) + [NodeValue("loss (y - target)^2", float(loss()))]
    return NetworkResult(kind, nodes, rows, max(r.relative_error for r in rows))


def run_networks(c: BackpropConfig) -> tuple[NetworkResult, NetworkResult, float]:
    """Part 2: forward values and backprop-vs-finite-difference gradients of the tied and dense 4-2-1 nets.

    Returns (tied, dense, tie_error): tie_error is the largest gap between a tied weight's gradient and the
    sum of the dense gradients of the weights it ties, evaluated at equal weights (they must agree).
    """
    import torch

    from nnprobe.nn import Ensemble, MLPSpec
    from nnprobe.nn.activations import activation

    gen = torch.Generator().manual_seed(derive_seed(c.seed, 421))
    x = torch.randn(1, 4, generator=gen)
    inputs = [NodeValue(f"x{i + 1}", float(v)) for i, v in enumerate(x[0])]
    act = activation(c.net_activation).forward
    eps = 1e-6

    tied = _tied_module(c.net_activation)
    with torch.no_grad():  # nn.Linear's bounds: 1/sqrt(fan_in)
        tied.w.uniform_(-0.5, 0.5, generator=gen)
        tied.v.uniform_(-2**-0.5, 2**-0.5, generator=gen)

    def tied_nodes(m, x64):
        y, z, h = m(x64, return_nodes=True)
        return inputs + [NodeValue(f"z{j + 1} = w{j + 1}(x1 + x2 + x3 + x4)", float(z[0, j])) for j in range(2)] + \
            [NodeValue(f"h{j + 1} = {c.net_activation}(z{j + 1})", float(h[0, j])) for j in range(2)] + \
            [NodeValue("y = v1 h1 + v2 h2", float(y[0, 0]))]

    tied_result = _network_report("tied (the seed's formula)", tied, x, c.net_target,
                                  [["w1", "w2"], ["v1", "v2"]], tied_nodes, eps)

    dense = Ensemble(MLPSpec((4, 2, 1), c.net_activation, bias=False), seeds=[derive_seed(c.seed, 422)]).member(0)

    def dense_nodes(m, x64):
        z = m[0](x64)
        h = act(z)
        y = m[2](h)
        return inputs + [NodeValue(f"z{j + 1} = sum_i w{j + 1}{{i}} x_i", float(z[0, j])) for j in range(2)] + \
            [NodeValue(f"h{j + 1} = {c.net_activation}(z{j + 1})", float(h[0, j])) for j in range(2)] + \
            [NodeValue("y = v1 h1 + v2 h2", float(y[0, 0]))]

    dense_names = [[f"w{j + 1}{i + 1} (x{i + 1}->h{j + 1})" for j in range(2) for i in range(4)], ["v1", "v2"]]
    dense_result = _network_report("fully connected", dense, x, c.net_target, dense_names, dense_nodes, eps)

    # At equal weights, a tied weight's gradient is the sum of the gradients of the weights it ties.
    tied64 = tied.double()
    same = Ensemble(MLPSpec((4, 2, 1), c.net_activation, bias=False), seeds=[0]).member(0).double()
    with torch.no_grad():
        same[0].weight.copy_(tied64.w[:, None].expand(2, 4))
        same[2].weight.copy_(tied64.v[None, :])
    t = torch.tensor([[c.net_target]], dtype=torch.float64)
    g_tied = torch.autograd.grad(((tied64(x.double()) - t) ** 2).sum(), [tied64.w])[0]
    g_dense = torch.autograd.grad(((same(x.double()) - t) ** 2).sum(), [same[0].weight])[0]
    tie_error = float((g_tied - g_dense.sum(1)).abs().max())
    return tied_result, dense_result, tie_error


# ---- Part 3: the ten digits ----------------------------------------------------------------------------------


@dataclass
class DigitsResult:
    n_train: int
    n_test: int
    spec: str  # e.g. "64-32-10"
    epochs: list[int]  # recorded epochs
    train_accuracy: list[float]
    test_accuracy: list[float]
    train_loss: list[float]
    final_test_accuracy: float
    confusion: list[list[int]]  # [true class][predicted class] on the test set
    sample_images: list[list[list[float]]]  # [8][8][8] test digits
    sample_labels: list[int]
    sample_probabilities: list[list[float]]  # [8][10] predicted probability of each class


def run_digits(c: BackpropConfig, digits, progress: Progress) -> DigitsResult:
    """Part 3: a 64-h-10 network trained by the engine on scikit-learn's 8x8 digits."""
    import torch
    from sklearn.metrics import confusion_matrix

    from nnprobe.data import split
    from nnprobe.nn import MLPSpec, TrainConfig, resolve_device, train_network

    device = resolve_device(c.device)
    train, test = split(digits, test_size=c.test_size, seed=derive_seed(c.seed, 10))
    scale = 16.0  # pixel intensities are 0..16; the network sees them in [0, 1]
    spec = MLPSpec((64, c.hidden, 10))
    model, history = train_network(spec, train.X / scale, train.y, TrainConfig(epochs=c.epochs, lr=c.digits_lr,
                                                                               log_every=5),
                                   seed=derive_seed(c.seed, 11), device=device, x_eval=test.X / scale, y_eval=test.y,
                                   progress=progress)
    probs = model.predict_proba(torch.from_numpy(test.X / scale).to(model.device))[0].cpu().numpy()  # [n_test, 10]
    pred = probs.argmax(1)
    show = np.arange(8)
    return DigitsResult(
        n_train=train.n_samples, n_test=test.n_samples, spec=str(spec),
        epochs=history.epochs.tolist(), train_accuracy=history.train_accuracy[:, 0].tolist(),
        test_accuracy=history.heldout_accuracy[:, 0].tolist(), train_loss=history.loss[:, 0].tolist(),
        final_test_accuracy=float((pred == test.y).mean()),
        confusion=confusion_matrix(test.y, pred, labels=range(10)).tolist(),
        sample_images=test.X[show].reshape(-1, 8, 8).tolist(), sample_labels=test.y[show].tolist(),
        sample_probabilities=probs[show].tolist(),
    )


# ---- The study -----------------------------------------------------------------------------------------------


@dataclass
class BackpropResult:
    config: BackpropConfig
    line: LineResult
    tied: NetworkResult
    dense: NetworkResult
    tie_error: float
    digits: DigitsResult
    claims: list[Claim] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    threads: int = 1  # threads the study ran on (--threads, or chosen)


def load(config: BackpropConfig):
    """Part 3's data: scikit-learn's 8x8 digits."""
    from nnprobe.data import load as load_data

    return load_data("sklearn:digits")


def run(config: BackpropConfig, data, progress: Progress = no_progress) -> BackpropResult:
    """All three parts, part 3 on ``data`` (:func:`load`'s digits); progress counts digits epochs (the only part
    that takes time)."""
    from nnprobe.nn import resolve_device
    from nnprobe.threads import resolve_threads, using_threads

    t0 = time.perf_counter()
    threads = resolve_threads(config.threads, step_flops((64, config.hidden, 10), 1, DIGITS_TRAIN_ROWS))
    with using_threads(threads):
        line = run_line(config)
        tied, dense, tie_error = run_networks(config)
        digits = run_digits(config, data, progress)
    result = BackpropResult(config, line, tied, dense, tie_error, digits, device=str(resolve_device(config.device)),
                            threads=threads)
    result.claims = check_claims(result)
    result.seconds = time.perf_counter() - t0
    return result


def check_claims(r: BackpropResult) -> list[Claim]:
    c, line, p = r.config, r.line, r.line.probe
    seed_setup = line.n_seed_values_checked > 0  # the article's own numbers apply only to its own set-up
    untested = "not tested: the article's numbers are for y = 4x, x = 0..4, w = 2, a step of 0.0001 and w = 7"

    def article(claim_id: str, statement: str, holds: bool, evidence: str) -> Claim:
        return Claim(claim_id, "seed", statement, holds if seed_setup else None, evidence if seed_setup else untested)

    claims = [
        article("backprop.error_at_w2", "At w = 2 the total squared error is 120.", abs(line.total - 120) < 1e-9,
                f"(4 - w)^2 * sum x^2 = {line.total:g}"),
        article("backprop.nudge_slope", "Nudging w by 0.0001 changes the loss by about 0.012, a slope of -120.",
                abs(p.slope_central + 120) < 1e-6,
                f"L(w+h) = {p.loss_up:.7f}, L(w-h) = {p.loss_down:.7f}; central slope {p.slope_central:.6f}, "
                f"closed form {p.slope_exact:g}"),
        article("backprop.loss_at_w7", "At w = 7 the loss is 270.", abs(p.far_loss - 270) < 1e-9, f"L({p.far_w:g}) = {p.far_loss:g}"),
        Claim("backprop.descent_converges", "seed", f"Gradient descent drives the loss below {c.tolerance:g}.", line.steps_to_tolerance is not None,
              f"lr {c.lr:g}: loss < {c.tolerance:g} after {line.steps_to_tolerance} steps" if line.steps_to_tolerance
              is not None else f"not within {c.steps} steps at lr {c.lr:g}"
              + (f": the descent diverges for a rate of 1/Σx² = {line.stable_lr:.4g} or more" if c.lr >= line.stable_lr
                 else "")),
        Claim("backprop.autograd_matches_differences", "nnprobe", "Backpropagation (autograd) agrees with finite differences for every weight of both "
              "4-2-1 networks.", max(r.tied.max_relative_error, r.dense.max_relative_error) < 1e-5,
              f"largest relative error: tied {r.tied.max_relative_error:.1e}, dense {r.dense.max_relative_error:.1e}"),
        Claim("backprop.tied_gradient_is_sum", "nnprobe", "A tied weight's gradient is the sum of the gradients of the weights it ties.",
              r.tie_error < 1e-12, f"largest gap at equal weights: {r.tie_error:.1e}"),
        Claim("backprop.digits_classified", "seed", "With 10 output nodes a network classifies the digits 0-9 (we ask >= 0.95 held out).",
              r.digits.final_test_accuracy >= 0.95,
              f"{r.digits.spec} network, test accuracy {r.digits.final_test_accuracy:.3f} on {r.digits.n_test} digits"),
    ]
    if seed_setup:
        wrong = [e for e in line.errata if e.kind != "truncated"]
        claims.append(Claim("backprop.article_numbers_right", "nnprobe", "Every number the article prints for y = 4x is right.", not line.errata,
                            f"{line.n_seed_values_checked} values checked; {len(wrong)} wrong or repeated, "
                            f"{len(line.errata) - len(wrong)} truncated instead of rounded (see errata)"))
    return claims
