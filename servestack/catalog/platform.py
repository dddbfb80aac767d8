"""Fixed costs of a serving environment besides its GPU node-hours.

The selector adds these to every candidate and `servestack.costing` prices the same items from a resource
graph, both from `data/platform.json`, so a plan's `monthly_usd_ceiling` equals the costed ceiling of the
stack it writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from servestack.errors import CatalogError

__all__ = [
    "HOURS_PER_MONTH", "PlatformPrices", "platform_prices", "platform_monthly_usd", "volume_monthly_usd",
    "GP3_BASELINE_MIBPS", "GP3_BASELINE_IOPS",
]

HOURS_PER_MONTH = 730.0
"""Billing month used everywhere (AWS and GCP both quote 730 h)."""


@dataclass(frozen=True, slots=True)
class PlatformPrices:
    """List prices of one cloud's non-GPU building blocks (USD)."""

    cloud: str
    control_plane_per_hour: float
    nat_gateway_per_hour: float
    """Per NAT gateway on AWS; per VM on GCP (Cloud NAT), capped at `nat_max_per_hour`."""
    nat_per_zone: bool
    nat_max_per_hour: float | None
    load_balancer_per_hour: float
    system_node_instance_type: str
    system_node_count: int
    system_node_per_hour: float
    system_node_root_volume_gib: int
    volume_per_gib_month: float
    public_ipv4_per_hour: float
    """Per public address held (AWS: the Elastic IP of each NAT gateway)."""
    volume_throughput_per_mibps_month: float
    """AWS gp3: per MiB/s provisioned above the free 125 MiB/s baseline (0 on GCP, whose disks are not tuned)."""
    volume_iops_per_month: float
    """AWS gp3: per IOPS provisioned above the free 3,000."""
    sources: tuple[str, ...]
    as_of: str

    def nat_monthly_usd(self, zones: int, vms: int) -> float:
        """NAT gateway hours, and on AWS the public IPv4 address each gateway holds."""
        if self.nat_per_zone:
            return zones * (self.nat_gateway_per_hour + self.public_ipv4_per_hour) * HOURS_PER_MONTH
        hourly = vms * self.nat_gateway_per_hour
        if self.nat_max_per_hour is not None:
            hourly = min(hourly, self.nat_max_per_hour)
        return hourly * HOURS_PER_MONTH


@cache
def platform_prices(cloud: str) -> PlatformPrices:
    """The bundled platform prices of `cloud` ("aws" or "gcp")."""
    raw = json.loads(resources.files("servestack.catalog").joinpath("data/platform.json").read_text("utf-8"))
    if raw.get("schema_version") != 1:
        raise CatalogError(f"platform.json: schema_version {raw.get('schema_version')!r} is not supported; expected 1")
    try:
        c = raw[cloud]
        return PlatformPrices(
            cloud=cloud,
            control_plane_per_hour=float(c["control_plane_per_hour"]["usd"]),
            nat_gateway_per_hour=float(c["nat_gateway_per_hour"]["usd"]),
            nat_per_zone=bool(c["nat_per_zone"]),
            nat_max_per_hour=c["nat_gateway_per_hour"].get("max_usd"),
            load_balancer_per_hour=float(c["load_balancer_per_hour"]["usd"]),
            system_node_instance_type=str(c["system_node"]["instance_type"]),
            system_node_count=int(c["system_node"]["count"]),
            system_node_per_hour=float(c["system_node"]["usd_per_hour"]),
            system_node_root_volume_gib=int(c["system_node"]["root_volume_gib"]),
            volume_per_gib_month=float(c["volume_per_gib_month"]["usd"]),
            public_ipv4_per_hour=float(c["public_ipv4_per_hour"]["usd"]),
            volume_throughput_per_mibps_month=float(c["volume_throughput_per_mibps_month"]["usd"]),
            volume_iops_per_month=float(c["volume_iops_per_month"]["usd"]),
            sources=tuple(
                str(c[k]["source"])
                for k in ("control_plane_per_hour", "nat_gateway_per_hour", "load_balancer_per_hour", "system_node",
                          "volume_per_gib_month", "public_ipv4_per_hour", "volume_throughput_per_mibps_month",
                          "volume_iops_per_month")
            ),
            as_of=str(raw["as_of"]),
        )
    except KeyError as exc:
        raise CatalogError(f"platform.json: {cloud}: missing field {exc}") from None


GP3_BASELINE_MIBPS = 125
GP3_BASELINE_IOPS = 3000


def volume_monthly_usd(cloud: str, gib: float, throughput_mibps: float = 0, iops: float = 0) -> float:
    """One node volume per month: storage, and on AWS gp3 the throughput and IOPS above the free baseline."""
    p = platform_prices(cloud)
    extra_throughput = max(0.0, throughput_mibps - GP3_BASELINE_MIBPS) * p.volume_throughput_per_mibps_month
    extra_iops = max(0.0, iops - GP3_BASELINE_IOPS) * p.volume_iops_per_month
    return gib * p.volume_per_gib_month + extra_throughput + extra_iops


def platform_monthly_usd(
    cloud: str, zones: int, gpu_nodes: int, root_volume_gib: int, throughput_mibps: int = 0, iops: int = 0
) -> float:
    """Monthly USD of everything but GPU node-hours for an environment running `gpu_nodes` GPU nodes.

    Counts: one cluster control plane, NAT (one gateway per zone on AWS; per VM on GCP), the system node
    group with its volumes, one load balancer, and each GPU node's root volume. Usage-priced items (data
    processing, registry storage, egress) are not included: costing reports them as unknown.
    """
    p = platform_prices(cloud)
    vms = gpu_nodes + p.system_node_count
    volumes = (gpu_nodes * volume_monthly_usd(cloud, root_volume_gib, throughput_mibps, iops)
               + p.system_node_count * p.system_node_root_volume_gib * p.volume_per_gib_month)
    hourly = p.control_plane_per_hour + p.load_balancer_per_hour + p.system_node_count * p.system_node_per_hour
    return hourly * HOURS_PER_MONTH + p.nat_monthly_usd(zones, vms) + volumes
