"""The fleet contract: each rule of docs/architecture.md's "Fleets" has a case that breaks exactly it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from servestack.contract import Deployment
from servestack.contract.fleet import Fleet, FleetRuleError, RequestClass
from servestack.yamlio import load_yaml_file

FIXTURES = Path(__file__).parents[1] / "components" / "fixtures"


def _deployment(stack: str) -> dict[str, Any]:
    config = load_yaml_file(FIXTURES / f"Pulumi.{stack}.yaml", "stack")["config"]
    value: dict[str, Any] = config["servestack:deployment"]
    return value


AWS = _deployment("aws-spot")
GCP = _deployment("gcp")


def _server(workload: str, pool: str | None = None, deployment: dict[str, Any] | None = None,
            classes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {"workload": workload, "pool": pool or workload, "deployment": deployment or AWS}
    if classes is not None:
        server["requestClasses"] = classes
    return server


def _classes(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "share": share, "inputTokens": 200, "outputTokens": 100} for name, share in pairs]


def _rule_broken(value: dict[str, Any], workloads: list[str] | None = None) -> FleetRuleError:
    with pytest.raises(ValidationError) as info:
        if workloads is None:
            Fleet.model_validate(value)
        else:
            Fleet.from_stack_config(value, workloads)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    inner = (errors[0].get("ctx") or {}).get("error")
    assert isinstance(inner, FleetRuleError), errors
    return inner


def test_two_workloads_in_one_cluster_validate() -> None:
    fleet = Fleet.from_stack_config(
        {"servers": [_server("chat-70b"), _server("embed-8b")]}, ["chat-70b", "embed-8b"]
    )
    assert [s.pool for s in fleet.servers] == ["chat-70b", "embed-8b"]
    assert fleet.workloads() == ["chat-70b", "embed-8b"]
    assert (fleet.cloud, fleet.region, fleet.zone_names) == ("aws", "us-east-1", ["use1-az1", "use1-az2"])
    assert not fleet.is_single


def test_single_wraps_todays_stack_as_one_server_named_after_the_workload() -> None:
    deployment = Deployment.model_validate(AWS)
    fleet = Fleet.single("chat-70b", deployment)
    assert fleet.is_single
    (server,) = fleet.servers
    assert (server.workload, server.pool, server.request_classes) == ("chat-70b", "chat-70b", None)
    assert server.deployment == deployment
    assert fleet.to_stack_config() == {"servers": [{"workload": "chat-70b", "pool": "chat-70b",
                                                    "deployment": deployment.to_stack_config()}]}


def test_a_fleet_has_at_least_one_server() -> None:
    with pytest.raises(ValidationError, match="servers"):
        Fleet.model_validate({"servers": []})


@pytest.mark.parametrize(
    ("key", "value"),
    [("cloud", None), ("region", "us-west-2"), ("zones", None), ("zoneNames", ["use1-az1", "use1-az4"])],
)
def test_every_server_runs_in_the_same_cluster(key: str, value: Any) -> None:
    if key == "cloud":
        other = GCP
    elif key == "zones":
        other = {**AWS, "zones": 1, "zoneNames": ["use1-az1"], "replicasMin": 2, "nodesMin": 2}
    else:
        other = {**AWS, key: value}
    Deployment.model_validate(other)  # the other deployment is valid on its own: only the fleet rule breaks
    err = _rule_broken({"servers": [_server("chat-70b"), _server("embed-8b", deployment=other)]})
    assert err.path == f"servers[1].deployment.{key}"
    assert "same cloud, region, zones and zoneNames" in err.message


def test_pool_names_are_unique() -> None:
    err = _rule_broken({"servers": [_server("chat-70b", "gpu"), _server("embed-8b", "gpu")]})
    assert err.path == "servers[1].pool"
    assert "'gpu' is already the pool of servers[0]" in err.message


@pytest.mark.parametrize("field", ["pool", "workload"])
def test_pool_and_workload_are_dns_labels(field: str) -> None:
    server = _server("chat-70b")
    server[field] = "Chat_70B"
    with pytest.raises(ValidationError) as info:
        Fleet.model_validate({"servers": [server]})
    assert info.value.errors()[0]["loc"] == ("servers", 0, field)
    assert "DNS-1123" in str(info.value)


def test_the_system_pool_name_is_reserved() -> None:
    with pytest.raises(ValidationError, match="cluster's own node pool") as info:
        Fleet.model_validate({"servers": [_server("chat-70b", "system")]})
    assert info.value.errors()[0]["loc"] == ("servers", 0, "pool")


def test_every_server_names_a_known_workload() -> None:
    err = _rule_broken({"servers": [_server("chat-70b"), _server("embed-8")]}, ["chat-70b", "embed-8b"])
    assert err.path == "servers[1].workload"
    assert "'embed-8' is not a workload" in err.message and "allowed: chat-70b, embed-8b" in err.message


def test_every_workload_has_a_server() -> None:
    err = _rule_broken({"servers": [_server("chat-70b")]}, ["chat-70b", "embed-8b"])
    assert err.path == "servers"
    assert "'embed-8b' of servestack:workloads has no server" in err.message


def test_a_mixed_fleet_names_the_classes_each_pool_serves() -> None:
    fleet = Fleet.from_stack_config({"servers": [
        _server("chat-8b", "chat-8b-l4", classes=_classes(("short", 0.8))),
        _server("chat-8b", "chat-8b-h100", classes=_classes(("long", 0.2))),
    ]}, ["chat-8b"])
    assert [s.pool for s in fleet.servers_of("chat-8b")] == ["chat-8b-l4", "chat-8b-h100"]
    assert fleet.server("chat-8b-h100").request_classes == [
        RequestClass(name="long", share=0.2, input_tokens=200, output_tokens=100)
    ]


def test_request_classes_are_required_on_every_server_of_a_mixed_fleet() -> None:
    err = _rule_broken({"servers": [
        _server("chat-8b", "chat-8b-l4", classes=_classes(("short", 1.0))),
        _server("chat-8b", "chat-8b-h100"),
    ]})
    assert err.path == "servers[1].requestClasses"
    assert "has 2 servers" in err.message


def test_request_classes_are_refused_on_a_workloads_only_server() -> None:
    err = _rule_broken({"servers": [_server("chat-8b", classes=_classes(("all", 1.0)))]})
    assert err.path == "servers[0].requestClasses"
    assert "remove requestClasses" in err.message


def test_class_names_are_unique_within_a_server() -> None:
    err = _rule_broken({"servers": [
        _server("chat-8b", "a", classes=_classes(("short", 0.4), ("short", 0.4))),
        _server("chat-8b", "b", classes=_classes(("long", 0.2))),
    ]})
    assert err.path == "servers[0].requestClasses[1].name"
    assert "already served by this server" in err.message


def test_each_class_is_served_by_exactly_one_pool() -> None:
    err = _rule_broken({"servers": [
        _server("chat-8b", "a", classes=_classes(("short", 0.4))),
        _server("chat-8b", "b", classes=_classes(("short", 0.4), ("long", 0.2))),
    ]})
    assert err.path == "servers[1].requestClasses[0].name"
    assert "already served by servers[0] (a)" in err.message


def test_a_workloads_class_shares_sum_to_one() -> None:
    err = _rule_broken({"servers": [
        _server("chat-8b", "a", classes=_classes(("short", 0.7))),
        _server("chat-8b", "b", classes=_classes(("long", 0.2))),
    ]})
    assert err.path == "servers[0].requestClasses"
    assert "sum to 0.9" in err.message


@pytest.mark.parametrize(("field", "value"), [("share", 0.0), ("share", 1.5), ("inputTokens", 0),
                                              ("outputTokens", 2.5), ("name", "Short")])
def test_request_class_fields_are_checked(field: str, value: Any) -> None:
    cls = {"name": "short", "share": 1.0, "inputTokens": 200, "outputTokens": 100, field: value}
    with pytest.raises(ValidationError) as info:
        RequestClass.model_validate(cls)
    assert info.value.errors()[0]["loc"] == (field,)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Fleet.model_validate({"servers": [{**_server("chat-70b"), "replicas": 2}]})
    assert info.value.errors()[0]["type"] == "extra_forbidden"


_LABEL = st.from_regex(r"^[a-z][a-z0-9]{0,8}$", fullmatch=True)


@st.composite
def _fleets(draw: st.DrawFn) -> dict[str, Any]:
    """A valid `servestack:fleet` value: 1-3 workloads, each on 1-3 pools, mixed workloads split into classes."""
    names = draw(st.lists(_LABEL, min_size=1, max_size=3, unique=True))
    servers: list[dict[str, Any]] = []
    base = draw(st.sampled_from([AWS, GCP]))
    for name in names:
        pools = draw(st.integers(1, 3))
        if pools == 1:
            servers.append(_server(name, f"{name}-p0", deployment=base))
            continue
        # Shares in whole percent so they sum to exactly 1 after the JSON round trip.
        cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=pools - 1, max_size=pools - 1, unique=True)))
        percents = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        for index, percent in enumerate(percents):
            tokens = draw(st.integers(1, 8192))
            classes = [{"name": f"c{index}", "share": percent / 100, "inputTokens": tokens, "outputTokens": 64}]
            servers.append(_server(name, f"{name}-p{index}", deployment=base, classes=classes))
    return {"servers": servers}


@settings(max_examples=40, deadline=None)
@given(value=_fleets())
def test_round_trip_through_stack_config(value: dict[str, Any]) -> None:
    fleet = Fleet.from_stack_config(value, list(dict.fromkeys(s["workload"] for s in value["servers"])))
    written = fleet.to_stack_config()
    # Pulumi config hands numbers back as JSON floats: the contract reads 2.0 as 2.
    as_floats = json.loads(json.dumps(written), parse_int=float)
    again = Fleet.from_stack_config(as_floats, fleet.workloads())
    assert again == fleet
    assert again.to_stack_config() == written
