"""SSG004 gcp-artifact-registry-immutable-scanned: Docker repositories have immutable tags and scanning.

Artifact Registry always encrypts at rest (Google-managed keys unless `kmsKeyName` names one), so only
tag immutability and vulnerability scanning can be got wrong in the inputs.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE", "AR_REPOSITORY"]

AR_REPOSITORY = "gcp:artifactregistry/repository:Repository"


def check(r: Resource, ctx: RuleContext) -> Outcome:
    fmt = r.get("format")
    if is_unknown(fmt):
        return not_applicable("format unknown during preview")
    if not isinstance(fmt, str) or fmt.upper() != "DOCKER":
        return not_applicable(f"format {fmt!r} is not DOCKER")
    immutable = r.get("dockerConfig", "immutableTags")
    scanning = r.get("vulnerabilityScanningConfig", "enablementConfig")
    if is_unknown(immutable) or is_unknown(scanning):
        return not_applicable("repository settings unknown during preview")
    messages: list[str] = []
    if immutable is not True:
        messages.append("dockerConfig.immutableTags is not true; a tag must always name the same image")
    if scanning == "DISABLED":
        messages.append("vulnerabilityScanningConfig.enablementConfig is DISABLED; scan pushed images")
    elif scanning is not MISSING and scanning not in ("INHERITED", "ENABLED"):
        messages.append(f"vulnerabilityScanningConfig.enablementConfig is {scanning!r}; use INHERITED or ENABLED")
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG004",
    name="gcp-artifact-registry-immutable-scanned",
    description="Artifact Registry Docker repositories have immutable tags and vulnerability scanning on.",
    config_schema={},
    defaults={},
    resource_types=(AR_REPOSITORY,),
    check=check,
)
