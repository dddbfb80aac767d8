"""ModelDeployment through the cloud adapters: what a real first `pulumi up` needs, on AWS and GCP."""

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from servestack.components.cloud import cloud_adapter
from servestack.components.deployment import ModelDeployment, ModelDeploymentArgs
from servestack.components.quotas import QuotaError

TAGS = {"team": "ml", "environment": "prod", "cost-center": "cc-1", "managed-by": "servestack"}
AWS_QUOTA = "aws:servicequotas/getServiceQuota:getServiceQuota"
GCP_QUOTA = "gcp:cloudquota/getSQuotaInfo:getSQuotaInfo"

Runner = Callable[..., Any]  # the run_pulumi fixture (conftest.py)


def _args(cloud: str = "aws", **overrides: Any) -> ModelDeploymentArgs:
    """A 70B-class deployment: a base group of 2 nodes and a burst group up to 3 more."""
    args: dict[str, Any] = {
        "cloud": cloud,
        "region": "us-east-1" if cloud == "aws" else "us-central1",
        "zones": 2,
        "environment": "prod",
        "tags": TAGS,
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "served_model_name": "chat",
        "precision": "fp8",
        "max_model_len": 8192,
        "instance_type": "g6e.12xlarge" if cloud == "aws" else "g2-standard-48",
        "accelerator": "L40S" if cloud == "aws" else "L4",
        "accelerators_per_node": 4,
        "tensor_parallel": 4,
        "nodes_per_replica": 1,
        "replicas_min": 2,
        "replicas_peak": 5,
        "nodes_min": 2,
        "nodes_avg": 3,
        "nodes_peak": 5,
        "pricing_base": "on_demand",
        "pricing_burst": "spot",
        "root_volume_gib": 200,
        "api_access": "private",
    }
    if cloud == "gcp":
        args["gcp_project"] = "acme"
    args.update(overrides)
    return args  # type: ignore[return-value]


def _deploy(args: ModelDeploymentArgs) -> Callable[[], object]:
    return lambda: ModelDeployment("chat", args)


# -- API access ------------------------------------------------------------------------------------------------


def test_eks_api_limited_to_cidrs_keeps_private_access(run_pulumi: Runner) -> None:
    # Before: the endpoint was private-only while the same program then deployed Helm releases into it from
    # wherever `pulumi up` ran, so every Kubernetes resource timed out.
    g = run_pulumi(_deploy(_args(api_access="cidrs", api_cidrs=["203.0.113.0/24"])))
    eks = g.one("aws:eks/cluster:Cluster")
    vpc = eks.inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True, eks.urn
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"], eks.urn
    assert vpc["endpointPrivateAccess"] is True, eks.urn


def test_eks_api_private_has_no_public_endpoint(run_pulumi: Runner) -> None:
    eks = run_pulumi(_deploy(_args(api_access="private"))).one("aws:eks/cluster:Cluster")
    assert eks.inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in eks.inputs["vpcConfig"]


def test_gke_api_limited_to_cidrs(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args("gcp", api_access="cidrs", api_cidrs=["198.51.100.7/32"])))
    cluster = g.one("gcp:container/cluster:Cluster")
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is False, cluster.urn
    blocks = cluster.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert [b["cidrBlock"] for b in blocks] == ["198.51.100.7/32"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_access": "cidrs", "api_cidrs": ["0.0.0.0/0"]}, "api_cidrs must not contain 0.0.0.0/0"),
        ({"api_access": "cidrs", "api_cidrs": []}, "api_access='cidrs' needs at least one entry in api_cidrs"),
        ({"api_access": "private", "api_cidrs": ["10.1.0.0/16"]}, "api_access='private' takes no api_cidrs"),
        ({"api_access": "public"}, "api_access='public' is not valid; allowed: private, cidrs"),
    ],
)
def test_bad_api_access_is_named(run_pulumi: Runner, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="ModelDeployment: ") as info:
        run_pulumi(_deploy(_args(**overrides)))
    assert message in str(info.value)


# -- zones -------------------------------------------------------------------------------------------------------


def test_eks_control_plane_spans_two_zones_when_nodes_use_one(run_pulumi: Runner) -> None:
    # EKS refuses a cluster whose subnets lie in one AZ; before, zones=1 gave it exactly one subnet.
    g = run_pulumi(_deploy(_args(zones=1, zone_names=["us-east-1c"], nodes_min=2, nodes_avg=2, nodes_peak=2)))
    eks = g.one("aws:eks/cluster:Cluster")
    assert len(eks.inputs["vpcConfig"]["subnetIds"]) == 2, eks.urn
    extra = g.one("aws:ec2/subnet:Subnet", "control-plane-1")
    assert extra.inputs["availabilityZone"] != "us-east-1c"
    private = [s for s in g.of("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert [s.inputs["availabilityZone"] for s in private] == ["us-east-1c"]
    base = g.one("aws:eks/nodeGroup:NodeGroup", "gpu-base-ng")
    assert base.inputs["subnetIds"] == ["chat-cluster-private-0-id"], "GPU nodes stay in the plan's zone"


def test_eks_zones_are_the_plans_zone_names_not_the_first_sorted(run_pulumi: Runner) -> None:
    # The mock region has us-east-1a..d; the plan found the instance type in b and d only.
    g = run_pulumi(_deploy(_args(zone_names=["us-east-1d", "us-east-1b"])))
    private = sorted(
        (s.name, s.inputs["availabilityZone"]) for s in g.of("aws:ec2/subnet:Subnet") if "-private-" in s.name
    )
    assert [az for _, az in private] == ["us-east-1d", "us-east-1b"]


def test_gke_node_locations_are_the_plans_zone_names(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args("gcp", zone_names=["us-central1-c", "us-central1-a"])))
    assert g.one("gcp:container/cluster:Cluster").inputs["nodeLocations"] == ["us-central1-c", "us-central1-a"]
    pool = g.one("gcp:container/nodePool:NodePool", "gpu-base-pool")
    assert pool.inputs["nodeLocations"] == ["us-central1-c", "us-central1-a"]


def test_zone_names_must_match_the_zone_count(run_pulumi: Runner) -> None:
    with pytest.raises(ValueError, match=r"zone_names=\['us-east-1a'\] is not valid; allowed: 2 distinct zones"):
        run_pulumi(_deploy(_args(zone_names=["us-east-1a"])))


# -- ordering ----------------------------------------------------------------------------------------------------


def test_kubernetes_resources_wait_for_the_system_node_group(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args()))
    system = g.one("aws:eks/nodeGroup:NodeGroup", "cluster-system")
    provider = g.one("pulumi:providers:kubernetes")
    assert system.urn in provider.dependencies, provider.urn
    autoscaler = g.one("kubernetes:helm.sh/v3:Release", "cluster-autoscaler-release")
    assert system.urn in autoscaler.dependencies, autoscaler.urn
    top_level = [
        r
        for r in g
        if r.type.startswith("servestack:index:")
        and r.parent == g.one("servestack:index:ModelDeployment").urn
        and r.type != "servestack:index:EksCluster"
        and r.type not in ("servestack:index:GpuNodeGroup", "servestack:index:ContainerRegistry")
    ]
    assert top_level and all(system.urn in r.dependencies for r in top_level), [r.urn for r in top_level]


def test_gke_kubernetes_resources_wait_for_the_system_pool(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args("gcp")))
    system = g.one("gcp:container/nodePool:NodePool", "cluster-system")
    assert system.urn in g.one("pulumi:providers:kubernetes").dependencies
    namespace = g.one("kubernetes:core/v1:Namespace")
    assert system.urn in namespace.dependencies, namespace.urn


# -- quota preflight ---------------------------------------------------------------------------------------------


def test_aws_quota_below_peak_fails_before_any_resource(run_pulumi: Runner, invoke_results: dict[str, Any]) -> None:
    # g6e.12xlarge has 48 vCPUs: 2 on-demand base nodes = 96, 3 spot burst nodes = 144.
    granted = {"L-DB2E81BA": 96.0, "L-3819A6DF": 64.0}
    invoke_results[AWS_QUOTA] = lambda a: {"value": granted[a["quotaCode"]], "quotaCode": a["quotaCode"]}
    raised: list[QuotaError] = []

    def body() -> None:
        try:
            ModelDeployment("chat", _args())
        except QuotaError as exc:
            raised.append(exc)

    g = run_pulumi(body)
    assert raised, "a spot quota of 64 vCPUs cannot hold 3 x 48"
    message = str(raised[0])
    assert "All G and VT Spot Instance Requests (L-3819A6DF, us-east-1) is 64 vCPUs" in message
    assert "the 144 vCPUs this deployment needs at peak" in message
    assert "--quota-code L-3819A6DF --desired-value 144" in message
    assert "L-DB2E81BA" not in message, "the on-demand quota covers its 96 vCPUs"
    assert not list(g), [r.urn for r in g]


def test_aws_quota_that_covers_the_peak_lets_the_deployment_through(
    run_pulumi: Runner, invoke_results: dict[str, Any]
) -> None:
    invoke_results[AWS_QUOTA] = {"value": 1000.0}
    assert run_pulumi(_deploy(_args())).of("aws:eks/cluster:Cluster")


def test_gcp_gpu_quota_below_peak_fails_before_any_resource(run_pulumi: Runner, invoke_results: dict[str, Any]) -> None:
    def quota(args: dict[str, Any]) -> dict[str, Any]:
        if args["quotaId"] == "GPUS-ALL-REGIONS-per-project":
            return {"dimensionsInfos": [{"dimensions": {}, "details": [{"value": "0"}]}]}
        return {
            "dimensionsInfos": [
                {"dimensions": {"gpu_family": "NVIDIA_L4", "region": "us-central1"}, "details": [{"value": "64"}]}
            ]
        }

    invoke_results[GCP_QUOTA] = quota
    raised: list[QuotaError] = []

    def body() -> None:
        try:
            ModelDeployment("chat", _args("gcp"))
        except QuotaError as exc:
            raised.append(exc)

    g = run_pulumi(body)
    assert raised and "GPUS-ALL-REGIONS-per-project" in str(raised[0])
    assert "is 0 GPUs, which is below the 20 GPUs" in str(raised[0])
    assert not list(g)


def test_unreadable_quota_is_noted_not_fatal(run_pulumi: Runner) -> None:
    # The offline mocks answer the quota invokes with nothing: the preflight notes it and goes on.
    assert run_pulumi(_deploy(_args())).of("aws:eks/cluster:Cluster")


# -- the serving pods' identity and image ------------------------------------------------------------------------


def test_aws_server_may_read_only_its_token_secret(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args(hf_token_secret="hf/chat-token")))
    association = g.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "server-identity")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("chat", "chat-server")
    policy = json.loads(g.one("aws:iam/rolePolicy:RolePolicy", "server-secret").inputs["policy"])
    [statement] = policy["Statement"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert statement["Resource"] == "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf/chat-token-??????"
    agent = g.one("aws:eks/addon:Addon")
    assert agent.urn in association.dependencies, "the agent hands out the role's credentials"


def test_gcp_server_identity_is_bound_to_its_ksa_and_one_secret(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args("gcp", hf_token_secret="hf-token")))
    binding = g.one("gcp:serviceaccount/iAMMember:IAMMember", "server-workload-identity")
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert binding.inputs["member"] == "serviceAccount:acme.svc.id.goog[chat/chat-server]"
    secret = g.one("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert (secret.inputs["secretId"], secret.inputs["role"]) == ("hf-token", "roles/secretmanager.secretAccessor")
    assert secret.inputs["member"] == "serviceAccount:chat-server@acme-serving.iam.gserviceaccount.com"
    project_roles = {m.inputs["role"] for m in g.of("gcp:projects/iAMMember:IAMMember")}
    assert "roles/secretmanager.secretAccessor" not in project_roles, "never project-wide"


def test_no_token_secret_no_identity(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args()))
    assert not g.of("aws:eks/podIdentityAssociation:PodIdentityAssociation")[1:], "only the autoscaler's"
    assert not [r for r in g.of("aws:iam/rolePolicy:RolePolicy") if "server" in r.name]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_adapter_hands_over_what_the_kubernetes_half_needs(run_pulumi: Runner, cloud: str) -> None:
    seen: dict[str, Any] = {}

    def body() -> None:
        from servestack.components.deployment import _cloud_spec

        parent = pulumi.ComponentResource("test:index:Parent", "p")
        extra = {"hf_token_secret": "hf-token"}
        if cloud == "aws":
            extra["docker_hub_credential_arn"] = "arn:aws:secretsmanager:us-east-1:1:secret:ecr-pullthroughcache/hub"
        adapter = cloud_adapter(cloud)
        spec = _cloud_spec("chat", _args(cloud, **extra))
        result = adapter.provision_cluster(parent, spec)
        pool = adapter.provision_pool(parent, spec, spec.pools[0], result)
        seen["result"], seen["pool"] = result, pool
        seen["image"] = result.server_image
        pool.server_service_account_annotations.apply(lambda a: seen.setdefault("annotations", a))

    g = run_pulumi(body)
    result = seen["result"]
    assert seen["pool"].server_service_account == "chat-server"
    assert len(seen["pool"].groups) == 2  # base and burst
    assert [r for r in g if r.type.endswith("NodePool") or r.type.endswith("NodeGroup")]
    assert len(result.ready) == 1
    if cloud == "aws":
        assert seen["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/vllm/vllm-openai:v0.11.0"
        assert seen["annotations"] == {}
        assert result.hf_token_secret_ref == "hf-token"
        assert result.needs_nvidia_device_plugin is True
    else:
        assert seen["image"] == "us-central1-docker.pkg.dev/acme/chat-registry-docker-hub/vllm/vllm-openai:v0.11.0"
        assert seen["annotations"] == {
            "iam.gke.io/gcp-service-account": "chat-server@acme-serving.iam.gserviceaccount.com"
        }
        assert result.hf_token_secret_ref == "projects/acme/secrets/hf-token"
        assert result.needs_nvidia_device_plugin is False


# -- access --------------------------------------------------------------------------------------------------------


def test_eks_cluster_admins_get_access_entries(run_pulumi: Runner) -> None:
    ci = "arn:aws:iam::123456789012:role/ci-deployer"
    g = run_pulumi(_deploy(_args(cluster_admins=[ci])))
    entry = g.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == ci
    association = g.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association.inputs["accessScope"] == {"type": "cluster"}
    eks = g.one("aws:eks/cluster:Cluster")
    assert eks.inputs["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"


def test_gke_cluster_admins_get_container_admin(run_pulumi: Runner) -> None:
    g = run_pulumi(_deploy(_args("gcp", cluster_admins=["serviceAccount:ci@acme.iam.gserviceaccount.com"])))
    admins = [m for m in g.of("gcp:projects/iAMMember:IAMMember") if m.inputs["role"] == "roles/container.admin"]
    assert [m.inputs["member"] for m in admins] == ["serviceAccount:ci@acme.iam.gserviceaccount.com"]


def test_one_adapter_per_cloud_and_no_cloud_branch_left() -> None:
    assert cloud_adapter("aws").cloud == "aws" and cloud_adapter("gcp").cloud == "gcp"
    with pytest.raises(ValueError, match="cloud='azure' is not valid; allowed: aws, gcp"):
        cloud_adapter("azure")


@pytest.mark.parametrize(
    ("cloud", "node_type"), [("aws", "aws:eks/nodeGroup:NodeGroup"), ("gcp", "gcp:container/nodePool:NodePool")]
)
def test_gpu_capacity_waits_twice_the_node_launch_time(run_pulumi: Runner, cloud: str, node_type: str) -> None:
    g = run_pulumi(_deploy(_args(cloud, node_launch_s=2700)))
    gpu = [r for r in g.of(node_type) if "-gpu-" in r.name]
    assert len(gpu) == 2 and all(r.custom_timeouts == {"create": "90m", "update": "90m"} for r in gpu), gpu


@pytest.mark.parametrize(
    ("cloud", "extra", "image"),
    [
        ("gcp", {}, "us-central1-docker.pkg.dev/acme/chat-registry-docker-hub/vllm/vllm-openai:v0.11.0"),
        (
            "aws",
            {"docker_hub_credential_arn": "arn:aws:secretsmanager:us-east-1:1:secret:ecr-pullthroughcache/hub"},
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/vllm/vllm-openai:v0.11.0",
        ),
        ("aws", {}, "vllm/vllm-openai:v0.11.0"),  # no Docker Hub credential: mirror by hand (docs/deploy.md)
    ],
)
def test_server_pulls_its_image_through_the_stacks_registry(
    run_pulumi: Runner, cloud: str, extra: dict[str, Any], image: str
) -> None:
    # Before: the vLLM image came anonymously from Docker Hub through NAT while the stack's registry sat unused.
    g = run_pulumi(_deploy(_args(cloud, **extra)))
    workload = g.one("kubernetes:apps/v1:Deployment")
    [container] = [c for c in workload.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm"]
    assert container["image"] == image, workload.urn


def test_eks_subnets_take_the_plans_zone_ids_as_ids(run_pulumi: Runner) -> None:
    # The catalog and the plan name AWS zones by ID (use1-az1): the same physical zone in every account.
    # Passed as a zone *name*, EC2 refuses the subnet ("use1-az1 is not a valid availability zone").
    g = run_pulumi(_deploy(_args(zones=1, zone_names=["use1-az4"], nodes_min=2, nodes_avg=2, nodes_peak=2)))
    private = [s for s in g.of("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert [s.inputs.get("availabilityZoneId") for s in private] == ["use1-az4"]
    assert all("availabilityZone" not in s.inputs for s in private)
    (extra,) = [s for s in g.of("aws:ec2/subnet:Subnet") if "-control-plane-" in s.name]
    assert extra.inputs["availabilityZoneId"] not in (None, "use1-az4")


# -- a program's own fleet: ServingCluster + ModelPool ------------------------------------------------------------


def _fleet_args(cloud: str = "aws") -> tuple[Any, list[Any]]:
    from servestack.components.deployment import _cluster_args, _pool_args

    chat = _pool_args(_args(cloud), "chat")
    small = {**_args(cloud), "instance_type": "g6e.xlarge" if cloud == "aws" else "g2-standard-8",
             "accelerators_per_node": 1, "tensor_parallel": 1, "nodes_peak": 3, "replicas_peak": 3,
             "served_model_name": "embed"}
    embed = _pool_args(small, "embed")  # type: ignore[arg-type]
    return _cluster_args(_args(cloud), [chat, embed]), [chat, embed]


@pytest.mark.parametrize(("cloud", "node_type"), [("aws", "aws:eks/nodeGroup:NodeGroup"),
                                                  ("gcp", "gcp:container/nodePool:NodePool")])
def test_a_program_builds_one_cluster_and_a_pool_per_server(run_pulumi: Runner, cloud: str, node_type: str) -> None:
    from servestack.components.deployment import ModelPool, ServingCluster

    cluster_args, pools = _fleet_args(cloud)

    def body() -> None:
        cluster = ServingCluster("shared", cluster_args)
        for pool in pools:
            ModelPool(pool["pool"], pool, cluster)

    g = run_pulumi(body)
    assert len(g.of("aws:eks/cluster:Cluster" if cloud == "aws" else "gcp:container/cluster:Cluster")) == 1
    gpu = [r for r in g.of(node_type) if "-gpu-" in r.name]
    labels = {r.name: (r.inputs["labels"] if cloud == "aws" else r.inputs["nodeConfig"]["labels"]) for r in gpu}
    assert {name: lab["servestack.io/pool"] for name, lab in labels.items()} == {
        "chat-gpu-base-ng" if cloud == "aws" else "chat-gpu-base-pool": "chat",
        "chat-gpu-burst-ng" if cloud == "aws" else "chat-gpu-burst-pool": "chat",
        "embed-gpu-base-ng" if cloud == "aws" else "embed-gpu-base-pool": "embed",
        "embed-gpu-burst-ng" if cloud == "aws" else "embed-gpu-burst-pool": "embed",
    }
    if cloud == "aws":
        assert len([r for r in g if r.type == "servestack:index:ClusterAutoscaler"]) == 1
    pools_seen = [r for r in g if r.type == "servestack:index:ModelPool"]
    assert sorted(r.name for r in pools_seen) == ["chat", "embed"]


def test_a_pool_the_cluster_does_not_hold_is_refused(run_pulumi: Runner) -> None:
    from servestack.components.deployment import ModelPool, ServingCluster

    cluster_args, pools = _fleet_args()
    cluster_args["pools"] = pools[:1]

    def body() -> None:
        cluster = ServingCluster("shared", cluster_args)
        ModelPool("embed", pools[1], cluster)

    with pytest.raises(ValueError, match=r"ModelPool: pool 'embed' is not one of the cluster's pools; allowed: chat"):
        run_pulumi(body)


def test_fleet_quota_preflight_sums_the_pools(run_pulumi: Runner, invoke_results: dict[str, Any]) -> None:
    # On-demand G-family vCPUs: chat 5 x 48 = 240, embed 3 x 4 = 12; each fits 250 alone, together they do not.
    from servestack.components.deployment import ServingCluster

    cluster_args, pools = _fleet_args()
    for pool in pools:
        pool["pricing_burst"] = "on_demand"
    invoke_results[AWS_QUOTA] = {"value": 250.0}
    raised: list[QuotaError] = []

    def body() -> None:
        try:
            ServingCluster("shared", cluster_args)
        except QuotaError as exc:
            raised.append(exc)

    g = run_pulumi(body)
    assert raised and "the 252 vCPUs this deployment needs at peak" in str(raised[0])
    assert not list(g), [r.urn for r in g]
