"""The studies: one module each, a Config dataclass and ``run(config, progress) -> Result``; no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Progress = Callable[[float, float], None]  # (work done, work total), in study-defined units


def no_progress(done: float, total: float) -> None:
    """The default progress callback: report nothing."""


@dataclass
class Claim:
    """A statement of a seed article (or of ours), checked against what was measured."""

    source: str  # "seed" (the article says so) or "nnprobe" (we add it)
    statement: str  # the claim in words
    holds: bool | None  # True / False, or None when this configuration cannot test it
    evidence: str  # the measured numbers behind the verdict


def derive_seed(master: int, *keys: int) -> int:
    """An independent seed for the cell named by ``keys`` (feature count, repeat...), derived from the master seed."""
    return int(np.random.SeedSequence([master, *keys]).generate_state(1)[0])
