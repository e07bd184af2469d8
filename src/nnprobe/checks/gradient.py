"""Gradient check for any torch module: autograd's gradients (of the parameters and of the inputs) against
Richardson-extrapolated central differences in float64, each compared within its own estimated error."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nnprobe.errors import ConfigError

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": F.mse_loss,
    "sse": lambda out, target: ((out - target) ** 2).sum(),
    "cross_entropy": F.cross_entropy,
}
MACHINE_EPSILON = torch.finfo(torch.float64).eps  # 2.2e-16: spacing of float64 numbers near 1
DEFAULT_EPS = 1e-5  # relative step; balances truncation (~h^2) against rounding (~MACHINE_EPSILON / h)
DEFAULT_TOLERANCE = 1e-5  # relative error that always passes, however small the estimated error
DEFAULT_MAX_ELEMENTS = 1000  # tensors up to this size are checked element by element; larger ones on a sample
DEFAULT_DIRECTIONS = 3  # random directions per tensor whose derivative is checked (each covers every element)
SAFETY = 10.0  # allowed error in units of the estimated error; noise reaches ~4 sd in 1e5 comparisons
ERROR_FLOOR = 1e-8  # gradients smaller than this are compared absolutely by relative_error
PROBE_MULTIPLES = (1.0, -1.0, 2.0, -2.0)  # the loss is evaluated at p + m h for each m
# A loss evaluation's rounding errors at the four probes and at p enter the fourth difference
# f(2h) - 4 f(h) + 6 f(0) - 4 f(-h) + f(-2h) with weights whose squares sum to 70; f(0) is one evaluation shared
# by all probes, so across comparisons only the other four (squares summing to 34) vary.
FOURTH_DIFFERENCE_NOISE_GAIN = math.sqrt(34.0)
MEDIAN_ABS_NORMAL = 0.6745  # median of |z| for a standard normal z


@dataclass
class Comparison:
    """One autograd derivative against its finite-difference estimate."""

    where: str  # "element (3, 7)" (an index of the tensor) or "direction 2" (the third random direction)
    analytic: float  # autograd's derivative
    numeric: float  # Richardson-extrapolated central difference
    estimated_error: float  # of numeric: truncation + non-smoothness + rounding
    allowed_error: float  # max(tolerance * max(|analytic|, |numeric|), SAFETY * estimated_error)
    error_ratio: float  # |analytic - numeric| / allowed_error; above 1 fails


@dataclass
class ParameterCheck:
    """Agreement of autograd and finite differences on one parameter tensor, or on the inputs."""

    name: str  # the parameter's name in model.named_parameters(), or "inputs"
    shape: tuple[int, ...]
    n_checked: int  # elements compared one by one (all, or a seeded sample of max_elements; 0: none)
    n_directions: int  # random directions whose derivative was compared (each moves every element)
    max_abs_error: float  # max over checked elements of |a - f| (0 when none)
    max_rel_error: float  # max over checked elements of |a - f| / max(|a|, |f|, ERROR_FLOOR)
    max_error_ratio: float  # max over elements and directions of |a - f| / allowed error; above 1 fails
    worst: Comparison  # the comparison with that ratio
    loss_noise: float  # estimated rounding error of one loss evaluation while this tensor is probed


@dataclass
class GradientCheckResult:
    """Per-tensor errors and the verdict."""

    parameters: list[ParameterCheck]  # in the order of model.named_parameters()
    inputs: ParameterCheck | None  # d loss / d inputs; None if the inputs are not floating point or not checked
    max_rel_error: float  # over all checked elements (large where a gradient is tiny; the ratio decides)
    max_error_ratio: float  # over all tensors; the check passes when it is at most 1
    tolerance: float
    eps: float
    passed: bool


def relative_error(a: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Elementwise |a - f| / max(|a|, |f|, ERROR_FLOOR)."""
    return (a - f).abs() / torch.maximum(torch.maximum(a.abs(), f.abs()), torch.tensor(ERROR_FLOOR, dtype=a.dtype))


def losses_at(loss_fn: Callable[[], torch.Tensor], param: torch.Tensor, indices: torch.Tensor,
              values: torch.Tensor) -> torch.Tensor:
    """The loss with element ``indices[j]`` of ``param`` set to ``values[j, k]``, restoring it after each element.

    Parameters
    ----------
    loss_fn : callable () -> scalar tensor, reading ``param``
    param : Tensor, contiguous; changed in place while probing
    indices : LongTensor of shape (n,), flat indices into ``param``
    values : Tensor of shape (n, k)

    Returns
    -------
    Tensor of shape (n, k), float64
    """
    flat = param.data.view(-1)
    losses = []
    with torch.no_grad():
        for i, row in zip(indices.tolist(), values.tolist()):
            original = flat[i].item()
            for value in row:
                flat[i] = value
                losses.append(loss_fn().item())
            flat[i] = original
    return torch.tensor(losses, dtype=torch.float64).reshape(values.shape)


def central_differences(loss_fn: Callable[[], torch.Tensor], param: torch.Tensor, eps: float,
                        indices: torch.Tensor) -> torch.Tensor:
    """(L(p + eps) - L(p - eps)) / (2 eps) for each flat index of ``param``, restoring it after each probe."""
    center = param.data.view(-1)[indices].double()
    losses = losses_at(loss_fn, param, indices, center[:, None] + eps * torch.tensor([1.0, -1.0]))
    return ((losses[:, 0] - losses[:, 1]) / (2 * eps)).to(param.dtype)


def richardson_difference(losses: torch.Tensor, base_loss: float,
                          half_widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Richardson-extrapolated central difference and the two error indicators of each probe.

    With f(m) the loss at p + m h, D1 = (f(1) - f(-1)) / 2h and D2 = (f(2) - f(-2)) / 4h are central differences
    with truncation errors c h^2 and 4 c h^2, so (4 D1 - D2) / 3 cancels the h^2 term (error O(h^4)) and
    |D1 - D2| = 3 |c| h^2 bounds its truncation error generously. The fourth difference
    f(2) - 4 f(1) + 6 f(0) - 4 f(-1) + f(-2) is h^4 f'''' (negligible) on a smooth loss, but about
    |slope change| * h where a kink (a ReLU switching) lies within 2h, and otherwise measures rounding noise.

    Parameters
    ----------
    losses : Tensor of shape (n, 4), the loss at p + h, p - h, p + 2h, p - 2h (PROBE_MULTIPLES)
    base_loss : the loss at p
    half_widths : Tensor of shape (n, 2), the actual h and 2h, i.e. half of (p + h) - (p - h) and (p + 2h) - (p - 2h)

    Returns
    -------
    numeric : Tensor of shape (n,), (4 D1 - D2) / 3
    truncation : Tensor of shape (n,), |D1 - D2|
    fourth_difference : Tensor of shape (n,), |f(2) - 4 f(1) + 6 f(0) - 4 f(-1) + f(-2)| in loss units
    """
    up, down, far_up, far_down = losses.unbind(1)
    d1 = (up - down) / (2 * half_widths[:, 0])
    d2 = (far_up - far_down) / (2 * half_widths[:, 1])
    fourth_difference = (far_up - 4 * up + 6 * base_loss - 4 * down + far_down).abs()
    return (4 * d1 - d2) / 3, (d1 - d2).abs(), fourth_difference


def noise_from_fourth_differences(fourth_difference: torch.Tensor) -> float:
    """Rounding noise (standard deviation) of one loss evaluation, from the median |fourth difference|.

    The median ignores the few probes that straddle a kink; see FOURTH_DIFFERENCE_NOISE_GAIN.
    """
    return float(fourth_difference.median()) / (MEDIAN_ABS_NORMAL * FOURTH_DIFFERENCE_NOISE_GAIN)


def loss_and_rounding(loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], output: torch.Tensor,
                      targets: torch.Tensor) -> tuple[float, float]:
    """The loss, and the rounding error of one evaluation from its last steps (a first-order estimate).

    Each output is off by up to about MACHINE_EPSILON * |output_j|, which moves the loss by |dL/d output_j| times
    that, and the loss's own value is rounded: MACHINE_EPSILON * (|L| + sum_j |dL/d output_j * output_j|). This sees
    the cancellation of a squared error between large nearly equal outputs and targets, which |L| does not.

    Parameters
    ----------
    loss_fn : callable (output, targets) -> scalar tensor
    output : Tensor, the model's output (float64)
    targets : Tensor
    """
    output = output.detach().requires_grad_(True)
    loss = loss_fn(output, targets)
    (loss_by_output,) = torch.autograd.grad(loss, output)
    value = loss.detach().item()
    return value, MACHINE_EPSILON * (abs(value) + float((loss_by_output * output.detach()).abs().sum()))


@dataclass
class _TensorProbes:
    """A tensor's comparisons before the error allowance: elements first, then directions."""

    name: str
    shape: tuple[int, ...]
    indices: torch.Tensor  # [n_checked] flat indices of the checked elements
    n_directions: int
    analytic: torch.Tensor  # [n_checked + n_directions]
    numeric: torch.Tensor  # [n_checked + n_directions]
    truncation: torch.Tensor  # [n_checked + n_directions] |D1 - D2|
    fourth_difference: torch.Tensor  # [n_checked + n_directions]
    step: torch.Tensor  # [n_checked + n_directions] h, in the units of the derivative's variable

    def where(self, k: int) -> str:
        if k < len(self.indices):
            index = torch.unravel_index(self.indices[k], self.shape)
            return f"element {tuple(int(i) for i in index)}"
        return f"direction {k - len(self.indices)}"


def _probe_directions(loss_fn: Callable[[], torch.Tensor], tensor: torch.Tensor, flat: torch.Tensor,
                      flat_grad: torch.Tensor, eps: float, n_directions: int,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss at p + t d, t = +-eps, +-2 eps, along random directions d = v * max(1, |p|), v standard normal.

    Returns the losses, shape (n_directions, 4) in the order of PROBE_MULTIPLES, and autograd's derivatives along
    the displacements actually probed (the rounded points minus p, over t), combined as Richardson combines the
    losses, shape (n_directions,).
    """
    multiples = torch.tensor(PROBE_MULTIPLES, dtype=torch.float64)
    scale = flat.abs().clamp(min=1.0)
    losses, analytic = [], []
    with torch.no_grad():
        for _ in range(n_directions):
            direction = torch.randn(len(flat), generator=generator, dtype=torch.float64) * scale  # [n]
            points = flat + eps * multiples[:, None] * direction  # [4, n]
            for point in points:
                tensor.data.copy_(point.view(tensor.shape))
                losses.append(loss_fn().item())
            tensor.data.copy_(flat.view(tensor.shape))
            displacement = (points - flat) / (eps * multiples[:, None])  # [4, n]
            effective = (4 * (displacement[0] + displacement[1]) - (displacement[2] + displacement[3])) / 6  # [n]
            analytic.append(float(flat_grad @ effective))
    return (torch.tensor(losses, dtype=torch.float64).reshape(n_directions, 4),
            torch.tensor(analytic, dtype=torch.float64))


def _probe_tensor(loss_fn: Callable[[], torch.Tensor], base_loss: float, name: str, tensor: torch.Tensor,
                  grad: torch.Tensor, eps: float, max_elements: int | None, n_directions: int,
                  generator: torch.Generator) -> _TensorProbes:
    """Finite differences of the loss for a sample of ``tensor``'s elements and for random directions."""
    n = tensor.numel()
    indices = (torch.arange(n) if max_elements is None or n <= max_elements
               else torch.randperm(n, generator=generator)[:max_elements])
    flat = tensor.detach().cpu().reshape(-1).clone()  # the values at p, kept while the tensor is probed
    flat_grad = grad.detach().cpu().reshape(-1)

    # Step h = eps * max(1, |p|), as scipy's approx_derivative. The differences divide by the actual distances
    # between the probes (p + h rounds in float64), so the rounding of the probe points costs no accuracy.
    center = flat[indices]
    points = center[:, None] + (eps * center.abs().clamp(min=1.0))[:, None] * torch.tensor(PROBE_MULTIPLES,
                                                                                           dtype=torch.float64)
    element_losses = losses_at(loss_fn, tensor, indices, points)  # [n_checked, 4]
    element_half_widths = torch.stack([points[:, 0] - points[:, 1], points[:, 2] - points[:, 3]], 1) / 2

    direction_losses, direction_analytic = _probe_directions(loss_fn, tensor, flat, flat_grad, eps, n_directions,
                                                             generator)
    direction_half_widths = torch.tensor([[eps, 2 * eps]], dtype=torch.float64).expand(n_directions, 2)

    half_widths = torch.cat([element_half_widths, direction_half_widths])
    numeric, truncation, fourth_difference = richardson_difference(
        torch.cat([element_losses, direction_losses]), base_loss, half_widths)
    analytic = torch.cat([flat_grad[indices], direction_analytic])
    return _TensorProbes(name, tuple(tensor.shape), indices, n_directions, analytic, numeric, truncation,
                         fourth_difference, step=half_widths[:, 0])


def _judge(probes: _TensorProbes, loss_noise: float, tolerance: float) -> ParameterCheck:
    """Each comparison against its allowed error; the tensor's worst."""
    estimated = probes.truncation + (probes.fourth_difference + loss_noise) / probes.step
    allowed = torch.maximum(tolerance * torch.maximum(probes.analytic.abs(), probes.numeric.abs()),
                            SAFETY * estimated)
    error = (probes.analytic - probes.numeric).abs()
    ratio = torch.where(error == 0, 0.0, error / allowed)
    k = int(ratio.argmax())
    n_checked = len(probes.indices)
    elements_analytic, elements_numeric = probes.analytic[:n_checked], probes.numeric[:n_checked]
    return ParameterCheck(
        name=probes.name, shape=probes.shape, n_checked=n_checked, n_directions=probes.n_directions,
        max_abs_error=float(error[:n_checked].max()) if n_checked else 0.0,
        max_rel_error=float(relative_error(elements_analytic, elements_numeric).max()) if n_checked else 0.0,
        max_error_ratio=float(ratio[k]),
        worst=Comparison(probes.where(k), float(probes.analytic[k]), float(probes.numeric[k]),
                         float(estimated[k]), float(allowed[k]), float(ratio[k])),
        loss_noise=loss_noise,
    )


def gradient_check(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = "mse",
    eps: float = DEFAULT_EPS,
    tolerance: float = DEFAULT_TOLERANCE,
    max_elements: int | None = DEFAULT_MAX_ELEMENTS,
    n_directions: int = DEFAULT_DIRECTIONS,
    check_inputs: bool = True,
    seed: int = 0,
) -> GradientCheckResult:
    """Compare autograd's gradient of ``loss(model(inputs), targets)`` with finite differences.

    The model is copied to float64 and put in eval mode (dropout off), so the check is deterministic and
    precise; neither the model nor the inputs are touched. Every parameter, and the inputs when they are
    floating point, is checked the same way:

    - **Elements.** Tensors of up to ``max_elements`` elements are checked element by element; larger ones on
      a seeded sample of ``max_elements`` distinct elements. A sample of k misses all of m wrong elements among
      N with probability C(N - m, k) / C(N, k) <= (1 - m/N)^k: a sign error in 1% of a 100x100 weight
      (m = 100, N = 10 000) escapes the default k = 1000 with probability 2.5e-5 (<= 0.99^1000 = 4.3e-5); the
      former k = 200 missed it with probability 0.13.
    - **Directions.** ``n_directions`` derivatives along random directions d = v * max(1, |p|), v standard
      normal, compare grad . d with the difference of L(p + t d): each covers every element, as the fast mode
      of torch.autograd.gradcheck. If autograd returns g + e instead of g, (e . d) / (g . d) follows about a
      Cauchy law of scale |e| / |g|, so one direction misses the error with probability about
      (2 / pi) * tolerance * |g| / |e| (while the estimated error is below tolerance * |g . d|): 3e-5 for sign
      errors in 1% of the elements (|e| / |g| = 0.2), 3e-4 for a single one among 10 000.

    **Finite differences.** Element p is probed at p +- h and p +- 2h with h = eps * max(1, |p|) (directions at
    t = +-eps, +-2 eps). The two central differences D1 (step h) and D2 (step 2h) are combined by Richardson
    extrapolation, f = (4 D1 - D2) / 3, whose truncation error is O(h^4). Its error is estimated as

        estimated = |D1 - D2| + (|fourth difference| + noise) / h

    where |D1 - D2| = 3 |c| h^2 bounds the truncation error of D1 (hence, generously, of f); the fourth
    difference f(2h) - 4 f(h) + 6 f(p) - 4 f(-h) + f(-2h) is ~0 on a smooth loss but of the order of the slope
    change times h when a kink (a ReLU switching) lies within 2h of p, where on a piecewise linear loss it and
    |D1 - D2| together exceed f's error by at least 1.5x; and ``noise`` is the rounding error of one loss
    evaluation, the largest of two estimates: MACHINE_EPSILON * (|L| + sum_j |dL/d output_j * output_j|), the
    rounding of the outputs and of the loss (see loss_and_rounding), and the noise measured from the median
    |fourth difference| of this tensor and of all tensors, which sees rounding inside the model. Rounding makes
    f wrong by about 0.95 noise / h (standard deviation), far below SAFETY * noise / h.

    **Criterion.** A comparison of autograd's a with f passes when

        |a - f| <= allowed = max(tolerance * max(|a|, |f|), SAFETY * estimated),  SAFETY = 10,

    and the check passes when all do. ``error_ratio = |a - f| / allowed`` is reported per tensor (its worst),
    so the distance to failing is visible. On 20-64-10 tanh MLPs with cross-entropy and eps = 1e-5, estimated
    is 1.1e-10 |L| (median; at most 4.4e-10 |L|), so a gradient element of only 1e-6 |L| passes (the former fixed
    relative tolerance failed such elements), while an error of 1% is detectable on every element above about
    1e-7 |L| (99.99% of them).

    Parameters
    ----------
    model : torch.nn.Module
    inputs : Tensor, the model's input batch
    targets : Tensor, what ``loss`` compares the output with
    loss : "mse", "sse", "cross_entropy", or a callable (output, targets) -> scalar tensor
    eps : relative finite-difference step (h = eps * max(1, |p|)); 1e-5 balances truncation and rounding
    tolerance : relative error that passes whatever the estimated error (a 1% error needs tolerance < 0.01)
    max_elements : tensors up to this size are checked exhaustively, larger ones on a seeded sample of this
        size; None checks every element, 0 none (directions only)
    n_directions : random directions per tensor whose derivative is checked; 0 checks elements only
    check_inputs : also check d loss / d inputs (when the inputs are floating point), reported as "inputs"
    seed : seed of the element sample and the directions

    Returns
    -------
    GradientCheckResult

    Notes
    -----
    Each comparison costs four loss evaluations (a forward pass each): a 20-64-10 MLP on 20 rows (1994
    parameters, 400 inputs; 2114 elements and 15 directions checked) takes 0.34-0.5 s on one CPU thread. On a
    busy machine torch's extra threads can make such tiny forward passes ten times slower;
    ``torch.set_num_threads(1)`` avoids that.
    """
    loss_fn = LOSSES.get(loss) if isinstance(loss, str) else loss
    if loss_fn is None:
        raise ConfigError(f"loss {loss!r} is unknown: use one of {', '.join(LOSSES)} or pass a callable.")
    if not 0 < eps < 0.1:
        raise ConfigError(f"eps={eps} must be in (0, 0.1), e.g. {DEFAULT_EPS}: it is the step relative to max(1, |p|).")
    if not 0 <= tolerance < 1:
        raise ConfigError(f"tolerance={tolerance} must be in [0, 1), e.g. {DEFAULT_TOLERANCE}.")
    if max_elements is not None and max_elements < 0:
        raise ConfigError(f"max_elements={max_elements} must be 0 or more (0 checks directions only), or None "
                          f"to check every element.")
    if n_directions < 0:
        raise ConfigError(f"n_directions={n_directions} must be 0 or more, e.g. {DEFAULT_DIRECTIONS}.")
    if max_elements == 0 and n_directions == 0:
        raise ConfigError("max_elements=0 and n_directions=0 leave nothing to check: raise either.")
    checked = copy.deepcopy(model).double().eval()
    named = [(name, p) for name, p in checked.named_parameters() if p.requires_grad and p.numel() > 0]
    check_inputs = check_inputs and inputs.is_floating_point()
    if not named and not check_inputs:
        raise ConfigError("the model has no trainable parameters to check and the inputs are not checked.")
    # A float64 copy, which the probes may change in place without touching the caller's tensor.
    x = inputs.detach().double().clone(memory_format=torch.contiguous_format) if inputs.is_floating_point() else inputs
    if check_inputs:
        x.requires_grad_(True)
        named.append(("inputs", x))
    t = targets.double() if targets.is_floating_point() else targets

    def total() -> torch.Tensor:
        return loss_fn(checked(x), t)

    grads = torch.autograd.grad(total(), [p for _, p in named], allow_unused=True)
    with torch.no_grad():
        output = checked(x)
    base_loss, output_rounding = loss_and_rounding(loss_fn, output, t)
    generator = torch.Generator().manual_seed(seed)
    probes = [_probe_tensor(total, base_loss, name, p, torch.zeros_like(p) if g is None else g.double(), eps,
                            max_elements, n_directions, generator)
              for (name, p), g in zip(named, grads)]
    pooled_noise = noise_from_fourth_differences(torch.cat([p.fourth_difference for p in probes]))
    floor_noise = max(output_rounding, pooled_noise)
    results = [_judge(p, max(floor_noise, noise_from_fourth_differences(p.fourth_difference)), tolerance)
               for p in probes]
    input_result = results.pop() if check_inputs else None
    everything = results + ([input_result] if input_result else [])
    worst_ratio = max(r.max_error_ratio for r in everything)
    return GradientCheckResult(results, input_result, max(r.max_rel_error for r in everything), worst_ratio,
                               tolerance, eps, passed=worst_ratio <= 1)
