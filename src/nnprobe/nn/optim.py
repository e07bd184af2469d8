"""The engine's optimizers: the updates of ``torch.optim.Adam(fused=True)`` and ``torch.optim.SGD``, without
the ``torch.optim.Optimizer`` wrapper.

Why not ``torch.optim`` itself: building a ``torch.optim`` optimizer imports the compiler stack,
``torch._dynamo``, to mark its methods as not compilable. That import measured 1.1-1.8 s on this 2-core
machine, as long as the whole default memorize training, and every ``nnprobe`` command that trains paid it
once. These classes run the same arithmetic: ``Adam`` calls the fused kernel ``torch.optim.Adam(fused=True)``
calls (``aten::_fused_adam_``, one kernel for every tensor) and ``SGD`` the same tensor operations as
``torch.optim.SGD``; tests check both equal ``torch.optim`` step for step, bit for bit. Only what the engine
uses is here: no parameter groups, schedulers, state dicts or AMSGrad.

The fused kernel is private to PyTorch and not in every build (torch 2.2's CPU build lacks it). Where a device
and dtype lack it, ``Adam`` runs the plain tensor operations of ``torch.optim.Adam(foreach=False)`` instead, equal
to it bit for bit (tested by forcing this path).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import torch


@functools.cache
def fused_adam_supported(device_type: str, dtype: torch.dtype) -> bool:
    """Whether ``aten::_fused_adam_`` runs on this device type and dtype: tried once on a one-element tensor."""
    p, g, m, v = (torch.zeros(1, dtype=dtype, device=device_type) for _ in range(4))
    try:
        torch._fused_adam_([p], [g], [m], [v], [], [torch.ones((), device=device_type)], lr=0.1, beta1=0.9,
                           beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)
    except (AttributeError, NotImplementedError, RuntimeError):
        return False
    return True


class _Optimizer:
    """Parameters updated in place from their ``.grad``; a parameter whose grad is None is skipped, and the
    state of a parameter is made at its first update, in its dtype and on its device then, as in
    ``torch.optim``."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("an optimizer needs at least one tensor to train")
        if not lr >= 0 or not weight_decay >= 0:
            raise ValueError(f"learning rate {lr} and weight decay {weight_decay} must be 0 or positive")
        self.lr = lr
        self.weight_decay = weight_decay
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in self.params]

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
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1 and eps >= 0):
            raise ValueError(f"betas {betas} must lie in [0, 1) and eps {eps} must be 0 or positive")
        self.betas, self.eps = betas, eps

    @torch.no_grad()
    def step(self) -> None:
        groups: dict[tuple, list[int]] = {}  # the kernel takes tensors of one device and dtype
        for i in self._with_grad():
            p, state = self.params[i], self.state[i]
            if not state:
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)  # as the fused kernel reads it
            groups.setdefault((p.device, p.dtype), []).append(i)
        for (device, dtype), idx in groups.items():
            if not fused_adam_supported(device.type, dtype):
                for i in idx:
                    self._plain_step(self.params[i], self.state[i])
                continue
            states = [self.state[i] for i in idx]
            steps = [s["step"] for s in states]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                [self.params[i] for i in idx], [self.params[i].grad for i in idx],
                [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], [], steps,
                lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=self.weight_decay, eps=self.eps,
                amsgrad=False, maximize=False,
            )

    def _plain_step(self, p: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        """One update of ``p`` by the tensor operations of ``torch.optim.Adam(foreach=False)``."""
        beta1, beta2 = self.betas
        state["step"] += 1
        step = float(state["step"])
        grad = p.grad if self.weight_decay == 0 else p.grad.add(p, alpha=self.weight_decay)
        state["exp_avg"].lerp_(grad, 1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self.lr / (1 - beta1**step)
        denominator = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**step)).add_(self.eps)
        p.addcdiv_(state["exp_avg"], denominator, value=-step_size)


class SGD(_Optimizer):
    """Stochastic gradient descent with optional momentum (no dampening, not Nesterov) and L2 weight decay, as
    ``torch.optim.SGD``: the momentum buffer starts as the first gradient."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if not momentum >= 0:
            raise ValueError(f"momentum {momentum} must be 0 or positive")
        self.momentum = momentum

    @torch.no_grad()
    def step(self) -> None:
        for i in self._with_grad():
            p, state = self.params[i], self.state[i]
            g = p.grad if self.weight_decay == 0 else p.grad.add(p, alpha=self.weight_decay)
            if self.momentum != 0:
                if "momentum" not in state:
                    state["momentum"] = g.detach().clone()
                else:
                    state["momentum"].mul_(self.momentum).add_(g)
                g = state["momentum"]
            p.add_(g, alpha=-self.lr)
