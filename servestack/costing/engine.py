"""Monthly cost of a resource graph, priced from the same bundled catalog and platform table as the selector.

Prices exactly what `servestack.catalog.platform.platform_monthly_usd` counts plus the GPU nodes, so the
ceiling of a stack written by `plan --write` equals the plan's `monthly_usd_ceiling`:

- node groups / node pools: instance node-hour price (catalog, or the platform table's system node) x nodes
  x 730 h; `expected` at the desired count, `ceiling` at the maximum; capacity type picks spot or on-demand,
  the `servestack-pricing` tag picks a 1y/3y committed price for on-demand capacity;
- node volumes (launch template EBS / GKE boot disk) at the platform's per-GiB-month price, per node;
- cluster control planes, NAT gateways (per gateway on AWS; per VM on GCP, capped), load balancers
  (a Kubernetes Service of type LoadBalancer, an Ingress or Gateway, or an explicit NLB / forwarding rule; an
  Envoy Gateway whose proxies' Service is ClusterIP is not one).

Anything that costs money but has no bundled price (registries, public IPs, persistent volume claims,
usage charges) is reported as unknown with a reason, never as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from servestack.catalog import Catalog, PricingMode, load_catalog
from servestack.catalog.platform import HOURS_PER_MONTH, platform_prices
from servestack.catalog.pricing import group_hourly_usd, hourly_usd, nodes_monthly_usd
from servestack.costing.nodes import (
    COMPUTE_TYPES,
    GKE_NODE_POOL,
    NodeGroup,
    graph_of,
    read_node_groups,
    resource_cloud,
    stack_cloud,
    system_node_price,
)
from servestack.costing.resources import MISSING, Resource, ResourceLike, as_resources, is_unknown
from servestack.costing.showback import Showback, showback_of

__all__ = ["CostedResource", "CostReport", "cost_resources", "cost_graph"]

_CONTROL_PLANES = {"aws:eks/cluster:Cluster": "aws", "gcp:container/cluster:Cluster": "gcp"}
_REGISTRIES = ("aws:ecr/repository:Repository", "gcp:artifactregistry/repository:Repository")
_NAT_VM_TYPES = (GKE_NODE_POOL,)
"""GCP groups priced behind Cloud NAT: the private node pools servestack and the platform table assume."""
_GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
_GATEWAY_CLASS = "kubernetes:gateway.networking.k8s.io/v1:GatewayClass"
_ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
_LB_KUBERNETES = ("kubernetes:networking.k8s.io/v1:Ingress", _GATEWAY)


@dataclass(frozen=True, slots=True)
class CostedResource:
    """One priced item of one resource (a node group yields a compute line and a volume line).

    `expected`/`ceiling` are USD per month, both None when `unknown_reason` is set. `usage_priced`
    marks items billed by usage (registry storage), which no graph can price.
    """

    urn: str
    type: str
    name: str
    item: str
    """compute | volumes | control-plane | nat | load-balancer | registry | public-ip | storage | default-pool"""
    expected: float | None
    ceiling: float | None
    unknown_reason: str | None = None
    usage_priced: bool = False
    preview_unknown: bool = False
    """True when the price is unknown only because a preview does not know an input yet."""
    detail: str = ""

    @property
    def known(self) -> bool:
        return self.unknown_reason is None

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the line across two graphs of the same stack (for cost diffs)."""
        return (self.urn, self.item)

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "item": self.item,
            "expected": None if self.expected is None else round(self.expected, 2),
            "ceiling": None if self.ceiling is None else round(self.ceiling, 2),
            "unknown_reason": self.unknown_reason,
            "usage_priced": self.usage_priced,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class CostReport:
    """Per-item lines and totals of the known lines (USD/month); unknown lines are listed, never summed."""

    lines: tuple[CostedResource, ...]
    node_groups: tuple[NodeGroup, ...]
    catalog_as_of: str
    notes: tuple[str, ...] = ()
    """How the report priced what a graph cannot show (commitments bought or not), for people."""
    showback: Showback | None = None
    """Each workload's direct cost and share of the shared cost, by the workload tags (servestack.costing.showback)."""

    @property
    def expected(self) -> float:
        return sum(line.expected for line in self.lines if line.expected is not None)

    @property
    def ceiling(self) -> float:
        return sum(line.ceiling for line in self.lines if line.ceiling is not None)

    @property
    def unknowns(self) -> tuple[CostedResource, ...]:
        return tuple(line for line in self.lines if not line.known)

    @property
    def unpriced_accelerators(self) -> tuple[NodeGroup, ...]:
        """Groups that run (or may run) accelerators but have no price: the totals leave them out."""
        return tuple(g for g in self.node_groups if g.may_run_accelerators and _compute_problem(g, self) is not None)

    @property
    def unpriced_capacity(self) -> tuple[CostedResource, ...]:
        """Unknown lines that are not usage-priced: the totals understate the bill by these."""
        return tuple(line for line in self.unknowns if not line.usage_priced)

    def by_urn(self, urn: str) -> list[CostedResource]:
        return [line for line in self.lines if line.urn == urn]

    def as_dict(self) -> dict[str, Any]:
        return {
            "expected": round(self.expected, 2),
            "ceiling": round(self.ceiling, 2),
            "catalog_as_of": self.catalog_as_of,
            "lines": [line.as_dict() for line in self.lines],
            "unknowns": [line.as_dict() for line in self.unknowns],
            **({"showback": self.showback.as_dict()} if self.showback is not None else {}),
        }


def cost_resources(
    resources: Iterable[ResourceLike | Resource],
    catalog: Catalog | None = None,
    *,
    region: str | None = None,
    stack_config: Mapping[str, Any] | None = None,
) -> CostReport:
    """Price a resource graph.

    `region` is used for resources whose provider does not name one; `stack_config` holds the stack's
    fully qualified config (`aws:region`, `gcp:region`, `servestack:deployment`), parsed or as Pulumi's
    strings, consulted after explicit provider resources and `region`.
    """
    return cost_graph(as_resources(resources), catalog, region=region, stack_config=stack_config)


def cost_graph(
    resources: Sequence[Resource],
    catalog: Catalog | None = None,
    *,
    region: str | None = None,
    stack_config: Mapping[str, Any] | None = None,
) -> CostReport:
    """`cost_resources` over already normalised resources."""
    cat = catalog if catalog is not None else load_catalog()
    config = _parsed(stack_config or {})
    graph = graph_of(resources, cat, region=region, stack_config=config)
    default_cloud = stack_cloud(resources, config)
    lines: list[CostedResource] = []
    groups: list[NodeGroup] = []
    for r in resources:
        if r.type in COMPUTE_TYPES:
            found = read_node_groups(r, graph)
            groups.extend(found)
            for group in found:
                lines.extend(_node_lines(group, cat, several=len(found) > 1))
    in_cluster = _gateways_without_load_balancer(resources)
    for r in resources:
        if r.type in COMPUTE_TYPES or r.urn in in_cluster:
            continue
        lines.extend(_other_lines(r, groups, default_cloud))
    notes = tuple(f"{g.label} ({g.kind}): {g.pricing_note}" for g in groups
                  if g.pricing_note and g.committed_mode is not None)
    return CostReport(lines=tuple(lines), node_groups=tuple(groups), catalog_as_of=cat.as_of, notes=notes,
                      showback=showback_of(lines, groups, resources))


def _parsed(config: Mapping[str, Any]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                out[key] = json.loads(value)
                continue
            except ValueError:
                pass
        out[key] = value
    return out


def _line(r: Resource, item: str, monthly_expected: float, monthly_ceiling: float, detail: str) -> CostedResource:
    return CostedResource(r.urn, r.type, r.name, item, monthly_expected, monthly_ceiling, detail=detail)


def _unknown(r: Resource, item: str, reason: str, *, usage: bool = False, preview: bool = False) -> CostedResource:
    return CostedResource(r.urn, r.type, r.name, item, None, None, unknown_reason=reason, usage_priced=usage,
                          preview_unknown=preview)


def _item(base: str, g: NodeGroup) -> str:
    """Line item of a group; a resource with several groups (SageMaker variants) names the part."""
    return f"{base}:{g.part}" if g.part else base


def _compute_problem(g: NodeGroup, report: CostReport) -> str | None:
    for line in report.lines:
        if line.urn == g.resource.urn and line.item == _item("compute", g):
            return line.unknown_reason
    return g.problem


def _node_lines(g: NodeGroup, catalog: Catalog, *, several: bool = False) -> list[CostedResource]:
    r = g.resource
    out: list[CostedResource] = []
    compute, volumes = _item("compute", g), _item("volumes", g)
    if g.problem is not None:
        out.append(_unknown(r, compute, g.problem, preview=g.preview_unknown))
    else:
        out.append(_compute_line(g, catalog))
    prices = platform_prices(g.cloud)
    if g.volume_problem is not None:
        out.append(_unknown(r, volumes, g.volume_problem, preview="during preview" in g.volume_problem))
    elif g.volume_gib_per_node is None:
        pass  # the kind attaches no volume the platform table prices (SageMaker, Vertex)
    elif g.nodes_expected is None or g.nodes_max is None:
        out.append(_unknown(r, volumes, g.problem or "node counts unknown", preview=g.preview_unknown))
    else:
        per_node = g.volume_gib_per_node * prices.volume_per_gib_month + g.volume_extras_usd
        detail = f"{g.volume_gib_per_node:g} GiB/node x {prices.volume_per_gib_month} USD/GiB-month"
        if g.volume_extras_usd:
            detail += f" + {g.volume_extras_usd:g} USD/node for throughput/IOPS above the gp3 baseline"
        out.append(_line(r, volumes, per_node * g.nodes_expected, per_node * g.nodes_max, detail))
    return out


def _hourly_price(g: NodeGroup, catalog: Catalog, instance_type: str, mode: PricingMode) -> float | str:
    """USD per node-hour of one instance type in `mode`, or why there is none."""
    assert g.region is not None
    hourly = system_node_price(g.cloud, instance_type) if mode == "on_demand" else None
    if hourly is not None:
        return hourly
    offering = catalog.find_offering(g.cloud, g.region, instance_type)
    if offering is None:
        if catalog.instance_facts(g.cloud, instance_type) is None:
            return f"{instance_type} is not an instance type of the bundled catalog ({g.cloud})"
        regions = sorted({o.region for o in catalog.offerings
                          if o.cloud == g.cloud and o.instance_type == instance_type})
        return (f"{instance_type} has no bundled price in {g.region} (the catalog prices it in "
                f"{', '.join(regions) or 'no region'})")
    # `mode` is already the billed rate (a commitment not bought reads as on_demand, see shape._pricing).
    price = hourly_usd(offering, mode)
    if price is None:
        return f"{instance_type} in {g.region} has no {mode} price in the bundled catalog"
    return price


def _compute_line(g: NodeGroup, catalog: Catalog) -> CostedResource:
    r = g.resource
    item = _item("compute", g)
    assert g.nodes_expected is not None and g.nodes_max is not None and g.pricing_mode is not None
    modes: list[PricingMode] = [g.pricing_mode] + (["spot"] if g.split is not None else [])
    # (expected price, dearest type's price) per pricing mode: with several instance types, on-demand capacity
    # launches the first and spot capacity may land on any, so spot is priced at the dearest as the plan did
    # (servestack.catalog.pricing.group_hourly_usd); the dearest bounds the ceiling.
    by_mode: dict[str, tuple[float, float]] = {}
    for mode in modes:
        found: list[float] = []
        for instance_type in g.instance_types:
            price = _hourly_price(g, catalog, instance_type, mode)
            if isinstance(price, str):
                return _unknown(r, item, price)
            found.append(price)
        by_mode[mode] = (group_hourly_usd(found, mode), max(found))

    def monthly(nodes: int, which: int) -> float:
        # The same function the selector prices a candidate with (servestack.catalog.pricing).
        base = by_mode[g.pricing_mode][which]  # type: ignore[index]
        if g.split is None:
            return nodes_monthly_usd(base, nodes)
        on_demand = g.split.on_demand_nodes(nodes)
        return nodes_monthly_usd(base, on_demand, by_mode["spot"][which], nodes - on_demand)

    first = by_mode[g.pricing_mode][0]
    if g.split is None:
        how = f"{g.pricing_mode} {first} USD/h"
    else:
        how = (f"{g.pricing_mode} {first} USD/h for {g.split.on_demand_nodes(g.nodes_expected)} nodes, spot "
               f"{by_mode['spot'][0]} USD/h for the rest")
    detail = (
        f"{g.kind} {g.instance_type} in {g.region}: {how} x {g.nodes_expected} nodes expected, "
        f"{g.nodes_max} at most, x {HOURS_PER_MONTH:g} h"
    )
    if len(g.instance_types) > 1 and "spot" in by_mode:
        detail += f" (spot may launch {', '.join(g.instance_types)}: priced at the dearest)"
    if g.pricing_note:
        detail += f" ({g.pricing_note})"
    return _line(r, item, monthly(g.nodes_expected, 0), monthly(g.nodes_max, 1), detail)


def _hourly_line(r: Resource, item: str, hourly: float, detail: str) -> CostedResource:
    monthly = hourly * HOURS_PER_MONTH
    return _line(r, item, monthly, monthly, f"{detail}: {hourly} USD/h x {HOURS_PER_MONTH:g} h")


def _other_lines(r: Resource, groups: Sequence[NodeGroup], default_cloud: str | None) -> list[CostedResource]:
    t = r.type
    if t in _CONTROL_PLANES:
        cloud = _CONTROL_PLANES[t]
        out = [_hourly_line(r, "control-plane", platform_prices(cloud).control_plane_per_hour, "cluster fee")]
        if cloud == "gcp":
            out.extend(_gke_default_pool(r))
        return out
    if t == "aws:ec2/natGateway:NatGateway":
        return [_hourly_line(r, "nat", platform_prices("aws").nat_gateway_per_hour, "NAT gateway hour")]
    if t == "gcp:compute/routerNat:RouterNat":
        return [_gcp_nat_line(r, groups)]
    if t in _REGISTRIES:
        return [_unknown(r, "registry", "registry storage and transfer are usage-priced", usage=True)]
    if t == "aws:ec2/eip:Eip":
        return [_hourly_line(r, "public-ip", platform_prices("aws").public_ipv4_per_hour, "public IPv4 address hour")]
    if t == "kubernetes:core/v1:PersistentVolumeClaim":
        return [_unknown(r, "storage", "the storage class decides the disk type and price of a claim")]
    if t in ("aws:ebs/volume:Volume", "gcp:compute/disk:Disk"):
        return [_disk_line(r)]
    if t == "kubernetes:core/v1:Service":
        kind = r.get("spec", "type")
        if is_unknown(kind):
            return [_unknown(r, "load-balancer", "spec.type unknown during preview", preview=True)]
        if kind == "LoadBalancer":
            return [_lb_line(r, _service_cloud(r, default_cloud), "Service type LoadBalancer")]
        return []
    if t in _LB_KUBERNETES:
        return [_lb_line(r, default_cloud, t.rsplit(":", 1)[-1])]
    if t == "aws:lb/loadBalancer:LoadBalancer":
        lb_type = r.get("loadBalancerType")
        if lb_type == "network":
            return [_lb_line(r, "aws", "Network Load Balancer")]
        shown = lb_type if lb_type is not MISSING else "application"
        return [_unknown(r, "load-balancer", f"load balancer type {shown} is not in the bundled price table "
                         "(network only)", preview=is_unknown(lb_type))]
    if t == "gcp:compute/forwardingRule:ForwardingRule":
        return [_lb_line(r, "gcp", "forwarding rule")]
    return []


def _gateways_without_load_balancer(resources: Sequence[Resource]) -> set[str]:
    """URNs of Gateways that provision no load balancer of their own.

    A Gateway costs a load balancer unless its implementation is told otherwise. Envoy Gateway's is: the class's
    parameters (an EnvoyProxy) set the type of the proxies' Service, a LoadBalancer unless they say ClusterIP
    or NodePort; the stack's entry point is then another Service, priced where it is declared."""
    proxies: dict[tuple[str, str], Any] = {}
    for r in resources:
        if r.type == _ENVOY_PROXY:
            proxies[(str(r.get("metadata", "namespace")), str(r.get("metadata", "name")))] = r.get(
                "spec", "provider", "kubernetes", "envoyService", "type")
    service_type: dict[str, Any] = {}
    for r in resources:
        ref = r.get("spec", "parametersRef")
        if r.type != _GATEWAY_CLASS or not isinstance(ref, dict) or ref.get("kind") != "EnvoyProxy":
            continue
        key = (str(ref.get("namespace")), str(ref.get("name")))
        if key in proxies:
            service_type[str(r.get("metadata", "name"))] = proxies[key]
    return {r.urn for r in resources
            if r.type == _GATEWAY and service_type.get(str(r.get("spec", "gatewayClassName"))) in ("ClusterIP",
                                                                                                 "NodePort")}


def _gke_default_pool(r: Resource) -> list[CostedResource]:
    remove = r.get("removeDefaultNodePool")
    if remove is True:
        return []
    if is_unknown(remove):
        return [_unknown(r, "default-pool", "removeDefaultNodePool unknown during preview", preview=True)]
    return [_unknown(r, "default-pool", "the cluster keeps its default node pool, which is not priced; "
                     "set removeDefaultNodePool and manage node pools explicitly")]


def _service_cloud(r: Resource, default_cloud: str | None) -> str | None:
    annotations = r.get("metadata", "annotations")
    if isinstance(annotations, dict):
        keys = [k for k in annotations if isinstance(k, str)]
        if any(k.startswith("service.beta.kubernetes.io/aws-load-balancer") for k in keys):
            return "aws"
        if any(k.startswith(("networking.gke.io/", "cloud.google.com/")) for k in keys):
            return "gcp"
    return default_cloud


def _lb_line(r: Resource, cloud: str | None, what: str) -> CostedResource:
    if cloud is None:
        return _unknown(r, "load-balancer", "cannot tell which cloud runs this load balancer")
    return _hourly_line(r, "load-balancer", platform_prices(cloud).load_balancer_per_hour, what)


def _disk_line(r: Resource) -> CostedResource:
    cloud = resource_cloud(r.type) or "aws"
    size = r.get("size")
    kind = r.get("type")
    if is_unknown(size) or is_unknown(kind):
        return _unknown(r, "storage", "disk size/type unknown during preview", preview=True)
    priced = "gp3" if cloud == "aws" else "pd-balanced"
    if kind is not MISSING and kind != priced:
        return _unknown(r, "storage", f"disk type {kind} is not in the bundled price table ({priced} only)")
    if not isinstance(size, int | float) or isinstance(size, bool):
        return _unknown(r, "storage", "disk size not given (it follows the image/snapshot)")
    monthly = float(size) * platform_prices(cloud).volume_per_gib_month
    return _line(r, "storage", monthly, monthly, f"{size:g} GiB x {platform_prices(cloud).volume_per_gib_month}")


def _gcp_nat_line(r: Resource, groups: Sequence[NodeGroup]) -> CostedResource:
    """Cloud NAT bills per VM behind it (capped), so its price follows the node pools' counts."""
    # Every GCP VM without its own address reaches the internet through Cloud NAT.
    pools = [g for g in groups if g.cloud == "gcp" and g.resource.type in _NAT_VM_TYPES]
    if any(g.nodes_expected is None or g.nodes_max is None for g in pools):
        return _unknown(r, "nat", "node pool sizes unknown, and Cloud NAT bills per VM",
                        preview=any(g.preview_unknown for g in pools))
    expected_vms = sum(g.nodes_expected or 0 for g in pools)
    max_vms = sum(g.nodes_max or 0 for g in pools)
    prices = platform_prices("gcp")
    expected = prices.nat_monthly_usd(0, expected_vms)
    ceiling = prices.nat_monthly_usd(0, max_vms)
    return _line(r, "nat", expected, ceiling,
                 f"Cloud NAT: {prices.nat_gateway_per_hour} USD per VM-hour, {expected_vms} VMs expected, "
                 f"{max_vms} at most (capped at {prices.nat_max_per_hour} USD/h)")
