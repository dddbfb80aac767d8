"""Speed of `servestack plan`: per process on every example, in-process on the bundled catalog, and at scale.

Run by hand: `python benchmarks/bench_plan.py` (`--cpu-only` for the per-process CPU figures alone,
`--tree DIR` to measure another checkout alongside, e.g. the main branch as "before"; `--instructions` adds
instruction counts under valgrind, which a loaded machine does not disturb).
Targets (2-core machine): under 0.3 s CPU per process (user + system, median of 20: wall time on a shared
machine is mostly waiting), also with a refreshed catalog ten times the bundled one; under 50 ms
in-process on the bundled catalog; 100,000 synthetic offerings under 2 s with cost growing linearly;
peak RSS under 200 MB.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
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


def _child_cpu(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """User + system CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, capture_output=True, check=True, env=env, cwd=cwd)  # `-m` puts cwd first on sys.path
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _bigger_catalog(cache: Path, times: int) -> None:
    """A refreshed catalog in `cache` holding every bundled price row `times` over (invented regions)."""
    from servestack.catalog.load import ACCELERATORS_FILE, DATA_DIR, OFFERINGS_FILE

    offerings = json.loads((DATA_DIR / OFFERINGS_FILE).read_text())
    rows = offerings["prices"]
    offerings["prices"] = [dict(r, region=r["region"] if k == 0 else f"{r['region']}-x{k}")
                           for k in range(times) for r in rows]
    offerings["as_of"] = "2099-01-01"
    target = cache / "servestack" / "catalog" / "2099-01-01"
    target.mkdir(parents=True)
    (target / OFFERINGS_FILE).write_text(json.dumps(offerings))
    (target / ACCELERATORS_FILE).write_text((DATA_DIR / ACCELERATORS_FILE).read_text())


def per_process_cpu(repeat: int = 20, trees: tuple[Path, ...] = (ROOT,)) -> None:
    """CPU per `servestack plan` process: first run (validates and compiles the catalog), then median and best
    of `repeat`, for the text and the JSON answer.

    `trees` are the source trees the processes import (`--tree DIR` adds another checkout to compare); their
    runs alternate, so a load that comes and goes on a shared machine weighs on each alike. Bytecode is cached
    in a temporary directory (PYTHONPYCACHEPREFIX) and written by the first run, as an installed package has
    its .pyc files; with PYTHONDONTWRITEBYTECODE set every run would compile the sources again.
    """
    spec = str(ROOT / "examples" / "chat-70b.yaml")
    print(f"servestack plan examples/chat-70b.yaml on {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())},")
    print(f"CPU s per process (user + system; first run, then median / best of {repeat}):")
    for label, times in (("bundled catalog", 0), ("refreshed catalog x10 rows", 10)):
        for flags in ([], ["--json"]):
            args = [sys.executable, "-m", "servestack.cli", "plan", spec, *flags]
            with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as pycache:
                if times:
                    _bigger_catalog(Path(cache), times)
                envs = []
                for tree in trees:
                    env = dict(os.environ, XDG_CACHE_HOME=cache, PYTHONPATH=str(tree),
                               PYTHONPYCACHEPREFIX=f"{pycache}/{len(envs)}")
                    env.pop("PYTHONDONTWRITEBYTECODE", None)
                    envs.append(env)
                first = [_child_cpu(args, env, tree) for tree, env in zip(trees, envs, strict=True)]
                runs: list[list[float]] = [[] for _ in trees]
                for _ in range(repeat):
                    for i, (tree, env) in enumerate(zip(trees, envs, strict=True)):
                        runs[i].append(_child_cpu(args, env, tree))
            for tree, f, r in zip(trees, first, runs, strict=True):
                name = f"{label}{' --json' if flags else ''}"
                where = f"  [{tree}]" if len(trees) > 1 else ""
                print(f"  {name:36s} first {f:.3f}  then {statistics.median(r):.3f} / {min(r):.3f}"
                      f"  (target < 0.3){where}")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def instructions(trees: tuple[Path, ...] = (ROOT,)) -> None:
    """Instructions executed by one `servestack plan` process, counted by valgrind's callgrind.

    Unlike CPU time, the count does not move with the load other processes put on a shared machine, so it
    shows a change of a few percent that CPU time hides in noise. Needs `valgrind` on PATH (each run is
    about 50 times slower than a plain one).
    """
    import re
    import shutil

    if shutil.which("valgrind") is None:
        print("instructions: valgrind not found; skipped")
        return
    spec = str(ROOT / "examples" / "chat-70b.yaml")
    print("instructions per `servestack plan examples/chat-70b.yaml` process (callgrind, millions):")
    with tempfile.TemporaryDirectory() as scratch:
        for i, tree in enumerate(trees):
            env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0",
                       PYTHONPYCACHEPREFIX=f"{scratch}/pycache{i}")
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            for flags in ([], ["--json"]):
                args = [sys.executable, "-m", "servestack.cli", "plan", spec, *flags]
                subprocess.run(args, capture_output=True, check=True, env=env, cwd=tree)  # writes the bytecode
                proc = subprocess.run(
                    ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out", *args],
                    capture_output=True, text=True, check=True, env=env, cwd=tree,
                )
                found = re.search(r"Collected : (\d+)", proc.stderr)
                count = f"{int(found.group(1)) / 1e6:,.0f}" if found else "?"
                print(f"  plan{' --json' if flags else '':8s} {count:>8s}  [{tree}]")


def catalog_load() -> None:
    """In-process CPU of loading a catalog: validating the data files vs reading the compiled copy."""
    from servestack.catalog import load
    from servestack.catalog.store import choose_catalog

    print("catalog load in-process, CPU ms (best of 5): validating the files / from the compiled copy")
    saved = os.environ.get("XDG_CACHE_HOME")
    for label, times in (("bundled catalog", 0), ("refreshed catalog x10 rows", 10)):
        with tempfile.TemporaryDirectory() as cache:
            if times:
                _bigger_catalog(Path(cache), times)
            os.environ["XDG_CACHE_HOME"] = cache
            directory = choose_catalog().path
            figures = []
            for compiled_copy in (False, True):
                runs = []
                for _ in range(5):
                    if not compiled_copy:
                        for stale in Path(cache, "servestack", "compiled").glob("*.marshal"):
                            stale.unlink()
                    load._load_cached.cache_clear()
                    t0 = time.process_time()
                    load.load_catalog(directory)
                    runs.append(time.process_time() - t0)
                figures.append(min(runs) * 1e3)
            print(f"  {label:28s} {figures[0]:.1f} / {figures[1]:.1f}")
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved
    load._load_cached.cache_clear()


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
    others = tuple(Path(sys.argv[i + 1]) for i, arg in enumerate(sys.argv) if arg == "--tree")
    per_process_cpu(trees=(*others, ROOT))
    if "--instructions" in sys.argv:
        instructions(trees=(*others, ROOT))
    catalog_load()
    if "--cpu-only" in sys.argv:
        sys.exit(0)
    per_process()
    in_process()
    scale()
