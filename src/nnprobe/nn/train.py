"""The one training loop of nnprobe: fit -> epoch -> step over an Ensemble, with a history.

Every member gets the gradient of its own mean loss (the batched loss is the sum over members of each
member's mean), and Adam/SGD act elementwise, so member ``i`` follows exactly the path it would follow if
trained alone. Metrics stay on the device and are copied to the host once, at the end of the fit.

Gradients come from the hand-written passes of ``nnprobe.nn.passes`` wherever they declare that they implement
the model and inputs (shared by every member and not trained: every study's training but the cluster study's),
and from autograd otherwise: the same gradients to rounding, the passes measured 1.1-1.3x faster per fit of the
memorize sweep. ``fit`` chooses once, and the History says which path trained and why.
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
    # [M] the epoch after which a member diverged: its weights gave NaN or infinite outputs at the next training
    # step, or a NaN or infinite training loss at a record (-1: never); its metrics are NaN from that epoch on.
    diverged_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    seconds: float = 0.0  # wall time of the fit
    path: str = ""  # what computed the gradients: "hand-written passes", or "autograd: <why not the passes>"


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
        # the first epoch whose training step met NaN or infinite outputs, per member (-1: none yet); kept on the
        # device, so watching costs no host sync
        self._diverged = torch.full((M,), -1, dtype=torch.long, device=dev)
        self._passes: SharedInputPasses | None = None  # hand-written passes, when fit chose them

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
        if self._passes is not None:  # fit chose the hand-written passes
            out = self._passes.forward(x, "batch")
            self._watch_divergence(out, epoch)
            losses = member_losses(out, y, cfg.loss) if need_loss else None
            accuracy = _accuracy(out, y) if metrics and cfg.loss == "cross_entropy" else None
            self._passes.backward(self._passes.loss_gradient(out, y, cfg.loss), x)
        else:
            out = self.model.forward_features_major(x.transpose(-1, -2) if xt is None else xt)
            self._watch_divergence(out.detach(), epoch)
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

    def _watch_divergence(self, out: torch.Tensor, epoch: int) -> None:
        """Note the members whose outputs ``[M, o, n]`` of this step are NaN or infinite (a step too large made
        their weights overflow): their numbers end here. One reduction over the outputs, no host sync."""
        bad = ~torch.isfinite(out.sum((1, 2)))  # [M]: a NaN or infinite output makes its member's sum so
        self._diverged = torch.where(bad & (self._diverged < 0), torch.full_like(self._diverged, epoch),
                                     self._diverged)

    def all_diverged(self) -> bool:
        """Whether every member has diverged (a host sync: asked at records, and only on the CPU, where a sync
        costs nothing)."""
        return self.model.device.type == "cpu" and bool((self._diverged >= 0).all())

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
        x, y = x[..., order, :], y[..., order]  # one gather per epoch; the batches are then contiguous slices
        for start in range(0, n, bs):
            self.step(x[..., start : start + bs, :], y[..., start : start + bs], epoch, metrics=False)
        return None

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, *, xt: torch.Tensor | None = None):
        """Mean loss ``[M]`` and, for classification, accuracy ``[M]`` on sample-major inputs; no host sync."""
        if self._passes is not None:
            out = self._passes.forward(x, "eval")
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

        x : ``[n, d]`` shared by all members or ``[M, n, d]`` per member (``x_eval`` alike).
        y : class indices ``[n]`` / ``[M, n]``, or regression targets ``[n]`` / ``[n, o]`` / ``[M, n, o]``.
        ``on_record(epoch)`` is called at every recorded epoch (e.g. to snapshot inputs that are trained).
        """
        why_not = SharedInputPasses.unsupported(self.model, x, extra_optimizers=self.extra_optimizers)
        data = _FitData.prepare(self, x, y, x_eval, y_eval, feature_major=why_not is not None)
        self._passes = SharedInputPasses(self.model) if why_not is None else None
        recorder = Recorder(self, data, on_record=on_record)
        t0 = time.perf_counter()
        try:
            self._fit_loop(data, recorder, progress)
        finally:
            self._passes = None  # its views of the gradients are this fit's own
        return recorder.history(stopped=self._stopped, diverged=self._diverged, seconds=time.perf_counter() - t0,
                                path="hand-written passes" if why_not is None else f"autograd: {why_not}")

    def _fit_loop(self, data: _FitData, recorder: Recorder, progress: Progress | None) -> None:
        """The epochs of a fit, with the records they call for; stops early once every member has stopped
        (``stop_loss``) or diverged."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.shuffle_seed)
        recorder.record(0, train_now=not recorder.reuse or cfg.epochs == 0)
        for e in range(1, cfg.epochs + 1):
            metrics = self.epoch(data.xs, data.yt, e, gen, xt=data.xt, metrics=recorder.pending)
            if recorder.pending:
                recorder.take_step_metrics(metrics)
            if e % cfg.log_every == 0 or e == cfg.epochs:
                diverged = self.all_diverged()
                stopping = diverged or (cfg.stop_loss is not None and not bool((self._active & (self._diverged < 0))
                                                                               .any()))
                recorder.record(e, train_now=not recorder.reuse or e == cfg.epochs or stopping)
                if progress is not None:
                    progress(e, cfg.epochs)
                if stopping:
                    break  # every member has stopped or diverged: further epochs would change nothing
        if self.model.device.type == "cuda":
            torch.cuda.synchronize(self.model.device)


@dataclass
class _FitData:
    """The inputs and targets of a fit, checked and in the layouts the training path reads."""

    xs: torch.Tensor  # [n, d] or [M, n, d], sample-major
    xt: torch.Tensor | None  # the same feature-major, where autograd's forward pass reads it
    yt: torch.Tensor  # targets feature-major
    eval: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor] | None  # (xs, xt, yt) of the held-out data
    fixed: bool  # the inputs are not trained

    @classmethod
    def prepare(cls, trainer: Trainer, x, y, x_eval, y_eval, *, feature_major: bool) -> _FitData:
        """Check the shapes and lay the data out; ``feature_major``: autograd will train (it reads ``[d, n]``)."""
        d_in, loss = trainer.model.spec.d_in, trainer.config.loss
        for name, inputs in (("x", x), ("x_eval", x_eval)):
            if inputs is not None and inputs.shape[-1] != d_in:
                raise ConfigError(f"{name} has {inputs.shape[-1]} columns but the networks take {d_in} inputs: "
                                  "give one column per input.")
        dtype = trainer.model.weights[0].dtype
        for name, inputs in (("x", x), ("x_eval", x_eval)):
            if inputs is not None and inputs.dtype != dtype:
                raise ConfigError(f"{name} is {inputs.dtype} but the networks compute in {dtype}: convert one to the "
                                  "other (e.g. x.float(), or model.double()).")
        if x_eval is not None and x_eval.dim() != x.dim():
            raise ConfigError(f"x_eval has {x_eval.dim()} dimensions and x {x.dim()}: give both shared ([n, d]) or "
                              "both per member ([M, n, d]).")
        fixed = not x.requires_grad  # inputs that are trained are read afresh at every step

        def layouts(inputs):  # sample-major, and feature-major where autograd's forward pass will read it
            return inputs.contiguous(), (inputs.transpose(-1, -2).contiguous() if feature_major else None)

        xs, xt = layouts(x) if fixed else (x, None)
        held = None
        if x_eval is not None and y_eval is not None:
            held = (*layouts(x_eval), _targets_features_major(y_eval, loss))
        return cls(xs, xt, _targets_features_major(y, loss), held, fixed)


class Recorder:
    """The history of one fit: every member's metrics at the recorded epochs, kept on the device until the end.

    With fixed inputs and full batches a record's training metrics come from the next step's forward pass, which
    sees the same weights, instead of an evaluation of their own: such a record is "pending" until that step.
    """

    def __init__(self, trainer: Trainer, data: _FitData, *, on_record: Callable[[int], None] | None) -> None:
        cfg = trainer.config
        self.trainer, self.data, self.on_record = trainer, data, on_record
        self.reuse = data.fixed and (cfg.batch_size is None or cfg.batch_size >= data.xs.shape[-2])
        self.epochs: list[int] = []
        self.loss: list = []
        self.accuracy: list = []
        self.heldout_loss: list = []
        self.heldout_accuracy: list = []
        self._pending: int | None = None  # index of the record waiting for the next step's metrics

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def record(self, epoch: int, *, train_now: bool) -> None:
        """Record ``epoch``: held-out metrics now, training metrics now or from the next step."""
        self.epochs.append(epoch)
        loss = accuracy = None
        if train_now:
            loss, accuracy = self.trainer.evaluate(self.data.xs.detach(), self.data.yt, xt=self.data.xt)
        else:
            self._pending = len(self.epochs) - 1
        self.loss.append(loss)
        self.accuracy.append(accuracy)
        if self.data.eval is not None:
            xs_eval, xt_eval, yt_eval = self.data.eval
            heldout_loss, heldout_accuracy = self.trainer.evaluate(xs_eval, yt_eval, xt=xt_eval)
            self.heldout_loss.append(heldout_loss)
            self.heldout_accuracy.append(heldout_accuracy)
        if self.on_record is not None:
            self.on_record(epoch)

    def take_step_metrics(self, metrics: tuple) -> None:
        """Fill the pending record with the (losses, accuracies) of the step that followed it."""
        self.loss[self._pending], self.accuracy[self._pending] = metrics
        self._pending = None

    def history(self, *, stopped: torch.Tensor, diverged: torch.Tensor, seconds: float, path: str) -> History:
        """The records as host arrays; members that diverged are marked (see ``History.diverged_epoch``)."""
        def stack(items):
            return None if not items or items[0] is None else torch.stack(items).cpu().numpy()

        history = History(
            epochs=np.asarray(self.epochs), loss=stack(self.loss), train_accuracy=stack(self.accuracy),
            heldout_loss=stack(self.heldout_loss), heldout_accuracy=stack(self.heldout_accuracy),
            stopped_epoch=stopped.cpu().numpy(), seconds=seconds, path=path,
        )
        _mark_divergence(history, diverged.cpu().numpy())
        return history


def train_network(spec, x, y, config: TrainConfig, *, seed: int, init: str = "default", device="cpu",
                  x_eval=None, y_eval=None, progress: Progress | None = None) -> tuple[Ensemble, History]:
    """Train one network of shape ``spec`` (an Ensemble of one) on ``x``, ``y`` and return it with its history.

    Arrays (numpy or torch) are moved to ``device``; held-out data, when given, is recorded in the history.

    Parameters
    ----------
    spec : MLPSpec
    x : array of shape (n_samples, n_features), float32 (or the model's dtype)
    y : array of shape (n_samples,), class indices (or regression targets, see ``Trainer.fit``)
    config : TrainConfig
    seed : int, the network's initialisation seed
    init : "default", "zero" or "normal:<std>"
    device : str or torch.device
    x_eval, y_eval : optional held-out arrays
    progress : optional callback (epochs done, epochs total)
    """
    model = Ensemble(spec, seeds=[seed], init=init, device=device)

    def tensor(array):
        return None if array is None else torch.as_tensor(array).to(model.device)

    history = Trainer(model, config).fit(tensor(x), tensor(y), x_eval=tensor(x_eval), y_eval=tensor(y_eval),
                                         progress=progress)
    return model, history


def _mark_divergence(history: History, step_epochs: np.ndarray) -> None:
    """Set ``history.diverged_epoch`` and blank (NaN) every metric of a diverged member from then on.

    A member diverged after epoch e when the step of epoch e + 1 met NaN or infinite outputs (``step_epochs``,
    from the training steps) or the record of epoch e has a NaN or infinite training loss, whichever is first.
    The accuracy of a network with NaN weights is an artefact (``max`` of NaN outputs picks class 0), not a
    measurement, so it is left out.
    """
    T, M = history.loss.shape
    from_steps = np.where(step_epochs >= 0, step_epochs - 1, np.iinfo(np.int64).max)  # [M]
    bad = ~np.isfinite(history.loss)  # [T, M]
    from_records = np.where(bad.any(0), history.epochs[bad.argmax(0)], np.iinfo(np.int64).max)
    first = np.minimum(from_steps, from_records)
    history.diverged_epoch = np.where(first < np.iinfo(np.int64).max, first, -1)
    after = history.epochs[:, None] >= first[None, :]  # [T, M]
    for name in ("loss", "train_accuracy", "heldout_loss", "heldout_accuracy"):
        values = getattr(history, name)
        if values is not None and after.any():
            setattr(history, name, np.where(after, np.nan, values))
