"""SSG014 aws-ecr-repository-immutable-tags: a tag always names the same image (split from retired SSG003)."""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.aws.views import ECR_REPOSITORY_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = ECR_REPOSITORY_VIEW.read(r, "tag_mutability")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    if found.value == "IMMUTABLE":
        return passed()
    shown = "MUTABLE (the default)" if found.value is MISSING else found.value
    return violation(f"{found.path} is {shown}; set IMMUTABLE so a tag always names the same image")


RULE = ResourceRule(
    id="SSG014",
    name="aws-ecr-repository-immutable-tags",
    description="ECR repositories make image tags immutable.",
    config_schema={},
    defaults={},
    resource_types=ECR_REPOSITORY_VIEW.types,
    check=check,
)
