"""Reusable checks on data and models. Each returns a CheckResult: a status, a plain-language message and the
numbers behind it, so that a study, `nnprobe audit` and the tests all read the same object."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("pass", "warn", "fail")


@dataclass
class CheckResult:
    """The outcome of one check."""

    name: str  # e.g. "class balance"
    status: str  # "pass", "warn" or "fail"
    message: str  # one or two sentences a person can act on
    values: dict = field(default_factory=dict)  # the numbers behind the status

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")


def worst(results: list[CheckResult]) -> str:
    """The most serious status among ``results`` ("pass" when there are none)."""
    return max((r.status for r in results), key=STATUSES.index, default="pass")


def graded(name: str, score: float, *, warn_at: float, fail_at: float, messages: dict[str, str],
           values: dict) -> CheckResult:
    """A CheckResult whose status is "fail" at ``score >= fail_at``, "warn" at ``score >= warn_at`` and "pass"
    below, with the message ``messages[status]``."""
    status = "fail" if score >= fail_at else "warn" if score >= warn_at else "pass"
    return CheckResult(name, status, messages[status], values)


def count_line(results: list[CheckResult]) -> str:
    """How many checks reached each status, worst first, e.g. "1 fail, 1 warn, 4 pass"."""
    counts = {status: sum(r.status == status for r in results) for status in reversed(STATUSES)}
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def verdict_line(results: list[CheckResult]) -> str:
    """The count line and the names of the checks that failed or warned, e.g. "1 fail, 0 warn, 5 pass: FAIL
    single-feature leakage"."""
    flagged = [f"{r.status.upper()} {r.name}" for status in ("fail", "warn") for r in results if r.status == status]
    return count_line(results) + (": " + "; ".join(flagged) if flagged else ": every check passed")
