"""Start-up and hot-path speed that tests must not assert (a loaded 2-core machine would fail them).

Run by hand: `python benchmarks/bench_startup.py`. Targets: the bundled catalog loads cold (fresh process,
pydantic import included) in under 0.5 s; one performance-model estimate plus its operating point under 1 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from servestack.catalog import load_catalog
from servestack.sizing import estimate
from servestack.sizing.model import _estimate_cached
from servestack.workload import KNOWN_MODELS


def catalog_cold_load(repeat: int = 5) -> None:
    code = ("import time; t=time.perf_counter(); import servestack.catalog as c; c.load_catalog(); "
            "print(time.perf_counter()-t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(repeat)]
    print(f"catalog cold load: median {statistics.median(runs):.3f} s, best {min(runs):.3f} s (target < 0.5 s)")


def estimate_speed() -> None:
    accelerators = load_catalog().accelerators
    arch = KNOWN_MODELS["qwen2.5-72b"]
    _estimate_cached.cache_clear()
    start = time.perf_counter()
    calls = 0
    for acc in accelerators.values():
        for count in (1, 2, 4, 8):
            est = estimate(arch, "fp8", acc, count, 1, 1234 + count, 321)
            est.operating_point(50.0, 1500.0)
            calls += 1
    per_call_ms = (time.perf_counter() - start) / calls * 1e3
    print(f"estimate + operating point: {per_call_ms:.3f} ms per call over {calls} calls (target < 1 ms)")


if __name__ == "__main__":
    catalog_cold_load()
    estimate_speed()
