"""SSG016 aws-ecr-repository-kms-encryption: images are encrypted with KMS keys (split from retired SSG003)."""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.aws.views import ECR_REPOSITORY_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]

_KMS = ("KMS", "KMS_DSSE")


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = ECR_REPOSITORY_VIEW.read(r, "encryption_type")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    if found.value in _KMS:
        return passed()
    shown = "AES256 (the default)" if found.value is MISSING else found.value
    return violation(f"{found.path} is {shown}; use KMS")


RULE = ResourceRule(
    id="SSG016",
    name="aws-ecr-repository-kms-encryption",
    description="ECR repositories encrypt images with KMS.",
    config_schema={},
    defaults={},
    resource_types=ECR_REPOSITORY_VIEW.types,
    check=check,
)
