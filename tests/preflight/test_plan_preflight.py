"""`plan --preflight`: offerings the live cloud refuses are rejected as `quota` or `not_offered`.

Offerings come from the moto server (or a Stubber where a test needs zones moto does not have); EC2 quotas are
answered through botocore's before-call hook, since moto does not serve EC2's GPU quota codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.awsrequest import AWSResponse

from servestack.catalog import load_catalog
from servestack.cli import main
from servestack.components.quotas import CapacityGroup, aws_quota_needs
from servestack.preflight.planning import plan_with_preflight
from servestack.workload import load_spec

from .conftest import ROOT, quota_response, stubbed

G_ON_DEMAND, G_SPOT, P_ON_DEMAND, P_SPOT = "L-DB2E81BA", "L-3819A6DF", "L-417A185B", "L-7212CCBC"


def quota_client(values: dict[str, float], region: str) -> Any:
    """A real service-quotas client whose GetServiceQuota answers from `values` (unlisted codes: AccessDenied)."""
    client = boto3.session.Session().client("service-quotas", region_name=region, aws_access_key_id="testing",
                                            aws_secret_access_key="testing")

    def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        code = json.loads(params["body"])["QuotaCode"]  # the serialised request, as it would go on the wire
        if code not in values:
            return AWSResponse("", 400, {}, None), {"Error": {"Code": "AccessDeniedException", "Message": "denied"}}
        return AWSResponse("", 200, {}, None), quota_response(code, values[code])

    client.meta.events.register("before-call.service-quotas.GetServiceQuota", answer)
    return client


def factory(values: dict[str, float], ec2: Any = None) -> Callable[[str, str], Any]:
    def client(service: str, region: str) -> Any:
        if service == "service-quotas":
            return quota_client(values, region)
        return ec2 if ec2 is not None else boto3.session.Session().client(service, region_name=region)

    return client


def spec_in(tmp_path: Path, example: str = "summarize-8b", **changes: Any) -> Path:
    data = yaml.safe_load((ROOT / "examples" / f"{example}.yaml").read_text())
    data["placement"] = {"clouds": ["aws"], "regions": ["us-east-1"]}
    data.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_family_without_quota_is_rejected_as_quota(aws_env: str, tmp_path: Path) -> None:
    spec, catalog = load_spec(spec_in(tmp_path)), load_catalog()
    quotas = {G_ON_DEMAND: 0, G_SPOT: 0, P_ON_DEMAND: 100_000, P_SPOT: 100_000}
    result, checked = plan_with_preflight(spec, catalog, aws_client=factory(quotas), gcp_get=None)
    g_types = {o.instance_type for o in catalog.offerings if o.region == "us-east-1" and o.instance_type[0] == "g"}
    vetoed = {e["instance_type"] for e in checked.to_json()["excluded"] if e["reason"] == "quota"}
    assert vetoed == g_types
    assert result.rejected["quota"] == len(g_types)
    assert all(not c.instance_type.startswith("g") for c in result.candidates)
    assert any(f"{G_ON_DEMAND} is 0 vCPUs" in e["detail"] for e in checked.to_json()["excluded"])


def test_chosen_stack_short_at_peak_is_replaced(aws_env: str, tmp_path: Path) -> None:
    spec, catalog = load_spec(spec_in(tmp_path)), load_catalog()
    # Room for a few small G nodes, not for the cheapest stack's peak.
    quotas = {G_ON_DEMAND: 16, G_SPOT: 16, P_ON_DEMAND: 100_000, P_SPOT: 100_000}
    unchecked = plan_with_preflight(spec, catalog, aws_client=factory({k: 1e6 for k in quotas}), gcp_get=None)[0]
    result, checked = plan_with_preflight(spec, catalog, aws_client=factory(quotas), gcp_get=None)
    assert unchecked.chosen is not None and result.chosen is not None
    assert unchecked.chosen.instance_type != result.chosen.instance_type
    assert any("at peak" in e["detail"] for e in checked.to_json()["excluded"])
    c = result.chosen
    groups = [CapacityGroup(c.pricing_base, c.nodes_min), CapacityGroup(c.pricing_burst, c.nodes_peak - c.nodes_min)]
    for need in aws_quota_needs(c.instance_type, c.offering.vcpus, c.region, groups):
        assert quotas[need.quota_id] >= need.needed


def test_types_in_too_few_zones_are_rejected_as_not_offered(aws_env: str, tmp_path: Path) -> None:
    spec, catalog = load_spec(spec_in(tmp_path)), load_catalog()  # availability.zones: 2
    quotas = {G_ON_DEMAND: 100_000, G_SPOT: 100_000, P_ON_DEMAND: 100_000, P_SPOT: 100_000}
    cheapest = plan_with_preflight(spec, catalog, aws_client=factory(quotas), gcp_get=None)[0].chosen
    assert cheapest is not None
    # The account sees the cheapest type in one zone only; every other catalog type in two.
    types = sorted({o.instance_type for o in catalog.offerings if o.region == "us-east-1"})
    offered = {t: ["use1-az1"] if t == cheapest.instance_type else ["use1-az1", "use1-az2"] for t in types}
    ec2, stubber = stubbed("ec2", "us-east-1")
    stubber.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
        {"InstanceType": t, "LocationType": "availability-zone-id", "Location": z}
        for t, zones in offered.items() for z in zones]})
    result, checked = plan_with_preflight(spec, catalog, aws_client=factory(quotas, ec2), gcp_get=None)
    stubber.assert_no_pending_responses()  # one listing for the region, then cached
    excluded = checked.to_json()["excluded"]
    assert [(e["instance_type"], e["reason"]) for e in excluded] == [(cheapest.instance_type, "not_offered")]
    assert "use1-az1" in excluded[0]["detail"] and "2 needed" in excluded[0]["detail"]
    assert result.rejected["not_offered"] == 1
    assert result.chosen is not None and result.chosen.instance_type != cheapest.instance_type


def test_nothing_offered_makes_not_offered_the_binding_constraint(aws_env: str, tmp_path: Path) -> None:
    spec, catalog = load_spec(spec_in(tmp_path)), load_catalog()
    ec2, stubber = stubbed("ec2", "us-east-1")
    stubber.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": []})
    result, _ = plan_with_preflight(spec, catalog, aws_client=factory({}, ec2), gcp_get=None)
    assert not result.feasible
    assert result.binding_constraint == "not_offered" and result.hint and "regions" in result.hint


def test_plan_cli_json_reports_preflight_against_moto(aws_env: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # moto serves the offerings; it has no EC2 GPU quota codes, so quotas are reported as not checked.
    code = main(["plan", str(spec_in(tmp_path)), "--preflight", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["feasible"]
    assert doc["preflight"]["excluded"] == []
    notes = doc["preflight"]["unknown"]
    assert any(("L-DB2E81BA" in n or "L-3819A6DF" in n) and "quota not checked" in n for n in notes), notes


def test_selector_exclusion_hook_rejects_and_explains(tmp_path: Path) -> None:
    from servestack.selector import plan

    spec, catalog = load_spec(spec_in(tmp_path)), load_catalog()
    free = plan(spec, catalog)
    assert free.chosen is not None and "quota" not in free.rejected
    vetoed = free.chosen.instance_type
    result = plan(spec, catalog, exclude=lambda o: "quota" if o.instance_type == vetoed else None)
    assert result.rejected["quota"] == 1
    assert result.chosen is not None and result.chosen.instance_type != vetoed
    nothing = plan(spec, catalog, exclude=lambda o: "not_offered")
    assert not nothing.feasible and nothing.binding_constraint == "not_offered"


def test_plan_without_aws_credentials_says_aws_was_not_checked(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    spec, catalog = load_spec(spec_in(tmp_path)), load_catalog()
    result, checked = plan_with_preflight(spec, catalog, gcp_get=None)
    assert result.feasible and "quota" not in result.rejected
    assert checked.to_json() == {"excluded": [], "unknown": ["aws: not checked (no AWS credentials)"]}
