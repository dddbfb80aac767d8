"""The result shape of every preflight check, shared by the AWS and GCP halves and by the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from servestack.errors import ServestackError

__all__ = ["Check", "PreflightError", "Report", "Status"]

Status = Literal["pass", "fail", "unknown"]


class PreflightError(ServestackError):
    """Preflight cannot start: no credentials, or no SDK to reach the cloud with (exit 2)."""

    def __init__(self, message: str, cloud: str) -> None:
        super().__init__(message)
        self.cloud = cloud
        """aws or gcp: the cloud that could not be asked."""


@dataclass(frozen=True)
class Check:
    """One question asked of the cloud: its answer and, when it failed or could not be asked, what to do."""

    check: str
    status: Status
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class Report:
    stack: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """No check failed (unknown checks do not fail the preflight: they are reported with what to grant)."""
        return all(c.status != "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "ok": self.ok, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class Refused:
    """A lookup the cloud refused or could not answer (no permission, unsupported, unreachable): why, for the
    check's detail. The check is then `unknown`, never a guess."""

    why: str
