"""SSG050 kubernetes-load-balancer-no-plain-http: a public TLS load balancer serves no plain-HTTP port beside it.

With an ACM certificate (`aws-load-balancer-ssl-cert`), the AWS load balancer terminates TLS on the ports
listed in `aws-load-balancer-ssl-ports` (every port when the annotation is absent or `*`); any other port
of the Service, typically 80 next to 443, forwards plain HTTP from the internet.
"""

from __future__ import annotations

from servestack.costing.resources import Resource, contains_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.kubernetes.exposure import AWS_SSL_CERT, AWS_SSL_PORTS, SERVICE, Exposure, exposure

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    lb = exposure(r, ctx)
    if not isinstance(lb, Exposure):
        return lb
    if lb.internal:
        return not_applicable("internal Service")
    if not lb.annotations.get(AWS_SSL_CERT):
        return not_applicable("no TLS listener (kubernetes-load-balancer-tls judges that)")
    listed = lb.annotations.get(AWS_SSL_PORTS)
    if listed is None or str(listed).strip() in ("", "*"):
        return passed()
    tls_ports = {p.strip() for p in str(listed).split(",") if p.strip()}
    ports = r.get("spec", "ports")
    if contains_unknown(ports):
        return not_applicable("spec.ports unknown during preview")
    plain: list[str] = []
    for port in ports if isinstance(ports, list) else []:
        number, name = lookup(port, "port"), lookup(port, "name")
        number_text = str(int(number)) if isinstance(number, int | float) and not isinstance(number, bool) else None
        if number_text in tls_ports or (isinstance(name, str) and name in tls_ports):
            continue
        plain.append(number_text or str(name))
    if not plain:
        return passed()
    return violation(f"public Service {r.name} terminates TLS on {', '.join(sorted(tls_ports))} but serves plain "
                     f"HTTP on port {', '.join(plain)}; list every port in {AWS_SSL_PORTS} or remove the plain port")


RULE = ResourceRule(
    id="SSG050",
    name="kubernetes-load-balancer-no-plain-http",
    description="Public TLS load balancers serve no plain-HTTP port next to the TLS one.",
    config_schema={},
    defaults={},
    resource_types=(SERVICE,),
    check=check,
)
