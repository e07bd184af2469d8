"""TrainConfig: how the engine trains an ensemble (no torch here, so study configs stay light to import)."""

from __future__ import annotations

from dataclasses import dataclass

from nnprobe.errors import ConfigError
from nnprobe.limits import MAX_EPOCHS, MAX_RATE, check_int, check_momentum, check_number, check_rate, check_seed


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
        self.epochs = check_int("epochs", self.epochs, 0, MAX_EPOCHS)
        self.lr = check_rate("lr", self.lr)
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"optimizer {self.optimizer!r} is unknown: use adam or sgd.")
        self.momentum = check_momentum("momentum", self.momentum)
        self.weight_decay = check_number("weight_decay", self.weight_decay, low=0.0, high=MAX_RATE, example="1e-4")
        if self.loss not in ("cross_entropy", "mse", "sse"):
            raise ConfigError(f"loss {self.loss!r} is unknown: use cross_entropy, mse or sse.")
        if self.batch_size is not None:
            self.batch_size = check_int("batch_size", self.batch_size, 1, 2**31 - 1)
        if self.stop_loss is not None:
            self.stop_loss = check_number("stop_loss", self.stop_loss, low=0.0, high=3e38, low_open=True)
        self.log_every = check_int("log_every", self.log_every, 1, 2**31 - 1)
        self.shuffle_seed = check_seed(self.shuffle_seed, "shuffle_seed")
