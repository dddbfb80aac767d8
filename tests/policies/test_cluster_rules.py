"""Cluster guardrails: API endpoint exposure, control-plane subnets, secrets encryption, node group SSH and
launch templates (EKS, pulumi-aws and aws-native), and GKE legacy ABAC and Workload Identity."""

from __future__ import annotations

import pytest

from servestack.costing.resources import Resource
from servestack.policies.aws.eks import (
    cluster_multi_subnet,
    cluster_public_api,
    cluster_secrets_encryption,
    node_group_launch_template,
    node_group_remote_access,
)
from servestack.policies.gcp.container import cluster_legacy_abac, cluster_workload_identity
from servestack.policies.gcp.container import cluster_public_api as gke_public_api
from tests.policies.fixtures import by_type, hardened_aws, hardened_gcp, native
from tests.policies.helpers import WIRE_UNKNOWN, WIRE_UNKNOWN_BOOL, changed, removed, run, via_policy

AWS = hardened_aws()
EKS = by_type(AWS, "aws:eks/cluster:Cluster")
NG = by_type(AWS, "aws:eks/nodeGroup:NodeGroup", "gpu-base")
GKE = by_type(hardened_gcp(), "gcp:container/cluster:Cluster")

NATIVE_EKS = native("aws-native:eks:Cluster", "native-cluster", {
    "roleArn": "arn:aws:iam::1:role/r",
    "resourcesVpcConfig": {"subnetIds": ["subnet-a", "subnet-b"], "endpointPublicAccess": False,
                           "endpointPrivateAccess": True},
    "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}}],
})
NATIVE_NG = native("aws-native:eks:Nodegroup", "native-ng", {
    "clusterName": "c", "nodeRole": "arn:aws:iam::1:role/n", "subnets": ["subnet-a"],
    "launchTemplate": {"id": "lt-1", "version": "1"},
})
OPEN_API = "the cluster API is open to 0.0.0.0/0; list the CIDRs that may reach it, or set {path} false"


# -- aws-eks-cluster-public-api-restricted ---------------------------------------------------------------


@pytest.mark.parametrize("cluster", [EKS, NATIVE_EKS], ids=["aws", "aws-native"])
def test_eks_api_limited_or_private_passes(cluster: Resource) -> None:
    assert run(cluster_public_api.RULE, cluster).status == "pass"


def test_eks_public_api_without_cidrs_is_open_to_the_world() -> None:
    bad = removed(EKS, ["vpcConfig", "publicAccessCidrs"])
    assert run(cluster_public_api.RULE, bad).texts == [
        "vpcConfig.endpointPublicAccess is true and vpcConfig.publicAccessCidrs is not set, so "
        + OPEN_API.format(path="vpcConfig.endpointPublicAccess")]


def test_eks_public_access_unset_defaults_to_public() -> None:
    bad = removed(removed(EKS, ["vpcConfig", "publicAccessCidrs"]), ["vpcConfig", "endpointPublicAccess"])
    assert run(cluster_public_api.RULE, bad).texts == [
        "vpcConfig.endpointPublicAccess is not set (public by default) and vpcConfig.publicAccessCidrs is not set, "
        "so " + OPEN_API.format(path="vpcConfig.endpointPublicAccess")]


def test_eks_public_api_open_cidr() -> None:
    bad = changed(EKS, ["vpcConfig", "publicAccessCidrs"], ["10.0.0.0/8", "0.0.0.0/0"])
    assert run(cluster_public_api.RULE, bad).texts == [
        "vpcConfig.endpointPublicAccess is true and vpcConfig.publicAccessCidrs contains 0.0.0.0/0: the cluster "
        "API is open to the whole internet; list only the CIDRs that need it"]


def test_aws_native_eks_public_api() -> None:
    bad = changed(NATIVE_EKS, ["resourcesVpcConfig", "endpointPublicAccess"], True)
    assert run(cluster_public_api.RULE, bad).texts == [
        "resourcesVpcConfig.endpointPublicAccess is true and resourcesVpcConfig.publicAccessCidrs is not set, so "
        + OPEN_API.format(path="resourcesVpcConfig.endpointPublicAccess")]


def test_eks_public_api_unknown() -> None:
    unknown = changed(EKS, ["vpcConfig", "publicAccessCidrs"], WIRE_UNKNOWN)
    assert run(cluster_public_api.RULE, unknown).status == "not_applicable"
    unknown = changed(removed(EKS, ["vpcConfig", "publicAccessCidrs"]), ["vpcConfig", "endpointPublicAccess"],
                      WIRE_UNKNOWN_BOOL)
    assert via_policy(cluster_public_api.RULE, unknown) == ([], "vpcConfig.endpointPublicAccess unknown during preview")
    # Named CIDRs limit the endpoint whether or not it ends up public.
    limited = changed(EKS, ["vpcConfig", "endpointPublicAccess"], WIRE_UNKNOWN_BOOL)
    assert run(cluster_public_api.RULE, limited).status == "pass"


# -- aws-eks-cluster-multi-subnet ------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", [EKS, NATIVE_EKS], ids=["aws", "aws-native"])
def test_two_subnets_pass(cluster: Resource) -> None:
    assert run(cluster_multi_subnet.RULE, cluster).status == "pass"


def test_single_subnet_control_plane() -> None:
    assert run(cluster_multi_subnet.RULE, changed(EKS, ["vpcConfig", "subnetIds"], ["subnet-a"])).texts == [
        "vpcConfig.subnetIds has 1 subnet; EKS needs subnets in at least two Availability Zones"]
    native_one = changed(NATIVE_EKS, ["resourcesVpcConfig", "subnetIds"], ["subnet-a"])
    assert run(cluster_multi_subnet.RULE, native_one).texts == [
        "resourcesVpcConfig.subnetIds has 1 subnet; EKS needs subnets in at least two Availability Zones"]


def test_subnets_unknown_is_not_applicable_but_unknown_ids_count() -> None:
    assert run(cluster_multi_subnet.RULE, changed(EKS, ["vpcConfig", "subnetIds"], WIRE_UNKNOWN)).status \
        == "not_applicable"
    two_unknown = changed(EKS, ["vpcConfig", "subnetIds"], [WIRE_UNKNOWN, WIRE_UNKNOWN])
    assert run(cluster_multi_subnet.RULE, two_unknown).status == "pass"


# -- aws-eks-cluster-secrets-encryption ------------------------------------------------------------------

NO_SECRETS = ("{path} does not encrypt secrets; set resources [\"secrets\"] with a KMS key (provider.keyArn) so "
              "Kubernetes secrets are envelope-encrypted")


@pytest.mark.parametrize("cluster", [EKS, NATIVE_EKS], ids=["aws", "aws-native"])
def test_secrets_encrypted_pass(cluster: Resource) -> None:
    assert run(cluster_secrets_encryption.RULE, cluster).status == "pass"


def test_secrets_not_encrypted() -> None:
    assert run(cluster_secrets_encryption.RULE, removed(EKS, ["encryptionConfig"])).texts == [
        NO_SECRETS.format(path="encryptionConfig")]
    assert run(cluster_secrets_encryption.RULE, removed(NATIVE_EKS, ["encryptionConfig"])).texts == [
        NO_SECRETS.format(path="encryptionConfig")]
    assert run(cluster_secrets_encryption.RULE,
               changed(EKS, ["encryptionConfig", "resources"], [])).violated


def test_secrets_encryption_unknown() -> None:
    assert run(cluster_secrets_encryption.RULE, changed(EKS, ["encryptionConfig"], WIRE_UNKNOWN)).status \
        == "not_applicable"
    unknown_key = changed(EKS, ["encryptionConfig", "provider", "keyArn"], WIRE_UNKNOWN)
    assert run(cluster_secrets_encryption.RULE, unknown_key).status == "pass"


# -- aws-eks-node-group-no-public-ssh --------------------------------------------------------------------

OPEN_SSH = ("remoteAccess is set without {path}: EKS opens SSH (port 22) to 0.0.0.0/0; name the security groups "
            "allowed to connect, or drop remote access (use SSM)")


@pytest.mark.parametrize("group", [NG, NATIVE_NG], ids=["aws", "aws-native"])
def test_no_remote_access_passes(group: Resource) -> None:
    assert run(node_group_remote_access.RULE, group).status == "pass"


def test_remote_access_open_to_world() -> None:
    bad = changed(NG, ["remoteAccess"], {"ec2SshKey": "ops"})
    assert run(node_group_remote_access.RULE, bad).texts == [
        OPEN_SSH.format(path="remoteAccess.sourceSecurityGroupIds")]
    native_bad = changed(NATIVE_NG, ["remoteAccess"], {"ec2SshKey": "ops"})
    assert run(node_group_remote_access.RULE, native_bad).texts == [
        OPEN_SSH.format(path="remoteAccess.sourceSecurityGroups")]


def test_remote_access_limited_passes_and_unknown() -> None:
    limited = changed(NG, ["remoteAccess"], {"ec2SshKey": "ops", "sourceSecurityGroupIds": ["sg-1"]})
    assert run(node_group_remote_access.RULE, limited).status == "pass"
    unknown = changed(NG, ["remoteAccess"], {"ec2SshKey": "ops", "sourceSecurityGroupIds": WIRE_UNKNOWN})
    assert run(node_group_remote_access.RULE, unknown).status == "not_applicable"


# -- aws-eks-node-group-launch-template ------------------------------------------------------------------


@pytest.mark.parametrize("group", [NG, NATIVE_NG], ids=["aws", "aws-native"])
def test_launch_template_set_passes(group: Resource) -> None:
    assert run(node_group_launch_template.RULE, group).status == "pass"


def test_node_group_without_launch_template() -> None:
    message = ("launchTemplate is not set: EKS's default template leaves IMDSv1 reachable from pods and the root "
               "volume unencrypted unless the account encrypts by default; use a launch template with httpTokens "
               "required and encrypted volumes")
    assert run(node_group_launch_template.RULE, removed(NG, ["launchTemplate"])).texts == [message]
    assert run(node_group_launch_template.RULE, removed(NATIVE_NG, ["launchTemplate"])).texts == [message]


def test_launch_template_id_unknown_still_counts() -> None:
    assert run(node_group_launch_template.RULE, changed(NG, ["launchTemplate", "id"], WIRE_UNKNOWN)).status == "pass"
    assert run(node_group_launch_template.RULE, changed(NG, ["launchTemplate"], WIRE_UNKNOWN)).status \
        == "not_applicable"


# -- gcp-gke-cluster-public-api-restricted ---------------------------------------------------------------


def test_gke_authorized_networks_pass() -> None:
    assert run(gke_public_api.RULE, GKE).status == "pass"
    private = changed(removed(GKE, ["masterAuthorizedNetworksConfig"]),
                      ["privateClusterConfig", "enablePrivateEndpoint"], True)
    assert run(gke_public_api.RULE, private).status == "pass"


def test_gke_public_endpoint_without_authorized_networks() -> None:
    assert run(gke_public_api.RULE, removed(GKE, ["masterAuthorizedNetworksConfig"])).texts == [
        "the control-plane endpoint is public and masterAuthorizedNetworksConfig is not set, so the cluster API "
        "accepts 0.0.0.0/0; list the authorized CIDR blocks or make the endpoint private "
        "(privateClusterConfig.enablePrivateEndpoint)"]


def test_gke_authorized_networks_open_to_world() -> None:
    bad = changed(GKE, ["masterAuthorizedNetworksConfig", "cidrBlocks", 0, "cidrBlock"], "0.0.0.0/0")
    assert run(gke_public_api.RULE, bad).texts == [
        "masterAuthorizedNetworksConfig.cidrBlocks contains 0.0.0.0/0: the public cluster API is open to the whole "
        "internet; list only the CIDRs that need it"]


def test_gke_dns_era_private_endpoint_and_unknown() -> None:
    dns = changed(removed(GKE, ["masterAuthorizedNetworksConfig"]), ["controlPlaneEndpointsConfig"],
                  {"ipEndpointsConfig": {"enablePublicEndpoint": False}})
    assert run(gke_public_api.RULE, dns).status == "pass"
    unknown = changed(GKE, ["masterAuthorizedNetworksConfig"], WIRE_UNKNOWN)
    assert run(gke_public_api.RULE, unknown).status == "not_applicable"
    endpoint_unknown = changed(GKE, ["privateClusterConfig", "enablePrivateEndpoint"], WIRE_UNKNOWN_BOOL)
    assert run(gke_public_api.RULE, endpoint_unknown).status == "pass"  # authorized networks limit it anyway
    assert run(gke_public_api.RULE, removed(endpoint_unknown, ["masterAuthorizedNetworksConfig"])).status \
        == "not_applicable"


# -- gcp-gke-cluster-no-legacy-abac / gcp-gke-cluster-workload-identity ----------------------------------


def test_gke_legacy_abac() -> None:
    assert run(cluster_legacy_abac.RULE, GKE).status == "pass"
    assert run(cluster_legacy_abac.RULE, changed(GKE, ["enableLegacyAbac"], True)).texts == [
        "enableLegacyAbac is true: legacy ABAC grants rights outside RBAC; leave it off"]
    assert run(cluster_legacy_abac.RULE, changed(GKE, ["enableLegacyAbac"], WIRE_UNKNOWN_BOOL)).status \
        == "not_applicable"


def test_gke_workload_identity() -> None:
    assert run(cluster_workload_identity.RULE, GKE).status == "pass"
    assert run(cluster_workload_identity.RULE, removed(GKE, ["workloadIdentityConfig"])).texts == [
        "workloadIdentityConfig.workloadPool is not set: pods would share the node's service account; set it to "
        "PROJECT.svc.id.goog"]
    unknown = changed(GKE, ["workloadIdentityConfig", "workloadPool"], WIRE_UNKNOWN)
    assert run(cluster_workload_identity.RULE, unknown).status == "not_applicable"
