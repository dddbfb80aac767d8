"""`ModelRouter`: one entry point for a mixed fleet, sending each request to the pool that serves its size class.

Built from Envoy Gateway (a maintained Gateway API implementation, pinned in servestack.versions) and standard
Gateway API objects: a GatewayClass whose parameters (an EnvoyProxy) place the Envoy proxies on the system
nodes behind a ClusterIP Service, one Gateway, and one HTTPRoute per mixed workload. The stack's one load
balancer in front of the proxies is a `ModelLoadBalancer`, the same component a single pool uses: the provider
waits for its address, the `address` output carries it, and the guardrails judge its exposure like any other.

Several mixed workloads share the router: each workload's route then takes the path prefix `/<workload>` (the
prefix is stripped before the request reaches its pool), so clients use `http://<address>/<workload>/v1` as the
OpenAI base URL; a router with one workload serves it at `/`. `paths` says which.

How a request finds its class: Gateway API cannot read the JSON body, so the route matches the request's
`Content-Length` header against byte ranges derived from the classes' prompt lengths (tokens x bytes per token;
see `class_byte_ranges`). Envoy Gateway translates a RegularExpression header match to an RE2 `safe_regex`, so
each range becomes an anchored regular expression over decimal integers (`decimal_range_regex`). The class with
the longest prompts has no header match: it takes what no range matches, including chunked requests that carry
no Content-Length -- the safe default, since its pool is sized for the longest prompts.

Annotations are evaluated at import (no `from __future__ import annotations`): the component provider host
reads them.
"""

import math
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from servestack.components._common import check_choice, check_positive
from servestack.components.kubernetes._shared import PART_OF, SERVER_PORT, child_opts
from servestack.components.kubernetes.load_balancer import ModelLoadBalancer, ModelLoadBalancerArgs
from servestack.versions import DEFAULT_KUBERNETES_VERSION, addon_versions

__all__ = [
    "ModelRouter",
    "ModelRouterArgs",
    "RoutedWorkload",
    "RoutedClass",
    "ByteRange",
    "DEFAULT_BYTES_PER_TOKEN",
    "ROUTER_NAMESPACE",
    "GATEWAY_NAMESPACE",
    "CONTROLLER_NAME",
    "class_byte_ranges",
    "decimal_range_regex",
]

DEFAULT_BYTES_PER_TOKEN = 4.0
"""Request-body bytes per prompt token: about 4 for English text with Llama/Qwen-family tokenizers."""
ROUTER_NAMESPACE = "servestack-router"
"""Namespace of the Gateway, its EnvoyProxy parameters and the HTTPRoutes."""
GATEWAY_NAMESPACE = "envoy-gateway-system"
"""Namespace of the Envoy Gateway controller (and of the Envoy proxies it runs)."""
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
"""The controller name Envoy Gateway's chart configures; the GatewayClass names it."""
GATEWAY_API = "gateway.networking.k8s.io"
DEFAULT_REQUEST_TIMEOUT_S = 600
"""Longest response a route lets a backend stream (a long generation at low TPOT); Envoy's own default is 15 s."""
_SYSTEM_POOL = {"servestack.io/pool": "system"}
_OWNING_GATEWAY_LABEL = "gateway.envoyproxy.io/owning-gateway-name"
"""The label Envoy Gateway puts on the proxy pods of a Gateway (internal/gatewayapi/translator.go)."""
_OWNING_GATEWAY_NAMESPACE_LABEL = "gateway.envoyproxy.io/owning-gateway-namespace"
"""Its companion naming the Gateway's namespace (same file): with the name, it selects one Gateway's proxies."""
LISTENER_PORT = SERVER_PORT
"""The Gateway's listener port. Envoy Gateway shifts a privileged port (below 1024) by 10000 for its non-root
proxies (servicePortToContainerPort in internal/gatewayapi/listener.go) and keeps any other, so a listener on
8000 is the proxies' container port too: the load balancer targets it as it targets a model server's."""
HEALTH_PATH = "/health"
"""Answered by a pool's vLLM server through the router: a load balancer's HTTP health check (GCP's public one)
reaches a real backend whichever prefixes the routes take."""
_PROXY_UID = 65532
"""The distroless Envoy image's non-root user."""
_ENVOY_PROXY_IMAGES = {
    # The image each Envoy Gateway release runs by default (api/v1alpha1/shared_types.go at the release tag),
    # written out so the image is pinned in the graph, where the guardrails judge it.
    "v1.6.7": "docker.io/envoyproxy/envoy:distroless-v1.36.6",
    "v1.8.3": "docker.io/envoyproxy/envoy:distroless-v1.38.3",
    "v1.9.0": "docker.io/envoyproxy/envoy:distroless-v1.39.0",
}


class RoutedClass(TypedDict):
    """One request size class of a mixed workload and the pool Service that serves it."""

    name: str
    """Class name (DNS-1123 label)."""
    input_tokens: int
    """Prompt tokens of the class's requests (the plan's figure)."""
    service_namespace: pulumi.Input[str]
    """Namespace of the pool's Service (the pool's namespace)."""
    service_name: pulumi.Input[str]
    """Name of the pool's ClusterIP Service."""
    service_port: NotRequired[int]
    """Port of that Service (default 80)."""


class RoutedWorkload(TypedDict):
    """A workload served by several pools: the route its requests take."""

    name: str
    """Workload (served model) name; names the HTTPRoute."""
    classes: list[RoutedClass]
    """Its request classes, at least two, each with the Service of the pool serving it."""


class ModelRouterArgs(TypedDict):
    """Inputs of the router in front of a mixed fleet's pools."""

    cloud: str
    """aws or gcp: selects the load balancer annotations of the Envoy proxies' Service."""
    workloads: list[RoutedWorkload]
    """The mixed workloads, one HTTPRoute each."""
    exposure: NotRequired[str]
    """internal (default) or public; public requires TLS (AWS: tls_certificate_arn, GCP: tls_domain)."""
    tls_certificate_arn: NotRequired[pulumi.Input[str]]
    """AWS: ACM certificate the public NLB terminates TLS with."""
    tls_domain: NotRequired[str]
    """GCP: DNS name of the Google-managed certificate of a public router."""
    kubernetes_version: NotRequired[str]
    """Kubernetes minor version of the cluster; picks the Envoy Gateway release (default 1.33)."""
    bytes_per_token: NotRequired[float]
    """Request-body bytes per prompt token used to turn class prompt lengths into Content-Length ranges (4)."""
    request_timeout_s: NotRequired[int]
    """Longest request the routes allow, s (default 600: long generations stream for minutes)."""
    proxy_replicas: NotRequired[int]
    """Envoy proxy replicas on the system nodes (default 2)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ByteRange(TypedDict):
    """The Content-Length range one pool takes for a workload: [low, high] bytes; high None for 'the rest'."""

    pool_class: str
    low: int
    high: int | None


def class_byte_ranges(
    classes: Sequence[tuple[str, int]], bytes_per_token: float = DEFAULT_BYTES_PER_TOKEN
) -> list[ByteRange]:
    """Contiguous Content-Length ranges, one per class, ordered by prompt length.

    `classes` are (name, input_tokens). The boundary between two neighbouring classes is the midpoint of their
    prompt lengths, in bytes (x `bytes_per_token`, rounded down); a class takes the bytes above the previous
    boundary up to its own. The longest class is open-ended. Raises ValueError when two classes have the same
    prompt length (no header can tell them apart) or the boundaries do not increase.
    """
    if len(classes) < 2:
        raise ValueError(f"ModelRouter: a routed workload needs at least two classes, got {len(classes)}")
    if not (isinstance(bytes_per_token, int | float) and math.isfinite(bytes_per_token) and bytes_per_token >= 1):
        raise ValueError(f"ModelRouter: bytes_per_token={bytes_per_token!r} is not valid; allowed: a number >= 1")
    ordered = sorted(classes, key=lambda c: c[1])
    ranges: list[ByteRange] = []
    low = 0
    for (name, tokens), (next_name, next_tokens) in zip(ordered, ordered[1:], strict=False):
        if tokens == next_tokens:
            raise ValueError(
                f"ModelRouter: classes {name!r} and {next_name!r} both have input_tokens={tokens}; allowed: "
                "distinct prompt lengths (a router tells classes apart by request size)"
            )
        high = math.floor((tokens + next_tokens) / 2 * bytes_per_token)
        if high < low:
            raise ValueError(
                f"ModelRouter: classes {name!r} and {next_name!r} are too close to route apart at "
                f"bytes_per_token={bytes_per_token}"
            )
        ranges.append({"pool_class": name, "low": low, "high": high})
        low = high + 1
    ranges.append({"pool_class": ordered[-1][0], "low": low, "high": None})
    return ranges


def decimal_range_regex(low: int, high: int) -> str:
    """An RE2 (and Python `re`) pattern that fully matches the decimal strings of the integers in [low, high].

    Leading zeros are allowed (`007` is 7), as HTTP's `Content-Length = 1*DIGIT` allows them. Anchored with ^...$
    because Envoy's safe_regex matches the whole value but a reader of the route should not have to know that.
    """
    if isinstance(low, bool) or isinstance(high, bool) or not isinstance(low, int) or not isinstance(high, int):
        raise ValueError(f"decimal_range_regex: low={low!r}, high={high!r}; allowed: integers")
    if low < 0 or high < low:
        raise ValueError(f"decimal_range_regex: low={low}, high={high}; allowed: 0 <= low <= high")
    alternatives: list[str] = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        first = low if digits == len(str(low)) else 10 ** (digits - 1)
        last = high if digits == len(str(high)) else 10**digits - 1
        alternatives += _same_length(str(first), str(last))
    return "^0*(?:" + "|".join(alternatives) + ")$"


def _same_length(low: str, high: str) -> list[str]:
    """Patterns for the numbers from `low` to `high`, two decimal strings of the same length (low <= high)."""
    if low == high:
        return [low]
    if len(low) == 1:
        return [_digit_class(int(low), int(high))]
    if low[0] == high[0]:
        return [low[0] + p for p in _same_length(low[1:], high[1:])]
    rest = len(low) - 1
    patterns: list[str] = []
    first_full = int(low[0])
    if low[1:] != "0" * rest:
        # low's own leading digit covers only low[1:]..99..9
        patterns += [low[0] + p for p in _same_length(low[1:], "9" * rest)]
        first_full += 1
    last_full = int(high[0])
    tail: list[str] = []
    if high[1:] != "9" * rest:
        tail = [high[0] + p for p in _same_length("0" * rest, high[1:])]
        last_full -= 1
    if first_full <= last_full:
        patterns.append(_digit_class(first_full, last_full) + ("[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"))
    return patterns + tail


def _digit_class(low: int, high: int) -> str:
    return str(low) if low == high else f"[{low}-{high}]"


class ModelRouter(pulumi.ComponentResource):
    """Envoy Gateway and the Gateway API objects that route a mixed fleet's requests by size class."""

    address: pulumi.Output[str]
    """Hostname or IP of the router's load balancer once provisioned (`pulumi up` waits for it)."""
    port: pulumi.Output[int]
    """Port clients connect to: 80 (internal) or 443 (public, TLS)."""
    paths: pulumi.Output[dict[str, str]]
    """Each routed workload's path: `/` for a router of one workload, else `/<workload>`."""

    def __init__(self, name: str, args: ModelRouterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        comp = "ModelRouter"
        cloud = check_choice(comp, "cloud", args.get("cloud"), ("aws", "gcp"))
        exposure = check_choice(comp, "exposure", args.get("exposure", "internal"), ("internal", "public"))
        if exposure == "public" and cloud == "aws" and not args.get("tls_certificate_arn"):
            raise ValueError(f"{comp}: exposure=public on aws needs tls_certificate_arn (an ACM certificate)")
        if exposure == "public" and cloud == "gcp" and not args.get("tls_domain"):
            raise ValueError(f"{comp}: exposure=public on gcp needs tls_domain (for a managed certificate)")
        workloads = list(args.get("workloads") or [])
        if not workloads:
            raise ValueError(f"{comp}: workloads is empty; allowed: at least one workload with two or more classes")
        names = [w["name"] for w in workloads]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{comp}: workload {repeated[0]!r} is listed twice; each workload has one route")
        paths = {w["name"]: "/" if len(workloads) == 1 else f"/{w['name']}" for w in workloads}
        bytes_per_token = args.get("bytes_per_token", DEFAULT_BYTES_PER_TOKEN)
        routes = [
            (w, class_byte_ranges([(c["name"], int(c["input_tokens"])) for c in w["classes"]], bytes_per_token))
            for w in workloads
        ]
        timeout_s = check_positive(comp, "request_timeout_s", args.get("request_timeout_s", DEFAULT_REQUEST_TIMEOUT_S))
        replicas = check_positive(comp, "proxy_replicas", args.get("proxy_replicas", 2))
        try:
            pin = addon_versions(str(args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION))).envoy_gateway
        except ValueError as exc:
            raise ValueError(f"{comp}: {exc}") from None
        image = _ENVOY_PROXY_IMAGES.get(pin.version)
        if image is None:
            raise ValueError(f"{comp}: no Envoy proxy image recorded for Envoy Gateway {pin.version}; add it to "
                             "_ENVOY_PROXY_IMAGES (api/v1alpha1/shared_types.go at the release tag)")
        super().__init__("servestack:index:ModelRouter", name, None, opts)
        child = child_opts(self, name, args.get("kubeconfig"), opts)
        labels = {"app.kubernetes.io/name": name, **PART_OF}

        release = k8s.helm.v3.Release(
            f"{name}-envoy-gateway",
            name="envoy-gateway",
            chart=pin.chart,
            version=pin.version,
            namespace=GATEWAY_NAMESPACE,
            create_namespace=True,
            values={"deployment": {"pod": {"nodeSelector": _SYSTEM_POOL}}},
            opts=child,
        )
        after_crds = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[release]))
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={
                "name": ROUTER_NAMESPACE,
                "labels": {
                    **labels,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
            opts=child,
        )
        in_namespace = pulumi.ResourceOptions.merge(after_crds, pulumi.ResourceOptions(depends_on=[namespace]))
        proxy = k8s.apiextensions.CustomResource(
            f"{name}-proxy",
            api_version="gateway.envoyproxy.io/v1alpha1",
            kind="EnvoyProxy",
            metadata={"name": name, "namespace": ROUTER_NAMESPACE, "labels": labels},
            spec=_envoy_proxy_spec(name, image, replicas),
            opts=in_namespace,
        )
        gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-class",
            api_version=f"{GATEWAY_API}/v1",
            kind="GatewayClass",
            metadata={"name": name, "labels": labels},
            spec={
                "controllerName": CONTROLLER_NAME,
                "parametersRef": {
                    "group": "gateway.envoyproxy.io",
                    "kind": "EnvoyProxy",
                    "name": name,
                    "namespace": ROUTER_NAMESPACE,
                },
            },
            opts=pulumi.ResourceOptions.merge(after_crds, pulumi.ResourceOptions(depends_on=[proxy])),
        )
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=f"{GATEWAY_API}/v1",
            kind="Gateway",
            metadata={"name": name, "namespace": ROUTER_NAMESPACE, "labels": labels},
            spec={
                "gatewayClassName": name,
                # Plain HTTP to Envoy: the load balancer terminates TLS for a public endpoint, as for a single pool.
                "listeners": [
                    {"name": "http", "protocol": "HTTP", "port": LISTENER_PORT,
                     "allowedRoutes": {"namespaces": {"from": "Same"}}}
                ],
            },
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[gateway_class])),
        )
        for index, (workload, ranges) in enumerate(routes):
            self._create_route(name, workload, ranges, paths[workload["name"]], index == 0, timeout_s, labels,
                               gateway, in_namespace)
        lb_args: ModelLoadBalancerArgs = {
            # Beside the proxies Envoy Gateway runs for this Gateway, in its own namespace.
            "namespace": GATEWAY_NAMESPACE,
            "selector": {_OWNING_GATEWAY_LABEL: name, _OWNING_GATEWAY_NAMESPACE_LABEL: ROUTER_NAMESPACE},
            "cloud": cloud,
            "exposure": exposure,
        }
        if args.get("tls_certificate_arn"):
            lb_args["tls_certificate_arn"] = args["tls_certificate_arn"]
        if args.get("tls_domain"):
            lb_args["tls_domain"] = args["tls_domain"]
        after_gateway = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway]))
        entry = ModelLoadBalancer(f"{name}-lb", lb_args, opts=after_gateway)
        self.address = entry.address
        self.port = entry.port
        self.paths = pulumi.Output.from_input(paths)
        self.register_outputs({"address": self.address, "port": self.port, "paths": self.paths})

    @staticmethod
    def _create_route(
        name: str,
        workload: RoutedWorkload,
        ranges: list[ByteRange],
        path: str,
        answers_health: bool,
        timeout_s: int,
        labels: dict[str, str],
        gateway: pulumi.Resource,
        opts: pulumi.ResourceOptions,
    ) -> None:
        by_name = {c["name"]: c for c in workload["classes"]}
        rules: list[dict[str, Any]] = []
        for byte_range in ranges:
            cls = by_name[byte_range["pool_class"]]
            match: dict[str, Any] = {"path": {"type": "PathPrefix", "value": path}}
            if byte_range["high"] is not None:
                match["headers"] = [{
                    "type": "RegularExpression",
                    "name": "content-length",
                    "value": decimal_range_regex(byte_range["low"], byte_range["high"]),
                }]
            rule: dict[str, Any] = {
                "name": cls["name"],
                "matches": [match],
                "backendRefs": [_backend_ref(cls)],
                "timeouts": {"request": f"{timeout_s}s"},
            }
            if path != "/":
                # The pool's server serves /v1/...: the workload's prefix only chooses the route.
                rule["filters"] = [{"type": "URLRewrite", "urlRewrite": {
                    "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}]
            rules.append(rule)
        if answers_health and path != "/":
            # Under prefixes nothing would answer the load balancer's health check; the pool of the rest does.
            rest = by_name[ranges[-1]["pool_class"]]
            rules.append({"name": "health", "matches": [{"path": {"type": "Exact", "value": HEALTH_PATH}}],
                          "backendRefs": [_backend_ref(rest)]})
        route_name = f"{workload['name']}"
        k8s.apiextensions.CustomResource(
            f"{name}-{route_name}-route",
            api_version=f"{GATEWAY_API}/v1",
            kind="HTTPRoute",
            metadata={"name": route_name, "namespace": ROUTER_NAMESPACE, "labels": labels},
            spec={"parentRefs": [{"name": name}], "rules": rules},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[gateway])),
        )
        # A route may send traffic to a Service in another namespace only where that namespace grants it.
        namespaces: list[pulumi.Input[str]] = []
        for cls in workload["classes"]:
            if cls["service_namespace"] not in namespaces:
                namespaces.append(cls["service_namespace"])
        for index, namespace in enumerate(namespaces):
            k8s.apiextensions.CustomResource(
                f"{name}-{route_name}-grant-{index}",
                api_version=f"{GATEWAY_API}/v1beta1",
                kind="ReferenceGrant",
                metadata={"name": f"{name}-{route_name}", "namespace": namespace, "labels": labels},
                spec={
                    "from": [{"group": GATEWAY_API, "kind": "HTTPRoute", "namespace": ROUTER_NAMESPACE}],
                    "to": [{"group": "", "kind": "Service"}],
                },
                opts=opts,
            )


def _backend_ref(cls: RoutedClass) -> dict[str, Any]:
    return {
        "group": "",
        "kind": "Service",
        "name": cls["service_name"],
        "namespace": cls["service_namespace"],
        "port": cls.get("service_port", 80),
    }


def _envoy_proxy_spec(name: str, image: str, replicas: int) -> dict[str, Any]:
    """Envoy proxies on the system nodes, meeting the restricted Pod Security Standard, behind the stack's LB."""
    spec = _proxy_spec(name, image, replicas)
    if replicas > 1:
        # A node drain (a system node upgrade) evicts one proxy at a time.
        spec["provider"]["kubernetes"]["envoyPDB"] = {"minAvailable": 1}
    return spec


def _proxy_spec(name: str, image: str, replicas: int) -> dict[str, Any]:
    return {
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyDeployment": {
                    "replicas": replicas,
                    "pod": {
                        "nodeSelector": _SYSTEM_POOL,
                        # One proxy per system node where there is room, so losing a node keeps the entry up.
                        "topologySpreadConstraints": [{
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": {_OWNING_GATEWAY_LABEL: name}},
                        }],
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": _PROXY_UID,
                            "runAsGroup": _PROXY_UID,
                            "fsGroup": _PROXY_UID,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                    },
                    "container": {
                        "image": image,
                        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "privileged": False,
                            "capabilities": {"drop": ["ALL"]},
                            "runAsNonRoot": True,
                        },
                    },
                },
                # In-cluster only: the router's ModelLoadBalancer is the entry point (a typed Service whose
                # address the provider waits for and the stack exports). A fixed name for operators.
                "envoyService": {"name": name, "type": "ClusterIP"},
            },
        },
    }
