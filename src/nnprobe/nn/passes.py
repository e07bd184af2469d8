"""Forward and backward passes of an Ensemble written out by hand, for inputs shared by every member and fixed.

The engine's fast path. ``SharedInputPasses.unsupported`` says what it does not implement (inputs of their own
per member, inputs or other tensors trained alongside the weights, a layer spec with fields it does not know);
``Trainer.fit`` asks it once and trains anything else through autograd. Autograd records a graph and allocates
every intermediate anew at each step; for the small dense networks nnprobe trains that costs as much as the
arithmetic, and fresh multi-megabyte buffers add page faults
(a ReLU backward into a new buffer measured 3x slower than into a kept one). Here the gradients are the textbook
backpropagation formulas, computed by PyTorch's own kernels (the activations of ``nnprobe.nn.activations``)
into buffers kept from step to step, and the first layer, where nearly all the arithmetic is, runs as one
product per group of members that read the same input columns: ``[S*h1, d] @ [d, n]`` forward and
``[S*h1, n] @ [n, d]`` for the weight gradient, which lands in the weight's own layout. Tests check every gradient
against autograd (equal to rounding).

Layout: every activation and its gradient is feature-major and member-major, ``[M, h, n]`` (rows of a member
last and contiguous), as ``Ensemble.forward_features_major`` gives them. The first layer's products write it
directly, activations run in place on contiguous memory, and no pass changes the layout: with the first layer's
pre-activations kept sample-major (``[n, M*h1]``) and moved to member-major for the later layers, the two strided
passes cost 30% of a minibatch step of 101 networks 100-32-2 (7 of 25 ms, two threads).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from nnprobe.nn.activations import activation
from nnprobe.nn.ensemble import Ensemble


@dataclass
class _Group:
    """Views for the members ``first:end`` that read the first ``d`` input columns, for one row count."""

    d: int
    rows: slice  # their rows of the first layer's [M*h1, n] activations: start*h1 to end*h1
    weight: torch.Tensor  # [S*h1, d] their first-layer weights (a view of the parameter)
    bias: torch.Tensor | None  # [S*h1, 1] their first-layer biases
    weight_grad: torch.Tensor  # [S*h1, d] the part of the weight gradient they own (a view of .grad)
    z: torch.Tensor  # [S*h1, n] their rows of the first layer's buffer


class SharedInputPasses:
    """Forward passes and gradients of ``model`` on inputs ``[n, d]`` shared by every member.

    ``forward`` keeps the activations of its last call per role: ``"batch"`` for a training step, whose
    ``backward`` (once per forward) turns the gradient of the outputs into every parameter's ``.grad`` (allocated
    once and overwritten, never set to None), and ``"eval"`` for an evaluation, which never touches the training
    step's buffers. Buffers, and the views into them, are made once per (role, row count) and reused (a short last
    minibatch gets its own); the backward pass's buffers only for row counts it is run on.
    """

    SPEC_FIELDS = ("sizes", "activation", "bias")  # what these passes implement of an MLPSpec

    def __init__(self, model: Ensemble) -> None:
        self.model = model
        self.spec = model.spec
        act = activation(model.spec.activation)
        self._forward_act, self._backward_act = act.forward_into, act.backward_from_output
        for p in model.trained_parameters():  # zero where never written: the unread columns of a ragged first layer
            p.grad = torch.zeros_like(p)
        self._buffers: dict[tuple[str, int], dict] = {}
        self._last: dict[str, dict] = {}  # role -> buffers of that role's last forward pass
        self._one_hot: tuple[torch.Tensor, torch.Tensor] | None = None  # (class targets, their one-hot [M, k, n])

    @classmethod
    def unsupported(cls, model, x: torch.Tensor, *, extra_optimizers=()) -> str | None:
        """Why these passes cannot train ``model`` on inputs ``x``, in words; None when they can.

        Anything they do not implement is named here, so that it trains through autograd instead of being
        silently left out: a model other than an Ensemble, a layer spec with fields beyond ``SPEC_FIELDS``,
        inputs of their own per member, inputs that are trained, or further tensors trained by the same loss.
        """
        if type(model) is not Ensemble:
            return f"the model is a {type(model).__name__}, not an Ensemble"
        unknown = [f.name for f in dataclasses.fields(model.spec) if f.name not in cls.SPEC_FIELDS]
        if unknown:
            return f"the layer spec has fields the hand-written passes do not implement: {', '.join(unknown)}"
        if x.dim() != 2:
            return "each member has inputs of its own"
        if x.requires_grad:
            return "the inputs are trained"
        if extra_optimizers:
            return "other tensors are trained alongside the weights"
        return None

    def _buffers_for(self, role: str, n: int) -> dict:
        """Buffers and views for ``role`` on batches of ``n`` rows, made on first use."""
        if (role, n) in self._buffers:
            return self._buffers[role, n]
        model, sizes = self.model, self.spec.sizes
        M, h1 = model.n_members, sizes[1]
        like = dict(device=model.device, dtype=model.weights[0].dtype)
        # [M, h, n] per layer: each hidden layer's activations (computed in place over its pre-activations), then
        # the outputs
        layers = [torch.empty(M, h, n, **like) for h in sizes[1:]]
        buf = {"acts": layers[:-1], "out": layers[-1], "groups": []}
        first = layers[0].view(M * h1, n)
        # Groups of consecutive members reading the same number of input columns: one product each.
        w1, w1_grad = model.weights[0], model.weights[0].grad
        bounds = [m for m in range(1, M) if model.input_sizes[m] != model.input_sizes[m - 1]]
        for start, end in zip([0, *bounds], [*bounds, M]):
            d = model.input_sizes[start]
            buf["groups"].append(_Group(
                d=d,
                rows=slice(start * h1, end * h1),
                weight=w1[start:end, :, :d].view((end - start) * h1, d),  # a view: rows stay d_in apart
                bias=model.biases[0][start:end].view(-1, 1) if self.spec.bias else None,
                weight_grad=w1_grad[start:end, :, :d].view((end - start) * h1, d),
                z=first[start * h1 : end * h1],
            ))
        self._buffers[role, n] = buf
        return buf

    @torch.no_grad()
    def forward(self, xs: torch.Tensor, role: str = "batch") -> torch.Tensor:
        """Outputs ``[M, o, n]`` for sample-major inputs ``xs [n, d]``: a kept buffer of ``role`` ("batch" for a
        training step, "eval" for an evaluation), valid until that role's next call."""
        model, L = self.model, len(self.spec.sizes) - 1
        buf = self._last[role] = self._buffers_for(role, xs.shape[0])
        for g in buf["groups"]:  # [S*h1, d] @ [d, n] -> the group's rows of the first layer
            if g.bias is None:
                torch.mm(g.weight, xs[:, : g.d].T, out=g.z)
            else:
                torch.addmm(g.bias, g.weight, xs[:, : g.d].T, out=g.z)
        layers = [*buf["acts"], buf["out"]]
        for layer in range(1, L):  # [M, h', h] @ [M, h, n] -> [M, h', n]
            a = self._forward_act(layers[layer - 1], out=layers[layer - 1])
            torch.baddbmm(model.biases[layer], model.weights[layer], a, out=layers[layer])
        return buf["out"]

    @staticmethod
    def _backward_buffers(buf: dict) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        """Gradients of the hidden activations ``[M, h, n]``, and for each group whose weight-gradient rows are
        not contiguous (a ragged first layer) a product buffer ``[S*h1, d]``; made on the first backward pass at
        this row count."""
        if "grads" not in buf:
            buf["grads"] = [torch.empty_like(a) for a in buf["acts"]]
            buf["products"] = [None if g.weight_grad.is_contiguous() else g.weight_grad.new_empty(g.weight_grad.shape)
                               for g in buf["groups"]]
        return buf["grads"], buf["products"]

    @torch.no_grad()
    def backward(self, grad_out: torch.Tensor, xs: torch.Tensor) -> None:
        """Set every parameter's ``.grad`` from the gradient ``[M, o, n]`` of the outputs of the last training
        step's forward pass, whose inputs were ``xs [n, d]``."""
        model, buf, L = self.model, self._last["batch"], len(self.spec.sizes) - 1
        grads, products = self._backward_buffers(buf)
        g = grad_out  # gradient of the current layer's pre-activations, [M, h', n]
        for layer in range(L - 1, 0, -1):
            w, b = model.weights[layer], model.biases[layer]
            a, grad_a = buf["acts"][layer - 1], grads[layer - 1]  # [M, h, n] this layer's inputs
            torch.bmm(g, a.transpose(1, 2), out=w.grad)  # [M, h', h]
            if self.spec.bias:
                torch.sum(g, 2, keepdim=True, out=b.grad)
            torch.bmm(w.transpose(1, 2), g, out=grad_a)
            g = self._backward_act(grad_a, a, out=grad_a)  # through the activation, in place
        first = g.reshape(-1, g.shape[-1])  # [M*h1, n], the gradient of the first layer's pre-activations
        for grp, product in zip(buf["groups"], products):  # [S*h1, n] @ [n, d]
            if product is None:
                torch.mm(first[grp.rows], xs[:, : grp.d], out=grp.weight_grad)
            else:
                grp.weight_grad.copy_(torch.mm(first[grp.rows], xs[:, : grp.d], out=product))
        if self.spec.bias:
            torch.sum(first, 1, out=model.biases[0].grad.view(-1))

    @torch.no_grad()
    def loss_gradient(self, out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
        """Gradient ``[M, o, n]`` of the summed member losses (``member_losses``) with respect to the outputs
        ``out`` of the last training step's forward pass: (softmax - one-hot) / n for cross-entropy, 2 (out - y)
        for the sum of squared errors, divided by o*n for their mean."""
        M, o, n = out.shape
        g = self._last["batch"].setdefault("grad_out", torch.empty_like(out))
        if loss == "cross_entropy":
            if self._one_hot is None or self._one_hot[0] is not y or self._one_hot[1].shape != out.shape:
                one_hot = torch.zeros_like(out).scatter_(1, y.expand(M, n).unsqueeze(1), 1.0)  # [M, k, n]
                self._one_hot = (y, one_hot)  # full batches pass the same targets every step
            torch.ops.aten._softmax.out(out, 1, False, out=g)
            return g.sub_(self._one_hot[1]).div_(n)
        return torch.sub(out, y, out=g).mul_(2.0 if loss == "sse" else 2.0 / (o * n))
