"""ClusterAutoscaler: the Kubernetes Cluster Autoscaler for EKS managed node groups (GKE scales pools itself).

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from servestack.components._common import (
    check_tags,
)
from servestack.components.aws._shared import (
    _CA_CHART_REPO,
    _CA_NAMESPACE,
    _CA_SERVICE_ACCOUNT,
    _DURATION,
    _SYSTEM_POOL,
    CLUSTER_AUTOSCALER_TAG_PREFIX,
    _assume_role_policy,
)
from servestack.versions import DEFAULT_KUBERNETES_VERSION, addon_versions


class ClusterAutoscalerArgs(TypedDict):
    """Inputs of the Kubernetes Cluster Autoscaler for an EKS cluster's managed node groups."""

    cluster_name: pulumi.Input[str]
    """EKS cluster whose managed node groups the autoscaler discovers (by the tags EKS puts on their ASGs)."""
    region: pulumi.Input[str]
    """AWS region of the cluster, e.g. us-east-1."""
    tags: dict[str, str]
    """Cost tags: team, environment, cost-center, managed-by."""
    kubernetes_version: NotRequired[str]
    """Kubernetes minor version of the cluster (the autoscaler's must match); a version of servestack/versions.py."""
    install_pod_identity_agent: NotRequired[bool]
    """Install the eks-pod-identity-agent add-on (default true); false when the cluster already runs it."""
    scale_down_delay: NotRequired[str]
    """How long a node must stay unneeded, and how long after a scale-up, before it is removed (default 10m)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the cluster; the Kubernetes provider passed in opts (or the ambient one) when absent."""


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Kubernetes Cluster Autoscaler on the system node group, with an EKS Pod Identity role that may only
    describe scaling groups and resize or shrink the ones EKS tagged as owned by this cluster."""

    role_arn: pulumi.Output[str]
    """IAM role the autoscaler's service account assumes."""
    service_account: pulumi.Output[str]
    """Namespace/name of the autoscaler's Kubernetes service account."""
    release_name: pulumi.Output[str]
    """Name of the Helm release."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ClusterAutoscaler", name, None, opts)
        comp = "ClusterAutoscaler"
        tags = check_tags(comp, args.get("tags"))
        requested = args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION)
        try:
            # One compatibility table for every add-on; the autoscaler's minor always equals the cluster's.
            pin = addon_versions(str(requested)).cluster_autoscaler
        except ValueError as exc:
            raise ValueError(f"{comp}: {exc}") from None
        delay = args.get("scale_down_delay", "10m")
        if not isinstance(delay, str) or not _DURATION.match(delay):
            raise ValueError(f"{comp}: scale_down_delay={delay!r} is not valid; allowed: a duration like 90s, 10m, 1h")
        chart_version, image_tag = pin.version, pin.app_version
        # Children wait for what the component waits for (the cluster and its system nodes).
        depends_on = opts.depends_on if opts is not None and opts.depends_on is not None else None
        aws_child = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        kube_child = aws_child
        if "kubeconfig" in args:
            provider = k8s.Provider(
                f"{name}-k8s", kubeconfig=args["kubeconfig"], opts=pulumi.ResourceOptions(parent=self)
            )
            kube_child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on)

        cluster_name = pulumi.Output.from_input(args["cluster_name"])
        region = pulumi.Output.from_input(args["region"])
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=_assume_role_policy("pods.eks.amazonaws.com"),
            description="Cluster Autoscaler (EKS Pod Identity)",
            tags=tags,
            opts=aws_child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(partition, region, cluster_name).apply(
                lambda v: json.dumps(cluster_autoscaler_policy(str(v[0]), str(v[1]), str(v[2])))
            ),
            opts=aws_child,
        )
        ready: list[pulumi.Resource] = []
        if args.get("install_pod_identity_agent", True):
            ready.append(
                aws.eks.Addon(
                    f"{name}-pod-identity-agent",
                    cluster_name=cluster_name,
                    addon_name="eks-pod-identity-agent",
                    tags=tags,
                    opts=aws_child,
                )
            )
        ready.append(
            aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=cluster_name,
                namespace=_CA_NAMESPACE,
                service_account=_CA_SERVICE_ACCOUNT,
                role_arn=role.arn,
                tags=tags,
                opts=aws_child,
            )
        )
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="cluster-autoscaler",
            chart="cluster-autoscaler",
            version=chart_version,
            repository_opts={"repo": pin.repository or _CA_CHART_REPO},
            namespace=_CA_NAMESPACE,
            values={
                "cloudProvider": "aws",
                "awsRegion": region,
                "autoDiscovery": {"clusterName": cluster_name},
                "fullnameOverride": "cluster-autoscaler",
                "image": {"tag": image_tag},
                "rbac": {"serviceAccount": {"create": True, "name": _CA_SERVICE_ACCOUNT}},
                "nodeSelector": dict(_SYSTEM_POOL),
                "extraArgs": {
                    # Strings, not YAML booleans: the chart renders each entry as --key=value.
                    "balance-similar-node-groups": "true",
                    # kube-system DaemonSets (device plugin, pod identity agent) must not pin GPU nodes.
                    "skip-nodes-with-system-pods": "false",
                    # Fewest idle GPUs/CPU after the scale-up when more than one group fits a pod.
                    "expander": "least-waste",
                    "scale-down-delay-after-add": delay,
                    "scale-down-unneeded-time": delay,
                },
            },
            # The pod must start with the Pod Identity credentials the agent hands out for its service account.
            opts=pulumi.ResourceOptions.merge(kube_child, pulumi.ResourceOptions(depends_on=ready)),
        )
        self.role_arn = role.arn
        self.service_account = pulumi.Output.from_input(f"{_CA_NAMESPACE}/{_CA_SERVICE_ACCOUNT}")
        self.release_name = release.name.apply(lambda n: n or "cluster-autoscaler")
        self.register_outputs(
            {"role_arn": self.role_arn, "service_account": self.service_account, "release_name": self.release_name}
        )


def cluster_autoscaler_policy(partition: str, region: str, cluster_name: str) -> dict[str, Any]:
    """The autoscaler's IAM policy: read-only discovery, and resizing only ASGs EKS tagged for this cluster.

    Actions follow the AWS provider README of kubernetes/autoscaler (cluster-autoscaler/cloudprovider/aws),
    minus `ec2:GetInstanceTypesFromInstanceRequirements`, which only attribute-based mixed-instance groups need.
    The autoscaling and EC2 Describe calls support no resource-level scoping, so they name `*`.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DiscoverScalingGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                ],
                "Resource": "*",
            },
            {
                "Sid": "DescribeOwnNodegroups",
                "Effect": "Allow",
                "Action": ["eks:DescribeNodegroup"],
                "Resource": f"arn:{partition}:eks:{region}:*:nodegroup/{cluster_name}/*",
            },
            {
                "Sid": "ResizeOwnedGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/{CLUSTER_AUTOSCALER_TAG_PREFIX}/{cluster_name}": "owned",
                        f"aws:ResourceTag/{CLUSTER_AUTOSCALER_TAG_PREFIX}/enabled": "true",
                    }
                },
            },
        ],
    }
