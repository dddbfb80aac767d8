"""servestack guardrails pack: assembles the PolicyPack; the rules live in servestack.policies."""

from pulumi_policy import EnforcementLevel, PolicyPack

from servestack.policies.adapter import build_policies
from servestack.policies.packs import GUARDRAILS

PolicyPack(
    name=GUARDRAILS.name,
    description=GUARDRAILS.description,
    policies=build_policies(GUARDRAILS),
    enforcement_level=EnforcementLevel.ADVISORY,
)
