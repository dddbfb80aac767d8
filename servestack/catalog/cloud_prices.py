"""Price rows from the clouds' own APIs: one adapter per cloud behind the `PriceSource` protocol.

AWS: the Price List API (`pricing.get_products`) for on-demand and Reserved Instance rates,
`ec2.describe_spot_price_history` per zone for spot (the rule in `servestack.catalog.spot`),
`ec2.describe_instance_type_offerings` and `describe_availability_zones` for zones.
GCP: the Cloud Billing Catalog API (Compute Engine SKUs: machine-family cores and RAM, GPUs;
on-demand, spot and commitments, per region) and Compute `acceleratorTypes.aggregatedList` for zones.

boto3 is imported only when the AWS adapter runs; GCP goes through an injectable `GcpTransport`
(a function from URL and query parameters to decoded JSON), so tests and the CLI share one code path.
The default GCP transport uses google-auth's AuthorizedSession: the google-cloud-billing client
would replace the protobuf major version that the Pulumi SDK pins, so the REST API is used instead.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from servestack.catalog.spot import regional_spot
from servestack.errors import CatalogError

__all__ = [
    "AwsPrices",
    "GcpPrices",
    "GcpTransport",
    "PriceSource",
    "RefreshError",
    "RefreshRequest",
    "google_auth_transport",
]

_AWS_ACTIONS = (
    "pricing:GetProducts, ec2:DescribeSpotPriceHistory, ec2:DescribeInstanceTypeOfferings, "
    "ec2:DescribeAvailabilityZones"
)
_GCP_NEEDS = (
    "Application Default Credentials (`gcloud auth application-default login` or GOOGLE_APPLICATION_CREDENTIALS) "
    "with the Cloud Billing API and the Compute Engine API enabled, and a project "
    "(GOOGLE_CLOUD_PROJECT or --gcp-project) for the accelerator-type listing"
)


class RefreshError(CatalogError):
    """A refresh that cannot run: missing credentials or SDK, or an API that denied a call (exit 2)."""


@dataclass(frozen=True)
class RefreshRequest:
    """What to price: instance types (with their facts) and regions per cloud, and the day of the read."""

    instance_types: Sequence[Mapping[str, Any]]
    """The `instance_types` rows of offerings.json (cloud, instance_type, vcpus, memory_gib, ...)."""
    regions: Mapping[str, Sequence[str]]
    """Regions to price, per cloud."""
    rules: Mapping[str, Any]
    """refresh_rules.json (fallback commitment ratios, GCP SKU names)."""
    as_of: str
    """YYYY-MM-DD, written into every row."""

    def types_of(self, cloud: str) -> list[Mapping[str, Any]]:
        return [it for it in self.instance_types if it["cloud"] == cloud]


class PriceSource(Protocol):
    """One cloud's refresher: price rows in offerings.json's `prices` format."""

    cloud: str

    def price_rows(self, request: RefreshRequest) -> list[dict[str, Any]]: ...


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def _commitments(
    cloud: str, instance_type: str, on_demand: float, sourced: Mapping[str, float | None], rules: Mapping[str, Any]
) -> tuple[dict[str, Any], str]:
    """committed_1y/3y with their estimated flags: the API's figure where it has one, else the fallback ratio."""
    fallback = rules["commitment"][cloud]
    out: dict[str, Any] = {}
    notes = []
    for term in ("1y", "3y"):
        value = sourced.get(term)
        if value is not None and value < on_demand:
            out[f"committed_{term}"] = _r(value)
            out[f"committed_{term}_estimated"] = False
        else:
            out[f"committed_{term}"] = _r(on_demand * float(fallback[term]))
            out[f"committed_{term}_estimated"] = True
            notes.append(term)
    note = "committed: from the API"
    if notes:
        note = f"committed {'/'.join(notes)}: estimate, fallback ratio ({fallback['source']})"
    return out, note


# ---------------------------------------------------------------- AWS


def _aws_error(exc: Exception, call: str) -> RefreshError:
    from botocore.exceptions import (  # type: ignore[import-untyped]
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return RefreshError(
            f"catalog refresh --cloud aws: no AWS credentials found ({exc}); set AWS_PROFILE or "
            f"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for an identity allowed {_AWS_ACTIONS}"
        )
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "?")
        return RefreshError(
            f"catalog refresh --cloud aws: {call} was refused ({code}: "
            f"{exc.response.get('Error', {}).get('Message', '')}); the identity needs {_AWS_ACTIONS}"
        )
    return RefreshError(f"catalog refresh --cloud aws: {call} failed ({exc}); the current catalog is unchanged")


@dataclass
class AwsPrices:
    """AWS adapter. `client` builds a boto3 client for (service, region); tests pass moto- or Stubber-backed ones."""

    client: Callable[[str, str], Any] | None = None
    cloud: str = "aws"
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def _client(self, service: str, region: str) -> Any:
        if self.client is not None:
            return self.client(service, region)
        try:
            import boto3  # type: ignore[import-untyped]
        except ModuleNotFoundError:
            raise RefreshError(
                "catalog refresh --cloud aws needs boto3: pip install 'servestack[refresh]'"
            ) from None
        return boto3.client(service, region_name=region)

    def price_rows(self, request: RefreshRequest) -> list[dict[str, Any]]:
        types = [str(it["instance_type"]) for it in request.types_of("aws")]
        regions = list(request.regions.get("aws", ()))
        on_demand, reserved = self._list_prices(types, set(regions))
        rows = []
        for region in sorted(regions):
            zones, spot = self._zones_and_spot(region, types)
            for itype in sorted(types):
                od = on_demand.get((itype, region))
                if od is None or not zones.get(itype):
                    continue
                figure = regional_spot(spot.get(itype, {}), od)
                commit, commit_note = _commitments("aws", itype, od, reserved.get((itype, region), {}), request.rules)
                rows.append({
                    "cloud": "aws", "region": region, "instance_type": itype, "zones": sorted(zones[itype]),
                    "on_demand": _r(od), "spot": _r(figure.price) if figure else None, **commit,
                    "spot_zones": list(figure.zones) if figure else [], "spot_as_of": request.as_of if figure else None,
                    "source": (
                        f"AWS Price List API (pricing.get_products, Linux, shared tenancy) on {request.as_of}; "
                        "spot: ec2.describe_spot_price_history, median of the regular zones below on-demand"
                        f" ({', '.join(figure.zones) if figure else 'none'}); {commit_note}"
                    ),
                    "as_of": request.as_of,
                })
        return rows

    def _list_prices(
        self, types: Iterable[str], regions: set[str]
    ) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], dict[str, float | None]]]:
        pricing = self._client("pricing", "us-east-1")
        on_demand: dict[tuple[str, str], float] = {}
        reserved: dict[tuple[str, str], dict[str, float | None]] = {}
        for itype in types:
            filters = [
                {"Type": "TERM_MATCH", "Field": k, "Value": v}
                for k, v in (("instanceType", itype), ("operatingSystem", "Linux"), ("tenancy", "Shared"),
                             ("preInstalledSw", "NA"), ("capacitystatus", "Used"))
            ]
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"ServiceCode": "AmazonEC2", "Filters": filters, "MaxResults": 100}
                if token:
                    kwargs["NextToken"] = token
                try:
                    page = pricing.get_products(**kwargs)
                except Exception as exc:  # noqa: BLE001 - mapped to a user-facing error naming the call
                    raise _aws_error(exc, "pricing.get_products") from None
                for text in page.get("PriceList", []):
                    parsed = parse_aws_product(text)
                    if parsed is None or parsed[1] not in regions:
                        continue
                    _, region, od, terms = parsed
                    on_demand[(itype, region)] = od
                    reserved[(itype, region)] = terms
                token = page.get("NextToken")
                if not token:
                    break
        return on_demand, reserved

    def _zones_and_spot(
        self, region: str, types: list[str]
    ) -> tuple[dict[str, set[str]], dict[str, dict[str, float]]]:
        ec2 = self._client("ec2", region)
        try:
            azs = ec2.describe_availability_zones(AllAvailabilityZones=True)["AvailabilityZones"]
            zone_id = {a["ZoneName"]: a["ZoneId"] for a in azs}
            regular = {a["ZoneId"] for a in azs if a.get("ZoneType", "availability-zone") == "availability-zone"}
            zones: dict[str, set[str]] = defaultdict(set)
            for page in ec2.get_paginator("describe_instance_type_offerings").paginate(
                LocationType="availability-zone-id", Filters=[{"Name": "instance-type", "Values": types}]
            ):
                for o in page["InstanceTypeOfferings"]:
                    if o["Location"] in regular:
                        zones[o["InstanceType"]].add(o["Location"])
            latest: dict[tuple[str, str], tuple[datetime, float]] = {}
            for page in ec2.get_paginator("describe_spot_price_history").paginate(
                InstanceTypes=types, ProductDescriptions=["Linux/UNIX"], StartTime=self.now
            ):
                for h in page["SpotPriceHistory"]:
                    if not h.get("ProductDescription", "Linux/UNIX").startswith("Linux/UNIX"):
                        continue
                    zid = zone_id.get(h["AvailabilityZone"])
                    if zid is None or zid not in regular:
                        continue
                    key = (h["InstanceType"], zid)
                    stamp = h["Timestamp"]
                    if key not in latest or stamp > latest[key][0]:
                        latest[key] = (stamp, float(h["SpotPrice"]))
        except RefreshError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a user-facing error naming the call
            raise _aws_error(exc, f"ec2 in {region}") from None
        spot: dict[str, dict[str, float]] = defaultdict(dict)
        for (itype, zid), (_, price) in latest.items():
            if zid in zones.get(itype, set()):
                spot[itype][zid] = price
        return zones, spot


def parse_aws_product(text: str | Mapping[str, Any]) -> tuple[str, str, float, dict[str, float | None]] | None:
    """(instance type, region, on-demand USD/h, {"1y","3y": standard no-upfront RI USD/h}) of one Price List item."""
    doc = json.loads(text) if isinstance(text, str) else text
    attrs = doc.get("product", {}).get("attributes", {})
    itype, region = attrs.get("instanceType"), attrs.get("regionCode")
    if not itype or not region:
        return None
    terms = doc.get("terms", {})
    od: float | None = None
    for term in terms.get("OnDemand", {}).values():
        for dim in term.get("priceDimensions", {}).values():
            if dim.get("unit") == "Hrs":
                od = float(dim["pricePerUnit"]["USD"])
    if od is None or od <= 0:
        return None
    reserved: dict[str, float | None] = {}
    for term in terms.get("Reserved", {}).values():
        ta = term.get("termAttributes", {})
        if ta.get("OfferingClass") != "standard" or ta.get("PurchaseOption") != "No Upfront":
            continue
        length = {"1yr": "1y", "3yr": "3y"}.get(ta.get("LeaseContractLength", ""))
        for dim in term.get("priceDimensions", {}).values():
            if length and dim.get("unit") == "Hrs":
                reserved[length] = float(dim["pricePerUnit"]["USD"])
    return itype, region, od, reserved


# ---------------------------------------------------------------- GCP

GcpTransport = Callable[[str, Mapping[str, str]], Mapping[str, Any]]
"""GET `url` with query `params`, return the decoded JSON body (raise RefreshError on failure)."""

BILLING_SKUS = "https://cloudbilling.googleapis.com/v1/services/{service}/skus"
ACCELERATOR_TYPES = "https://compute.googleapis.com/compute/v1/projects/{project}/aggregated/acceleratorTypes"


def google_auth_transport() -> tuple[GcpTransport, str | None]:
    """The default transport (google-auth AuthorizedSession) and the credentials' project."""
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
        from google.auth.transport.requests import AuthorizedSession
    except ModuleNotFoundError:
        raise RefreshError("catalog refresh --cloud gcp needs google-auth: pip install 'servestack[refresh]'") from None
    try:
        credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError as exc:
        raise RefreshError(f"catalog refresh --cloud gcp: no Google credentials ({exc}); needs {_GCP_NEEDS}") from None
    session = AuthorizedSession(credentials)

    def get(url: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        try:
            resp = session.get(url, params=dict(params), timeout=60)
        except Exception as exc:  # noqa: BLE001 - network errors become one clear message
            raise RefreshError(f"catalog refresh --cloud gcp: GET {url} failed ({exc})") from None
        if resp.status_code != 200:
            raise RefreshError(
                f"catalog refresh --cloud gcp: GET {url} was refused (HTTP {resp.status_code}: {resp.text[:200]}); "
                f"needs {_GCP_NEEDS}"
            )
        body: Mapping[str, Any] = resp.json()
        return body

    return get, project


def _unit_price(sku: Mapping[str, Any]) -> float | None:
    """USD per unit of the SKU's first tier with a non-zero price (units + nanos)."""
    for info in sku.get("pricingInfo", [])[:1]:
        for rate in info.get("pricingExpression", {}).get("tieredRates", []):
            price = rate.get("unitPrice", {})
            value = float(price.get("units", 0) or 0) + float(price.get("nanos", 0) or 0) / 1e9
            if value > 0:
                return value
    return None


_USAGE = {"OnDemand": "on_demand", "Preemptible": "spot", "Commit1Yr": "1y", "Commit3Yr": "3y"}
_PREFIXES = re.compile(r"^(spot preemptible |preemptible |commitment v1: )", re.IGNORECASE)


def gcp_sku_table(
    skus: Iterable[Mapping[str, Any]], families: Mapping[str, str], gpus: Mapping[str, str]
) -> dict[tuple[str, str, str, str], float]:
    """{(component, mode, region, name): USD per unit} for the families' cores and RAM and for the GPUs.

    component is "cpu", "ram" (per GiB-hour) or "gpu"; name is a family key of `families` or a GPU key
    of `gpus`. A SKU matches when its description, without the spot/commitment prefix, starts with
    '<family SKU name> Core ', '<family SKU name> Ram ' or '<GPU SKU name> ' (case-insensitive), so
    lookalikes such as 'G2 Custom Instance Core' or '... GPU Virtual Workstation' are not taken.
    """
    table: dict[tuple[str, str, str, str], float] = {}
    patterns: list[tuple[str, str, re.Pattern[str]]] = []
    for key, name in families.items():
        base = re.escape(name)
        patterns.append(("cpu", key, re.compile(rf"^{base} (instance )?(core|cpu)( |$)", re.IGNORECASE)))
        patterns.append(("ram", key, re.compile(rf"^{base} (instance )?ram( |$)", re.IGNORECASE)))
    for key, name in gpus.items():
        patterns.append(("gpu", key, re.compile(rf"^{re.escape(name)} (running|in) ", re.IGNORECASE)))
    for sku in skus:
        mode = _USAGE.get(sku.get("category", {}).get("usageType", ""))
        if mode is None:
            continue
        desc = _PREFIXES.sub("", sku.get("description", "").strip())
        desc = _PREFIXES.sub("", desc)
        price = _unit_price(sku)
        if price is None:
            continue
        for component, key, pattern in patterns:
            if pattern.match(desc):
                for region in sku.get("serviceRegions", []):
                    table[(component, mode, region, key)] = price
                break
    return table


@dataclass
class GcpPrices:
    """GCP adapter over a `GcpTransport`; `project` names the project for the accelerator-type listing."""

    transport: GcpTransport | None = None
    project: str | None = None
    cloud: str = "gcp"

    def _get(self) -> tuple[GcpTransport, str]:
        transport, project = self.transport, self.project
        if transport is None:
            transport, default_project = google_auth_transport()
            project = project or default_project
        if not project:
            raise RefreshError(
                f"catalog refresh --cloud gcp: no project to list accelerator types in; needs {_GCP_NEEDS}"
            )
        return transport, project

    def _pages(self, transport: GcpTransport, url: str, params: Mapping[str, str], key: str) -> Iterable[Any]:
        token = ""
        while True:
            body = transport(url, {**params, **({"pageToken": token} if token else {})})
            items = body.get(key, [])
            yield from (items.items() if isinstance(items, dict) else items)
            token = str(body.get("nextPageToken", "") or "")
            if not token:
                return

    def price_rows(self, request: RefreshRequest) -> list[dict[str, Any]]:
        transport, project = self._get()
        billing = request.rules["gcp_billing"]
        families: dict[str, str] = billing["families"]
        gpus: dict[str, str] = billing["gpus"]
        skus = self._pages(
            transport, BILLING_SKUS.format(service=billing["service"]), {"currencyCode": "USD"}, "skus"
        )
        table = gcp_sku_table(skus, families, gpus)
        zones_of: dict[tuple[str, str], set[str]] = defaultdict(set)
        for scope, item in self._pages(transport, ACCELERATOR_TYPES.format(project=project), {}, "items"):
            for acc in item.get("acceleratorTypes", []):
                zone = acc.get("zone", scope).rsplit("/", 1)[-1]
                zones_of[(acc["name"], zone.rsplit("-", 1)[0])].add(zone)
        rows = []
        for it in request.types_of("gcp"):
            itype = str(it["instance_type"])
            family = next((f for f in sorted(families, key=len, reverse=True) if itype.startswith(f)), None)
            gpu = it.get("gcp_accelerator_type")
            if family is None or gpu not in gpus:
                continue
            count = int(it["accelerators_per_node"])
            for region in sorted(request.regions.get("gcp", ())):
                zones = sorted(zones_of.get((gpu, region), set()))
                prices = {
                    mode: self._node(
                        table, mode, region, family, gpu, float(it["vcpus"]), float(it["memory_gib"]), count
                    )
                    for mode in ("on_demand", "spot", "1y", "3y")
                }
                od = prices["on_demand"]
                if od is None or not zones:
                    continue
                figure = regional_spot({z: prices["spot"] for z in zones if prices["spot"] is not None}, od)
                commit, note = _commitments("gcp", itype, od, {"1y": prices["1y"], "3y": prices["3y"]}, request.rules)
                rows.append({
                    "cloud": "gcp", "region": region, "instance_type": itype, "zones": zones, "on_demand": _r(od),
                    "spot": _r(figure.price) if figure else None, **commit,
                    "spot_zones": list(figure.zones) if figure else [], "spot_as_of": request.as_of if figure else None,
                    "source": (
                        f"GCP Cloud Billing Catalog API (Compute Engine SKUs) on {request.as_of}: "
                        f"{it['vcpus']} x {families[family]} core + {it['memory_gib']} GiB x RAM + {count} x "
                        f"{gpus[gpu]}; spot: Spot Preemptible SKUs; {note}"
                    ),
                    "as_of": request.as_of,
                })
        return rows

    @staticmethod
    def _node(
        table: Mapping[tuple[str, str, str, str], float], mode: str, region: str, family: str, gpu: str,
        vcpus: float, memory_gib: float, count: int,
    ) -> float | None:
        parts = (table.get(("cpu", mode, region, family)), table.get(("ram", mode, region, family)),
                 table.get(("gpu", mode, region, gpu)))
        if any(p is None for p in parts):
            return None
        cpu, ram, unit = (float(p) for p in parts if p is not None)
        return vcpus * cpu + memory_gib * ram + count * unit
