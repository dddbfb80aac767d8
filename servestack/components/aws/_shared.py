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


class NodeRole:
    """A node IAM role and the managed-policy attachments nodes need before they can join the cluster."""

    def __init__(self, role: aws.iam.Role, attachments: list[aws.iam.RolePolicyAttachment]) -> None:
        self.role = role
        self.attachments = attachments


def _node_role(parent: pulumi.Resource, name: str, tags: dict[str, str]) -> NodeRole:
    role = aws.iam.Role(
        f"{name}-node-role",
        assume_role_policy=_assume_role_policy("ec2.amazonaws.com"),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = []
    for policy_arn in _NODE_POLICIES:
        short = policy_arn.rsplit("/", 1)[-1].lower().replace("_", "-")
        attachments.append(
            aws.iam.RolePolicyAttachment(
                f"{name}-{short}",
                role=role.name,
                policy_arn=policy_arn,
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return NodeRole(role, attachments)


GP3_THROUGHPUT_MIBPS = (125, 1000)
"""gp3 throughput bounds, MiB/s (125 is the free baseline)."""
GP3_IOPS = (3000, 16000)
"""gp3 IOPS bounds (3000 is the free baseline)."""


def efa_network_interfaces(
    count: int, security_group_ids: pulumi.Input[list[str]]
) -> list[aws.ec2.LaunchTemplateNetworkInterfaceArgsDict]:
    """One EFA interface per network card, as AWS documents for multi-card instances (p4d 4, p5en 16, p5 32):
    the first is the primary interface (device index 0 on card 0), every other one sits at device index 1 of
    its own card."""
    return [
        {
            "device_index": 0 if card == 0 else 1,
            "network_card_index": card,
            "interface_type": "efa",
            "security_groups": security_group_ids,
            "delete_on_termination": "true",
        }
        for card in range(count)
    ]


def _launch_template(
    parent: pulumi.Resource,
    name: str,
    *,
    root_volume_gib: int,
    device_name: str,
    tags: dict[str, str],
    throughput_mibps: int = GP3_THROUGHPUT_MIBPS[0],
    iops: int = GP3_IOPS[0],
    placement_group: aws.ec2.PlacementGroup | None = None,
    efa_interfaces: int = 0,
    efa_security_group_ids: pulumi.Input[list[str]] | None = None,
) -> aws.ec2.LaunchTemplate:
    """IMDSv2-only launch template with an encrypted gp3 root volume at the given throughput/IOPS (and EFA
    interfaces + placement when asked). Node groups always go through one, so these settings always apply."""
    network_interfaces = (
        efa_network_interfaces(efa_interfaces, efa_security_group_ids)
        if efa_interfaces > 0 and efa_security_group_ids is not None
        else None
    )
    return aws.ec2.LaunchTemplate(
        f"{name}-lt",
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            # One hop: pods get AWS credentials only through EKS Pod Identity (its agent and the VPC CNI run on
            # the host network), so no pod can borrow the node role through IMDS.
            "http_put_response_hop_limit": 1,
        },
        block_device_mappings=[
            {
                "device_name": device_name,
                "ebs": {
                    "volume_size": root_volume_gib,
                    "volume_type": "gp3",
                    # The weights cache lives here: at the 125 MiB/s baseline a 131 GiB checkpoint takes ~18 min.
                    "throughput": throughput_mibps,
                    "iops": iops,
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
