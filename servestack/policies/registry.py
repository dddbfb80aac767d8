"""Every rule servestack ships, by id and by name (an explicit list: importing a rule registers nothing)."""

from __future__ import annotations

from servestack.policies.aws.ec2 import launch_template
from servestack.policies.aws.ecr import repository as ecr_repository
from servestack.policies.aws.eks import node_group
from servestack.policies.base import Rule
from servestack.policies.common import allowed_accelerators, autoscaler_max, cost_allocation_tags, dev_spot_only
from servestack.policies.gcp.artifactregistry import repository as ar_repository
from servestack.policies.gcp.container import cluster, node_pool
from servestack.policies.kubernetes import image_tag, load_balancer, model_server
from servestack.policies.stack import accelerator_cap, budget_ceiling, budget_warning, model_server_pdb
from servestack.policies.stack.budget_unpriced import RULE as BUDGET_UNPRICED

__all__ = ["RULES", "rule_by_id", "rule_by_name"]

RULES: tuple[Rule, ...] = (
    budget_ceiling.RULE,
    budget_warning.RULE,
    BUDGET_UNPRICED,
    accelerator_cap.RULE,
    dev_spot_only.RULE,
    allowed_accelerators.RULE,
    cost_allocation_tags.RULE,
    ecr_repository.RULE,
    ar_repository.RULE,
    launch_template.RULE,
    node_group.RULE,
    cluster.RULE,
    node_pool.RULE,
    load_balancer.RULE,
    image_tag.RULE,
    model_server.RULE,
    model_server_pdb.RULE,
    autoscaler_max.RULE,
)

_BY_ID = {rule.id: rule for rule in RULES}
_BY_NAME = {rule.name: rule for rule in RULES}
if len(_BY_ID) != len(RULES) or len(_BY_NAME) != len(RULES):
    raise RuntimeError("rule ids and names must be unique")


def rule_by_id(rule_id: str) -> Rule:
    return _BY_ID[rule_id]


def rule_by_name(name: str) -> Rule:
    return _BY_NAME[name]
