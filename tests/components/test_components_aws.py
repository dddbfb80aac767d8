"""AWS components under the SDK's mock engine: the inputs costing and guardrails rely on."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from servestack.components.aws import (
    ClusterAutoscaler,
    ContainerRegistry,
    EksCluster,
    GpuNodeGroup,
    GpuNodeGroupArgs,
)
from servestack.versions import DEFAULT_KUBERNETES_VERSION, addon_versions

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
    # Without explicit performance the volume is provisioned at gp3's free baseline, stated, not implied.
    assert ebs == {
        "volumeSize": 200,
        "volumeType": "gp3",
        "throughput": 125,
        "iops": 3000,
        "encrypted": "true",
        "deleteOnTermination": "true",
    }
    assert "placement" not in lt.inputs and "networkInterfaces" not in lt.inputs
    assert not g.of("aws:ec2/placementGroup:PlacementGroup")
    policies = sorted(
        a.inputs["policyArn"].rsplit("/", 1)[-1] for a in g.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )
    assert policies == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]


def test_spot_group_lists_its_equivalent_types_and_the_template_pins_none(run_pulumi: Runner) -> None:
    types = ["g6e.xlarge", "g6e.4xlarge"]
    g = run_pulumi(lambda: GpuNodeGroup("burst", _group_args(instance_type="g6e.xlarge", accelerators_per_node=1,
                                                             spot_instance_types=types)))
    ng = g.one("aws:eks/nodeGroup:NodeGroup")
    assert ng.inputs["capacityType"] == "SPOT"
    assert ng.inputs["instanceTypes"] == types
    assert "instanceType" not in g.one("aws:ec2/launchTemplate:LaunchTemplate").inputs


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
        ({"tags": {"team": "x"}}, "tags lack environment, managed-by"),
        ({"nodes_per_replica": 2}, "needs security_group_ids"),
        ({"accelerator": "L40S GPU"}, "accelerator='L40S GPU' is not valid"),
        ({"pricing": "on_demand", "spot_instance_types": ["g6e.12xlarge", "g6e.24xlarge"]},
         "spot_instance_types applies only to pricing spot"),
        ({"spot_instance_types": ["g6e.24xlarge", "g6e.12xlarge"]}, "instance_type (g6e.12xlarge) first"),
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
    g = run_pulumi(
        lambda: EksCluster("prod", {"region": "us-east-1", "zone_count": 3, "tags": TAGS, "api_access": "private"})
    )
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
            "adopt",
            {
                "region": "us-east-1",
                "zone_count": 2,
                "tags": TAGS,
                "existing_cluster_name": "shared",
                "api_access": "private",
            },
        )
        c.private_subnet_ids.apply(lambda ids: outputs.setdefault("subnets", ids))
        pulumi.Output.unsecret(c.kubeconfig).apply(lambda k: outputs.setdefault("kubeconfig", json.loads(k)))

    g = run_pulumi(body)
    assert [r.type for r in g] == ["servestack:index:EksCluster"]
    assert outputs["subnets"] == ["subnet-a", "subnet-b"]
    assert outputs["kubeconfig"]["users"][0]["user"]["exec"]["args"][3] == "shared"


# ---- Cluster Autoscaler (EKS managed node groups do not grow by themselves) ----------------------------------


def _autoscaler(**overrides: Any) -> Callable[[], None]:
    def body() -> None:
        args: dict[str, Any] = {"cluster_name": "prod-eks", "region": "us-west-2", "tags": TAGS, **overrides}
        ClusterAutoscaler("ca", args)  # type: ignore[arg-type]

    return body


def test_cluster_autoscaler_release_targets_the_system_pool(run_pulumi: Runner) -> None:
    g = run_pulumi(_autoscaler())
    comp = g.one("servestack:index:ClusterAutoscaler", "ca")
    release = g.one("kubernetes:helm.sh/v3:Release", "ca-release")
    assert release.parent == comp.urn, release.urn
    assert release.inputs["chart"] == "cluster-autoscaler"
    assert release.inputs["repositoryOpts"] == {"repo": "https://kubernetes.github.io/autoscaler"}
    # The autoscaler's minor version matches the cluster's (the version table's default).
    assert release.inputs["version"] == addon_versions(DEFAULT_KUBERNETES_VERSION).cluster_autoscaler.version
    values = release.inputs["values"]
    assert values["image"]["tag"].startswith(f"v{DEFAULT_KUBERNETES_VERSION}."), release.urn
    assert values["nodeSelector"] == {"servestack.io/pool": "system"}, "must never land on GPU nodes"
    assert "tolerations" not in values and "affinity" not in values
    assert values["autoDiscovery"] == {"clusterName": "prod-eks"}
    assert (values["cloudProvider"], values["awsRegion"]) == ("aws", "us-west-2")
    extra = values["extraArgs"]
    assert extra["balance-similar-node-groups"] == "true"
    assert extra["skip-nodes-with-system-pods"] == "false"
    assert extra["expander"] == "least-waste"
    assert extra["scale-down-delay-after-add"] == extra["scale-down-unneeded-time"] == "10m"
    # The chart's service account is the one the Pod Identity association names.
    assoc = g.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert values["rbac"]["serviceAccount"]["name"] == assoc.inputs["serviceAccount"] == "cluster-autoscaler"
    assert release.inputs["namespace"] == assoc.inputs["namespace"] == "kube-system"
    assert assoc.inputs["clusterName"] == "prod-eks"
    assert assoc.inputs["roleArn"].endswith(":role/ca-role-mock"), assoc.urn  # the mock engine's ARN of ca-role
    addon = g.one("aws:eks/addon:Addon")
    assert addon.inputs["addonName"] == "eks-pod-identity-agent" and addon.inputs["clusterName"] == "prod-eks"
    # The pod starts only once the agent and the association can hand it credentials.
    assert {assoc.urn, addon.urn} <= set(release.dependencies), release.dependencies
    assert not [r.urn for r in g if r.custom and r.parent != comp.urn]
    untagged = [
        r.urn
        for r in g
        if r.custom
        and r.type.startswith("aws:")
        and r.type != "aws:iam/rolePolicy:RolePolicy"
        and not set(TAGS) <= set(r.inputs.get("tags", {}))
    ]
    assert not untagged, untagged


def test_cluster_autoscaler_role_is_least_privilege_and_scoped_by_the_asg_tag(run_pulumi: Runner) -> None:
    g = run_pulumi(_autoscaler())
    trust = json.loads(g.one("aws:iam/role:Role", "ca-role").inputs["assumeRolePolicy"])
    (trusted,) = trust["Statement"]
    assert trusted["Principal"] == {"Service": "pods.eks.amazonaws.com"}, "EKS Pod Identity, not the node role"
    (inline,) = g.of("aws:iam/rolePolicy:RolePolicy")
    assert not g.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment"), "no managed (broader) policies"
    statements = json.loads(inline.inputs["policy"])["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    mutating = {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
    actions = [a for s in statements for a in s["Action"]]
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    service_of = {a.split(":", 1)[0] for a in actions}
    assert service_of == {"autoscaling", "ec2", "eks"}
    assert [a for a in actions if a not in mutating and ":Describe" not in a] == []
    writers = [s for s in statements if mutating & set(s["Action"])]
    assert len(writers) == 1 and set(writers[0]["Action"]) == mutating
    condition = writers[0]["Condition"]["StringEquals"]
    assert condition["aws:ResourceTag/k8s.io/cluster-autoscaler/prod-eks"] == "owned"
    (nodegroups,) = [s for s in statements if "eks:DescribeNodegroup" in s["Action"]]
    assert nodegroups["Resource"] == "arn:aws:eks:us-west-2:*:nodegroup/prod-eks/*"


def test_cluster_autoscaler_on_an_adopted_cluster_leaves_its_add_ons_alone(run_pulumi: Runner) -> None:
    g = run_pulumi(_autoscaler(install_pod_identity_agent=False, kubernetes_version="1.33", scale_down_delay="20m"))
    assert not g.of("aws:eks/addon:Addon")
    assert g.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    release = g.one("kubernetes:helm.sh/v3:Release")
    assert release.inputs["version"] == addon_versions("1.33").cluster_autoscaler.version
    assert release.inputs["values"]["extraArgs"]["scale-down-unneeded-time"] == "20m"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kubernetes_version": "1.29"}, "kubernetes_version='1.29' is not supported; allowed: "),
        ({"scale_down_delay": "soon"}, "scale_down_delay='soon' is not valid"),
        ({"tags": {"team": "ml"}}, "tags lack environment, managed-by"),
    ],
)
def test_cluster_autoscaler_bad_arguments_are_named(
    run_pulumi: Runner, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="ClusterAutoscaler: ") as info:
        run_pulumi(_autoscaler(**overrides))
    assert message in str(info.value)


@pytest.mark.parametrize("gpus", [1, 4, 8])
def test_scale_from_zero_tags_carry_the_gpu_count(run_pulumi: Runner, gpus: int) -> None:
    g = run_pulumi(lambda: GpuNodeGroup("burst", _group_args(accelerators_per_node=gpus, min_size=0)))
    comp = g.one("servestack:index:GpuNodeGroup", "burst")
    tags = {t.inputs["tag"]["key"]: t for t in g.of("aws:autoscaling/tag:Tag")}
    template = "k8s.io/cluster-autoscaler/node-template"
    gpu_tag = tags[f"{template}/resources/nvidia.com/gpu"]
    assert gpu_tag.inputs["tag"]["value"] == str(gpus), gpu_tag.urn
    assert tags[f"{template}/taint/nvidia.com/gpu"].inputs["tag"]["value"] == "true:NoSchedule"
    ng = g.one("aws:eks/nodeGroup:NodeGroup")
    # Every node label is announced, so a pending pod's nodeSelector matches a node that does not exist yet.
    for label, value in ng.inputs["labels"].items():
        assert tags[f"{template}/label/{label}"].inputs["tag"]["value"] == value, label
    assert ng.inputs["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-l40s"
    assert len(tags) == 2 + len(ng.inputs["labels"])
    # On the ASG EKS made for this node group (the mock engine names it after the group).
    assert {t.inputs["autoscalingGroupName"] for t in tags.values()} == {"eks-burst-ng-mock-asg"}
    assert all(t.inputs["tag"]["propagateAtLaunch"] is False and t.parent == comp.urn for t in tags.values())


def test_fixed_size_groups_get_no_scale_from_zero_tags(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: GpuNodeGroup("base", _group_args(min_size=2, desired_size=2, max_size=2)))
    assert not g.of("aws:autoscaling/tag:Tag")


def test_program_installs_the_autoscaler_for_the_aws_burst_group(
    run_pulumi: Runner, fixture_config: Callable[[str], dict[str, str]], program_path: Path
) -> None:
    config = fixture_config("aws-spot")
    per_node = json.loads(config["servestack:deployment"])["acceleratorsPerNode"]
    g = run_pulumi(program_path, config=config, stack="prod")
    root = g.one("servestack:index:ModelDeployment", "chat-70b")
    comp = g.one("servestack:index:ClusterAutoscaler", "chat-70b-cluster-autoscaler")
    assert comp.parent == root.urn
    release = g.one("kubernetes:helm.sh/v3:Release", "cluster-autoscaler-release")
    assert release.provider.startswith(g.one("pulumi:providers:kubernetes").urn)
    assert release.inputs["values"]["autoDiscovery"]["clusterName"] == "chat-70b-cluster-eks-mock"
    assert g.one("aws:eks/addon:Addon").inputs["addonName"] == "eks-pod-identity-agent"
    gpu_key = "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"
    gpu_tags = [t for t in g.of("aws:autoscaling/tag:Tag") if t.inputs["tag"]["key"] == gpu_key]
    assert [t.name for t in gpu_tags] == ["chat-70b-gpu-burst-ca-gpus"], "only the group that starts at zero"
    assert gpu_tags[0].inputs["tag"]["value"] == str(per_node)


def test_no_cluster_autoscaler_without_a_burst_group(
    run_pulumi: Runner, fixture_config: Callable[[str], dict[str, str]], program_path: Path
) -> None:
    config = fixture_config("aws-spot")
    deployment = json.loads(config["servestack:deployment"])
    deployment.update(nodesAvg=2, nodesPeak=2, replicasAvg=2, replicasPeak=2)
    config["servestack:deployment"] = json.dumps(deployment)
    g = run_pulumi(program_path, config=config, stack="prod")
    assert not g.of("servestack:index:ClusterAutoscaler")
    assert not g.of("aws:autoscaling/tag:Tag")
    assert "cluster-autoscaler" not in {r.inputs["chart"] for r in g.of("kubernetes:helm.sh/v3:Release")}


def test_no_cluster_autoscaler_on_gcp(
    run_pulumi: Runner, fixture_config: Callable[[str], dict[str, str]], program_path: Path
) -> None:
    g = run_pulumi(program_path, config=fixture_config("gcp"), stack="dev")
    assert g.of("gcp:container/nodePool:NodePool"), "the GCP program ran"
    assert not g.of("servestack:index:ClusterAutoscaler"), "GKE autoscales node pools itself"
    assert "cluster-autoscaler" not in {r.inputs["chart"] for r in g.of("kubernetes:helm.sh/v3:Release")}
    assert not [r.urn for r in g if r.type.startswith("aws:")]


# -- deploy readiness (issue: the first `pulumi up` must succeed and serve) ----------------------------------------


def test_nat_gateway_waits_for_the_internet_gateway_and_its_route(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: EksCluster("c", {"region": "us-east-1", "zone_count": 2, "tags": TAGS, "api_access": "private"})
    )
    igw = g.one("aws:ec2/internetGateway:InternetGateway")
    public_rt = g.one("aws:ec2/routeTable:RouteTable", "c-public-rt")
    for nat in g.of("aws:ec2/natGateway:NatGateway"):
        assert igw.urn in nat.dependencies and public_rt.urn in nat.dependencies, nat.urn


def test_node_groups_wait_for_their_policy_attachments(run_pulumi: Runner) -> None:
    # On create the nodes join only with the policies attached; on destroy the policies stay until nodes drained.
    def body() -> None:
        EksCluster("c", {"region": "us-east-1", "zone_count": 2, "tags": TAGS, "api_access": "private"})
        GpuNodeGroup("gpu", _group_args())

    g = run_pulumi(body)
    attachments = g.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for ng in g.of("aws:eks/nodeGroup:NodeGroup"):
        prefix = ng.name.removesuffix("-ng")
        own = [a.urn for a in attachments if a.name.startswith(f"{prefix}-amazon")]
        assert len(own) == 3 and set(own) <= set(ng.dependencies), (ng.urn, own)


def test_system_node_group_is_exposed_for_kubernetes_consumers(run_pulumi: Runner) -> None:
    seen: list[Any] = []
    g = run_pulumi(
        lambda: seen.extend(
            EksCluster("c", {"region": "us-east-1", "zone_count": 2, "tags": TAGS, "api_access": "private"}).ready
        )
    )
    system = g.one("aws:eks/nodeGroup:NodeGroup", "c-system")
    assert len(seen) == 1
    # The system group also goes through an IMDSv2-only launch template, one hop (pods use Pod Identity).
    lt = g.one("aws:ec2/launchTemplate:LaunchTemplate", "c-system-lt")
    assert system.inputs["launchTemplate"]["id"] == f"{lt.name}-id"
    assert lt.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    assert "remoteAccess" not in system.inputs


def test_root_volume_reads_the_checkpoint_at_the_planned_throughput(run_pulumi: Runner) -> None:
    # At gp3's 125 MiB/s baseline a 131 GiB checkpoint takes ~18 minutes to read.
    g = run_pulumi(lambda: GpuNodeGroup("gpu", _group_args(root_volume_throughput_mibps=1000, root_volume_iops=4000)))
    ebs = g.one("aws:ec2/launchTemplate:LaunchTemplate").inputs["blockDeviceMappings"][0]["ebs"]
    assert (ebs["volumeType"], ebs["throughput"], ebs["iops"]) == ("gp3", 1000, 4000)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"root_volume_throughput_mibps": 2000}, "root_volume_throughput_mibps=2000 is not valid; allowed: 125-1000"),
        ({"root_volume_iops": 20000}, "root_volume_iops=20000 is not valid; allowed: 3000-16000"),
        ({"root_volume_throughput_mibps": 1000}, "needs root_volume_iops >= 4000"),
        ({"nodes_per_replica": 2, "security_group_ids": ["sg-1"], "efa_interfaces": 0}, "needs efa_interfaces >= 1"),
    ],
)
def test_bad_volume_and_efa_arguments_are_named(run_pulumi: Runner, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="GpuNodeGroup: ") as info:
        run_pulumi(lambda: GpuNodeGroup("g", _group_args(**overrides)))
    assert message in str(info.value)


def test_p5_multi_node_replica_gets_one_efa_interface_per_network_card(run_pulumi: Runner) -> None:
    # One interface where p5 has 32 made NCCL fall back to TCP.
    g = run_pulumi(
        lambda: GpuNodeGroup(
            "big",
            _group_args(
                instance_type="p5.48xlarge",
                accelerator="H100",
                accelerators_per_node=8,
                nodes_per_replica=2,
                security_group_ids=["sg-1"],
                efa_interfaces=32,
            ),
        )
    )
    interfaces = g.one("aws:ec2/launchTemplate:LaunchTemplate").inputs["networkInterfaces"]
    assert [i["networkCardIndex"] for i in interfaces] == list(range(32))
    assert [i["deviceIndex"] for i in interfaces] == [0] + [1] * 31
    assert {i["interfaceType"] for i in interfaces} == {"efa"}
    assert g.one("aws:ec2/placementGroup:PlacementGroup").inputs["strategy"] == "cluster"


def test_docker_hub_pull_through_cache(run_pulumi: Runner) -> None:
    credential = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
    mirror: list[str] = []

    def body() -> None:
        registry = ContainerRegistry("images", {"tags": TAGS, "docker_hub_credential_arn": credential})
        registry.docker_hub_mirror.apply(mirror.append)

    g = run_pulumi(body)
    rule = g.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert rule.inputs["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rule.inputs["credentialArn"] == credential
    template = g.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert template.urn in rule.dependencies
    assert template.inputs["imageTagMutability"] == "IMMUTABLE"
    assert template.inputs["appliedFors"] == ["PULL_THROUGH_CACHE"]
    assert mirror == ["123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub"]


def test_no_docker_hub_credential_no_cache_rule(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ContainerRegistry("images", {"tags": TAGS}))
    assert not g.of("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")


@pytest.mark.parametrize(("launch_s", "wait"), [(None, "60m"), (600, "60m"), (2400, "80m")])
def test_node_group_waits_for_slow_gpu_launches(run_pulumi: Runner, launch_s: int | None, wait: str) -> None:
    extra = {} if launch_s is None else {"node_launch_s": launch_s}
    g = run_pulumi(lambda: GpuNodeGroup("gpu", _group_args(**extra)))
    ng = g.one("aws:eks/nodeGroup:NodeGroup")
    assert ng.custom_timeouts == {"create": wait, "update": wait}, ng.urn
