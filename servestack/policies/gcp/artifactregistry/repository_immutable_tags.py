"""SSG017 gcp-artifact-registry-immutable-tags: a tag always names the same image (split from retired SSG004)."""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.gcp.artifactregistry.docker import AR_REPOSITORY, not_docker

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    skip = not_docker(r)
    if skip is not None:
        return skip
    immutable = r.get("dockerConfig", "immutableTags")
    if is_unknown(immutable):
        return not_applicable("dockerConfig.immutableTags unknown during preview")
    if immutable is True:
        return passed()
    return violation("dockerConfig.immutableTags is not true; a tag must always name the same image")


RULE = ResourceRule(
    id="SSG017",
    name="gcp-artifact-registry-immutable-tags",
    description="Artifact Registry Docker repositories make tags immutable.",
    config_schema={},
    defaults={},
    resource_types=(AR_REPOSITORY,),
    check=check,
)
