"""Geometry of the cost-vs-latency panels, computed here and drawn as inline SVG by the templates.

A panel plots monthly expected cost (y) against one latency (x: TTFT or TPOT, ms). Cost spans orders of
magnitude between an L4 and an 8-GPU node, so the y axis is logarithmic when the costs shown differ by 10x or
more. The x axis starts at 0 and ends a little past the SLO and the feasible stacks; a rejected stack far beyond
it is drawn at the right edge as an arrow, its real value in its tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from servestack.report.data import Point, PointKind

__all__ = ["Marker", "Tick", "Panel", "panel", "money", "COLOURS", "WIDTH", "HEIGHT"]

WIDTH = 560
HEIGHT = 380
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 16, 28, 48
COLOURS: dict[str, str] = {
    "chosen": "#e4572e",
    "chosen_class": "#e4572e",
    "alternative": "#17a589",
    "feasible": "#2e86de",
    "over_budget": "#f0a202",
    "misses_slo": "#8a8a8a",
    "slo": "#8e44ad",
}
"""Marker and line colours; the chosen colour appears nowhere else on the page (a mixed fleet's classes are
part of the chosen plan and share it)."""
_DRAW_ORDER: dict[PointKind, int] = {
    "misses_slo": 0, "over_budget": 1, "feasible": 2, "alternative": 3, "chosen": 4, "chosen_class": 5,
}


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float
    """Pixel position along the axis."""
    label: str


@dataclass(frozen=True, slots=True)
class Marker:
    x: float
    y: float
    kind: PointKind
    clipped: bool
    """Beyond the x axis: drawn at its right edge."""
    title: str
    """Tooltip: the stack and its figures."""
    label: str = ""
    """Text drawn next to the marker: the class names of a mixed fleet's class markers at this spot."""


@dataclass(frozen=True, slots=True)
class Panel:
    id: str
    title: str
    x_label: str
    left: float
    top: float
    right: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    markers: tuple[Marker, ...]
    slo_x: float | None
    slo_label: str
    log_y: bool
    width: int = WIDTH
    height: int = HEIGHT


def money(usd: float) -> str:
    """$950, $12.3k, $1.25M."""
    if usd >= 1e6:
        return f"${usd / 1e6:.3g}M"
    if usd >= 1e3:
        return f"${usd / 1e3:.3g}k"
    return f"${usd:.0f}"


def _nice_step(span: float, target: int) -> float:
    raw = span / max(1, target)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _linear_ticks(lo: float, hi: float, target: int) -> list[float]:
    step = _nice_step(hi - lo, target)
    first = math.ceil(lo / step) * step
    count = int(math.floor((hi - first) / step + 1e-9)) + 1
    return [first + i * step for i in range(count)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    ticks = []
    for exp in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exp
            if lo <= value <= hi:
                ticks.append(value)
    return ticks


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def panel(
    panel_id: str, title: str, x_label: str, points: Sequence[Point], latency: Callable[[Point], float | None],
    slo_ms: float | None,
) -> Panel | None:
    """The panel of `points` against `latency` (ms), None when no point has that latency.

    No budget line: the y axis is the expected cost, and budgets bound the ceiling, so a stack over budget can
    sit below any line drawn at the budget. Over-budget stacks have their own marker instead.
    """
    placed = [(p, latency(p)) for p in points]
    usable = [(p, x) for p, x in placed if x is not None and math.isfinite(x) and x > 0]
    if not usable:
        return None
    left, top, right, bottom = _LEFT, _TOP, WIDTH - _RIGHT, HEIGHT - _BOTTOM

    # x: 0 .. past the SLO and the stacks that meet it; stacks that miss it may lie far beyond.
    within = [x for p, x in usable if p.kind != "misses_slo"]
    reach = max([*within, slo_ms or 0.0]) or max(x for _, x in usable)
    x_max = max(min(max(x for _, x in usable), reach * 1.6), slo_ms or 0.0) * 1.08
    x_ticks_values = _linear_ticks(0.0, x_max, 5)

    def to_x(value: float) -> float:
        return left + (right - left) * min(value, x_max) / x_max

    costs = [p.monthly_usd_expected for p, _ in usable]
    lo, hi = min(costs), max(costs)
    log_y = hi / lo >= 10
    # A mixed fleet's class names are written under its markers: room for them above the x axis.
    below = 2.5 if any(p.kind == "chosen_class" for p, _ in usable) else 1.0
    if log_y:
        y_lo, y_hi = 10 ** (math.log10(lo) - 0.08 * below), 10 ** (math.log10(hi) + 0.08)
        y_ticks_values = _log_ticks(y_lo, y_hi)

        def scale(v: float) -> float:
            return (math.log10(v) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo))
    else:
        pad = (hi - lo) * 0.1 or hi * 0.1
        y_lo, y_hi = max(0.0, lo - pad * below), hi + pad
        y_ticks_values = _linear_ticks(y_lo, y_hi, 5)

        def scale(v: float) -> float:
            return (v - y_lo) / (y_hi - y_lo)

    def to_y(value: float) -> float:
        return bottom - (bottom - top) * scale(value)

    ordered = sorted(usable, key=lambda px: _DRAW_ORDER[px[0].kind])
    markers = tuple(_label_classes([
        Marker(round(to_x(x), 2), round(to_y(p.monthly_usd_expected), 2), p.kind, x > x_max,
               f"{_KIND_TEXT[p.kind]}: {p.label}; {money(p.monthly_usd_expected)}/month expected, "
               f"{money(p.monthly_usd_ceiling)} ceiling; {x_label} {_ms(x)} ms")
        for p, x in ordered
    ], [p for p, _ in ordered]))
    return Panel(
        id=panel_id,
        title=title,
        x_label=x_label,
        left=left, top=top, right=right, bottom=bottom,
        x_ticks=tuple(Tick(round(to_x(v), 2), _ms(v)) for v in x_ticks_values),
        y_ticks=tuple(Tick(round(to_y(v), 2), money(v)) for v in y_ticks_values if y_lo <= v <= y_hi),
        markers=markers,
        slo_x=round(to_x(slo_ms), 2) if slo_ms is not None and slo_ms <= x_max else None,
        slo_label=f"SLO p95 {_ms(slo_ms)} ms" if slo_ms is not None else "",
        log_y=log_y,
    )


def _label_classes(markers: list[Marker], points: list[Point]) -> list[Marker]:
    """Name each class marker of a mixed fleet; classes drawn on the same spot share one label."""
    names: dict[tuple[float, float], list[str]] = {}
    for m, p in zip(markers, points, strict=True):
        if m.kind == "chosen_class" and p.class_name is not None:
            names.setdefault((round(m.x), round(m.y)), []).append(p.class_name)
    out = []
    for m in markers:
        spot = (round(m.x), round(m.y))
        if m.kind == "chosen_class" and spot in names:
            out.append(replace(m, label=", ".join(names.pop(spot))))
        else:
            out.append(m)
    return out


_KIND_TEXT: dict[str, str] = {
    "chosen": "chosen",
    "chosen_class": "chosen fleet, one request class",
    "alternative": "best single-accelerator stack (not chosen: the mixed fleet costs less)",
    "feasible": "meets the spec",
    "over_budget": "rejected, over budget",
    "misses_slo": "rejected, misses the latency SLO",
}
