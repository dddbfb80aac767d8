"""The result of an offline preview: the resource graph a program registers, with secrets masked.

No Pulumi import: `check` and the costing/policy code consume these records without loading the SDK twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

__all__ = ["PreviewResource", "PreviewResult", "ProgramError", "preview_json"]

from servestack.errors import ServestackError

if TYPE_CHECKING:
    from servestack.costing import CostReport


class ProgramError(ServestackError):
    """The Pulumi program itself failed (a bug in it, not bad config): exit 1.

    `program_traceback` holds the program's formatted traceback, shown only when SERVESTACK_DEBUG=1.
    """

    exit_code = 1

    def __init__(self, message: str, program_traceback: str = "") -> None:
        super().__init__(message)
        self.program_traceback = program_traceback


@dataclass(frozen=True)
class PreviewResource:
    """One registered resource, as the engine would receive it.

    `inputs` keeps the property names exactly as the program sent them (camelCase, as the provider
    receives them); numbers arrive as floats; secrets are the string "[secret]".
    """

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    """Resource options as the RegisterResource request carried them (dependsOn, customTimeouts, protect, ...)."""
    wire_inputs: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """`inputs` before masking: secrets in Pulumi's wire form, for the policies (never printed)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
            "options": self.options,
        }


@dataclass(frozen=True)
class PreviewResult:
    """Everything a preview found: the stack's config (secrets masked), outputs and resources."""

    project: str
    stack: str
    config: dict[str, Any]
    outputs: dict[str, Any]
    resources: list[PreviewResource]
    stack_urn: str
    monthly_usd_expected: float | None = None
    monthly_usd_ceiling: float | None = None
    notes: list[str] = field(default_factory=list)
    """Things the costing or the engine could not resolve, for people (not part of the JSON contract)."""
    costs: CostReport | None = field(default=None, repr=False, compare=False)
    """The cost engine's report the totals above come from, so `check` and `cost diff` need not re-price."""
    unevaluated: list[dict[str, str]] = field(default_factory=list)
    """What the offline engine could not see inside (`{"urn", "type", "reason"}`): Helm releases, components
    built by a provider, charts rendered by one. The verdict does not cover what they create."""
    program_output: list[str] = field(default_factory=list)
    """What the program printed (stdout and stderr), for people; never part of a JSON document."""

    def by_type(self, type_: str) -> list[PreviewResource]:
        return [r for r in self.resources if r.type == type_]


def preview_json(result: PreviewResult) -> dict[str, Any]:
    """The `preview --json` document of ARCHITECTURE.md."""
    return {
        "project": result.project,
        "stack": result.stack,
        "outputs": result.outputs,
        "resources": [r.to_json() for r in result.resources],
        "monthly_usd": {"expected": result.monthly_usd_expected, "ceiling": result.monthly_usd_ceiling},
        "unevaluated": list(result.unevaluated),
    }
