"""GpuNodeGroup: an EKS managed node group of GPU instances.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import re
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from servestack.components._common import (
    ACCELERATOR_LABEL,
    GPU_LABEL,
    GPU_TAINT_KEY,
    POOL_LABEL,
    PRICING_LABEL,
    PRICING_MODES,
    check_choice,
    check_pool_label,
    check_positive,
    check_scaling,
    check_tags,
    node_wait_minutes,
)
from servestack.components.aws._shared import (
    _CA_GPU_LABEL,
    _LABEL_VALUE,
    CLUSTER_AUTOSCALER_TAG_PREFIX,
    GP3_IOPS,
    GP3_THROUGHPUT_MIBPS,
    GPU_AMI_TYPES,
    _launch_template,
    _node_role,
    capacity_type_for,
)

_EKS_NODE_GROUP_DEFAULT_MIN = 60
"""The AWS provider's create/update timeout of an EKS node group, minutes."""


class GpuNodeGroupArgs(TypedDict):
    """Inputs of one EKS managed GPU node group."""

    cluster_name: pulumi.Input[str]
    """EKS cluster the nodes join."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets for the nodes (only the first is used when a replica spans nodes)."""
    instance_type: str
    """EC2 instance type, e.g. g6e.xlarge or p5.48xlarge."""
    spot_instance_types: NotRequired[list[str]]
    """Spot groups only: every instance type the group may launch, instance_type first (capacity
    diversification: EKS picks from the listed types where spot capacity is). The plan priced the group at the
    dearest of them."""
    accelerator: str
    """Canonical accelerator id (H100, L4, ...), recorded as a node label."""
    accelerators_per_node: int
    """GPUs per instance."""
    pricing: str
    """Pricing mode: on_demand, spot, 1y or 3y (commitments run on on-demand capacity)."""
    min_size: int
    """Minimum node count."""
    desired_size: int
    """Initial node count; the cluster autoscaler owns it afterwards."""
    max_size: int
    """Maximum node count."""
    root_volume_gib: int
    """Encrypted gp3 root volume size, GiB: large enough to cache the model weights."""
    root_volume_throughput_mibps: NotRequired[int]
    """gp3 throughput of the root volume, MiB/s (125-1000, default 125): the weights cache is read from it."""
    root_volume_iops: NotRequired[int]
    """gp3 IOPS of the root volume (3000-16000, default 3000); at least throughput / 0.25."""
    node_launch_s: NotRequired[int]
    """Seconds to launch and join one node; the node group's create/update wait is twice that (at least the
    provider's 60 minutes)."""
    efa_interfaces: NotRequired[int]
    """EFA interfaces per node for replicas that span nodes (p5.48xlarge 32, p5en 16, p4d 4; default 1)."""
    tags: dict[str, str]
    """Cost tags: team, environment, cost-center, managed-by."""
    nodes_per_replica: NotRequired[int]
    """Nodes one model replica spans; above 1 adds EFA networking and a cluster placement group."""
    ami_type: NotRequired[str]
    """EKS GPU AMI type; AL2023_x86_64_NVIDIA (default) or BOTTLEROCKET_x86_64_NVIDIA."""
    security_group_ids: NotRequired[pulumi.Input[list[str]]]
    """Security groups of the EFA interfaces (the cluster security group); required when nodes_per_replica > 1."""
    pool: NotRequired[str]
    """Pool name recorded as the `servestack.io/pool` node label, so a fleet's servers each select their own
    pool's nodes (absent: the node group is the cluster's only GPU pool)."""


class GpuNodeGroup(pulumi.ComponentResource):
    """An EKS managed node group of GPU instances, tainted so only GPU workloads land on it."""

    node_group_name: pulumi.Output[str]
    """Name of the EKS node group."""
    node_role_arn: pulumi.Output[str]
    """IAM role of the nodes."""
    launch_template_id: pulumi.Output[str]
    """Launch template of the nodes."""
    autoscaling_group_name: pulumi.Output[str]
    """Auto Scaling group EKS created for the node group (what the Cluster Autoscaler resizes)."""

    def __init__(self, name: str, args: GpuNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:GpuNodeGroup", name, None, opts)
        comp = "GpuNodeGroup"
        tags = check_tags(comp, args.get("tags"))
        pricing = check_choice(comp, "pricing", args.get("pricing"), PRICING_MODES)
        ami_type = check_choice(comp, "ami_type", args.get("ami_type", GPU_AMI_TYPES[0]), GPU_AMI_TYPES)
        lo, want, hi = check_scaling(comp, args.get("min_size"), args.get("desired_size"), args.get("max_size"))
        root_gib = check_positive(comp, "root_volume_gib", args.get("root_volume_gib"), minimum=20)
        gpus = check_positive(comp, "accelerators_per_node", args.get("accelerators_per_node"))
        span = check_positive(comp, "nodes_per_replica", args.get("nodes_per_replica", 1))
        instance_type = args.get("instance_type")
        if not isinstance(instance_type, str) or "." not in instance_type:
            raise ValueError(
                f"{comp}: instance_type={instance_type!r} is not valid; allowed: an EC2 type like g6e.xlarge"
            )
        instance_types = _instance_types(comp, instance_type, pricing, args.get("spot_instance_types"))
        throughput = check_positive(
            comp, "root_volume_throughput_mibps", args.get("root_volume_throughput_mibps", GP3_THROUGHPUT_MIBPS[0])
        )
        iops = check_positive(comp, "root_volume_iops", args.get("root_volume_iops", GP3_IOPS[0]))
        if not GP3_THROUGHPUT_MIBPS[0] <= throughput <= GP3_THROUGHPUT_MIBPS[1]:
            raise ValueError(
                f"{comp}: root_volume_throughput_mibps={throughput} is not valid; allowed: "
                f"{GP3_THROUGHPUT_MIBPS[0]}-{GP3_THROUGHPUT_MIBPS[1]} (gp3)"
            )
        if not GP3_IOPS[0] <= iops <= GP3_IOPS[1]:
            raise ValueError(
                f"{comp}: root_volume_iops={iops} is not valid; allowed: {GP3_IOPS[0]}-{GP3_IOPS[1]} (gp3)"
            )
        if throughput * 4 > iops:
            # gp3 allows at most 0.25 MiB/s per provisioned IOPS.
            raise ValueError(
                f"{comp}: root_volume_throughput_mibps={throughput} needs root_volume_iops >= {throughput * 4} "
                f"(gp3 allows 0.25 MiB/s per IOPS; got {iops})"
            )
        efa = check_positive(comp, "efa_interfaces", args.get("efa_interfaces", 1 if span > 1 else 0), minimum=0)
        if span > 1 and efa == 0:
            raise ValueError(
                f"{comp}: nodes_per_replica={span} needs efa_interfaces >= 1; without EFA, NCCL falls back to TCP"
            )
        if span > 1 and "security_group_ids" not in args:
            raise ValueError(f"{comp}: nodes_per_replica={span} needs security_group_ids for the EFA interfaces")
        accelerator = args.get("accelerator")
        if not isinstance(accelerator, str) or not _LABEL_VALUE.match(accelerator):
            raise ValueError(
                f"{comp}: accelerator={accelerator!r} is not valid; allowed: a canonical id such as L4, H100, A100-80GB"
            )

        launch = args.get("node_launch_s")
        launch_s = None if launch is None else check_positive(comp, "node_launch_s", launch)
        wait = f"{node_wait_minutes(_EKS_NODE_GROUP_DEFAULT_MIN, launch_s)}m"
        node_tags = {**tags, PRICING_LABEL: pricing}
        role = _node_role(self, name, tags)
        placement: aws.ec2.PlacementGroup | None = None
        subnet_ids: pulumi.Input[list[str]] = args["subnet_ids"]
        if span > 1:
            # Tensor/pipeline traffic between the nodes of a replica needs one AZ and a cluster placement group.
            placement = aws.ec2.PlacementGroup(
                f"{name}-pg", strategy="cluster", tags=node_tags, opts=pulumi.ResourceOptions(parent=self)
            )
            subnet_ids = pulumi.Output.from_input(args["subnet_ids"]).apply(lambda ids: [ids[0]])
        lt = _launch_template(
            self,
            name,
            root_volume_gib=root_gib,
            device_name="/dev/xvdb" if ami_type.startswith("BOTTLEROCKET") else "/dev/xvda",
            tags=node_tags,
            throughput_mibps=throughput,
            iops=iops,
            placement_group=placement,
            efa_interfaces=efa if span > 1 else 0,
            efa_security_group_ids=args.get("security_group_ids") if span > 1 else None,
        )
        labels = {
            GPU_LABEL: "true",
            ACCELERATOR_LABEL: accelerator,
            PRICING_LABEL: pricing,
            "servestack.io/gpus-per-node": str(gpus),
            _CA_GPU_LABEL: f"nvidia-{accelerator.lower()}",
        }
        if "pool" in args:
            labels[POOL_LABEL] = check_pool_label(comp, args["pool"])
        group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args["cluster_name"],
            node_role_arn=role.role.arn,
            subnet_ids=subnet_ids,
            # Several types only with SPOT capacity; the launch template names no type, so EKS may launch any.
            instance_types=instance_types,
            capacity_type=capacity_type_for(pricing),
            ami_type=ami_type,
            scaling_config={"min_size": lo, "desired_size": want, "max_size": hi},
            launch_template={"id": lt.id, "version": lt.latest_version.apply(str)},
            labels=labels,
            taints=[{"key": GPU_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}],
            update_config={"max_unavailable": 1},
            tags=node_tags,
            # The cluster autoscaler moves desired_size; a later `pulumi up` must not reset it. Nodes join only
            # with their policies attached, and on destroy the policies stay until the nodes drained.
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["scalingConfig.desiredSize"],
                depends_on=role.attachments,
                custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait),
            ),
        )
        self.node_group_name = group.node_group_name
        self.node_role_arn = role.role.arn
        self.launch_template_id = lt.id
        self.autoscaling_group_name = group.resources.apply(_first_autoscaling_group)
        if lo == 0:
            # With no node to copy from, the autoscaler learns what a new node offers from ASG tags; EKS tags
            # a managed node group's ASG for auto-discovery but copies none of the node group's own tags there.
            for suffix, key, value in scale_from_zero_tags(labels, gpus):
                aws.autoscaling.Tag(
                    f"{name}-{suffix}",
                    autoscaling_group_name=self.autoscaling_group_name,
                    tag={"key": key, "value": value, "propagate_at_launch": False},
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs(
            {
                "node_group_name": self.node_group_name,
                "node_role_arn": self.node_role_arn,
                "launch_template_id": self.launch_template_id,
                "autoscaling_group_name": self.autoscaling_group_name,
            }
        )


def scale_from_zero_tags(labels: dict[str, str], gpus: int) -> list[tuple[str, str, str]]:
    """(resource-name suffix, ASG tag key, value) telling the Cluster Autoscaler what a GPU node from zero offers:
    its GPU count, its labels and the GPU taint (`value:Effect`, the autoscaler's taint tag format)."""
    template = f"{CLUSTER_AUTOSCALER_TAG_PREFIX}/node-template"
    tags = [
        ("ca-gpus", f"{template}/resources/{GPU_TAINT_KEY}", str(gpus)),
        ("ca-taint-gpu", f"{template}/taint/{GPU_TAINT_KEY}", "true:NoSchedule"),
    ]
    for key in sorted(labels):
        suffix = "ca-label-" + re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
        tags.append((suffix, f"{template}/label/{key}", labels[key]))
    return tags


def _instance_types(comp: str, instance_type: str, pricing: str, alternates: Any) -> list[str]:
    if alternates is None:
        return [instance_type]
    if pricing != "spot":
        raise ValueError(f"{comp}: spot_instance_types applies only to pricing spot (got pricing {pricing}); "
                         "on-demand and committed groups launch instance_type only")
    if (
        not isinstance(alternates, list) or not alternates or alternates[0] != instance_type
        or not all(isinstance(t, str) and "." in t for t in alternates) or len(set(alternates)) != len(alternates)
    ):
        raise ValueError(f"{comp}: spot_instance_types={alternates!r} is not valid; allowed: different EC2 types, "
                         f"instance_type ({instance_type}) first")
    return list(alternates)


def _first_autoscaling_group(resources: Sequence[Any] | None) -> str:
    for resource in resources or []:
        for asg in getattr(resource, "autoscaling_groups", None) or []:
            name = getattr(asg, "name", None)
            if name:
                return str(name)
    raise ValueError("GpuNodeGroup: EKS reported no Auto Scaling group for the node group (resources is empty)")
