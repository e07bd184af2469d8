"""Gradient check for any torch module: autograd's gradients against central finite differences in float64."""

from __future__ import annotations

import copy
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
DEFAULT_TOLERANCE = 1e-5  # max relative error for a pass; float64 central differences reach ~1e-9 on smooth nets
ERROR_FLOOR = 1e-8  # gradients smaller than this are compared absolutely (relative error is meaningless near 0)


@dataclass
class ParameterCheck:
    """Agreement of autograd and finite differences on one parameter tensor."""

    name: str
    shape: tuple[int, ...]
    n_checked: int  # elements compared (all, or a seeded sample of max_elements)
    max_abs_error: float
    max_rel_error: float  # max over checked elements of |a - f| / max(|a|, |f|, ERROR_FLOOR)


@dataclass
class GradientCheckResult:
    """Per-parameter errors and the verdict."""

    parameters: list[ParameterCheck]
    max_rel_error: float
    tolerance: float
    eps: float
    passed: bool


def relative_error(a: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Elementwise |a - f| / max(|a|, |f|, ERROR_FLOOR)."""
    return (a - f).abs() / torch.maximum(torch.maximum(a.abs(), f.abs()), torch.tensor(ERROR_FLOOR, dtype=a.dtype))


def central_differences(loss_fn: Callable[[], torch.Tensor], param: torch.Tensor, eps: float,
                        indices: torch.Tensor) -> torch.Tensor:
    """(L(p + eps) - L(p - eps)) / (2 eps) for each flat index of ``param``, restoring it after each probe."""
    flat = param.data.view(-1)
    out = torch.empty(len(indices), dtype=param.dtype)
    with torch.no_grad():
        for j, i in enumerate(indices.tolist()):
            original = flat[i].item()
            flat[i] = original + eps
            up = loss_fn().item()
            flat[i] = original - eps
            down = loss_fn().item()
            flat[i] = original
            out[j] = (up - down) / (2 * eps)
    return out


def gradient_check(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = "mse",
    eps: float = 1e-6,
    tolerance: float = DEFAULT_TOLERANCE,
    max_elements: int | None = 200,
    seed: int = 0,
) -> GradientCheckResult:
    """Compare autograd's gradient of ``loss(model(inputs), targets)`` with central finite differences.

    The model is copied to float64 and put in eval mode (dropout off), so the check is deterministic and
    precise; the original model is not touched. The check passes when every compared element has a relative
    error ``|a - f| / max(|a|, |f|, 1e-8)`` at most ``tolerance`` (default 1e-5: float64 central differences
    with eps = 1e-6 agree with a correct backward to ~1e-8 on smooth functions; a wrong backward is usually off
    by order 1). A ReLU kink within eps of a probe can cause a false alarm; re-run with another eps.

    Parameters
    ----------
    model : torch.nn.Module
    inputs : Tensor, the model's input batch
    targets : Tensor, what ``loss`` compares the output with
    loss : "mse", "sse", "cross_entropy", or a callable (output, targets) -> scalar tensor
    eps : finite-difference step
    tolerance : largest relative error that passes
    max_elements : compare at most this many elements per parameter (a seeded sample); None compares all
    seed : seed of that sample
    """
    loss_fn = LOSSES.get(loss) if isinstance(loss, str) else loss
    if loss_fn is None:
        raise ConfigError(f"loss {loss!r} is unknown: use one of {', '.join(LOSSES)} or pass a callable.")
    if not eps > 0:
        raise ConfigError(f"eps={eps} must be positive, e.g. 1e-6.")
    checked = copy.deepcopy(model).double().eval()
    x = inputs.double() if inputs.is_floating_point() else inputs
    t = targets.double() if targets.is_floating_point() else targets

    def total() -> torch.Tensor:
        return loss_fn(checked(x), t)

    named = [(name, p) for name, p in checked.named_parameters() if p.requires_grad]
    if not named:
        raise ConfigError("the model has no trainable parameters to check.")
    grads = torch.autograd.grad(total(), [p for _, p in named], allow_unused=True)
    gen = torch.Generator().manual_seed(seed)
    results = []
    for (name, p), g in zip(named, grads):
        g = torch.zeros_like(p) if g is None else g
        n = p.numel()
        idx = torch.arange(n) if max_elements is None or n <= max_elements else torch.randperm(n, generator=gen)[:max_elements]
        numeric = central_differences(total, p, eps, idx)
        analytic = g.reshape(-1)[idx]
        results.append(ParameterCheck(
            name=name, shape=tuple(p.shape), n_checked=len(idx),
            max_abs_error=float((analytic - numeric).abs().max()),
            max_rel_error=float(relative_error(analytic, numeric).max()),
        ))
    worst = max(r.max_rel_error for r in results)
    return GradientCheckResult(results, worst, tolerance, eps, passed=worst <= tolerance)
