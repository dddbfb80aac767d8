"""Compliant programs the guardrails used to flag: tags supplied by a provider's defaultTags, and ECR
repositories scanned by a registry-level scanning configuration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from servestack.costing.resources import Resource, as_resources
from servestack.policies.aws.ecr import repository_scan_on_push
from servestack.policies.base import StackSettings
from servestack.policies.common import cost_allocation_tags
from tests.costing.graphs import TAGS, res
from tests.policies.helpers import WIRE_UNKNOWN, changed, removed, run, stack, via_policy

COST_TAGS = {k: TAGS[k] for k in ("team", "environment", "cost-center")}
# The Pulumi SDK hands a provider's object inputs to the engine (and so to analyzers) as JSON text:
# aws.Provider(default_tags={"tags": {...}}) arrives as {"defaultTags": '{"tags": {...}}'}.
PROVIDER_INPUTS = {"region": "us-east-1", "defaultTags": json.dumps({"tags": COST_TAGS})}
PROVIDER_URN = "urn:pulumi:prod::servestack::pulumi:providers:aws::tagged"


@dataclass
class Registered:
    """A resource as the preview records it: with the provider reference `urn::id`."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None = None


UNTAGGED = Registered("urn:pulumi:prod::servestack::aws:ecr/repository:Repository::models",
                      "aws:ecr/repository:Repository", "models", {"imageTagMutability": "IMMUTABLE"},
                      provider=f"{PROVIDER_URN}::tagged-id")


def _graph(provider_inputs: dict[str, Any]) -> list[Resource]:
    provider = Registered(PROVIDER_URN, "pulumi:providers:aws", "tagged", provider_inputs)
    return as_resources([provider, UNTAGGED])


def test_explicit_provider_default_tags_count() -> None:
    repo = _graph(PROVIDER_INPUTS)[1]
    assert run(cost_allocation_tags.RULE, repo).status == "pass"
    violations, reason = via_policy(cost_allocation_tags.RULE, repo)
    assert violations == [] and reason is None


def test_explicit_provider_default_tags_still_need_every_key() -> None:
    partial = {**PROVIDER_INPUTS, "defaultTags": json.dumps({"tags": {"team": "a", "environment": "prod"}})}
    repo = _graph(partial)[1]
    assert run(cost_allocation_tags.RULE, repo).texts == ["tags lacks the cost-allocation tags cost-center"]
    without = _graph({"region": "us-east-1"})[1]
    assert run(cost_allocation_tags.RULE, without).violated


def _settings(config: dict[str, Any]) -> StackSettings:
    base = dict(stack().values)
    base.update(config)
    return StackSettings.from_config(base)


def test_default_provider_tags_from_stack_config_count() -> None:
    repo = res("aws:ecr/repository:Repository", "models", {"imageTagMutability": "IMMUTABLE"})
    assert run(cost_allocation_tags.RULE, repo).violated
    # Stack config values reach policies as text, objects as JSON.
    config = {"aws:defaultTags": json.dumps({"tags": COST_TAGS})}
    assert run(cost_allocation_tags.RULE, repo, settings=_settings(config)).status == "pass"
    partial = {"aws:defaultTags": json.dumps({"tags": {"team": "a"}})}
    assert run(cost_allocation_tags.RULE, repo, settings=_settings(partial)).texts == [
        "tags lacks the cost-allocation tags environment, cost-center"]


def test_gcp_default_labels_from_stack_config_count() -> None:
    bucket = res("gcp:storage/bucket:Bucket", "weights", {"location": "US"})
    assert run(cost_allocation_tags.RULE, bucket).violated
    config = {"gcp:defaultLabels": json.dumps(COST_TAGS)}
    assert run(cost_allocation_tags.RULE, bucket, settings=_settings(config)).status == "pass"


def test_unknown_default_tags_are_not_applicable() -> None:
    repo = _graph({**PROVIDER_INPUTS, "defaultTags": WIRE_UNKNOWN})[1]
    assert run(cost_allocation_tags.RULE, repo).status == "not_applicable"


# -- registry-level scanning satisfies aws-ecr-repository-scan-on-push -----------------------------------

REPO = res("aws:ecr/repository:Repository", "models", {"imageTagMutability": "IMMUTABLE",
                                                       "imageScanningConfiguration": {"scanOnPush": False}})
EVERYTHING = [{"filter": "*", "filterType": "WILDCARD"}]
REGISTRY = res("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "scanning", {
    "scanType": "ENHANCED", "rules": [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": EVERYTHING}]})


def test_repository_alone_without_scan_on_push_fails() -> None:
    assert run(repository_scan_on_push.RULE, [REPO]).violated


@pytest.mark.parametrize(("scan_type", "frequency"), [("ENHANCED", "SCAN_ON_PUSH"), ("ENHANCED", "CONTINUOUS_SCAN"),
                                                      ("BASIC", "SCAN_ON_PUSH")])
def test_registry_scanning_of_every_repository_passes(scan_type: str, frequency: str) -> None:
    registry = changed(changed(REGISTRY, ["scanType"], scan_type), ["rules", 0, "scanFrequency"], frequency)
    assert run(repository_scan_on_push.RULE, [REPO, registry]).status == "pass"


def test_aws_native_registry_scanning_passes() -> None:
    native = res("aws-native:ecr:RegistryScanningConfiguration", "scanning", dict(REGISTRY.inputs))
    assert run(repository_scan_on_push.RULE, [REPO, native]).status == "pass"


@pytest.mark.parametrize(("path", "value"), [
    (["rules", 0, "repositoryFilters"], [{"filter": "prod-*", "filterType": "WILDCARD"}]),
    (["rules", 0, "scanFrequency"], "MANUAL"),
    (["scanType"], "NONE"),
], ids=["some-repositories", "manual", "unknown-scan-type"])
def test_registry_scanning_that_misses_repositories_does_not_count(path: list[str | int], value: object) -> None:
    outcome = run(repository_scan_on_push.RULE, [REPO, changed(REGISTRY, path, value)])
    assert outcome.messages == (("ECR repository models: imageScanningConfiguration.scanOnPush is not true and no "
                                 "registry scanning configuration scans every repository on push; scan every pushed "
                                 "image", REPO.urn),)


def test_registry_scanning_unknown_is_not_applicable() -> None:
    unknown = changed(REGISTRY, ["rules"], WIRE_UNKNOWN)
    assert run(repository_scan_on_push.RULE, [REPO, unknown]).status == "not_applicable"
    no_rules = removed(REGISTRY, ["rules"])
    assert run(repository_scan_on_push.RULE, [REPO, no_rules]).violated
