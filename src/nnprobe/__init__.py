"""nnprobe: does a neural network really learn something? Studies and checks built on one batched engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nnprobe")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"


def __getattr__(name: str):
    # Loaded on first use so that ``import nnprobe`` (and the CLI's --help) does not import torch.
    if name == "gradient_check":
        from nnprobe.checks.gradient import gradient_check

        return gradient_check
    raise AttributeError(f"module 'nnprobe' has no attribute {name!r}")
