"""Random request mixes, end to end: every feasible plan of a spec whose traffic is a mix of 2-4 request
size classes writes a stack that previews, costs what the plan said (expected and ceiling, to the cent) and
passes both packs.

The specs are the single-workload property's (tests/test_random_specs_end_to_end.py) with the average
lengths replaced by a mix; that a plan never costs less than the plan of a subset of its traffic is
tests/selector's property, not repeated here.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.test_random_specs_end_to_end import plan_write_check, specs

_INPUT = [100, 300, 1000, 2000, 3500, 6000]
_OUTPUT = [50, 100, 300, 600]
_TWENTIETHS = 20  # shares are whole twentieths, so they sum to exactly 1 as written


@st.composite
def mixes(draw: st.DrawFn, context: int) -> list[dict[str, Any]]:
    """2-4 classes whose shares sum to 1 and whose requests fit in `context` tokens."""
    count = draw(st.integers(2, 4))
    cuts = sorted(draw(st.lists(st.integers(1, _TWENTIETHS - 1), min_size=count - 1, max_size=count - 1,
                                unique=True)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, _TWENTIETHS], strict=True)]
    named = draw(st.booleans())
    classes = []
    for i, part in enumerate(parts):
        size = draw(st.tuples(st.sampled_from(_INPUT), st.sampled_from(_OUTPUT)).filter(
            lambda io: io[0] + io[1] <= context))
        item: dict[str, Any] = {"share": part / _TWENTIETHS, "input_tokens": size[0], "output_tokens": size[1]}
        if named:
            item["name"] = f"c{i}"
        classes.append(item)
    return classes


@st.composite
def mixed_specs(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(specs())
    traffic = spec["traffic"]
    del traffic["avg_input_tokens"], traffic["avg_output_tokens"]
    traffic["request_mix"] = draw(mixes(spec["model"]["max_context_tokens"]))
    return spec


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(spec=mixed_specs(), env=st.sampled_from(["prod", "staging", "dev"]))
# Mixed fleets win rarely on random mixes (one in about 25 busy ones): one that does, on GCP, every run.
@example(spec={
    "name": "rand-chat", "model": {"id": "qwen2.5-7b", "precision": "bf16", "max_context_tokens": 8192},
    "traffic": {"peak_requests_per_s": 20, "avg_requests_per_s": 10, "request_mix": [
        {"share": 0.9, "input_tokens": 300, "output_tokens": 100},
        {"share": 0.1, "input_tokens": 6000, "output_tokens": 100}]},
    "slo": {"ttft_ms_p95": 2000, "tpot_ms_p95": 150}, "availability": {"min_replicas": 1, "zones": 1},
    "placement": {"clouds": ["gcp"]}, "pricing": {"spot": "never", "commitment": "none"},
    "budget": {"monthly_usd": 400000},
}, env="prod")
# Found by a longer run of this property: two classes of one prompt length (6,000 tokens) planned on two pools;
# `plan --write` wrote the fleet and the program failed, the router cannot tell such classes apart.
@example(spec={
    "name": "rand-chat", "model": {"id": "llama-3.1-8b", "precision": "fp8", "max_context_tokens": 8192},
    "traffic": {"peak_requests_per_s": 30, "avg_requests_per_s": 15, "request_mix": [
        {"share": 0.9, "input_tokens": 6000, "output_tokens": 300},
        {"share": 0.1, "input_tokens": 6000, "output_tokens": 100}]},
    "slo": {"ttft_ms_p95": 5000, "tpot_ms_p95": 80}, "availability": {"min_replicas": 2, "zones": 1},
    "placement": {"clouds": ["aws"]}, "pricing": {"spot": "allowed", "commitment": "none"},
    "budget": {"monthly_usd": 400000},
}, env="prod")
def test_every_feasible_mix_plan_deploys_costs_what_it_said_and_passes_the_packs(
    spec: dict[str, Any], env: str, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = plan_write_check(spec, env, tmp_path_factory, capsys)
    event(f"{len(chosen['pools'])} pool(s)")
    pools = chosen["pools"]
    if len(pools) == 1:
        assert pools[0]["monthly_usd_expected"] == chosen["monthly_usd_expected"]
    # A mixed fleet's pool figures overlap its platform figure (per-node volumes in both); how they add up
    # is tests/selector/test_mixed.py's business. Here: the whole fleet previews at the plan's totals (above).
