"""Pieces the AWS cluster and node-group modules share: IAM trust policies, node roles, launch templates.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
import re

import pulumi
import pulumi_aws as aws

from servestack.catalog.platform import platform_prices

GPU_AMI_TYPES = (
    "AL2023_x86_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA",
)
_DEFAULT_K8S_VERSION = "1.34"
_VPC_CIDR = "10.0.0.0/16"
_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    # Pull-only: nodes never push images (narrower than AmazonEC2ContainerRegistryReadOnly).
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
)
# The system node group is sized from the same platform table the selector and costing price, so a
# plan's ceiling and the costed ceiling of the stack it writes agree.
_SYSTEM = platform_prices("aws")
_SYSTEM_POOL = {"servestack.io/pool": "system"}
"""Node label of the system node group: cluster add-ons select it so they never take GPU capacity."""

CLUSTER_AUTOSCALER_TAG_PREFIX = "k8s.io/cluster-autoscaler"
# The autoscaler's minor version must match the cluster's. Chart -> app versions as the chart repository
# https://kubernetes.github.io/autoscaler lists them (`helm search repo autoscaler/cluster-autoscaler
# --versions`), as of 2025-12: chart 9.50.1 ships 1.33.0, chart 9.53.0 ships 1.34.2. The image tag is
# pinned too, so the running binary does not depend on a chart's default.
CLUSTER_AUTOSCALER_RELEASES: dict[str, tuple[str, str]] = {
    "1.33": ("9.50.1", "v1.33.0"),
    "1.34": ("9.53.0", "v1.34.2"),
}
_CA_CHART_REPO = "https://kubernetes.github.io/autoscaler"
_CA_NAMESPACE = "kube-system"
_CA_SERVICE_ACCOUNT = "cluster-autoscaler"
# The autoscaler's AWS provider treats a node with this label and no allocatable GPU yet as still starting,
# so it does not add a second node while the device plugin registers the first one's GPUs.
_CA_GPU_LABEL = "k8s.amazonaws.com/accelerator"
_DURATION = re.compile(r"^[1-9][0-9]*[smh]$")
# A Kubernetes label value, short enough to also fit behind the `nvidia-` prefix of _CA_GPU_LABEL.
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,40}[A-Za-z0-9])?$")


def capacity_type_for(pricing: str) -> str:
    """EKS capacity type of a pricing mode: commitments (1y/3y) are billing on on-demand capacity."""
    return "SPOT" if pricing == "spot" else "ON_DEMAND"


def _assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
            ],
        }
    )


def _node_role(parent: pulumi.Resource, name: str, tags: dict[str, str]) -> aws.iam.Role:
    role = aws.iam.Role(
        f"{name}-node-role",
        assume_role_policy=_assume_role_policy("ec2.amazonaws.com"),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for policy_arn in _NODE_POLICIES:
        short = policy_arn.rsplit("/", 1)[-1].lower().replace("_", "-")
        aws.iam.RolePolicyAttachment(
            f"{name}-{short}",
            role=role.name,
            policy_arn=policy_arn,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return role


def _launch_template(
    parent: pulumi.Resource,
    name: str,
    *,
    root_volume_gib: int,
    device_name: str,
    tags: dict[str, str],
    placement_group: aws.ec2.PlacementGroup | None = None,
    efa_security_group_ids: pulumi.Input[list[str]] | None = None,
) -> aws.ec2.LaunchTemplate:
    """IMDSv2-only launch template with an encrypted gp3 root volume (and EFA + placement when asked)."""
    network_interfaces: list[aws.ec2.LaunchTemplateNetworkInterfaceArgsDict] | None = None
    if efa_security_group_ids is not None:
        network_interfaces = [
            {
                "device_index": 0,
                "network_card_index": 0,
                "interface_type": "efa",
                "security_groups": efa_security_group_ids,
                "delete_on_termination": "true",
            }
        ]
    return aws.ec2.LaunchTemplate(
        f"{name}-lt",
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            # 2 hops so pods on the node's network namespace (VPC CNI) can still reach IMDS.
            "http_put_response_hop_limit": 2,
        },
        block_device_mappings=[
            {
                "device_name": device_name,
                "ebs": {
                    "volume_size": root_volume_gib,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "delete_on_termination": "true",
                },
            }
        ],
        placement={"group_name": placement_group.name} if placement_group is not None else None,
        network_interfaces=network_interfaces,
        tag_specifications=[
            {"resource_type": "instance", "tags": tags},
            {"resource_type": "volume", "tags": tags},
        ],
        update_default_version=True,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
