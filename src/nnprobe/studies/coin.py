"""Study `coin` (seed 001, first half, "Why Can't I Tell What My Neural Network is Doing?"): a coin with
p = 0.501 cannot be told from a fair one in a few flips, but can after millions; exact chances, not simulation.

The formula the article plots but omits: in 2N flips a coin with heads-probability p shows more heads than
tails with probability  P = sum_{k = N+1}^{2N} C(2N, k) p^k (1 - p)^(2N - k).  Two coins flipped n times each:
P(A shows more heads than B) = sum_k P(B = k) P(A > k).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from nnprobe.errors import ConfigError
from nnprobe.limits import check_int, check_memory, check_number, check_time
from nnprobe.studies import Claim, Progress, no_progress

MAX_COINS = 20  # curves on one figure
MAX_CONFIDENCES = 10  # rows per coin in the flips-needed table
MAX_POINTS = 10_000  # flip counts on the grid: far more than a curve on a log axis shows
MAX_CONFIDENCE = 1 - 1e-9  # the exact sums are good to ~1e-15, so a miss chance of 1e-9 is still measured
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
        from nnprobe.stats.coin import MAX_EXACT_FLIPS

        self.p_values, self.confidences = ((values,) if isinstance(values, Real) else tuple(values)
                                           for values in (self.p_values, self.confidences))  # one value alone
        if not 1 <= len(self.p_values) <= MAX_COINS or not 1 <= len(self.confidences) <= MAX_CONFIDENCES:
            raise ConfigError(f"give 1 to {MAX_COINS} coins (got {len(self.p_values)}) and 1 to {MAX_CONFIDENCES} "
                              f"confidences (got {len(self.confidences)}), e.g. --p 0.5,0.501 --confidence 0.95,0.99.")
        self.p_values = tuple(check_number("p", p, low=0, high=1, low_open=True, high_open=True, example="0.501")
                              for p in self.p_values)
        keys = [coin_key(p) for p in self.p_values]
        if len(set(keys)) < len(keys):
            raise ConfigError(f"p values {', '.join(keys)} name a coin twice: give each heads-probability once.")
        self.fair = check_number("fair", self.fair, low=0, high=1, low_open=True, high_open=True, example="0.5")
        self.confidences = tuple(check_number("confidence", c, low=0.5, high=MAX_CONFIDENCE, low_open=True,
                                              example="0.99") for c in self.confidences)
        self.max_flips = check_int("max_flips", self.max_flips, 2, MAX_EXACT_FLIPS)
        self.points = check_int("points", self.points, 2, MAX_POINTS)
        nbytes, seconds = work_estimate(self)
        what = f"the coin study up to {self.max_flips:,} flips"
        fix = "lower --max-flips (every curve has flattened out long before 10^12 flips)"
        check_memory(nbytes, what, fix)
        check_time(seconds, what, fix)

    @classmethod
    def small(cls, **overrides) -> CoinConfig:
        return cls(**{**dict(max_flips=10**6, points=25), **overrides})


@dataclass
class FlipsNeeded:
    p: float
    confidence: float
    more_heads_than_tails: int | None  # flips from which P(more heads than tails) stays >= confidence
    beats_fair: int | None  # flips each for P(this coin shows more heads than the fair one) >= confidence
    note: str = ""  # why a number is missing ("" when both are there or do not apply)


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


def coin_key(p: float) -> str:
    """A coin's name in the results: its heads-probability in as many digits as it was given (0.501 -> '0.501')."""
    return f"{p:.12g}"


def flip_grid(max_flips: int, points: int) -> list[int]:
    """The flip counts of the curves: ``points`` log-spaced even counts 2N up to ``max_flips``, and 2, 20, 200, ..."""
    decades = [10**j for j in range(len(str(max_flips // 2)))]  # N = 1, 10, 100, ... up to max_flips / 2
    half = np.unique(np.r_[np.geomspace(1, max_flips // 2, points).round(), decades].astype(np.int64))
    return (2 * half).tolist()


def work_estimate(c: CoinConfig) -> tuple[float, float]:
    """(bytes, seconds) of the study: a head race per coin and grid count, and about two per flips-needed search
    (it starts from the normal approximation, a flip or two from the answer), at the speed of
    :func:`nnprobe.stats.coin.race_cost`; the single-coin chances are a closed form and cost nothing here."""
    from nnprobe.stats.coin import MAX_FLIPS, race_cost, race_flips_guess

    costs = [race_cost(p, c.fair, n) for p in c.p_values if p != c.fair for n in flip_grid(c.max_flips, c.points)]
    for p in c.p_values:
        for confidence in c.confidences:
            guess = race_flips_guess(p, c.fair, confidence) if p > c.fair else MAX_FLIPS + 1
            if guess <= MAX_FLIPS:
                nbytes, seconds = race_cost(p, c.fair, guess)
                costs.append((nbytes, 2 * seconds))
    return max((b for b, _ in costs), default=0.0), sum(s for _, s in costs)


def _flips_needed_row(p: float, fair: float, confidence: float) -> FlipsNeeded | None:
    """The flips-needed entry of one coin and confidence; None when neither question applies to the coin."""
    from nnprobe.stats import flips_needed, flips_needed_single

    answers, notes = [], []
    questions = ((p > 0.5, lambda: flips_needed_single(p, confidence), "more heads than tails"),
                 (p > fair, lambda: flips_needed(p, fair, confidence), "more heads than the fair coin"))
    for applies, find, question in questions:
        try:
            answers.append(find() if applies else None)
        except ConfigError as exc:  # over 10^9 flips: not computed exactly
            answers.append(None)
            notes.append(f"{question}: {exc}")
    if answers == [None, None] and not notes:
        return None
    return FlipsNeeded(p, confidence, *answers, note=" ".join(notes))


def load(config: CoinConfig) -> None:
    """Nothing to read: every number is computed exactly."""


def run(config: CoinConfig, data: None = None, progress: Progress = no_progress) -> CoinResult:
    from nnprobe.stats import head_race, prob_more_heads

    t0 = time.perf_counter()
    c = config
    flips = flip_grid(c.max_flips, c.points)  # 2N flips, as the article plots
    racers = [p for p in c.p_values if p != c.fair]
    more = {coin_key(p): prob_more_heads(p, np.array(flips)).tolist() for p in c.p_values}
    beats, ties, loses = {}, {}, {}
    for i, p in enumerate(racers):
        races = [head_race(p, c.fair, n) for n in flips]
        key = coin_key(p)
        beats[key], ties[key], loses[key] = ([getattr(r, k) for r in races] for k in ("a_more", "tie", "b_more"))
        progress(i + 1, len(racers) + 1)
    needed = [row for p in c.p_values for conf in c.confidences
              if (row := _flips_needed_row(p, c.fair, conf)) is not None]
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
    """The article's claims about its two coins (0.501 against a fair 0.5), not tested when they are not in this
    run, and for each loaded coin of the run that its chance of more heads approaches 1."""
    from nnprobe.stats import head_race, prob_more_heads

    c = r.config
    article_coins = c.fair == 0.5 and 0.501 in c.p_values
    absent = "not tested: the article's coins (0.501 against a fair 0.5) are not in this run (--p, --fair)"
    statements = {
        "coin.one_flip": "One flip tells almost nothing: loaded heads & fair tails has chance 501/2000, the reverse "
                         "499/2000.",
        "coin.million_flips": "After a million flips you can confidently say the coin with more heads is the loaded "
                              "one.",
        "coin.two_million_flips": "After 2 million flips we can say with certainty which is the loaded coin.",
    }
    if not article_coins:
        claims = [Claim(claim_id, "seed", statement, None, absent) for claim_id, statement in statements.items()]
    else:
        one = head_race(0.501, 0.5, 1)
        at_million, at_two = head_race(0.501, 0.5, 10**6), head_race(0.501, 0.5, 2 * 10**6)
        single_two = float(prob_more_heads(0.501, 2 * 10**6))
        claims = [
            Claim("coin.one_flip", "seed", statements["coin.one_flip"],
                  bool(abs(one.a_more - 501 / 2000) < 1e-15 and abs(one.b_more - 499 / 2000) < 1e-15),
                  f"computed {one.a_more:.6f} and {one.b_more:.6f} (501/2000 = 0.2505, 499/2000 = 0.2495); a tie, "
                  f"both heads or both tails, has chance {one.tie:.4f}"),
            Claim("coin.million_flips", "seed", statements["coin.million_flips"], bool(at_million.a_more >= 0.95),
                  f"after 10^6 flips each the loaded coin shows more heads with chance {at_million.a_more:.4f}: one "
                  f"time in {1 / (1 - at_million.a_more):.0f} the fair coin shows as many or more"),
            Claim("coin.two_million_flips", "seed", statements["coin.two_million_flips"], bool(at_two.a_more >= 0.99),
                  f"after 2·10^6 flips the loaded coin shows more heads than tails with chance {single_two:.4f}, but "
                  f"more heads than the fair coin (what telling them apart takes) only with chance "
                  f"{at_two.a_more:.4f}"),
        ]
    fair_statement = "For the fair coin the chance of more heads than tails converges to 0.5."
    if c.fair == 0.5 and c.fair in c.p_values:
        last = r.more_heads[coin_key(c.fair)][-1]
        claims.append(Claim("coin.fair_converges_to_half", "seed", fair_statement,
                            bool(abs(last - 0.5) < 1e-3 and last < 0.5),
                            f"{last:.6f} at {r.flips[-1]:,} flips; it stays below 0.5 by half the chance of a tie"))
    else:
        claims.append(Claim("coin.fair_converges_to_half", "seed", fair_statement, None,
                            "not tested: no fair coin (p = 0.5) among the coins of this run (--p)"))
    for p in c.p_values:
        if p > 0.5:
            last = r.more_heads[coin_key(p)][-1]
            claims.append(Claim(f"coin.loaded_approaches_one:{coin_key(p)}", "seed",
                                f"For the loaded coin (p = {coin_key(p)}) that chance approaches 1.", bool(last > 0.99),
                                f"{last:.10f} at {r.flips[-1]:,} flips"))
    return claims
