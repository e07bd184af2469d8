"""Tests of the engine: every ensemble member must end where a plain PyTorch loop training it alone ends."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnprobe.errors import ConfigError
from nnprobe.nn import Ensemble, MLPSpec, TrainConfig, Trainer, optim
from nnprobe.nn.ensemble import _RaggedLinear
from nnprobe.nn.passes import SharedInputPasses
from nnprobe.nn.train import member_losses


def plain_train(module, x, y, cfg: TrainConfig):
    """Train one torch module the textbook way: the independent reference for the engine."""
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(module.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.shuffle_seed)
    n = x.shape[0]
    loss_fn = F.cross_entropy if cfg.loss == "cross_entropy" else F.mse_loss
    for _ in range(cfg.epochs):
        batches = [torch.arange(n)] if cfg.batch_size is None else torch.randperm(n, generator=gen).split(cfg.batch_size)
        for idx in batches:
            loss = loss_fn(module(x[idx]), y[idx])
            if cfg.stop_loss is not None and loss.item() < cfg.stop_loss:
                return module
            opt.zero_grad()
            loss.backward()
            opt.step()
    return module


def assert_members_match(ens, modules, atol=2e-5):
    for i, ref in enumerate(modules):
        got = ens.member(i)
        for p_got, p_ref in zip(got.parameters(), ref.parameters()):
            torch.testing.assert_close(p_got, p_ref, atol=atol, rtol=1e-4)


@pytest.fixture
def blobs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 6, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 0.5).long()  # 3 learnable classes
    return x, y


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(epochs=40, lr=0.01),
        TrainConfig(epochs=15, lr=0.05, optimizer="sgd", momentum=0.9, batch_size=32, shuffle_seed=3),
        TrainConfig(epochs=30, lr=0.01, weight_decay=1e-3, batch_size=50),
    ],
    ids=["adam-full-batch", "sgd-momentum-minibatch", "adam-weight-decay-minibatch"],
)
def test_each_member_ends_where_it_would_alone(blobs, cfg):
    x, y = blobs
    ens = Ensemble(MLPSpec((6, 8, 5, 3), "tanh"), seeds=[1, 2, 3, 4])
    alone = [ens.member(i) for i in range(4)]  # copies of the same starting weights
    Trainer(ens, cfg).fit(x, y)
    assert_members_match(ens, [plain_train(m, x, y, cfg) for m in alone])


def test_members_with_their_own_labels_and_inputs(blobs):
    x, y = blobs
    g = torch.Generator().manual_seed(1)
    labels = torch.stack([y, y[torch.randperm(120, generator=g)], y.flip(0)])  # [3, n]: a permutation test's shape
    cfg = TrainConfig(epochs=25, lr=0.02)
    ens = Ensemble(MLPSpec((6, 10, 3)), seeds=[5, 6, 7])
    alone = [ens.member(i) for i in range(3)]
    Trainer(ens, cfg).fit(x, labels)
    assert_members_match(ens, [plain_train(m, x, labels[i], cfg) for i, m in enumerate(alone)])

    inputs = torch.stack([x, x * 2, x + 1])  # [3, n, d]: each member its own inputs
    ens = Ensemble(MLPSpec((6, 10, 3)), seeds=[5, 6, 7])
    alone = [ens.member(i) for i in range(3)]
    Trainer(ens, cfg).fit(inputs, labels)
    assert_members_match(ens, [plain_train(m, inputs[i], labels[i], cfg) for i, m in enumerate(alone)])


@pytest.mark.parametrize("per_member_inputs", [False, True])
def test_ragged_members_read_only_their_columns(blobs, per_member_inputs):
    x, y = blobs
    sizes = [2, 2, 4, 6]
    ens = Ensemble(MLPSpec((6, 7, 3)), seeds=[0, 1, 2, 3], input_sizes=sizes)
    alone = [ens.member(i) for i in range(4)]
    for m, d in zip(alone, sizes):  # initialised as a lone network with d inputs (nn.Linear's bound)
        assert m[0].in_features == d
        assert m[0].weight.abs().max() <= 1 / math.sqrt(d)
    cfg = TrainConfig(epochs=30, lr=0.02)
    Trainer(ens, cfg).fit(x.expand(4, -1, -1).contiguous() if per_member_inputs else x, y)
    assert_members_match(ens, [plain_train(m, x[:, :d], y, cfg) for m, d in zip(alone, sizes)])
    assert torch.count_nonzero(ens.weights[0][0, :, 2:]) == 0  # unread columns never move


def test_ragged_first_layer_gradient_matches_finite_differences():
    torch.manual_seed(0)
    blocks = [(0, 0, 2), (2, 2, 5), (3, 5, 7)]  # members 0-1 read 2 columns, member 2 reads 5, member 3 all 7
    xt = torch.randn(7, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 7, dtype=torch.float64)
    w[:2, :, 2:] = 0
    w[2, :, 5:] = 0
    w.requires_grad_()
    b = torch.randn(4, 3, 1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda xt, w, b: _RaggedLinear.apply(xt, w, b, blocks), (xt, w, b))


def test_stop_loss_freezes_each_member_as_alone(blobs):
    x, y = blobs
    cfg = TrainConfig(epochs=300, lr=0.05, stop_loss=0.3)
    ens = Ensemble(MLPSpec((6, 16, 3)), seeds=[10, 11, 12])
    alone = [ens.member(i) for i in range(3)]
    history = Trainer(ens, cfg).fit(x, y)
    assert_members_match(ens, [plain_train(m, x, y, cfg) for m in alone], atol=1e-4)
    stopped = history.stopped_epoch
    assert (stopped > 0).all() and len(set(stopped.tolist())) > 1  # members stop at their own epochs


def test_same_seed_same_numbers(blobs):
    x, y = blobs
    cfg = TrainConfig(epochs=20, lr=0.01, batch_size=16)
    runs = []
    for _ in range(2):
        ens = Ensemble(MLPSpec((6, 8, 3)), seeds=[42, 43])
        h = Trainer(ens, cfg).fit(x, y)
        runs.append((torch.cat([p.detach().flatten() for p in ens.parameters()]), h.loss))
    assert torch.equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_default_init_is_pytorch_linear_init():
    ens = Ensemble(MLPSpec((400, 300, 2)), seeds=[0])
    w = ens.weights[0].detach()
    bound = 1 / math.sqrt(400)
    assert w.abs().max() <= bound
    # Uniform(-b, b) has variance b^2 / 3; 120,000 draws pin it within ~1%.
    assert abs(w.var().item() / (bound**2 / 3) - 1) < 0.02


def test_zero_init_relu_mlp_learns_only_the_class_prior():
    # With every parameter zero, ReLU hidden units output 0 and get no gradient; only the output bias moves,
    # to the log of the class shares (the optimum of cross-entropy for a constant prediction).
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 4, generator=g)
    y = torch.cat([torch.zeros(150), torch.ones(50)]).long()
    ens = Ensemble(MLPSpec((4, 8, 2)), seeds=[0], init="zero")
    Trainer(ens, TrainConfig(epochs=400, lr=0.05)).fit(x, y)
    assert torch.count_nonzero(ens.weights[0]) == 0 and torch.count_nonzero(ens.weights[1]) == 0
    probs = ens.predict_proba(x)[0]
    torch.testing.assert_close(probs, torch.tensor([[0.75, 0.25]]).expand(200, 2), atol=1e-3, rtol=0)


def test_zero_init_sigmoid_hidden_units_stay_identical(blobs):
    x, y = blobs
    # Plain SGD: its update is proportional to the gradient, so rounding noise stays at rounding level (Adam
    # rescales near-zero gradients to full steps and can split symmetric units by amplified rounding noise).
    ens = Ensemble(MLPSpec((6, 5, 3), "sigmoid"), seeds=[0], init="zero")
    Trainer(ens, TrainConfig(epochs=100, lr=0.5, optimizer="sgd", momentum=0.0)).fit(x, y)
    w1 = ens.weights[0][0].detach()  # [h, d]
    assert w1.abs().max() > 1e-3  # the hidden layer did move...
    torch.testing.assert_close(w1, w1[:1].expand_as(w1), atol=1e-6, rtol=1e-5)  # ...every unit identically


def test_regression_recovers_least_squares_solution():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3 + 0.1 * torch.randn(64, generator=g)
    ens = Ensemble(MLPSpec((3, 1)), seeds=[0, 1])  # two linear models from different starts
    Trainer(ens, TrainConfig(epochs=1500, lr=0.05, loss="mse")).fit(x, y)
    design = np.c_[x.numpy(), np.ones(64)]
    coef = np.linalg.lstsq(design, y.numpy(), rcond=None)[0]
    for i in range(2):
        got = np.r_[ens.weights[0][i, 0].detach().numpy(), ens.biases[0][i, 0, 0].item()]
        np.testing.assert_allclose(got, coef, atol=1e-4)


def test_history_records_cadence_and_matches_final_predictions(blobs):
    x, y = blobs
    xe, ye = x[:40] * 1.1, y[:40]
    ens = Ensemble(MLPSpec((6, 8, 3)), seeds=[0, 1])
    h = Trainer(ens, TrainConfig(epochs=23, lr=0.02, log_every=5)).fit(x, y, x_eval=xe, y_eval=ye)
    assert h.epochs.tolist() == [0, 5, 10, 15, 20, 23]
    assert h.train_accuracy.shape == (6, 2) and h.heldout_accuracy.shape == (6, 2)
    for i in range(2):
        module = ens.member(i)
        with torch.no_grad():
            assert h.train_accuracy[-1, i] == pytest.approx((module(x).argmax(1) == y).float().mean().item())
            assert h.heldout_accuracy[-1, i] == pytest.approx((module(xe).argmax(1) == ye).float().mean().item())
            assert h.loss[-1, i] == pytest.approx(F.cross_entropy(module(x), y).item(), rel=1e-5)


def test_spec_and_options_are_validated():
    assert MLPSpec.parse("240-64-4").sizes == (240, 64, 4)
    assert MLPSpec.parse("240-64-4").n_params == 240 * 64 + 64 + 64 * 4 + 4
    for bad in ("240-x-4", "5", "3-0-2"):
        with pytest.raises(ConfigError):
            MLPSpec.parse(bad)
    with pytest.raises(ConfigError, match="activation"):
        MLPSpec((3, 2), "gelu2")
    with pytest.raises(ConfigError, match="normal"):
        Ensemble(MLPSpec((3, 2)), seeds=[0], init="normal:-1")
    with pytest.raises(ConfigError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ConfigError, match="weight_decay=-0.1 must be a finite number in \\[0, 1000\\]"):
        TrainConfig(weight_decay=-0.1)
    with pytest.raises(ConfigError, match="momentum"):
        TrainConfig(optimizer="sgd", momentum=-0.5)
    with pytest.raises(ConfigError, match="input_sizes"):
        Ensemble(MLPSpec((5, 2)), seeds=[0, 1], input_sizes=[4, 2])


@pytest.mark.parametrize("stop_loss", [None, 0.5])
def test_every_recorded_training_metric_is_that_epochs_weights(blobs, stop_loss):
    # Full batch: the training metrics of a record come from the next step's forward pass; they must equal a
    # separate evaluation of a copy of the weights taken at the record.
    x, y = blobs
    ens = Ensemble(MLPSpec((6, 8, 3)), seeds=[0, 1, 2])
    copies = []
    h = Trainer(ens, TrainConfig(epochs=40, lr=0.05, log_every=7, stop_loss=stop_loss)).fit(
        x, y, on_record=lambda _e: copies.append([ens.member(i) for i in range(3)]))
    assert len(copies) == len(h.epochs)
    for t, members in enumerate(copies):
        for i, m in enumerate(members):
            with torch.no_grad():
                out = m(x)
            assert h.loss[t, i] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
            assert h.train_accuracy[t, i] == pytest.approx((out.argmax(1) == y).float().mean().item())


@pytest.mark.parametrize(
    "sizes, activation, bias, input_sizes, loss",
    [
        ((6, 8, 3), "relu", True, None, "cross_entropy"),
        ((6, 8, 3), "relu", True, [2, 2, 5, 6], "cross_entropy"),  # ragged: groups of 2, 1 and 1 members
        ((6, 7, 5, 3), "tanh", True, [3, 6, 6, 6], "cross_entropy"),  # two hidden layers
        ((6, 5, 2), "sigmoid", False, None, "mse"),
        ((6, 2), "relu", True, [1, 4, 4, 6], "sse"),  # no hidden layer
    ],
)
@pytest.mark.parametrize("per_member_labels", [False, True])
def test_hand_written_passes_match_autograd(sizes, activation, bias, input_sizes, loss, per_member_labels):
    g = torch.Generator().manual_seed(0)
    n, M = 37, 4
    x = torch.randn(n, sizes[0], generator=g)
    if loss == "cross_entropy":
        y = torch.randint(0, sizes[-1], (M, n) if per_member_labels else (n,), generator=g)
    else:
        y = torch.randn(*((M,) if per_member_labels else ()), sizes[-1], n, generator=g)  # feature-major
    ens = Ensemble(MLPSpec(sizes, activation, bias), seeds=[3, 4, 5, 6], input_sizes=input_sizes)
    with torch.no_grad():  # move trained biases off their init so that their gradients are exercised too
        for b in ens.biases if bias else []:
            b.add_(0.1)
    out = ens.forward_features_major(x.T)
    member_losses(out, y, loss).sum().backward()  # the reference: autograd
    expected = [p.grad.clone() for p in ens.trained_parameters()]

    passes = SharedInputPasses(ens)
    got_out = passes.forward(x)
    torch.testing.assert_close(got_out, out.detach())
    passes.backward(passes.loss_gradient(got_out, y, loss), x)
    for got, want in zip([p.grad for p in ens.trained_parameters()], expected):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_fit_continues_where_the_last_fit_ended_and_in_float64(blobs):
    # Two fits of 20 epochs on one Trainer are one run of 40 (the optimizer's state carries over), in float64 too.
    x, y = blobs
    x = x.double()
    ens = Ensemble(MLPSpec((6, 8, 5, 3), bias=False), seeds=[1, 2]).double()
    alone = [ens.member(i) for i in range(2)]
    x_eval = x[:30]
    trainer = Trainer(ens, TrainConfig(epochs=20, lr=0.01))
    for _ in range(2):
        trainer.fit(x, y, x_eval=x_eval, y_eval=y[:30])
    assert_members_match(ens, [plain_train(m, x, y, TrainConfig(epochs=40, lr=0.01)) for m in alone], atol=1e-9)


def test_members_reading_the_same_fewer_columns_leave_the_rest_alone(blobs):
    x, y = blobs
    ens = Ensemble(MLPSpec((6, 7, 3)), seeds=[0, 1], input_sizes=[2, 2])  # not every column is read
    alone = [ens.member(i) for i in range(2)]
    cfg = TrainConfig(epochs=30, lr=0.02)
    Trainer(ens, cfg).fit(x.expand(2, -1, -1).contiguous(), y)  # per-member inputs: the autograd path
    assert_members_match(ens, [plain_train(m, x[:, :2], y, cfg) for m in alone])
    assert torch.count_nonzero(ens.weights[0][:, :, 2:]) == 0


def test_inputs_of_the_wrong_width_are_refused(blobs):
    x, y = blobs
    ens = Ensemble(MLPSpec((5, 4, 3)), seeds=[0])
    with pytest.raises(ConfigError, match="6 columns but the networks take 5"):
        Trainer(ens, TrainConfig(epochs=1)).fit(x, y)


def _torch_and_ours(kind, params, **options):
    """The same parameters twice: one copy for torch.optim, one for nnprobe.nn.optim."""
    theirs = [p.detach().clone().requires_grad_() for p in params]
    ours = [p.detach().clone().requires_grad_() for p in params]
    if kind == "adam":
        return theirs, torch.optim.Adam(theirs, fused=True, **options), ours, optim.Adam(ours, **options)
    if kind == "adam-without-fused-kernel":  # what a torch build without aten::_fused_adam_ runs
        return theirs, torch.optim.Adam(theirs, foreach=False, **options), ours, optim.Adam(ours, **options)
    return theirs, torch.optim.SGD(theirs, **options), ours, optim.SGD(ours, **options)


@pytest.mark.parametrize("kind, options", [
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.003, weight_decay=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("adam-without-fused-kernel", dict(lr=0.01)),
    ("adam-without-fused-kernel", dict(lr=0.003, weight_decay=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9, weight_decay=1e-3)),
], ids=["adam", "adam-options", "plain-adam", "plain-adam-options", "sgd", "sgd-momentum-decay"])
def test_optimizers_equal_torch_optim_bit_for_bit(kind, options, monkeypatch):
    if kind == "adam-without-fused-kernel":
        monkeypatch.setattr(optim, "fused_adam_supported", lambda device_type, dtype: False)
    g = torch.Generator().manual_seed(1)
    params = [torch.randn(3, 4, 5, generator=g), torch.randn(3, 4, generator=g), torch.randn(7, generator=g).double()]
    theirs, t_opt, ours, o_opt = _torch_and_ours(kind, params, **options)
    for step in range(6):
        grads = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
        for i, (t, o, grad) in enumerate(zip(theirs, ours, grads)):
            skip = step == 2 and i == 1  # a tensor without a gradient this step is left as it is
            t.grad = None if skip else grad.clone()
            o.grad = None if skip else grad.clone()
        t_opt.step()
        o_opt.step()
        for t, o in zip(theirs, ours):
            assert torch.equal(t, o)


def test_a_model_converted_after_its_trainer_was_made_trains_in_its_new_dtype(blobs):
    """Optimizer state is made at the first step, in the parameters' dtype then, as torch.optim does."""
    x, y = blobs
    late = Ensemble(MLPSpec((6, 5, 3)), seeds=[0, 1])
    trainer = Trainer(late, TrainConfig(epochs=20, lr=0.01))
    late.double()
    trainer.fit(x.double(), y)
    early = Ensemble(MLPSpec((6, 5, 3)), seeds=[0, 1]).double()
    Trainer(early, TrainConfig(epochs=20, lr=0.01)).fit(x.double(), y)
    for p_late, p_early in zip(late.trained_parameters(), early.trained_parameters()):
        assert p_late.dtype == torch.float64
        assert torch.equal(p_late, p_early)


def test_training_does_not_load_the_compiler_stack():
    """torch.optim imports torch._dynamo (1-2 s here) on first use; the engine's optimizers must not."""
    code = ("import sys, torch; from nnprobe.nn import Ensemble, MLPSpec, TrainConfig, Trainer; "
            "x = torch.randn(20, 3); y = torch.randint(0, 2, (20,)); "
            "[Trainer(Ensemble(MLPSpec((3, 4, 2)), seeds=[0]), TrainConfig(epochs=2, optimizer=o)).fit(x, y) "
            "for o in ('adam', 'sgd')]; "
            "print('torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_diverging_member_is_marked_and_the_others_keep_their_numbers(blobs):
    x, y = blobs
    cfg = TrainConfig(epochs=40, lr=0.5, optimizer="sgd", momentum=0.9, log_every=5)
    xs = torch.stack([x, x * 1e6, x])  # member 1 sees inputs a million times larger: its SGD steps explode
    model = Ensemble(MLPSpec.parse("6-8-3"), seeds=[1, 2, 3])
    history = Trainer(model, cfg).fit(xs, y)
    assert history.diverged_epoch[1] > 0 and history.diverged_epoch[[0, 2]].tolist() == [-1, -1]
    # found at the step whose outputs overflow, though only every 5th epoch is recorded: as the network alone
    alone = Trainer(Ensemble(MLPSpec.parse("6-8-3"), seeds=[2]), cfg).fit((x * 1e6)[None], y)
    assert history.diverged_epoch[1] == alone.diverged_epoch[0] and history.diverged_epoch[1] % cfg.log_every
    first_bad = np.searchsorted(history.epochs, history.diverged_epoch[1])
    assert np.isnan(history.train_accuracy[first_bad:, 1]).all()  # no accuracy of a NaN network
    assert np.isfinite(history.train_accuracy[:first_bad, 1]).all()
    for i in (0, 2):  # the others end exactly where they would alone
        alone = Ensemble(MLPSpec.parse("6-8-3"), seeds=[model.seeds[i]])
        alone_history = Trainer(alone, cfg).fit(x, y)
        np.testing.assert_allclose(history.loss[:, i], alone_history.loss[:, 0], rtol=1e-5)
        assert_members_match(_only(model, i), [alone.member(0)])


def _only(model, i):
    """Member ``i`` of ``model`` as an ensemble of one (for comparing parameters)."""
    one = Ensemble(model.spec, seeds=[model.seeds[i]])
    with torch.no_grad():
        for dst, src in zip(one.parameters(), model.parameters()):
            dst.copy_(src[i : i + 1])
    return one


def test_training_stops_early_when_every_member_diverged(blobs):
    x, y = blobs
    model = Ensemble(MLPSpec.parse("6-8-3"), seeds=[1, 2])
    history = Trainer(model, TrainConfig(epochs=100_000, lr=900, optimizer="sgd", log_every=1)).fit(x * 1e6, y)
    assert (history.diverged_epoch > 0).all() and history.epochs[-1] < 100  # not 100,000 epochs of NaN


def test_the_fused_adam_kernel_is_found_where_it_exists_and_training_runs_without_it(blobs, monkeypatch):
    assert optim.fused_adam_supported("cpu", torch.float32)  # torch 2.13's CPU build has it
    x, y = blobs
    fused = Ensemble(MLPSpec.parse("6-8-3"), seeds=[0, 1])
    Trainer(fused, TrainConfig(epochs=20, lr=0.05)).fit(x, y)
    monkeypatch.setattr(optim, "fused_adam_supported", lambda device_type, dtype: False)
    plain = Ensemble(MLPSpec.parse("6-8-3"), seeds=[0, 1])
    Trainer(plain, TrainConfig(epochs=20, lr=0.05)).fit(x, y)
    for a, b in zip(fused.parameters(), plain.parameters()):  # the same algorithm, rounded differently
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_an_evaluation_between_forward_and_backward_leaves_the_training_step_alone():
    # The held-out set has as many rows as the batch: its evaluation must not write into the step's buffers.
    g = torch.Generator().manual_seed(0)
    x, x_held = torch.randn(30, 5, generator=g), torch.randn(30, 5, generator=g)
    y = torch.randint(0, 3, (30,), generator=g)
    ens = Ensemble(MLPSpec.parse("5-6-3"), seeds=[0, 1])
    member_losses(ens.forward_features_major(x.T), y, "cross_entropy").sum().backward()
    expected = [p.grad.clone() for p in ens.trained_parameters()]
    passes = SharedInputPasses(ens)
    out = passes.forward(x, "batch")
    passes.forward(x_held, "eval")
    passes.backward(passes.loss_gradient(out, y, "cross_entropy"), x)
    for p, want in zip(ens.trained_parameters(), expected):
        torch.testing.assert_close(p.grad, want, atol=1e-6, rtol=1e-5)


def test_every_activation_is_one_registry_entry_whose_forms_agree():
    from nnprobe.nn import mlp
    from nnprobe.nn.activations import ACTIVATIONS

    assert tuple(ACTIVATIONS) == mlp.ACTIVATIONS  # the torch-free names the configs validate against
    z = torch.linspace(-3, 3, 25, dtype=torch.float64, requires_grad=True)
    for name, act in ACTIVATIONS.items():
        a = act.forward(z)
        (expected,) = torch.autograd.grad(a, z, torch.ones_like(z) * 0.7)
        got = act.backward_from_output(torch.full_like(z, 0.7), a.detach(), torch.empty_like(z))
        torch.testing.assert_close(got, expected, msg=name)  # gradient from the output = autograd's
        torch.testing.assert_close(act.forward_into(z.detach(), torch.empty_like(z)), a.detach(), msg=name)
        torch.testing.assert_close(act.module()(z.detach()), a.detach(), msg=name)


def test_what_the_fast_path_does_not_implement_trains_through_autograd(blobs):
    import dataclasses

    x, y = blobs

    @dataclasses.dataclass(frozen=True)
    class SpecWithNote(MLPSpec):  # a layer-spec field that the hand-written passes know nothing of
        note: str = ""

    cfg = TrainConfig(epochs=25, lr=0.02)
    fast = Ensemble(MLPSpec.parse("6-8-3"), seeds=[0, 1])
    fast_history = Trainer(fast, cfg).fit(x, y)
    slow = Ensemble(SpecWithNote((6, 8, 3), note="new"), seeds=[0, 1])
    slow_history = Trainer(slow, cfg).fit(x, y)
    assert fast_history.path == "hand-written passes"
    assert slow_history.path == "autograd: the layer spec has fields the hand-written passes do not implement: note"
    for a, b in zip(fast.parameters(), slow.parameters()):  # the same training by either path
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert SharedInputPasses.unsupported(fast, torch.stack([x, x])) == "each member has inputs of its own"
    assert SharedInputPasses.unsupported(fast, x.clone().requires_grad_()) == "the inputs are trained"
    assert SharedInputPasses.unsupported(fast, x, extra_optimizers=[object()]).startswith("other tensors")
    with pytest.raises(ConfigError, match="x is torch.float64 but the networks compute in torch.float32"):
        Trainer(fast, cfg).fit(x.double(), y)
