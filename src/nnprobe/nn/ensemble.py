"""M same-shaped MLPs stored as stacked tensors and evaluated in one batched computation.

A single model is an ensemble of one. Weights are ``[M, d_in, d_out]``, biases ``[M, 1, d_out]``; inputs are
either shared by every member (``[n, d_in]``) or each member's own (``[M, n, d_in]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from nnprobe.errors import ConfigError
from nnprobe.nn.mlp import MLPSpec, parse_init


ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
MODULES = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def init_member(spec: MLPSpec, scheme: str, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Initial (weight [d_in, d_out], bias [d_out]) pairs of one network, drawn from its own seeded generator.

    ``default`` reproduces ``torch.nn.Linear``: weight and bias uniform in +-1/sqrt(fan_in). Each member of an
    ensemble draws from a generator of its own, so a member starts exactly where a network trained alone with
    the same seed starts.
    """
    name, std = parse_init(scheme)
    gen = torch.Generator().manual_seed(int(seed))
    layers = []
    for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        if name == "zero":
            w, b = torch.zeros(fan_in, fan_out), torch.zeros(fan_out)
        elif name == "normal":
            w, b = torch.randn(fan_in, fan_out, generator=gen) * std, torch.zeros(fan_out)
        else:
            bound = 1.0 / math.sqrt(fan_in)
            w = (torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * bound
            b = (torch.rand(fan_out, generator=gen) * 2 - 1) * bound
        layers.append((w, b))
    return layers


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; ``cpu`` and ``cuda`` are taken as given."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA device is available: use --device cpu or auto.")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r} is unknown: use auto, cpu or cuda.")
    return torch.device(device)


class Ensemble(nn.Module):
    """M independent MLPs of one shape, trained and evaluated together.

    Parameters
    ----------
    spec : MLPSpec
        The shape shared by every member.
    seeds : sequence of int
        One seed per member; member ``i`` is initialised exactly as a lone network with ``seeds[i]``.
    init : str
        ``default`` (PyTorch's), ``zero`` or ``normal:<std>``.
    device : str or torch.device
    """

    def __init__(
        self,
        spec: MLPSpec,
        *,
        seeds: Sequence[int],
        init: str = "default",
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        if len(seeds) < 1:
            raise ConfigError("an ensemble needs at least one member seed.")
        self.spec = spec
        self.init = init
        self.seeds = [int(s) for s in seeds]
        members = [init_member(spec, init, s) for s in self.seeds]
        dev = resolve_device(device)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m[i][0] for m in members]).to(dev)) for i in range(len(spec.sizes) - 1)
        )  # each [M, d_in, d_out]
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m[i][1] for m in members]).unsqueeze(1).to(dev))
            for i in range(len(spec.sizes) - 1)
        )  # each [M, 1, d_out]
        self._act = ACTIVATIONS[spec.activation]

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    def forward(self, x: torch.Tensor, *, return_hidden: bool = False):
        """Outputs ``[M, n, d_out]`` for inputs ``[n, d_in]`` (shared) or ``[M, n, d_in]`` (per member).

        With ``return_hidden`` also returns the list of hidden activations, each ``[M, n, h]``.
        """
        M = self.n_members
        h = x
        hidden = []
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if h.dim() == 2:
                # Shared inputs: one [n, d] @ [d, M*o] product serves every member.
                n, d = h.shape
                o = w.shape[2]
                h = (h @ w.permute(1, 0, 2).reshape(d, M * o)).reshape(n, M, o).transpose(0, 1) + b  # [M, n, o]
            else:
                h = torch.baddbmm(b, h, w)  # [M, n, o]
            if i < last:
                h = self._act(h)
                hidden.append(h)
        return (h, hidden) if return_hidden else h

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted class of every member for every row: ``[M, n]``."""
        return self(x).argmax(-1)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax class probabilities ``[M, n, k]``."""
        return torch.softmax(self(x), dim=-1)

    def member(self, i: int) -> nn.Sequential:
        """Member ``i`` as an ordinary ``torch.nn.Sequential`` of Linear layers (a copy)."""
        layers: list[nn.Module] = []
        last = len(self.weights) - 1
        for j, (w, b) in enumerate(zip(self.weights, self.biases)):
            lin = nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                lin.weight.copy_(w[i].T)
                lin.bias.copy_(b[i, 0])
            layers.append(lin.to(w.device))
            if j < last:
                layers.append(MODULES[self.spec.activation]())
        return nn.Sequential(*layers)
