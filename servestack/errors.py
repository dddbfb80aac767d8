"""The one exception family of servestack.

User errors are raised as these and turned into a message and an exit code at the CLI edge
(`servestack.cli`), never shown as a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ServestackError",
    "SpecError",
    "InfeasibleError",
    "CatalogError",
    "ConfigError",
    "did_you_mean",
]


class ServestackError(Exception):
    """Base of every error servestack raises on purpose."""

    exit_code = 2


class SpecError(ServestackError):
    """Bad user input: names the field, the value and what is allowed (exit 2)."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {value!r} is not valid; {allowed}")


class ConfigError(ServestackError):
    """Bad or missing Pulumi stack / policy configuration (exit 2)."""


class CatalogError(ServestackError):
    """The bundled or a user-supplied catalog file is malformed (exit 2)."""


class InfeasibleError(ServestackError):
    """A valid request that nothing can satisfy (exit 1)."""

    exit_code = 1


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint, or '' when nothing is close."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {by_lower[close[0]]!r}?)"
