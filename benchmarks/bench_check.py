"""Wall time of `servestack check` (offline preview + both policy packs) on every committed stack.

Run by hand: `python benchmarks/bench_check.py [--repeat N]`. Target: under 6 s per stack on a
2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    print(f"servestack check -s STACK --json, one process each, {args.repeat} runs (wall s):")
    for stack in stacks:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "servestack.cli", "check", "-C", str(ROOT), "-s", stack, "--json"],
                capture_output=True, text=True, check=False,
            )
            times.append(time.perf_counter() - t0)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"check -s {stack} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        print(f"  {stack:10s} best {min(times):.2f}  median {statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
