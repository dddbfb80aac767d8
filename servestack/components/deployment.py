"""Serving environments built from the stack config: one cluster, one model server per accelerator pool.

- `ModelDeployment`: a whole one-pool environment (cluster + its only pool), the shape of a single-workload
  stack; its resource names are those of every stack deployed before fleets existed.
- `ServingCluster` (network, cluster, system nodes, add-ons, registry, Kubernetes provider; built once) and
  `ModelPool` (one server: its GPU node groups base/burst, namespace, ModelServer, autoscaler, load balancer):
  a fleet (servestack.contract.fleet) is one ServingCluster and a ModelPool per server.
- `deploy_from_config`: what `__main__.py` runs; a single-workload stack deploys a ModelDeployment, a
  multi-workload one a ServingCluster and its ModelPools.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from typing import Any, NotRequired, TypedDict, cast

import pulumi
import pulumi_kubernetes as k8s

from servestack.components._common import (
    POOL_LABEL,
    check_api_access,
    check_choice,
    check_pool_label,
    check_positive,
    check_tags,
    check_zones,
)
from servestack.components.cloud import (
    CLOUDS,
    CloudAdapter,
    CloudCluster,
    CloudSpec,
    GpuGroupSpec,
    PoolCapacity,
    PoolSpec,
    cloud_adapter,
)
from servestack.components.config import DEFAULT_IMAGE, DeploymentConfig
from servestack.versions import DEFAULT_KUBERNETES_VERSION

__all__ = [
    "ModelDeployment",
    "ModelDeploymentArgs",
    "ModelPool",
    "ModelPoolArgs",
    "ServingCluster",
    "ServingClusterArgs",
    "model_deployment_args",
    "fleet_args",
    "deploy_from_config",
]


class ModelDeploymentArgs(TypedDict):
    """The chosen stack (as `servestack plan --write` records it) plus the user's deployment choices."""

    cloud: str
    """aws or gcp."""
    region: str
    """Cloud region."""
    zones: int
    """Zones the GPU nodes spread over."""
    environment: str
    """dev, staging or prod (prod turns on deletion protection)."""
    tags: dict[str, str]
    """Cost tags: team, environment, cost-center, managed-by."""
    model: str
    """Hugging Face repository to serve."""
    served_model_name: str
    """Model name clients use (the workload name)."""
    precision: str
    """fp16, bf16, fp8, int8 or int4."""
    max_model_len: int
    """Longest prompt + output, tokens."""
    instance_type: str
    """GPU instance (AWS) or machine (GCP) type."""
    accelerator: str
    """Canonical accelerator id."""
    accelerators_per_node: int
    """GPUs per node."""
    tensor_parallel: int
    """Tensor-parallel size of one replica."""
    nodes_per_replica: int
    """Nodes one replica spans."""
    replicas_min: int
    """Always-on replicas."""
    replicas_peak: int
    """Replicas at peak traffic (the autoscaler's maximum)."""
    nodes_min: int
    """GPU nodes of the always-on floor."""
    nodes_avg: int
    """GPU nodes expected at average traffic."""
    nodes_peak: int
    """GPU nodes at peak."""
    pricing_base: str
    """Pricing of the floor: on_demand, spot, 1y or 3y."""
    pricing_burst: str
    """Pricing of the nodes above the floor."""
    root_volume_gib: int
    """Node root/boot volume, GiB (holds the cached weights)."""
    gpu_memory_utilization: NotRequired[float]
    """Fraction of GPU memory vLLM may use (default 0.90)."""
    weights_gib: NotRequired[float]
    """Model weights, GiB (sizes the cache volume)."""
    image: NotRequired[str]
    """vLLM image with a version tag."""
    exposure: NotRequired[str]
    """internal (default) or public."""
    tls_certificate_arn: NotRequired[str]
    """AWS: ACM certificate for a public endpoint."""
    tls_domain: NotRequired[str]
    """GCP: DNS name for a public endpoint's managed certificate."""
    existing_cluster_name: NotRequired[str]
    """Adopt this cluster instead of creating one."""
    gcp_project: NotRequired[str]
    """GCP project id (GCP only)."""
    zone_names: NotRequired[list[str]]
    """Zones for the GPU nodes (where the instance type is offered); len == zones."""
    api_access: NotRequired[str]
    """Cluster API endpoint: private (default) or cidrs (public, limited to api_cidrs; private access kept)."""
    api_cidrs: NotRequired[list[str]]
    """Networks allowed to the public API endpoint when api_access is cidrs."""
    kubernetes_version: NotRequired[str]
    """Cluster version, e.g. 1.33 (keys the add-on compatibility table)."""
    cluster_admins: NotRequired[list[str]]
    """Principals given cluster-admin (AWS IAM ARNs / GCP IAM members), e.g. the CI role."""
    hf_token_secret: NotRequired[str]
    """Secret-manager secret holding the Hugging Face token; the serving pod's identity may read it."""
    checkpoint: NotRequired[str]
    """Hugging Face repository downloaded at cold start (defaults to `model`)."""
    dtype: NotRequired[str]
    """vLLM --dtype: bfloat16 or float16."""
    quantization: NotRequired[str]
    """vLLM --quantization (fp8 to quantize a 16-bit checkpoint on load)."""
    kv_cache_dtype: NotRequired[str]
    """vLLM --kv-cache-dtype: auto or fp8 (fp8 only on parts with fp8)."""
    cache_size_gib: NotRequired[int]
    """Node-local weights cache, GiB."""
    checkpoint_gib: NotRequired[float]
    """Downloaded at cold start, GiB."""
    startup_budget_s: NotRequired[int]
    """Pod scheduled -> serving on a fresh node, s."""
    node_launch_s: NotRequired[int]
    """GPU node launched -> Ready, s."""
    pod_cpu: NotRequired[str]
    """CPU request of one serving pod (e.g. 44 or 7500m)."""
    pod_memory_gib: NotRequired[int]
    """Memory request of one serving pod, GiB."""
    efa_interfaces: NotRequired[int]
    """EFA interfaces per node for multi-node replicas on AWS (0 = none)."""
    spot_instance_types: NotRequired[list[str]]
    """AWS: every instance type a spot node group may launch, instance_type first (capacity diversification)."""
    root_volume_throughput_mibps: NotRequired[int]
    """gp3 throughput of GPU node root volumes, MiB/s."""
    root_volume_iops: NotRequired[int]
    """gp3 IOPS of GPU node root volumes."""
    alerting_rules: NotRequired[str]
    """Prometheus alerting rules (YAML) loaded into the stack's Prometheus (servestack.monitoring renders them)."""
    grafana_dashboard: NotRequired[str]
    """Grafana dashboard JSON shipped as a ConfigMap for Grafana's dashboard sidecar."""
    gpu_metrics: NotRequired[bool]
    """Install the NVIDIA DCGM exporter on the GPU nodes (NVIDIA accelerators only)."""
    docker_hub_credential_arn: NotRequired[str]
    """AWS: Secrets Manager secret (ecr-pullthroughcache/...) with Docker Hub credentials; turns on the ECR
    pull-through cache the serving image is pulled through."""


class ModelPoolArgs(TypedDict):
    """One accelerator pool and its model server (a fleet's server; the pool keys of ModelDeploymentArgs)."""

    pool: str
    """Pool name: a DNS-1123 label, unique in the cluster; names the pool's resources, namespace and node label."""
    tags: dict[str, str]
    """Cost tags of the pool's resources: team, environment, cost-center, managed-by, workload."""
    model: str
    """Hugging Face repository to serve."""
    served_model_name: str
    """Model name clients use (the workload name)."""
    precision: str
    """fp16, bf16, fp8, int8 or int4."""
    max_model_len: int
    """Longest prompt + output, tokens."""
    instance_type: str
    """GPU instance (AWS) or machine (GCP) type of this pool."""
    accelerator: str
    """Canonical accelerator id."""
    accelerators_per_node: int
    """GPUs per node."""
    tensor_parallel: int
    """Tensor-parallel size of one replica."""
    nodes_per_replica: int
    """Nodes one replica spans."""
    replicas_min: int
    """Always-on replicas."""
    replicas_peak: int
    """Replicas at peak traffic (the autoscaler's maximum)."""
    nodes_min: int
    """GPU nodes of the always-on floor."""
    nodes_avg: int
    """GPU nodes expected at average traffic."""
    nodes_peak: int
    """GPU nodes at peak."""
    pricing_base: str
    """Pricing of the floor: on_demand, spot, 1y or 3y."""
    pricing_burst: str
    """Pricing of the nodes above the floor."""
    root_volume_gib: int
    """Node root/boot volume, GiB (holds the cached weights)."""
    gpu_memory_utilization: NotRequired[float]
    """Fraction of GPU memory vLLM may use (default 0.90)."""
    weights_gib: NotRequired[float]
    """Model weights, GiB."""
    exposure: NotRequired[str]
    """internal (default) or public."""
    tls_certificate_arn: NotRequired[str]
    """AWS: ACM certificate for a public endpoint."""
    tls_domain: NotRequired[str]
    """GCP: DNS name for a public endpoint's managed certificate."""
    checkpoint: NotRequired[str]
    """Hugging Face repository downloaded at cold start (defaults to `model`)."""
    dtype: NotRequired[str]
    """vLLM --dtype: bfloat16 or float16."""
    quantization: NotRequired[str]
    """vLLM --quantization (fp8 to quantize a 16-bit checkpoint on load)."""
    kv_cache_dtype: NotRequired[str]
    """vLLM --kv-cache-dtype: auto or fp8."""
    cache_size_gib: NotRequired[int]
    """Node-local weights cache, GiB."""
    checkpoint_gib: NotRequired[float]
    """Downloaded at cold start, GiB."""
    startup_budget_s: NotRequired[int]
    """Pod scheduled -> serving on a fresh node, s."""
    node_launch_s: NotRequired[int]
    """GPU node launched -> Ready, s."""
    pod_cpu: NotRequired[str]
    """CPU request of one serving pod (e.g. 44 or 7500m)."""
    pod_memory_gib: NotRequired[int]
    """Memory request of one serving pod, GiB."""
    efa_interfaces: NotRequired[int]
    """EFA interfaces per node for multi-node replicas on AWS (0 = none)."""
    spot_instance_types: NotRequired[list[str]]
    """AWS: every instance type a spot node group may launch, instance_type first (capacity diversification)."""
    root_volume_throughput_mibps: NotRequired[int]
    """gp3 throughput of GPU node root volumes, MiB/s."""
    root_volume_iops: NotRequired[int]
    """gp3 IOPS of GPU node root volumes."""
    grafana_dashboard: NotRequired[str]
    """Grafana dashboard JSON of this server, shipped as a ConfigMap for Grafana's dashboard sidecar."""
    gpu_metrics: NotRequired[bool]
    """The pool runs NVIDIA GPUs the DCGM exporter reads."""
    routed: NotRequired[bool]
    """Behind the fleet's ModelRouter (a mixed fleet's pool): a ClusterIP Service instead of its own load balancer."""


class ServingClusterArgs(TypedDict):
    """The cluster every pool of a fleet shares, and the pools it must hold (for quotas and add-ons)."""

    cloud: str
    """aws or gcp."""
    region: str
    """Cloud region."""
    zones: int
    """Zones the GPU nodes spread over."""
    environment: str
    """dev, staging or prod (prod turns on deletion protection)."""
    tags: dict[str, str]
    """Cost tags of the shared resources (no workload tag when several workloads share them)."""
    pools: list[ModelPoolArgs]
    """Every pool the cluster will hold: the quota preflight sums them, and the add-ons follow what they need."""
    image: NotRequired[str]
    """vLLM image with a version tag."""
    existing_cluster_name: NotRequired[str]
    """Adopt this cluster instead of creating one."""
    gcp_project: NotRequired[str]
    """GCP project id (GCP only)."""
    zone_names: NotRequired[list[str]]
    """Zones for the GPU nodes (where every pool's instance type is offered); len == zones."""
    api_access: NotRequired[str]
    """Cluster API endpoint: private (default) or cidrs."""
    api_cidrs: NotRequired[list[str]]
    """Networks allowed to the public API endpoint when api_access is cidrs."""
    kubernetes_version: NotRequired[str]
    """Cluster version, e.g. 1.33 (keys the add-on compatibility table)."""
    cluster_admins: NotRequired[list[str]]
    """Principals given cluster-admin (AWS IAM ARNs / GCP IAM members), e.g. the CI role."""
    hf_token_secret: NotRequired[str]
    """Secret-manager secret holding the Hugging Face token; every pool's serving identity may read it."""
    alerting_rules: NotRequired[str]
    """Prometheus alerting rules (YAML) of every server, loaded into the cluster's Prometheus."""
    docker_hub_credential_arn: NotRequired[str]
    """AWS: Secrets Manager secret (ecr-pullthroughcache/...) with Docker Hub credentials."""


_POOL_KEYS = frozenset(ModelPoolArgs.__annotations__) - {"pool"}
_CLUSTER_KEYS = frozenset(ServingClusterArgs.__annotations__) - {"pools"}


def model_deployment_args(cfg: DeploymentConfig) -> ModelDeploymentArgs:
    """The component inputs of a validated stack config: the deployment contract, field for field."""
    d = cfg.deployment
    s = d.serving
    access = cfg.api_access
    args: ModelDeploymentArgs = {
        "cloud": d.cloud,
        "region": d.region,
        "zones": d.zones,
        "zone_names": list(d.zone_names),
        "environment": cfg.environment,
        "tags": cfg.cost_tags,
        "model": s.checkpoint,
        "checkpoint": s.checkpoint,
        "served_model_name": cfg.workload.name,
        "precision": cfg.workload.model.precision,
        "max_model_len": s.max_model_len,
        "instance_type": d.instance_type,
        "accelerator": d.accelerator,
        "accelerators_per_node": d.accelerators_per_node,
        "tensor_parallel": d.tensor_parallel,
        "nodes_per_replica": d.nodes_per_replica,
        "replicas_min": d.replicas_min,
        "replicas_peak": d.replicas_peak,
        "nodes_min": d.nodes_min,
        "nodes_avg": d.nodes_avg,
        "nodes_peak": d.nodes_peak,
        "pricing_base": d.pricing_base,
        "pricing_burst": d.pricing_burst,
        "root_volume_gib": d.root_volume_gib,
        "root_volume_throughput_mibps": d.root_volume_throughput_mibps,
        "root_volume_iops": d.root_volume_iops,
        "gpu_memory_utilization": d.gpu_memory_utilization,
        "weights_gib": s.weights_gib,
        "dtype": s.dtype,
        "kv_cache_dtype": s.kv_cache_dtype,
        "cache_size_gib": s.cache_gib,
        "checkpoint_gib": s.checkpoint_gib,
        "startup_budget_s": s.startup_budget_s,
        "node_launch_s": s.node_launch_s,
        "pod_cpu": f"{d.pod_cpu_millicores}m",
        "pod_memory_gib": d.pod_memory_gib,
        "efa_interfaces": d.efa_interfaces,
        "image": cfg.image,
        "exposure": cfg.exposure,
        "kubernetes_version": cfg.kubernetes_version,
        "cluster_admins": list(cfg.cluster_admins),
        "api_access": access.mode if access is not None else "private",
        "api_cidrs": list(access.cidrs) if access is not None else [],
    }
    # Alerts and dashboard carry the workload's SLO and the plan's figures; rendered here, Pulumi-free.
    from servestack.monitoring import dashboard_json, monitoring_targets, rules_yaml

    targets = monitoring_targets(cfg)
    args["alerting_rules"] = rules_yaml(targets)
    args["grafana_dashboard"] = dashboard_json(targets)
    args["gpu_metrics"] = targets.gpu_metrics
    if d.spot_instance_types:
        args["spot_instance_types"] = list(d.spot_instance_types)
    if s.quantization is not None:
        args["quantization"] = s.quantization
    if cfg.hf_token_secret is not None:
        args["hf_token_secret"] = cfg.hf_token_secret
    if cfg.tls_certificate_arn:
        args["tls_certificate_arn"] = cfg.tls_certificate_arn
    if cfg.tls_domain:
        args["tls_domain"] = cfg.tls_domain
    if cfg.existing_cluster_name:
        args["existing_cluster_name"] = cfg.existing_cluster_name
    if cfg.docker_hub_credential_arn:
        args["docker_hub_credential_arn"] = cfg.docker_hub_credential_arn
    if cfg.gcp_project:
        args["gcp_project"] = cfg.gcp_project
    return args


def fleet_args(cfg: DeploymentConfig) -> tuple[ServingClusterArgs, list[ModelPoolArgs]]:
    """The component inputs of a validated multi-workload stack: the shared cluster and one pool per server.

    Each server's inputs are `model_deployment_args` of the config seen from that server (its workload, its
    deployment, its cost tags), so a pool of a fleet and a one-pool ModelDeployment cannot drift apart.
    """
    import yaml

    pools: list[ModelPoolArgs] = []
    groups: list[Any] = []
    for server in cfg.fleet.servers:
        args = model_deployment_args(cfg.for_server(server))
        pool = _pool_args(args, server.pool)
        if server.request_classes:
            # A mixed fleet's pools take their requests from the router, which is the stack's one load balancer.
            pool["routed"] = True
        pools.append(pool)
        # One Prometheus holds every server's alerting rules: a group per pool (servestack-<pool>), one for GPUs.
        rules = yaml.safe_load(args.get("alerting_rules", "")) or {}
        groups += [g for g in rules.get("groups", []) if g not in groups]
    cluster = _cluster_args(model_deployment_args(cfg), pools)
    cluster["tags"] = cfg.cluster_tags
    if groups:
        cluster["alerting_rules"] = yaml.safe_dump({"groups": groups}, sort_keys=False)
    return cluster, pools


def _pool_args(args: ModelDeploymentArgs, pool: str) -> ModelPoolArgs:
    out: dict[str, Any] = {k: v for k, v in args.items() if k in _POOL_KEYS}
    out["pool"] = pool
    return cast(ModelPoolArgs, out)


def _cluster_args(args: ModelDeploymentArgs, pools: list[ModelPoolArgs]) -> ServingClusterArgs:
    out: dict[str, Any] = {k: v for k, v in args.items() if k in _CLUSTER_KEYS}
    out["pools"] = pools
    return cast(ServingClusterArgs, out)


class ModelDeployment(pulumi.ComponentResource):
    """A complete one-pool model-serving environment: cluster, GPU capacity, registry, vLLM, load balancer,
    autoscaling (a ServingCluster and its only ModelPool, under the resource names stacks have always had)."""

    cluster_name: pulumi.Output[str]
    """Kubernetes cluster name."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cluster (secret)."""
    registry_url: pulumi.Output[str]
    """Container registry for serving images."""
    endpoint: pulumi.Output[str]
    """Address of the OpenAI-compatible endpoint once the load balancer is provisioned."""
    namespace: pulumi.Output[str]
    """Namespace of the model server."""

    def __init__(self, name: str, args: ModelDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Everything that can refuse the deployment (arguments, GPU quotas) runs before the first registration,
        # so a refused `pulumi up` leaves nothing behind.
        spec = _cloud_spec(name, args)
        adapter = cloud_adapter(args["cloud"])
        adapter.preflight(spec)
        super().__init__("servestack:index:ModelDeployment", name, None, opts)
        pool = spec.pools[0]

        cloud = adapter.provision_cluster(self, spec)
        capacity = adapter.provision_pool(self, spec, pool, cloud)
        kube = _kubernetes(self, name, cloud)
        kubernetes_version = args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION)
        _cluster_add_ons(self, name, spec, adapter, cloud, kube, kubernetes_version)
        namespace = _namespace(name, pool, kube)
        _prepull(name, namespace, cloud.server_image, pool.accelerator, kube)
        addons = _serving_addons(
            name, kube, kubernetes_version,
            leader_worker_set=pool.nodes_per_replica > 1,
            efa=capacity.efa_interfaces > 0,
            dcgm=args.get("gpu_metrics", False),
            alerting_rules=args.get("alerting_rules"),
            dashboard=args.get("grafana_dashboard"),
        )
        lb = _model_server(name, _pool_args(args, name), spec, cloud, capacity, namespace, kube, addons, None)
        self.cluster_name = cloud.cluster_name
        self.kubeconfig = pulumi.Output.secret(cloud.kubeconfig)
        self.registry_url = cloud.registry_url
        self.endpoint = lb.address
        self.namespace = namespace
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "registry_url": self.registry_url,
                "endpoint": self.endpoint,
                "namespace": self.namespace,
            }
        )


class ServingCluster(pulumi.ComponentResource):
    """What a fleet's servers share: network, cluster, system nodes, registry, add-ons and the Kubernetes provider.

    Built once; each server is a `ModelPool` given this cluster. The quota preflight covers every pool in `pools`
    before anything is registered.
    """

    cluster_name: pulumi.Output[str]
    """Kubernetes cluster name."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cluster (secret)."""
    registry_url: pulumi.Output[str]
    """Container registry for serving images."""

    def __init__(self, name: str, args: ServingClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        comp = "ServingCluster"
        pools = list(args.get("pools") or [])
        if not pools:
            raise ValueError(f"{comp}: pools is empty; allowed: at least one ModelPoolArgs")
        pool_specs = [_pool_spec(comp, p.get("pool", ""), p, label=True) for p in pools]
        names = [p.name for p in pool_specs]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ValueError(f"{comp}: pool {duplicate!r} appears twice; allowed: unique pool names")
        spec = _cluster_spec(comp, name, args, pool_specs)
        adapter = cloud_adapter(args["cloud"])
        adapter.preflight(spec)
        super().__init__("servestack:index:ServingCluster", name, None, opts)

        cloud = adapter.provision_cluster(self, spec)
        kube = _kubernetes(self, name, cloud)
        kubernetes_version = args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION)
        _cluster_add_ons(self, name, spec, adapter, cloud, kube, kubernetes_version)
        addons = _serving_addons(
            name, kube, kubernetes_version,
            leader_worker_set=any(p.nodes_per_replica > 1 for p in pool_specs),
            efa=any(adapter.efa_interfaces(p) > 0 for p in pool_specs),
            dcgm=any(p.get("gpu_metrics", False) for p in pools),
            alerting_rules=args.get("alerting_rules"),
            dashboard=None,
        )
        # For the ModelPools (Python objects, not outputs: pools are built in the same program).
        self.spec = spec
        self.adapter = adapter
        self.cloud = cloud
        self.kube = kube
        self.addons = addons
        self.cluster_name = cloud.cluster_name
        self.kubeconfig = pulumi.Output.secret(cloud.kubeconfig)
        self.registry_url = cloud.registry_url
        self.register_outputs(
            {"cluster_name": self.cluster_name, "kubeconfig": self.kubeconfig, "registry_url": self.registry_url}
        )

    def pool_spec(self, pool: str) -> PoolSpec:
        """The validated spec of one of the cluster's pools."""
        for spec in self.spec.pools:
            if spec.name == pool:
                return spec
        known = ", ".join(p.name for p in self.spec.pools)
        raise ValueError(f"ModelPool: pool {pool!r} is not one of the cluster's pools; allowed: {known}")


class ModelPool(pulumi.ComponentResource):
    """One server of a fleet: its GPU node groups (base, burst), namespace, ModelServer, autoscaler, load balancer.

    `name` is the pool name (it names the pool's resources, namespace and the `servestack.io/pool` node label the
    server's pods select); `cluster` is the fleet's ServingCluster, whose `pools` listed these same args.
    """

    endpoint: pulumi.Output[str]
    """Address of the pool's OpenAI-compatible endpoint once its load balancer is provisioned (a routed pool: its
    in-cluster Service URL; clients go through the fleet's router)."""
    namespace: pulumi.Output[str]
    """Namespace of the pool's model server."""
    service_name: pulumi.Output[str]
    """A routed pool's ClusterIP Service, which the router's route sends requests to ("" for other pools)."""

    def __init__(
        self, name: str, args: ModelPoolArgs, cluster: ServingCluster, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.get("pool") != name:
            raise ValueError(
                f"ModelPool: pool={args.get('pool')!r} is not valid; allowed: {name!r} (the resource name)"
            )
        pool = cluster.pool_spec(name)
        super().__init__("servestack:index:ModelPool", name, None, opts)
        capacity = cluster.adapter.provision_pool(self, cluster.spec, pool, cluster.cloud)
        kube = pulumi.ResourceOptions.merge(cluster.kube, pulumi.ResourceOptions(parent=self))
        namespace = _namespace(name, pool, kube)
        _prepull(name, namespace, cluster.cloud.server_image, pool.accelerator, kube)
        if "grafana_dashboard" in args:
            _dashboard(name, args["grafana_dashboard"], kube, cluster.addons)
        lb = _model_server(name, args, cluster.spec, cluster.cloud, capacity, namespace, kube, cluster.addons,
                           {POOL_LABEL: name})
        self.pool_name = name
        self.endpoint = lb.address
        self.namespace = namespace
        self.service_name = (lb.service_name if isinstance(lb, _RoutedEntry)
                             else pulumi.Output.from_input(""))
        self.register_outputs(
            {"endpoint": self.endpoint, "namespace": self.namespace, "service_name": self.service_name}
        )


def _kubernetes(parent: pulumi.Resource, name: str, cloud: CloudCluster) -> pulumi.ResourceOptions:
    """The cluster's Kubernetes provider, and the options every Kubernetes resource of the stack takes."""
    # The provider, and through it every Kubernetes resource, waits for the system nodes; on destroy the
    # nodes stay until the Kubernetes resources are gone.
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=cloud.kubeconfig,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=cloud.ready),
    )
    return pulumi.ResourceOptions(parent=parent, providers={"kubernetes": provider}, depends_on=cloud.ready)


def _cluster_add_ons(
    parent: pulumi.Resource, name: str, spec: CloudSpec, adapter: CloudAdapter, cloud: CloudCluster,
    kube: pulumi.ResourceOptions, kubernetes_version: str,
) -> None:
    from servestack.components.kubernetes import NvidiaDevicePlugin

    if cloud.needs_nvidia_device_plugin:
        NvidiaDevicePlugin(f"{name}-device-plugin", {"kubernetes_version": kubernetes_version}, opts=kube)
    adapter.install_add_ons(parent, spec, cloud, kube)


def _serving_addons(
    name: str, kube: pulumi.ResourceOptions, kubernetes_version: str, *, leader_worker_set: bool, efa: bool,
    dcgm: bool, alerting_rules: str | None, dashboard: str | None,
) -> pulumi.Resource:
    from servestack.components.kubernetes import ServingAddons, ServingAddonsArgs

    addons_args: ServingAddonsArgs = {
        "leader_worker_set": leader_worker_set,
        "efa_device_plugin": efa,
        "kubernetes_version": kubernetes_version,
        "dcgm_exporter": dcgm,
        "dashboard_name": f"{name}-dashboard",
    }
    if alerting_rules is not None:
        addons_args["alerting_rules"] = alerting_rules
    if dashboard is not None:
        addons_args["grafana_dashboard"] = dashboard
    return ServingAddons(f"{name}-addons", addons_args, opts=kube)


def _prepull(name: str, namespace: pulumi.Output[str], image: str, accelerator: str,
             kube: pulumi.ResourceOptions) -> None:
    from servestack.components.kubernetes import ImagePrePuller

    # The GPU nodes pull the serving image as they join, while their GPUs are still being brought up.
    ImagePrePuller(f"{name}-prepull", {"namespace": namespace, "image": image, "accelerator": accelerator}, opts=kube)


def _namespace(name: str, pool: PoolSpec, kube: pulumi.ResourceOptions) -> pulumi.Output[str]:
    ns = k8s.core.v1.Namespace(
        f"{name}-ns",
        metadata={
            "name": pool.namespace,
            "labels": {
                **pool.tags,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
        opts=kube,
    )
    return ns.metadata.apply(lambda m: m.name or pool.namespace)


def _dashboard(name: str, dashboard: str, kube: pulumi.ResourceOptions, addons: pulumi.Resource) -> None:
    """One server's Grafana dashboard, next to the others in the monitoring namespace the add-ons create."""
    from servestack.components.kubernetes._shared import PART_OF
    from servestack.components.kubernetes.addons import MONITORING_NAMESPACE

    config_map = f"{name}-dashboard"
    k8s.core.v1.ConfigMap(
        config_map,
        metadata={
            "name": config_map,
            "namespace": MONITORING_NAMESPACE,
            # grafana_dashboard: "1" is the label Grafana's sidecar collects dashboards by.
            "labels": {"grafana_dashboard": "1", **PART_OF},
        },
        data={f"{config_map}.json": dashboard},
        opts=pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[addons])),
    )


def _model_server(
    name: str,
    args: ModelPoolArgs,
    spec: CloudSpec,
    cloud: CloudCluster,
    capacity: PoolCapacity,
    namespace: pulumi.Output[str],
    kube: pulumi.ResourceOptions,
    addons: pulumi.Resource,
    node_selector: dict[str, str] | None,
) -> Any:
    """The pool's ModelServer, its load balancer and its autoscaler; returns the load balancer."""
    from servestack.components.kubernetes import (
        ModelLoadBalancer,
        ModelLoadBalancerArgs,
        ModelServer,
        ModelServerArgs,
        ServingAutoscaler,
        server_await_timeout_s,
    )

    span = int(args["nodes_per_replica"])
    replicas_min = int(args["replicas_min"])
    replicas_peak = int(args["replicas_peak"])
    # The contract's fields as model_deployment_args fills them; the defaults only keep programs that build
    # the args by hand previewing: 16-bit weights and KV cache, which every part can run.
    cache_gib = args.get("cache_size_gib", 100)
    server_args: ModelServerArgs = {
        "namespace": namespace,
        "checkpoint": args.get("checkpoint", args["model"]),
        "served_model_name": args["served_model_name"],
        "accelerator": args["accelerator"],
        "accelerators_per_node": args["accelerators_per_node"],
        "tensor_parallel": args["tensor_parallel"],
        "nodes_per_replica": span,
        "max_model_len": args["max_model_len"],
        "replicas": replicas_min,
        # Through the stack's registry (Docker Hub cache) where the cloud adapter set one up.
        "image": cloud.server_image,
        "gpu_memory_utilization": args.get("gpu_memory_utilization", 0.90),
        "dtype": args.get("dtype", "bfloat16"),
        "kv_cache_dtype": args.get("kv_cache_dtype", "auto"),
        "cache_size_gib": cache_gib,
        "startup_budget_s": args.get("startup_budget_s", max(3600, 900 + cache_gib * 1024 // 50)),
        "node_launch_s": args.get("node_launch_s", 600),
        "pod_cpu": args.get("pod_cpu", "4"),
        "pod_memory_gib": args.get("pod_memory_gib", 32),
        "efa_interfaces": capacity.efa_interfaces,
        # The identity the cloud adapter grants the weights secret to.
        "service_account_name": capacity.server_service_account,
        "service_account_annotations": capacity.server_service_account_annotations,
    }
    if node_selector:
        server_args["node_selector"] = node_selector
    if "quantization" in args:
        server_args["quantization"] = args["quantization"]
    if spec.hf_token_secret:
        # The pods read the secret with the identity the cloud adapter bound to their service account.
        server_args["hf_token_secret"] = spec.hf_token_secret
        server_args["cloud"] = cloud.cloud
        server_args["region"] = spec.region
        if spec.gcp_project:
            server_args["gcp_project"] = spec.gcp_project
    server = ModelServer(
        f"{name}-server",
        server_args,
        opts=pulumi.ResourceOptions.merge(
            kube, pulumi.ResourceOptions(depends_on=[*cloud.ready, *capacity.identity_ready, addons])
        ),
    )
    wait_s = server_await_timeout_s(server_args["node_launch_s"], server_args["startup_budget_s"])
    entry: Any = (
        _routed_service(name, namespace, server.selector, wait_s, kube) if args.get("routed", False) else None
    )
    lb_args: ModelLoadBalancerArgs = {
        "namespace": namespace,
        "selector": server.selector,
        "cloud": cloud.cloud,
        "exposure": args.get("exposure", "internal"),
        "await_timeout_s": server_await_timeout_s(server_args["node_launch_s"], server_args["startup_budget_s"]),
    }
    if "tls_certificate_arn" in args:
        lb_args["tls_certificate_arn"] = args["tls_certificate_arn"]
    if "tls_domain" in args:
        lb_args["tls_domain"] = args["tls_domain"]
    lb = entry if entry is not None else ModelLoadBalancer(f"{name}-lb", lb_args, opts=kube)
    ServingAutoscaler(
        f"{name}-autoscaler",
        {
            "namespace": namespace,
            "target_name": server.workload_name,
            "target_kind": "Deployment" if span == 1 else "LeaderWorkerSet",
            "target_api_version": "apps/v1" if span == 1 else "leaderworkerset.x-k8s.io/v1",
            "served_model_name": args["served_model_name"],
            "min_replicas": replicas_min,
            "max_replicas": replicas_peak,
            "prometheus_url": "http://prometheus-server.servestack-monitoring.svc.cluster.local:80",
        },
        opts=pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[*cloud.ready, addons, server])),
    )
    return lb


class _RoutedEntry:
    """A routed pool's entry point: a ClusterIP Service the router sends the pool's classes to."""

    def __init__(self, address: pulumi.Output[str], service_name: pulumi.Output[str]) -> None:
        self.address = address
        self.service_name = service_name


def _routed_service(
    name: str, namespace: pulumi.Output[str], selector: Any, wait_s: int, kube: pulumi.ResourceOptions
) -> _RoutedEntry:
    from servestack.components.kubernetes._shared import PART_OF, SERVER_PORT, await_options, timeout_annotation

    service = k8s.core.v1.Service(
        f"{name}-svc",
        metadata={
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": name, **PART_OF},
            # The provider waits for ready endpoints: as long as the server's cold start.
            "annotations": timeout_annotation(wait_s),
        },
        spec={"type": "ClusterIP", "selector": selector,
              "ports": [{"name": "http", "port": 80, "target_port": SERVER_PORT}]},
        opts=await_options(kube, wait_s),
    )
    service_name = service.metadata.apply(lambda m: m.name or name)
    address = pulumi.Output.all(service_name, namespace).apply(lambda v: f"{v[0]}.{v[1]}.svc.cluster.local")
    return _RoutedEntry(address, service_name)


def _cloud_spec(name: str, args: ModelDeploymentArgs) -> CloudSpec:
    """The validated, cloud-neutral description of what the cloud adapter builds for a one-pool deployment."""
    comp = "ModelDeployment"
    cluster = _cluster_args(args, [])
    _check_cluster(comp, cluster)
    return _cluster_spec(comp, name, cluster, [_pool_spec(comp, name, _pool_args(args, name), label=False)])


def _check_cluster(comp: str, args: ServingClusterArgs) -> None:
    check_choice(comp, "cloud", args.get("cloud"), CLOUDS)
    check_choice(comp, "environment", args.get("environment"), ("dev", "staging", "prod"))
    check_tags(comp, args.get("tags"))
    check_positive(comp, "zones", args.get("zones"))


def _pool_spec(comp: str, name: str, args: ModelPoolArgs, *, label: bool) -> PoolSpec:
    """One pool's validated spec; `label` puts the pool name on its nodes (fleets), as `servestack.io/pool`."""
    if label:
        check_pool_label(comp, name)
    tags = check_tags(comp, args.get("tags"))
    nodes_min = check_positive(comp, "nodes_min", args.get("nodes_min"))
    nodes_avg = check_positive(comp, "nodes_avg", args.get("nodes_avg"))
    nodes_peak = check_positive(comp, "nodes_peak", args.get("nodes_peak"))
    replicas_min = check_positive(comp, "replicas_min", args.get("replicas_min"))
    replicas_peak = check_positive(comp, "replicas_peak", args.get("replicas_peak"))
    span = check_positive(comp, "nodes_per_replica", args.get("nodes_per_replica"))
    efa = check_positive(comp, "efa_interfaces", args.get("efa_interfaces", 0), minimum=0)
    if not nodes_min <= nodes_avg <= nodes_peak:
        raise ValueError(
            f"{comp}: nodes_min <= nodes_avg <= nodes_peak must hold ({nodes_min}, {nodes_avg}, {nodes_peak})"
        )
    if replicas_peak < replicas_min:
        raise ValueError(f"{comp}: replicas_peak={replicas_peak} is below replicas_min={replicas_min}")
    groups = [GpuGroupSpec("base", args["pricing_base"], nodes_min, nodes_min, nodes_min)]
    if nodes_peak > nodes_min:
        groups.append(GpuGroupSpec("burst", args["pricing_burst"], 0, nodes_avg - nodes_min, nodes_peak - nodes_min))
    return PoolSpec(
        name=name,
        tags=tags,
        instance_type=args["instance_type"],
        accelerator=args["accelerator"],
        accelerators_per_node=args["accelerators_per_node"],
        nodes_per_replica=span,
        groups=groups,
        root_volume_gib=args["root_volume_gib"],
        namespace=name,
        server_service_account=server_service_account_name(name),
        pool_label=name if label else None,
        root_volume_throughput_mibps=args.get("root_volume_throughput_mibps"),
        root_volume_iops=args.get("root_volume_iops"),
        efa_interfaces=efa,
        spot_instance_types=list(args.get("spot_instance_types") or []),
        node_launch_s=args.get("node_launch_s"),
    )


def _cluster_spec(comp: str, name: str, args: ServingClusterArgs, pools: list[PoolSpec]) -> CloudSpec:
    _check_cluster(comp, args)
    zones = check_positive(comp, "zones", args.get("zones"))
    api_access, api_cidrs = check_api_access(comp, args.get("api_access", "private"), args.get("api_cidrs", []))
    _, zone_names = check_zones(comp, zones, zones, args.get("zone_names"))
    return CloudSpec(
        name=name,
        region=args["region"],
        zone_count=zones,
        zone_names=zone_names,
        tags=check_tags(comp, args.get("tags")),
        environment=args["environment"],
        pools=pools,
        api_access=api_access,
        api_cidrs=api_cidrs,
        kubernetes_version=args.get("kubernetes_version"),
        cluster_admins=list(args.get("cluster_admins") or []),
        hf_token_secret=args.get("hf_token_secret"),
        image=args.get("image", DEFAULT_IMAGE),
        existing_cluster_name=args.get("existing_cluster_name"),
        gcp_project=args.get("gcp_project"),
        docker_hub_credential_arn=args.get("docker_hub_credential_arn"),
    )


def server_service_account_name(deployment: str) -> str:
    """The Kubernetes service account of the serving pods, in the deployment's (or pool's) namespace."""
    return f"{deployment}-server"


def deploy_from_config() -> ModelDeployment | tuple[ServingCluster, list[ModelPool]]:
    """What the program does: read `servestack:*` config, build the stack, export its outputs.

    A single-workload stack is a ModelDeployment (the resource names it always had); a multi-workload stack is a
    ServingCluster plus one ModelPool per server. Raises `ConfigError` (naming the key) before any resource is
    registered when the config is invalid.
    """
    cfg = DeploymentConfig.from_pulumi_config()
    if cfg.fleet_servers is None:
        return _deploy_single(cfg)
    return _deploy_fleet(cfg)


def _deploy_single(cfg: DeploymentConfig) -> ModelDeployment:
    deployment = ModelDeployment(cfg.workload.name, model_deployment_args(cfg))
    commitment = cfg.deployment.commitment
    if commitment is not None:
        # What to buy so the floor is billed as planned; until it is bought (servestack:commitmentPurchased),
        # the budget pack prices the floor on demand.
        pulumi.export("commitmentToBuy", _commitment(cfg, commitment))
    pulumi.export("clusterName", deployment.cluster_name)
    pulumi.export("endpoint", deployment.endpoint)
    pulumi.export("registryUrl", deployment.registry_url)
    pulumi.export("namespace", deployment.namespace)
    pulumi.export("kubeconfig", deployment.kubeconfig)
    return deployment


def _deploy_fleet(cfg: DeploymentConfig) -> tuple[ServingCluster, list[ModelPool]]:
    cluster_args, pool_args = fleet_args(cfg)
    cluster = ServingCluster(_cluster_name(), cluster_args)
    pools = [ModelPool(args["pool"], args, cluster) for args in pool_args]
    commitments = {s.pool: _commitment(cfg, s.deployment.commitment)
                   for s in cfg.fleet.servers if s.deployment.commitment is not None}
    if commitments:
        pulumi.export("commitmentsToBuy", commitments)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("registryUrl", cluster.registry_url)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    router = _fleet_router(cfg, cluster, pools)
    if router is not None:
        # A mixed fleet's clients call the router's load balancer, at their workload's path; its routed pools'
        # endpoints are in-cluster.
        pulumi.export("router", {"address": router.address, "port": router.port, "paths": router.paths})
    pulumi.export("endpoints", {pool.pool_name: pool.endpoint for pool in pools})
    pulumi.export("namespaces", {pool.pool_name: pool.namespace for pool in pools})
    return cluster, pools


def _fleet_router(cfg: DeploymentConfig, cluster: ServingCluster, pools: list[ModelPool]) -> Any:
    """The ModelRouter of a fleet whose workloads have several pools (mixed fleets); None when none has."""
    from servestack.components.kubernetes.router import ModelRouter, ModelRouterArgs, RoutedClass, RoutedWorkload

    by_pool = {pool.pool_name: pool for pool in pools}
    workloads: dict[str, RoutedWorkload] = {}
    for server in cfg.fleet.servers:
        if not server.request_classes:
            continue
        pool = by_pool[server.pool]
        routed = workloads.setdefault(server.workload, {"name": server.workload, "classes": []})
        for request_class in server.request_classes:
            entry: RoutedClass = {
                "name": request_class.name,
                "input_tokens": request_class.input_tokens,
                "service_namespace": pool.namespace,
                "service_name": pool.service_name,
            }
            routed["classes"].append(entry)
    if not workloads:
        return None
    args: ModelRouterArgs = {
        "cloud": cfg.deployment.cloud,
        "workloads": list(workloads.values()),
        "exposure": cfg.exposure,
        "kubernetes_version": cfg.kubernetes_version,
    }
    if cfg.tls_certificate_arn:
        args["tls_certificate_arn"] = cfg.tls_certificate_arn
    if cfg.tls_domain:
        args["tls_domain"] = cfg.tls_domain
    return ModelRouter(f"{cluster.pulumi_resource_name}-router", args, opts=cluster.kube)


def _commitment(cfg: DeploymentConfig, commitment: Any) -> dict[str, Any]:
    return {
        **commitment.model_dump(by_alias=True, exclude_none=True, mode="json"),
        "purchased": cfg.commitment_purchased,
    }


def _cluster_name() -> str:
    """The shared cluster's resource name: the stack's name as a DNS-1123 label (stack names allow more)."""
    import re

    name = re.sub(r"[^a-z0-9-]+", "-", pulumi.get_stack().lower()).strip("-")[:40].strip("-")
    return name or "fleet"
