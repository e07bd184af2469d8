"""nnprobe: does a neural network really learn something? Studies and checks built on one batched engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nnprobe")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
