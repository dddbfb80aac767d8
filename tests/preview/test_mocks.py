"""The mocked provider answers: deterministic, shaped like the real APIs' values."""

from __future__ import annotations

import json

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from servestack.preview.mocks import PreviewMocks


def test_computed_outputs_are_deterministic_and_shaped_like_aws() -> None:
    mocks = PreviewMocks(config={"aws:region": "us-west-2"})
    args = MockResourceArgs("aws:eks/cluster:Cluster", "main", {"roleArn": "arn:aws:iam::1:role/r"})
    first = mocks.new_resource(args)
    assert first == mocks.new_resource(args)
    rid, state = first
    assert rid is not None
    assert state["arn"] == f"arn:aws:eks:us-west-2:123456789012:cluster/{rid}"
    assert state["endpoint"].endswith(".gr7.us-west-2.eks.amazonaws.com")
    assert state["identities"][0]["oidcs"][0]["issuer"].startswith("https://oidc.eks.us-west-2.amazonaws.com/id/")
    assert state["certificateAuthority"]["data"]
    assert state["name"].startswith("main-") and len(state["name"]) == len("main-") + 7


def test_explicit_name_is_kept_and_ids_follow_type_prefixes() -> None:
    mocks = PreviewMocks()
    rid, state = mocks.new_resource(MockResourceArgs("aws:ec2/vpc:Vpc", "net", {"tags": {"Name": "x"}}))
    assert rid is not None and rid.startswith("vpc-") and state["defaultSecurityGroupId"].startswith("sg-")
    _, role = mocks.new_resource(MockResourceArgs("aws:iam/role:Role", "r", {"name": "exact"}))
    assert role["name"] == "exact" and role["arn"] == "arn:aws:iam::123456789012:role/exact"


def test_region_of_an_explicit_provider_wins() -> None:
    mocks = PreviewMocks(config={"aws:region": "us-east-1"})
    pid, _ = mocks.new_resource(MockResourceArgs("pulumi:providers:aws", "west", {"region": "eu-west-3"}))
    ref = f"urn:pulumi:s::p::pulumi:providers:aws::west::{pid}"
    _, state = mocks.new_resource(MockResourceArgs("aws:ecr/repository:Repository", "repo", {}, provider=ref))
    assert ".dkr.ecr.eu-west-3.amazonaws.com/" in state["repositoryUrl"]


def test_gke_cluster_and_node_pool_outputs() -> None:
    mocks = PreviewMocks(config={"gcp:project": "acme", "gcp:region": "europe-west4"})
    rid, cluster = mocks.new_resource(MockResourceArgs("gcp:container/cluster:Cluster", "gke", {"name": "gke"}))
    assert rid == "projects/acme/locations/europe-west4/clusters/gke"
    assert cluster["masterAuth"]["clusterCaCertificate"] and cluster["endpoint"]
    zones = ["europe-west4-a", "europe-west4-b"]
    _, pool = mocks.new_resource(MockResourceArgs("gcp:container/nodePool:NodePool", "gpu",
                                                  {"cluster": rid, "nodeLocations": zones}))
    assert len(pool["instanceGroupUrls"]) == 2


def test_kubernetes_objects_get_metadata_and_load_balancer_status() -> None:
    mocks = PreviewMocks()
    rid, svc = mocks.new_resource(MockResourceArgs(
        "kubernetes:core/v1:Service", "svc", {"metadata": {"namespace": "serve"}, "spec": {"type": "LoadBalancer"}}
    ))
    assert rid == f"serve/{svc['metadata']['name']}"
    assert svc["status"]["loadBalancer"]["ingress"][0]["hostname"]


def test_policy_document_renders_statements() -> None:
    doc = PreviewMocks().call(MockCallArgs("aws:iam/getPolicyDocument:getPolicyDocument", {"statements": [{
        "effect": "Allow", "actions": ["s3:GetObject", "s3:ListBucket"], "resources": ["*"],
        "conditions": [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["1"]}],
    }]}, ""))
    statement = json.loads(doc["json"])["Statement"][0]
    assert statement == {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*",
                         "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}


def test_common_data_sources_and_unknown_fallback() -> None:
    mocks = PreviewMocks(config={"gcp:region": "us-east4", "gcp:project": "acme"})
    zones = mocks.call(MockCallArgs("gcp:compute/getZones:getZones", {}, ""))
    assert zones["names"] == ["us-east4-a", "us-east4-b", "us-east4-c"]
    assert mocks.call(MockCallArgs("gcp:organizations/getClientConfig:getClientConfig", {}, ""))["project"] == "acme"
    assert mocks.call(MockCallArgs("aws:index/getCallerIdentity:getCallerIdentity", {}, ""))["accountId"]
    assert mocks.call(MockCallArgs("aws:eks/getCluster:getCluster", {"name": "shared"}, ""))["endpoint"]
    assert mocks.call(MockCallArgs("aws:unknown/getThing:getThing", {}, "")) == {}
