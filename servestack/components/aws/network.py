"""The VPC of an EKS cluster: public subnets with NAT gateways, private subnets for nodes and pods, and a
control-plane-only subnet in a second zone when the nodes use one zone (EKS needs subnets in two zones).

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import re
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

VPC_CIDR = "10.0.0.0/16"
EKS_MIN_CONTROL_PLANE_ZONES = 2
"""EKS refuses a cluster whose subnets lie in fewer than two availability zones."""


class EksNetwork:
    """What the cluster and its node groups use from the VPC."""

    def __init__(
        self, vpc: aws.ec2.Vpc, node_subnets: list[aws.ec2.Subnet], control_plane_subnets: list[aws.ec2.Subnet]
    ) -> None:
        self.vpc = vpc
        self.node_subnets = node_subnets
        """Private subnets of the node zones (one per zone, NAT egress)."""
        self.control_plane_subnets = control_plane_subnets
        """Subnets the EKS control plane places its interfaces in: the node subnets, plus one more zone if needed."""


def create_network(
    parent: pulumi.Resource,
    name: str,
    *,
    region: pulumi.Input[str],
    zone_count: int,
    zone_names: list[str] | None,
    tags: dict[str, str],
) -> EksNetwork:
    """A VPC with a public and a private subnet per node zone, and a spare control-plane subnet when the nodes
    use a single zone. Zones are `zone_names` (where the plan found the instance type offered); without them,
    the zones the region reports as available."""
    child = pulumi.ResourceOptions(parent=parent)
    available = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=parent))
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=VPC_CIDR,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={**tags, "Name": f"{name}-vpc"},
        opts=child,
    )
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
    public_rt = aws.ec2.RouteTable(
        f"{name}-public-rt",
        vpc_id=vpc.id,
        routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
        tags=tags,
        opts=child,
    )
    node_subnets: list[aws.ec2.Subnet] = []
    for i in range(zone_count):
        az: pulumi.Input[str] = (
            zone_names[i] if zone_names is not None else pulumi.Output.all(available.names, region).apply(_nth_zone(i))
        )
        az_name, az_id = _zone(az)
        public = aws.ec2.Subnet(
            f"{name}-public-{i}",
            vpc_id=vpc.id,
            cidr_block=f"10.0.{192 + i}.0/24",
            availability_zone=az_name,
            availability_zone_id=az_id,
            map_public_ip_on_launch=False,
            tags={**tags, "kubernetes.io/role/elb": "1", "Name": f"{name}-public-{i}"},
            opts=child,
        )
        public_rta = aws.ec2.RouteTableAssociation(
            f"{name}-public-{i}-rta", subnet_id=public.id, route_table_id=public_rt.id, opts=child
        )
        eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", tags=tags, opts=child)
        # A NAT gateway in a subnet without a route to the internet gateway comes up but forwards nothing;
        # AWS documents the gateway dependency, and the route makes the gateway useful.
        nat = aws.ec2.NatGateway(
            f"{name}-nat-{i}",
            allocation_id=eip.id,
            subnet_id=public.id,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[igw, public_rt, public_rta]),
        )
        # /19 per zone: the VPC CNI gives every pod a VPC address.
        private = aws.ec2.Subnet(
            f"{name}-private-{i}",
            vpc_id=vpc.id,
            cidr_block=f"10.0.{32 * i}.0/19",
            availability_zone=az_name,
            availability_zone_id=az_id,
            map_public_ip_on_launch=False,
            tags={**tags, "kubernetes.io/role/internal-elb": "1", "Name": f"{name}-private-{i}"},
            opts=child,
        )
        private_rt = aws.ec2.RouteTable(
            f"{name}-private-{i}-rt",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
            tags=tags,
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-private-{i}-rta", subnet_id=private.id, route_table_id=private_rt.id, opts=child
        )
        node_subnets.append(private)

    control_plane = list(node_subnets)
    for j in range(zone_count, EKS_MIN_CONTROL_PLANE_ZONES):
        # Only the control plane's network interfaces live here (no nodes, no egress), in a zone the nodes
        # do not use.
        extra_name: pulumi.Output[str] | None = None
        extra_id: pulumi.Output[str] | None = None
        if zone_names is not None and all(_ZONE_ID.match(z) for z in zone_names):
            # The plan names zones by ID (the same physical zone in every account); pick another ID.
            prefix = pulumi.Output.from_input(region).apply(_zone_id_prefix)
            extra_id = pulumi.Output.all(available.zone_ids, prefix, zone_names).apply(_other_zone)
        else:
            used = pulumi.Output.all(*[s.availability_zone for s in node_subnets])
            extra_name = pulumi.Output.all(available.names, region, used).apply(_other_zone)
        control_plane.append(
            aws.ec2.Subnet(
                f"{name}-control-plane-{j}",
                vpc_id=vpc.id,
                cidr_block=f"10.0.{200 + j}.0/24",
                availability_zone=extra_name,
                availability_zone_id=extra_id,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-control-plane-{j}"},
                opts=child,
            )
        )
    return EksNetwork(vpc, node_subnets, control_plane)


_ZONE_ID = re.compile(r"^[a-z]{2,5}[0-9]-(?:[a-z]{3}[0-9]-)?az[0-9]+$")
"""An AWS zone ID such as use1-az1 (the catalog's and the plan's way to name zones: zone names such as
us-east-1a map to different physical zones in different accounts, IDs do not)."""


def _zone(zone: pulumi.Input[str]) -> tuple[pulumi.Input[str] | None, pulumi.Input[str] | None]:
    """(availability_zone, availability_zone_id) of a Subnet in `zone`: a zone ID goes in the second."""
    if isinstance(zone, str) and _ZONE_ID.match(zone):
        return None, zone
    return zone, None


def _zone_id_prefix(region: str) -> str:
    # us-east-1 -> use1: how AWS spells zone IDs; used only when the engine cannot list the region's zone IDs.
    parts = region.split("-")
    return "".join(p[0] for p in parts[:-1]) + parts[-1] if len(parts) >= 3 else region


def _nth_zone(i: int) -> Callable[[list[Any]], str]:
    def pick(values: list[Any]) -> str:
        names, region = values
        # An engine without the zone lookup (offline preview) still gets the region's conventional names.
        return sorted(names)[i] if names else f"{region}{'abcdef'[i]}"

    return pick


def _other_zone(values: list[Any]) -> str:
    """The first zone (name, or ID with the region's ID prefix) of the region that no node subnet uses."""
    names, region, used = values
    if names:
        candidates = sorted(names)
    elif region.endswith(tuple("0123456789")) and "-" not in region:  # a zone-ID prefix such as use1
        candidates = [f"{region}-az{n}" for n in range(1, 7)]
    else:
        candidates = [f"{region}{c}" for c in "abcdef"]
    for zone in candidates:
        if zone not in used:
            return str(zone)
    raise ValueError(f"EksCluster: region {region} reported no second availability zone; EKS needs two")
