"""AWS components under the SDK's mock engine: the inputs costing and guardrails rely on."""

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from servestack.components.aws import ContainerRegistry, EksCluster, GpuNodeGroup, GpuNodeGroupArgs

TAGS = {"team": "ml", "environment": "prod", "cost-center": "cc-1", "managed-by": "servestack"}

Runner = Callable[..., Any]  # the run_pulumi fixture (conftest.py)


def _group_args(**overrides: Any) -> GpuNodeGroupArgs:
    args: dict[str, Any] = {
        "cluster_name": "c1",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "instance_type": "g6e.12xlarge",
        "accelerator": "L40S",
        "accelerators_per_node": 4,
        "pricing": "spot",
        "min_size": 0,
        "desired_size": 1,
        "max_size": 3,
        "root_volume_gib": 200,
        "tags": TAGS,
    }
    args.update(overrides)
    return args  # type: ignore[return-value]


def test_spot_gpu_node_group_inputs(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: GpuNodeGroup("burst", _group_args()))
    comp = g.one("servestack:index:GpuNodeGroup", "burst")
    ng = g.one("aws:eks/nodeGroup:NodeGroup", "burst-ng")
    assert ng.parent == comp.urn, ng.urn
    assert ng.inputs["capacityType"] == "SPOT", ng.urn
    assert ng.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng.inputs["instanceTypes"] == ["g6e.12xlarge"]
    assert ng.inputs["scalingConfig"] == {"minSize": 0, "desiredSize": 1, "maxSize": 3}
    assert ng.inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert ng.inputs["labels"]["servestack.io/accelerator"] == "L40S"
    assert ng.inputs["tags"] == {**TAGS, "servestack-pricing": "spot"}
    assert ng.inputs["launchTemplate"]["version"] == "1"
    lt = g.one("aws:ec2/launchTemplate:LaunchTemplate", "burst-lt")
    assert lt.parent == comp.urn
    assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
    ebs = lt.inputs["blockDeviceMappings"][0]["ebs"]
    assert ebs == {"volumeSize": 200, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}
    assert "placement" not in lt.inputs and "networkInterfaces" not in lt.inputs
    assert not g.of("aws:ec2/placementGroup:PlacementGroup")
    policies = sorted(
        a.inputs["policyArn"].rsplit("/", 1)[-1] for a in g.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )
    assert policies == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]


@pytest.mark.parametrize(
    ("pricing", "capacity"), [("on_demand", "ON_DEMAND"), ("1y", "ON_DEMAND"), ("3y", "ON_DEMAND")]
)
def test_commitments_run_on_on_demand_capacity(run_pulumi: Runner, pricing: str, capacity: str) -> None:
    g = run_pulumi(lambda: GpuNodeGroup("base", _group_args(pricing=pricing, min_size=2, desired_size=2, max_size=2)))
    ng = g.one("aws:eks/nodeGroup:NodeGroup")
    assert ng.inputs["capacityType"] == capacity
    assert ng.inputs["tags"]["servestack-pricing"] == pricing


def test_multi_node_replica_gets_efa_and_a_placement_group(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: GpuNodeGroup(
            "big",
            _group_args(
                instance_type="p5.48xlarge",
                nodes_per_replica=2,
                security_group_ids=["sg-1"],
                ami_type="BOTTLEROCKET_x86_64_NVIDIA",
            ),
        )
    )
    pg = g.one("aws:ec2/placementGroup:PlacementGroup")
    assert pg.inputs["strategy"] == "cluster"
    lt = g.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["placement"]["groupName"] == "big-pg-mock"  # the mock engine's auto-name of the group
    assert lt.inputs["networkInterfaces"][0]["interfaceType"] == "efa"
    assert lt.inputs["blockDeviceMappings"][0]["deviceName"] == "/dev/xvdb"  # Bottlerocket's data volume
    ng = g.one("aws:eks/nodeGroup:NodeGroup")
    assert ng.inputs["subnetIds"] == ["subnet-a"], "a cluster placement group lives in one AZ"
    assert ng.inputs["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pricing": "reserved"}, "pricing='reserved' is not valid; allowed: on_demand, spot, 1y, 3y"),
        ({"ami_type": "AL2_x86_64"}, "ami_type='AL2_x86_64' is not valid"),
        ({"min_size": 3, "max_size": 2}, "min_size <= desired_size <= max_size"),
        ({"root_volume_gib": 8}, "root_volume_gib=8 is not valid"),
        ({"tags": {"team": "x"}}, "tags lack environment, cost-center, managed-by"),
        ({"nodes_per_replica": 2}, "needs security_group_ids"),
    ],
)
def test_bad_arguments_are_named(run_pulumi: Runner, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="GpuNodeGroup: ") as info:
        run_pulumi(lambda: GpuNodeGroup("g", _group_args(**overrides)))
    assert message in str(info.value)


def test_registry_is_immutable_scanned_and_kms_encrypted(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ContainerRegistry("images", {"tags": TAGS}))
    repo = g.one("aws:ecr/repository:Repository", "images-repo")
    assert repo.parent == g.one("servestack:index:ContainerRegistry").urn
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
    assert repo.inputs["forceDelete"] is False
    assert repo.inputs["tags"] == TAGS
    rules = json.loads(g.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]


def test_cluster_is_private_across_zones(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: EksCluster("prod", {"region": "us-east-1", "zone_count": 3, "tags": TAGS}))
    private = [s for s in g.of("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert len(private) == 3
    assert {s.inputs["availabilityZone"] for s in private} == {"us-east-1a", "us-east-1b", "us-east-1c"}
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in g.of("aws:ec2/subnet:Subnet"))
    assert len(g.of("aws:ec2/natGateway:NatGateway")) == 3
    eks = g.one("aws:eks/cluster:Cluster")
    assert eks.inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert eks.inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert eks.inputs["vpcConfig"]["subnetIds"] == [f"prod-private-{i}-id" for i in range(3)]
    assert eks.inputs["encryptionConfig"]["resources"] == ["secrets"]
    system = g.one("aws:eks/nodeGroup:NodeGroup", "prod-system")
    assert system.inputs["instanceTypes"] == ["m6i.large"]
    # Fixed at the platform table's count, so the costed ceiling equals the plan's.
    assert system.inputs["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 2}
    untagged = [r.urn for r in g if r.custom and r.type not in _UNTAGGABLE and "tags" not in r.inputs]
    assert not untagged


_UNTAGGABLE = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
}


def test_adopting_a_cluster_creates_no_network(run_pulumi: Runner) -> None:
    outputs: dict[str, Any] = {}

    def body() -> None:
        c = EksCluster(
            "adopt", {"region": "us-east-1", "zone_count": 2, "tags": TAGS, "existing_cluster_name": "shared"}
        )
        c.private_subnet_ids.apply(lambda ids: outputs.setdefault("subnets", ids))
        pulumi.Output.unsecret(c.kubeconfig).apply(lambda k: outputs.setdefault("kubeconfig", json.loads(k)))

    g = run_pulumi(body)
    assert [r.type for r in g] == ["servestack:index:EksCluster"]
    assert outputs["subnets"] == ["subnet-a", "subnet-b"]
    assert outputs["kubeconfig"]["users"][0]["user"]["exec"]["args"][3] == "shared"
