"""One view of a resource kind over both AWS type families (pulumi-aws and pulumi-aws-native).

The same setting sits at different input paths in the two providers (`vpcConfig.endpointPublicAccess`
on `aws:eks/cluster:Cluster`, `resourcesVpcConfig.endpointPublicAccess` on `aws-native:eks:Cluster`).
A rule reads a setting by its logical name through a `View`, gets the value (or MISSING/UNKNOWN) and the
path as the resource's own provider spells it, for messages; so both families share one rule function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from servestack.costing.resources import MISSING, Resource

__all__ = [
    "Found",
    "View",
    "EKS_CLUSTER",
    "NATIVE_EKS_CLUSTER",
    "EKS_NODE_GROUP",
    "NATIVE_EKS_NODE_GROUP",
    "LAUNCH_TEMPLATE",
    "NATIVE_LAUNCH_TEMPLATE",
    "EC2_INSTANCE",
    "NATIVE_EC2_INSTANCE",
    "ECR_REPOSITORY",
    "NATIVE_ECR_REPOSITORY",
    "ECR_REGISTRY_SCANNING",
    "NATIVE_ECR_REGISTRY_SCANNING",
    "LOAD_BALANCERS",
    "LISTENERS",
    "NATIVE_LISTENER",
    "NATIVE_LOAD_BALANCER",
    "EKS_CLUSTER_VIEW",
    "EKS_NODE_GROUP_VIEW",
    "LAUNCH_TEMPLATE_VIEW",
    "EC2_INSTANCE_VIEW",
    "ECR_REPOSITORY_VIEW",
    "is_true",
]

EKS_CLUSTER = "aws:eks/cluster:Cluster"
NATIVE_EKS_CLUSTER = "aws-native:eks:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NATIVE_EKS_NODE_GROUP = "aws-native:eks:Nodegroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NATIVE_LAUNCH_TEMPLATE = "aws-native:ec2:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"
NATIVE_EC2_INSTANCE = "aws-native:ec2:Instance"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
NATIVE_ECR_REPOSITORY = "aws-native:ecr:Repository"
ECR_REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
NATIVE_ECR_REGISTRY_SCANNING = "aws-native:ecr:RegistryScanningConfiguration"
NATIVE_LOAD_BALANCER = "aws-native:elasticloadbalancingv2:LoadBalancer"
NATIVE_LISTENER = "aws-native:elasticloadbalancingv2:Listener"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", NATIVE_LOAD_BALANCER)
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener", NATIVE_LISTENER)


def is_true(value: object) -> bool:
    """True or "true": pulumi-aws types some booleans (ebs.encrypted, associatePublicIpAddress) as strings."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@dataclass(frozen=True, slots=True)
class Found:
    value: Any
    """The input value, MISSING when absent, UNKNOWN during a preview."""
    path: str
    """Where the value sits in this resource's inputs (`vpcConfig.publicAccessCidrs`)."""


@dataclass(frozen=True, slots=True)
class View:
    """Logical setting name -> input path, per resource type."""

    paths: Mapping[str, Mapping[str, tuple[str | int, ...]]]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self.paths)

    def read(self, r: Resource, setting: str) -> Found:
        """The setting's value and path; MISSING (path "") when the resource's provider has no such setting."""
        path = self.paths[r.type].get(setting)
        if path is None:
            return Found(MISSING, "")
        return Found(r.get(*path), ".".join(str(p) for p in path))


EKS_CLUSTER_VIEW = View({
    EKS_CLUSTER: {
        "public_access": ("vpcConfig", "endpointPublicAccess"),
        "public_cidrs": ("vpcConfig", "publicAccessCidrs"),
        "subnet_ids": ("vpcConfig", "subnetIds"),
        "encryption": ("encryptionConfig",),
    },
    NATIVE_EKS_CLUSTER: {
        "public_access": ("resourcesVpcConfig", "endpointPublicAccess"),
        "public_cidrs": ("resourcesVpcConfig", "publicAccessCidrs"),
        "subnet_ids": ("resourcesVpcConfig", "subnetIds"),
        "encryption": ("encryptionConfig",),
    },
})

EKS_NODE_GROUP_VIEW = View({
    EKS_NODE_GROUP: {
        "remote_access": ("remoteAccess",),
        "ssh_source_groups": ("remoteAccess", "sourceSecurityGroupIds"),
        "launch_template": ("launchTemplate",),
    },
    NATIVE_EKS_NODE_GROUP: {
        "remote_access": ("remoteAccess",),
        "ssh_source_groups": ("remoteAccess", "sourceSecurityGroups"),
        "launch_template": ("launchTemplate",),
    },
})

LAUNCH_TEMPLATE_VIEW = View({
    LAUNCH_TEMPLATE: {
        "http_tokens": ("metadataOptions", "httpTokens"),
        "block_devices": ("blockDeviceMappings",),
        "interfaces": ("networkInterfaces",),
    },
    NATIVE_LAUNCH_TEMPLATE: {
        "http_tokens": ("launchTemplateData", "metadataOptions", "httpTokens"),
        "block_devices": ("launchTemplateData", "blockDeviceMappings"),
        "interfaces": ("launchTemplateData", "networkInterfaces"),
    },
})

EC2_INSTANCE_VIEW = View({
    EC2_INSTANCE: {
        "instance_type": ("instanceType",),
        "launch_template": ("launchTemplate",),
        "public_ip": ("associatePublicIpAddress",),
        "http_tokens": ("metadataOptions", "httpTokens"),
        "root_device": ("rootBlockDevice",),
        "ebs_devices": ("ebsBlockDevices",),
    },
    # CloudFormation's AWS::EC2::Instance: public IPs per network interface, volumes as block device mappings.
    NATIVE_EC2_INSTANCE: {
        "instance_type": ("instanceType",),
        "launch_template": ("launchTemplate",),
        "interfaces": ("networkInterfaces",),
        "http_tokens": ("metadataOptions", "httpTokens"),
        "block_devices": ("blockDeviceMappings",),
    },
})

ECR_REPOSITORY_VIEW = View({
    ECR_REPOSITORY: {
        "tag_mutability": ("imageTagMutability",),
        "scan_on_push": ("imageScanningConfiguration", "scanOnPush"),
        "encryption_type": ("encryptionConfigurations", 0, "encryptionType"),
    },
    NATIVE_ECR_REPOSITORY: {
        "tag_mutability": ("imageTagMutability",),
        "scan_on_push": ("imageScanningConfiguration", "scanOnPush"),
        "encryption_type": ("encryptionConfiguration", "encryptionType"),
    },
})
