"""The selector is exact: on random synthetic catalogs and workloads it picks what brute force picks.

The brute force below shares only the replica-layout space and the platform price table with the
selector; it re-derives replicas, nodes and costs from the definitions in ARCHITECTURE.md.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servestack.catalog.platform import platform_monthly_usd
from servestack.contract import shape
from servestack.selector import plan, replica_layouts
from servestack.sizing import estimate
from servestack.workload import WorkloadSpec
from tests.selector.synthetic import ACCELERATORS, catalog_of, offering

REGIONS = {"aws": ["us-east-1", "us-west-2"], "gcp": ["us-central1", "europe-west4"]}


@st.composite
def offerings(draw: Any) -> list[Any]:
    rows = []
    for i in range(draw(st.integers(1, 7))):
        cloud = draw(st.sampled_from(["aws", "gcp"]))
        acc = draw(st.sampled_from(sorted(ACCELERATORS)))
        od = draw(st.floats(0.5, 60.0).map(lambda x: round(x, 3)))
        rows.append(offering(
            f"type-{i}",
            acc,
            draw(st.sampled_from([1, 2, 4, 8])),
            cloud=cloud,
            region=draw(st.sampled_from(REGIONS[cloud])),
            zones=("a", "b", "c")[: draw(st.integers(1, 3))],
            on_demand=od,
            # Prices drawn from a few levels so exact ties happen and tie-breaking is exercised.
            spot=draw(st.sampled_from([None, round(od * 0.3, 3), round(od * 0.5, 3)])),
            y1=draw(st.sampled_from([None, round(od * 0.6, 3)])),
            y3=draw(st.sampled_from([None, round(od * 0.4, 3)])),
            multi_node=draw(st.sampled_from([None, "efa"])),
        ))
    return rows


@st.composite
def workloads(draw: Any) -> WorkloadSpec:
    peak = draw(st.floats(0.2, 30.0))
    return WorkloadSpec.model_validate({
        "name": "w",
        "model": {
            "id": draw(st.sampled_from(
                ["llama-3.1-8b", "mistral-7b", "llama-2-13b", "mixtral-8x7b", "llama-3.1-70b", "qwen2.5-7b"]
            )),
            "precision": draw(st.sampled_from(["bf16", "fp8", "int4"])),
            "max_context_tokens": 4096,
        },
        "traffic": {
            "peak_requests_per_s": peak,
            "avg_requests_per_s": peak * draw(st.floats(0.1, 1.0)),
            "avg_input_tokens": draw(st.integers(64, 2000)),
            "avg_output_tokens": draw(st.integers(16, 1000)),
        },
        "slo": {
            "ttft_ms_p95": draw(st.sampled_from([None, 300.0, 2000.0])),
            "tpot_ms_p95": draw(st.sampled_from([None, 20.0, 60.0, 200.0])),
        },
        "availability": {"min_replicas": draw(st.integers(1, 3)), "zones": draw(st.integers(1, 3))},
        "pricing": {
            "spot": draw(st.sampled_from(["never", "allowed", "only"])),
            "commitment": draw(st.sampled_from(["none", "1y", "3y"])),
        },
        "budget": {"monthly_usd": draw(st.sampled_from([None, 5000.0, 50000.0, 500000.0]))},
    })


def _combos(spot: str, commitment: str) -> list[tuple[str, str]]:
    if spot == "only":
        return [("spot", "spot")]
    bases = ["on_demand"] + ([commitment] if commitment != "none" else [])
    bursts = ["on_demand", "spot"] if spot == "allowed" else ["on_demand"]
    return [(b, u) for b in bases for u in bursts]


def _fp8_release(model_id: str) -> bool:
    from servestack.contract.checkpoints import resolve_checkpoint

    ckpt = resolve_checkpoint(model_id, "fp8", None)
    return ckpt is not None and ckpt.quantization is None


def brute_force(spec: WorkloadSpec, rows: list[Any]) -> list[tuple[Any, ...]]:
    arch = spec.model.resolved_architecture()
    assert arch is not None
    t, zones = spec.traffic, spec.availability.zones
    floor = max(spec.availability.min_replicas, zones)
    out = []
    for o in rows:
        if o.zones and len(o.zones) < zones:
            continue
        acc = ACCELERATORS[o.accelerator]
        full = estimate(arch, spec.model.precision, acc, o.accelerators_per_node, 1, t.avg_input_tokens,
                        t.avg_output_tokens, context_tokens=spec.model.context_tokens)
        for layout in replica_layouts(o.accelerators_per_node, full.fits, o.multi_node_network is not None):
            if arch.attention_heads % layout.tensor_parallel and acc.interconnect != "neuronlink":
                continue
            est = estimate(arch, spec.model.precision, acc, layout.tensor_parallel, layout.nodes_per_replica,
                           t.avg_input_tokens, t.avg_output_tokens, context_tokens=spec.model.context_tokens,
                           multi_node_network=o.multi_node_network is not None)
            if not est.fits:
                continue
            op = est.operating_point(spec.slo.tpot_ms_p95, spec.slo.ttft_ms_p95)
            if op is None:
                continue
            cap = op.requests_per_s

            def nodes(r: int, layout: Any = layout) -> int:
                if layout.nodes_per_replica > 1:
                    return r * layout.nodes_per_replica
                return math.ceil(r / layout.replicas_per_node)

            # The floor: one node per zone at least, whole per-zone pools on GKE, whole replicas per zone
            # when a replica spans nodes; the floor fills every replica slot of the nodes it pays for.
            if layout.nodes_per_replica > 1:
                r_min = -(-floor // zones) * zones
            else:
                n_floor = max(nodes(floor), zones)
                if o.cloud == "gcp":
                    n_floor = -(-n_floor // zones) * zones
                r_min = n_floor * layout.replicas_per_node
            r_avg = max(r_min, math.ceil(t.avg_requests_per_s / cap - 1e-9))
            r_peak = max(r_avg, math.ceil(t.peak_requests_per_s / cap - 1e-9))
            n_min, n_avg, n_peak = nodes(r_min), nodes(r_avg), nodes(r_peak)
            # Checkpoint on disk: 2x the fp8 weights when a built-in model is quantized from its 16-bit release.
            ratio = 2.0 if spec.model.precision == "fp8" and spec.model.id and not _fp8_release(spec.model.id) else 1.0
            ckpt = est.weights_gib * ratio
            cache = math.ceil(ckpt * 1.1 + 10)
            vol = int(math.ceil((cache + 80) / 10) * 10)
            thr = min(1000, max(125, math.ceil(ckpt * 1024 / 240 / 25) * 25)) if o.cloud == "aws" else 0
            iops = min(16000, max(3000, thr * 4)) if o.cloud == "aws" else 0
            spot_types = _spot_types(o, rows, zones, layout)
            for base, burst in _combos(spec.pricing.spot, spec.pricing.commitment):
                pb, pu = (max(t.price_spot for t in spot_types) if m == "spot" and o.price_spot is not None
                          else o.price(m) for m in (base, burst))
                if pb is None or pu is None:
                    continue
                expected = (n_min * pb + (n_avg - n_min) * pu) * 730 + platform_monthly_usd(
                    o.cloud, zones, n_avg, vol, thr, iops)
                ceiling = (n_min * pb + (n_peak - n_min) * pu) * 730 + platform_monthly_usd(
                    o.cloud, zones, n_peak, vol, thr, iops)
                if spec.budget.monthly_usd is not None and ceiling > spec.budget.monthly_usd:
                    continue
                # At equal cost the pool that may launch more spot types ranks first, if it runs spot nodes at all
                # (a spot burst that never scales above the floor runs none).
                runs_spot = base == "spot" or (burst == "spot" and n_peak > n_min)
                diversified = len(spot_types) - 1 if runs_spot else 0
                out.append((round(expected, 6), round(ceiling, 6), -diversified, o.cloud, o.region, o.instance_type,
                            layout.tensor_parallel, layout.nodes_per_replica, base, burst))
    return [row[:2] + row[3:] for row in sorted(out)]


def _spot_types(o: Any, rows: list[Any], zones: int, layout: Any) -> list[Any]:
    """The offering and the equivalents its AWS spot pool may also launch (docs/costing.md): same region,
    accelerator and count, a spot price, every chosen zone, room for the pods sized on `o`, same fabric."""
    if o.cloud != "aws" or o.price_spot is None:
        return [o]
    per_node = layout.replicas_per_node
    chosen = set(sorted(o.zones)[:zones])
    out = [o]
    for r in rows:
        if (r.cloud, r.region, r.accelerator, r.accelerators_per_node) != (o.cloud, o.region, o.accelerator,
                                                                             o.accelerators_per_node):
            continue
        if r.instance_type in {t.instance_type for t in out} or r.price_spot is None or not chosen <= set(r.zones):
            continue
        if (shape.pod_cpu_millicores(r.vcpus, per_node) < shape.pod_cpu_millicores(o.vcpus, per_node)
                or shape.pod_memory_gib(r.memory_gib, per_node) < shape.pod_memory_gib(o.memory_gib, per_node)):
            continue
        if layout.nodes_per_replica > 1 and (
            r.multi_node_network != o.multi_node_network
            or shape.efa_interfaces("aws", r.instance_type, 2) != shape.efa_interfaces("aws", o.instance_type, 2)
        ):
            continue
        out.append(r)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=offerings(), spec=workloads())
@example(
    # Two equal AWS types and a floor that covers the traffic: the spot burst pool never scales, so it is no
    # better than an on-demand one however many types it could launch.
    rows=[offering(f"type-{i}", "A100-80GB", 1, cloud="aws", region="us-west-2", zones=("a",), on_demand=1.0,
                   spot=0.3) for i in range(2)],
    spec=WorkloadSpec.model_validate({
        "name": "w", "model": {"id": "llama-3.1-8b", "precision": "bf16", "max_context_tokens": 4096},
        "traffic": {"peak_requests_per_s": 1.0, "avg_requests_per_s": 1.0, "avg_input_tokens": 64,
                    "avg_output_tokens": 16},
        "pricing": {"spot": "allowed", "commitment": "none"},
    }),
)
def test_selector_matches_brute_force(rows: list[Any], spec: WorkloadSpec) -> None:
    result = plan(spec, catalog_of(*rows), top=3)
    expected = brute_force(spec, rows)
    if not expected:
        assert not result.feasible, f"selector found {result.chosen} where brute force found nothing"
        return
    assert result.chosen is not None, f"brute force found {expected[0]}; selector rejected {result.rejected}"
    c = result.chosen
    got = (round(c.monthly_usd_expected, 6), round(c.monthly_usd_ceiling, 6), c.cloud, c.region, c.instance_type,
           c.layout.tensor_parallel, c.layout.nodes_per_replica, c.pricing_base, c.pricing_burst)
    assert got == expected[0]
    # The listed candidates are the cheapest per (offering, layout), in objective order.
    costs = [x.monthly_usd_expected for x in result.candidates]
    assert costs == sorted(costs)
