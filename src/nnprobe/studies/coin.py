"""Study `coin` (seed 001, first half, "Why Can't I Tell What My Neural Network is Doing?"): a coin with
p = 0.501 cannot be told from a fair one in a few flips, but can after millions; exact chances, not simulation.

The formula the article plots but omits: in 2N flips a coin with heads-probability p shows more heads than
tails with probability  P = sum_{k = N+1}^{2N} C(2N, k) p^k (1 - p)^(2N - k).  Two coins flipped n times each:
P(A shows more heads than B) = sum_k P(B = k) P(A > k).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnprobe.errors import ConfigError
from nnprobe.studies import Claim, Progress, no_progress

FORMULA_SINGLE = "P(more heads than tails in 2N flips) = Σ_{k=N+1}^{2N} C(2N, k) p^k (1 − p)^(2N − k)"
FORMULA_RACE = "P(A shows more heads than B in n flips each) = Σ_k P(B = k) · P(A > k)"


@dataclass
class CoinConfig:
    """Options of the coin study."""

    p_values: tuple[float, ...] = (0.5, 0.501)  # heads-probabilities of the coins drawn
    fair: float = 0.5  # the coin the others race against
    max_flips: int = 10**8  # right end of the curves (exact at every size)
    points: int = 57  # flip counts on the log-spaced grid (even counts: 2N flips)
    confidences: tuple[float, ...] = (0.95, 0.99)  # levels for the flips-needed table

    def __post_init__(self) -> None:
        self.p_values = tuple(float(p) for p in self.p_values)
        self.confidences = tuple(float(c) for c in self.confidences)
        if not self.p_values or any(not 0 < p < 1 for p in self.p_values):
            raise ConfigError(f"p values {self.p_values} must lie strictly between 0 and 1, e.g. 0.5,0.501.")
        if not 0 < self.fair < 1:
            raise ConfigError(f"fair={self.fair} must lie strictly between 0 and 1.")
        if any(not 0.5 < c < 1 for c in self.confidences):
            raise ConfigError(f"confidences {self.confidences} must lie strictly between 0.5 and 1, e.g. 0.95,0.99.")
        if self.max_flips < 2 or self.points < 2:
            raise ConfigError("max_flips and points must be at least 2.")

    @classmethod
    def small(cls, **overrides) -> CoinConfig:
        return cls(**{**dict(max_flips=10**6, points=25), **overrides})


@dataclass
class FlipsNeeded:
    p: float
    confidence: float
    more_heads_than_tails: int  # flips for P(more heads than tails) >= confidence
    beats_fair: int | None  # flips each for P(this coin shows more heads than the fair one) >= confidence


@dataclass
class CoinResult:
    config: CoinConfig
    flips: list[int]  # the grid
    more_heads: dict[str, list[float]]  # p -> P(more heads than tails) at each grid size
    beats_fair: dict[str, list[float]]  # p -> P(more heads than the fair coin), coins other than the fair one
    ties: dict[str, list[float]]  # p -> P(same heads as the fair coin)
    loses: dict[str, list[float]]  # p -> P(fewer heads than the fair coin)
    one_flip: dict[str, float]  # the article's one-flip chances, computed
    needed: list[FlipsNeeded]
    formulas: list[str] = field(default_factory=lambda: [FORMULA_SINGLE, FORMULA_RACE])
    claims: list[Claim] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"


def run(config: CoinConfig, progress: Progress = no_progress) -> CoinResult:
    from nnprobe.stats import flips_needed, flips_needed_single, head_race, prob_more_heads

    t0 = time.perf_counter()
    c = config
    decades = [10**j for j in range(int(np.log10(c.max_flips // 2)) + 1)]  # 2, 20, 200, ... flips exactly
    half = np.unique(np.r_[np.geomspace(1, c.max_flips // 2, c.points).round(), decades].astype(np.int64))
    flips = (2 * half).tolist()  # 2N flips, as the article plots
    racers = [p for p in c.p_values if p != c.fair]
    more = {f"{p:g}": prob_more_heads(p, np.array(flips)).tolist() for p in c.p_values}
    beats, ties, loses = {}, {}, {}
    for i, p in enumerate(racers):
        races = [head_race(p, c.fair, n) for n in flips]
        beats[f"{p:g}"], ties[f"{p:g}"], loses[f"{p:g}"] = ([getattr(r, k) for r in races] for k in ("a_more", "tie", "b_more"))
        progress(i + 1, len(racers) + 1)
    needed = []
    for p in c.p_values:
        for conf in c.confidences:
            single = flips_needed_single(p, conf) if p > 0.5 else None
            race = flips_needed(p, c.fair, conf) if p > c.fair else None
            if single is not None or race is not None:
                needed.append(FlipsNeeded(p, conf, single, race))
    progress(1, 1)
    one = head_race(racers[0], c.fair, 1) if racers else None
    result = CoinResult(c, flips, more, beats, ties, loses,
                        one_flip={} if one is None else {"loaded_heads_fair_tails": one.a_more,
                                                        "fair_heads_loaded_tails": one.b_more, "tie": one.tie},
                        needed=needed)
    result.claims = check_claims(result)
    result.seconds = time.perf_counter() - t0
    return result


def check_claims(r: CoinResult) -> list[Claim]:
    from nnprobe.stats import head_race, prob_more_heads

    c = r.config
    claims = []
    if c.fair == 0.5 and 0.501 in c.p_values:  # the article's two coins
        one = head_race(0.501, 0.5, 1)
        claims.append(Claim(
            "seed", "One flip tells almost nothing: loaded heads & fair tails has chance 501/2000, the reverse 499/2000.",
            bool(abs(one.a_more - 501 / 2000) < 1e-15 and abs(one.b_more - 499 / 2000) < 1e-15),
            f"computed {one.a_more:.6f} and {one.b_more:.6f} (501/2000 = 0.2505, 499/2000 = 0.2495); a tie, both heads "
            f"or both tails, has chance {one.tie:.4f}",
        ))
        at_million, at_two = head_race(0.501, 0.5, 10**6), head_race(0.501, 0.5, 2 * 10**6)
        claims.append(Claim(
            "seed", "After a million flips you can confidently say the coin with more heads is the loaded one.",
            bool(at_million.a_more >= 0.95),
            f"after 10^6 flips each the loaded coin shows more heads with chance {at_million.a_more:.4f}: one time "
            f"in {1 / (1 - at_million.a_more):.0f} the fair coin shows as many or more",
        ))
        single_two = float(prob_more_heads(0.501, 2 * 10**6))
        claims.append(Claim(
            "seed", "After 2 million flips we can say with certainty which is the loaded coin.",
            bool(at_two.a_more >= 0.99),
            f"after 2·10^6 flips the loaded coin shows more heads than tails with chance {single_two:.4f}, but more "
            f"heads than the fair coin (what telling them apart takes) only with chance {at_two.a_more:.4f}",
        ))
    if c.fair in c.p_values:
        last = r.more_heads[f"{c.fair:g}"][-1]
        claims.append(Claim(
            "seed", "For the fair coin the chance of more heads than tails converges to 0.5.",
            bool(abs(last - 0.5) < 1e-3 and last < 0.5),
            f"{last:.6f} at {r.flips[-1]:.3g} flips; it stays below 0.5 by half the chance of a tie",
        ))
    for p in c.p_values:
        if p > 0.5:
            last = r.more_heads[f"{p:g}"][-1]
            claims.append(Claim("seed", f"For the loaded coin (p = {p:g}) that chance approaches 1.",
                                bool(last > 0.99), f"{last:.10f} at {r.flips[-1]:.3g} flips"))
    return claims
