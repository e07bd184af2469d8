"""M same-shaped MLPs stored as stacked tensors and evaluated in one batched computation.

A single model is an ensemble of one. Weights are stored as ``[M, d_out, d_in]`` (torch.nn.Linear's layout
with a leading member dimension) and biases as ``[M, d_out, 1]``. Internally activations are feature-major,
``[M, features, n]``: with inputs shared by all members the first layer is then one wide matrix product,
``[M*h, d] @ [d, n]``, and the loss sees logits as ``[M, k, n]``, the layout PyTorch's cross-entropy kernels
are fastest on.

Members may read only the first ``input_sizes[m]`` input columns (a "ragged" ensemble, e.g. a sweep over the
number of features): their weights on the other columns are zero and never updated, and the first layer is
computed block by block so that no multiplication is spent on them.

This module's forward pass is the one autograd differentiates; training on inputs shared by every member and
not trained goes through the hand-written passes of ``nnprobe.nn.passes`` instead, in layouts of their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from nnprobe.errors import ConfigError
from nnprobe.nn.activations import activation
from nnprobe.nn.mlp import MLPSpec, parse_init


def init_member(spec: MLPSpec, scheme: str, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Initial (weight [d_out, d_in], bias [d_out]) pairs of one network, drawn from its own seeded generator.

    ``default`` reproduces ``torch.nn.Linear``: weight and bias uniform in +-1/sqrt(fan_in). Each member of an
    ensemble draws from a generator of its own, so a member starts exactly where a network trained alone with
    the same seed starts.
    """
    name, std = parse_init(scheme)
    gen = torch.Generator().manual_seed(int(seed))
    layers = []
    for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        if name == "zero":
            w, b = torch.zeros(fan_out, fan_in), torch.zeros(fan_out)
        elif name == "normal":
            w, b = torch.randn(fan_out, fan_in, generator=gen) * std, torch.zeros(fan_out)
        else:
            bound = 1.0 / math.sqrt(fan_in)
            w = (torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound
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


class _RaggedLinear(torch.autograd.Function):
    """First layer of a ragged ensemble on shared feature-major inputs, computed block by block.

    Block ``(first, lo, hi)`` holds input columns ``lo:hi``, read by members ``first:`` only (members are sorted by
    input size). Forward and backward touch each (block, member) pair once; weights on unread columns get a
    zero gradient and so never move. Autograd on slices would build a full-size zero gradient per block.
    """

    @staticmethod
    def forward(ctx, xt, w, b, blocks):  # xt [d, n], w [M, h, d], b [M, h, 1] -> [M, h, n]
        M, h, _ = w.shape
        n = xt.shape[1]
        out = b.expand(M, h, n).contiguous()
        for first, lo, hi in blocks:
            rows = out[first:].view(-1, n)  # members first: as one [(M-first)*h, n] matrix
            rows.addmm_(w[first:, :, lo:hi].reshape(-1, hi - lo), xt[lo:hi])
        ctx.save_for_backward(xt, w)
        ctx.blocks = blocks
        return out

    @staticmethod
    def backward(ctx, grad_out):  # grad_out [M, h, n]
        xt, w = ctx.saved_tensors
        M, h, _ = w.shape
        n = xt.shape[1]
        grad_out = grad_out.contiguous()
        grad_w = torch.zeros_like(w) if ctx.needs_input_grad[1] else None
        grad_x = torch.zeros_like(xt) if ctx.needs_input_grad[0] else None
        for first, lo, hi in ctx.blocks:
            g = grad_out[first:].view(-1, n)  # [(M-first)*h, n]
            if grad_w is not None:
                grad_w[first:, :, lo:hi] = (g @ xt[lo:hi].T).view(M - first, h, hi - lo)
            if grad_x is not None:
                grad_x[lo:hi] = w[first:, :, lo:hi].reshape(-1, hi - lo).T @ g
        grad_b = grad_out.sum(2, keepdim=True) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None


class Ensemble(nn.Module):
    """M independent MLPs of one shape, trained and evaluated together.

    Parameters
    ----------
    spec : MLPSpec
        The shape shared by every member (``spec.d_in`` is the widest input).
    seeds : sequence of int
        One seed per member; member ``i`` is initialised exactly as a lone network with ``seeds[i]``.
    init : str
        ``default`` (PyTorch's), ``zero`` or ``normal:<std>``.
    input_sizes : sequence of int, optional
        Non-decreasing; member ``i`` reads only the first ``input_sizes[i]`` input columns and is initialised
        as a lone network with that many inputs. Default: every member reads all ``spec.d_in`` columns.
    device : str or torch.device
    """

    def __init__(
        self,
        spec: MLPSpec,
        *,
        seeds: Sequence[int],
        init: str = "default",
        input_sizes: Sequence[int] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        if len(seeds) < 1:
            raise ConfigError("an ensemble needs at least one member seed.")
        self.spec = spec
        self.init = init
        self.seeds = [int(s) for s in seeds]
        sizes = [spec.d_in] * len(self.seeds) if input_sizes is None else [int(s) for s in input_sizes]
        if len(sizes) != len(self.seeds) or min(sizes) < 1 or max(sizes) > spec.d_in or sizes != sorted(sizes):
            raise ConfigError(
                f"input_sizes {sizes} must give one non-decreasing size per member, each between 1 and {spec.d_in}."
            )
        self.input_sizes = sizes
        members = []
        for seed, d in zip(self.seeds, sizes):
            own = init_member(MLPSpec((d, *spec.sizes[1:]), spec.activation), init, seed)
            w0, b0 = own[0]
            own[0] = (torch.nn.functional.pad(w0, (0, spec.d_in - d)), b0)  # zero weights on unread columns
            members.append(own)
        dev = resolve_device(device)
        n_layers = len(spec.sizes) - 1
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m[i][0] for m in members]).to(dev)) for i in range(n_layers)
        )  # each [M, d_out, d_in]
        # Each [M, d_out, 1]. Without biases they are constant zeros (the same arithmetic, nothing to train), kept
        # as frozen parameters so that .to() and .double() carry them along.
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m[i][1] for m in members]).unsqueeze(2).to(dev) * spec.bias,
                         requires_grad=spec.bias)
            for i in range(n_layers)
        )
        # Column blocks of the ragged first layer: (first member reading the block, first column, end column).
        self._blocks = []
        start = 0
        for end in sorted(set(sizes)):
            self._blocks.append((next(i for i, s in enumerate(sizes) if s >= end), start, end))
            start = end
        self.activation = activation(spec.activation)

    def trained_parameters(self) -> list[nn.Parameter]:
        """The weights, and the biases unless ``spec.bias`` is False."""
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    @property
    def ragged(self) -> bool:
        """Whether some member reads fewer than ``spec.d_in`` input columns."""
        return any(d != self.spec.d_in for d in self.input_sizes)

    def _first_layer(self, xt: torch.Tensor) -> torch.Tensor:
        """Pre-activations ``[M, h, n]`` of the first layer for feature-major inputs ``[d, n]`` or ``[M, d, n]``."""
        w, b = self.weights[0], self.biases[0]
        M, h, d = w.shape
        if xt.dim() == 3:
            if self.ragged:  # per-member inputs: zero the unread columns' contribution
                col = torch.arange(d, device=w.device)
                w = w * (col < torch.tensor(self.input_sizes, device=w.device)[:, None]).unsqueeze(1)
            return torch.baddbmm(b, w, xt)
        n = xt.shape[1]
        if not self.ragged:
            return (w.reshape(M * h, d) @ xt).view(M, h, n) + b  # one [M*h, d] @ [d, n] product
        return _RaggedLinear.apply(xt, w, b, self._blocks)

    def forward_features_major(self, xt: torch.Tensor, *, return_hidden: bool = False):
        """Outputs ``[M, d_out, n]`` for feature-major inputs ``[d_in, n]`` (shared) or ``[M, d_in, n]``."""
        h = self._first_layer(xt)
        hidden = []
        for w, b in zip(self.weights[1:], self.biases[1:]):
            h = self.activation.forward(h)
            hidden.append(h)
            h = torch.baddbmm(b, w, h)  # [M, o, n]
        return (h, hidden) if return_hidden else h

    def forward(self, x: torch.Tensor, *, return_hidden: bool = False):
        """Outputs ``[M, n, d_out]`` for inputs ``[n, d_in]`` (shared by all members) or ``[M, n, d_in]``.

        With ``return_hidden`` also returns the hidden activations after their nonlinearity, each ``[M, n, h]``.
        """
        out, hidden = self.forward_features_major(x.transpose(-1, -2), return_hidden=True)
        out = out.transpose(1, 2)
        return (out, [t.transpose(1, 2) for t in hidden]) if return_hidden else out

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted class of every member for every row: ``[M, n]``."""
        return self.forward_features_major(x.transpose(-1, -2)).max(1).indices  # max(1) is faster than argmax(1)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax class probabilities ``[M, n, k]``."""
        return torch.softmax(self(x), dim=-1)

    def member(self, i: int) -> nn.Sequential:
        """Member ``i`` as an ordinary ``torch.nn.Sequential`` of Linear layers (a copy) reading its own inputs."""
        layers: list[nn.Module] = []
        for j, (w, b) in enumerate(zip(self.weights, self.biases)):
            wi = w[i, :, : self.input_sizes[i]] if j == 0 else w[i]
            lin = nn.Linear(wi.shape[1], wi.shape[0], bias=self.spec.bias, device=w.device, dtype=w.dtype)
            with torch.no_grad():
                lin.weight.copy_(wi)
                if self.spec.bias:
                    lin.bias.copy_(b[i, :, 0])
            if j:
                layers.append(self.activation.module())
            layers.append(lin)
        return nn.Sequential(*layers)
