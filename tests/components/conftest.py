"""Runs component code under the Pulumi SDK's mock engine and records every registration."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Recorded:
    """One registered resource as the engine would see it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The customTimeouts resource option (create/update/delete), only the ones set."""


class RecordingMonitor(pmocks.MockMonitor):
    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the engine's RPC name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(
                Recorded(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=request.custom,
                    provider=request.provider,
                    inputs=rpc.deserialize_properties(request.object),
                    dependencies=list(request.dependencies),
                    custom_timeouts={
                        k: v for k in ("create", "update", "delete") if (v := getattr(request.customTimeouts, k, ""))
                    },
                )
            )
        return response


_AZS = {"us-east-1": "abcd", "us-west-2": "abcd", "eu-west-1": "abc"}


class ServestackMocks(pmocks.Mocks):
    """Outputs a real provider would compute: ids, names, ARNs, endpoints."""

    invoke_results: dict[str, Any] = {}
    """Per-test answers of invokes (token -> result, or a callable of the invoke's args); see `invoke_results`."""

    def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        name = state.get("name") or f"{args.name}-mock"
        state.setdefault("name", name)
        state.setdefault("arn", f"arn:aws:mock:us-east-1:123456789012:{args.typ.split(':')[-1].lower()}/{name}")
        if args.typ.startswith("kubernetes:"):
            meta = dict(state.get("metadata") or {})
            meta.setdefault("name", f"{args.name}-abc123")
            state["metadata"] = meta
        if args.typ == "aws:eks/cluster:Cluster":
            state["endpoint"] = "https://ABC.gr7.us-east-1.eks.amazonaws.com"
            state["certificateAuthority"] = {"data": "Q0E="}
            state["vpcConfig"] = {**state.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-0cluster"}
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1
        if args.typ == "aws:ecr/repository:Repository":
            state["repositoryUrl"] = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}"
        if args.typ == "aws:eks/nodeGroup:NodeGroup":
            state["nodeGroupName"] = name
            state["resources"] = [{"autoscalingGroups": [{"name": f"eks-{name}-asg"}]}]
        if args.typ == "gcp:container/cluster:Cluster":
            state["endpoint"] = "10.0.0.2"
            state["masterAuth"] = {"clusterCaCertificate": "Q0E="}
        if args.typ == "gcp:serviceaccount/account:Account":
            state["email"] = f"{state.get('accountId')}@acme-serving.iam.gserviceaccount.com"
        return f"{args.name}-id", state

    def call(self, args: pmocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        if args.token in self.invoke_results:
            answer = self.invoke_results[args.token]
            return dict(answer(args.args) if callable(answer) else answer)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/ci", "id": "123456789012"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            region = "us-east-1"
            names = [f"{region}{c}" for c in _AZS[region]]
            return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(len(names))], "id": region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com"}
        if args.token == "gcp:compute/getZones:getZones":
            region = args.args.get("region", "us-central1")
            return {"names": [f"{region}-{c}" for c in "fcab"], "id": region}
        if args.token == "aws:eks/getCluster:getCluster":
            return {
                "name": args.args["name"],
                "endpoint": "https://EXISTING.eks.amazonaws.com",
                "certificateAuthorities": [{"data": "Q0E="}],
                "vpcConfig": {
                    "subnetIds": ["subnet-a", "subnet-b"],
                    "clusterSecurityGroupId": "sg-1",
                    "vpcId": "vpc-1",
                },
            }
        if args.token == "gcp:container/getCluster:getCluster":
            return {
                "name": args.args["name"],
                "id": f"projects/p/locations/l/clusters/{args.args['name']}",
                "endpoint": "10.0.0.9",
                "masterAuths": [{"clusterCaCertificate": "Q0E="}],
            }
        return {}


def stack_config(path: Path) -> dict[str, str]:
    """A stack file's `config:` block as the engine hands it to a program (objects as JSON text)."""
    data = yaml.safe_load(path.read_text())["config"]
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


class Graph(list[Recorded]):
    """The recorded resources, with lookups that name the URNs in their failures."""

    def of(self, type_: str) -> list[Recorded]:
        return [r for r in self if r.type == type_]

    def one(self, type_: str, name_suffix: str = "") -> Recorded:
        found = [r for r in self if r.type == type_ and r.name.endswith(name_suffix)]
        assert len(found) == 1, f"expected one {type_} named *{name_suffix}, got {[r.urn for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Recorded:
        return next(r for r in self if r.urn == urn)


Runner = Callable[..., Graph]


@pytest.fixture
def run_pulumi() -> Iterator[Runner]:
    """run(body, config={...}) runs `body` (a callable, or a program path) under fresh mocks."""

    def run(body: Callable[[], Any] | Path, config: dict[str, str] | None = None, stack: str = "test") -> Graph:
        monitor = RecordingMonitor(ServestackMocks())
        pulumi.runtime.set_all_config(dict(config or {}))
        pulumi.runtime.set_mocks(ServestackMocks(), project="servestack", stack=stack, preview=False, monitor=monitor)

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def program() -> None:
            if isinstance(body, Path):
                runpy.run_path(str(body), run_name="__main__")
            else:
                body()

        program()
        return Graph(monitor.recorded)

    yield run
    pulumi.runtime.set_all_config({})


@pytest.fixture
def invoke_results() -> Iterator[dict[str, Any]]:
    """invoke_results[token] = result (or a callable of the invoke's args) answers that invoke in this test."""
    ServestackMocks.invoke_results = {}
    yield ServestackMocks.invoke_results
    ServestackMocks.invoke_results = {}


@pytest.fixture
def fixture_config() -> Callable[[str], dict[str, str]]:
    """fixture_config("aws-spot") -> the config of fixtures/Pulumi.aws-spot.yaml."""
    return lambda stack: stack_config(FIXTURES / f"Pulumi.{stack}.yaml")


@pytest.fixture
def program_path() -> Path:
    """The deployable program, `__main__.py` at the repository root."""
    return REPO / "__main__.py"
