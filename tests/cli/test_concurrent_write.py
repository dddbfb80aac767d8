"""Two `plan --write` on one environment at the same time: the stack file is always one whole plan."""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from servestack.generate import write_stack_config
from servestack.yamlio import load_yaml_file, write_text_atomically

ROUNDS = 40

# Two different plans (different clouds, so even the key set differs), written with force like a re-plan.
# The file must always hold exactly one of the plans written, whole.
PLAN_A: dict[str, Any] = {
    "servestack:environment": "prod",
    "servestack:budgetMonthlyUsd": 5000,
    "servestack:deployment": {"cloud": "aws", "region": "us-east-1", "instanceType": "g6.xlarge", "nodesPeak": 4},
    "aws:region": "us-east-1",
}
PLAN_B: dict[str, Any] = {
    "servestack:environment": "prod",
    "servestack:budgetMonthlyUsd": 7000,
    "servestack:deployment": {"cloud": "gcp", "region": "us-central1", "machineType": "g2-standard-8",
                              "nodesPeak": 2, "zones": ["us-central1-a", "us-central1-b"]},
    "gcp:region": "us-central1",
}


def _slow_renames() -> None:
    """Widen the gap between writing a file and renaming it into place, as a loaded machine or slow disk does.

    Without it, two writers overlap only by luck on a busy machine; with it, every round overlaps. Applied
    in the writer processes only (each is a fork of the test process, so nothing leaks back).
    """
    real_replace = os.replace

    def slow_replace(src: Any, dst: Any) -> None:
        time.sleep(0.005)
        real_replace(src, dst)

    os.replace = slow_replace  # type: ignore[assignment]


def _variants(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan and the same plan with another budget: a writer alternates them so every round writes."""
    return [plan, {**plan, "servestack:budgetMonthlyUsd": plan["servestack:budgetMonthlyUsd"] + 1}]


WRITTEN = _variants(PLAN_A) + _variants(PLAN_B)


def _writer(project: str, plan: dict[str, Any], errors: Any) -> None:
    _slow_renames()
    try:
        for i in range(ROUNDS):
            write_stack_config(Path(project), "prod", _variants(plan)[i % 2], force=True)
    except BaseException:
        errors.put(traceback.format_exc())


def _reader(path: str, stop: Any, seen: Any) -> None:
    """Reads the file as often as it can while the writers run; records anything that is not a whole plan."""
    while not stop.is_set():
        try:
            config = load_yaml_file(Path(path), "stack file")["config"]
        except FileNotFoundError:
            continue
        except BaseException as exc:
            seen.put(f"unreadable: {exc}")
            continue
        owned = {k: v for k, v in config.items() if k != "servestack:generated"}
        if owned not in WRITTEN:
            seen.put(f"mixed: {owned}")


def test_concurrent_plan_writes_leave_one_whole_plan_and_no_temp_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    stack_file = tmp_path / "stacks" / "Pulumi.prod.yaml"
    write_stack_config(tmp_path, "prod", PLAN_A, force=True)

    ctx = multiprocessing.get_context("fork")
    errors, seen, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    reader = ctx.Process(target=_reader, args=(str(stack_file), stop, seen))
    writers = [ctx.Process(target=_writer, args=(str(tmp_path), plan, errors)) for plan in (PLAN_A, PLAN_B)]
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    stop.set()
    reader.join(timeout=30)

    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, failures[0]
    assert all(w.exitcode == 0 for w in writers)
    bad_reads = []
    while not seen.empty():
        bad_reads.append(seen.get())
    assert not bad_reads, bad_reads[:3]
    config = load_yaml_file(stack_file, "stack file")["config"]
    assert {k: v for k, v in config.items() if k != "servestack:generated"} in WRITTEN
    assert sorted(p.name for p in stack_file.parent.iterdir()) == ["Pulumi.prod.yaml"]


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    # The rename fails (a non-empty directory holds the name): the temporary file must not stay behind.
    target = tmp_path / "Pulumi.dev.yaml"
    target.mkdir()
    (target / "keep").write_text("")
    with pytest.raises(OSError):
        write_text_atomically(target, "config: {a: 1}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.dev.yaml"]
    assert [p.name for p in target.iterdir()] == ["keep"]


def test_the_written_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "Pulumi.dev.yaml"
    target.write_text("config: {}\n")
    target.chmod(0o640)
    write_text_atomically(target, "config: {a: 1}\n")
    assert target.read_text() == "config: {a: 1}\n" and (target.stat().st_mode & 0o777) == 0o640
