"""Selector behaviour on small synthetic catalogs: each test states the property it pins."""

from __future__ import annotations

from typing import Any

import pytest

from servestack.catalog.platform import platform_monthly_usd
from servestack.errors import SpecError
from servestack.selector import plan
from servestack.workload import WorkloadSpec
from tests.selector.synthetic import catalog_of, offering


def spec(**overrides: Any) -> WorkloadSpec:
    data: dict[str, Any] = {
        "name": "svc",
        "model": {"id": "llama-3.1-8b", "precision": "bf16", "max_context_tokens": 4096},
        "traffic": {"peak_requests_per_s": 4, "avg_requests_per_s": 2, "avg_input_tokens": 500,
                    "avg_output_tokens": 100},
        "slo": {"ttft_ms_p95": 2000, "tpot_ms_p95": 100},
    }
    for key, value in overrides.items():
        data[key] = value
    return WorkloadSpec.model_validate(data)


def test_cheapest_feasible_offering_is_chosen() -> None:
    cat = catalog_of(offering("cheap", "L4", on_demand=0.8), offering("dear", "L4", on_demand=1.6))
    result = plan(spec(), cat)
    assert result.chosen is not None and result.chosen.instance_type == "cheap"
    assert [c.instance_type for c in result.candidates] == ["cheap", "dear"]


def test_monthly_costs_follow_the_contract_definitions() -> None:
    # Floor of 2 on-demand nodes in 2 zones, spot above it; expected prices the average, ceiling the peak.
    cat = catalog_of(offering("g", "L4", on_demand=1.0, spot=0.4))
    s = spec(availability={"min_replicas": 2, "zones": 2}, pricing={"spot": "allowed"},
             traffic={"peak_requests_per_s": 60, "avg_requests_per_s": 20, "avg_input_tokens": 500,
                      "avg_output_tokens": 100})
    c = plan(s, cat).chosen
    assert c is not None
    assert (c.pricing_base, c.pricing_burst) == ("on_demand", "spot")
    assert c.nodes_min == 2 and c.nodes_peak >= c.nodes_avg >= c.nodes_min
    vol = c.root_volume_gib
    assert c.monthly_usd_ceiling == pytest.approx(
        (2 * 1.0 + (c.nodes_peak - 2) * 0.4) * 730 + platform_monthly_usd("aws", 2, c.nodes_peak, vol))
    assert c.monthly_usd_expected == pytest.approx(
        (2 * 1.0 + (c.nodes_avg - 2) * 0.4) * 730 + platform_monthly_usd("aws", 2, c.nodes_avg, vol))
    # Enough replicas at peak: capacity covers the peak rate.
    assert c.replicas_peak * c.performance.requests_per_s >= 60


def test_spot_never_uses_only_on_demand_or_commitments() -> None:
    cat = catalog_of(offering("g", "L4", on_demand=1.0, spot=0.1, y1=0.7))
    c = plan(spec(pricing={"spot": "never", "commitment": "1y"}), cat).chosen
    assert c is not None and (c.pricing_base, c.pricing_burst) == ("1y", "on_demand")


def test_spot_only_puts_the_floor_on_spot_too() -> None:
    cat = catalog_of(offering("g", "L4", on_demand=1.0, spot=0.3, y3=0.2))
    c = plan(spec(pricing={"spot": "only", "commitment": "3y"}), cat).chosen
    assert c is not None and (c.pricing_base, c.pricing_burst) == ("spot", "spot")


def test_spot_only_rejects_offerings_without_spot() -> None:
    cat = catalog_of(offering("g", "L4", on_demand=1.0, spot=None))
    result = plan(spec(pricing={"spot": "only"}), cat)
    assert not result.feasible
    assert result.binding_constraint == "pricing_not_offered"


def test_zones_need_offerings_in_enough_zones_and_a_node_per_zone() -> None:
    cat = catalog_of(offering("one-zone", "L4", zones=("a",), on_demand=0.5),
                     offering("three-zone", "L4", per_node=4, on_demand=4.0))
    result = plan(spec(availability={"min_replicas": 1, "zones": 2}), cat)
    assert result.rejected["too_few_zones"] == 1
    c = result.chosen
    assert c is not None and c.instance_type == "three-zone"
    # Two replicas could share a node, but not across zones; the two always-on nodes then run a replica
    # on every GPU (4 per node), so the autoscaler's floor matches what the nodes hold.
    assert c.nodes_min == 2 and c.replicas_min == 8


def test_placement_filters_and_aliases() -> None:
    cat = catalog_of(offering("l4", "L4", on_demand=0.5), offering("h100", "H100", per_node=8, on_demand=40),
                     offering("gcp-l4", "L4", cloud="gcp", region="us-central1", on_demand=0.4))
    denied = plan(spec(placement={"accelerators_denied": ["nvidia-l4"]}), cat)
    assert {c.accelerator for c in denied.candidates} == {"H100"}
    assert denied.rejected["accelerator_denied"] == 2
    aws_only = plan(spec(placement={"clouds": ["aws"]}), cat)
    assert aws_only.chosen is not None and aws_only.chosen.instance_type == "l4"
    assert aws_only.rejected["cloud_not_allowed"] == 1
    region = plan(spec(placement={"regions": ["us-central1"]}), cat)
    assert {c.region for c in region.candidates} == {"us-central1"}


def test_unknown_region_and_accelerator_get_did_you_mean() -> None:
    cat = catalog_of(offering("l4", "L4"))
    with pytest.raises(SpecError) as info:
        plan(spec(placement={"regions": ["us-east-2x"]}), cat)
    assert info.value.field == "placement.regions[0]"
    with pytest.raises(SpecError) as info:
        plan(spec(placement={"accelerators_allowed": ["H10"]}), cat)
    assert info.value.field == "placement.accelerators_allowed[0]" and "H100" in str(info.value)


def test_budget_binds_and_reports_the_cheapest_way_out() -> None:
    cat = catalog_of(offering("l4", "L4", on_demand=1.0))
    result = plan(spec(budget={"monthly_usd": 100}), cat)
    assert not result.feasible and result.binding_constraint == "over_budget"
    assert result.closest, "the closest stacks over budget are listed"
    assert result.hint is not None and "budget.monthly_usd" in result.hint
    assert str(int(result.closest[0].monthly_usd_ceiling) + 1) in result.hint


def test_unreachable_tpot_names_the_slo_and_the_best_reachable() -> None:
    cat = catalog_of(offering("l4", "L4", on_demand=1.0))
    result = plan(spec(slo={"tpot_ms_p95": 0.5}), cat)
    assert not result.feasible and result.binding_constraint == "tpot_slo_unreachable"
    assert "slo.tpot_ms_p95" in (result.hint or "") and result.best_latency["tpot_ms"] > 0.5


def test_unreachable_ttft_binds_when_the_fast_part_passes_tpot_but_not_ttft() -> None:
    # The L4 cannot reach the TPOT at any batch; the H100 reaches it but no part reaches a 1 ms TTFT. Relaxing
    # the TPOT alone would still leave nothing feasible, so the TTFT is the constraint to name.
    cat = catalog_of(offering("l4", "L4", on_demand=1.0), offering("h100", "H100", on_demand=4.0))
    result = plan(spec(slo={"ttft_ms_p95": 1, "tpot_ms_p95": 20}), cat)
    assert result.rejected == {"tpot_slo_unreachable": 1, "ttft_slo_unreachable": 1}
    assert not result.feasible and result.binding_constraint == "ttft_slo_unreachable"
    assert "slo.ttft_ms_p95" in (result.hint or "") and result.best_latency["ttft_ms"] > 1


def test_model_too_big_goes_multi_node_only_over_efa() -> None:
    big = spec(model={"id": "llama-3.1-405b", "precision": "bf16", "max_context_tokens": 4096},
               slo={"ttft_ms_p95": 20000, "tpot_ms_p95": 500},
               traffic={"peak_requests_per_s": 0.5, "avg_requests_per_s": 0.2, "avg_input_tokens": 500,
                        "avg_output_tokens": 100})
    no_fabric = plan(big, catalog_of(offering("p5", "H100", per_node=8, on_demand=55.0)))
    assert not no_fabric.feasible and no_fabric.binding_constraint == "does_not_fit_in_memory"
    fabric = plan(big, catalog_of(offering("p5", "H100", per_node=8, on_demand=55.0, multi_node="efa")))
    c = fabric.chosen
    assert c is not None and c.layout.nodes_per_replica >= 2 and c.nodes_min == c.layout.nodes_per_replica


def test_ties_break_deterministically_by_name() -> None:
    a = offering("g-a", "L4", region="us-west-2", on_demand=1.0)
    b = offering("g-a", "L4", region="us-east-1", on_demand=1.0)
    first = plan(spec(), catalog_of(a, b)).chosen
    second = plan(spec(), catalog_of(b, a)).chosen
    assert first is not None and second is not None
    assert first.region == second.region == "us-east-1"


def test_small_model_packs_replicas_onto_multi_gpu_nodes() -> None:
    cat = catalog_of(offering("x4", "L4", per_node=4, on_demand=2.0))
    c = plan(spec(traffic={"peak_requests_per_s": 30, "avg_requests_per_s": 10, "avg_input_tokens": 500,
                           "avg_output_tokens": 100}), cat).chosen
    assert c is not None
    assert c.nodes_peak * (4 // c.layout.tensor_parallel) >= c.replicas_peak


def test_measured_model_uses_the_measured_figures() -> None:
    measured = spec(model={"measured": {"memory_gib": 3, "throughput": [
        {"accelerator": "L4", "requests_per_s": 100, "latency_ms_p95": 20}]}},
        traffic={"peak_requests_per_s": 250, "avg_requests_per_s": 100}, slo={"latency_ms_p95": 50})
    cat = catalog_of(offering("l4", "L4", on_demand=0.7), offering("h100", "H100", per_node=8, on_demand=40))
    result = plan(measured, cat)
    c = result.chosen
    assert c is not None and c.accelerator == "L4" and c.replicas_peak == 3
    assert result.rejected["no_measurement_for_accelerator"] >= 1
    strict = plan(measured.model_copy(update={"slo": measured.slo.model_copy(update={"latency_ms_p95": 10})}), cat)
    assert strict.binding_constraint == "latency_slo_unreachable"


def test_plan_json_has_the_contract_fields() -> None:
    out = plan(spec(), catalog_of(offering("l4", "L4"))).to_json()
    assert set(out) >= {"workload", "feasible", "catalog", "chosen", "candidates", "rejected"}
    assert set(out["catalog"]) == {"as_of", "offerings"} and out["catalog"]["offerings"] == 1
    assert set(out["chosen"]) >= {
        "cloud", "region", "instance_type", "accelerator", "accelerators_per_node", "tensor_parallel",
        "replicas_min", "replicas_peak", "nodes_min", "nodes_peak", "pricing_base", "pricing_burst",
        "hourly_usd_per_node", "monthly_usd_expected", "monthly_usd_ceiling", "estimate"}
    assert set(out["chosen"]["estimate"]) >= {
        "output_tokens_per_s_per_replica", "ttft_ms", "tpot_ms", "max_concurrent_sequences"}
    assert out["candidates"][0] == out["chosen"]


@pytest.mark.parametrize("peak", [1e308, 1e7])
def test_absurd_traffic_is_infeasible_not_an_overflow(peak: float) -> None:
    # 1e308 requests/s used to overflow float conversion while pricing the platform.
    cat = catalog_of(offering("g", "L4", on_demand=1.0))
    s = spec(traffic={"peak_requests_per_s": peak, "avg_requests_per_s": 1, "avg_input_tokens": 500,
                      "avg_output_tokens": 100})
    result = plan(s, cat)
    assert not result.feasible
    assert result.binding_constraint == "too_many_nodes"
    assert "traffic.peak_requests_per_s" in (result.hint or "")


def test_regions_are_case_insensitive_and_canonicalised() -> None:
    cat = catalog_of(offering("g", "L4", on_demand=1.0))
    region = cat.offerings[0].region
    c = plan(spec(placement={"regions": [region.upper()]}), cat).chosen
    assert c is not None and c.region == region


def test_region_of_an_excluded_cloud_names_its_cloud() -> None:
    cat = catalog_of(offering("g", "L4", on_demand=1.0))
    o = cat.offerings[0]
    other = "gcp" if o.cloud == "aws" else "aws"
    with pytest.raises(SpecError) as info:
        plan(spec(placement={"regions": [o.region], "clouds": [other]}), cat)
    assert info.value.field == "placement.regions[0]"
    assert f"that region is on {o.cloud}" in str(info.value)


def test_fp8_is_refused_on_pre_ampere_parts() -> None:
    from dataclasses import replace

    from servestack.catalog import Catalog
    from tests.selector.synthetic import ACCELERATORS

    # A T4-like part: no bf16 and no fp8 tensor path.
    t4 = replace(ACCELERATORS["L4"], id="T4", memory_gib=16, bf16_tflops=None, fp8_tflops=None, fp16_tflops=65)
    t4_offering = replace(offering("t4", "L4"), accelerator="T4", accelerator_memory_gib=16)
    cat = Catalog.from_offerings({**ACCELERATORS, "T4": t4}, [t4_offering, offering("l4", "L4")],
                                 as_of="2026-11-28")
    fp8 = plan(spec(model={"id": "llama-3.1-8b", "precision": "fp8", "max_context_tokens": 4096}), cat)
    assert fp8.rejected["precision_unsupported"] == 1
    assert {c.accelerator for c in fp8.candidates} == {"L4"}
    bf16 = plan(spec(), cat)
    assert "precision_unsupported" not in bf16.rejected


def test_tensor_parallel_must_divide_the_attention_heads() -> None:
    # Qwen2.5-7B has 28 attention heads: TP 8 cannot shard them, TP 4 can.
    qwen = spec(model={"id": "qwen2.5-7b", "precision": "bf16", "max_context_tokens": 4096})
    result = plan(qwen, catalog_of(offering("x8", "L4", per_node=8, on_demand=8.0)), top=10)
    assert result.rejected["tensor_parallel_indivisible"] == 1
    assert {c.layout.tensor_parallel for c in result.candidates} == {1, 2, 4}
