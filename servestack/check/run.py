"""`servestack check`: the offline preview judged by the real policy packs over the analyzer protocol.

Process model (the Pulumi CLI's): this process is the engine; the program runs in its own process and sends
its resources over gRPC (`servestack.preview.engine`); each pack runs in its own process (the analyzer role).
The packs are the installed servestack's (`servestack.check.packs`), generated into a directory this check
owns; a project's own packs run only when named, in addition.

Timeline (2 cores): the pack processes start first and import while the program runs; then each pack is
configured and fed every resource (`Analyze`) and the whole graph (`AnalyzeStack`), one thread per pack.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servestack.check.analyzer import AnalyzerResource, Diagnostic, PackInfo, PolicyPackProcess, wait_all
from servestack.check.costs import CostSummary, cents, cost_summary, showback_json, stack_cost_settings
from servestack.check.packs import central_pack_dirs, vendored_pack_notes
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
    source: str = "central"
    """"central" (the installed servestack's) or "project" (named with --policy-pack)."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source, "policies": self.policies}


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
    unevaluated: list[dict[str, str]] = field(default_factory=list)
    """What the offline engine could not see inside (`PreviewResult.unevaluated`): not covered by the verdict."""
    strict: bool = False
    """With `--strict`, anything unevaluated fails the check."""
    pack_notes: list[str] = field(default_factory=list)
    """About the packs themselves (a vendored copy that differs from the installed pack)."""
    program_output: list[str] = field(default_factory=list)
    """What the program printed; shown to people, never in the JSON document."""

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory and not (self.strict and self.unevaluated)

    def to_json(self) -> dict[str, Any]:
        """The `check --json` document of ARCHITECTURE.md plus `showback`, `unevaluated`, `strict`, `packs`, `notes`."""
        return {
            "stack": self.stack,
            "passed": self.passed,
            "violations": [v.to_json() for v in self.violations],
            "monthly_usd": {"expected": cents(self.costs.expected), "ceiling": cents(self.costs.ceiling)},
            "budget_usd": self.budget_usd,
            "showback": showback_json(self.costs),
            "unevaluated": list(self.unevaluated),
            "strict": self.strict,
            "packs": [p.to_json() for p in self.packs],
            "notes": list(self.pack_notes),
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


def _engine_inputs(r: PreviewResource) -> Mapping[str, Any]:
    """The inputs the engine received (secrets in wire form), else the masked record."""
    return r.wire_inputs if r.wire_inputs is not None else r.inputs


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
                # Secrets travel as secrets and the pack sees their values, as under the engine.
                properties=_engine_inputs(r),
                parent=r.parent or "",
                dependencies=tuple(r.dependencies),
                provider_urn=provider_urn,
                provider_type=provider.type if provider is not None else _urn_type(provider_urn),
                provider_name=provider_urn.rsplit("::", 1)[-1] if provider_urn else "",
                provider_properties=_engine_inputs(provider) if provider is not None else {},
                options=r.options,
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
    project_packs: Sequence[Path] = (),
    preview: Callable[[Path, str | None], PreviewResult] | None = None,
    timeout_s: float | None = None,
    strict: bool = False,
) -> CheckResult:
    """Run the offline preview of `project_dir` for `stack` and judge it with the policy packs.

    `packs` replaces the central packs (for callers that judge with packs of their own, such as tests);
    by default the installed servestack's budget and guardrails packs run, plus `project_packs` (the
    project's own, named with `--policy-pack`). `preview` defaults to `servestack.preview.run_preview` with
    `timeout_s`. `strict` fails the check on anything the offline engine could not evaluate.
    Raises `ConfigError`/`SpecError` (exit 2) for bad input, `ProgramError` (exit 1) when the program fails.
    """
    from servestack.preview.project import load_project, load_stack_config, resolve_stack

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    project = load_project(Path(project_dir))
    stack_name = resolve_stack(project, stack)
    stack_cfg = load_stack_config(project, stack_name)
    cost_settings = stack_cost_settings(stack_cfg.raw)  # exit 2 for a NaN, infinite or non-positive budget
    policy_config = load_policy_config(Path(policy_config_path)) if policy_config_path is not None else {}
    with tempfile.TemporaryDirectory(prefix="servestack-packs-") as central_root:
        if packs:
            sources = [(Path(p), "project") for p in packs]
        else:
            sources = [(d, "central") for d in central_pack_dirs(Path(central_root))]
        sources += [(Path(p), "project") for p in project_packs]
        processes = [
            PolicyPackProcess(
                d,
                project=project.name,
                stack=stack_name,
                config=stack_cfg.values,
                secret_keys=sorted(stack_cfg.secret_keys),
            )
            for d, _ in sources
        ]
        try:
            for proc in processes:
                proc.start()
            if preview is None:
                from servestack.preview import run_preview

                def preview(directory: Path, name: str | None) -> PreviewResult:
                    return run_preview(directory, name, timeout_s=timeout_s)

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
            PackSummary(info.name, info.version, proc.pack_dir, len(info.policies), source)
            for info, proc, (_, source) in zip(infos, processes, sources, strict=True)
        ],
        # The preview's own "not priced" notes repeat what the cost summary lists; keep the summary's.
        notes=[n for n in result.notes if not n.startswith("not priced:")] + list(costs.notes),
        timings_s=timings,
        unevaluated=list(result.unevaluated),
        strict=strict,
        pack_notes=vendored_pack_notes(project.directory),
        program_output=list(result.program_output),
    )
