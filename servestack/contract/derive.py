"""Build the deployment contract for a chosen stack: every derived value computed here, once.

Called by the selector for the candidates it shows and by `plan --write` for the one it records. Pulumi-free,
and cheap to import: the pydantic contract models are imported when a contract is built, so `plan`, which
prints the serving values (`serving_values`, `commitment_values`) without writing, never builds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from servestack.contract import shape
from servestack.contract.checkpoints import Checkpoint, resolve_checkpoint
from servestack.contract.parts import NO_BF16_ACCELERATORS
from servestack.errors import SpecError
from servestack.sizing import kv_cache_dtype

if TYPE_CHECKING:
    from servestack.catalog.types import Accelerator, Offering, PricingMode
    from servestack.contract.model import Commitment, Deployment, Serving
    from servestack.workload import WorkloadSpec

__all__ = [
    "deployment_for",
    "serving_for",
    "checkpoint_gib",
    "spec_checkpoint",
    "missing_checkpoint_message",
    "commitment_for",
    "commitment_values",
    "serving_values",
    "chosen_zones",
    "spot_peer_key",
    "spot_alternates",
]


def spec_checkpoint(spec: WorkloadSpec) -> Checkpoint | None:
    """The checkpoint `spec` serves: its own `model.checkpoint` (stored at `model.checkpoint_precision`, else
    at its precision) or the built-in id's release; None when unknown. Every reader of a spec's checkpoint
    goes through here, so none forgets the stored precision."""
    m = spec.model
    return resolve_checkpoint(m.id, m.precision, m.checkpoint, m.checkpoint_precision)


def missing_checkpoint_message(spec: WorkloadSpec) -> str | None:
    """Why no checkpoint can be named for `spec` (what to set), or None when one is known."""
    m = spec.model
    if spec_checkpoint(spec) is not None:
        return None
    if m.id is None:
        return ("an architecture or measured model has no built-in release; set model.checkpoint to the Hugging "
                f"Face repository to serve, at {m.precision}"
                + (" (or a 16-bit one with model.checkpoint_precision: bf16, quantized on load)"
                   if m.precision == "fp8" else ""))
    return (f"no published {m.precision} release of {m.id} is known; set model.checkpoint to a pre-quantized "
            f"{m.precision} repository (or use precision bf16/fp8)")


def checkpoint_gib(spec: WorkloadSpec, weights_gib: float) -> float:
    """GiB a node downloads and caches: the weights, twice that when fp8 is quantized from a 16-bit release.

    A spec without a known checkpoint is sized as if the release held exactly the served weights.
    """
    ckpt = spec_checkpoint(spec)
    return weights_gib * (ckpt.download_ratio if ckpt is not None else 1.0)


def serving_for(
    spec: WorkloadSpec, accelerator: Accelerator, weights_gib: float, accelerators_per_node: int
) -> Serving:
    """How vLLM serves `spec` on `accelerator`; raises SpecError naming model.checkpoint when none is known."""
    from servestack.contract.model import Serving

    return Serving(**serving_values(spec, accelerator, weights_gib, accelerators_per_node))


def serving_values(
    spec: WorkloadSpec, accelerator: Accelerator, weights_gib: float, accelerators_per_node: int
) -> dict[str, Any]:
    """The fields of `serving_for` as plain values (what `plan` prints without building the contract models)."""
    m = spec.model
    ckpt = spec_checkpoint(spec)
    if ckpt is None:
        raise SpecError("model.checkpoint", None, missing_checkpoint_message(spec) or "set model.checkpoint")
    size = checkpoint_gib(spec, weights_gib)
    # fp16 models and parts without bf16 run in fp16; everything else in bf16 (vLLM's default for Llama/Qwen).
    dtype = "float16" if m.precision == "fp16" or accelerator.id in NO_BF16_ACCELERATORS else "bfloat16"
    throughput = shape.volume_throughput_mibps(size)
    return {
        "checkpoint": ckpt.repository,
        "gated": ckpt.gated,
        "dtype": dtype,
        "quantization": ckpt.quantization,
        "kv_cache_dtype": "fp8" if kv_cache_dtype(m.precision, accelerator) == "fp8" else "auto",
        "weights_gib": round(weights_gib, 2),
        "checkpoint_gib": round(size, 2),
        "cache_gib": shape.cache_gib(size),
        "max_model_len": m.context_tokens,
        "startup_budget_s": shape.startup_budget_s(size, throughput),
        "node_launch_s": shape.node_launch_s(accelerators_per_node),
    }


def commitment_for(offering: Offering, base: PricingMode, nodes_min: int, base_price: float) -> Commitment | None:
    """What to buy so the floor is billed at the committed price the plan assumed (None when not committed)."""
    values = commitment_values(offering, base, nodes_min, base_price)
    if values is None:
        return None
    from servestack.contract.model import Commitment

    return Commitment(**values)


def commitment_values(
    offering: Offering, base: PricingMode, nodes_min: int, base_price: float
) -> dict[str, Any] | None:
    """The fields of `commitment_for` as plain values, None when the floor is not committed."""
    if base not in ("1y", "3y"):
        return None
    term = "1 year" if base == "1y" else "3 years"
    if offering.cloud == "aws":
        hourly = round(nodes_min * base_price, 4)
        family = offering.instance_type.split(".", 1)[0]
        return {
            "term": base, "aws_savings_plan_usd_per_hour": hourly,
            "instructions": (f"buy an EC2 Instance Savings Plan for the {family} family in {offering.region}, "
                             f"{term}, no upfront, committing ${hourly:,.4f}/hour ({nodes_min} x "
                             f"{offering.instance_type}); then set servestack:commitmentPurchased to true"),
        }
    gpus = nodes_min * offering.accelerators_per_node
    vcpus = nodes_min * offering.vcpus
    memory = round(nodes_min * offering.memory_gib, 1)
    return {
        "term": base, "gcp_gpus": gpus, "gcp_gpu_type": offering.accelerator, "gcp_vcpus": vcpus,
        "gcp_memory_gib": memory,
        "instructions": (f"purchase a {term} resource-based committed use discount in {offering.region}: {gpus} "
                         f"{offering.accelerator} GPUs plus {vcpus} vCPUs and {memory:g} GiB memory of the "
                         f"{offering.instance_type.split('-', 1)[0]} machine family; then set "
                         "servestack:commitmentPurchased to true"),
    }


def chosen_zones(offering: Offering, zones: int) -> list[str]:
    """The zones a stack of `offering` spreads over: the first `zones` of its zones, in name order."""
    return sorted(offering.zones)[:zones]


def spot_peer_key(offering: Offering) -> tuple[str, str, str, int]:
    """Offerings that may stand in for each other in a spot pool share this key (cloud, region, accelerator
    and accelerators per node); `spot_alternates` checks the rest."""
    return (offering.cloud, offering.region, offering.accelerator, offering.accelerators_per_node)


def spot_alternates(
    offering: Offering, peers: Iterable[Offering], *, zones: int, replicas_per_node: int, nodes_per_replica: int
) -> tuple[Offering, ...]:
    """Other instance types an AWS spot pool of `offering` may launch (capacity diversification), cheapest first.

    An equivalent carries the same accelerator, as many per node, in the same region and every chosen zone,
    with a spot price, and room for the pods the contract sizes on `offering` (its own pod CPU and memory
    share, computed the same way, is at least as large). Replicas spanning nodes also need the same fabric and
    EFA interface count. The weights cache lives on the EBS root volume the launch template gives every type,
    so local instance storage does not matter. GKE node pools have one machine type: none on GCP.
    """
    if offering.cloud != "aws" or offering.price_spot is None:
        return ()
    key = spot_peer_key(offering)
    needed_zones = set(chosen_zones(offering, zones))
    cpu = shape.pod_cpu_millicores(offering.vcpus, replicas_per_node)
    memory = shape.pod_memory_gib(offering.memory_gib, replicas_per_node)
    efa = shape.efa_interfaces(offering.cloud, offering.instance_type, nodes_per_replica)
    found: dict[str, Offering] = {}
    for o in peers:
        if (
            o.instance_type == offering.instance_type
            or spot_peer_key(o) != key
            or o.price_spot is None
            or not needed_zones.issubset(o.zones)
            or shape.pod_cpu_millicores(o.vcpus, replicas_per_node) < cpu
            or shape.pod_memory_gib(o.memory_gib, replicas_per_node) < memory
        ):
            continue
        if nodes_per_replica > 1 and (
            o.multi_node_network != offering.multi_node_network
            or shape.efa_interfaces(o.cloud, o.instance_type, nodes_per_replica) != efa
        ):
            continue
        found.setdefault(o.instance_type, o)
    return tuple(sorted(found.values(), key=lambda o: (o.price_spot, o.instance_type)))


def deployment_for(
    spec: WorkloadSpec,
    offering: Offering,
    accelerator: Accelerator,
    *,
    tensor_parallel: int,
    nodes_per_replica: int,
    counts: shape.Counts,
    pricing_base: PricingMode,
    pricing_burst: PricingMode,
    price_base: float,
    price_burst: float,
    weights_gib: float,
    spot_alternates: Sequence[Offering] = (),
) -> Deployment:
    """The contract for one candidate the selector sized and priced.

    `spot_alternates` (from `spot_alternates`) are listed when a pool is priced spot; the selector priced
    that pool at the dearest of them."""
    from servestack.contract.model import Deployment

    zones = spec.availability.zones
    per_node = shape.replicas_per_node(offering.accelerators_per_node, tensor_parallel, nodes_per_replica)
    serving = serving_for(spec, accelerator, weights_gib, offering.accelerators_per_node)
    throughput = shape.volume_throughput_mibps(serving.checkpoint_gib)
    return Deployment(
        cloud=offering.cloud,
        region=offering.region,
        zones=zones,
        zone_names=chosen_zones(offering, zones),
        instance_type=offering.instance_type,
        spot_instance_types=(
            [offering.instance_type, *(o.instance_type for o in spot_alternates)]
            if spot_alternates and "spot" in (pricing_base, pricing_burst) else None
        ),
        accelerator=offering.accelerator,
        accelerators_per_node=offering.accelerators_per_node,
        tensor_parallel=tensor_parallel,
        nodes_per_replica=nodes_per_replica,
        replicas_per_node=per_node,
        replicas_min=counts.replicas_min,
        replicas_avg=counts.replicas_avg,
        replicas_peak=counts.replicas_peak,
        nodes_min=counts.nodes_min,
        nodes_avg=counts.nodes_avg,
        nodes_peak=counts.nodes_peak,
        pricing_base=pricing_base,
        pricing_burst=pricing_burst,
        hourly_usd_per_node=round(price_base, 6),
        hourly_usd_per_node_burst=round(price_burst, 6),
        node_vcpus=offering.vcpus,
        node_memory_gib=offering.memory_gib,
        root_volume_gib=shape.root_volume_gib(serving.checkpoint_gib),
        root_volume_throughput_mibps=throughput,
        root_volume_iops=shape.volume_iops(throughput),
        pod_cpu_millicores=shape.pod_cpu_millicores(offering.vcpus, per_node),
        pod_memory_gib=shape.pod_memory_gib(offering.memory_gib, per_node),
        efa_interfaces=shape.efa_interfaces(offering.cloud, offering.instance_type, nodes_per_replica),
        serving=serving,
        commitment=commitment_for(offering, pricing_base, counts.nodes_min, price_base),
    )
