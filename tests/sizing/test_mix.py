"""One replica under a request mix (servestack.sizing.mix), and plans under a mix: a plan never costs less
than the plan for a subset of its traffic."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servestack.catalog import load_catalog
from servestack.catalog.types import Accelerator
from servestack.selector import plan
from servestack.sizing import estimate
from servestack.sizing.mix import MixClass, mix_replica
from servestack.sizing.model import KV_BLOCK_TOKENS
from servestack.workload import WorkloadSpec, known_model, load_spec

ROOT = Path(__file__).resolve().parents[2]
LLAMA_8B = known_model("llama-3.1-8b")
CONTEXT = 8192
SHORT = MixClass("short", 0.8, 200, 100)
LONG = MixClass("long", 0.2, 6000, 600)


@pytest.fixture(scope="module")
def l40s() -> Accelerator:
    return load_catalog().accelerators["L40S"]


def replica(acc: Accelerator, *classes: MixClass):  # type: ignore[no-untyped-def]
    assert LLAMA_8B is not None
    return mix_replica(LLAMA_8B, "bf16", acc, 1, 1, list(classes), context_tokens=CONTEXT)


@pytest.mark.parametrize("batch", [1, 7, 30])
def test_one_class_is_the_single_class_model(l40s: Accelerator, batch: int) -> None:
    assert LLAMA_8B is not None
    single = estimate(LLAMA_8B, "bf16", l40s, 1, 1, 6000, 600, context_tokens=CONTEXT).point(batch)
    mixed = replica(l40s, MixClass("only", 1.0, 6000, 600)).point(float(batch))
    assert single is not None
    assert mixed.requests_per_s == pytest.approx(single.requests_per_s, rel=1e-9)
    assert mixed.tpot_ms == pytest.approx(single.tpot_ms, rel=1e-9)
    assert mixed.ttft_ms == pytest.approx(single.ttft_ms, rel=1e-9)


def test_kv_memory_holds_sequences_weighted_by_their_time_in_the_batch(l40s: Accelerator) -> None:
    r = replica(l40s, SHORT, LONG)
    # Decode slots: short 0.8 x 100 = 80, long 0.2 x 600 = 120, so 40 % of the sequences in flight are short.
    blocks = 0.4 * math.ceil(300 / KV_BLOCK_TOKENS) + 0.6 * math.ceil(6600 / KV_BLOCK_TOKENS)
    assert r.max_concurrency == pytest.approx(r.estimates[0].kv_blocks / blocks)
    assert replica(l40s, SHORT).max_concurrency > r.max_concurrency > replica(l40s, LONG).max_concurrency


def test_long_prompts_set_the_tail_and_slow_the_short_ones(l40s: Accelerator) -> None:
    point = replica(l40s, SHORT, LONG).point(20.0)
    by_name = {c.name: c for c in point.classes}
    assert by_name["long"].ttft_ms > by_name["short"].ttft_ms
    assert point.ttft_ms == by_name["long"].ttft_ms
    # The same short prompts wait longer when long prompts share the prefill capacity.
    alone = replica(l40s, SHORT).point(20.0).classes[0]
    assert by_name["short"].ttft_ms > alone.ttft_ms


def test_every_class_meets_the_slo_at_the_operating_point(l40s: Accelerator) -> None:
    r = replica(l40s, SHORT, LONG)
    op = r.operating_point(80.0, 2000.0)
    assert op is not None
    assert all(c.ttft_ms <= 2000.0 and c.tpot_ms <= 80.0 for c in op.classes)
    # The short class alone could run a tighter TTFT than the mix can: the long class binds.
    assert r.operating_point(80.0, op.classes[0].ttft_ms * 0.5) is None


# --- plans under a mix --------------------------------------------------------------------------------

CATALOG = load_catalog()


def mix_spec(
    classes: list[tuple[float, int, int]], peak: float, avg_share: float, ttft: float, tpot: float
) -> WorkloadSpec:
    total = sum(share for share, _, _ in classes)
    return WorkloadSpec.model_validate({
        "name": "mix",
        "model": {"id": "llama-3.1-8b", "precision": "bf16", "max_context_tokens": CONTEXT},
        "traffic": {
            "peak_requests_per_s": peak, "avg_requests_per_s": peak * avg_share,
            "request_mix": [
                {"name": f"c{i}", "share": share / total, "input_tokens": i_tok, "output_tokens": o_tok}
                for i, (share, i_tok, o_tok) in enumerate(classes)
            ],
        },
        "slo": {"ttft_ms_p95": ttft, "tpot_ms_p95": tpot},
        # One region keeps the property test fast; the property is per offering, so any catalog slice shows it.
        "placement": {"clouds": ["aws"], "regions": ["us-east-1"]},
    })


CLASS = st.tuples(st.floats(0.02, 1.0), st.integers(20, 7000), st.integers(10, 1000))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    classes=st.lists(CLASS, min_size=2, max_size=4),
    peak=st.floats(0.5, 80.0),
    avg_share=st.floats(0.1, 1.0),
    ttft=st.floats(300.0, 6000.0),
    tpot=st.floats(30.0, 200.0),
    keep=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_a_plan_never_costs_less_than_the_plan_for_a_subset_of_its_traffic(
    classes: list[tuple[float, int, int]], peak: float, avg_share: float, ttft: float, tpot: float, keep: list[bool]
) -> None:
    classes = [(s, i, min(o, CONTEXT - i)) for s, i, o in classes]
    whole = mix_spec(classes, peak, avg_share, ttft, tpot)
    names = [c[0] for c in whole.traffic.classes() if keep[int(c[0][1:])]] or ["c0"]
    subset = whole.for_classes(names)
    whole_plan = plan(whole, CATALOG, top=1, mixed=False)
    subset_plan = plan(subset, CATALOG, top=1, mixed=False)
    if whole_plan.chosen is None:
        return
    assert subset_plan.chosen is not None, "serving more traffic was feasible, serving part of it was not"
    assert subset_plan.chosen.monthly_usd_expected <= whole_plan.chosen.monthly_usd_expected + 0.01


def test_the_issue_example_plans_at_or_above_its_long_only_subset() -> None:
    spec = load_spec(ROOT / "examples" / "mixed-traffic-8b.yaml")
    whole, long_only = plan(spec, CATALOG), plan(spec.for_classes(["long"]), CATALOG)
    assert whole.chosen is not None and long_only.chosen is not None
    whole_cost = whole.mixed.monthly_usd_expected if whole.mixed else whole.chosen.monthly_usd_expected
    long_cost = long_only.mixed.monthly_usd_expected if long_only.mixed else long_only.chosen.monthly_usd_expected
    assert whole_cost >= long_cost
    assert whole.chosen.monthly_usd_expected >= long_only.chosen.monthly_usd_expected
