"""The joint plan: one cluster for several workloads against one cluster each, priced with the plan's own costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from servestack.catalog import load_catalog
from servestack.catalog.platform import HOURS_PER_MONTH, platform_monthly_usd, platform_prices
from servestack.catalog.store import choose_catalog
from servestack.contract.environment import spec_for_environment
from servestack.selector import plan
from servestack.selector.joint import joint_plan, own_plan_expected, with_zones
from servestack.workload import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(choose_catalog().path)


def _specs(kind: str, *names: str):  # type: ignore[no-untyped-def]
    return [spec_for_environment(load_spec(ROOT / "examples" / f"{n}.yaml"), kind) for n in names]


def test_one_cluster_pays_the_shared_platform_once(catalog) -> None:  # type: ignore[no-untyped-def]
    joint = joint_plan(_specs("prod", "chat-70b", "summarize-8b"), catalog)
    one = joint.one_cluster
    assert one is not None and joint.mode == "one_cluster"
    # Independently: each chosen candidate alone pays a whole platform; together one platform less per extra
    # workload (AWS NAT is per zone, so the shared part does not depend on the node count).
    alone = sum(c.monthly_usd_expected for c in one.candidates)
    # Each server keeps its own load balancer; the rest of the platform is shared.
    load_balancer = platform_prices(one.cloud).load_balancer_per_hour * HOURS_PER_MONTH
    shared = platform_monthly_usd(one.cloud, joint.zones, 0, 0) - load_balancer
    assert one.monthly_usd_expected == pytest.approx(alone - (len(one.candidates) - 1) * shared)
    assert one.shared_expected == pytest.approx(shared)
    assert sum(one.shares()) == pytest.approx(shared)


def test_separate_clusters_are_each_workloads_own_best_plan(catalog) -> None:  # type: ignore[no-untyped-def]
    specs = _specs("prod", "chat-70b", "summarize-8b")
    joint = joint_plan(specs, catalog)
    own = [plan(with_zones(s, joint.zones), catalog, top=1).chosen for s in specs]
    assert joint.separate_expected == pytest.approx(sum(c.monthly_usd_expected for c in own if c is not None))
    assert joint.saving_usd == pytest.approx(joint.separate_expected - joint.one_cluster.monthly_usd_expected)


def test_every_workload_runs_in_the_same_region_and_zones(catalog) -> None:  # type: ignore[no-untyped-def]
    one = joint_plan(_specs("prod", "chat-70b", "summarize-8b", "mixtral-moe"), catalog).one_cluster
    assert one is not None
    assert {(c.cloud, c.region) for c in one.candidates} == {(one.cloud, one.region)}
    for c in one.candidates:
        assert set(one.zone_names) <= set(c.offering.zones), c.instance_type


def test_separate_clusters_win_when_cheaper(catalog) -> None:  # type: ignore[no-untyped-def]
    # dev (spot only): chat-70b's and summarize-8b's cheapest stacks are in different regions, and the
    # cheapest region serving both costs more than the platform a second cluster adds.
    joint = joint_plan(_specs("dev", "chat-70b", "summarize-8b"), catalog)
    assert joint.one_cluster is not None
    assert joint.separate_expected < joint.one_cluster.monthly_usd_expected
    assert joint.mode == "separate_clusters"
    assert joint.summary().startswith("separate clusters:")


def test_no_common_region_means_separate_clusters(catalog) -> None:  # type: ignore[no-untyped-def]
    a, b = _specs("prod", "summarize-8b", "mixtral-moe")
    a = a.model_copy(update={"placement": a.placement.model_copy(update={"clouds": ["aws"]})})
    b = b.model_copy(update={"name": "other", "placement": b.placement.model_copy(update={"clouds": ["gcp"]})})
    joint = joint_plan([a, b], catalog)
    assert joint.feasible and joint.one_cluster is None
    assert joint.mode == "separate_clusters" and joint.saving_usd == 0


def test_the_widest_zone_count_applies_in_one_cluster_and_each_spec_its_own_apart(  # type: ignore[no-untyped-def]
    catalog,
) -> None:
    a, b = _specs("prod", "summarize-8b", "mixtral-moe")
    b = b.model_copy(update={"availability": b.availability.model_copy(update={"zones": 3})})
    joint = joint_plan([a, b], catalog)
    assert joint.zones == 3
    assert joint.one_cluster is not None and len(joint.one_cluster.zone_names) == 3
    assert all(c.zones == 3 for c in joint.one_cluster.candidates)
    # Apart, summarize-8b keeps the two zones its spec asks for.
    assert [p.chosen.zones for p in joint.separate if p.chosen is not None] == [2, 3]


def test_separate_clusters_cost_what_each_workload_alone_costs(catalog) -> None:  # type: ignore[no-untyped-def]
    # A one-zone 405B model beside a three-zone 8B one: spreading the 405B floor over three zones in its own
    # cluster too priced "separate" at about $8,500/month more than it is and chose one cluster wrongly.
    big, small = _specs("prod", "llama-405b", "summarize-8b")
    small = small.model_copy(update={"availability": small.availability.model_copy(update={"zones": 3})})
    joint = joint_plan([big, small], catalog)
    alone = [plan(s, catalog, top=1) for s in (big, small)]
    assert joint.separate_expected == pytest.approx(sum(own_plan_expected(p) for p in alone))
    assert joint.separate[0].chosen is not None and joint.separate[0].chosen.zones == 1
    cheapest = min(joint.separate_expected, joint.one_cluster.monthly_usd_expected if joint.one_cluster else 1e12)
    chosen = joint.separate_expected if joint.mode == "separate_clusters" else joint.one_cluster.monthly_usd_expected
    assert chosen == cheapest


def test_the_one_cluster_ceiling_stays_within_the_summed_budgets(catalog) -> None:  # type: ignore[no-untyped-def]
    joint = joint_plan(_specs("prod", "chat-70b", "summarize-8b"), catalog)
    assert joint.budget_usd == 120000
    assert joint.one_cluster is not None and joint.one_cluster.monthly_usd_ceiling <= 120000
