"""The one training engine of nnprobe: MLP specs, batched ensembles of MLPs, and the training loop.

Names are imported on first use (PEP 562), so that ``nnprobe.nn.mlp`` and ``nnprobe.nn.config`` load without
torch and the command line answers ``--help`` at once.
"""

from importlib import import_module

_WHERE = {
    "MLPSpec": "mlp",
    "parse_init": "mlp",
    "TrainConfig": "config",
    "Ensemble": "ensemble",
    "init_member": "ensemble",
    "resolve_device": "ensemble",
    "History": "train",
    "Trainer": "train",
    "member_losses": "train",
    "train_network": "train",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"nnprobe.nn.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'nnprobe.nn' has no attribute {name!r}")
