"""AWS preflight against a real moto server (instance type offerings) with Service Quotas and spot placement
scores answered by botocore Stubbers (moto implements neither for EC2's GPU quota codes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from servestack.errors import ConfigError
from servestack.preflight import PreflightError, preflight_stack
from servestack.preflight.checks import Report

from .conftest import quota_response, stubbed

P_ON_DEMAND = "L-417A185B"
P_SPOT = "L-7212CCBC"


def factory(quotas: dict[str, float | str], region: str = "us-east-1") -> tuple[Callable[[str, str], Any], Any]:
    """ec2 from the moto server (AWS_ENDPOINT_URL); service-quotas stubbed: a value, or an error code."""
    sq, stubber = stubbed("service-quotas", region)
    for code, value in quotas.items():
        params = {"ServiceCode": "ec2", "QuotaCode": code}
        if isinstance(value, str):
            stubber.add_client_error("get_service_quota", service_error_code=value, service_message="denied",
                                     expected_params=params)
        else:
            stubber.add_response("get_service_quota", quota_response(code, value), params)

    def client(service: str, client_region: str) -> Any:
        assert client_region == region
        return sq if service == "service-quotas" else boto3.client(service, region_name=client_region)

    return client, stubber


def by_name(report: Report, fragment: str) -> list[Any]:
    return [c for c in report.checks if fragment in c.check]


def test_quota_covers_peak_and_type_offered_in_every_zone(aws_env: str, make_project: Callable[..., Path]) -> None:
    client, stubber = factory({P_ON_DEMAND: 480})
    report = preflight_stack(make_project(), "test", aws_client=client)
    stubber.assert_no_pending_responses()
    assert report.ok
    (quota,) = by_name(report, P_ON_DEMAND)
    assert quota.status == "pass" and "480 needed at peak" in quota.detail
    offered = by_name(report, "offered in")
    assert [c.status for c in offered] == ["pass", "pass"]


def test_quota_short_names_code_and_desired_value(aws_env: str, make_project: Callable[..., Path]) -> None:
    # 2 always-on (1y) + 3 burst on-demand p4d.24xlarge nodes of 96 vCPUs: 480 vCPUs of on-demand P quota.
    client, _ = factory({P_ON_DEMAND: 96})
    report = preflight_stack(make_project(), "test", aws_client=client)
    assert not report.ok
    (quota,) = by_name(report, P_ON_DEMAND)
    assert quota.status == "fail" and "short by 384" in quota.detail
    assert quota.fix is not None
    assert ("aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-417A185B "
            "--desired-value 480 --region us-east-1") in quota.fix


def test_spot_burst_counts_against_the_spot_quota(aws_env: str, make_project: Callable[..., Path]) -> None:
    client, stubber = factory({P_ON_DEMAND: 192, P_SPOT: 100})
    ec2, spot = stubbed("ec2", "us-east-1")
    spot.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
        {"InstanceType": "p4d.24xlarge", "LocationType": "availability-zone-id", "Location": z}
        for z in ("use1-az1", "use1-az2")]})
    spot.add_response("get_spot_placement_scores", {"SpotPlacementScores": [
        {"Region": "us-east-1", "AvailabilityZoneId": "use1-az1", "Score": 2},
        {"Region": "us-east-1", "AvailabilityZoneId": "use1-az3", "Score": 9}]})

    def both(service: str, region: str) -> Any:
        return ec2 if service == "ec2" else client(service, region)

    report = preflight_stack(make_project(pricingBurst="spot"), "test", aws_client=both)
    stubber.assert_no_pending_responses()
    spot.assert_no_pending_responses()
    assert by_name(report, P_ON_DEMAND)[0].status == "pass"  # 2 x 96 always-on
    (spot_quota,) = by_name(report, P_SPOT)
    assert spot_quota.status == "fail" and "--quota-code L-7212CCBC --desired-value 288" in (spot_quota.fix or "")
    (score,) = by_name(report, "spot placement score")
    # use1-az3 scores 9 but is not one of the stack's zones: the best chosen zone scores 2.
    assert score.status == "fail" and "2/10" in score.detail


def test_access_denied_is_unknown_and_does_not_fail(aws_env: str, make_project: Callable[..., Path]) -> None:
    client, _ = factory({P_ON_DEMAND: "AccessDeniedException"})
    report = preflight_stack(make_project(), "test", aws_client=client)
    (quota,) = by_name(report, P_ON_DEMAND)
    assert quota.status == "unknown" and "AccessDeniedException" in quota.detail
    assert "servicequotas:GetServiceQuota" in (quota.fix or "")
    assert report.ok


def test_spot_scores_unsupported_is_unknown(aws_env: str, make_project: Callable[..., Path]) -> None:
    client, _ = factory({P_ON_DEMAND: 1000, P_SPOT: 1000})
    ec2, spot = stubbed("ec2", "us-east-1")
    spot.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": []})
    spot.add_client_error("get_spot_placement_scores", service_error_code="UnauthorizedOperation")

    def both(service: str, region: str) -> Any:
        return ec2 if service == "ec2" else client(service, region)

    report = preflight_stack(make_project(pricingBurst="spot"), "test", aws_client=both)
    (score,) = by_name(report, "spot placement score")
    assert score.status == "unknown" and "UnauthorizedOperation" in score.detail


def test_type_not_offered_in_a_chosen_zone(aws_env: str, make_project: Callable[..., Path]) -> None:
    # moto's offerings: p4d.24xlarge is in use1-az1, az2, az4 and az6 of us-east-1, not in use1-az5.
    client, _ = factory({P_ON_DEMAND: 480})
    report = preflight_stack(make_project(zoneNames=["use1-az1", "use1-az5"]), "test", aws_client=client)
    assert not report.ok
    az1, az5 = by_name(report, "offered in")
    assert az1.status == "pass"
    assert az5.status == "fail" and "use1-az4" in az5.detail and "zoneNames" in (az5.fix or "")


def test_missing_credentials_stop_with_what_is_needed(
    aws_env: str, make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(PreflightError, match="no AWS credentials.*servicequotas:GetServiceQuota") as info:
        preflight_stack(make_project(), "test")
    assert info.value.exit_code == 2


def test_unknown_stack_and_bad_deployment_are_config_errors(make_project: Callable[..., Path]) -> None:
    project = make_project()
    with pytest.raises(ConfigError, match="'nope' has no stack file.*test"):
        preflight_stack(project, "nope")
    bad = make_project(nodesPeak="many")
    with pytest.raises(ConfigError, match="servestack:deployment.nodesPeak"):
        preflight_stack(bad, "test")
