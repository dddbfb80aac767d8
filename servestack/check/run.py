"""`servestack check`: the offline preview judged by the real policy packs over the analyzer protocol.

Timeline (2 cores): the pack processes start first and import while the preview runs in this process;
then each pack is configured and fed every resource (`Analyze`) and the whole graph (`AnalyzeStack`),
one thread per pack.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servestack.check.analyzer import AnalyzerResource, Diagnostic, PackInfo, PolicyPackProcess, wait_all
from servestack.check.costs import CostSummary, cents, cost_summary, stack_cost_settings
from servestack.check.packs import default_pack_dirs
from servestack.check.policy_config import PolicyConfigEntry, load_policy_config, unknown_policy_names
from servestack.errors import SpecError

if TYPE_CHECKING:
    from servestack.preview.model import PreviewResource, PreviewResult

__all__ = [
    "Violation",
    "PackSummary",
    "CheckResult",
    "run_check",
    "check_resources",
    "analyzer_resources",
    "BUDGET_POLICY",
]

BUDGET_POLICY = "budget-monthly-ceiling"
_BUDGET_KEY = "servestack:budgetMonthlyUsd"


@dataclass(frozen=True)
class Violation:
    """One policy violation as `check --json` reports it; `urn` is None for a stack-wide finding."""

    policy: str
    pack: str
    enforcement: str
    urn: str | None
    message: str

    @classmethod
    def from_diagnostic(cls, d: Diagnostic) -> Violation:
        return cls(policy=d.policy, pack=d.pack, enforcement=d.enforcement, urn=d.urn or None, message=d.message)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "pack": self.pack,
            "enforcement": self.enforcement,
            "urn": self.urn,
            "message": self.message,
        }


@dataclass(frozen=True)
class PackSummary:
    name: str
    version: str
    directory: Path
    policies: int


@dataclass(frozen=True)
class CheckResult:
    project: str
    stack: str
    violations: list[Violation]
    costs: CostSummary
    budget_usd: float | None
    packs: list[PackSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory

    def to_json(self) -> dict[str, Any]:
        """The `check --json` document of ARCHITECTURE.md."""
        return {
            "stack": self.stack,
            "passed": self.passed,
            "violations": [v.to_json() for v in self.violations],
            "monthly_usd": {"expected": cents(self.costs.expected), "ceiling": cents(self.costs.ceiling)},
            "budget_usd": self.budget_usd,
        }


def _provider_parts(ref: str | None) -> tuple[str, str]:
    """Split a provider reference `urn::id` into (urn, id)."""
    if not ref:
        return "", ""
    urn, _, ident = ref.rpartition("::")
    return (urn, ident) if urn.startswith("urn:") else (ref, "")


def _urn_type(urn: str) -> str:
    """The resource type of a URN (`urn:pulumi:stack::project::parent$type::name`)."""
    parts = urn.split("::")
    return parts[-2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


def analyzer_resources(resources: Sequence[PreviewResource]) -> list[AnalyzerResource]:
    """Preview records as the engine presents them to analyzers (inputs, parent, dependencies, provider)."""
    by_urn = {r.urn: r for r in resources}
    out = []
    for r in resources:
        provider_urn, _ = _provider_parts(r.provider)
        provider = by_urn.get(provider_urn)
        out.append(
            AnalyzerResource(
                urn=r.urn,
                type=r.type,
                name=r.urn.rsplit("::", 1)[-1] if "::" in r.urn else r.name,
                properties=r.inputs,
                parent=r.parent or "",
                dependencies=tuple(r.dependencies),
                provider_urn=provider_urn,
                provider_type=provider.type if provider is not None else _urn_type(provider_urn),
                provider_name=provider_urn.rsplit("::", 1)[-1] if provider_urn else "",
                provider_properties=provider.inputs if provider is not None else {},
            )
        )
    return out


def _analyze_pack(pack: PolicyPackProcess, resources: Sequence[AnalyzerResource]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for r in resources:
        diags.extend(pack.analyze(r))
    diags.extend(pack.analyze_stack(resources))
    return diags


def check_resources(
    packs: Sequence[PolicyPackProcess],
    resources: Sequence[AnalyzerResource],
    policy_config: Mapping[str, PolicyConfigEntry] | None = None,
) -> tuple[list[Violation], list[PackInfo], dict[str, dict[str, PolicyConfigEntry]]]:
    """Configure ready packs as the CLI does and run every resource, then the stack, through each of them.

    Returns the violations, each pack's info, and the configuration each pack was sent.
    `SpecError` when the policy config names a policy no pack has.
    """
    infos = []
    for pack in packs:
        pack.configure_stack()
        infos.append(pack.get_info())
    config = dict(policy_config or {})
    known = sorted(p.name for info in infos for p in info.policies)
    unknown = unknown_policy_names(config, known)
    if unknown:
        name, hint = unknown[0]
        raise SpecError("--policy-config", name, f"not a policy of the packs{hint}; allowed: all, {', '.join(known)}")
    sent = {info.name: pack.configure(config) for pack, info in zip(packs, infos, strict=True)}
    with ThreadPoolExecutor(max_workers=max(1, len(packs))) as pool:
        per_pack = list(pool.map(lambda p: _analyze_pack(p, resources), packs))
    violations = [Violation.from_diagnostic(d) for diags in per_pack for d in diags]
    return violations, infos, sent


def _budget(stack_budget: float | None, sent: Mapping[str, Mapping[str, PolicyConfigEntry]]) -> float | None:
    """The budget the budget policy judged against: its configured `monthlyBudgetUsd`, else the stack's."""
    for pack_config in sent.values():
        entry = pack_config.get(BUDGET_POLICY)
        if entry is not None and entry.properties and entry.properties.get("monthlyBudgetUsd") is not None:
            try:
                return float(entry.properties["monthlyBudgetUsd"])
            except (TypeError, ValueError):
                break
    return stack_budget


def run_check(
    project_dir: Path,
    stack: str | None = None,
    policy_config_path: Path | None = None,
    packs: Sequence[Path] | None = None,
    *,
    preview: Callable[[Path, str | None], PreviewResult] | None = None,
) -> CheckResult:
    """Run the offline preview of `project_dir` for `stack` and judge it with the policy packs.

    `packs` defaults to the budget and guardrails packs (`servestack.check.packs`); `preview` defaults to
    `servestack.preview.run_preview`. Raises `ConfigError`/`SpecError` (exit 2) for bad input.
    """
    from servestack.preview.project import load_project, load_stack_config, resolve_stack

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    project = load_project(Path(project_dir))
    stack_name = resolve_stack(project, stack)
    stack_cfg = load_stack_config(project, stack_name)
    cost_settings = stack_cost_settings(stack_cfg.raw)  # exit 2 for a NaN, infinite or non-positive budget
    policy_config = load_policy_config(Path(policy_config_path)) if policy_config_path is not None else {}
    pack_dirs = [Path(p) for p in packs] if packs else default_pack_dirs(project.directory)

    processes = [
        PolicyPackProcess(
            d,
            project=project.name,
            stack=stack_name,
            config=stack_cfg.values,
            secret_keys=sorted(stack_cfg.secret_keys),
        )
        for d in pack_dirs
    ]
    try:
        for proc in processes:
            proc.start()
        if preview is None:
            from servestack.preview import run_preview

            preview = run_preview
        result = preview(project.directory, stack_name)
        timings["preview"] = time.monotonic() - t0
        resources = analyzer_resources(result.resources)
        wait_all(processes)
        timings["packs_ready"] = time.monotonic() - t0
        violations, infos, sent = check_resources(processes, resources, policy_config)
        timings["analyzed"] = time.monotonic() - t0
    finally:
        for proc in processes:
            proc.close()

    costs = cost_summary(result)
    timings["total"] = time.monotonic() - t0
    return CheckResult(
        project=project.name,
        stack=stack_name,
        violations=violations,
        costs=costs,
        budget_usd=_budget(cost_settings.budget_usd, sent),
        packs=[
            PackSummary(info.name, info.version, proc.pack_dir, len(info.policies))
            for info, proc in zip(infos, processes, strict=True)
        ],
        # The preview's own "not priced" notes repeat what the cost summary lists; keep the summary's.
        notes=[n for n in result.notes if not n.startswith("not priced:")] + list(costs.notes),
        timings_s=timings,
    )
