"""GPU quota preflight: what a deployment needs from the cloud's quotas, and whether the granted values cover it.

Pure decisions (no provider SDK, no Pulumi): the program checks these before registering any resource (a new AWS
account has 0 vCPUs of P-instance quota, a new GCP project 0 GPUS_ALL_REGIONS), and the CLI can reuse them with
quota values it fetched itself. The thin lookups that fetch granted values live in the cloud packages
(`servestack.components.aws.quota`, `servestack.components.gcp.quota`).
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from servestack.errors import InfeasibleError

__all__ = [
    "AWS_EC2_GPU_QUOTAS",
    "GCP_GPU_FAMILIES",
    "CapacityGroup",
    "QuotaError",
    "QuotaNeed",
    "QuotaVerdict",
    "aws_quota_needs",
    "gcp_quota_needs",
    "judge",
    "merge_needs",
    "require",
]

# EC2 vCPU quotas of the GPU families (service code ec2), as Service Quotas names them:
# (family, on-demand code, spot code). P: "Running On-Demand P instances" / "All P Spot Instance Requests";
# G and VT share one pair: "Running On-Demand G and VT instances" / "All G and VT Spot Instance Requests".
AWS_EC2_GPU_QUOTAS: dict[str, tuple[str, str, str, str]] = {
    "p": ("L-417A185B", "Running On-Demand P instances", "L-7212CCBC", "All P Spot Instance Requests"),
    "g": ("L-DB2E81BA", "Running On-Demand G and VT instances", "L-3819A6DF", "All G and VT Spot Instance Requests"),
}
# GKE accelerator type -> the `gpu_family` dimension of compute.googleapis.com GPUS-PER-GPU-FAMILY-per-project-region.
GCP_GPU_FAMILIES: dict[str, str] = {
    "nvidia-tesla-t4": "NVIDIA_T4",
    "nvidia-tesla-v100": "NVIDIA_V100",
    "nvidia-l4": "NVIDIA_L4",
    "nvidia-tesla-a100": "NVIDIA_A100",
    "nvidia-a100-80gb": "NVIDIA_A100_80GB",
    "nvidia-h100-80gb": "NVIDIA_H100",
    "nvidia-h100-mega-80gb": "NVIDIA_H100_MEGA",
    "nvidia-h200-141gb": "NVIDIA_H200",
    "nvidia-b200": "NVIDIA_B200",
}
GCP_ALL_REGIONS_QUOTA = "GPUS-ALL-REGIONS-per-project"
GCP_FAMILY_QUOTA = "GPUS-PER-GPU-FAMILY-per-project-region"


class QuotaError(InfeasibleError):
    """The cloud's granted quota is below what the deployment needs at peak (exit 1)."""


@dataclass(frozen=True)
class CapacityGroup:
    """One GPU node group / pool of the plan: its pricing mode and the most nodes it may run."""

    pricing: str
    """on_demand, spot, 1y or 3y (commitments run on on-demand capacity and count against on-demand quota)."""
    max_nodes: int


@dataclass(frozen=True)
class QuotaNeed:
    """How much of one quota the deployment needs at peak."""

    cloud: str
    quota_id: str
    """AWS quota code (L-...) or GCP quota id."""
    quota_name: str
    region: str
    needed: int
    unit: str
    """vCPUs (AWS EC2) or GPUs (GCP)."""
    dimension: str = ""
    """GCP gpu_family dimension value, when the quota has one."""

    def how_to_request(self) -> str:
        if self.cloud == "aws":
            return (
                f"request an increase in the Service Quotas console (EC2 > {self.quota_name}) or with "
                f"`aws service-quotas request-service-quota-increase --service-code ec2 --quota-code {self.quota_id} "
                f"--desired-value {self.needed} --region {self.region}`"
            )
        dims = f" (gpu_family={self.dimension}, region={self.region})" if self.dimension else ""
        return (
            f"request an increase in the console (IAM & Admin > Quotas, compute.googleapis.com {self.quota_id}{dims}) "
            "or with `gcloud beta quotas preferences create`"
        )


@dataclass(frozen=True)
class QuotaVerdict:
    need: QuotaNeed
    granted: float | None
    """The quota's value, or None when it could not be read (offline preview, no permission)."""

    @property
    def ok(self) -> bool | None:
        """True when covered, False when short, None when unknown."""
        if self.granted is None:
            return None
        return self.granted >= self.need.needed

    def message(self) -> str:
        n = self.need
        where = f"{n.region}, gpu_family={n.dimension}" if n.dimension else n.region
        if self.granted is None:
            return f"{n.cloud} quota {n.quota_name} ({n.quota_id}, {where}) could not be read; not checked"
        verdict = "covers" if self.ok else "is below"
        text = (
            f"{n.cloud} quota {n.quota_name} ({n.quota_id}, {where}) is {self.granted:g} {n.unit}, which {verdict} "
            f"the {n.needed} {n.unit} this deployment needs at peak"
        )
        return text if self.ok else f"{text}; {n.how_to_request()}"


_EC2_FAMILY = re.compile(r"^([a-z]+)[0-9]")


def aws_quota_needs(
    instance_type: str, vcpus_per_node: int, region: str, groups: Sequence[CapacityGroup]
) -> list[QuotaNeed]:
    """EC2 vCPU quotas the groups need at their maxima: on-demand and committed nodes against the on-demand
    quota of the instance family, spot nodes against its spot quota. Non-GPU families need nothing here."""
    match = _EC2_FAMILY.match(instance_type)
    family = match.group(1) if match else ""
    key = "p" if family.startswith("p") else "g" if family in ("g", "vt") or family.startswith("g") else None
    if key is None:
        return []
    od_code, od_name, spot_code, spot_name = AWS_EC2_GPU_QUOTAS[key]
    on_demand = sum(g.max_nodes for g in groups if g.pricing != "spot") * vcpus_per_node
    spot = sum(g.max_nodes for g in groups if g.pricing == "spot") * vcpus_per_node
    needs = []
    if on_demand:
        needs.append(QuotaNeed("aws", od_code, od_name, region, on_demand, "vCPUs"))
    if spot:
        needs.append(QuotaNeed("aws", spot_code, spot_name, region, spot, "vCPUs"))
    return needs


def gcp_quota_needs(
    accelerator_type: str, gpus_per_node: int, region: str, groups: Sequence[CapacityGroup]
) -> list[QuotaNeed]:
    """GPU quotas the pools need at their maxima: every GPU counts against GPUS_ALL_REGIONS; on-demand and
    committed GPUs also against the family's regional quota (spot GPUs may draw on preemptible quota instead,
    so they are not held to it)."""
    total = sum(g.max_nodes for g in groups) * gpus_per_node
    on_demand = sum(g.max_nodes for g in groups if g.pricing != "spot") * gpus_per_node
    needs = [QuotaNeed("gcp", GCP_ALL_REGIONS_QUOTA, "GPUs (all regions)", "global", total, "GPUs")] if total else []
    family = GCP_GPU_FAMILIES.get(accelerator_type)
    if family and on_demand:
        needs.append(QuotaNeed("gcp", GCP_FAMILY_QUOTA, "GPUs per GPU family", region, on_demand, "GPUs", family))
    return needs


def merge_needs(needs: Iterable[QuotaNeed]) -> list[QuotaNeed]:
    """One need per quota (id, region, dimension), summed: the pools of a fleet draw on the same quotas
    (two G-family pools on AWS, every GPU against GCP's all-regions quota), so each pool fitting alone is not
    enough. Order: first appearance."""
    total: dict[tuple[str, str, str, str], QuotaNeed] = {}
    for need in needs:
        key = (need.cloud, need.quota_id, need.region, need.dimension)
        seen = total.get(key)
        total[key] = need if seen is None else replace(seen, needed=seen.needed + need.needed)
    return list(total.values())


def judge(need: QuotaNeed, granted: float | None) -> QuotaVerdict:
    return QuotaVerdict(need, granted)


def require(verdicts: Iterable[QuotaVerdict]) -> list[str]:
    """Raise QuotaError naming every quota that is short; otherwise the notes to log (checked or not read)."""
    checked = list(verdicts)
    short = [v for v in checked if v.ok is False]
    if short:
        raise QuotaError(
            "GPU quota too low for this deployment (nothing was created): "
            + "; ".join(v.message() for v in short)
            + ". Lower nodesPeak/replicasPeak or wait for the increase before `pulumi up`."
        )
    return [v.message() for v in checked]
