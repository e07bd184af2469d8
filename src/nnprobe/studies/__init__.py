"""The studies: one module each, a Config dataclass, ``load(config)`` (what it reads) and
``run(config, data, progress) -> Result`` (no I/O); their registry is :mod:`nnprobe.studies.registry`."""

from __future__ import annotations

import re
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

    id: str  # stable: "study.name", or "study.name:key" for a claim made once per case (feature count, data set)
    source: str  # "seed" (the article says so) or "nnprobe" (we add it)
    statement: str  # the claim in words
    holds: bool | None  # True / False, or None when this configuration cannot test it
    evidence: str  # the measured numbers behind the verdict


def not_tested(claims: list[Claim], reason: str) -> list[Claim]:
    """The same claims marked not tested, with ``reason`` as their evidence (a run whose numbers are degenerate:
    diverged, constant or NaN, cannot confirm or refute anything)."""
    return [Claim(c.id, c.source, c.statement, None, f"not tested: {reason}") for c in claims]


def tally(verdicts) -> str:
    """'N of M claims hold, K do not, U untested' (the parts that are not zero) of claims' ``holds`` values."""
    verdicts = list(verdicts)
    held = sum(v is True for v in verdicts)
    failed = sum(v is False for v in verdicts)
    untested = len(verdicts) - held - failed
    return (f"{held} of {len(verdicts)} claims hold" + (f", {failed} do not" if failed else "")
            + (f", {untested} untested" if untested else ""))


def claim_key(text: str) -> str:
    """The case part of a claim id: ``text`` with every run of characters other than letters, digits, ``.``, ``_``
    and ``-`` made one ``-`` ("2 features" -> "2-features", "sklearn:iris" -> "sklearn-iris")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "-"


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
