"""A platform team's own small Pulumi program that imports two servestack components."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

PLATFORM_PROGRAM = """
import pulumi
from servestack.components.aws import ContainerRegistry, GpuNodeGroup

tags = {"team": "vision", "environment": "staging", "cost-center": "cc-77", "managed-by": "servestack"}
cluster = pulumi.Config("platform").require("clusterName")
GpuNodeGroup("inference", {
    "cluster_name": cluster,
    "subnet_ids": ["subnet-1", "subnet-2"],
    "instance_type": "g6.xlarge",
    "accelerator": "L4",
    "accelerators_per_node": 1,
    "pricing": "spot",
    "min_size": 0,
    "desired_size": 1,
    "max_size": 4,
    "root_volume_gib": 100,
    "tags": tags,
})
images = ContainerRegistry("images", {"tags": tags, "keep_images": 20})
pulumi.export("registry", images.repository_url)
"""

Runner = Callable[..., Any]  # the run_pulumi fixture (conftest.py)


def test_platform_program_previews_offline(run_pulumi: Runner, tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(PLATFORM_PROGRAM)
    g = run_pulumi(program, config={"platform:clusterName": "shared-gpu"})
    types = sorted({r.type for r in g})
    assert "servestack:index:GpuNodeGroup" in types and "servestack:index:ContainerRegistry" in types
    ng = g.one("aws:eks/nodeGroup:NodeGroup")
    assert ng.inputs["clusterName"] == "shared-gpu"
    assert ng.inputs["capacityType"] == "SPOT"
    assert ng.urn.startswith("urn:pulumi:test::servestack::servestack:index:GpuNodeGroup$aws:eks/nodeGroup:NodeGroup::")
    assert g.one("aws:ecr/repository:Repository").inputs["imageTagMutability"] == "IMMUTABLE"
    assert not g.of("aws:eks/cluster:Cluster"), "importing components must not drag in a cluster"
    assert pulumi.runtime.is_dry_run() is False


def test_platform_program_through_servestack_preview(tmp_path: Path) -> None:
    from servestack.preview import run_preview

    (tmp_path / "__main__.py").write_text(PLATFORM_PROGRAM)
    (tmp_path / "Pulumi.yaml").write_text("name: platform\nruntime: python\n")
    (tmp_path / "Pulumi.staging.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  platform:clusterName: shared-gpu\n"
    )
    result = run_preview(tmp_path, "staging")
    (group,) = result.by_type("aws:eks/nodeGroup:NodeGroup")
    assert group.parent is not None and group.parent.endswith("servestack:index:GpuNodeGroup::inference")
    assert ".dkr.ecr.us-east-1.amazonaws.com/" in result.outputs["registry"]
    # g6.xlarge spot in us-east-1 is in the catalog, so the graph has a price.
    assert result.monthly_usd_ceiling is not None and result.monthly_usd_ceiling > 0
