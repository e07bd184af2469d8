"""The engine's activations, one entry each: the function autograd differentiates, the same into a kept buffer,
its gradient from its own output (for the hand-written passes), and the ``torch.nn`` module of ``member()``.

Adding an activation means adding one entry here and its name to ``nnprobe.nn.mlp.ACTIVATIONS`` (which the
configs read without torch); a test checks that the two agree and that every entry's gradient is autograd's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Activation:
    """One activation function a = f(z) in every form the engine needs."""

    name: str
    forward: Callable[[torch.Tensor], torch.Tensor]  # a = f(z), differentiable by autograd
    forward_into: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z, out) -> out = f(z); out may be z
    # (g, a, out) -> out = g * f'(z), from the output a = f(z) and the gradient g of a; out may be g
    backward_from_output: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    module: type[nn.Module]  # the torch.nn layer of a member as an ordinary nn.Sequential


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (
        Activation("relu", torch.relu, lambda z, out: torch.clamp(z, min=0, out=out),
                   lambda g, a, out: torch.ops.aten.threshold_backward.grad_input(g, a, 0, grad_input=out), nn.ReLU),
        Activation("tanh", torch.tanh, lambda z, out: torch.tanh(z, out=out),
                   lambda g, a, out: torch.ops.aten.tanh_backward.grad_input(g, a, grad_input=out), nn.Tanh),
        Activation("sigmoid", torch.sigmoid, lambda z, out: torch.sigmoid(z, out=out),
                   lambda g, a, out: torch.ops.aten.sigmoid_backward.grad_input(g, a, grad_input=out), nn.Sigmoid),
    )
}


def activation(name: str) -> Activation:
    """The registry entry of activation ``name``, one of ``nnprobe.nn.mlp.ACTIVATIONS`` (``MLPSpec`` validates)."""
    return ACTIVATIONS[name]
