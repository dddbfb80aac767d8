"""SSG030 gcp-gke-cluster-public-api-restricted: a public GKE control plane is not open to the whole internet.

The endpoint is private with `privateClusterConfig.enablePrivateEndpoint: true` (or the DNS-era
`controlPlaneEndpointsConfig.ipEndpointsConfig.enablePublicEndpoint: false`). A public endpoint without
`masterAuthorizedNetworksConfig`, or with 0.0.0.0/0 among its CIDR blocks, accepts any source address.
"""

from __future__ import annotations

from typing import Any

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.gcp.container.cluster import GKE_CLUSTER

__all__ = ["RULE"]

_OPEN = ("0.0.0.0/0", "::/0")


def _open_blocks(networks: Any) -> list[str]:
    blocks = lookup(networks, "cidrBlocks")
    return [c for b in (blocks if isinstance(blocks, list) else []) if (c := lookup(b, "cidrBlock")) in _OPEN]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    private_endpoint = r.get("privateClusterConfig", "enablePrivateEndpoint")
    public_endpoint = r.get("controlPlaneEndpointsConfig", "ipEndpointsConfig", "enablePublicEndpoint")
    if private_endpoint is True or public_endpoint is False:
        return passed()
    networks = r.get("masterAuthorizedNetworksConfig")
    known = not contains_unknown(networks)
    if known and networks is not MISSING and networks is not None and not _open_blocks(networks):
        return passed()  # limited to authorized networks, whichever endpoint is used
    if is_unknown(private_endpoint) or is_unknown(public_endpoint) or not known:
        return not_applicable("control-plane endpoint or authorized networks unknown during preview")
    if networks is MISSING or networks is None:
        return violation("the control-plane endpoint is public and masterAuthorizedNetworksConfig is not set, so "
                         "the cluster API accepts 0.0.0.0/0; list the authorized CIDR blocks or make the endpoint "
                         "private (privateClusterConfig.enablePrivateEndpoint)")
    return violation(f"masterAuthorizedNetworksConfig.cidrBlocks contains {', '.join(_open_blocks(networks))}: the "
                     "public cluster API is open to the whole internet; list only the CIDRs that need it")


RULE = ResourceRule(
    id="SSG030",
    name="gcp-gke-cluster-public-api-restricted",
    description="A public GKE control-plane endpoint is limited to authorized networks (never 0.0.0.0/0).",
    config_schema={},
    defaults={},
    resource_types=(GKE_CLUSTER,),
    check=check,
)
