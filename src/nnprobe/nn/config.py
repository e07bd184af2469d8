"""TrainConfig: how the engine trains an ensemble (no torch here, so study configs stay light to import)."""

from __future__ import annotations

from dataclasses import dataclass

from nnprobe.errors import ConfigError


@dataclass
class TrainConfig:
    """How to train an ensemble."""

    epochs: int = 100  # passes over the training set
    lr: float = 1e-2  # learning rate of the weights
    optimizer: str = "adam"  # "adam" or "sgd" (SGD uses `momentum`)
    momentum: float = 0.9  # SGD momentum; ignored by Adam
    weight_decay: float = 0.0  # L2 penalty, applied by the optimizer
    batch_size: int | None = None  # None: full batch; else minibatches in a seeded shuffled order
    loss: str = "cross_entropy"  # "cross_entropy" (classification), "mse" or "sse" (mean / sum of squared errors)
    stop_loss: float | None = None  # a member stops once its step loss falls below this
    log_every: int = 1  # record the history every this many epochs (and at the first and last)
    shuffle_seed: int = 0  # seed of the minibatch order, shared by all members

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ConfigError(f"epochs={self.epochs} is negative: give 0 or more.")
        if not self.lr > 0:
            raise ConfigError(f"learning rate {self.lr} must be positive, e.g. 0.01.")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"optimizer {self.optimizer!r} is unknown: use adam or sgd.")
        if not self.momentum >= 0:
            raise ConfigError(f"momentum {self.momentum} must be 0 or positive, e.g. 0.9 (0: plain gradient descent).")
        if not self.weight_decay >= 0:
            raise ConfigError(f"weight decay {self.weight_decay} must be 0 or positive, e.g. 1e-4.")
        if self.loss not in ("cross_entropy", "mse", "sse"):
            raise ConfigError(f"loss {self.loss!r} is unknown: use cross_entropy, mse or sse.")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"batch size {self.batch_size} must be a positive integer (or None for full batch).")
        if self.log_every < 1:
            raise ConfigError(f"log_every={self.log_every} must be at least 1.")
