"""Forward and backward passes of an Ensemble written out by hand, for inputs shared by every member and fixed.

The engine's fast path. ``SharedInputPasses.unsupported`` says what it does not implement (inputs of their own
per member, inputs or other tensors trained alongside the weights, a layer spec with fields it does not know);
``Trainer.fit`` asks it once and trains anything else through autograd. Autograd records a graph and allocates
every intermediate anew at each step; for the small dense networks nnprobe trains that costs as much as the
arithmetic, and fresh multi-megabyte buffers add page faults
(a ReLU backward into a new buffer measured 3x slower than into a kept one). Here the gradients are the textbook
backpropagation formulas, computed by PyTorch's own kernels (the activations of ``nnprobe.nn.activations``)
into buffers kept from step to step, and the first layer, where nearly all the arithmetic is, runs as one
product per group of members that read the same input columns, in the orientation this 2-core CPU's products
were measured fastest at: ``[n, d] @ [d, S*h]`` forward, ``[d, n] @ [n, S*h]`` for the weight gradient. Tests
check every gradient against autograd (equal to rounding).

Layouts: the first layer's pre-activations in one buffer ``[n, M*h1]`` (members side by side, each group's
product writing its own columns; later their gradient, which the weight-gradient products read); every hidden
activation member-major ``[M, n, h]``; outputs feature-major ``[M, o, n]``, as ``Ensemble.forward_features_major``
gives them.
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
    weight_t: torch.Tensor  # [d, S*h1] their first-layer weights, transposed (a view of the parameter)
    bias: torch.Tensor | None  # [1, S*h1] their first-layer biases
    weight_grad: torch.Tensor  # [S, h1, d] the part of the weight gradient they own
    z: torch.Tensor  # [n, S*h1] their columns of the first layer's buffer


class SharedInputPasses:
    """Forward passes and gradients of ``model`` on inputs ``[n, d]`` shared by every member.

    ``forward`` keeps the activations of its last call per role: ``"batch"`` for a training step, whose
    ``backward`` (once per forward: it overwrites them with their gradients) turns the gradient of the outputs
    into every parameter's ``.grad`` (allocated once and overwritten, never set to None), and ``"eval"`` for an
    evaluation, which never touches the training step's buffers. Buffers, and the views into them, are made once
    per (role, row count) and reused (a short last minibatch gets its own); the backward pass's buffers only for
    row counts it is run on.
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
        model, sizes, h1 = self.model, self.spec.sizes, self.spec.sizes[1]
        M = model.n_members
        like = dict(device=model.device, dtype=model.weights[0].dtype)
        first_layer = torch.empty(n, M * h1, **like)  # [n, M*h1]: pre-activations, later their gradient
        first_members = first_layer.view(n, M, h1).transpose(0, 1)  # [M, n, h1], the same memory
        hidden = sizes[1:-1]
        buf = {
            "first": first_layer,
            "first_members": first_members,
            # [M, n, h] per hidden layer, member-major and contiguous: the activation of the first layer is one
            # strided pass out of [n, M*h1], after which every product and activation gradient reads contiguously
            # (3.7 ms less per minibatch of 1,024 rows of 101 networks 100-32-2 than reading the strided view)
            "acts": [torch.empty(M, n, h, **like) for h in hidden],
            "out": torch.empty(M, sizes[-1], n, **like),  # [M, o, n]
            "groups": [],
        }
        # Groups of consecutive members reading the same number of input columns: one product each.
        w1 = model.weights[0]
        bounds = [m for m in range(1, M) if model.input_sizes[m] != model.input_sizes[m - 1]]
        for first, end in zip([0, *bounds], [*bounds, M]):
            d = model.input_sizes[first]
            buf["groups"].append(_Group(
                d=d,
                weight_t=w1[first:end, :, :d].reshape((end - first) * h1, d).T,
                bias=model.biases[0][first:end].view(1, -1) if self.spec.bias else None,
                weight_grad=w1.grad[first:end, :, :d],
                z=first_layer[:, first * h1 : end * h1],
            ))
        self._buffers[role, n] = buf
        return buf

    @torch.no_grad()
    def forward(self, xs: torch.Tensor, role: str = "batch") -> torch.Tensor:
        """Outputs ``[M, o, n]`` for sample-major inputs ``xs [n, d]``: a kept buffer of ``role`` ("batch" for a
        training step, "eval" for an evaluation), valid until that role's next call."""
        model, L = self.model, len(self.spec.sizes) - 1
        buf = self._last[role] = self._buffers_for(role, xs.shape[0])
        for g in buf["groups"]:  # [n, d] @ [d, S*h1] -> the group's columns of [n, M*h1]
            if g.bias is None:
                torch.mm(xs[:, : g.d], g.weight_t, out=g.z)
            else:
                torch.addmm(g.bias, xs[:, : g.d], g.weight_t, out=g.z)
        if L == 1:  # no hidden layer: these are the outputs
            return buf["out"].copy_(buf["first_members"].transpose(1, 2))
        a = self._forward_act(buf["first_members"], out=buf["acts"][0])  # [n, M*h1] -> member-major [M, n, h1]
        for layer in range(1, L):
            w, b = model.weights[layer], model.biases[layer]
            if layer < L - 1:  # hidden: [M, n, h] @ [M, h, h'] -> [M, n, h']
                z = buf["acts"][layer]
                torch.baddbmm(b.transpose(1, 2), a, w.transpose(1, 2), out=z)
                a = self._forward_act(z, out=z)
            else:  # output, feature-major: [M, o, h] @ [M, h, n] -> [M, o, n]
                torch.baddbmm(b, w, a.transpose(1, 2), out=buf["out"])
        return buf["out"]

    @staticmethod
    def _backward_buffers(buf: dict) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Gradients of the hidden activations ``[M, n, h]`` and the groups' weight-gradient products
        ``[d, S*h1]``, made on the first backward pass at this row count."""
        if "grads" not in buf:
            buf["grads"] = [torch.empty(a.shape, dtype=a.dtype, device=a.device) for a in buf["acts"]]  # contiguous
            z = buf["first"]
            buf["products"] = [z.new_empty(g.d, g.z.shape[1]) for g in buf["groups"]]
        return buf["grads"], buf["products"]

    @torch.no_grad()
    def backward(self, grad_out: torch.Tensor, xs: torch.Tensor) -> None:
        """Set every parameter's ``.grad`` from the gradient ``[M, o, n]`` of the outputs of the last training
        step's forward pass, whose inputs were ``xs [n, d]``."""
        model, buf, L = self.model, self._last["batch"], len(self.spec.sizes) - 1
        grads, products = self._backward_buffers(buf)
        g = grad_out  # gradient of the current layer's pre-activations
        for layer in range(L - 1, 0, -1):
            w, b = model.weights[layer], model.biases[layer]
            a, grad_a = buf["acts"][layer - 1], grads[layer - 1]  # [M, n, h] this layer's inputs
            if layer == L - 1:  # output layer, g [M, o, n]
                torch.bmm(g, a, out=w.grad)  # [M, o, h]
                if self.spec.bias:
                    torch.sum(g, 2, keepdim=True, out=b.grad)
                torch.bmm(g.transpose(1, 2), w, out=grad_a)
            else:  # hidden layer, g [M, n, h']
                torch.bmm(g.transpose(1, 2), a, out=w.grad)  # [M, h', h]
                if self.spec.bias:
                    torch.sum(g, 1, out=b.grad.view(b.shape[:2]))
                torch.bmm(g, w, out=grad_a)
            if layer > 1:  # through the activation, in place
                g = self._backward_act(grad_a, a, out=grad_a)
        if L > 1:  # through the first activation, then back into the [n, M*h1] layout of the weight gradient
            buf["first_members"].copy_(self._backward_act(grads[0], buf["acts"][0], out=grads[0]))
        else:
            buf["first_members"].copy_(g.transpose(1, 2))
        for grp, product in zip(buf["groups"], products):  # [d, n] @ [n, S*h1]
            torch.mm(xs[:, : grp.d].T, grp.z, out=product)
            grp.weight_grad.copy_(product.T.view(grp.weight_grad.shape))
        if self.spec.bias:
            torch.sum(buf["first"], 0, out=model.biases[0].grad.view(-1))

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
