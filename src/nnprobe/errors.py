"""Errors that nnprobe raises for bad user input; the CLI turns them into a one-line message and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserInputError(ValueError):
    """Bad input from the user: the message names the value, the rule and the fix."""


class DataError(UserInputError):
    """A data file or data specification that cannot be used as it is."""


class ConfigError(UserInputError):
    """An option value outside what is allowed."""


def closest(name: str, choices: Iterable[str], n: int = 3) -> str:
    """A 'did you mean' phrase for ``name`` among ``choices`` ("" when nothing is close)."""
    choices = [str(c) for c in choices]
    same_but_case = [c for c in choices if c.lower() == name.lower()]
    matches = same_but_case or difflib.get_close_matches(name, choices, n=n, cutoff=0.5)
    return f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""
