"""Policies that read the stack's own choice accept a fleet's several pools (servestack:fleet), not one."""

from __future__ import annotations

from typing import Any

from servestack.policies.base import StackSettings
from servestack.policies.common import allowed_accelerators
from tests.costing.graphs import Plan, aws_stack
from tests.policies.helpers import changed, run

AWS = aws_stack(Plan())
NG = next(r for r in AWS if r.type == "aws:eks/nodeGroup:NodeGroup" and r.name == "gpu-base")


def _server(pool: str, instance_type: str, accelerator: str) -> dict[str, Any]:
    return {"workload": pool, "pool": pool,
            "deployment": {"cloud": "aws", "region": "us-east-1", "instanceType": instance_type,
                           "accelerator": accelerator}}


FLEET = StackSettings.from_config({
    "servestack:fleet": {"servers": [_server("chat", "p4d.24xlarge", "A100-40GB"),
                                     _server("embed", "g6e.xlarge", "L40S")]},
})


def test_settings_list_every_pool() -> None:
    assert FLEET.cloud == "aws"
    assert FLEET.accelerators == ("A100-40GB", "L40S")
    assert FLEET.instance_types == ("p4d.24xlarge", "g6e.xlarge")


def test_every_pools_gpu_is_allowed_and_nothing_else() -> None:
    # Before, a multi-workload stack had no servestack:deployment, so the rule judged nothing at all.
    assert run(allowed_accelerators.RULE, NG, settings=FLEET).status == "pass"
    chat = changed(NG, ["instanceTypes"], ["p4d.24xlarge"])
    assert run(allowed_accelerators.RULE, chat, settings=FLEET).status == "pass"
    swapped = changed(NG, ["instanceTypes"], ["p5.48xlarge"])
    assert run(allowed_accelerators.RULE, swapped, settings=FLEET).texts == [
        "instance type p5.48xlarge is not allowed (servestack:fleet: p4d.24xlarge, g6e.xlarge)",
        "accelerator H100 (p5.48xlarge) is not allowed (servestack:fleet: A100-40GB, L40S)",
    ]
