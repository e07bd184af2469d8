"""The studies: one module each, a Config dataclass and ``run(config, progress) -> Result``; no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# The article each study comes from (../shared/seeds/), by its title: help texts and reports name it so.
ARTICLES = {
    "memorize": "The Forcefulness of Neural Networks",
    "coin": "Why Can\u2019t I Tell What My Neural Network is Doing?",
    "compare": "Why Can\u2019t I Tell What My Neural Network is Doing?",
    "baseline": "Why does a single-layer neural network initialized with zero parameters achieve 92% accuracy?",
    "backprop": "A Gentle Introduction to Neural Networks",
    "cluster": "Explainable Clustering in a Classification Neural Network",
    "explain": "Why Can\u2019t I Tell What My Neural Network is Doing?",
}

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


def not_tested(claims: list[Claim], reason: str) -> list[Claim]:
    """The same claims marked not tested, with ``reason`` as their evidence (a run whose numbers are degenerate:
    diverged, constant or NaN, cannot confirm or refute anything)."""
    return [Claim(c.source, c.statement, None, f"not tested: {reason}") for c in claims]


def unless_diverged(claims: list[Claim], diverged_at: list[int], total: int, *, what: str, fix: str) -> list[Claim]:
    """``claims`` as judged, or every one not tested when any of ``total`` networks or runs diverged (at the epochs
    ``diverged_at``): the numbers of such a run measure the step size, not what the claims are about."""
    if not diverged_at:
        return claims
    return not_tested(claims, f"{len(diverged_at)} of {total} {what} diverged (NaN or infinite from epoch "
                              f"{min(diverged_at)}): {fix}")


def derive_seed(master: int, *keys: int) -> int:
    """An independent seed for the cell named by ``keys`` (feature count, repeat...), derived from the master seed."""
    return int(np.random.SeedSequence([master, *keys]).generate_state(1)[0])
