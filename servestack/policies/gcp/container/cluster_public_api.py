"""SSG030 gcp-gke-cluster-public-api-restricted: a public GKE control plane is not open to the whole internet.

The endpoint is private with `privateClusterConfig.enablePrivateEndpoint: true` (or the DNS-era
`controlPlaneEndpointsConfig.ipEndpointsConfig.enablePublicEndpoint: false`). A public endpoint without
`masterAuthorizedNetworksConfig`, or with 0.0.0.0/0 among its CIDR blocks, accepts any source address.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.gcp.container.cluster import GKE_CLUSTER

__all__ = ["RULE"]

_OPEN = ("0.0.0.0/0", "::/0")


def check(r: Resource, ctx: RuleContext) -> Outcome:
    private_endpoint = r.get("privateClusterConfig", "enablePrivateEndpoint")
    public_endpoint = r.get("controlPlaneEndpointsConfig", "ipEndpointsConfig", "enablePublicEndpoint")
    if private_endpoint is True or public_endpoint is False:
        return passed()
    if is_unknown(private_endpoint) or is_unknown(public_endpoint):
        return not_applicable("control-plane endpoint settings unknown during preview")
    networks = r.get("masterAuthorizedNetworksConfig")
    if contains_unknown(networks):
        return not_applicable("masterAuthorizedNetworksConfig unknown during preview")
    if networks is MISSING or networks is None:
        return violation("the control-plane endpoint is public and masterAuthorizedNetworksConfig is not set, so "
                         "the cluster API accepts 0.0.0.0/0; list the authorized CIDR blocks or make the endpoint "
                         "private (privateClusterConfig.enablePrivateEndpoint)")
    blocks = lookup(networks, "cidrBlocks")
    open_to = [c for b in (blocks if isinstance(blocks, list) else []) if (c := lookup(b, "cidrBlock")) in _OPEN]
    if open_to:
        return violation(f"masterAuthorizedNetworksConfig.cidrBlocks contains {', '.join(open_to)}: the public "
                         "cluster API is open to the whole internet; list only the CIDRs that need it")
    return passed()


RULE = ResourceRule(
    id="SSG030",
    name="gcp-gke-cluster-public-api-restricted",
    description="A public GKE control-plane endpoint is limited to authorized networks (never 0.0.0.0/0).",
    config_schema={},
    defaults={},
    resource_types=(GKE_CLUSTER,),
    check=check,
)
