"""The deployable program (`__main__.py`) under the mock engine, from the fixture stack files."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from servestack.components.deployment import deploy_from_config
from servestack.errors import ConfigError

COST_TAGS = {"team", "environment", "cost-center", "managed-by"}
# Resource types whose cloud API has no tags/labels field.
UNTAGGABLE = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:autoscaling/tag:Tag",
    "gcp:serviceaccount/account:Account",
    "gcp:projects/iAMMember:IAMMember",
    "gcp:compute/network:Network",
    "gcp:compute/subnetwork:Subnetwork",
    "gcp:compute/router:Router",
    "gcp:compute/routerNat:RouterNat",
    "gcp:compute/firewall:Firewall",
    "gcp:projects/service:Service",
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
}

Runner = Callable[..., Any]  # the run_pulumi fixture (conftest.py)
ConfigLoader = Callable[[str], dict[str, str]]  # the fixture_config fixture


def _tag_keys(inputs: dict[str, Any]) -> set[str]:
    for key in ("tags", "labels", "resourceLabels"):
        if isinstance(inputs.get(key), dict):
            return set(inputs[key])
    if isinstance(inputs.get("nodeConfig"), dict):
        return set(inputs["nodeConfig"].get("resourceLabels", {}))
    return set()


def test_aws_stack_with_spot_burst(run_pulumi: Runner, fixture_config: ConfigLoader, program_path: Path) -> None:
    config = fixture_config("aws-spot")
    g = run_pulumi(program_path, config=config, stack="prod")
    root = g.one("servestack:index:ModelDeployment", "chat-70b")
    assert g.one("servestack:index:EksCluster").parent == root.urn
    base = g.one("aws:eks/nodeGroup:NodeGroup", "gpu-base-ng")
    burst = g.one("aws:eks/nodeGroup:NodeGroup", "gpu-burst-ng")
    assert base.inputs["capacityType"] == "ON_DEMAND"
    assert base.inputs["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 2}
    assert burst.inputs["capacityType"] == "SPOT"
    assert burst.inputs["scalingConfig"] == {"minSize": 0, "desiredSize": 1, "maxSize": 3}
    assert base.inputs["tags"]["servestack-pricing"] == "on_demand"
    assert burst.inputs["tags"]["servestack-pricing"] == "spot"
    lts = [lt for lt in g.of("aws:ec2/launchTemplate:LaunchTemplate") if "gpu-" in lt.name]
    volume = json.loads(config["servestack:deployment"])["rootVolumeGib"]
    assert {lt.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] for lt in lts} == {volume}
    so = g.one("kubernetes:keda.sh/v1alpha1:ScaledObject")
    assert (so.inputs["spec"]["minReplicaCount"], so.inputs["spec"]["maxReplicaCount"]) == (2, 5)
    dep = g.one("kubernetes:apps/v1:Deployment")
    assert dep.inputs["spec"]["replicas"] == 2
    assert dep.inputs["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert g.one("kubernetes:apps/v1:DaemonSet", "device-plugin-ds")
    assert g.one("kubernetes:policy/v1:PodDisruptionBudget")
    svc = g.one("kubernetes:core/v1:Service")
    assert svc.inputs["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    charts = {r.inputs["chart"] for r in g.of("kubernetes:helm.sh/v3:Release")}
    assert charts == {"keda", "prometheus", "cluster-autoscaler", "dcgm-exporter"}
    missing = [
        r.urn
        for r in g
        if r.custom and r.type.startswith("aws:") and r.type not in UNTAGGABLE and not _tag_keys(r.inputs) >= COST_TAGS
    ]
    assert not missing, missing
    k8s_resources = [r for r in g if r.type.startswith("kubernetes:")]
    assert k8s_resources and all(r.provider.startswith(g.one("pulumi:providers:kubernetes").urn) for r in k8s_resources)


def test_aws_multi_node_405b(run_pulumi: Runner, fixture_config: ConfigLoader, program_path: Path) -> None:
    g = run_pulumi(program_path, config=fixture_config("aws-405b"), stack="staging")
    lws = g.one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")
    assert lws.inputs["spec"]["leaderWorkerTemplate"]["size"] == 2
    assert not g.of("kubernetes:apps/v1:Deployment")
    assert len(g.of("aws:ec2/placementGroup:PlacementGroup")) == 2  # base and burst groups
    base = g.one("aws:eks/nodeGroup:NodeGroup", "gpu-base-ng")
    assert base.inputs["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 2}
    assert base.inputs["tags"]["servestack-pricing"] == "1y" and base.inputs["capacityType"] == "ON_DEMAND"
    burst = g.one("aws:eks/nodeGroup:NodeGroup", "gpu-burst-ng")
    assert burst.inputs["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 2}
    so = g.one("kubernetes:keda.sh/v1alpha1:ScaledObject")
    assert so.inputs["spec"]["scaleTargetRef"]["kind"] == "LeaderWorkerSet"
    assert "lws" in {r.inputs["name"] for r in g.of("kubernetes:helm.sh/v3:Release")}
    assert not g.of("kubernetes:policy/v1:PodDisruptionBudget")  # replicasMin is 1


def test_gcp_stack(run_pulumi: Runner, fixture_config: ConfigLoader, program_path: Path) -> None:
    g = run_pulumi(program_path, config=fixture_config("gcp"), stack="dev")
    pools = {p.name: p for p in g.of("gcp:container/nodePool:NodePool")}
    base, burst = pools["embed-8b-gpu-base-pool"], pools["embed-8b-gpu-burst-pool"]
    assert base.inputs["nodeConfig"]["spot"] is True
    # A fixed base pool: GKE's node_count is per zone (2 nodes over 2 zones), no autoscaling.
    assert base.inputs["nodeCount"] == 1 and "autoscaling" not in base.inputs
    assert burst.inputs["autoscaling"]["totalMaxNodeCount"] == 2
    assert g.one("gcp:container/cluster:Cluster").inputs["deletionProtection"] is False  # dev
    # GKE installs its own device plugin; the only DaemonSet is the image pre-pull.
    assert [d.name for d in g.of("kubernetes:apps/v1:DaemonSet")] == ["embed-8b-prepull-ds"]
    svc = g.one("kubernetes:core/v1:Service")
    assert svc.inputs["metadata"]["annotations"]["networking.gke.io/load-balancer-type"] == "Internal"
    repo = g.one("gcp:artifactregistry/repository:Repository", "registry-repo")
    assert repo.inputs["dockerConfig"] == {"immutableTags": True}
    unlabelled = [
        r.urn
        for r in g
        if r.custom and r.type.startswith("gcp:") and r.type not in UNTAGGABLE and not _tag_keys(r.inputs) >= COST_TAGS
    ]
    assert not unlabelled, unlabelled


def test_invalid_config_fails_before_any_resource(run_pulumi: Runner, fixture_config: ConfigLoader) -> None:
    config = fixture_config("aws-spot")
    config["servestack:exposure"] = "everywhere"
    with pytest.raises(ConfigError, match=r"^servestack:exposure: 'everywhere' is not valid"):
        run_pulumi(deploy_from_config, config=config)


def test_program_exits_2_with_the_error_logged(
    run_pulumi: Runner, fixture_config: ConfigLoader, program_path: Path
) -> None:
    config = fixture_config("aws-spot")
    del config["servestack:deployment"]
    with pytest.raises(SystemExit) as info:
        run_pulumi(program_path, config=config)
    assert info.value.code == 2
    assert isinstance(info.value.__cause__, ConfigError)


def test_outputs_are_exported(run_pulumi: Runner, fixture_config: ConfigLoader) -> None:
    seen: dict[str, str] = {}

    def body() -> None:
        d = deploy_from_config()
        d.registry_url.apply(lambda u: seen.setdefault("registry", u))
        pulumi.Output.unsecret(d.kubeconfig).apply(lambda k: seen.setdefault("kubeconfig", k))

    run_pulumi(body, config=fixture_config("aws-spot"))
    assert seen["registry"].endswith(".dkr.ecr.us-east-1.amazonaws.com/chat-70b-registry-repo-mock")
    assert '"get-token"' in seen["kubeconfig"]
