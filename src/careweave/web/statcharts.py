"""SPC and funnel charts as server-rendered, accessible SVG (see careweave.web.charts).

Each chart has a <title> and a <desc> saying in words what it shows, and the
page puts the same numbers in a table beside it. Point types are told apart by
shape as well as colour (Making Data Count's blue for improvement, orange for
concern, grey for common cause): improvement points are squares, concern
points are diamonds, so nothing is said by colour alone.
"""

from __future__ import annotations

import datetime as dt
from html import escape

import numpy as np
from markupsafe import Markup

from careweave.stats.funnel import FunnelResult
from careweave.stats.spc import SpcResult
from careweave.web.charts import NARROW, W, _both, _scale, ticks

VARIATION_WORDS = {
    "common_cause": "Common cause variation",
    "special_cause_improving_high": "Special cause: improving (high)",
    "special_cause_improving_low": "Special cause: improving (low)",
    "special_cause_concerning_high": "Special cause: concerning (high)",
    "special_cause_concerning_low": "Special cause: concerning (low)",
    "special_cause_neutral_high": "Special cause: neither better nor worse (high)",
    "special_cause_neutral_low": "Special cause: neither better nor worse (low)",
}
ASSURANCE_WORDS = {
    "consistently_passes": "Consistently passes the reference",
    "consistently_fails": "Consistently fails the reference",
    "hit_and_miss": "Hit and miss against the reference",
}
POINT_WORDS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neutral_high": "Special cause: high",
    "special_cause_neutral_low": "Special cause: low",
}
RULE_WORDS = {
    "outside_limits": "beyond a process limit",
    "shift": "run of 7 on one side of the mean",
    "trend": "7 rising or falling",
    "two_in_three": "2 of 3 near a limit",
}


def variation_tag(name: str) -> str:
    """The NHS.UK tag colour of a variation icon (its words say the same)."""
    if "improving" in name:
        return "nhsuk-tag--blue"
    if "concerning" in name:
        return "nhsuk-tag--orange"
    if "neutral" in name:
        return "nhsuk-tag--purple"
    return "nhsuk-tag--grey"


def assurance_tag(name: str) -> str:
    return {
        "consistently_passes": "nhsuk-tag--blue",
        "consistently_fails": "nhsuk-tag--orange",
    }.get(name, "nhsuk-tag--grey")


def _marker(kind: str, x: float, y: float) -> str:
    if kind == "special_cause_improvement":
        return (
            f'<rect class="cw-spc-improve" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8"/>'
        )
    if kind == "special_cause_concern":
        return (
            f'<polygon class="cw-spc-concern" points="{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} '
            f'{x:.1f},{y + 6:.1f} {x - 6:.1f},{y:.1f}"/>'
        )
    if kind.startswith("special_cause_neutral"):
        return (
            f'<rect class="cw-spc-neutral" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8"/>'
        )
    return f'<circle class="cw-point cw-spc-common" cx="{x:.1f}" cy="{y:.1f}" r="3"/>'


def spc_chart(
    chart_id: str,
    title: str,
    result: SpcResult,
    fmt: str = "{:.3g}",
    trajectory: dict[dt.date, float] | None = None,
) -> Markup:
    """A small XmR chart: the values, the mean (solid) and process limits (dashed); with a
    ``trajectory`` (month -> planned value, a scheme's), the plan as a dotted line through
    the months charted (class ``cw-spc-trajectory``)."""
    width, height = 340, 190
    left, right, top, bottom = 52, 10, 10, 30
    pts = result.points
    planned = [
        (i, trajectory[p.date]) for i, p in enumerate(pts) if trajectory and p.date in trajectory
    ]
    ys = [p.value for p in pts]
    ys += [v for p in pts for v in (p.lower, p.upper) if v is not None]
    ys += [v for _, v in planned]
    if result.target is not None:
        ys.append(result.target)
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(i: int) -> float:
        return _scale(i, 0, max(len(pts) - 1, 1), left, width - right)

    def y(v: float) -> float:
        return _scale(v, lo, hi, height - bottom, top)

    special = sum(1 for p in pts if p.special_cause)
    desc = (
        f"{len(pts)} months from {pts[0].date:%b %Y} to {pts[-1].date:%b %Y}; "
        f"latest {fmt.format(pts[-1].value)}"
        + (f", mean {fmt.format(pts[-1].mean)}" if pts[-1].mean is not None else "")
        + (
            f", process limits {fmt.format(pts[-1].lower)} to {fmt.format(pts[-1].upper)}"
            if pts[-1].lower is not None and pts[-1].upper is not None
            else ""
        )
        + (
            f"; trajectory {fmt.format(planned[-1][1])} in {pts[planned[-1][0]].date:%b %Y}"
            if planned
            else ""
        )
        + f"; {special} special-cause point{'s' if special != 1 else ''}; "
        + VARIATION_WORDS[result.variation].lower()
        + "."
    )
    out = [
        f'<svg class="cw-chart cw-spc" id="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<line class="cw-axis" x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}"/>',
        f'<line class="cw-axis" x1="{left}" x2="{width - right}" y1="{height - bottom}" '
        f'y2="{height - bottom}"/>',
    ]
    # mean and limits, segment by segment (they step at a rebase)
    for attr, cls in (
        ("mean", "cw-spc-mean"),
        ("lower", "cw-spc-limit"),
        ("upper", "cw-spc-limit"),
    ):
        path = []
        for i, p in enumerate(pts):
            v = getattr(p, attr)
            if v is not None:
                path.append(f"{x(i):.1f},{y(v):.1f}")
        if len(path) > 1:
            out.append(f'<polyline class="{cls}" points="{" ".join(path)}"/>')
    if result.target is not None:
        ty = y(result.target)
        out.append(
            f'<line class="cw-spc-target" x1="{left}" x2="{width - right}" '
            f'y1="{ty:.1f}" y2="{ty:.1f}"/>'
        )
    if len(planned) > 1:
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in planned)
        out.append(f'<polyline class="cw-spc-trajectory" points="{line}"/>')
    elif planned:
        i, v = planned[0]
        out.append(
            f'<line class="cw-spc-trajectory" x1="{x(i) - 6:.1f}" x2="{x(i) + 6:.1f}" '
            f'y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        )
    for v in (lo + pad, hi - pad):
        out.append(
            f'<text x="{left - 4}" y="{y(v) + 5:.1f}" text-anchor="end">{fmt.format(v)}</text>'
        )
    out.append(f'<text x="{left}" y="{height - 8}">{pts[0].date:%b %y}</text>')
    out.append(
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{pts[-1].date:%b %y}</text>'
    )
    if len(pts) > 1:
        line = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(pts))
        out.append(f'<polyline class="cw-line cw-spc-line" points="{line}"/>')
    for i, p in enumerate(pts):
        out.append(_marker(p.point_type, x(i), y(p.value)))
    out.append("</svg>")
    return Markup("".join(out))


def funnel_chart(
    chart_id: str,
    title: str,
    result: FunnelResult,
    names: dict[str, str],
    fmt: str,
    multiplier: float = 1.0,
) -> Markup:
    """Each unit's value against its size, the target and the 95% / 99.8% limits
    (exact, or over-dispersed when the result is), drawn wide and narrow from one
    computation of the limit curves (``multiplier`` is the result's own; the
    argument is kept for callers)."""
    curves = _curves(result)
    return _both(
        _funnel(chart_id, title, result, names, fmt, curves, W, ""),
        _funnel(
            f"{chart_id}-narrow", title, result, names, fmt, curves, NARROW, " cw-chart--narrow"
        ),
    )


#: Points along each limit curve (sizes from 2% of the largest unit's to 105% of it).
CURVE_POINTS = 41


def _curves(result: FunnelResult) -> tuple[np.ndarray, np.ndarray]:
    """The sizes along the x axis and the four limits at each (one vectorised call)."""
    n_hi = max(u.denominator for u in result.units) * 1.05
    grid = np.linspace(n_hi * 0.02, n_hi, CURVE_POINTS)
    grid = grid[grid >= 1]
    return grid, result.limits_at(grid)


def _funnel(
    chart_id: str,
    title: str,
    result: FunnelResult,
    names: dict[str, str],
    fmt: str,
    curves: tuple[np.ndarray, np.ndarray],
    width: int,
    extra: str,
) -> Markup:
    height = 300
    left, right, top, bottom = 60, 14, 14, 44
    units = result.units
    ns = [u.denominator for u in units]
    n_lo, n_hi = 0.0, max(ns) * 1.05
    ys = [u.value for u in units] + [result.target]
    ys += [v for u in units for v in (u.lower_998, u.upper_998)]
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = max(lo - pad, 0.0), hi + pad

    def x(n: float) -> float:
        return _scale(n, n_lo, n_hi, left, width - right)

    def y(v: float) -> float:
        return _scale(v, lo, hi, height - bottom, top)

    above = [names.get(u.unit, u.unit) for u in units if u.position == "above"]
    below = [names.get(u.unit, u.unit) for u in units if u.position == "below"]
    desc = (
        f"{len(units)} units; target {fmt.format(result.target)}; "
        f"above the 99.8% limit: {', '.join(above) or 'none'}; "
        f"below the 99.8% limit: {', '.join(below) or 'none'}."
    )
    out = [
        f'<svg class="cw-chart cw-funnel{extra}" id="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<line class="cw-axis" x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}"/>',
        f'<line class="cw-axis" x1="{left}" x2="{width - right}" y1="{height - bottom}" '
        f'y2="{height - bottom}"/>',
    ]
    grid, lims = curves
    for row, cls in enumerate(("cw-funnel-95", "cw-funnel-95", "cw-funnel-998", "cw-funnel-998")):
        pts = [
            f"{x(float(n)):.1f},{y(min(max(float(v), lo), hi)):.1f}"
            for n, v in zip(grid, lims[row], strict=True)
        ]
        if len(pts) > 1:
            out.append(f'<polyline class="{cls}" points="{" ".join(pts)}"/>')
    ty = y(result.target)
    out.append(
        f'<line class="cw-spc-mean" x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
    )
    for v in (lo, hi):
        out.append(
            f'<text x="{left - 4}" y="{y(v) + 5:.1f}" text-anchor="end">{fmt.format(v)}</text>'
        )
    out.append(f'<text x="{left}" y="{height - 24}">0</text>')
    out.append(f'<text x="{width - right}" y="{height - 24}" text-anchor="end">{n_hi:,.0f}</text>')
    out.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        "Size (denominator)</text>"
    )
    for u in units:
        kind = {
            "above": "special_cause_concern",
            "below": "special_cause_improvement",
        }.get(u.position, "common_cause")
        out.append(_marker(kind, x(u.denominator), y(u.value)))
    out.append("</svg>")
    return Markup("".join(out))


def bench_chart(
    chart_id: str,
    title: str,
    units: list[tuple[str, float]],
    median: float,
    q1: float,
    q3: float,
    names: dict[str, str],
    fmt: str,
    highlight: str | None = None,
    peers: frozenset[str] = frozenset(),
    peer_median: float | None = None,
) -> Markup:
    """Ranked bars (highest first) with the median (solid) and quartiles (dashed), in
    the style of seed 001's exhibits; the highlighted unit is dark and labelled, its
    peers hatched, so neither is told by colour alone; with a peer median, a dotted
    line labelled "Peers" at it. Drawn wide and narrow (for phones, where the wide one
    would shrink its labels below legibility)."""
    args = (title, units, median, q1, q3, names, fmt, highlight, peers, peer_median)
    return _both(
        _bench(chart_id, *args, width=W, margins=(60, 70), extra_class=""),
        _bench(
            f"{chart_id}-narrow",
            *args,
            width=NARROW,
            margins=(46, 52),
            extra_class=" cw-chart--narrow",
        ),
    )


def _bench(
    chart_id: str,
    title: str,
    units: list[tuple[str, float]],
    median: float,
    q1: float,
    q3: float,
    names: dict[str, str],
    fmt: str,
    highlight: str | None,
    peers: frozenset[str],
    peer_median: float | None,
    *,
    width: int,
    margins: tuple[int, int],
    extra_class: str,
) -> Markup:
    height = 260
    (left, right), top, bottom = margins, 14, 30
    extra = [peer_median] if peer_median is not None else []
    vmax = max([v for _, v in units] + [q3, median, *extra]) * 1.08 or 1.0
    n = max(len(units), 1)
    step = (width - left - right) / n

    def y(v: float) -> float:
        return _scale(v, 0.0, vmax, height - bottom, top)

    me = names.get(highlight, highlight) if highlight else None
    rank = next((i + 1 for i, (u, _) in enumerate(units) if u == highlight), None)
    desc = (
        f"{len(units)} units ranked from highest to lowest; median {fmt.format(median)}, "
        f"quartiles {fmt.format(q1)} to {fmt.format(q3)}"
        + (
            f"; {me} is {rank} of {len(units)} at {fmt.format(units[rank - 1][1])}"
            if me and rank
            else ""
        )
        + (f"; {len(peers)} peers hatched" if peers else "")
        + (f"; peer median {fmt.format(peer_median)}" if peer_median is not None else "")
        + "."
    )
    out = [
        f'<svg class="cw-chart cw-bench{extra_class}" id="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        '<defs><pattern id="' + chart_id + '-hatch" width="4" height="4" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="4" height="4" fill="#aed0ee"/><line x1="0" y1="0" x2="0" y2="4" '
        'stroke="#005eb8" stroke-width="2"/></pattern></defs>',
        f'<line class="cw-axis" x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}"/>',
        f'<line class="cw-axis" x1="{left}" x2="{width - right}" y1="{height - bottom}" '
        f'y2="{height - bottom}"/>',
    ]
    gap = min(1.0, step * 0.2)
    for i, (unit, v) in enumerate(units):
        x0 = left + i * step + gap / 2
        cls = (
            "cw-bench-self"
            if unit == highlight
            else "cw-bench-peer"
            if unit in peers
            else "cw-bench-other"
        )
        fill = f' fill="url(#{chart_id}-hatch)"' if cls == "cw-bench-peer" else ""
        out.append(
            f'<rect class="{cls}"{fill} x="{x0:.1f}" y="{y(v):.1f}" width="{max(step - gap, 0.5):.1f}" '
            f'height="{max(y(0) - y(v), 0):.1f}"/>'
        )
        if unit == highlight:  # its name from the bar towards the middle, never past an edge
            start = x0 < (left + width - right) / 2
            out.append(
                f'<text x="{x0 if start else x0 + step:.1f}" y="{max(y(v) - 4, top + 10):.1f}" '
                f'text-anchor="{"start" if start else "end"}">{escape(str(me))}</text>'
            )
    # Labels at the right, top to bottom, pushed apart where the lines are close.
    label_y: list[float] = []
    lines = [
        (q3, "cw-spc-limit", "Q3"),
        (median, "cw-spc-mean", "Median"),
        (q1, "cw-spc-limit", "Q1"),
    ]
    if peer_median is not None:
        lines.append((peer_median, "cw-bench-peer-median", "Peers"))
    for v, cls, label in sorted(lines, key=lambda t: -t[0]):
        out.append(
            f'<line class="{cls}" x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        )
        ly = y(v) + 5
        if label_y and ly < label_y[-1] + 14:
            ly = label_y[-1] + 14
        label_y.append(ly)
        out.append(f'<text x="{width - right + 4}" y="{ly:.1f}">{label}</text>')
    for v in (0.0, vmax / 1.08):
        out.append(
            f'<text x="{left - 4}" y="{y(v) + 5:.1f}" text-anchor="end">{fmt.format(v)}</text>'
        )
    out.append(f'<text x="{left}" y="{height - 8}">Highest</text>')
    out.append(f'<text x="{width - right}" y="{height - 8}" text-anchor="end">Lowest</text>')
    out.append("</svg>")
    return Markup("".join(out))


def ratio_chart(
    chart_id: str,
    title: str,
    items: list[tuple[str, float, float, float]],
    desc: str,
) -> Markup:
    """Recorded / expected ratios with their 95% intervals (label, ratio, lower, upper), one
    row each, against a line at 1 ("as expected"); a dot and a whisker, so nothing is told
    by colour. Below the rows, an axis of the ratio with ticks and labels at round values
    (charts.ticks, as on the forest plot) and its title; a ratio or interval above 3 is
    drawn at the axis's end (the table beside the chart gives it). Wide and narrow
    drawings, like every chart on the pages."""
    return _both(
        _ratio(chart_id, title, items, desc, W, 250, ""),
        _ratio(f"{chart_id}-narrow", title, items, desc, NARROW, 0, " cw-chart--narrow"),
    )


#: The ratio axis's title, under its tick labels.
RATIO_AXIS = "Recorded ÷ expected (1: as expected)"


def _ratio(
    chart_id: str,
    title: str,
    items: list[tuple[str, float, float, float]],
    desc: str,
    width: int,
    label_w: int,
    extra_class: str,
) -> Markup:
    row = 30 if label_w else 46
    top, bottom, right = 8, 46, 16
    left = label_w + 12 if label_w else 12
    axis_y = top + row * len(items) + 4
    height = axis_y + bottom
    vmax = max([hi for *_, hi in items] + [1.2])
    vmax = min(vmax, 3.0) * 1.05

    def x(v: float) -> float:
        return _scale(min(v, vmax), 0.0, vmax, left, width - right)

    out = [
        f'<svg class="cw-chart cw-ratio{extra_class}" id="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<line class="cw-axis" x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}"/>',
    ]
    for t in ticks(0.0, vmax):
        out.append(
            f'<line class="cw-axis cw-tick" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{axis_y}" '
            f'y2="{axis_y + 5}"/><text x="{x(t):.1f}" y="{axis_y + 20}" '
            f'text-anchor="middle">{round(t, 2):g}</text>'
        )
    out.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{axis_y + 38}" '
        f'text-anchor="middle">{escape(RATIO_AXIS)}</text>'
    )
    if label_w:  # the line at 1 from top to the axis; on a phone only beside each dot, so
        # it never runs through a label written above its row
        out.append(
            f'<line class="cw-spc-mean" x1="{x(1.0):.1f}" x2="{x(1.0):.1f}" y1="{top}" '
            f'y2="{axis_y}"/>'
        )
    for i, (label, ratio, lo, hi) in enumerate(items):
        yy = top + i * row
        cy = yy + (row / 2 if label_w else 32)
        if not label_w:
            out.append(
                f'<line class="cw-spc-mean" x1="{x(1.0):.1f}" x2="{x(1.0):.1f}" '
                f'y1="{cy - 9:.1f}" y2="{cy + 9:.1f}"/>'
            )
        if label_w:
            out.append(
                f'<text x="{label_w}" y="{cy + 5:.1f}" text-anchor="end">{escape(label)}</text>'
            )
        else:
            out.append(f'<text x="{left}" y="{yy + 16}">{escape(label)}</text>')
        out.append(
            f'<line class="cw-spc-line" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}"/>'
        )
        out.append(f'<circle class="cw-point" cx="{x(ratio):.1f}" cy="{cy:.1f}" r="4"/>')
    out.append("</svg>")
    return Markup("".join(out))
