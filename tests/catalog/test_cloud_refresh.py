"""`servestack catalog refresh`: the spot rule, the AWS and GCP adapters on recorded API responses, the CLI verb
(cache, change table, errors) and how `plan` picks and reports the catalog. No network: EC2 runs on moto,
the Price List API (which moto lacks) on botocore's Stubber, GCP behind a fake transport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from servestack.catalog.cloud_prices import (
    ACCELERATOR_TYPES,
    BILLING_SKUS,
    AwsPrices,
    GcpPrices,
    RefreshError,
    RefreshRequest,
    gcp_sku_table,
)
from servestack.catalog.load import DATA_DIR, load_catalog
from servestack.catalog.spot import regional_spot
from servestack.catalog.store import CatalogChoice, choose_catalog, compare_prices, staleness_warning
from servestack.cli import main

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")
from botocore.stub import Stubber  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
RULES = json.loads((DATA_DIR / "refresh_rules.json").read_text(encoding="utf-8"))
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the spot rule


def test_spot_is_the_median_of_discounted_zones_only() -> None:
    # p5 us-east-1 in the issue: one zone quoting on-demand (31.04) must not pull the median up.
    figure = regional_spot({"use1-az1": 18.0, "use1-az2": 18.8, "use1-az4": 31.04, "use1-az6": 31.04}, 31.04)
    assert figure is not None
    assert figure.price == pytest.approx(18.4)
    assert figure.zones == ("use1-az1", "use1-az2")


def test_local_and_wavelength_zones_are_left_out() -> None:
    types = {"use1-az1": "availability-zone", "use1-bos1-az1": "local-zone", "use1-wl1-bos-wlz1": "wavelength-zone"}
    figure = regional_spot({"use1-az1": 0.5, "use1-bos1-az1": 0.1, "use1-wl1-bos-wlz1": 0.1}, 1.0, types)
    assert figure is not None and figure.price == 0.5 and figure.zones == ("use1-az1",)


def test_no_discounted_zone_means_no_spot_figure() -> None:
    assert regional_spot({"a": 2.0, "b": 2.5}, 2.0) is None
    assert regional_spot({}, 2.0) is None


# ------------------------------------------------------------------ AWS adapter


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with moto.mock_aws():
        yield


def stubbed_pricing(pages: list[dict[str, Any]]) -> tuple[Any, Stubber]:
    """A real pricing client answering get_products from recorded pages (moto has no Price List API)."""
    client = boto3.client("pricing", region_name="us-east-1")
    stub = Stubber(client)
    for page in pages:
        stub.add_response("get_products", page)
    stub.activate()
    return client, stub


def aws_request(types: list[str], regions: list[str]) -> RefreshRequest:
    facts = [{"cloud": "aws", "instance_type": t} for t in types]
    return RefreshRequest(facts, {"aws": regions}, RULES, "2026-12-02")


def client_factory(pricing: Any, ec2: Callable[[str], Any] | None = None) -> Callable[[str, str], Any]:
    def make(service: str, region: str) -> Any:
        if service == "pricing":
            return pricing
        return ec2(region) if ec2 is not None else boto3.client(service, region_name=region)

    return make


def test_aws_rows_take_on_demand_and_reserved_from_the_price_list_and_zones_from_ec2(aws_env: None) -> None:
    pricing, stub = stubbed_pricing(fixture("aws_pricing_get_products_g5_xlarge.json"))
    rows = AwsPrices(client_factory(pricing)).price_rows(aws_request(["g5.xlarge"], ["us-east-1", "us-west-2"]))
    stub.assert_no_pending_responses()
    by_region = {r["region"]: r for r in rows}
    # sa-east-1 is in the price list but was not asked for.
    assert set(by_region) == {"us-east-1", "us-west-2"}
    east = by_region["us-east-1"]
    assert east["on_demand"] == 1.006
    # The standard no-upfront Reserved Instance terms are published figures, not estimates.
    assert (east["committed_1y"], east["committed_1y_estimated"]) == (0.634, False)
    assert (east["committed_3y"], east["committed_3y_estimated"]) == (0.435, False)
    # us-west-2 has no Reserved terms in the excerpt: fallback ratio, marked as an estimate.
    west = by_region["us-west-2"]
    assert west["committed_1y"] == pytest.approx(1.006 * RULES["commitment"]["aws"]["1y"], abs=1e-5)
    assert west["committed_1y_estimated"] is True and west["committed_3y_estimated"] is True
    # Zones are moto's offerings (zone IDs); spot is the median of moto's per-zone history, all below on-demand.
    ec2 = boto3.client("ec2", region_name="us-west-2")
    offered = sorted(
        o["Location"] for o in ec2.describe_instance_type_offerings(
            LocationType="availability-zone-id", Filters=[{"Name": "instance-type", "Values": ["g5.xlarge"]}]
        )["InstanceTypeOfferings"]
    )
    assert west["zones"] == offered and west["spot_zones"] == offered
    history = ec2.describe_spot_price_history(InstanceTypes=["g5.xlarge"])["SpotPriceHistory"]
    assert west["spot"] == pytest.approx(sorted(float(h["SpotPrice"]) for h in history)[len(history) // 2])
    assert west["spot_as_of"] == "2026-12-02"


def test_aws_spot_uses_zone_ids_and_skips_undiscounted_and_local_zones(aws_env: None) -> None:
    pricing, _ = stubbed_pricing(fixture("aws_pricing_get_products_g5_xlarge.json"))
    ec2 = boto3.client("ec2", region_name="us-east-1")
    stub = Stubber(ec2)
    azs = [
        {"ZoneName": "us-east-1a", "ZoneId": "use1-az6", "ZoneType": "availability-zone", "RegionName": "us-east-1"},
        {"ZoneName": "us-east-1b", "ZoneId": "use1-az1", "ZoneType": "availability-zone", "RegionName": "us-east-1"},
        {"ZoneName": "us-east-1c", "ZoneId": "use1-az2", "ZoneType": "availability-zone", "RegionName": "us-east-1"},
        {"ZoneName": "us-east-1-bos-1a", "ZoneId": "use1-bos1-az1", "ZoneType": "local-zone",
         "RegionName": "us-east-1"},
    ]
    stub.add_response("describe_availability_zones", {"AvailabilityZones": azs})
    stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
        {"InstanceType": "g5.xlarge", "LocationType": "availability-zone-id", "Location": z}
        for z in ("use1-az6", "use1-az1", "use1-az2", "use1-bos1-az1")
    ]})
    t = datetime(2026, 12, 2, tzinfo=timezone.utc)
    old = datetime(2026, 12, 1, tzinfo=timezone.utc)
    stub.add_response("describe_spot_price_history", {"SpotPriceHistory": [
        {"AvailabilityZone": "us-east-1a", "InstanceType": "g5.xlarge", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "0.4000", "Timestamp": t},
        {"AvailabilityZone": "us-east-1a", "InstanceType": "g5.xlarge", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "0.9000", "Timestamp": old},  # older quote of the same zone: ignored
        {"AvailabilityZone": "us-east-1b", "InstanceType": "g5.xlarge", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "0.5000", "Timestamp": t},
        {"AvailabilityZone": "us-east-1c", "InstanceType": "g5.xlarge", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "1.0060", "Timestamp": t},  # no discount: not in the median
        {"AvailabilityZone": "us-east-1-bos-1a", "InstanceType": "g5.xlarge", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "0.1000", "Timestamp": t},  # Local Zone: not in the median
    ]})
    stub.activate()
    rows = AwsPrices(client_factory(pricing, lambda region: ec2)).price_rows(aws_request(["g5.xlarge"], ["us-east-1"]))
    (row,) = rows
    assert row["zones"] == ["use1-az1", "use1-az2", "use1-az6"]
    assert row["spot"] == pytest.approx(0.45)
    assert row["spot_zones"] == ["use1-az1", "use1-az6"]


def test_aws_without_credentials_names_what_is_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(RefreshError, match="no AWS credentials.*pricing:GetProducts"):
        AwsPrices().price_rows(aws_request(["g5.xlarge"], ["us-east-1"]))


def test_aws_access_denied_names_the_call_and_the_permissions(aws_env: None) -> None:
    client = boto3.client("pricing", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("get_products", "AccessDeniedException", "not authorized to perform pricing:GetProducts")
    stub.activate()
    with pytest.raises(RefreshError, match=r"pricing.get_products was refused \(AccessDeniedException"):
        AwsPrices(client_factory(client)).price_rows(aws_request(["g5.xlarge"], ["us-east-1"]))


# ------------------------------------------------------------------ GCP adapter


class FakeGcp:
    """Answers the two GCP endpoints from recorded pages, page by page, and records the calls."""

    def __init__(self, billing: list[dict[str, Any]], accelerators: list[dict[str, Any]]) -> None:
        self.pages = {BILLING_SKUS.format(service=RULES["gcp_billing"]["service"]): billing,
                      ACCELERATOR_TYPES.format(project="example-project"): accelerators}
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        self.calls.append((url, dict(params)))
        pages = self.pages[url]
        index = 0 if "pageToken" not in params else 1
        return pages[index]


G2_FACTS = {"cloud": "gcp", "instance_type": "g2-standard-4", "accelerator": "L4", "accelerators_per_node": 1,
            "vcpus": 4, "memory_gib": 16, "gcp_accelerator_type": "nvidia-l4"}


def gcp_rows(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fake = FakeGcp(fixture("gcp_billing_skus_g2.json"), fixture("gcp_accelerator_types.json"))
    request = RefreshRequest(facts, {"gcp": ["us-central1", "us-east4"]}, RULES, "2026-12-02")
    rows = GcpPrices(transport=fake, project="example-project").price_rows(request)
    assert any("pageToken" in params for _, params in fake.calls), "the second SKU page was never asked for"
    return rows


def test_gcp_node_price_is_cores_plus_ram_plus_gpus_per_region() -> None:
    (row,) = gcp_rows([G2_FACTS])  # us-east4 has no SKU in the excerpt: no row
    assert row["region"] == "us-central1"
    assert row["on_demand"] == pytest.approx(4 * 0.024988 + 16 * 0.0029277 + 0.56, abs=1e-5)
    assert row["spot"] == pytest.approx(4 * 0.009995 + 16 * 0.001171 + 0.224, abs=1e-5)
    # Zones come from the accelerator-type listing: us-central1-b has L4s, -f has none.
    assert row["zones"] == ["us-central1-a", "us-central1-b"]
    assert row["spot_zones"] == ["us-central1-a", "us-central1-b"]
    # 1y commitment SKUs exist; 3y do not, so 3y is an estimate.
    assert row["committed_1y"] == pytest.approx(4 * 0.015742 + 16 * 0.001844 + 0.3528, abs=1e-5)
    assert row["committed_1y_estimated"] is False and row["committed_3y_estimated"] is True


def test_gcp_lookalike_skus_are_not_taken() -> None:
    table = gcp_sku_table(fixture("gcp_billing_skus_g2.json")[0]["skus"], {"g2-standard": "G2"},
                          {"nvidia-l4": "Nvidia L4 GPU"})
    # 'G2 Custom Instance Core' (0.099) and the L4 Virtual Workstation SKU (0.90) must not replace the real rates.
    assert table[("cpu", "on_demand", "us-central1", "g2-standard")] == pytest.approx(0.024988)
    assert table[("gpu", "on_demand", "us-central1", "nvidia-l4")] == pytest.approx(0.56)


def test_gcp_without_a_project_names_what_is_needed() -> None:
    fake = FakeGcp(fixture("gcp_billing_skus_g2.json"), fixture("gcp_accelerator_types.json"))
    with pytest.raises(RefreshError, match="no project.*GOOGLE_CLOUD_PROJECT"):
        GcpPrices(transport=fake, project=None).price_rows(
            RefreshRequest([G2_FACTS], {"gcp": ["us-central1"]}, RULES, "2026-12-02")
        )


# ------------------------------------------------------------------ change table, choice, staleness


def test_changes_are_ranked_by_relative_move_and_list_added_and_removed_rows() -> None:
    old = [{"cloud": "aws", "region": "r", "instance_type": "a", "on_demand": 1.0, "spot": 0.25},
           {"cloud": "aws", "region": "r", "instance_type": "b", "on_demand": 2.0, "spot": 1.0},
           {"cloud": "aws", "region": "r", "instance_type": "gone", "on_demand": 2.0}]
    new = [{"cloud": "aws", "region": "r", "instance_type": "a", "on_demand": 1.0, "spot": 0.5},
           {"cloud": "aws", "region": "r", "instance_type": "b", "on_demand": 2.1, "spot": 1.0},
           {"cloud": "aws", "region": "r", "instance_type": "new", "on_demand": 3.0}]
    diff = compare_prices(old, new)
    assert [(c.instance_type, c.field, round(c.change_pct or 0)) for c in diff["changes"]] == [
        ("a", "spot", 100), ("b", "on_demand", 5)]
    assert diff["added"] == [["aws", "r", "new"]] and diff["removed"] == [["aws", "r", "gone"]]


def test_a_catalog_older_than_90_days_warns() -> None:
    old = CatalogChoice(DATA_DIR, "bundled", "2026-09-01")
    assert staleness_warning(old, date(2026, 11, 29)) is None  # 89 days
    warning = staleness_warning(old, date(2026, 12, 2))
    assert warning is not None and "92 days old" in warning and "catalog refresh" in warning


def test_the_newest_cached_catalog_wins_only_when_newer_than_the_bundled_one(tmp_path: Path) -> None:
    bundled = choose_catalog(tmp_path / "nothing-here")
    assert bundled.source == "bundled"
    for day in ("2020-01-01", "2999-01-01", "2999-02-01"):
        (tmp_path / day).mkdir()
    (tmp_path / "2020-01-01" / "offerings.json").write_text("{}")
    assert choose_catalog(tmp_path).source == "bundled"  # older than the bundled catalog
    (tmp_path / "2999-01-01" / "offerings.json").write_text("{}")
    # 2999-02-01 has no offerings.json: skipped; 2999-01-01 is newer than the bundled catalog.
    chosen = choose_catalog(tmp_path)
    assert (chosen.source, chosen.as_of, chosen.path) == ("cache", "2999-01-01", tmp_path / "2999-01-01")


# ------------------------------------------------------------------ the CLI verb, end to end


class ScaledSource:
    """A refresher that returns the bundled rows of one cloud with spot moved, as an API would."""

    def __init__(self, cloud: str, factor: float) -> None:
        self.cloud, self.factor = cloud, factor

    def price_rows(self, request: RefreshRequest) -> list[dict[str, Any]]:
        doc = json.loads((DATA_DIR / "offerings.json").read_text(encoding="utf-8"))
        rows = []
        for row in doc["prices"]:
            if row["cloud"] == self.cloud:
                moved = dict(row, as_of=request.as_of)
                if moved["spot"] is not None:
                    moved["spot"] = round(moved["spot"] * self.factor, 5)
                rows.append(moved)
        return rows


class DeniedSource:
    cloud = "gcp"

    def price_rows(self, request: RefreshRequest) -> list[dict[str, Any]]:
        raise RefreshError("catalog refresh --cloud gcp: GET https://cloudbilling.googleapis.com/... was refused "
                           "(HTTP 403); needs the Cloud Billing API enabled")


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr("servestack.cli.catalog_cmd._today", lambda: "2999-12-01")
    return tmp_path / "servestack" / "catalog"


def test_refresh_writes_a_dated_catalog_shows_the_moves_and_plan_uses_it(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("servestack.cli.catalog_cmd.price_sources", lambda clouds, args: [ScaledSource("aws", 0.5)])
    assert main(["catalog", "refresh", "--cloud", "aws", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    written = cache / "2999-12-01" / "offerings.json"
    assert summary["path"] == str(written) and written.is_file()
    assert summary["compared_with"]["source"] == "bundled"
    assert summary["changes"] and all(c["field"] == "spot" and c["change_pct"] == pytest.approx(-50, abs=0.1)
                                      for c in summary["changes"])
    catalog = load_catalog(written.parent)
    assert catalog.as_of == "2999-12-01"
    # GCP rows were not refreshed: carried over unchanged.
    bundled = load_catalog()
    def gcp(offerings: Any) -> list[Any]:
        return sorted((o for o in offerings if o.cloud == "gcp"), key=lambda o: (o.region, o.instance_type))

    assert gcp(catalog.offerings) == gcp(bundled.offerings)

    assert main(["plan", str(EXAMPLES / "summarize-8b.yaml"), "--json"]) == 0
    out = capsys.readouterr()
    plan_doc = json.loads(out.out)
    assert plan_doc["catalog"]["source"] == "cache" and plan_doc["catalog"]["path"] == str(written.parent)
    assert plan_doc["catalog"]["as_of"] == "2999-12-01"


def test_refresh_table_lists_the_largest_moves_first(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("servestack.cli.catalog_cmd.price_sources", lambda clouds, args: [ScaledSource("gcp", 1.25)])
    assert main(["catalog", "refresh", "--cloud", "gcp", "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert "largest price moves" in text and "+25.0%" in text
    assert text.count("gcp ") >= 3 and "prices moved" in text


def test_a_denied_api_exits_2_and_leaves_the_current_catalog_untouched(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("servestack.cli.catalog_cmd.price_sources", lambda clouds, args: [DeniedSource()])
    assert main(["catalog", "refresh", "--cloud", "gcp"]) == 2
    err = capsys.readouterr().err
    assert "HTTP 403" in err and "Cloud Billing API" in err and "Traceback" not in err
    assert not cache.exists()


def test_plan_warns_on_stderr_about_a_stale_catalog_and_keeps_json_clean(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "bundled"
    stale.mkdir()
    for name in ("accelerators.json", "offerings.json"):
        text = (DATA_DIR / name).read_text(encoding="utf-8")
        doc = json.loads(text)
        doc["as_of"] = "2020-01-01"
        (stale / name).write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("servestack.catalog.store.DATA_DIR", stale)
    main(["plan", str(EXAMPLES / "summarize-8b.yaml"), "--json"])
    out = capsys.readouterr()
    assert "warning: the bundled catalog is" in out.err and "catalog refresh" in out.err
    doc = json.loads(out.out)
    assert doc["catalog"]["as_of"] == "2020-01-01" and doc["catalog"]["source"] == "bundled"


def test_gcp_without_credentials_names_what_is_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("google.auth")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with pytest.raises(RefreshError, match="no Google credentials.*Application Default Credentials"):
        GcpPrices(project="example-project").price_rows(
            RefreshRequest([G2_FACTS], {"gcp": ["us-central1"]}, RULES, "2026-12-02")
        )


def test_gcp_without_google_auth_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "google.auth", None)  # an import of it now fails as if not installed
    with pytest.raises(RefreshError, match=r"needs google-auth: pip install 'servestack\[refresh\]'"):
        GcpPrices(project="example-project").price_rows(
            RefreshRequest([G2_FACTS], {"gcp": ["us-central1"]}, RULES, "2026-12-02")
        )
