"""Every rule servestack ships, by id and by name (an explicit list: importing a rule registers nothing).

Ids and names are never reused: a rule that is split or withdrawn moves to `RETIRED` with the ids that
replace it, and a test keeps every new rule off the retired ids and names.
"""

from __future__ import annotations

from servestack.policies.aws.ec2 import (
    instance_encrypted_volumes,
    instance_imdsv2,
    instance_no_public_ip,
    launch_template_encrypted_volumes,
    launch_template_imdsv2,
    launch_template_no_public_ip,
)
from servestack.policies.aws.ecr import repository_immutable_tags, repository_kms_encryption, repository_scan_on_push
from servestack.policies.aws.eks import (
    cluster_multi_subnet,
    cluster_public_api,
    cluster_secrets_encryption,
    node_group,
    node_group_launch_template,
    node_group_remote_access,
)
from servestack.policies.aws.lb import listener_http_redirect
from servestack.policies.base import Rule
from servestack.policies.common import allowed_accelerators, autoscaler_max, cost_allocation_tags, dev_spot_only
from servestack.policies.gcp.artifactregistry import repository_immutable_tags as ar_immutable_tags
from servestack.policies.gcp.artifactregistry import repository_vulnerability_scanning as ar_scanning
from servestack.policies.gcp.container import (
    cluster,
    cluster_legacy_abac,
    cluster_workload_identity,
    node_pool_gke_metadata,
    node_pool_private_nodes,
)
from servestack.policies.gcp.container import cluster_public_api as gke_public_api
from servestack.policies.kubernetes import (
    fp8_kv_cache,
    gpu_pod_cpu_request,
    gpu_pod_memory_request,
    image_tag,
    load_balancer_internal,
    load_balancer_plain_http,
    load_balancer_tls,
    model_server_gpu_limits,
    model_server_liveness_probe,
    model_server_readiness_probe,
    workload_await_timeout,
)
from servestack.policies.kubernetes.pod_security import (
    allow_privilege_escalation,
    capabilities,
    drop_all_capabilities,
    host_namespaces,
    host_path_volumes,
    host_ports,
    privileged,
    run_as_non_root,
    seccomp,
)
from servestack.policies.stack import accelerator_cap, budget_ceiling, budget_warning, model_server_pdb
from servestack.policies.stack.budget_unpriced import RULE as BUDGET_UNPRICED

__all__ = ["RULES", "RETIRED", "rule_by_id", "rule_by_name", "retired_hint"]

RULES: tuple[Rule, ...] = (
    budget_ceiling.RULE,
    budget_warning.RULE,
    BUDGET_UNPRICED,
    accelerator_cap.RULE,
    dev_spot_only.RULE,
    allowed_accelerators.RULE,
    cost_allocation_tags.RULE,
    repository_immutable_tags.RULE,
    repository_scan_on_push.RULE,
    repository_kms_encryption.RULE,
    ar_immutable_tags.RULE,
    ar_scanning.RULE,
    launch_template_imdsv2.RULE,
    launch_template_encrypted_volumes.RULE,
    launch_template_no_public_ip.RULE,
    node_group.RULE,
    cluster.RULE,
    node_pool_gke_metadata.RULE,
    node_pool_private_nodes.RULE,
    load_balancer_internal.RULE,
    load_balancer_tls.RULE,
    image_tag.RULE,
    model_server_gpu_limits.RULE,
    model_server_readiness_probe.RULE,
    model_server_liveness_probe.RULE,
    model_server_pdb.RULE,
    autoscaler_max.RULE,
    cluster_public_api.RULE,
    gke_public_api.RULE,
    fp8_kv_cache.RULE,
    gpu_pod_cpu_request.RULE,
    gpu_pod_memory_request.RULE,
    workload_await_timeout.RULE,
    cluster_multi_subnet.RULE,
    cluster_secrets_encryption.RULE,
    node_group_remote_access.RULE,
    node_group_launch_template.RULE,
    cluster_legacy_abac.RULE,
    cluster_workload_identity.RULE,
    privileged.RULE,
    host_namespaces.RULE,
    host_path_volumes.RULE,
    capabilities.RULE,
    host_ports.RULE,
    run_as_non_root.RULE,
    allow_privilege_escalation.RULE,
    seccomp.RULE,
    drop_all_capabilities.RULE,
    load_balancer_plain_http.RULE,
    listener_http_redirect.RULE,
    instance_no_public_ip.RULE,
    instance_imdsv2.RULE,
    instance_encrypted_volumes.RULE,
)

RETIRED: dict[str, tuple[str, tuple[str, ...]]] = {
    # id: (name it had, ids of the rules that replaced it)
    "SSG003": ("aws-ecr-repository-immutable-scanned-encrypted", ("SSG014", "SSG015", "SSG016")),
    "SSG004": ("gcp-artifact-registry-immutable-scanned", ("SSG017", "SSG018")),
    "SSG005": ("aws-launch-template-imdsv2-encrypted-private", ("SSG019", "SSG020", "SSG021")),
    "SSG008": ("gcp-gke-node-pool-metadata-private", ("SSG022", "SSG023")),
    "SSG009": ("kubernetes-load-balancer-internal-or-tls", ("SSG024", "SSG025")),
    "SSG011": ("kubernetes-model-server-gpu-limits-probes", ("SSG026", "SSG027", "SSG028")),
}
"""Ids (and names) no rule may take again."""

_BY_ID = {rule.id: rule for rule in RULES}
_BY_NAME = {rule.name: rule for rule in RULES}
if len(_BY_ID) != len(RULES) or len(_BY_NAME) != len(RULES):
    raise RuntimeError("rule ids and names must be unique")


def rule_by_id(rule_id: str) -> Rule:
    return _BY_ID[rule_id]


def rule_by_name(name: str) -> Rule:
    return _BY_NAME[name]


def retired_hint(name_or_id: str) -> str | None:
    """What replaced a retired rule, for a policy config that still names it; None when it is not retired."""
    for rule_id, (name, successors) in RETIRED.items():
        if name_or_id in (rule_id, name):
            names = ", ".join(_BY_ID[s].name for s in successors)
            return f"{name} ({rule_id}) was split into one rule per property: {names}"
    return None
