"""`servestack plan --report FILE.html`: the plan as one self-contained page people can look at.

`build_report` gathers what to show from the selector (Pulumi-free); `render_html` draws it with the jinja2
templates in `templates/` (inline CSS and SVG, no script, nothing loaded from the network); `write_report`
writes it, never over an existing file unless asked.
"""

from servestack.report.data import REASON_TEXT, CostLine, PlanReport, Point, RejectedGroup, build_report, cost_breakdown
from servestack.report.render import check_report_path, render_html, write_report

__all__ = [
    "REASON_TEXT",
    "CostLine",
    "PlanReport",
    "Point",
    "RejectedGroup",
    "build_report",
    "cost_breakdown",
    "check_report_path",
    "render_html",
    "write_report",
]
