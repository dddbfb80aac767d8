"""AWS and GCP guardrails: registries, launch templates, private nodes, allowed accelerators, cost tags."""

from __future__ import annotations

from dataclasses import replace

import pytest

from servestack.policies.aws.ec2 import (
    launch_template_encrypted_volumes,
    launch_template_imdsv2,
    launch_template_no_public_ip,
)
from servestack.policies.aws.ecr import repository_immutable_tags, repository_kms_encryption, repository_scan_on_push
from servestack.policies.aws.eks import node_group
from servestack.policies.common import allowed_accelerators, autoscaler_max, cost_allocation_tags
from servestack.policies.gcp.artifactregistry import repository_immutable_tags as ar_immutable
from servestack.policies.gcp.artifactregistry import repository_vulnerability_scanning as ar_scanning
from servestack.policies.gcp.container import cluster, node_pool_gke_metadata, node_pool_private_nodes
from tests.costing.graphs import Plan, aws_stack, gcp_stack
from tests.policies.helpers import WIRE_UNKNOWN, WIRE_UNKNOWN_BOOL, changed, removed, run, stack, via_policy

AWS = aws_stack(Plan())
GCP_PLAN = Plan(cloud="gcp", region="us-central1", instance_type="g2-standard-8")
GCP = gcp_stack(GCP_PLAN)
GCP_STACK = stack(cloud="gcp", accelerator="L4", instance_type="g2-standard-8", region="us-central1")


def by_name(graph: list, type_suffix: str, name: str | None = None):  # type: ignore[no-untyped-def, type-arg]
    return next(r for r in graph if r.type.endswith(type_suffix) and (name is None or r.name == name))


ECR = by_name(AWS, "Repository")
LT = by_name(AWS, "LaunchTemplate", "gpu-lt")
AR = by_name(GCP, "Repository")
GKE = by_name(GCP, ":Cluster")
POOL = by_name(GCP, "NodePool", "gpu-base")
NG = by_name(AWS, "NodeGroup", "gpu-base")


# -- aws-ecr-repository-immutable-tags / -scan-on-push / -kms-encryption ----------------------------------


def test_ecr_good() -> None:
    assert run(repository_immutable_tags.RULE, ECR).status == "pass"
    assert run(repository_kms_encryption.RULE, ECR).status == "pass"
    assert run(repository_scan_on_push.RULE, [ECR]).status == "pass"


@pytest.mark.parametrize(
    ("rule", "path", "value", "message"),
    [
        (repository_immutable_tags.RULE, ["imageTagMutability"], "MUTABLE",
         "imageTagMutability is MUTABLE; set IMMUTABLE so a tag always names the same image"),
        (repository_kms_encryption.RULE, ["encryptionConfigurations", 0, "encryptionType"], "AES256",
         "encryptionConfigurations.0.encryptionType is AES256; use KMS"),
    ],
    ids=["mutable-tags", "aes256"],
)
def test_ecr_one_property(rule, path: list, value: object, message: str) -> None:  # type: ignore[no-untyped-def, type-arg]
    assert run(rule, changed(ECR, path, value)).texts == [message]


def test_ecr_scan_on_push_off_is_violation() -> None:
    unscanned = changed(ECR, ["imageScanningConfiguration", "scanOnPush"], False)
    assert run(repository_scan_on_push.RULE, [unscanned]).messages == ((
        "ECR repository models: imageScanningConfiguration.scanOnPush is not true and no registry scanning "
        "configuration scans every repository on push; scan every pushed image", ECR.urn),)


def test_ecr_defaults_are_violations() -> None:
    outcome = run(repository_kms_encryption.RULE, removed(ECR, ["encryptionConfigurations"]))
    assert outcome.texts == ["encryptionConfigurations.0.encryptionType is AES256 (the default); use KMS"]
    outcome = run(repository_immutable_tags.RULE, removed(ECR, ["imageTagMutability"]))
    assert outcome.texts == ["imageTagMutability is MUTABLE (the default); set IMMUTABLE so a tag always names the "
                             "same image"]


def test_ecr_unknown_and_via_policy() -> None:
    assert run(repository_immutable_tags.RULE, changed(ECR, ["imageTagMutability"], WIRE_UNKNOWN)).status \
        == "not_applicable"
    violations, reason = via_policy(repository_immutable_tags.RULE, changed(ECR, ["imageTagMutability"], "MUTABLE"))
    assert reason is None and [m for m, _ in violations] == [
        "imageTagMutability is MUTABLE; set IMMUTABLE so a tag always names the same image"]
    unknown = changed(ECR, ["imageScanningConfiguration", "scanOnPush"], WIRE_UNKNOWN_BOOL)
    assert via_policy(repository_scan_on_push.RULE, [unknown])[1] \
        == "models: imageScanningConfiguration.scanOnPush unknown during preview"


# -- gcp-artifact-registry-immutable-tags / -vulnerability-scanning ----------------------------------------


def test_ar_good_and_failures() -> None:
    assert run(ar_immutable.RULE, AR).status == "pass"
    assert run(ar_scanning.RULE, AR).status == "pass"
    assert run(ar_immutable.RULE, changed(AR, ["dockerConfig", "immutableTags"], False)).texts == [
        "dockerConfig.immutableTags is not true; a tag must always name the same image"]
    scanned_off = changed(AR, ["vulnerabilityScanningConfig"], {"enablementConfig": "DISABLED"})
    assert run(ar_scanning.RULE, scanned_off).texts == [
        "vulnerabilityScanningConfig.enablementConfig is DISABLED; scan pushed images"]
    assert run(ar_immutable.RULE, scanned_off).status == "pass"
    assert run(ar_scanning.RULE, changed(AR, ["format"], "MAVEN")).status == "not_applicable"
    assert run(ar_immutable.RULE, changed(AR, ["dockerConfig", "immutableTags"], WIRE_UNKNOWN_BOOL)).status \
        == "not_applicable"


# -- aws-launch-template-imdsv2 / -encrypted-volumes / -no-public-ip --------------------------------------

LT_RULES = (launch_template_imdsv2.RULE, launch_template_encrypted_volumes.RULE, launch_template_no_public_ip.RULE)


@pytest.mark.parametrize("rule", LT_RULES, ids=lambda r: r.name)
def test_launch_template_good(rule) -> None:  # type: ignore[no-untyped-def]
    assert run(rule, LT).status == "pass"


@pytest.mark.parametrize(
    ("rule", "path", "value", "message"),
    [
        (launch_template_imdsv2.RULE, ["metadataOptions", "httpTokens"], "optional",
         "metadataOptions.httpTokens is optional; set required (IMDSv2)"),
        (launch_template_encrypted_volumes.RULE, ["blockDeviceMappings", 0, "ebs", "encrypted"], "false",
         "blockDeviceMappings[0] (/dev/xvda): ebs.encrypted is not true"),
        (launch_template_no_public_ip.RULE, ["networkInterfaces"], [{"associatePublicIpAddress": "true"}],
         "networkInterfaces[0].associatePublicIpAddress is true; nodes must stay private"),
    ],
    ids=["imdsv1", "unencrypted", "public-ip"],
)
def test_launch_template_one_property(rule, path: list, value: object, message: str) -> None:  # type: ignore[no-untyped-def, type-arg]
    bad = changed(LT, path, value)
    assert run(rule, bad).texts == [message]
    assert [r.name for r in LT_RULES if run(r, bad).violated] == [rule.name]


def test_launch_template_unknown() -> None:
    outcome = run(launch_template_imdsv2.RULE, changed(LT, ["metadataOptions", "httpTokens"], WIRE_UNKNOWN))
    assert outcome.status == "not_applicable"


# -- aws-eks-node-group-private-subnets ------------------------------------------------------------------


def test_node_groups_in_private_subnets_pass() -> None:
    assert run(node_group.RULE, AWS).status == "pass"


def test_node_group_in_public_subnet_is_violation() -> None:
    public = next(r for r in AWS if r.name.startswith("public-"))
    group = replace(NG, dependencies=(*NG.dependencies, public.urn))
    graph = [group if r.urn == NG.urn else r for r in AWS]
    outcome = run(node_group.RULE, graph)
    assert outcome.messages == ((f"node group gpu-base runs in subnet {public.name}, which maps public IPs on launch; "
                                 "use private subnets behind NAT", NG.urn),)
    violations, _ = via_policy(node_group.RULE, graph)
    assert violations == list(outcome.messages)


def test_node_group_subnet_unknown() -> None:
    graph = [changed(r, ["mapPublicIpOnLaunch"], WIRE_UNKNOWN_BOOL) if r.name.startswith("private-") else r
             for r in AWS]
    assert run(node_group.RULE, graph).status == "not_applicable"


# -- gcp-gke-cluster-private-nodes / gcp-gke-node-pool-gke-metadata / -private-nodes ------------------


def test_gke_cluster() -> None:
    assert run(cluster.RULE, GKE).status == "pass"
    assert run(cluster.RULE, changed(GKE, ["privateClusterConfig", "enablePrivateNodes"], False)).texts == [
        "privateClusterConfig.enablePrivateNodes is not true; nodes would get external IPs"]
    unknown = changed(GKE, ["privateClusterConfig", "enablePrivateNodes"], WIRE_UNKNOWN_BOOL)
    assert run(cluster.RULE, unknown).status == "not_applicable"


def test_gke_node_pool() -> None:
    assert run(node_pool_gke_metadata.RULE, POOL).status == "pass"
    assert run(node_pool_private_nodes.RULE, POOL).status == "pass"
    legacy = changed(POOL, ["nodeConfig", "workloadMetadataConfig", "mode"], "GCE_METADATA")
    assert run(node_pool_gke_metadata.RULE, legacy).texts == [
        "nodeConfig.workloadMetadataConfig.mode is GCE_METADATA; set GKE_METADATA"]
    assert run(node_pool_private_nodes.RULE, legacy).status == "pass"
    public = changed(POOL, ["networkConfig"], {"enablePrivateNodes": False})
    assert run(node_pool_private_nodes.RULE, public).texts == [
        "networkConfig.enablePrivateNodes is false; the pool's nodes would get external IPs"]
    assert run(node_pool_gke_metadata.RULE, public).status == "pass"
    unknown = changed(POOL, ["nodeConfig", "workloadMetadataConfig", "mode"], WIRE_UNKNOWN)
    assert run(node_pool_gke_metadata.RULE, unknown).status == "not_applicable"


# -- allowed-accelerators --------------------------------------------------------------------------------


def test_allowed_accelerators_defaults_to_stack_choice() -> None:
    assert run(allowed_accelerators.RULE, NG).status == "pass"
    swapped = changed(NG, ["instanceTypes"], ["p5.48xlarge"])
    assert run(allowed_accelerators.RULE, swapped).texts == [
        "instance type p5.48xlarge is not allowed (servestack:deployment: g6e.xlarge)",
        "accelerator H100 (p5.48xlarge) is not allowed (servestack:deployment: L40S)",
    ]


def test_allowed_accelerators_from_config_accepts_aliases() -> None:
    swapped = changed(NG, ["instanceTypes"], ["p5.48xlarge"])
    assert run(allowed_accelerators.RULE, swapped, {"accelerators": ["h100", "L40S"]}).status == "pass"
    assert run(allowed_accelerators.RULE, swapped, {"accelerators": ["L4"]}).texts == [
        "accelerator H100 (p5.48xlarge) is not allowed (policy config: L4)"]
    bad = run(allowed_accelerators.RULE, NG, {"accelerators": ["H1OO"]})
    assert bad.violated and bad.texts[0].startswith("policy config: accelerators: 'H1OO' is not valid")


def test_allowed_accelerators_gke_and_cpu_and_unknown() -> None:
    assert run(allowed_accelerators.RULE, POOL, settings=GCP_STACK).status == "pass"
    a100 = changed(POOL, ["nodeConfig", "machineType"], "a2-highgpu-1g")
    assert run(allowed_accelerators.RULE, a100, {"accelerators": ["L4"]}).texts == [
        "accelerator A100-40GB (a2-highgpu-1g) is not allowed (policy config: L4)"]
    system = by_name(AWS, "NodeGroup", "system")
    assert run(allowed_accelerators.RULE, system).status == "not_applicable"
    unknown = changed(NG, ["instanceTypes"], WIRE_UNKNOWN)
    assert run(allowed_accelerators.RULE, unknown).status == "not_applicable"


# -- cost-allocation-tags --------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", [*[r for r in AWS + GCP if r.type in cost_allocation_tags.TAG_PATHS]],
                         ids=lambda r: f"{r.type.split(':')[1]}-{r.name}")
def test_stack_resources_carry_tags(resource) -> None:  # type: ignore[no-untyped-def]
    assert run(cost_allocation_tags.RULE, resource).status == "pass"


def test_missing_tag_is_violation() -> None:
    assert run(cost_allocation_tags.RULE, removed(ECR, ["tags", "cost-center"])).texts == [
        "tags lacks the cost-allocation tags cost-center"]
    assert run(cost_allocation_tags.RULE, changed(POOL, ["nodeConfig", "resourceLabels", "team"], "")).texts == [
        "nodeConfig.resourceLabels lacks the cost-allocation labels team"]


def test_provider_default_tags_count() -> None:
    bare = replace(removed(ECR, ["tags"]), provider={"defaultTags": {"tags": {
        "team": "a", "environment": "prod", "cost-center": "c"}}})
    assert run(cost_allocation_tags.RULE, bare).status == "pass"
    violations, reason = via_policy(cost_allocation_tags.RULE, bare)
    assert violations == [] and reason is None


def test_tags_unknown_and_configurable() -> None:
    assert run(cost_allocation_tags.RULE, changed(ECR, ["tags"], WIRE_UNKNOWN)).status == "not_applicable"
    assert run(cost_allocation_tags.RULE, ECR, {"requiredTags": ["owner"]}).texts == [
        "tags lacks the cost-allocation tags owner"]


# -- autoscaler-explicit-max (node side) -----------------------------------------------------------------


def test_node_autoscalers_state_max() -> None:
    assert run(autoscaler_max.RULE, NG).status == "pass"
    assert run(autoscaler_max.RULE, POOL).status == "pass"
    assert run(autoscaler_max.RULE, removed(POOL, ["autoscaling", "totalMaxNodeCount"])).texts == [
        "autoscaling sets neither totalMaxNodeCount nor maxNodeCount to a number >= 1"]
    assert run(autoscaler_max.RULE, changed(POOL, ["autoscaling"], WIRE_UNKNOWN)).status == "not_applicable"
