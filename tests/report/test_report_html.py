"""`servestack plan --report FILE.html`: what the page holds, that it needs no network, and how the path is handled."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import pytest

from servestack.catalog import load_catalog
from servestack.cli import main
from servestack.contract.environment import spec_for_environment
from servestack.report import REASON_TEXT, build_report, render_html
from servestack.report.chart import COLOURS
from servestack.selector import REASONS, plan
from servestack.workload import load_spec

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "examples" / "chat-70b.yaml"
# The same workload under a budget nothing meets: the plan is infeasible, over budget.
TIGHT = """name: tight-70b
model: {id: llama-3.1-70b, precision: fp8}
traffic: {peak_requests_per_s: 12, avg_requests_per_s: 5, avg_input_tokens: 1500, avg_output_tokens: 300}
slo: {ttft_ms_p95: 1500, tpot_ms_p95: 50}
budget: {monthly_usd: 9000}
"""


def plan_report(tmp_path: Path, spec: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    out = tmp_path / "plan.html"
    code = main(["plan", str(spec), "--report", str(out), *extra])
    capsys.readouterr()
    return code, out.read_text(encoding="utf-8")


def panel(page: str, panel_id: str) -> str:
    match = re.search(rf'<svg class="panel" id="{panel_id}".*?</svg>', page, re.S)
    assert match, f"no {panel_id} panel"
    return match.group(0)


def markers(svg: str, kind: str) -> list[tuple[float, float]]:
    """(x, y) of every marker of `kind`: circle centres, square centres, cross centres, triangle tips."""
    found = []
    for group in re.findall(rf'<g class="point {kind}( clipped)?" data-kind="{kind}">(.*?)</g>', svg, re.S):
        body = group[1]
        circle = re.search(r'<circle cx="([\d.]+)" cy="([\d.]+)"', body)
        rect = re.search(r'<rect x="([\d.]+)" y="([\d.]+)"', body)
        path = re.search(r'd="M([\d.]+),([\d.]+)', body)
        if circle:
            found.append((float(circle.group(1)), float(circle.group(2))))
        elif rect:
            found.append((float(rect.group(1)) + 4.5, float(rect.group(2)) + 4.5))
        else:
            assert path, body
            found.append((float(path.group(1)) + (9 if group[0] else 4), float(path.group(2)) + (5 if group[0] else 4)))
    return found


def slo_x(svg: str) -> float:
    match = re.search(r'<line class="slo-line" x1="([\d.]+)"', svg)
    assert match, "no SLO line"
    return float(match.group(1))


@pytest.fixture(scope="module")
def chat_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "chat.html"
    assert main(["plan", str(CHAT), "--env", "prod", "--report", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def test_page_is_self_contained(chat_html: str) -> None:
    # Nothing to fetch: no URL of any scheme, no script, stylesheet link, @import, url() or src attribute.
    assert not re.search(r"(?i)(https?:|ftp:|//[a-z0-9-]+\.[a-z])", chat_html)
    assert not re.search(r"(?i)<script|<link|<iframe|<img|@import|url\(|\bsrc=", chat_html)
    assert "<style>" in chat_html and chat_html.count('<svg class="panel"') == 2


def test_both_panels_mark_the_chosen_stack_and_draw_the_slo(chat_html: str) -> None:
    for panel_id, label in (("ttft", "SLO p95 1,500 ms"), ("tpot", "SLO p95 50 ms")):
        svg = panel(chat_html, panel_id)
        (chosen,) = markers(svg, "chosen")
        assert label in svg
        line = slo_x(svg)
        # The chosen stack meets the SLO: left of (or on) the line; so does every feasible stack.
        assert chosen[0] <= line + 0.01, (panel_id, chosen, line)
        assert all(x <= line + 0.01 for x, _ in markers(svg, "feasible")), panel_id
        # Nothing meeting the spec is cheaper than the chosen stack: no feasible marker below it.
        assert all(y <= chosen[1] + 0.01 for _, y in markers(svg, "feasible")), panel_id
        assert f'fill="{COLOURS["chosen"]}"' in svg
    # A stack rejected for an SLO lies beyond the SLO line of at least one panel.
    ttft, tpot = panel(chat_html, "ttft"), panel(chat_html, "tpot")
    missed = list(zip(markers(ttft, "misses_slo"), markers(tpot, "misses_slo"), strict=True))
    assert missed, "chat-70b has stacks that miss its SLO"
    assert all(a[0] > slo_x(ttft) or b[0] > slo_x(tpot) for a, b in missed)
    assert markers(ttft, "over_budget") and markers(ttft, "feasible")


def test_points_are_classified_as_the_selector_decides() -> None:
    spec = spec_for_environment(load_spec(CHAT), "prod")
    catalog = load_catalog()
    result = plan(spec, catalog)
    report = build_report(spec, catalog, result, "prod")
    budget, slo = spec.budget.monthly_usd, spec.slo
    assert budget is not None and slo.ttft_ms_p95 is not None and slo.tpot_ms_p95 is not None
    kinds = {p.kind for p in report.points}
    assert kinds == {"chosen", "feasible", "over_budget", "misses_slo"}
    for p in report.points:
        if p.kind in ("chosen", "feasible"):
            assert p.monthly_usd_ceiling <= budget and p.ttft_ms <= slo.ttft_ms_p95, p
        elif p.kind == "over_budget":
            assert p.monthly_usd_ceiling > budget, p
        elif p.reason == "tpot_slo_unreachable":
            assert p.tpot_ms is not None and p.tpot_ms > slo.tpot_ms_p95, p
        else:
            assert p.reason == "ttft_slo_unreachable" and p.ttft_ms > slo.ttft_ms_p95, p
    assert report.chosen is not None and result.chosen is not None
    assert report.chosen.monthly_usd_expected == result.chosen.monthly_usd_expected
    assert min(p.monthly_usd_expected for p in report.points if p.kind == "feasible") >= \
        report.chosen.monthly_usd_expected


def test_cost_breakdown_adds_up_to_the_plan() -> None:
    spec = spec_for_environment(load_spec(CHAT), "prod")
    result = plan(spec, load_catalog())
    report = build_report(spec, load_catalog(), result, "prod")
    assert result.chosen is not None
    assert sum(c.expected for c in report.costs) == pytest.approx(result.chosen.monthly_usd_expected, abs=0.01)
    assert sum(c.ceiling for c in report.costs) == pytest.approx(result.chosen.monthly_usd_ceiling, abs=0.01)
    assert {c.item for c in report.costs} >= {"GPU nodes, always-on floor", "cluster control plane", "NAT"}


def test_rejected_alternatives_are_the_plans_counts_by_reason(
    chat_html: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(CHAT), "--env", "prod", "--json"]) == 0
    rejected = json.loads(capsys.readouterr().out)["rejected"]
    table = re.search(r'<table class="grid" id="rejected">(.*?)</table>', chat_html, re.S)
    assert table
    rows = re.findall(r'<td class="reason">([a-z_]+)</td><td class="num">(\d+)</td><td>([^<]*)</td>', table.group(1))
    assert {reason: int(count) for reason, count, _ in rows} == rejected
    assert all(html.unescape(text) == REASON_TEXT[reason] for reason, _, text in rows)


def test_every_selector_reason_has_a_sentence() -> None:
    assert set(REASON_TEXT) == set(REASONS)


def test_infeasible_plan_still_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "tight.yaml"
    spec.write_text(TIGHT)
    code, page = plan_report(tmp_path, spec, capsys)
    assert code == 1
    assert "infeasible: over_budget" in page and "raise budget.monthly_usd to at least" in page
    assert 'class="point chosen"' not in page and 'id="costs"' not in page
    assert markers(panel(page, "ttft"), "over_budget"), "the closest stacks are on the chart"


def test_measured_model_plots_request_latency_against_its_slo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, page = plan_report(tmp_path, ROOT / "examples" / "embeddings-measured.yaml", capsys)
    assert code == 0
    assert page.count('<svg class="panel"') == 1
    svg = panel(page, "latency")
    (chosen,) = markers(svg, "chosen")
    assert chosen[0] <= slo_x(svg) + 0.01 and "SLO p95 50 ms" in svg


def test_text_is_escaped() -> None:
    spec = spec_for_environment(load_spec(CHAT), "prod")
    result = plan(spec, load_catalog())
    report = build_report(spec, load_catalog(), result, "prod")
    hostile = dataclasses.replace(report, workload="<script>alert(1)</script>", environment='"><b>x')
    page = render_html(hostile, result.chosen)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '"><b>x' not in page


def test_same_plan_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "a.html"
    second = tmp_path / "b.html"
    assert main(["plan", str(CHAT), "--report", str(first)]) == 0
    assert main(["plan", str(CHAT), "--report", str(second)]) == 0
    capsys.readouterr()
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(("name", "message"), [
    ("plan.txt", "a file name ending in .html"),
    ("missing-dir/plan.html", "a path in an existing directory"),
    ("a-dir.html", "a file path; this is a directory"),
])
def test_bad_report_path_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    (tmp_path / "a-dir.html").mkdir()
    target = tmp_path / name
    code = main(["plan", str(CHAT), "--report", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and f"--report: {str(target)!r} is not valid; {message}" in err, err
    assert "Traceback" not in err


def test_existing_report_is_replaced_only_with_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "plan.html"
    target.write_text("keep me")
    code = main(["plan", str(CHAT), "--report", str(target)])
    out, err = capsys.readouterr()
    assert code == 2 and "it exists; pass --force to replace it" in err
    assert out == "", "refused before planning"
    assert target.read_text() == "keep me"
    assert main(["plan", str(CHAT), "--report", str(target), "--force"]) == 0
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["plan.html"], "no temporary file left behind"
