"""SSG003 aws-ecr-repository-immutable-scanned-encrypted: image tags immutable, scan on push, KMS."""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE", "ECR_REPOSITORY"]

ECR_REPOSITORY = "aws:ecr/repository:Repository"
_KMS = ("KMS", "KMS_DSSE")


def check(r: Resource, ctx: RuleContext) -> Outcome:
    mutability = r.get("imageTagMutability")
    scan = r.get("imageScanningConfiguration", "scanOnPush")
    encryption = r.get("encryptionConfigurations")
    kind = lookup(encryption, 0, "encryptionType") if isinstance(encryption, list) else encryption
    if any(is_unknown(v) for v in (mutability, scan, kind)):
        return not_applicable("repository settings unknown during preview")
    messages: list[str] = []
    if mutability != "IMMUTABLE":
        shown = "MUTABLE (the default)" if mutability is MISSING else mutability
        messages.append(f"imageTagMutability is {shown}; set IMMUTABLE so a tag always names the same image")
    if scan is not True:
        messages.append("imageScanningConfiguration.scanOnPush is not true; scan every pushed image")
    if kind not in _KMS:
        shown = "AES256 (the default)" if kind is MISSING else kind
        messages.append(f"encryptionConfigurations encryptionType is {shown}; use KMS")
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG003",
    name="aws-ecr-repository-immutable-scanned-encrypted",
    description="ECR repositories have immutable tags, scan on push and KMS encryption.",
    config_schema={},
    defaults={},
    resource_types=(ECR_REPOSITORY,),
    check=check,
)
