"""`servestack plan --report` for a mixed fleet: the fleet is the chosen point, the best single-accelerator
stack the alternative, and the page has the pools, the per-pool bill and the request classes."""

from __future__ import annotations

import contextlib
import dataclasses
import html
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from servestack.catalog import load_catalog
from servestack.cli import main
from servestack.contract.environment import spec_for_environment
from servestack.report import build_report, render_html
from servestack.report.chart import COLOURS
from servestack.selector import plan
from servestack.workload import load_spec

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "examples" / "mixed-fleet-7b.yaml"
MIX_ONE_POOL = ROOT / "examples" / "mixed-traffic-8b.yaml"


def panel(page: str, panel_id: str) -> str:
    match = re.search(rf'<svg class="panel" id="{panel_id}".*?</svg>', page, re.S)
    assert match, f"no {panel_id} panel"
    return match.group(0)


def groups(svg: str, kind: str) -> list[str]:
    return [g[1] for g in re.findall(rf'<g class="point {kind}( clipped)?" data-kind="{kind}">(.*?)</g>', svg, re.S)]


def centre(body: str) -> tuple[float, float]:
    """A disc's or ring's centre, or a diamond's (its path starts at the top vertex, 6 px above)."""
    circle = re.search(r'<circle cx="([\d.]+)" cy="([\d.]+)"', body)
    if circle:
        return float(circle.group(1)), float(circle.group(2))
    path = re.search(r'd="M([\d.]+),([\d.]+)', body)
    assert path, body
    return float(path.group(1)), float(path.group(2)) + 6


def slo_x(svg: str) -> float:
    match = re.search(r'<line class="slo-line" x1="([\d.]+)"', svg)
    assert match, "no SLO line"
    return float(match.group(1))


def table(page: str, table_id: str) -> str:
    match = re.search(rf'<table class="grid" id="{table_id}">(.*?)</table>', page, re.S)
    assert match, f"no {table_id} table"
    return match.group(1)


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.fixture(scope="module")
def mixed_plan() -> dict[str, object]:
    spec = spec_for_environment(load_spec(MIXED), "prod")
    catalog = load_catalog()
    result = plan(spec, catalog)
    assert result.mixed is not None, "the example plans a mixed fleet"
    return {"spec": spec, "catalog": catalog, "result": result, "report": build_report(spec, catalog, result, "prod")}


@pytest.fixture(scope="module")
def mixed_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "mixed.html"
    assert main(["plan", str(MIXED), "--env", "prod", "--report", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mixed_json() -> dict[str, object]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["plan", str(MIXED), "--env", "prod", "--json"]) == 0
    chosen = json.loads(buffer.getvalue())["chosen"]
    assert isinstance(chosen, dict)
    return chosen


def test_page_is_self_contained(mixed_html: str) -> None:
    assert not re.search(r"(?i)(https?:|ftp:|//[a-z0-9-]+\.[a-z])", mixed_html)
    assert not re.search(r"(?i)<script|<link|<iframe|<img|@import|url\(|\bsrc=", mixed_html)
    assert mixed_html.count('<svg class="panel"') == 2


def test_the_fleet_is_the_chosen_point_at_its_worst_class(mixed_html: str, mixed_json: dict[str, object]) -> None:
    pools = mixed_json["pools"]
    assert isinstance(pools, list) and len(pools) == 2
    estimates = {name: e for pool in pools for name, e in pool["class_estimates"].items()}
    for panel_id, field in (("ttft", "ttft_ms"), ("tpot", "tpot_ms")):
        svg = panel(mixed_html, panel_id)
        (chosen_body,) = groups(svg, "chosen")
        chosen = centre(chosen_body)
        assert "mixed fleet of 2 pools" in chosen_body
        classes = [centre(body) for body in groups(svg, "chosen_class")]
        assert len(classes) == len(estimates) == 2
        # Every class sits at the fleet's cost; the fleet's point is the class furthest right (its worst).
        assert all(abs(y - chosen[1]) < 0.01 for _, y in classes), panel_id
        assert abs(max(x for x, _ in classes) - chosen[0]) < 0.01, panel_id
        assert all(x <= slo_x(svg) + 0.01 for x, _ in classes), panel_id
        # The class closer to the y axis has the lower estimate: markers follow the plan's per-class figures.
        by_x = sorted(zip(classes, groups(svg, "chosen_class"), strict=True), key=lambda cb: cb[0][0])
        first_class = re.search(r"class (\S+) \(", by_x[0][1])
        assert first_class
        assert estimates[first_class.group(1)][field] == min(e[field] for e in estimates.values())
        labels = re.findall(r'<text class="class-label"[^>]*>([^<]*)</text>', svg)
        assert sorted(n for label in labels for n in label.split(", ")) == sorted(estimates), panel_id
        # The best single-accelerator stack is the alternative, drawn once, above the fleet (it costs more).
        (alternative_body,) = groups(svg, "alternative")
        alternative = centre(alternative_body)
        homogeneous = mixed_json["mixed"]["homogeneous"]  # type: ignore[index]
        assert homogeneous["instance_type"] in alternative_body
        assert alternative[1] < chosen[1], "higher on the chart: it costs more"
        assert f'stroke="{COLOURS["alternative"]}"' in alternative_body
        assert "best single accelerator" in svg


def test_saving_against_the_best_single_stack_is_stated(mixed_html: str, mixed_json: dict[str, object]) -> None:
    mixed = mixed_json["mixed"]
    assert isinstance(mixed, dict)
    saving = re.search(r'<td class="saving" id="saving">([^<]*)</td>', mixed_html)
    assert saving
    assert text(saving.group(1)).startswith(f"${mixed['saving_usd_per_month']:,.0f}/month "
                                            f"({mixed['saving_share']:.1%})")
    alternative = re.search(r'<td id="alternative">([^<]*)</td>', mixed_html)
    assert alternative and mixed["homogeneous"]["instance_type"] in alternative.group(1)
    assert f"${mixed['homogeneous']['monthly_usd_expected']:,.0f} expected" in alternative.group(1)


def test_pools_table_lists_every_pool_of_the_plan(mixed_html: str, mixed_json: dict[str, object]) -> None:
    pools = mixed_json["pools"]
    assert isinstance(pools, list)
    rows = re.findall(r"<tr><td>(.*?)</tr>", table(mixed_html, "pools"), re.S)
    pool_rows = {text(r).split()[0]: text(r) for r in rows if not text(r).startswith("shared platform")}
    assert set(pool_rows) == {p["name"] for p in pools}
    for p in pools:
        row = pool_rows[p["name"]]
        assert p["instance_type"] in row and p["accelerator"] in row, row
        assert f"{p['replicas_min']} floor" in row and f"{p['replicas_peak']} peak" in row, row
        assert f"${p['monthly_usd_expected']:,.2f}" in row and f"${p['monthly_usd_ceiling']:,.2f}" in row, row
        for name, estimate in p["class_estimates"].items():
            assert f"{name} ({p['request_share']:.1%})" in row, row
            assert f"{name}: TTFT {estimate['ttft_ms']:,.0f} ms" in row, row
    total = re.search(r'<tr class="total"><td>mixed fleet</td>.*?</tr>', table(mixed_html, "pools"), re.S)
    assert total and f"${mixed_json['monthly_usd_expected']:,.2f}" in text(total.group(0))


def test_cost_breakdown_adds_up_to_the_mixed_plan(mixed_plan: dict[str, object]) -> None:
    report, result = mixed_plan["report"], mixed_plan["result"]
    fleet = result.mixed  # type: ignore[attr-defined]
    costs = report.costs  # type: ignore[attr-defined]
    assert sum(c.expected for c in costs) == pytest.approx(fleet.monthly_usd_expected, abs=0.01)
    assert sum(c.ceiling for c in costs) == pytest.approx(fleet.monthly_usd_ceiling, abs=0.01)
    # Each pool's lines add up to that pool's GPU cost; the cluster is paid for once.
    for pool in fleet.pools:
        lines = [c for c in costs if c.group == f"pool {pool.name}"]
        assert sum(c.expected for c in lines) == pytest.approx(pool.gpu_monthly_usd_expected, abs=0.01)
        assert sum(c.ceiling for c in lines) == pytest.approx(pool.gpu_monthly_usd_ceiling, abs=0.01)
    assert [c.group for c in costs if c.item == "cluster control plane"] == ["shared platform"]
    # The single stack's bill is not the one shown.
    assert sum(c.expected for c in costs) < result.chosen.monthly_usd_expected  # type: ignore[attr-defined]


def test_cost_breakdown_adds_up_on_gcp(tmp_path: Path) -> None:
    """On GCP, NAT is priced per VM: the shared platform's NAT counts every node of every pool, once."""
    data = yaml.safe_load(MIXED.read_text())
    data["placement"] = {"clouds": ["gcp"]}
    data["budget"] = {"monthly_usd": 20000}
    spec_file = tmp_path / "gcp.yaml"
    spec_file.write_text(yaml.safe_dump(data))
    spec = load_spec(spec_file)
    catalog = load_catalog()
    result = plan(spec, catalog)
    assert result.mixed is not None and result.mixed.cloud == "gcp", "this variant plans a mixed fleet on GCP"
    costs = build_report(spec, catalog, result, "prod").costs
    assert sum(c.expected for c in costs) == pytest.approx(result.mixed.monthly_usd_expected, abs=0.01)
    assert sum(c.ceiling for c in costs) == pytest.approx(result.mixed.monthly_usd_ceiling, abs=0.01)
    (nat,) = [c for c in costs if c.item == "NAT"]
    assert nat.group == "shared platform" and nat.detail == "Cloud NAT, per VM"


def test_cost_table_groups_lines_by_pool(mixed_html: str, mixed_json: dict[str, object]) -> None:
    costs = table(mixed_html, "costs")
    headers = re.findall(r'<tr class="group"><td colspan="4">([^<]*)</td></tr>', costs)
    pools = mixed_json["pools"]
    assert isinstance(pools, list)
    assert headers == [f"pool {p['name']}" for p in pools] + ["shared platform"]
    total = re.search(r'<tr class="total">(.*?)</tr>', costs, re.S)
    assert total
    assert f"${mixed_json['monthly_usd_expected']:,.2f}" in total.group(1)
    assert f"${mixed_json['monthly_usd_ceiling']:,.2f}" in total.group(1)


def test_request_mix_lists_every_class_with_its_pool(mixed_html: str, mixed_json: dict[str, object]) -> None:
    spec = load_spec(MIXED)
    served = {name: p["name"] for p in mixed_json["pools"] for name in p["classes"]}  # type: ignore[union-attr]
    rows = [text(r) for r in re.findall(r"<tr><td>(.*?)</tr>", table(mixed_html, "request-mix"), re.S)]
    assert [r.split()[0] for r in rows] == [c[0] for c in spec.traffic.classes()]
    for row, (name, share, tokens_in, tokens_out) in zip(rows, spec.traffic.classes(), strict=True):
        assert row.startswith(f"{name} {share:.1%} {tokens_in:,} {tokens_out:,} {served[name]}"), row


def test_single_stack_plan_of_a_mix_lists_its_classes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "one.html"
    assert main(["plan", str(MIX_ONE_POOL), "--report", str(out)]) in (0, 1)
    capsys.readouterr()
    page = out.read_text(encoding="utf-8")
    names = [c[0] for c in load_spec(MIX_ONE_POOL).traffic.classes()]
    rows = [text(r) for r in re.findall(r"<tr><td>(.*?)</tr>", table(page, "request-mix"), re.S)]
    assert [r.split()[0] for r in rows] == names
    if 'id="pools"' not in page:
        assert 'class="point chosen_class"' not in page and 'class="point alternative"' not in page


def test_class_and_pool_names_are_escaped(mixed_plan: dict[str, object]) -> None:
    report, result = mixed_plan["report"], mixed_plan["result"]
    fleet = report.fleet  # type: ignore[attr-defined]
    hostile_pool = dataclasses.replace(fleet.pools[0], name="<script>x</script>")
    hostile = dataclasses.replace(report, fleet=dataclasses.replace(fleet, pools=(hostile_pool, *fleet.pools[1:])))
    page = render_html(hostile, result.chosen)  # type: ignore[attr-defined]
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_a_fleet_that_alone_fits_the_budget_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Short chats and long documents whose per-class pools need a lower ceiling than any single type: the
    # budget sits between the two, so the single-type stack is the over-budget alternative, not a saving.
    doc = {"name": "triage", "model": {"id": "qwen2.5-7b", "max_context_tokens": 8192},
           "traffic": {"peak_requests_per_s": 10, "avg_requests_per_s": 5, "request_mix": [
               {"name": "short", "share": 0.8, "input_tokens": 89, "output_tokens": 179},
               {"name": "long", "share": 0.2, "input_tokens": 3885, "output_tokens": 412}]},
           "slo": {"ttft_ms_p95": 2000, "tpot_ms_p95": 50}, "placement": {"clouds": ["aws"]}}
    spec_path = tmp_path / "triage.yaml"
    spec_path.write_text(yaml.safe_dump(doc))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["plan", str(spec_path), "--json"]) == 0
    unbudgeted = json.loads(buffer.getvalue())["chosen"]
    doc["budget"] = {"monthly_usd": unbudgeted["mixed"]["homogeneous"]["monthly_usd_ceiling"] - 1}
    spec_path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "triage.html"
    assert main(["plan", str(spec_path), "--report", str(out)]) == 0
    capsys.readouterr()
    page = out.read_text(encoding="utf-8")
    why = re.search(r'<td class="saving" id="saving">([^<]*)</td>', page)
    assert why and text(why.group(1)).startswith("the only plan within the budget"), why
    alternative = re.search(r'<td id="alternative">([^<]*)</td>', page)
    assert alternative and "over the budget" in alternative.group(1)
    assert alternative and unbudgeted["mixed"]["homogeneous"]["instance_type"] in alternative.group(1)
    # The single stack is drawn once, as the alternative, not also as an over-budget point of the same shape.
    svg = panel(page, "ttft")
    (ring,) = groups(svg, "alternative")
    assert "cheapest single accelerator, over budget" in ring
    x, y = centre(ring)
    squares = [re.search(r'<rect x="([\d.]+)" y="([\d.]+)"', body) for body in groups(svg, "over_budget")]
    assert (x, y) not in [(float(m.group(1)) + 4.5, float(m.group(2)) + 4.5) for m in squares if m]
