"""SSG002 cost-allocation-tags: every taggable resource carries the cost-allocation tags or labels.

AWS tags (resource `tags` merged with the provider's `defaultTags`) and GCP labels (`labels`,
`resourceLabels`, node pools' `nodeConfig.resourceLabels`, merged with the provider's `defaultLabels`).
The provider is the explicit provider resource the resource names (`pulumi:providers:aws`; the engine
hands its object inputs to analyzers as JSON text) or, for the default provider, the stack config
(`aws:defaultTags`, `gcp:defaultLabels`).
The taggable types are listed explicitly: the billed resource kinds a serving stack creates, so a type
missing here is never flagged by mistake.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from servestack.costing.resources import MISSING, Resource, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE", "TAG_PATHS", "DEFAULT_REQUIRED_TAGS"]

DEFAULT_REQUIRED_TAGS = ["team", "environment", "cost-center"]

_AWS_TAGGED = (
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/instance:Instance",
    "aws:ec2/placementGroup:PlacementGroup",
    "aws:ebs/volume:Volume",
    "aws:ecr/repository:Repository",
    "aws:iam/role:Role",
    "aws:kms/key:Key",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:cloudwatch/logGroup:LogGroup",
)
TAG_PATHS: dict[str, tuple[str, ...]] = {t: ("tags",) for t in _AWS_TAGGED}
TAG_PATHS.update(
    {
        "gcp:container/cluster:Cluster": ("resourceLabels",),
        "gcp:container/nodePool:NodePool": ("nodeConfig", "resourceLabels"),
        "gcp:artifactregistry/repository:Repository": ("labels",),
        "gcp:compute/disk:Disk": ("labels",),
        "gcp:compute/instance:Instance": ("labels",),
        "gcp:compute/address:Address": ("labels",),
        "gcp:compute/forwardingRule:ForwardingRule": ("labels",),
        "gcp:storage/bucket:Bucket": ("labels",),
        "gcp:kms/cryptoKey:CryptoKey": ("labels",),
    }
)


def _decoded(value: Any) -> Any:
    # Provider inputs and stack config carry objects as JSON text.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _provider_defaults(r: Resource, ctx: RuleContext) -> Any:
    aws = r.type.startswith("aws:")
    key = "defaultTags" if aws else "defaultLabels"
    if r.provider is not None and key in r.provider:
        source = _decoded(r.provider[key])
    else:
        source = _decoded(ctx.stack.values.get(f"{'aws' if aws else 'gcp'}:{key}", {}))
    if aws:
        return lookup(source, "tags") if isinstance(source, dict) else source
    return source


def check(r: Resource, ctx: RuleContext) -> Outcome:
    required = ctx.config.get("requiredTags")
    if not isinstance(required, list) or not all(isinstance(k, str) for k in required):
        return violation(f"policy config: requiredTags {required!r} is not a list of strings")
    path = TAG_PATHS[r.type]
    own = r.get(*path)
    defaults = _provider_defaults(r, ctx)
    if is_unknown(own) or is_unknown(defaults):
        return not_applicable(f"{'.'.join(path)} unknown during preview")
    merged: dict[str, Any] = {}
    for source in (defaults, own):
        if isinstance(source, Mapping):
            merged.update(source)
    missing: list[str] = []
    pending: list[str] = []
    for key in required:
        value = merged.get(key, MISSING)
        if is_unknown(value):
            pending.append(key)
        elif not isinstance(value, str) or not value.strip():
            missing.append(key)
    if missing:
        kind = "tags" if r.type.startswith("aws:") else "labels"
        return violation(f"{'.'.join(path)} lacks the cost-allocation {kind} {', '.join(missing)}")
    if pending:
        return not_applicable(f"tag values unknown during preview: {', '.join(pending)}")
    return passed()


RULE = ResourceRule(
    id="SSG002",
    name="cost-allocation-tags",
    description="Taggable resources carry the cost-allocation tags/labels (team, environment, cost-center).",
    config_schema={
        "requiredTags": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_REQUIRED_TAGS,
                         "description": "Tag/label keys every taggable resource must carry."},
    },
    defaults={"requiredTags": DEFAULT_REQUIRED_TAGS},
    resource_types=tuple(TAG_PATHS),
    check=check,
)
