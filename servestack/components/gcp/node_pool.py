"""GpuNodePool: a GKE node pool of GPU machines.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from servestack.catalog.gke import gke_accelerator_type as _gke_accelerator_type
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
from servestack.costing.shape import EXPECTED_NODES_LABEL


def gke_accelerator_type(accelerator: str, machine_type: str) -> str:
    """The GKE accelerator type of a canonical id on a machine type (servestack.catalog.gke holds the table)."""
    try:
        return _gke_accelerator_type(accelerator, machine_type)
    except ValueError as exc:
        raise ValueError(f"GpuNodePool: {exc}") from None


PD_BALANCED_BASELINE_MIBPS = 140
"""Read throughput of a pd-balanced disk regardless of size (and hyperdisk-balanced's free baseline), MiB/s."""
# Machine series whose boot disk can be hyperdisk-balanced (Compute Engine "Machine series support" of Hyperdisk
# Balanced: the A3 and A4 accelerator series); G2, A2 and N1+GPU take persistent disks only. A3 Ultra and A4
# boot from hyperdisk only.
_HYPERDISK_SERIES = ("a3-", "a4-", "a4x-")
_HYPERDISK_ONLY_SERIES = ("a3-ultragpu", "a4-", "a4x-")


def boot_disk_type(machine_type: str, throughput_mibps: int) -> str:
    """The boot disk type that reads the weights cache at `throughput_mibps`: pd-balanced at its baseline or
    below, otherwise hyperdisk-balanced where the machine supports it and pd-ssd elsewhere."""
    if machine_type.startswith(_HYPERDISK_ONLY_SERIES):
        return "hyperdisk-balanced"
    if throughput_mibps <= PD_BALANCED_BASELINE_MIBPS:
        return "pd-balanced"
    return "hyperdisk-balanced" if machine_type.startswith(_HYPERDISK_SERIES) else "pd-ssd"


_GKE_NODE_POOL_DEFAULT_MIN = 30
"""The Google provider's create/update timeout of a GKE node pool, minutes."""


class GpuNodePoolArgs(TypedDict):
    """Inputs of one GKE GPU node pool. Node counts are totals across the pool's zones."""

    cluster: pulumi.Input[str]
    """Cluster id (or name) the pool belongs to."""
    project: pulumi.Input[str]
    """GCP project id."""
    location: pulumi.Input[str]
    """Cluster location (region)."""
    node_locations: pulumi.Input[list[str]]
    """Zones of the pool (only the first is used when a replica spans nodes)."""
    zone_count: int
    """Number of zones in node_locations (turns the desired total into a per-zone initial count)."""
    machine_type: str
    """Machine type, e.g. g2-standard-8 or a3-highgpu-8g."""
    accelerator: str
    """Canonical accelerator id (L4, H100, ...)."""
    accelerators_per_node: int
    """GPUs attached to each node."""
    pricing: str
    """Pricing mode: on_demand, spot, 1y or 3y (committed use discounts are billing, not capacity)."""
    min_size: int
    """Minimum total node count."""
    desired_size: int
    """Desired total node count at creation."""
    max_size: int
    """Maximum total node count."""
    disk_size_gb: int
    """Boot disk size, GB: large enough to cache the model weights."""
    service_account: pulumi.Input[str]
    """Service account email of the nodes."""
    tags: dict[str, str]
    """Cost labels: team, environment, cost-center, managed-by."""
    nodes_per_replica: NotRequired[int]
    """Nodes one model replica spans; above 1 pins the pool to one zone with compact placement."""
    root_volume_throughput_mibps: NotRequired[int]
    """Boot-disk read throughput the weights cache needs, MiB/s; above pd-balanced's 140 MiB/s baseline the
    disk becomes hyperdisk-balanced (provisioned to it) where the machine supports it, else pd-ssd."""
    root_volume_iops: NotRequired[int]
    """Provisioned IOPS of a hyperdisk-balanced boot disk (default 3000)."""
    node_launch_s: NotRequired[int]
    """Seconds to launch and join one node; the pool's create/update wait is twice that (at least the
    provider's 30 minutes)."""
    pool: NotRequired[str]
    """Pool name recorded as the `servestack.io/pool` node label, so a fleet's servers each select their own
    pool's nodes (absent: the node pool is the cluster's only GPU pool)."""


class GpuNodePool(pulumi.ComponentResource):
    """A GKE node pool of GPU machines with managed drivers, shielded nodes and workload identity."""

    node_pool_name: pulumi.Output[str]
    """Name of the node pool."""

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:GpuNodePool", name, None, opts)
        comp = "GpuNodePool"
        tags = check_tags(comp, args.get("tags"))
        pricing = check_choice(comp, "pricing", args.get("pricing"), PRICING_MODES)
        lo, want, hi = check_scaling(comp, args.get("min_size"), args.get("desired_size"), args.get("max_size"))
        disk = check_positive(comp, "disk_size_gb", args.get("disk_size_gb"), minimum=20)
        gpus = check_positive(comp, "accelerators_per_node", args.get("accelerators_per_node"))
        zone_count = check_positive(comp, "zone_count", args.get("zone_count"))
        span = check_positive(comp, "nodes_per_replica", args.get("nodes_per_replica", 1))
        machine_type = args.get("machine_type")
        if not isinstance(machine_type, str) or "-" not in machine_type:
            raise ValueError(f"{comp}: machine_type={machine_type!r} is not valid; allowed: a type like g2-standard-8")
        accelerator_type = gke_accelerator_type(str(args.get("accelerator")), machine_type)

        locations: pulumi.Input[list[str]] = args["node_locations"]
        if span > 1:
            # The nodes of a replica exchange activations every step: one zone, compact placement.
            locations = pulumi.Output.from_input(args["node_locations"]).apply(lambda z: z[:1])
            zone_count = 1
        throughput = check_positive(comp, "root_volume_throughput_mibps", args.get("root_volume_throughput_mibps", 140))
        iops = check_positive(comp, "root_volume_iops", args.get("root_volume_iops", 3000))
        disk_type = boot_disk_type(machine_type, throughput)
        launch = args.get("node_launch_s")
        launch_s = None if launch is None else check_positive(comp, "node_launch_s", launch)
        wait = f"{node_wait_minutes(_GKE_NODE_POOL_DEFAULT_MIN, launch_s)}m"
        labels = {
            GPU_LABEL: "true",
            ACCELERATOR_LABEL: args["accelerator"],
            PRICING_LABEL: pricing,
            "servestack.io/gpus-per-node": str(gpus),
        }
        if "pool" in args:
            labels[POOL_LABEL] = check_pool_label(comp, args["pool"])
        fixed = lo == hi
        if fixed and lo % zone_count:
            raise ValueError(
                f"{comp}: min_size={lo} is not valid for a fixed pool over {zone_count} zones; allowed: a multiple "
                f"of {zone_count} (GKE sizes fixed pools per zone)"
            )
        pool = gcp.container.NodePool(
            f"{name}-pool",
            cluster=args["cluster"],
            location=args["location"],
            project=args["project"],
            node_locations=locations,
            # A fixed (base) pool: GKE's node_count is per zone. A burst pool: the autoscaler's total bounds,
            # starting empty; it adds nodes in whichever zone has capacity when pods are pending.
            node_count=lo // zone_count if fixed else None,
            initial_node_count=None if fixed else 0,
            autoscaling=(
                None if fixed else {"total_min_node_count": lo, "total_max_node_count": hi, "location_policy": "ANY"}
            ),
            management={"auto_repair": True, "auto_upgrade": True},
            placement_policy={"type": "COMPACT"} if span > 1 else None,
            node_config={
                "machine_type": machine_type,
                "guest_accelerators": [
                    {
                        "type": accelerator_type,
                        "count": gpus,
                        "gpu_driver_installation_config": {"gpu_driver_version": "LATEST"},
                    }
                ],
                "spot": pricing == "spot",
                "disk_size_gb": disk,
                "disk_type": disk_type,
                # Only hyperdisk takes provisioned performance; persistent disks scale with size.
                "boot_disk": (
                    {
                        "disk_type": disk_type,
                        "size_gb": disk,
                        "provisioned_throughput": throughput,
                        "provisioned_iops": iops,
                    }
                    if disk_type == "hyperdisk-balanced"
                    else None
                ),
                "service_account": args["service_account"],
                "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "labels": labels,
                "taints": [{"key": GPU_TAINT_KEY, "value": "present", "effect": "NO_SCHEDULE"}],
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "resource_labels": {
                    **tags, PRICING_LABEL: pricing,
                    # A burst pool has no desired size (total autoscaling limits); the plan's expected node
                    # count rides along so the expected cost is what the plan priced.
                    **({} if fixed else {EXPECTED_NODES_LABEL: str(want)}),
                },
            },
            # The cluster autoscaler owns the live node count of a burst pool.
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=[] if fixed else ["initialNodeCount"],
                custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait),
            ),
        )
        self.node_pool_name = pool.name
        self.register_outputs({"node_pool_name": self.node_pool_name})
