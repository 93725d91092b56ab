"""Server-rendered SVG charts: readable without JavaScript, on screen and in print.

Each chart has a <title> and <desc> (role="img" with aria-labelledby) and is
always accompanied on the page by a table of the same numbers.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from markupsafe import Markup

from careweave.care.wording import uk_date

W, H = 640, 260
L, R, T, B = 56, 16, 16, 40


def _scale(v: float, lo: float, hi: float, a: float, b: float) -> float:
    if hi == lo:
        return (a + b) / 2
    return a + (v - lo) * (b - a) / (hi - lo)


def ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round values for an axis over [lo, hi]: the smallest step of 0.02, 0.05, 0.1, 0.2,
    0.25, 0.5, 1, 2 or 5 giving at most ``most`` intervals, its multiples inside."""
    span = hi - lo
    steps = (0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0)
    step = next((s for s in steps if span / s <= most), steps[-1])
    first = int(lo / step) - 1
    return [t * step for t in range(first, first + 5 * most) if lo <= t * step <= hi]


# A 320-390 px phone less the page's and a figure's margins: drawn at this width the
# chart is shown at (nearly) its own size, so its text stays about 14 px.
NARROW = 280


def _both(wide: Markup, narrow: Markup) -> Markup:
    """Both drawings; careweave.css shows the narrow one below 641 px so that labels keep
    their size on a phone instead of shrinking with a scaled-down wide chart."""
    return Markup(wide + narrow)


def readings(
    chart_id: str,
    title: str,
    unit: str,
    points: list[tuple[dt.datetime, float]],
    low: float | None,
    high: float | None,
) -> Markup:
    """A line of readings over time, with the normal range shaded and thresholds dashed."""
    return _both(
        _readings(chart_id, title, unit, points, low, high, W, ""),
        _readings(
            f"{chart_id}-narrow", title, unit, points, low, high, NARROW, " cw-chart--narrow"
        ),
    )


def _readings(
    chart_id: str,
    title: str,
    unit: str,
    points: list[tuple[dt.datetime, float]],
    low: float | None,
    high: float | None,
    W: int,
    extra_class: str,
) -> Markup:
    values = [v for _, v in points]
    lo = min([*values, *(x for x in (low, high) if x is not None)])
    hi = max([*values, *(x for x in (low, high) if x is not None)])
    pad = (hi - lo) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()

    def x(t: dt.datetime) -> float:
        return _scale(t.timestamp(), t0, t1, L, W - R)

    def y(v: float) -> float:
        return _scale(v, lo, hi, H - B, T)

    out = [
        f'<svg class="cw-chart{extra_class}" id="{chart_id}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{len(points)} readings in {escape(unit)}'
        + (f"; normal range {low:g} to {high:g}" if low is not None and high is not None else "")
        + (f"; lower threshold {low:g}" if low is not None and high is None else "")
        + (f"; upper threshold {high:g}" if high is not None and low is None else "")
        + f"; {sum(1 for v in values if (low is not None and v < low) or (high is not None and v > high))} out of range.</desc>",
    ]
    if low is not None or high is not None:
        top = y(high) if high is not None else T
        bottom = y(low) if low is not None else H - B
        out.append(
            f'<rect class="cw-band" x="{L}" y="{top:.1f}" width="{W - L - R}" height="{bottom - top:.1f}"/>'
        )
    for thr, name in ((low, "low"), (high, "high")):
        if thr is not None:
            out.append(
                f'<line class="cw-threshold" x1="{L}" x2="{W - R}" y1="{y(thr):.1f}" y2="{y(thr):.1f}"/>'
                f'<text x="{W - R}" y="{y(thr) - 4:.1f}" text-anchor="end">{name} {thr:g}</text>'
            )
    out.append(f'<line class="cw-axis" x1="{L}" x2="{L}" y1="{T}" y2="{H - B}"/>')
    out.append(f'<line class="cw-axis" x1="{L}" x2="{W - R}" y1="{H - B}" y2="{H - B}"/>')
    for v in (lo + pad, hi - pad):
        out.append(f'<text x="{L - 6}" y="{y(v) + 5:.1f}" text-anchor="end">{v:.3g}</text>')
    first, last = uk_date(points[0][0]), uk_date(points[-1][0])  # UK days, not UTC
    out.append(f'<text x="{L}" y="{H - 12}">{first:%-d %b}</text>')
    out.append(f'<text x="{W - R}" y="{H - 12}" text-anchor="end">{last:%-d %b %Y}</text>')
    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    out.append(f'<polyline class="cw-line" points="{path}"/>')
    for t, v in points:
        bad = (low is not None and v < low) or (high is not None and v > high)
        shape = (
            f'<rect class="cw-point-out" x="{x(t) - 5:.1f}" y="{y(v) - 5:.1f}" width="10" height="10"/>'
            if bad
            else f'<circle class="cw-point" cx="{x(t):.1f}" cy="{y(v):.1f}" r="4"/>'
        )
        out.append(shape)
    out.append("</svg>")
    return Markup("".join(out))


def bars(chart_id: str, title: str, items: list[tuple[str, float, str]]) -> Markup:
    """Horizontal bars: (label, value, value shown as text). Suppressed values are 0 with '<8'.
    On a phone each label sits on its own line above its bar, so no label is clipped."""
    return _both(_bars(chart_id, title, items), _bars_narrow(f"{chart_id}-narrow", title, items))


def _bars_narrow(chart_id: str, title: str, items: list[tuple[str, float, str]]) -> Markup:
    row = 48
    width = NARROW
    height = T + row * len(items) + 8
    top = max([v for _, v, _ in items] + [1.0])
    out = [
        f'<svg class="cw-chart cw-chart--narrow" id="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-t" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
    ]
    for i, (label, value, shown) in enumerate(items):
        yy = T + i * row
        bar = _scale(value, 0, top, 0, width - 110)  # room after the bar for "2,960 (62.7%)"
        out.append(f'<text x="0" y="{yy + 14}">{escape(label)}</text>')
        out.append(
            f'<rect class="cw-bar" x="0" y="{yy + 20}" width="{bar:.1f}" height="{row - 30}"/>'
        )
        out.append(f'<text x="{bar + 6:.1f}" y="{yy + 34}">{escape(shown)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _bars(chart_id: str, title: str, items: list[tuple[str, float, str]]) -> Markup:
    row = 30
    height = T + row * len(items) + 8
    label_w = 230
    top = max([v for _, v, _ in items] + [1.0])
    out = [
        f'<svg class="cw-chart" id="{chart_id}" viewBox="0 0 {W} {height}" width="{W}" height="{height}" '
        f'role="img" aria-labelledby="{chart_id}-t" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
    ]
    for i, (label, value, shown) in enumerate(items):
        yy = T + i * row
        width = _scale(value, 0, top, 0, W - label_w - 80)
        out.append(
            f'<text x="{label_w - 8}" y="{yy + 19}" text-anchor="end">{escape(label)}</text>'
        )
        out.append(
            f'<rect class="cw-bar" x="{label_w}" y="{yy + 4}" width="{width:.1f}" height="{row - 10}"/>'
        )
        out.append(f'<text x="{label_w + width + 6:.1f}" y="{yy + 19}">{escape(shown)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def paired_bars(
    chart_id: str,
    title: str,
    desc: str,
    items: list[tuple[str, float | None, float, str, str]],
    first: str = "Needed",
    second: str = "In post",
) -> Markup:
    """Two horizontal bars per row (label, first value or None when not shown, second
    value, and each as text), with a title, a description and a key: e.g. staff needed
    against staff in post. A value not shown draws no bar and says why in its text."""
    return _both(
        _paired(chart_id, title, desc, items, first, second, W, 230, ""),
        _paired(
            f"{chart_id}-narrow", title, desc, items, first, second, NARROW, 0, " cw-chart--narrow"
        ),
    )


def _paired(
    chart_id: str,
    title: str,
    desc: str,
    items: list[tuple[str, float | None, float, str, str]],
    first: str,
    second: str,
    width: int,
    label_w: int,
    klass: str,
) -> Markup:
    narrow = label_w == 0
    row = 62 if narrow else 44
    key_h = 26
    height = T + key_h + row * len(items) + 8
    top = max([v or 0.0 for _, v, _, _, _ in items] + [w for _, _, w, _, _ in items] + [1.0])
    span = width - label_w - 90
    out = [
        f'<svg class="cw-chart{klass}" id="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t" aria-describedby="{chart_id}-d" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<rect class="cw-bar" x="{label_w}" y="{T}" width="14" height="12"/>',
        f'<text x="{label_w + 20}" y="{T + 11}">{escape(first)}</text>',
        f'<rect class="cw-bar cw-bar--second" x="{label_w + 110}" y="{T}" width="14" height="12"/>',
        f'<text x="{label_w + 130}" y="{T + 11}">{escape(second)}</text>',
    ]
    for i, (label, a, b, a_text, b_text) in enumerate(items):
        yy = T + key_h + i * row
        if narrow:
            out.append(f'<text x="0" y="{yy + 14}">{escape(label)}</text>')
            bar_y = yy + 20
        else:
            out.append(
                f'<text x="{label_w - 8}" y="{yy + 24}" text-anchor="end">{escape(label)}</text>'
            )
            bar_y = yy + 4
        wa = _scale(a or 0.0, 0, top, 0, span)
        wb = _scale(b, 0, top, 0, span)
        out.append(f'<rect class="cw-bar" x="{label_w}" y="{bar_y}" width="{wa:.1f}" height="16"/>')
        out.append(f'<text x="{label_w + wa + 6:.1f}" y="{bar_y + 13}">{escape(a_text)}</text>')
        out.append(
            f'<rect class="cw-bar cw-bar--second" x="{label_w}" y="{bar_y + 19}" '
            f'width="{wb:.1f}" height="16"/>'
        )
        out.append(f'<text x="{label_w + wb + 6:.1f}" y="{bar_y + 32}">{escape(b_text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
