"""The one exception family of servestack.

User errors are raised as these and turned into a message and an exit code at the CLI edge
(`servestack.cli`), never shown as a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "ServestackError",
    "SpecError",
    "InfeasibleError",
    "CatalogError",
    "ConfigError",
    "InputFileError",
    "WriteRefusedError",
    "did_you_mean",
]


class ServestackError(Exception):
    """Base of every error servestack raises on purpose."""

    exit_code = 2


class SpecError(ServestackError):
    """Bad user input: names the field, the value and what is allowed (exit 2)."""

    def __init__(self, field: str, value: object, allowed: str, *, also: Sequence[SpecError] = ()) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.also = tuple(also)
        """Further problems found in the same input, reported together so one run shows them all."""
        message = f"{field}: {_shown(value)} is not valid; {allowed}"
        for more in self.also:
            message += f"\n  also {more}"
        super().__init__(message)


_SHOWN_CHARS = 200


def _shown(value: object) -> str:
    """`repr(value)`, shortened: an 8,000-character stack name or a huge list is not echoed back whole."""
    text = repr(value)
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[:_SHOWN_CHARS - 40]}... ({len(text):,} characters)"


class ConfigError(ServestackError):
    """Bad or missing Pulumi stack / policy configuration (exit 2)."""


class InputFileError(SpecError, ConfigError):
    """A user's file that cannot be read safely: missing, not UTF-8, malformed or hostile YAML/JSON (exit 2).

    It is both a `SpecError` and a `ConfigError` because the same file problem is bad input whether the
    file is a workload spec or Pulumi configuration; callers that catch either keep working.
    """

    def __init__(
        self, what: str, path: object, problem: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.what = what
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{what} {path}" + (f", line {line}" if line is not None else "")
        where += f", column {column}" if line is not None and column is not None else ""
        self.field, self.value, self.allowed = where, str(path), problem
        ServestackError.__init__(self, f"{where}: {problem}")


class CatalogError(ServestackError):
    """The bundled or a user-supplied catalog file is malformed (exit 2)."""


class WriteRefusedError(ServestackError):
    """The input is valid but the file system refuses the write (read-only directory, full disk): exit 1."""

    exit_code = 1

    def __init__(self, path: object, exc: OSError) -> None:
        self.path = str(path)
        reason = exc.strerror or exc.__class__.__name__
        super().__init__(f"{path}: cannot be written ({reason}); nothing was changed")


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
