"""Exact binomial chances behind the loaded-coin story: more heads than tails, a loaded coin against a fair one,
and how many flips it takes to tell them apart (the `coin` study and the sample-size intuition of `compare`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, norm

from nnprobe.errors import ConfigError
from nnprobe.limits import check_memory

# Half-width of the window of coin B's head counts summed in head_race, in standard deviations plus a constant.
# Bernstein's inequality bounds the probability outside mean +- (40 sd + 500) by 2 exp(-700) < 1e-300, also for a
# heavily skewed coin where the normal picture of "40 sd" alone would cut off real mass.
WINDOW_SDS = 40
WINDOW_MARGIN = 500
# flips_needed refuses answers beyond this: the window of its head race (and the time per evaluation) grows
# like sqrt(n).
MAX_FLIPS = 10**9
# Flip counts reach scipy as doubles, which hold every whole number up to 2^53: the largest count allowed.
MAX_EXACT_FLIPS = 2**53
# Cost of head_race per head count in its windows: peak memory 73 bytes per count of the largest window measured
# (tracemalloc, n = 10^8..10^11), and time 31-46 ns per count of both windows measured on the development machine
# (2 cores, busy) for n = 10^8..10^10, so 20 ns as the optimistic speed of a lower bound.
RACE_BYTES_PER_COUNT = 90
RACE_SECONDS_PER_COUNT = 20e-9


@dataclass
class HeadRace:
    """Chances of the three outcomes when coins A and B are each flipped n_flips times."""

    n_flips: int
    p_a: float  # heads-probability of coin A (say the loaded one)
    p_b: float  # heads-probability of coin B (say the fair one)
    a_more: float  # P(A shows strictly more heads than B)
    tie: float  # P(same number of heads)
    b_more: float  # P(B shows strictly more heads than A); the three add up to 1


def _check_probability(name: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise ConfigError(f"{name}={value} is not a probability: pass a heads-probability between 0 and 1, e.g. 0.501.")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence={confidence} must be strictly between 0 and 1, e.g. 0.99.")


def _flip_counts(n_flips) -> np.ndarray:
    """``n_flips`` as an int64 array, or ConfigError unless every entry is a whole number in 0..MAX_EXACT_FLIPS."""
    try:
        counts = np.asarray(n_flips)
    except OverflowError:  # a Python int beyond 64 bits among others
        counts = np.asarray(n_flips, dtype=object)
    if counts.dtype.kind not in "iuf" or not np.all(np.isfinite(counts) & (counts >= 0) & (counts == np.floor(counts))
                                                   & (counts <= MAX_EXACT_FLIPS)):
        raise ConfigError(f"n_flips={n_flips!r} must be a whole number of flips in 0..2^53 (the largest count a "
                          "double holds exactly), or an array of them, e.g. 1000.")
    return counts.astype(np.int64)


def _single_flip_count(n_flips) -> int:
    """``n_flips`` as one int, or ConfigError."""
    counts = _flip_counts(n_flips)
    if counts.ndim != 0:
        raise ConfigError(f"n_flips={n_flips!r} must be a single number here; call once per count.")
    return int(counts)


def prob_more_heads(p: float, n_flips):
    """Exact probability that a coin with heads-probability ``p`` shows strictly more heads than tails.

    P(more heads than tails in n flips) = sum_{k > n/2} C(n, k) p^k (1 - p)^(n - k) = P(X > floor(n/2)) for
    X ~ Binomial(n, p); a tie (possible for even n) does not count. Computed as scipy's binomial survival function
    (a regularised incomplete beta function), so it neither overflows nor loses precision: within 1e-15 of the
    closed form of a fair coin at n = 10^9, 1e-13 at 10^15 and 1e-11 at n = 2^53, the largest count allowed (beyond,
    a double cannot tell n from n + 1).

    Parameters
    ----------
    p : float in [0, 1], heads-probability
    n_flips : int or array of ints in 0..2^53

    Returns
    -------
    float, or ndarray of the shape of ``n_flips``
    """
    _check_probability("p", p)
    counts = _flip_counts(n_flips)
    chance = binom.sf(counts // 2, counts, p)
    return float(chance) if chance.ndim == 0 else chance


def prob_loaded_beats_fair(p_loaded: float, p_fair: float, n_flips: int) -> float:
    """Exact P(the loaded coin shows strictly more heads than the fair one), both flipped ``n_flips`` times.

    P(A > B) = sum_k P(B = k) P(A > k); see :func:`head_race` for the tie and reverse chances.
    One flip each: P = p_loaded (1 - p_fair), 0.2505 for 0.501 against 0.5.
    """
    _check_probability("p_loaded", p_loaded)
    _check_probability("p_fair", p_fair)
    return _prob_a_more(p_loaded, p_fair, _single_flip_count(n_flips))


def head_race(p_a: float, p_b: float, n_flips: int) -> HeadRace:
    """Exact chances that coin A shows more, as many, or fewer heads than coin B in ``n_flips`` flips each.

    With A ~ Binomial(n, p_a) and B ~ Binomial(n, p_b) independent,
    P(A > B) = sum_k P(B = k) P(A > k) and P(A = B) = sum_k P(B = k) P(A = k).
    The sums run over the head counts k of B within mean +- (40 sd + 500) (all of 0..n for n up to ~1000); the
    mass of B left out is below 1e-300. Each coin's chances in its window come from scipy's binomial pmf at the
    mode, the others by multiplying out the ratio P(k + 1) / P(k) = (n - k) / (k + 1) * p / (1 - p) from there
    (a few nanoseconds each, where scipy's pmf takes about a microsecond): relative rounding error below 1e-12
    near the mode, where the sums get their mass (tested against exact rational sums and scipy). n = 10^8 flips
    each takes about 10 ms.

    Parameters
    ----------
    p_a, p_b : float in [0, 1], heads-probabilities of coins A and B
    n_flips : int >= 0, flips of each coin; refused when its windows would not fit in memory (~10^13 flips)
    """
    _check_probability("p_a", p_a)
    _check_probability("p_b", p_b)
    n = _single_flip_count(n_flips)
    check_memory(race_cost(p_a, p_b, n)[0], f"comparing coins over {n:,} flips each",
                 "use fewer flips (the chances change slowly there: interpolate on a log scale)")
    a, b = _Likely(p_a, n), _Likely(p_b, n)
    return HeadRace(
        n_flips=n, p_a=p_a, p_b=p_b,
        a_more=float(b.pmf @ a.above(b.heads)),
        tie=float(b.pmf @ a.at(b.heads)),
        b_more=float(a.pmf @ b.above(a.heads)),  # by its own sum, not 1 - a_more - tie, to keep a tiny value precise
    )


def _window(p: float, n: int) -> tuple[int, int]:
    """First and last head count of a coin within mean +- (40 sd + 500), clipped to 0..n."""
    half_width = WINDOW_SDS * math.sqrt(n * p * (1 - p)) + WINDOW_MARGIN
    return max(0, math.floor(n * p - half_width)), min(n, math.ceil(n * p + half_width))


class _Likely:
    """The head counts of a coin flipped n times within mean +- (40 sd + 500), and their chances."""

    def __init__(self, p: float, n: int) -> None:
        self.first, last = _window(p, n)
        self.heads = np.arange(self.first, last + 1)  # [W]
        self.pmf = _window_pmf(p, n, self.first, last)  # [W]
        tails = np.cumsum(self.pmf[::-1])[::-1]  # [W] P(X >= first + i), within the window
        self._tails = np.append(tails, 0.0)  # [W + 1]

    def above(self, k: np.ndarray) -> np.ndarray:
        """P(X > k) for head counts ``k`` (1 below the window, 0 above it: the mass outside is below 1e-300)."""
        return self._tails[np.clip(k + 1 - self.first, 0, len(self.heads))]

    def at(self, k: np.ndarray) -> np.ndarray:
        """P(X = k) for head counts ``k`` (0 outside the window)."""
        index = k - self.first
        inside = (index >= 0) & (index < len(self.heads))
        return np.where(inside, self.pmf[np.clip(index, 0, len(self.heads) - 1)], 0.0)


def _window_pmf(p: float, n: int, first: int, last: int) -> np.ndarray:
    """P(X = k) for k = first..last, X ~ Binomial(n, p): scipy's pmf at the mode, the rest by multiplying out the
    ratios P(k + 1) / P(k) = (n - k) / (k + 1) * p / (1 - p) outwards from it (no cancellation: every factor is
    positive). Far from the mode the products underflow to 0, where the chances are below 1e-300 anyway."""
    if p in (0.0, 1.0):  # all the mass on 0 or on n heads
        return np.array([float(k == (0 if p == 0 else n)) for k in range(first, last + 1)])
    mode = min(max(math.floor((n + 1) * p), first), last)
    odds = p / (1 - p)
    up = np.arange(mode, last, dtype=np.float64)  # k: P(k + 1) / P(k)
    down = np.arange(mode - 1, first - 1, -1, dtype=np.float64)  # k: P(k) / P(k + 1)
    with np.errstate(under="ignore"):
        above = np.cumprod((n - up) / (up + 1) * odds)
        below = np.cumprod((down + 1) / (n - down) / odds)
    return float(binom.pmf(mode, n, p)) * np.concatenate([below[::-1], [1.0], above])


def race_cost(p_a: float, p_b: float, n: int) -> tuple[float, float]:
    """(bytes, seconds) that :func:`head_race` of ``n`` flips each needs: its largest window of head counts at
    RACE_BYTES_PER_COUNT, and both windows at RACE_SECONDS_PER_COUNT (an optimistic speed: a lower bound)."""
    sizes = [last - first + 1 for first, last in (_window(p_a, n), _window(p_b, n))]
    return float(RACE_BYTES_PER_COUNT * max(sizes)), RACE_SECONDS_PER_COUNT * sum(sizes)


def _prob_a_more(p_a: float, p_b: float, n: int) -> float:
    """P(A > B) = sum_k P(B = k) P(A > k) over the likely head counts k of B."""
    b = _Likely(p_b, n)
    return float(b.pmf @ _Likely(p_a, n).above(b.heads))


def _first_true(predicate: Callable[[int], bool], guess: int) -> int:
    """Smallest n >= 1 with predicate(n), for a predicate that is false up to some n and true from there on.

    Gallops outwards from ``guess`` (>= 1) in steps 1, 2, 4, ... until the switch is bracketed, then bisects:
    about 2 log2(|answer - guess|) evaluations, so a good guess makes it fast at any n.
    """
    step = 1
    if predicate(guess):
        low, high = guess - step, guess
        while low >= 1 and predicate(low):
            low, high, step = low - 2 * step, low, 2 * step
        low = max(low, 0)
    else:
        low, high = guess, guess + step
        while not predicate(high):
            low, high, step = high, high + 2 * step, 2 * step
    while high - low > 1:  # predicate(low) is false (or low = 0: no flips), predicate(high) is true
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle
    return high


def flips_needed(p_loaded: float, p_fair: float, confidence: float) -> int:
    """Smallest number of flips n at which P(loaded coin shows more heads than the fair one) >= ``confidence``.

    For p_loaded > p_fair, P(A > B) increases with n, so the first n that reaches the confidence is also the n
    from which on it stays reached, and bisection finds it exactly. Why: the head difference D = A - B moves
    +1, 0, -1 per flip with chances u = p_loaded (1 - p_fair) > d = p_fair (1 - p_loaded) and r; one more flip
    changes P(D > 0) by u P(D = 0) - d P(D = 1), and P(D = k) = (u/d)^(k/2) g(k) with g symmetric and
    log-concave (a convolution of (s, r, s), s = sqrt(u d) <= r/2), so g(1) <= g(0) and the change is > 0.
    0.501 against 0.5 at 0.99 needs about 2.7 million flips.

    Parameters
    ----------
    p_loaded, p_fair : heads-probabilities with 0 <= p_fair < p_loaded <= 1
    confidence : wanted chance in (0, 1) that the loaded coin shows more heads

    Raises
    ------
    ConfigError
        For invalid arguments, or when the answer is over 10^9 flips (the exact sum gets slow there).
    """
    _check_probability("p_loaded", p_loaded)
    _check_probability("p_fair", p_fair)
    _check_confidence(confidence)
    if not p_loaded > p_fair:
        raise ConfigError(f"p_loaded={p_loaded} must be larger than p_fair={p_fair}; otherwise more flips do not "
                          "help the loaded coin. Swap them if they are the wrong way round.")
    guess = race_flips_guess(p_loaded, p_fair, confidence)
    if guess > MAX_FLIPS:
        raise ConfigError(f"confidence={confidence:.10g} for {p_loaded:.10g} against {p_fair:.10g} needs about "
                          f"{_round_count(guess):,} flips, more than the {MAX_FLIPS:,} computed exactly here; lower "
                          "the confidence or widen the gap.")
    return _first_true(lambda n: _prob_a_more(p_loaded, p_fair, n) >= confidence, guess)


def race_flips_guess(p_loaded: float, p_fair: float, confidence: float) -> int:
    """Flips each for P(loaded coin shows more heads) to reach ``confidence``, by the normal approximation.

    P(D >= 1) ~ Phi((n gap - 1/2) / (spread sqrt(n))) for the head difference D (per flip: mean gap, standard
    deviation spread), solved for n; off by a few flips at a million, so :func:`flips_needed` starts from it.
    """
    gap = p_loaded - p_fair
    z_spread = norm.ppf(confidence) * math.sqrt(p_loaded * (1 - p_loaded) + p_fair * (1 - p_fair))
    return max(1, math.ceil(((z_spread + math.sqrt(z_spread**2 + 2 * gap)) / (2 * gap)) ** 2))


def _round_count(n: int) -> int:
    """``n`` to 2 significant digits, for an estimate: 2706943 -> 2700000."""
    return int(round(n, 1 - len(str(n))))


def flips_needed_single(p: float, confidence: float) -> int:
    """Smallest n such that for every number of flips from n on, P(more heads than tails) >= ``confidence``.

    The chance zigzags with n: going from an odd n to the next even one adds the possibility of a tie, so the
    chance drops. For p > 1/2 the odd-n and the even-n chances each increase, and each odd n is above the even n
    after it, so the lowest chance from n on is at the next even n. The answer is therefore 2m - 1 for the
    smallest even 2m that reaches the confidence. It can be much larger than the first n that happens to reach
    it: at p = 0.6 one flip already gives 0.6, but two give only 0.36.

    Parameters
    ----------
    p : heads-probability in (1/2, 1]
    confidence : wanted chance in (0, 1) of more heads than tails

    Raises
    ------
    ConfigError
        For invalid arguments, or when the answer is over 2^53 flips (each evaluation is one binomial tail, so
        the search is fast at any size below).
    """
    _check_probability("p", p)
    _check_confidence(confidence)
    if not p > 0.5:
        raise ConfigError(f"p={p} must be above 0.5: a coin that is not loaded towards heads never shows more "
                          "heads than tails with rising confidence.")
    # Start from the normal approximation P(more heads) ~ Phi(sqrt(n) (p - 1/2) / sqrt(p (1 - p))), solved for n.
    guess = math.ceil((norm.ppf(confidence) * math.sqrt(p * (1 - p)) / (p - 0.5)) ** 2)
    if guess > MAX_EXACT_FLIPS // 2:
        raise ConfigError(f"confidence={confidence:.10g} of more heads than tails for p={p:.10g} needs about "
                          f"{_round_count(guess):,} flips, more than the {MAX_EXACT_FLIPS:,} (2^53) computed exactly "
                          "here; lower the confidence or load the coin more.")
    half_flips = _first_true(lambda m: prob_more_heads(p, 2 * m) >= confidence, max(1, guess // 2))
    return 2 * half_flips - 1
