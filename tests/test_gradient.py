"""Tests of nnprobe.gradient_check: it passes correct backward passes and catches a wrong one."""

import pytest
import torch

import nnprobe
from nnprobe.errors import ConfigError


class SquareWithBug(torch.autograd.Function):
    """x -> x^2 whose backward forgets the factor 2: the kind of bug a gradient check exists to catch."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2 * x * grad


class Square(SquareWithBug):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class WithSquare(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.lin = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fn.apply(self.lin(x))


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(12, 4, generator=g), torch.randn(12, 3, generator=g)


def test_correct_modules_pass(batch):
    x, t = batch
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    for model, target, loss in ((mlp, t, "mse"), (mlp, t.argmax(1), "cross_entropy"), (WithSquare(Square), t, "sse")):
        result = nnprobe.gradient_check(model, x, target, loss=loss)
        assert result.passed and result.max_rel_error < 1e-7, result
        assert [p.name for p in result.parameters] == [n for n, _ in model.named_parameters()]


def test_a_wrong_backward_fails(batch):
    x, t = batch
    result = nnprobe.gradient_check(WithSquare(SquareWithBug), x, t)
    assert not result.passed
    # The buggy backward is exactly half the true gradient: relative error |g/2 - g| / |g| = 0.5.
    assert result.max_rel_error == pytest.approx(0.5, abs=1e-6)


def test_model_is_not_modified_and_sampling_is_seeded(batch):
    x, t = batch
    big = torch.nn.Linear(4, 300)
    before = big.weight.detach().clone()
    a = nnprobe.gradient_check(big, x, torch.zeros(12, 300), max_elements=50, seed=1)
    b = nnprobe.gradient_check(big, x, torch.zeros(12, 300), max_elements=50, seed=1)
    assert big.weight.dtype == torch.float32 and torch.equal(big.weight, before)
    assert a.parameters[0].n_checked == 50 and a == b


def test_options_are_validated(batch):
    x, t = batch
    with pytest.raises(ConfigError, match="loss 'hinge'"):
        nnprobe.gradient_check(torch.nn.Linear(4, 3), x, t, loss="hinge")
    with pytest.raises(ConfigError, match="eps"):
        nnprobe.gradient_check(torch.nn.Linear(4, 3), x, t, eps=0)
