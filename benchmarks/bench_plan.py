"""Speed of `servestack plan`: per process on every example, in-process on the bundled catalog, and at scale.

Run by hand: `python benchmarks/bench_plan.py`. Targets (2-core machine): under 1 s wall per process,
under 50 ms in-process on the bundled catalog, 100,000 synthetic offerings under 2 s with cost growing
linearly, peak RSS under 200 MB.
"""

from __future__ import annotations

import random
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from servestack.catalog import Catalog, load_catalog
from servestack.selector import plan
from servestack.sizing.model import _estimate_cached
from servestack.workload import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def per_process() -> None:
    print("servestack plan, one process each (wall s, best of 3):")
    exe = Path(sys.executable).with_name("servestack")
    for path in EXAMPLES:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([str(exe), "plan", str(path), "--json"], capture_output=True, check=False)
            times.append(time.perf_counter() - t0)
        print(f"  {path.name:28s} {min(times):.3f}")


def in_process() -> None:
    catalog = load_catalog()
    print(f"in-process selection on the bundled catalog ({len(catalog.offerings)} offerings), median of 20,")
    print("performance-model cache cleared before each run (ms):")
    for path in EXAMPLES:
        spec = load_spec(path)
        times = []
        for _ in range(20):
            _estimate_cached.cache_clear()
            t0 = time.perf_counter()
            plan(spec, catalog)
            times.append(time.perf_counter() - t0)
        print(f"  {path.name:28s} {statistics.median(times) * 1e3:.1f}")


def synthetic(n: int, base: Catalog) -> Catalog:
    """n offerings: the bundled ones replicated over invented regions with jittered prices."""
    rng = random.Random(n)
    rows = []
    source = base.offerings
    while len(rows) < n:
        o = source[len(rows) % len(source)]
        jitter = rng.uniform(0.8, 1.25)
        rows.append(replace(
            o,
            region=f"{o.region}-s{len(rows) // len(source)}",
            price_on_demand=o.price_on_demand * jitter if o.price_on_demand else None,
            price_spot=o.price_spot * jitter if o.price_spot else None,
            price_1y=o.price_1y * jitter if o.price_1y else None,
            price_3y=o.price_3y * jitter if o.price_3y else None,
        ))
    return Catalog.from_offerings(base.accelerators, rows, as_of=base.as_of)


def scale() -> None:
    base = load_catalog()
    spec = load_spec(ROOT / "examples" / "summarize-8b.yaml")
    print("synthetic catalogs, examples/summarize-8b.yaml (s, best of 3):")
    per_item = []
    for n in (10_000, 30_000, 100_000):
        cat = synthetic(n, base)
        best = min(_timed(lambda cat=cat: plan(spec, cat)) for _ in range(3))
        per_item.append(best / n)
        print(f"  {n:>7} offerings  {best:.3f} s  ({best / n * 1e6:.2f} us/offering)")
    print(f"  cost per offering, 100k vs 10k: x{per_item[-1] / per_item[0]:.2f} (1.0 = linear)")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss_mb:.0f} MB")


def _timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


if __name__ == "__main__":
    per_process()
    in_process()
    scale()
