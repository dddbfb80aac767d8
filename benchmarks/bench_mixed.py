"""Speed of mixed-fleet selection (servestack.selector.mixed) on the bundled catalog.

Run by hand: `python benchmarks/bench_mixed.py`. Target (2-core machine): the integer program solves in
under 1 s on the bundled catalog with placement open to every cloud and region. Reported per spec (median
of 5): the number of candidate columns, the HiGHS solve alone, and the whole mixed-fleet search (columns:
every class sized on every offering and layout, then the solve and the exact re-pricing of the pools), with
the performance model's cache cleared before each run.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from servestack.catalog import load_catalog
from servestack.selector import plan
from servestack.selector.mixed import _columns, _solve, mixed_fleet
from servestack.sizing.model import _estimate_cached
from servestack.workload import WorkloadSpec, load_spec

ROOT = Path(__file__).resolve().parents[1]


def open_placement(spec: WorkloadSpec) -> WorkloadSpec:
    """The spec with every cloud and region allowed: the largest program the bundled catalog gives."""
    data = spec.model_dump(exclude_none=True)
    data["placement"] = {}
    return WorkloadSpec.model_validate(data)


def four_classes() -> WorkloadSpec:
    return WorkloadSpec.model_validate({
        "name": "four", "model": {"id": "llama-3.1-8b", "max_context_tokens": 16384},
        "traffic": {"peak_requests_per_s": 50, "avg_requests_per_s": 25, "request_mix": [
            {"share": 0.6, "input_tokens": 150, "output_tokens": 80},
            {"share": 0.25, "input_tokens": 1200, "output_tokens": 250},
            {"share": 0.1, "input_tokens": 5000, "output_tokens": 500},
            {"share": 0.05, "input_tokens": 12000, "output_tokens": 700}]},
        "slo": {"ttft_ms_p95": 3000, "tpot_ms_p95": 100},
    })


def main() -> None:
    catalog = load_catalog()
    specs = {p.stem: open_placement(load_spec(p)) for p in sorted((ROOT / "examples").glob("mixed-*.yaml"))}
    specs["four-classes-8b"] = four_classes()
    print(f"bundled catalog: {len(catalog.offerings)} offerings; placement open to every cloud and region")
    print(f"{'spec':22s} {'columns':>8s} {'solve s':>8s} {'search s':>9s}  result")
    for name, spec in specs.items():
        homogeneous = plan(spec, catalog, top=1, mixed=False).chosen
        assert homogeneous is not None, name
        solves, searches = [], []
        columns = []
        fleet = None
        for _ in range(5):
            _estimate_cached.cache_clear()
            t0 = time.perf_counter()
            fleet = mixed_fleet(spec, catalog, homogeneous)
            searches.append(time.perf_counter() - t0)
            columns = _columns(spec, catalog, None)
            t1 = time.perf_counter()
            _solve(spec, columns)
            solves.append(time.perf_counter() - t1)
        result = (f"mixed ${fleet.monthly_usd_expected:,.0f} vs homogeneous ${homogeneous.monthly_usd_expected:,.0f} "
                  f"(saves {fleet.saving_share:.1%})" if fleet else
                  f"homogeneous ${homogeneous.monthly_usd_expected:,.0f} (no cheaper mixed fleet)")
        solve, search = statistics.median(solves), statistics.median(searches)
        print(f"{name:22s} {len(columns):8d} {solve:8.3f} {search:9.3f}  {result}")


if __name__ == "__main__":
    main()
