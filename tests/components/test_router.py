"""The mixed-fleet example deployed behind its router: the objects match their CRD schemas, each size class
reaches its pool, the router is the stack's one load balancer, and the router's own choices (pins, exposure, pod
security) hold. Every test here fails on a stack without the router."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from servestack.components.kubernetes.router import (
    DEFAULT_BYTES_PER_TOKEN,
    ModelRouter,
    ModelRouterArgs,
)
from servestack.preview import run_preview
from servestack.preview.model import PreviewResult
from servestack.versions import DEFAULT_KUBERNETES_VERSION, SUPPORTED_KUBERNETES_VERSIONS, addon_versions
from tests.components.conftest import Runner
from tests.components.fleet_stacks import fleet_stack, plan_server, write_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mixed-fleet-7b.yaml"
SCHEMAS = ROOT / "schemas" / "crds"
GATEWAY_API = "kubernetes:gateway.networking.k8s.io/"
ROUTER_TYPES = {
    "kubernetes:gateway.networking.k8s.io/v1:GatewayClass",
    "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant",
    "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy",
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], PreviewResult]]:
    """The example's workload as a two-pool mixed fleet (its short class on the cheapest offering, its long class
    on the next instance type), previewed offline. Built from real plans rather than taken from the example's own
    plan, so these tests exercise the router whichever stack the example's plan chooses."""
    from servestack.catalog import load_catalog
    from servestack.selector.plan import plan

    small = plan_server(EXAMPLE.stem, "aws", "us-east-1")
    catalog = load_catalog()
    large = next(c.deployment(small.spec, catalog) for c in plan(small.spec.model_copy(update={
        "placement": small.spec.placement.model_copy(update={"clouds": ["aws"], "regions": ["us-east-1"]})}),
        catalog, top=100).candidates
        if c.instance_type != small.deployment.instance_type
        and c.deployment(small.spec, catalog).zone_names == small.deployment.zone_names)
    mix = yaml.safe_load(EXAMPLE.read_text())["traffic"]["request_mix"]
    short, long = sorted(mix, key=lambda c: c["input_tokens"])
    config = fleet_stack([small])
    # Both pools are sized for the whole traffic here, so the budget is the two plans' ceilings, not the spec's.
    config["servestack:budgetMonthlyUsd"] = 2 * small.monthly_usd_ceiling + 10_000
    config["servestack:fleet"] = {"servers": [
        {"workload": small.spec.name, "pool": pool, "deployment": deployment.to_stack_config(),
         "requestClasses": [{"name": c["name"], "share": c["share"], "inputTokens": c["input_tokens"],
                             "outputTokens": c["output_tokens"]}]}
        for pool, deployment, c in (("small", small.deployment, short), ("large", large, long))
    ]}
    project = write_project(tmp_path_factory.mktemp("mixed"), "mixed", config)
    config["project"] = project
    yield config, run_preview(project, "mixed")


def _schema(api_version: str, kind: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    document = json.loads((SCHEMAS / f"{group}_{version}_{kind.lower()}.json").read_text())
    return _strict(document["openAPIV3Schema"])


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused: the API server would prune them silently, losing the setting."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def _validate(resource_inputs: dict[str, Any]) -> None:
    manifest = {k: v for k, v in resource_inputs.items() if k in ("apiVersion", "kind", "metadata", "spec")}
    jsonschema.validate(manifest, _schema(manifest["apiVersion"], manifest["kind"]))


def _of(preview: PreviewResult, type_: str) -> list[Any]:
    return [r for r in preview.resources if r.type == type_]


def test_router_objects_match_their_crd_schemas(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    _, preview = mixed
    routed = [r for r in preview.resources if r.type in ROUTER_TYPES]
    assert {r.type for r in routed} == ROUTER_TYPES
    for resource in routed:
        try:
            _validate(resource.inputs)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{resource.urn}: {exc.message} at {'/'.join(str(p) for p in exc.absolute_path)}")


def test_the_schema_check_refuses_a_misspelled_field(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    _, preview = mixed
    route = copy.deepcopy(_of(preview, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")[0].inputs)
    route["spec"]["rules"][0]["matches"][0]["header"] = route["spec"]["rules"][0]["matches"][0].pop("headers")
    with pytest.raises(jsonschema.ValidationError, match="'header' was unexpected"):
        _validate(route)


def _backend(route: dict[str, Any], content_length: int | None) -> str:
    """The Service a request reaches, by Gateway API precedence: the matching rule with the most header matches,
    then the first in list order. Envoy's safe_regex matches the whole header value."""
    best: tuple[int, int, str] | None = None
    for index, rule in enumerate(route["spec"]["rules"]):
        for match in rule["matches"]:
            headers = match.get("headers", [])
            if any(content_length is None or not re.fullmatch(h["value"], str(content_length)) for h in headers):
                continue
            key = (-len(headers), index, rule["backendRefs"][0]["namespace"])
            best = key if best is None or key < best else best
    assert best is not None, f"no rule takes content-length {content_length}"
    return best[2]


def test_each_size_class_reaches_the_pool_that_serves_it(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    stack, preview = mixed
    routes = _of(preview, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert [r.inputs["metadata"]["name"] for r in routes] == [stack["servestack:workloads"][0]["name"]]
    route = routes[0].inputs
    pool_of_class = {c["name"]: server["pool"] for server in stack["servestack:fleet"]["servers"]
                     for c in server["requestClasses"]}
    classes = {c["name"]: c for server in stack["servestack:fleet"]["servers"] for c in server["requestClasses"]}
    body_overhead = 200  # the JSON around the prompt: model name, parameters
    for name, request_class in classes.items():
        body = int(request_class["inputTokens"] * DEFAULT_BYTES_PER_TOKEN) + body_overhead
        assert _backend(route, body) == pool_of_class[name], (name, body)
    # Chunked requests (no Content-Length) and anything longer than every boundary take the longest-prompt pool.
    longest = max(classes.values(), key=lambda c: c["inputTokens"])["name"]
    assert _backend(route, None) == pool_of_class[longest]
    assert _backend(route, 10**9) == pool_of_class[longest]
    for rule in route["spec"]["rules"]:
        backend = rule["backendRefs"][0]
        assert backend["name"] == backend["namespace"] and backend["port"] == 80
        assert rule["timeouts"]["request"] == "600s"  # Envoy's 15 s default would cut long generations


def test_every_pool_namespace_grants_the_route(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    stack, preview = mixed
    pools = {s["pool"] for s in stack["servestack:fleet"]["servers"]}
    grants = _of(preview, "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant")
    assert {g.inputs["metadata"]["namespace"] for g in grants} == pools
    for grant in grants:
        assert grant.inputs["spec"]["from"] == [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "servestack-router"}]


def test_the_router_is_the_one_load_balancer_priced(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    _, preview = mixed
    services = {r.name: r.inputs for r in _of(preview, "kubernetes:core/v1:Service")}
    balancers = {name: inputs for name, inputs in services.items() if inputs["spec"]["type"] == "LoadBalancer"}
    assert list(balancers) == ["mixed-router-lb-svc"], {n: i["spec"]["type"] for n, i in services.items()}
    entry = balancers["mixed-router-lb-svc"]
    # In front of the Gateway's own proxies, on the port Envoy Gateway gives them for the listener.
    gateway = _of(preview, "kubernetes:gateway.networking.k8s.io/v1:Gateway")[0].inputs
    assert entry["metadata"]["namespace"] == "envoy-gateway-system"
    assert entry["spec"]["selector"] == {
        "gateway.envoyproxy.io/owning-gateway-name": gateway["metadata"]["name"],
        "gateway.envoyproxy.io/owning-gateway-namespace": gateway["metadata"]["namespace"],
    }
    listener = gateway["spec"]["listeners"][0]["port"]
    assert listener >= 1024, "a privileged listener port is shifted by 10000 on the proxies"
    assert [p["targetPort"] for p in entry["spec"]["ports"]] == [listener]
    proxy = _of(preview, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")[0].inputs["spec"]
    assert proxy["provider"]["kubernetes"]["envoyService"]["type"] == "ClusterIP"
    assert preview.costs is not None
    priced = [line for line in preview.costs.lines if line.item == "load-balancer"]
    assert [line.type for line in priced] == ["kubernetes:core/v1:Service"]
    # The address clients use, and the path of the one workload, are stack outputs.
    router = preview.outputs["router"]
    assert router["address"] and router["port"] == 80 and router["paths"] == {"assistant-7b": "/"}


def test_envoy_gateway_and_proxy_are_pinned(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    _, preview = mixed
    pin = addon_versions(DEFAULT_KUBERNETES_VERSION).envoy_gateway
    release = next(r for r in _of(preview, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "envoy-gateway")
    assert (release.inputs["chart"], release.inputs["version"]) == (pin.chart, pin.version)
    proxy = _of(preview, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")[0].inputs["spec"]
    deployment = proxy["provider"]["kubernetes"]["envoyDeployment"]
    assert re.fullmatch(r"docker\.io/envoyproxy/envoy:distroless-v\d+\.\d+\.\d+", deployment["container"]["image"])
    assert deployment["pod"]["nodeSelector"] == {"servestack.io/pool": "system"}
    spread = deployment["pod"]["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and deployment["replicas"] == 2
    assert proxy["provider"]["kubernetes"]["envoyPDB"] == {"minAvailable": 1}
    assert deployment["pod"]["securityContext"]["runAsNonRoot"] is True
    assert deployment["container"]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    entry = next(r for r in _of(preview, "kubernetes:core/v1:Service") if r.inputs["spec"]["type"] == "LoadBalancer")
    assert entry.inputs["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"


def _args(**extra: Any) -> ModelRouterArgs:
    args: dict[str, Any] = {
        "cloud": "aws",
        "workloads": [{"name": "chat", "classes": [
            {"name": "short", "input_tokens": 200, "service_namespace": "a", "service_name": "a"},
            {"name": "long", "input_tokens": 6000, "service_namespace": "b", "service_name": "b"},
        ]}],
    }
    args.update(extra)
    return args  # type: ignore[return-value]


def _entry(graph: Any) -> Any:
    return next(r for r in graph.of("kubernetes:core/v1:Service") if r.inputs["spec"]["type"] == "LoadBalancer")


def test_a_public_router_on_aws_terminates_tls_at_the_nlb(run_pulumi: Runner) -> None:
    graph = run_pulumi(lambda: ModelRouter("r", _args(exposure="public", tls_certificate_arn="arn:aws:acm:x")))
    entry = _entry(graph)
    annotations = entry.inputs["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == "arn:aws:acm:x"
    assert [p["port"] for p in entry.inputs["spec"]["ports"]] == [443]


def test_a_public_router_on_gcp_takes_a_managed_certificate_through_an_ingress(run_pulumi: Runner) -> None:
    graph = run_pulumi(lambda: ModelRouter("r", _args(cloud="gcp", exposure="public", tls_domain="llm.example.com")))
    assert graph.one("kubernetes:networking.gke.io/v1:ManagedCertificate").inputs["spec"] == {
        "domains": ["llm.example.com"]}
    ingress = graph.one("kubernetes:networking.k8s.io/v1:Ingress")
    assert ingress.inputs["metadata"]["namespace"] == "envoy-gateway-system"
    # The load balancer's health check asks the router for /health, which a pool's server answers.
    backend = graph.one("kubernetes:cloud.google.com/v1:BackendConfig").inputs["spec"]["healthCheck"]
    listener = graph.one("kubernetes:gateway.networking.k8s.io/v1:Gateway").inputs["spec"]["listeners"][0]["port"]
    assert backend["port"] == listener and backend["requestPath"] == "/health"


@pytest.mark.parametrize("kubernetes", SUPPORTED_KUBERNETES_VERSIONS)
def test_every_kubernetes_row_pins_a_router_with_a_known_proxy_image(run_pulumi: Runner, kubernetes: str) -> None:
    graph = run_pulumi(lambda: ModelRouter("r", _args(kubernetes_version=kubernetes)))
    release = graph.one("kubernetes:helm.sh/v3:Release")
    assert release.inputs["version"] == addon_versions(kubernetes).envoy_gateway.version


def test_both_packs_pass_the_routed_fleet(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    from servestack.check import run_check

    stack, preview = mixed
    packs = [ROOT / "policies" / "budget", ROOT / "policies" / "guardrails"]
    result = run_check(stack["project"], "mixed", packs=packs)
    assert result.passed, [v.to_json() for v in result.mandatory]
    assert {v.pack for v in result.violations} <= {"servestack-budget"}, [v.to_json() for v in result.violations]
    assert preview.costs is not None and result.costs.expected == pytest.approx(preview.costs.expected, abs=0.01)


def test_an_internal_router_on_gcp_is_an_internal_passthrough_load_balancer(run_pulumi: Runner) -> None:
    graph = run_pulumi(lambda: ModelRouter("r", _args(cloud="gcp")))
    entry = _entry(graph)
    assert entry.inputs["metadata"]["annotations"]["networking.gke.io/load-balancer-type"] == "Internal"
    assert [p["port"] for p in entry.inputs["spec"]["ports"]] == [80]


def test_the_crd_schemas_are_those_of_the_default_release() -> None:
    # When the default Envoy Gateway pin moves, the schemas the router objects are checked against must move too.
    pin = addon_versions(DEFAULT_KUBERNETES_VERSION).envoy_gateway
    files = sorted(SCHEMAS.glob("*.json"))
    assert len(files) == len(ROUTER_TYPES)
    for path in files:
        document = json.loads(path.read_text())
        assert document["release"].startswith(f"envoyproxy/gateway {pin.version} "), path.name
        assert f"/blob/{pin.version}/" in document["source"], path.name


def _route_target(route: dict[str, Any], path: str, content_length: int | None) -> tuple[str, str | None] | None:
    """(backend Service, rewritten prefix) a request on `path` takes through one HTTPRoute, by Gateway API
    precedence: an Exact path beats a prefix, a longer prefix beats a shorter one, then the most header matches."""
    best: tuple[tuple[int, int, int, int], tuple[str, str | None]] | None = None
    for index, rule in enumerate(route["spec"]["rules"]):
        for match in rule["matches"]:
            kind, value = match["path"]["type"], match["path"]["value"]
            if kind == "Exact" and path != value:
                continue
            if kind == "PathPrefix" and not (value == "/" or path == value or path.startswith(value + "/")):
                continue
            headers = match.get("headers", [])
            if any(content_length is None or not re.fullmatch(h["value"], str(content_length)) for h in headers):
                continue
            rewrite = next((f["urlRewrite"]["path"]["replacePrefixMatch"] for f in rule.get("filters", [])
                            if f["type"] == "URLRewrite"), None)
            key = (0 if kind == "Exact" else 1, -len(value), -len(headers), index)
            target = (rule["backendRefs"][0]["name"], rewrite)
            if best is None or key < best[0]:
                best = (key, target)
    return None if best is None else best[1]


def test_several_mixed_workloads_share_the_router_by_path_prefix(run_pulumi: Runner) -> None:
    chat = _args()["workloads"][0]
    code = {"name": "code", "classes": [
        {"name": "small", "input_tokens": 300, "service_namespace": "c", "service_name": "c"},
        {"name": "big", "input_tokens": 9000, "service_namespace": "d", "service_name": "d"},
    ]}
    paths: dict[str, str] = {}

    def program() -> None:
        ModelRouter("r", _args(workloads=[chat, code])).paths.apply(paths.update)

    graph = run_pulumi(program)
    routes = {r.inputs["metadata"]["name"]: r.inputs for r in graph.of(
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")}
    assert set(routes) == {"chat", "code"}
    for route in routes.values():
        _validate(route)

    def reach(path: str, content_length: int | None) -> set[tuple[str, str | None]]:
        """Every route's answer: exactly one route may take a request, or the Gateway's choice is arbitrary."""
        return {t for t in (_route_target(r, path, content_length) for r in routes.values()) if t is not None}

    assert reach("/chat/v1/chat/completions", 900) == {("a", "/")}
    assert reach("/chat/v1/chat/completions", 30_000) == {("b", "/")}
    assert reach("/code/v1/completions", 1_300) == {("c", "/")}
    assert reach("/code/v1/completions", None) == {("d", "/")}
    assert reach("/codex/v1/completions", 100) == set()  # a prefix matches whole path segments only
    # The load balancer's health check reaches a server: the first workload's pool of the rest.
    assert reach("/health", None) == {("b", None)}
    assert paths == {"chat": "/chat", "code": "/code"}


def test_a_workload_listed_twice_is_refused() -> None:
    chat = _args()["workloads"][0]
    with pytest.raises(ValueError, match="workload 'chat' is listed twice"):
        ModelRouter("r", _args(workloads=[chat, chat]))


def test_each_pool_scales_on_its_own_queue(mixed: tuple[dict[str, Any], PreviewResult]) -> None:
    stack, preview = mixed
    # Both pools serve the workload's one model name; a query by name alone would scale each on the other's load.
    scaled = _of(preview, "kubernetes:keda.sh/v1alpha1:ScaledObject")
    assert len(scaled) == len(stack["servestack:fleet"]["servers"]) == 2
    for obj in scaled:
        namespace = obj.inputs["metadata"]["namespace"]
        for trigger in obj.inputs["spec"]["triggers"]:
            assert f'namespace="{namespace}"' in trigger["metadata"]["query"], trigger
