"""Data of nnprobe: the Dataset, synthetic generators, loaders with validation, and the train/test split."""

from nnprobe.data import synthetic
from nnprobe.data.dataset import Dataset, align, split, standard_scaling, standardize
from nnprobe.data.loaders import from_frame, load

__all__ = ["Dataset", "align", "from_frame", "load", "split", "standard_scaling", "standardize", "synthetic"]
