"""The plan report as one self-contained HTML file: jinja2 templates shipped in the package, autoescaped.

Nothing in the page loads from the network: the CSS is inline, the charts are inline SVG drawn here, and
there is no script.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from servestack.errors import SpecError, WriteRefusedError
from servestack.report.chart import COLOURS, Panel, money, panel
from servestack.report.data import PlanReport

__all__ = ["render_html", "check_report_path", "write_report"]

_SUFFIXES = (".html", ".htm")


def _panels(r: PlanReport) -> list[Panel]:
    if r.measured_model:
        # A measured model's figures are whole-request latencies; there is no TTFT/TPOT split to plot.
        candidates = [panel("latency", "Monthly cost against request latency (p95)", "request latency p95",
                            r.points, lambda p: p.ttft_ms, r.slo_latency_ms)]
    else:
        candidates = [
            panel("ttft", "Monthly cost against time to first token", "TTFT p95", r.points, lambda p: p.ttft_ms,
                  r.slo_ttft_ms),
            panel("tpot", "Monthly cost against time per output token", "TPOT p95", r.points, lambda p: p.tpot_ms,
                  r.slo_tpot_ms),
        ]
    return [p for p in candidates if p is not None]


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


def _usd2(value: float) -> str:
    return f"${value:,.2f}"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:,.3g}"


def render_html(report: PlanReport, chosen: Any | None = None) -> str:
    """The page. `chosen` is the selector's Candidate of the best single stack (replica and node counts); a
    mixed fleet's pools are in `report.fleet`."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("servestack.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=False, keep_trailing_newline=True)
    count: dict[str, int] = {"feasible": 0, "over_budget": 0, "misses_slo": 0}
    for p in report.points:
        if p.kind in count:
            count[p.kind] += 1
    total = {"expected": sum(c.expected for c in report.costs), "ceiling": sum(c.ceiling for c in report.costs)}
    shared = [c for c in report.costs if c.group == "shared platform"]
    platform = {"expected": sum(c.expected for c in shared), "ceiling": sum(c.ceiling for c in shared)}
    return env.get_template("report.html.j2").render(
        r=report, c=report.chosen, chosen=chosen, panels=_panels(report), colours=COLOURS, count=count, total=total,
        platform=platform,
        usd=_usd, usd2=_usd2, num=_num, money=money,
    )


def check_report_path(path: Path, force: bool) -> None:
    """Bad input before any planning: exit 2 naming --report, the path and what is allowed."""
    if path.suffix.lower() not in _SUFFIXES:
        raise SpecError("--report", str(path), "a file name ending in .html (the report is one HTML page)")
    if path.is_dir():
        raise SpecError("--report", str(path), "a file path; this is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise SpecError("--report", str(path), f"a path in an existing directory ({parent} does not exist)")
    if not os.access(parent, os.W_OK):
        raise SpecError("--report", str(path), f"a path in a directory you can write ({parent} is not writable)")
    if path.exists() and not force:
        raise SpecError("--report", str(path), "a new file: it exists; pass --force to replace it")


def write_report(path: Path, html: str, force: bool) -> None:
    """Write the page; an existing file only with `force`, replaced whole (never half-written)."""
    check_report_path(path, force)
    try:
        if not force:
            with open(path, "x", encoding="utf-8") as out:  # "x": refuse a file that appeared since the check
                out.write(html)
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(html)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except FileExistsError:
        raise SpecError("--report", str(path), "a new file: it exists; pass --force to replace it") from None
    except OSError as exc:
        raise WriteRefusedError(path, exc) from None
