"""servestack budget pack: assembles the PolicyPack; the rules live in servestack.policies."""

from pulumi_policy import EnforcementLevel, PolicyPack

from servestack.policies.adapter import build_policies
from servestack.policies.packs import BUDGET

PolicyPack(
    name=BUDGET.name,
    description=BUDGET.description,
    policies=build_policies(BUDGET),
    enforcement_level=EnforcementLevel.ADVISORY,
)
