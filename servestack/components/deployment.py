"""`ModelDeployment`: one whole serving environment on one cloud, built from the stack config.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from servestack.components._common import check_api_access, check_choice, check_positive, check_tags, check_zones
from servestack.components.cloud import CLOUDS, CloudSpec, GpuGroupSpec, cloud_adapter
from servestack.components.config import DEFAULT_IMAGE, DeploymentConfig
from servestack.versions import DEFAULT_KUBERNETES_VERSION

__all__ = ["ModelDeployment", "ModelDeploymentArgs", "model_deployment_args", "deploy_from_config"]


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


class ModelDeployment(pulumi.ComponentResource):
    """A complete model-serving environment: cluster, GPU capacity, registry, vLLM, load balancer, autoscaling."""

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
        span = spec.nodes_per_replica
        replicas_min = int(args["replicas_min"])
        replicas_peak = int(args["replicas_peak"])

        cloud = adapter.provision(self, spec)
        # The provider, and through it every Kubernetes resource, waits for the system nodes; on destroy the
        # nodes stay until the Kubernetes resources are gone.
        provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=cloud.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=cloud.ready),
        )
        kube = pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider}, depends_on=cloud.ready)

        from servestack.components.kubernetes import (
            ImagePrePuller,
            ModelLoadBalancer,
            ModelLoadBalancerArgs,
            ModelServer,
            ModelServerArgs,
            NvidiaDevicePlugin,
            ServingAddons,
            ServingAddonsArgs,
            ServingAutoscaler,
            server_await_timeout_s,
        )

        # The contract's fields as model_deployment_args fills them; the defaults only keep programs that build
        # ModelDeploymentArgs by hand previewing: 16-bit weights and KV cache, which every part can run.
        kubernetes_version = args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION)
        if cloud.needs_nvidia_device_plugin:
            NvidiaDevicePlugin(f"{name}-device-plugin", {"kubernetes_version": kubernetes_version}, opts=kube)
        adapter.install_add_ons(self, spec, cloud, kube)
        ns = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={
                "name": spec.namespace,
                "labels": {
                    **spec.tags,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
            opts=kube,
        )
        namespace = ns.metadata.apply(lambda m: m.name or spec.namespace)
        # The GPU nodes pull the serving image as they join, while their GPUs are still being brought up.
        ImagePrePuller(f"{name}-prepull", {"namespace": namespace, "image": cloud.server_image,
                                           "accelerator": args["accelerator"]}, opts=kube)
        addons_args: ServingAddonsArgs = {
            "leader_worker_set": span > 1,
            "efa_device_plugin": cloud.efa_interfaces > 0,
            "kubernetes_version": kubernetes_version,
            "dcgm_exporter": args.get("gpu_metrics", False),
            "dashboard_name": f"{name}-dashboard",
        }
        if "alerting_rules" in args:
            addons_args["alerting_rules"] = args["alerting_rules"]
        if "grafana_dashboard" in args:
            addons_args["grafana_dashboard"] = args["grafana_dashboard"]
        addons = ServingAddons(f"{name}-addons", addons_args, opts=kube)
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
            "efa_interfaces": cloud.efa_interfaces,
            # The identity the cloud adapter grants the weights secret to.
            "service_account_name": cloud.server_service_account,
            "service_account_annotations": cloud.server_service_account_annotations,
        }
        if "quantization" in args:
            server_args["quantization"] = args["quantization"]
        if "hf_token_secret" in args:
            # The pods read the secret with the identity the cloud adapter bound to their service account.
            server_args["hf_token_secret"] = args["hf_token_secret"]
            server_args["cloud"] = cloud.cloud
            server_args["region"] = args["region"]
            if "gcp_project" in args:
                server_args["gcp_project"] = args["gcp_project"]
        server = ModelServer(
            f"{name}-server",
            server_args,
            opts=pulumi.ResourceOptions.merge(
                kube, pulumi.ResourceOptions(depends_on=[*cloud.ready, *cloud.identity_ready, addons])
            ),
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
        lb = ModelLoadBalancer(f"{name}-lb", lb_args, opts=kube)
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


def _cloud_spec(name: str, args: ModelDeploymentArgs) -> CloudSpec:
    """The validated, cloud-neutral description of what the cloud adapter builds."""
    comp = "ModelDeployment"
    check_choice(comp, "cloud", args.get("cloud"), CLOUDS)
    environment = check_choice(comp, "environment", args.get("environment"), ("dev", "staging", "prod"))
    tags = check_tags(comp, args.get("tags"))
    zones = check_positive(comp, "zones", args.get("zones"))
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
    api_access, api_cidrs = check_api_access(comp, args.get("api_access", "private"), args.get("api_cidrs", []))
    _, zone_names = check_zones(comp, zones, zones, args.get("zone_names"))

    groups = [GpuGroupSpec("base", args["pricing_base"], nodes_min, nodes_min, nodes_min)]
    if nodes_peak > nodes_min:
        groups.append(GpuGroupSpec("burst", args["pricing_burst"], 0, nodes_avg - nodes_min, nodes_peak - nodes_min))
    return CloudSpec(
        name=name,
        region=args["region"],
        zone_count=zones,
        zone_names=zone_names,
        tags=tags,
        environment=environment,
        instance_type=args["instance_type"],
        accelerator=args["accelerator"],
        accelerators_per_node=args["accelerators_per_node"],
        nodes_per_replica=span,
        groups=groups,
        root_volume_gib=args["root_volume_gib"],
        root_volume_throughput_mibps=args.get("root_volume_throughput_mibps"),
        root_volume_iops=args.get("root_volume_iops"),
        efa_interfaces=efa,
        spot_instance_types=list(args.get("spot_instance_types") or []),
        node_launch_s=args.get("node_launch_s"),
        api_access=api_access,
        api_cidrs=api_cidrs,
        kubernetes_version=args.get("kubernetes_version"),
        cluster_admins=list(args.get("cluster_admins") or []),
        hf_token_secret=args.get("hf_token_secret"),
        image=args.get("image", DEFAULT_IMAGE),
        namespace=name,
        server_service_account=server_service_account_name(name),
        existing_cluster_name=args.get("existing_cluster_name"),
        gcp_project=args.get("gcp_project"),
        docker_hub_credential_arn=args.get("docker_hub_credential_arn"),
    )


def server_service_account_name(deployment: str) -> str:
    """The Kubernetes service account of the serving pods, in the deployment's namespace."""
    return f"{deployment}-server"


def deploy_from_config() -> ModelDeployment:
    """What the program does: read `servestack:*` config, build the deployment, export its outputs.

    Raises `ConfigError` (naming the key) before any resource is registered when the config is invalid.
    """
    cfg = DeploymentConfig.from_pulumi_config()
    deployment = ModelDeployment(cfg.workload.name, model_deployment_args(cfg))
    commitment = cfg.deployment.commitment
    if commitment is not None:
        # What to buy so the floor is billed as planned; until it is bought (servestack:commitmentPurchased),
        # the budget pack prices the floor on demand.
        pulumi.export(
            "commitmentToBuy",
            {
                **commitment.model_dump(by_alias=True, exclude_none=True, mode="json"),
                "purchased": cfg.commitment_purchased,
            },
        )
    pulumi.export("clusterName", deployment.cluster_name)
    pulumi.export("endpoint", deployment.endpoint)
    pulumi.export("registryUrl", deployment.registry_url)
    pulumi.export("namespace", deployment.namespace)
    pulumi.export("kubeconfig", deployment.kubeconfig)
    return deployment
