"""The engine's optimizers: the updates of ``torch.optim.Adam(fused=True)`` and ``torch.optim.SGD``, without
the ``torch.optim.Optimizer`` wrapper.

Why not ``torch.optim`` itself: its first step (and every ``Optimizer`` method) imports the compiler stack,
``torch._dynamo``, to mark itself as not compilable. That import measured 1.1-1.8 s on this 2-core machine, as
long as the whole default memorize training, and every ``nnprobe`` command that trains paid it once. These
classes run the same arithmetic: ``Adam`` calls the fused kernel ``torch.optim.Adam(fused=True)`` calls
(``aten::_fused_adam_``, one kernel for every tensor) and ``SGD`` the same tensor operations as
``torch.optim.SGD``; tests check both equal ``torch.optim`` step for step, bit for bit. Only what the engine
uses is here: no parameter groups, schedulers, state dicts or AMSGrad.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class _Optimizer:
    """Parameters updated in place from their ``.grad``; a parameter whose grad is None is skipped, as in
    ``torch.optim``."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("an optimizer needs at least one tensor to train")
        self.lr = lr
        self.weight_decay = weight_decay

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def _with_grad(self) -> list[int]:
        return [i for i, p in enumerate(self.params) if p.grad is not None]


class Adam(_Optimizer):
    """Adam (Kingma and Ba 2015) with L2 weight decay added to the gradient, as ``torch.optim.Adam``."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = betas, eps
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        # Step counts as the fused kernel reads them: a float32 scalar per tensor, on its device.
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    @torch.no_grad()
    def step(self) -> None:
        groups: dict[tuple, list[int]] = {}  # the kernel takes tensors of one device and dtype
        for i in self._with_grad():
            groups.setdefault((self.params[i].device, self.params[i].dtype), []).append(i)
        for idx in groups.values():
            steps = [self.steps[i] for i in idx]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                [self.params[i] for i in idx], [self.params[i].grad for i in idx],
                [self.exp_avg[i] for i in idx], [self.exp_avg_sq[i] for i in idx], [], steps,
                lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=self.weight_decay, eps=self.eps,
                amsgrad=False, maximize=False,
            )


class SGD(_Optimizer):
    """Stochastic gradient descent with optional momentum (no dampening, not Nesterov) and L2 weight decay, as
    ``torch.optim.SGD``: the momentum buffer starts as the first gradient."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = momentum
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    @torch.no_grad()
    def step(self) -> None:
        for i in self._with_grad():
            p = self.params[i]
            g = p.grad if self.weight_decay == 0 else p.grad.add(p, alpha=self.weight_decay)
            if self.momentum != 0:
                if self.buffers[i] is None:
                    self.buffers[i] = g.detach().clone()
                else:
                    self.buffers[i].mul_(self.momentum).add_(g)
                g = self.buffers[i]
            p.add_(g, alpha=-self.lr)
