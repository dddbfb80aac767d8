"""GCP components under the SDK's mock engine."""

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from servestack.components.gcp import ArtifactRegistry, GkeCluster, GpuNodePool, GpuNodePoolArgs

TAGS = {"team": "search", "environment": "dev", "cost-center": "cc-2", "managed-by": "servestack"}

Runner = Callable[..., Any]  # the run_pulumi fixture (conftest.py)


def _pool_args(**overrides: Any) -> GpuNodePoolArgs:
    args: dict[str, Any] = {
        "cluster": "projects/p/locations/us-central1/clusters/c",
        "project": "p",
        "location": "us-central1",
        "node_locations": ["us-central1-a", "us-central1-b"],
        "zone_count": 2,
        "machine_type": "g2-standard-8",
        "accelerator": "L4",
        "accelerators_per_node": 1,
        "pricing": "spot",
        "min_size": 0,
        "desired_size": 2,
        "max_size": 4,
        "disk_size_gb": 100,
        "service_account": "nodes@p.iam.gserviceaccount.com",
        "tags": TAGS,
    }
    args.update(overrides)
    return args  # type: ignore[return-value]


def test_gpu_node_pool_inputs(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: GpuNodePool("burst", _pool_args()))
    pool = g.one("gcp:container/nodePool:NodePool", "burst-pool")
    assert pool.parent == g.one("servestack:index:GpuNodePool").urn, pool.urn
    cfg = pool.inputs["nodeConfig"]
    assert cfg["guestAccelerators"] == [
        {"type": "nvidia-l4", "count": 1, "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}
    ]
    assert cfg["spot"] is True
    assert cfg["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert cfg["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert cfg["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    # The burst pool has no desired size; the expected node count rides along for the cost engine.
    assert cfg["resourceLabels"] == {**TAGS, "servestack-pricing": "spot",
                                     "servestack-expected-nodes": str(_pool_args()["desired_size"])}
    assert cfg["diskSizeGb"] == 100
    assert pool.inputs["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 4, "locationPolicy": "ANY"}
    assert pool.inputs["initialNodeCount"] == 0, "a burst pool starts empty; the autoscaler adds nodes"
    assert "nodeCount" not in pool.inputs
    assert pool.inputs["nodeLocations"] == ["us-central1-a", "us-central1-b"]


def test_on_demand_pool_is_not_spot(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: GpuNodePool("base", _pool_args(pricing="1y", min_size=2, max_size=2)))
    cfg = g.one("gcp:container/nodePool:NodePool").inputs["nodeConfig"]
    assert cfg["spot"] is False
    assert cfg["resourceLabels"]["servestack-pricing"] == "1y"


def test_multi_node_pool_is_compact_in_one_zone(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: GpuNodePool(
            "big",
            _pool_args(
                machine_type="a3-megagpu-8g",
                accelerator="H100",
                accelerators_per_node=8,
                nodes_per_replica=2,
                pricing="on_demand",
                min_size=2,
                desired_size=2,
                max_size=2,
            ),
        )
    )
    pool = g.one("gcp:container/nodePool:NodePool")
    assert pool.inputs["placementPolicy"] == {"type": "COMPACT"}
    assert pool.inputs["nodeLocations"] == ["us-central1-a"]
    assert pool.inputs["nodeConfig"]["guestAccelerators"][0]["type"] == "nvidia-h100-mega-80gb"


def test_unknown_accelerator_is_refused(run_pulumi: Runner) -> None:
    with pytest.raises(ValueError, match=r"accelerator='A10G' is not valid on GKE; allowed: T4, V100, L4"):
        run_pulumi(lambda: GpuNodePool("x", _pool_args(accelerator="A10G")))


def test_artifact_registry_is_immutable_with_cleanup(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ArtifactRegistry("images", {"project": "p", "location": "us-central1", "tags": TAGS}))
    repo = g.one("gcp:artifactregistry/repository:Repository")
    assert repo.parent == g.one("servestack:index:ArtifactRegistry").urn
    assert repo.inputs["format"] == "DOCKER"
    assert repo.inputs["dockerConfig"] == {"immutableTags": True}
    assert [p["action"] for p in repo.inputs["cleanupPolicies"]] == ["DELETE", "KEEP"]
    assert repo.inputs["labels"] == TAGS


def test_gke_cluster_has_private_nodes_and_workload_identity(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: GkeCluster(
            "prod",
            {"project": "acme", "region": "us-central1", "zone_count": 2, "tags": TAGS, "api_access": "private"},
        )
    )
    cluster = g.one("gcp:container/cluster:Cluster")
    assert cluster.inputs["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert cluster.inputs["workloadIdentityConfig"] == {"workloadPool": "acme.svc.id.goog"}
    assert cluster.inputs["removeDefaultNodePool"] is True
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.inputs["nodeLocations"] == ["us-central1-a", "us-central1-b"]
    system = g.one("gcp:container/nodePool:NodePool", "prod-system")
    assert system.inputs["nodeConfig"]["machineType"] == "e2-standard-4"
    roles = sorted(m.inputs["role"] for m in g.of("gcp:projects/iAMMember:IAMMember"))
    assert roles == ["roles/artifactregistry.reader", "roles/container.defaultNodeServiceAccount"]
    assert g.one("gcp:compute/routerNat:RouterNat").parent == g.one("servestack:index:GkeCluster").urn


@pytest.mark.parametrize(
    ("cidrs", "private_endpoint", "blocks"),
    [([], True, None), (["203.0.113.0/24"], False, [{"cidrBlock": "203.0.113.0/24", "displayName": "203.0.113.0/24"}])],
)
def test_gke_master_authorized_networks_are_enabled(
    run_pulumi: Runner, cidrs: list[str], private_endpoint: bool, blocks: Any
) -> None:
    # The GKE API answers 400 "Master authorized networks must be enabled if private endpoint is enabled"
    # when the block is absent; its presence is what enables them.
    g = run_pulumi(
        lambda: GkeCluster(
            "prod",
            {
                "project": "acme",
                "region": "us-central1",
                "zone_count": 1,
                "tags": TAGS,
                "api_access": "cidrs" if cidrs else "private",
                "api_cidrs": cidrs,
            },
        )
    )
    cluster = g.one("gcp:container/cluster:Cluster")
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is private_endpoint
    networks = cluster.inputs.get("masterAuthorizedNetworksConfig")
    assert networks is not None, "the block must be present (enabled) with or without public CIDRs"
    assert networks.get("cidrBlocks") == blocks


# -- deploy readiness ----------------------------------------------------------------------------------------------


def _cluster(**overrides: Any) -> Callable[[], Any]:
    args: dict[str, Any] = {
        "project": "acme",
        "region": "us-central1",
        "zone_count": 2,
        "tags": TAGS,
        "api_access": "private",
    }
    args.update(overrides)
    return lambda: GkeCluster("prod", args)  # type: ignore[arg-type]


def test_apis_are_enabled_and_kept_on_destroy(run_pulumi: Runner) -> None:
    # A new project has container and artifactregistry disabled: every create would fail with SERVICE_DISABLED.
    g = run_pulumi(_cluster())
    services = g.of("gcp:projects/service:Service")
    assert {s.inputs["service"] for s in services} == {
        "compute.googleapis.com",
        "container.googleapis.com",
        "artifactregistry.googleapis.com",
        "secretmanager.googleapis.com",
        "iam.googleapis.com",
    }
    assert all(s.inputs["disableOnDestroy"] is False for s in services)
    cluster = g.one("gcp:container/cluster:Cluster")
    assert {s.urn for s in services} <= set(cluster.dependencies), cluster.urn


def test_registry_waits_for_the_apis_it_is_given(run_pulumi: Runner) -> None:
    def body() -> None:
        cluster = GkeCluster(
            "prod", {"project": "acme", "region": "us-central1", "zone_count": 1, "tags": TAGS, "api_access": "private"}
        )
        ArtifactRegistry(
            "images",
            {"project": "acme", "location": "us-central1", "tags": TAGS},
            opts=pulumi.ResourceOptions(depends_on=cluster.apis),
        )

    g = run_pulumi(body)
    api = g.one("gcp:projects/service:Service", "api-artifactregistry")
    repo = g.one("gcp:artifactregistry/repository:Repository")
    assert api.urn in repo.dependencies, repo.urn


def test_bootstrap_pool_runs_as_the_stacks_node_account_and_abac_is_off(run_pulumi: Runner) -> None:
    g = run_pulumi(_cluster())
    cluster = g.one("gcp:container/cluster:Cluster")
    assert cluster.inputs["nodeConfig"]["serviceAccount"] == "prod-nodes@acme-serving.iam.gserviceaccount.com"
    assert cluster.inputs["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert cluster.inputs["enableLegacyAbac"] is False


def test_control_plane_reaches_keda_and_webhooks_on_private_nodes(run_pulumi: Runner) -> None:
    g = run_pulumi(_cluster())
    rule = g.one("gcp:compute/firewall:Firewall")
    assert rule.inputs["sourceRanges"] == [
        g.one("gcp:container/cluster:Cluster").inputs["privateClusterConfig"]["masterIpv4CidrBlock"]
    ]
    assert rule.inputs["allows"] == [{"protocol": "tcp", "ports": ["6443", "8443", "9443"]}]
    assert rule.inputs["direction"] == "INGRESS"


def test_kubernetes_version_is_the_minimum_master_version(run_pulumi: Runner) -> None:
    g = run_pulumi(_cluster(kubernetes_version="1.33"))
    assert g.one("gcp:container/cluster:Cluster").inputs["minMasterVersion"] == "1.33"


def test_docker_hub_remote_repository(run_pulumi: Runner) -> None:
    mirror: list[str] = []

    def body() -> None:
        registry = ArtifactRegistry(
            "images", {"project": "p", "location": "us-central1", "tags": TAGS, "docker_hub_remote": True}
        )
        registry.docker_hub_mirror.apply(mirror.append)

    g = run_pulumi(body)
    remote = g.one("gcp:artifactregistry/repository:Repository", "images-docker-hub")
    assert remote.inputs["mode"] == "REMOTE_REPOSITORY"
    assert remote.inputs["remoteRepositoryConfig"]["dockerRepository"] == {"publicRepository": "DOCKER_HUB"}
    assert remote.inputs["dockerConfig"] == {"immutableTags": True}
    assert mirror == ["us-central1-docker.pkg.dev/p/images-docker-hub"]


def test_fixed_base_pool_sizes_per_zone(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: GpuNodePool("base", _pool_args(pricing="on_demand", min_size=4, desired_size=4, max_size=4)))
    pool = g.one("gcp:container/nodePool:NodePool")
    assert pool.inputs["nodeCount"] == 2, "4 nodes over 2 zones: GKE's node_count is per zone"
    assert "autoscaling" not in pool.inputs


def test_fixed_pool_not_divisible_by_zones_is_refused(run_pulumi: Runner) -> None:
    with pytest.raises(ValueError, match="min_size=3 is not valid for a fixed pool over 2 zones"):
        run_pulumi(lambda: GpuNodePool("base", _pool_args(min_size=3, desired_size=3, max_size=3)))


@pytest.mark.parametrize(
    ("machine", "throughput", "disk_type"),
    [
        ("g2-standard-8", 140, "pd-balanced"),  # the default: pd-balanced's baseline suffices
        ("g2-standard-8", 400, "pd-ssd"),  # G2 takes persistent disks only
        ("a3-highgpu-8g", 400, "hyperdisk-balanced"),  # A3 supports hyperdisk-balanced
        ("a3-ultragpu-8g", 140, "hyperdisk-balanced"),  # A3 Ultra boots from hyperdisk only
    ],
)
def test_boot_disk_type_follows_the_throughput(
    run_pulumi: Runner, machine: str, throughput: int, disk_type: str
) -> None:
    accelerator = "L4" if machine.startswith("g2") else "H100" if "highgpu" in machine else "H200"
    g = run_pulumi(
        lambda: GpuNodePool(
            "p", _pool_args(machine_type=machine, accelerator=accelerator, root_volume_throughput_mibps=throughput)
        )
    )
    cfg = g.one("gcp:container/nodePool:NodePool").inputs["nodeConfig"]
    assert cfg["diskType"] == disk_type
    if disk_type == "hyperdisk-balanced":
        assert cfg["bootDisk"]["provisionedThroughput"] == throughput
    else:
        assert "bootDisk" not in cfg


@pytest.mark.parametrize(("launch_s", "wait"), [(None, "30m"), (1200, "40m")])
def test_node_pool_waits_for_slow_gpu_launches(run_pulumi: Runner, launch_s: int | None, wait: str) -> None:
    extra = {} if launch_s is None else {"node_launch_s": launch_s}
    g = run_pulumi(lambda: GpuNodePool("p", _pool_args(**extra)))
    pool = g.one("gcp:container/nodePool:NodePool")
    assert pool.custom_timeouts == {"create": wait, "update": wait}, pool.urn
