"""The one training loop of nnprobe: fit -> epoch -> step over an Ensemble, with a history.

Every member gets the gradient of its own mean loss (the batched loss is the sum over members of each
member's mean), and Adam/SGD act elementwise, so member ``i`` follows exactly the path it would follow if
trained alone. Metrics stay on the device and are copied to the host once, at the end of the fit.

Gradients come from autograd, or, when the inputs are shared by every member and not trained (every study's
training but the cluster study's), from the hand-written passes of ``nnprobe.nn.passes``: the same gradients
to rounding, measured 1.1-1.3x faster per fit of the memorize sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from nnprobe.errors import ConfigError
from nnprobe.nn import optim
from nnprobe.nn.config import TrainConfig
from nnprobe.nn.ensemble import Ensemble
from nnprobe.nn.passes import SharedInputPasses

Progress = Callable[[int, int], None]  # (epochs done, epochs total)


@dataclass
class History:
    """Metrics of every member at the recorded epochs (epoch 0 is before any update)."""

    epochs: np.ndarray  # [T] epoch numbers
    loss: np.ndarray  # [T, M] mean training loss on the full training set
    train_accuracy: np.ndarray | None  # [T, M] (classification only)
    heldout_loss: np.ndarray | None = None  # [T, M] when held-out data was given
    heldout_accuracy: np.ndarray | None = None  # [T, M] when held-out data was given (classification)
    stopped_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # [M]; -1: never stopped
    # [M] first recorded epoch whose training loss was not finite (NaN or infinite), -1 for members that never
    # diverged; the metrics of a diverged member are NaN from that record on.
    diverged_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    seconds: float = 0.0  # wall time of the fit


def member_losses(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Loss of each member, ``[M]``, for feature-major outputs ``[M, o, n]``: mean cross-entropy, mean squared
    error (``mse``) or the sum of squared errors over rows and outputs (``sse``, the textbook "total error").

    Targets are feature-major too: class indices ``[n]`` or ``[M, n]``; regression values ``[o, n]`` or
    ``[M, o, n]``.
    """
    M, _, n = out.shape
    if loss == "cross_entropy":
        return F.cross_entropy(out, y.expand(M, n), reduction="none").mean(1)
    squared = ((out - y) ** 2).reshape(M, -1)
    return squared.sum(1) if loss == "sse" else squared.mean(1)


def _accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Share of rows whose first highest output is the true class, ``[M]``, for outputs ``[M, k, n]``."""
    return (out.max(1).indices == y).float().mean(-1)  # max(1): argmax(1) is 15x slower on CPU


def _targets_features_major(y: torch.Tensor, loss: str) -> torch.Tensor:
    """Class targets as given; regression targets ``[n]``, ``[n, o]`` or ``[M, n, o]`` as ``[.., o, n]``."""
    if loss == "cross_entropy":
        if y.dtype not in (torch.int64, torch.int32, torch.uint8):
            raise ConfigError(f"class targets must be integers, got {y.dtype}: use loss='mse' for regression.")
        return y.long()
    if y.dim() == 1:
        y = y[:, None]
    return y.transpose(-1, -2).contiguous()


def _make_optimizer(params: Sequence[torch.Tensor], cfg: TrainConfig) -> optim.Adam | optim.SGD:
    if cfg.optimizer == "adam":
        return optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


class Trainer:
    """Trains one Ensemble: ``fit`` runs epochs, an epoch runs steps, a step is one optimizer update.

    Parameters
    ----------
    model : Ensemble
    config : TrainConfig
    extra_optimizers : sequence of optimizers (``nnprobe.nn.optim`` or ``torch.optim``), optional
        Optimizers of further leaf tensors trained by the same loss (the inputs themselves, in the cluster
        study); they step after the weights' optimizer at every step.
    """

    def __init__(self, model: Ensemble, config: TrainConfig, *, extra_optimizers=()) -> None:
        self.model = model
        self.config = config
        self.optimizer = _make_optimizer(model.trained_parameters(), config)
        self.extra_optimizers = list(extra_optimizers)
        M, dev = model.n_members, model.device
        self._active = torch.ones(M, dtype=torch.bool, device=dev)  # members still training
        self._stopped = torch.full((M,), -1, dtype=torch.long, device=dev)  # epoch a member stopped at
        self._passes: SharedInputPasses | None = None  # hand-written passes, when fit's inputs are shared and fixed

    def step(
        self, x: torch.Tensor, y: torch.Tensor, epoch: int, *, xt: torch.Tensor | None = None, metrics: bool = True
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """One update on a batch; returns the members' losses ``[M]`` and, for classification, accuracies ``[M]``
        on this batch, both of the weights before the update (None where not asked for by ``metrics``).

        x : sample-major inputs ``[n, d]`` (shared) or ``[M, n, d]``; xt : the same inputs feature-major, when
        already at hand. y : targets feature-major (see ``member_losses``).
        """
        cfg = self.config
        need_loss = metrics or cfg.stop_loss is not None
        if self._passes is not None and x.dim() == 2:  # during fit, on shared fixed inputs: gradients by hand
            out = self._passes.forward(x)
            losses = member_losses(out, y, cfg.loss) if need_loss else None
            accuracy = _accuracy(out, y) if metrics and cfg.loss == "cross_entropy" else None
            self._passes.backward(self._passes.loss_gradient(out, y, cfg.loss), x)
        else:
            out = self.model.forward_features_major(x.transpose(-1, -2) if xt is None else xt)
            losses = member_losses(out, y, cfg.loss)  # [M]
            accuracy = _accuracy(out.detach(), y) if metrics and cfg.loss == "cross_entropy" else None
            self.optimizer.zero_grad(set_to_none=True)
            for opt in self.extra_optimizers:
                opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            losses = losses.detach()
        if cfg.stop_loss is None:
            self.optimizer.step()
        else:
            # A member whose loss is below the threshold stops here, as it would alone: snapshot, step, restore.
            done = losses < cfg.stop_loss
            newly = done & self._active
            self._stopped = torch.where(newly, torch.full_like(self._stopped, epoch), self._stopped)
            self._active = self._active & ~done
            before = [p.detach().clone() for p in self.model.trained_parameters()]
            self.optimizer.step()
            with torch.no_grad():
                for p, old in zip(self.model.trained_parameters(), before):
                    p.copy_(torch.where(self._active.view(-1, *([1] * (p.dim() - 1))), p, old))
        for opt in self.extra_optimizers:
            opt.step()
        return (losses if metrics else None), accuracy

    def epoch(self, x: torch.Tensor, y: torch.Tensor, epoch: int, gen: torch.Generator, *,
              xt: torch.Tensor | None = None, metrics: bool = False):
        """One pass over the training set, full batch or in minibatches of a seeded shuffled order.

        Full batch: returns the step's (losses, accuracies) on the whole training set, for the weights before
        this epoch's update (None unless ``metrics``); minibatches: None."""
        bs = self.config.batch_size
        n = x.shape[-2]
        if bs is None or bs >= n:
            return self.step(x, y, epoch, xt=xt, metrics=metrics)
        order = torch.randperm(n, generator=gen).to(x.device)
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            self.step(x[..., idx, :], y[..., idx], epoch, metrics=False)
        return None

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, *, xt: torch.Tensor | None = None):
        """Mean loss ``[M]`` and, for classification, accuracy ``[M]`` on sample-major inputs; no host sync."""
        if self._passes is not None and x.dim() == 2:
            out = self._passes.forward(x)
        else:
            out = self.model.forward_features_major(x.transpose(-1, -2) if xt is None else xt)
        loss = member_losses(out, y, self.config.loss)
        return loss, (_accuracy(out, y) if self.config.loss == "cross_entropy" else None)

    def fit(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        x_eval: torch.Tensor | None = None,
        y_eval: torch.Tensor | None = None,
        progress: Progress | None = None,
        on_record: Callable[[int], None] | None = None,
    ) -> History:
        """Train for ``config.epochs`` epochs and return the history.

        x : ``[n, d]`` shared by all members or ``[M, n, d]`` per member.
        y : class indices ``[n]`` / ``[M, n]``, or regression targets ``[n]`` / ``[n, o]`` / ``[M, n, o]``.
        ``on_record(epoch)`` is called at every recorded epoch (e.g. to snapshot inputs that are trained).
        """
        cfg = self.config
        dev = self.model.device
        d_in = self.model.spec.d_in
        for name, inputs in (("x", x), ("x_eval", x_eval)):
            if inputs is not None and inputs.shape[-1] != d_in:
                raise ConfigError(f"{name} has {inputs.shape[-1]} columns but the networks take {d_in} inputs: "
                                  "give one column per input.")
        gen = torch.Generator().manual_seed(cfg.shuffle_seed)
        yt = _targets_features_major(y, cfg.loss)
        fixed = not x.requires_grad  # inputs that are trained are read afresh at every step
        shared = fixed and x.dim() == 2 and not self.extra_optimizers
        self._passes = SharedInputPasses(self.model) if shared else None

        def layouts(inputs):  # sample-major, and feature-major where autograd's forward pass will read it
            return inputs.contiguous(), (None if shared else inputs.transpose(-1, -2).contiguous())

        has_eval = x_eval is not None and y_eval is not None
        if has_eval:
            xs_eval, xt_eval = layouts(x_eval)
            yt_eval = _targets_features_major(y_eval, cfg.loss)
        xs, xt = layouts(x) if fixed else (x, None)
        # With fixed inputs and full batches, the next step's forward pass already gives the training metrics of
        # the weights a record needs: take them from there instead of a separate evaluation.
        reuse = fixed and (cfg.batch_size is None or cfg.batch_size >= x.shape[-2])
        rec_epochs, rec_loss, rec_acc, rec_hloss, rec_hacc = [], [], [], [], []
        pending = None  # index of a record whose training metrics come from the next step

        def record(e: int, *, train_now: bool) -> None:
            nonlocal pending
            rec_epochs.append(e)
            if train_now:
                loss, acc = self.evaluate(xs.detach(), yt, xt=xt)
            else:
                loss = acc = None
                pending = len(rec_epochs) - 1
            rec_loss.append(loss)
            rec_acc.append(acc)
            if has_eval:
                hloss, hacc = self.evaluate(xs_eval, yt_eval, xt=xt_eval)
                rec_hloss.append(hloss)
                rec_hacc.append(hacc)
            if on_record is not None:
                on_record(e)

        def all_diverged(index: int) -> bool:
            loss = rec_loss[index]
            return loss is not None and not bool(torch.isfinite(loss).any())

        t0 = time.perf_counter()
        try:
            record(0, train_now=not reuse or cfg.epochs == 0)
            for e in range(1, cfg.epochs + 1):
                metrics = self.epoch(xs, yt, e, gen, xt=xt, metrics=pending is not None)
                if pending is not None:
                    rec_loss[pending], rec_acc[pending] = metrics
                    pending = None
                    if all_diverged(len(rec_epochs) - 1):
                        break  # every member's loss is NaN or infinite: further epochs cannot bring it back
                if e % cfg.log_every == 0 or e == cfg.epochs:
                    stopping = cfg.stop_loss is not None and not bool(self._active.any())
                    record(e, train_now=not reuse or e == cfg.epochs or stopping)
                    if progress is not None:
                        progress(e, cfg.epochs)
                    if stopping or all_diverged(len(rec_epochs) - 1):
                        break  # every member has stopped or diverged: further epochs would change nothing
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
        finally:
            self._passes = None  # its views of the gradients are this fit's own
        seconds = time.perf_counter() - t0

        if pending is not None:  # stopped early by divergence: the last record's training metrics never came
            rec_loss[pending], rec_acc[pending] = self.evaluate(xs.detach(), yt, xt=xt)

        def stack(items):
            return None if not items or items[0] is None else torch.stack(items).cpu().numpy()

        history = History(
            epochs=np.asarray(rec_epochs),
            loss=stack(rec_loss),
            train_accuracy=stack(rec_acc),
            heldout_loss=stack(rec_hloss),
            heldout_accuracy=stack(rec_hacc),
            stopped_epoch=self._stopped.cpu().numpy(),
            seconds=seconds,
        )
        _mark_divergence(history)
        return history


def _mark_divergence(history: History) -> None:
    """Set ``history.diverged_epoch`` from the training losses, and blank (NaN) every metric of a diverged member
    from its first non-finite loss on: the accuracy of a network with NaN weights is an artefact (``max`` of NaN
    outputs picks class 0), not a measurement."""
    bad = ~np.isfinite(history.loss)  # [T, M]
    T = bad.shape[0]
    first = np.where(bad.any(0), bad.argmax(0), T)  # [M] first bad record, T for none
    history.diverged_epoch = np.where(first < T, history.epochs[np.minimum(first, T - 1)], -1)
    after = np.arange(T)[:, None] >= first[None, :]  # [T, M]
    for name in ("loss", "train_accuracy", "heldout_loss", "heldout_accuracy"):
        values = getattr(history, name)
        if values is not None and after.any():
            setattr(history, name, np.where(after, np.nan, values))

