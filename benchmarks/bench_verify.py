"""verify's own overhead, and what it measures against a server set to known latencies.

1. Overhead: the requests/s one core can drive. The fake OpenAI-compatible server (tests/verify/fake_openai.py)
   runs in its own process with zero TTFT and zero token gap; the load generator runs here, pinned to one
   core, at rising offered rates. A rate is sustained when the achieved rate is within 5 % of the offered
   one and no request failed; the client-side TTFT at zero server latency is verify's own added latency.
2. Measured vs set: the fake server set to several TTFT / token gap / error rate combinations; verify's p50
   and p95 against the set values.

    .venv/bin/python benchmarks/bench_verify.py [--seconds S] [--max-rate R]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from servestack.verify import LoadConfig, SloTargets, run_load, summarize  # noqa: E402

FAKE = REPO / "tests" / "verify" / "fake_openai.py"


class FakeServer:
    """The fake server as a child process on a free port, pinned to `cpu` when the machine has two."""

    def __init__(self, ttft: float = 0.0, gap: float = 0.0, error_rate: float = 0.0, cpu: int | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE), "--ttft", str(ttft), "--gap", str(gap), "--error-rate", str(error_rate)],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def load(port: int, rate: float, seconds: float, output_tokens: int, input_words: int = 100) -> dict[str, Any]:
    config = LoadConfig(url=f"http://127.0.0.1:{port}/v1/completions", api="completions", model="bench", rate=rate,
                        duration_s=seconds, warmup_s=min(2.0, seconds / 2), timeout_s=30.0,
                        input_words=input_words, max_tokens=output_tokens)
    return summarize(run_load(config), SloTargets(), None).to_json()


def overhead(seconds: float, max_rate: float) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    client_cpu, server_cpu = cpus[0], (cpus[1] if len(cpus) > 1 else None)
    os.sched_setaffinity(0, {client_cpu})
    print(f"## Overhead: one client core (cpu {client_cpu}), fake server on cpu {server_cpu}, zero server latency\n")
    print("| offered req/s | output tokens | achieved req/s | errors | client TTFT p50 / p99 ms "
          "| client CPU ms/request | sustained |")
    print("|---:|---:|---:|---:|---|---:|---|")
    with FakeServer(cpu=server_cpu) as server:
        load(server.port, 10.0, 0.5, 4)  # pay the imports before timing
        for tokens in (16, 128):
            rate = 50.0
            while rate <= max_rate:
                cpu = time.process_time()
                doc = load(server.port, rate, seconds, tokens)
                cpu_ms = 1000 * (time.process_time() - cpu) / (doc["requests"] + doc["warmup_requests"])
                ok = doc["errors"] == 0 and doc["requests_per_s"] >= 0.95 * rate
                print(f"| {rate:g} | {tokens} | {doc['requests_per_s']:.1f} | {doc['errors']} | "
                      f"{doc['ttft_ms']['p50']:.1f} / {doc['ttft_ms']['p99']:.1f} | {cpu_ms:.2f} | "
                      f"{'yes' if ok else 'no'} |", flush=True)
                if not ok:
                    break
                rate *= 2
    os.sched_setaffinity(0, set(cpus))


def measured_vs_set(seconds: float) -> None:
    print("\n## Measured vs set (rate 20 req/s, 32 output tokens)\n")
    print("| set TTFT ms | set gap ms | set errors | TTFT p50 / p95 ms | TPOT p50 / p95 ms | errors | TTFT p50 err |"
          " TPOT p50 err |")
    print("|---:|---:|---:|---|---|---:|---:|---:|")
    for ttft, gap, errors in ((0.05, 0.01, 0.0), (0.2, 0.02, 0.0), (0.5, 0.05, 0.0), (0.1, 0.02, 0.05)):
        with FakeServer(ttft, gap, errors) as server:
            doc = load(server.port, 20.0, seconds, 32)
        t, p = doc["ttft_ms"], doc["tpot_ms"]
        print(f"| {ttft * 1000:g} | {gap * 1000:g} | {errors:.0%} | {t['p50']:.1f} / {t['p95']:.1f} | "
              f"{p['p50']:.2f} / {p['p95']:.2f} | {doc['errors']}/{doc['requests']} | "
              f"{t['p50'] / (ttft * 1000) - 1:+.1%} | {p['p50'] / (gap * 1000) - 1:+.1%} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per point (default 8)")
    parser.add_argument("--max-rate", type=float, default=3200.0, help="highest offered rate tried (default 3200)")
    args = parser.parse_args()
    overhead(args.seconds, args.max_rate)
    measured_vs_set(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
