"""Shared printing helpers for the CLI verbs."""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["emit_json", "console", "err_console"]


def emit_json(payload: Any) -> None:
    """Write one JSON document to stdout (the machine contract of every verb's --json)."""
    json.dump(payload, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def console() -> Any:
    """A rich console on stdout, created on first use (rich costs ~60 ms to import).

    Piped output (CI logs, `| less`) gets a fixed wide layout instead of rich's 80-column fallback,
    which would truncate every plan table.
    """
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 180)


def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)
