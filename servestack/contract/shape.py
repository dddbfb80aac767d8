"""How replicas, nodes and zones relate, and the values derived from a node shape: the one place they are computed.

Every function here is pure and Pulumi-free. The selector sizes candidates with `size_counts`; the
`Deployment` model (servestack.contract.model) re-checks the same invariants with `counts_problem` when a stack
file is read, so a hand edit that breaks them is caught with the same rule that produced them.

Rules (each one a deploy failure seen in practice when it was broken):
- Single-node replicas share a node when tensor parallelism leaves GPUs over: `replicas_per_node` =
  accelerators per node // tensor parallel. Multi-node replicas use whole nodes (`replicas_per_node` = 1).
- The always-on floor spreads over the zones: at least one node per zone. The floor then fills every slot of
  the nodes it pays for (`replicas_min = nodes_min x replicas_per_node`): an idle GPU on an always-on node is
  cost without capacity, and the autoscaler's minimum must match what the nodes hold.
- Multi-node replicas keep each replica inside one zone (an EFA/GPUDirect fabric and a cluster placement group
  do not cross zones), so the floor is a whole number of replicas per zone.
- GKE node pool sizes are per zone: on GCP the always-on node count is a multiple of the zone count.
- nodes_x == ceil(replicas_x / replicas_per_node) x nodes_per_replica for min, avg and peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "Counts",
    "replicas_per_node",
    "nodes_for",
    "size_counts",
    "counts_problem",
    "cache_gib",
    "root_volume_gib",
    "volume_throughput_mibps",
    "volume_iops",
    "node_launch_s",
    "startup_budget_s",
    "pod_cpu_millicores",
    "pod_memory_gib",
    "efa_interfaces",
    "IMAGE_PULL_S",
    "DOWNLOAD_MB_PER_S",
    "ENGINE_WARMUP_S",
]

IMAGE_PULL_S = 300
"""Pulling and unpacking the vLLM image (~10 GB compressed) on a fresh node, s."""
DOWNLOAD_MB_PER_S = 200.0
"""Sustained Hugging Face download per node, MB/s (hub CDN through NAT; measured 150-400 MB/s)."""
ENGINE_WARMUP_S = 180
"""Engine start after the weights are read: CUDA graph capture, torch.compile, KV cache profiling, s."""
_OS_AND_IMAGES_GIB = 80.0
"""Root volume space for the OS, kubelet and container images (the vLLM image alone is ~20 GiB unpacked)."""
_READ_TARGET_S = 240.0
"""The checkpoint should read from the node's volume in about four minutes."""

# EFA interfaces a node of this type supports (AWS instance type specifications, "Network interfaces and
# EFA"; as of 2026-11). Used only when a replica spans nodes.
_EFA_INTERFACES = {"p4d.24xlarge": 4, "p4de.24xlarge": 4, "p5.48xlarge": 32, "p5e.48xlarge": 32, "p5en.48xlarge": 16}


@dataclass(frozen=True, slots=True)
class Counts:
    """Replicas and GPU nodes at the floor, at average traffic and at peak."""

    replicas_min: int
    replicas_avg: int
    replicas_peak: int
    nodes_min: int
    nodes_avg: int
    nodes_peak: int


def replicas_per_node(accelerators_per_node: int, tensor_parallel: int, nodes_per_replica: int) -> int:
    """Replicas sharing one node: GPUs per node // tensor parallel for single-node replicas, else 1."""
    if nodes_per_replica > 1:
        return 1
    return max(1, accelerators_per_node // tensor_parallel)


def nodes_for(replicas: int, per_node: int, nodes_per_replica: int) -> int:
    """GPU nodes that hold `replicas`."""
    if nodes_per_replica > 1:
        return replicas * nodes_per_replica
    return math.ceil(replicas / per_node)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def size_counts(
    *,
    cloud: str,
    floor: int,
    zones: int,
    per_node: int,
    nodes_per_replica: int,
    needed_avg: int,
    needed_peak: int,
) -> Counts:
    """Counts that satisfy every rule of the module doc for a floor of `floor` replicas over `zones` zones and
    `needed_avg` / `needed_peak` replicas at average / peak traffic."""
    if nodes_per_replica > 1:
        replicas_min = _round_up(max(floor, zones), zones)
        nodes_min = replicas_min * nodes_per_replica
    else:
        nodes_min = max(nodes_for(floor, per_node, 1), zones)
        if cloud == "gcp":
            nodes_min = _round_up(nodes_min, zones)
        replicas_min = nodes_min * per_node
    replicas_avg = max(needed_avg, replicas_min)
    replicas_peak = max(needed_peak, replicas_avg)
    return Counts(
        replicas_min, replicas_avg, replicas_peak, nodes_min,
        nodes_for(replicas_avg, per_node, nodes_per_replica), nodes_for(replicas_peak, per_node, nodes_per_replica),
    )


def counts_problem(cloud: str, zones: int, per_node: int, nodes_per_replica: int, c: Counts) -> str | None:
    """Which rule of the module doc `c` breaks (a sentence naming stack-config keys), or None."""
    if not c.replicas_min <= c.replicas_avg <= c.replicas_peak:
        return (f"replicasMin <= replicasAvg <= replicasPeak must hold "
                f"(got {c.replicas_min}, {c.replicas_avg}, {c.replicas_peak})")
    if nodes_per_replica == 1 and c.replicas_min != c.nodes_min * per_node:
        return (f"replicasMin ({c.replicas_min}) must fill the always-on nodes: nodesMin ({c.nodes_min}) x "
                f"{per_node} replica(s) per node")
    for label, replicas, nodes in (("Min", c.replicas_min, c.nodes_min), ("Avg", c.replicas_avg, c.nodes_avg),
                                   ("Peak", c.replicas_peak, c.nodes_peak)):
        want = nodes_for(replicas, per_node, nodes_per_replica)
        if nodes != want:
            return (f"nodes{label} ({nodes}) must be {want}: replicas{label} ({replicas}) on {per_node} replica(s) "
                    f"per node x {nodes_per_replica} node(s) per replica")
    if c.nodes_min < zones:
        return f"nodesMin ({c.nodes_min}) must be at least zones ({zones}): one always-on node per zone"
    if nodes_per_replica > 1 and c.replicas_min % zones:
        return f"replicasMin ({c.replicas_min}) must be a multiple of zones ({zones}): a replica stays in one zone"
    if cloud == "gcp" and c.nodes_min % zones:
        return f"nodesMin ({c.nodes_min}) must be a multiple of zones ({zones}): GKE node pool sizes are per zone"
    return None


def cache_gib(checkpoint_gib: float) -> int:
    """Node-local weights cache: the checkpoint plus 10 % and 10 GiB for tokenizer files and partial downloads."""
    return int(math.ceil(checkpoint_gib * 1.1 + 10.0))


def root_volume_gib(checkpoint_gib: float) -> int:
    """Node root/boot volume: the weights cache plus the OS and images, in 10s of GiB."""
    return int(math.ceil((cache_gib(checkpoint_gib) + _OS_AND_IMAGES_GIB) / 10.0) * 10)


def volume_throughput_mibps(checkpoint_gib: float) -> int:
    """gp3 throughput that reads the checkpoint in about four minutes: 125 (the free baseline) to 1000 MiB/s.

    At the 125 MiB/s baseline a 131 GiB checkpoint takes ~18 minutes to read.
    """
    needed = checkpoint_gib * 1024.0 / _READ_TARGET_S
    return int(min(1000, max(125, math.ceil(needed / 25.0) * 25)))


def volume_iops(throughput_mibps: int) -> int:
    """gp3 IOPS for `throughput_mibps`: AWS requires at most 0.25 MiB/s per provisioned IOPS (3,000-16,000)."""
    return int(min(16000, max(3000, throughput_mibps * 4)))


def node_launch_s(accelerators_per_node: int) -> int:
    """Launching a GPU node until it is Ready: boot, driver, device plugin; 8-GPU nodes take longest, s."""
    return 420 if accelerators_per_node <= 4 else 600


def startup_budget_s(checkpoint_gib: float, throughput_mibps: int) -> int:
    """Pod scheduled -> serving on a fresh node: image pull, weights download, read, engine warm-up, with 50 %
    margin, rounded up to whole minutes (s)."""
    download = checkpoint_gib * 1.073741824 * 1000.0 / DOWNLOAD_MB_PER_S
    read = checkpoint_gib * 1024.0 / throughput_mibps
    total = (IMAGE_PULL_S + download + read + ENGINE_WARMUP_S) * 1.5
    return int(math.ceil(total / 60.0) * 60)


def pod_cpu_millicores(vcpus: int, per_node: int) -> int:
    """CPU request of one serving pod: 90 % of the node's vCPUs after 2 for system daemons, shared by the
    replicas on the node (millicores, at least 1000)."""
    return max(1000, int((vcpus - 2) * 0.9 * 1000) // per_node // 100 * 100)


def pod_memory_gib(memory_gib: float, per_node: int) -> int:
    """Memory request of one serving pod: 90 % of the node's memory after 4 GiB for the kubelet and daemons,
    shared by the replicas on the node (GiB, at least 4)."""
    return max(4, int((memory_gib * 0.9 - 4.0) / per_node))


def efa_interfaces(cloud: str, instance_type: str, nodes_per_replica: int) -> int:
    """EFA interfaces per node when a replica spans nodes on AWS (NCCL falls back to TCP without them), else 0."""
    if cloud != "aws" or nodes_per_replica <= 1:
        return 0
    return _EFA_INTERFACES.get(instance_type, 1)
