"""Many copies of a user's own ``torch.nn.Module`` trained together: their parameters stacked
(``torch.func.stack_module_state``) and one ``vmap`` over ``functional_call`` computing every copy's gradient in
one batched pass, with the engine's optimizers on the stacked tensors. Copies differ in their initialisation
seed, their labels and, optionally, their inputs: the permutation tests of any module.

Where a module cannot be vmapped (batch norm in training mode and other in-place buffer updates), the copies are
trained one after another by the same steps, and the result says why.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

from nnprobe.nn import optim
from nnprobe.nn.config import TrainConfig

PREDICT_ROWS = 4096  # rows per prediction batch


@dataclass
class StackedResult:
    """The trained copies: how they ran, and their predicted classes."""

    path: str  # "torch.func vmap" or "a loop: <why vmap could not run>"
    modules: list[torch.nn.Module]  # the trained copies, as ordinary modules (eval mode)


def _make_optimizer(params: list[torch.Tensor], cfg: TrainConfig):
    if cfg.optimizer == "adam":
        return optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _batches(n: int, cfg: TrainConfig, gen: torch.Generator):
    """Index batches of one epoch: everything, or minibatches of a seeded shuffled order."""
    if cfg.batch_size is None or cfg.batch_size >= n:
        yield slice(None)
        return
    order = torch.randperm(n, generator=gen)
    for start in range(0, n, cfg.batch_size):
        yield order[start : start + cfg.batch_size]


def train_stacked(make_module: Callable[[int], torch.nn.Module], seeds: list[int], x: torch.Tensor,
                  y: torch.Tensor, config: TrainConfig, *, progress=None) -> StackedResult:
    """Train ``len(seeds)`` copies of a module (``make_module(seed)`` builds copy m) with cross-entropy.

    x : inputs [n, d] shared by every copy, or [M, n, d] one per copy
    y : class indices [M, n], one labelling per copy
    config : epochs, learning rate, optimizer, batch size (minibatches in one seeded order for every copy)
    """
    modules = [make_module(seed).train() for seed in seeds]
    with torch.random.fork_rng():  # randomness inside the modules (dropout) from the copies' seeds, reproducibly
        torch.manual_seed(seeds[0])
        try:
            _train_vmapped(modules, x, y, config, progress)
            path = "torch.func vmap"
        except (RuntimeError, ValueError, NotImplementedError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            modules = [make_module(seed).train() for seed in seeds]  # afresh: the vmapped attempt may have moved them
            _train_looped(modules, x, y, config, progress)
            path = f"a loop, one copy after another (torch.func could not vmap this module: {reason})"
    return StackedResult(path, [m.eval() for m in modules])


def _train_vmapped(modules, x, y, cfg: TrainConfig, progress) -> None:
    params, buffers = stack_module_state(modules)  # each [M, ...]
    trained = {name for name, p in modules[0].named_parameters() if p.requires_grad}
    frozen = {k: v for k, v in params.items() if k not in trained}  # stacked, but never updated
    params = {k: v for k, v in params.items() if k in trained}
    base = copy.deepcopy(modules[0]).to("meta")
    per_member_x = x.dim() == 3

    def loss(p, f, b, xb, yb):
        return F.cross_entropy(functional_call(base, ({**p, **f}, b), (xb,)), yb)

    grads = vmap(grad(loss), in_dims=(0, 0, 0, 0 if per_member_x else None, 0), randomness="different")
    names = list(params)
    opt = _make_optimizer([params[k] for k in names], cfg)
    gen = torch.Generator().manual_seed(cfg.shuffle_seed)
    n = x.shape[-2]
    for epoch in range(cfg.epochs):
        for idx in _batches(n, cfg, gen):
            g = grads(params, frozen, buffers, x[..., idx, :], y[:, idx])
            for k in names:
                params[k].grad = g[k]
            opt.step()
        if progress is not None:
            progress(epoch + 1, cfg.epochs)
    with torch.no_grad():  # the trained values back into ordinary modules
        for m, module in enumerate(modules):
            for name, p in module.named_parameters():
                if name in params:
                    p.copy_(params[name][m])
            for name, b in module.named_buffers():
                b.copy_(buffers[name][m])


def _train_looped(modules, x, y, cfg: TrainConfig, progress) -> None:
    n = x.shape[-2]
    for m, module in enumerate(modules):
        opt = _make_optimizer([p for p in module.parameters() if p.requires_grad], cfg)
        gen = torch.Generator().manual_seed(cfg.shuffle_seed)  # the same batches as the vmapped copies
        xm = x[m] if x.dim() == 3 else x
        for _ in range(cfg.epochs):
            for idx in _batches(n, cfg, gen):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(module(xm[idx]), y[m, idx]).backward()
                opt.step()
        if progress is not None:
            progress(m + 1, len(modules))


@torch.no_grad()
def predict_stacked(modules: list[torch.nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Predicted classes [M, n] of each copy on inputs [n, d] (or [M, n, d]), in row batches."""
    out = []
    for start in range(0, x.shape[-2], PREDICT_ROWS):
        rows = slice(start, start + PREDICT_ROWS)
        out.append(torch.stack([m(x[i, rows] if x.dim() == 3 else x[rows]).argmax(-1)
                                for i, m in enumerate(modules)]))
    return torch.cat(out, dim=1)
