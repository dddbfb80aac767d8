"""Showback: each workload's direct cost by its tags, and the shared cost split by GPU cost."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from servestack.catalog import load_catalog
from servestack.catalog.platform import HOURS_PER_MONTH
from servestack.catalog.pricing import hourly_usd
from servestack.costing import cost_resources
from servestack.costing.resources import Resource
from tests.costing.graphs import Plan, aws_stack, res


def _owned(r: Resource, workload: str, name: str) -> Resource:
    """`r` renamed and tagged as one workload's (as a fleet pool's node group is)."""
    inputs: dict[str, Any] = {**r.inputs, "tags": {**r.inputs["tags"], "workload": workload}}
    return replace(r, name=name, urn=r.urn.replace(f"::{r.name}", f"::{name}"), inputs=inputs)


def _two_workload_graph() -> list[Resource]:
    """One cluster (NAT, control plane, system nodes: untagged, shared) with two pools: chat on 2 g6e.12xlarge,
    embed on 1 g6e.xlarge, and embed's load balancer found through its namespace's labels."""
    plan = Plan(instance_type="g6e.12xlarge", nodes_min=2, nodes_avg=2, nodes_peak=2, pricing_base="on_demand")
    graph = [r for r in aws_stack(plan) if r.type != "kubernetes:core/v1:Service"]
    chat = next(r for r in graph if r.name == "gpu-base")
    graph = [_owned(chat, "chat", "chat-gpu-base") if r is chat else r for r in graph]
    embed = _owned(chat, "embed", "embed-gpu-base")
    embed.inputs["instanceTypes"] = ["g6e.xlarge"]
    embed.inputs["scalingConfig"] = {"minSize": 1, "desiredSize": 1, "maxSize": 1}
    namespace = res("kubernetes:core/v1:Namespace", "embed-ns", {"metadata": {"name": "embed", "labels": {
        "workload": "embed", "environment": "prod", "managed-by": "servestack"}}})
    service = res("kubernetes:core/v1:Service", "embed-lb", {"metadata": {"name": "embed", "namespace": "embed"},
                                                             "spec": {"type": "LoadBalancer"}})
    return [*graph, embed, namespace, service]


def _on_demand(instance_type: str) -> float:
    offering = load_catalog().find_offering("aws", "us-east-1", instance_type)
    assert offering is not None
    price = hourly_usd(offering, "on_demand")
    assert price is not None
    return price * HOURS_PER_MONTH


def test_direct_cost_follows_the_workload_tag_and_the_namespace() -> None:
    report = cost_resources(_two_workload_graph(), region="us-east-1")
    show = report.showback
    assert show is not None
    chat, embed = show.share("chat"), show.share("embed")
    assert chat.gpu_expected == pytest.approx(2 * _on_demand("g6e.12xlarge"))
    assert embed.gpu_expected == pytest.approx(_on_demand("g6e.xlarge"))
    lb = next(line for line in report.lines if line.item == "load-balancer")
    volumes = sum(line.expected or 0 for line in report.lines
                  if line.item == "volumes" and line.name == "embed-gpu-base")
    assert embed.direct_expected == pytest.approx(embed.gpu_expected + volumes + (lb.expected or 0))


def test_shared_cost_is_split_by_gpu_cost_and_the_parts_add_up() -> None:
    report = cost_resources(_two_workload_graph(), region="us-east-1")
    show = report.showback
    assert show is not None
    shared_lines = [line for line in report.lines
                    if line.known and (line.name in ("gpu-cluster", "system") or line.item == "nat")]
    assert show.shared_expected >= sum(line.expected or 0 for line in shared_lines) > 0
    chat, embed = show.share("chat"), show.share("embed")
    assert chat.shared_expected / embed.shared_expected == pytest.approx(chat.gpu_expected / embed.gpu_expected)
    assert chat.expected + embed.expected == pytest.approx(report.expected)
    assert chat.ceiling + embed.ceiling == pytest.approx(report.ceiling)
    assert report.as_dict()["showback"]["rule"] == "shared cost split in proportion to each workload's GPU cost"


def test_a_graph_without_workload_tags_is_all_shared() -> None:
    report = cost_resources(aws_stack(), region="us-east-1")
    assert report.showback is not None
    assert report.showback.shares == ()
    assert report.showback.shared_expected == pytest.approx(report.expected)
