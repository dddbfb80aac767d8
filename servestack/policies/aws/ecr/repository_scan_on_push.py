"""SSG015 aws-ecr-repository-scan-on-push: every pushed image is scanned (split from retired SSG003).

A stack rule: a repository is scanned either by its own `imageScanningConfiguration.scanOnPush` or by a
registry-level scanning configuration of the same stack whose rule covers every repository (filter `*`):
ENHANCED scanning on push or continuously, or BASIC scanning on push.
"""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing.resources import Resource, contains_unknown, is_unknown, lookup
from servestack.policies.aws.views import ECR_REGISTRY_SCANNING, ECR_REPOSITORY_VIEW, NATIVE_ECR_REGISTRY_SCANNING
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation

__all__ = ["RULE", "registry_scans_everything"]

_FREQUENCIES = {"ENHANCED": ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"), "BASIC": ("SCAN_ON_PUSH",)}


def _covers_all(rule: object) -> bool:
    filters = lookup(rule, "repositoryFilters")
    return isinstance(filters, list) and any(
        lookup(f, "filter") == "*" and lookup(f, "filterType") in ("WILDCARD", "wildcard") for f in filters)


def registry_scans_everything(config: Resource) -> bool | None:
    """Whether a registry scanning configuration scans every repository's pushes; None when unknown."""
    scan_type, rules = config.get("scanType"), config.get("rules")
    if is_unknown(scan_type) or contains_unknown(rules):
        return None
    frequencies = _FREQUENCIES.get(scan_type if isinstance(scan_type, str) else "", ())
    return isinstance(rules, list) and any(
        lookup(rule, "scanFrequency") in frequencies and _covers_all(rule) for rule in rules)


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    registry = [registry_scans_everything(r) for r in resources
                if r.type in (ECR_REGISTRY_SCANNING, NATIVE_ECR_REGISTRY_SCANNING)]
    if any(v is True for v in registry):
        return passed()
    registry_unknown = any(v is None for v in registry)
    messages: list[tuple[str, str | None]] = []
    pending: list[str] = []
    repositories = [r for r in resources if r.type in ECR_REPOSITORY_VIEW.types]
    for repo in repositories:
        found = ECR_REPOSITORY_VIEW.read(repo, "scan_on_push")
        if found.value is True:
            continue
        if is_unknown(found.value):
            pending.append(f"{repo.name}: {found.path} unknown during preview")
        elif registry_unknown:
            pending.append(f"{repo.name}: the registry scanning configuration is unknown during preview")
        else:
            messages.append((f"ECR repository {repo.name}: {found.path} is not true and no registry scanning "
                             "configuration scans every repository on push; scan every pushed image", repo.urn))
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("; ".join(pending))
    if not repositories:
        return not_applicable("no ECR repositories")
    return passed()


RULE = StackRule(
    id="SSG015",
    name="aws-ecr-repository-scan-on-push",
    description="ECR repositories scan every pushed image (their own setting or registry-wide scanning).",
    config_schema={},
    defaults={},
    check=check,
)
