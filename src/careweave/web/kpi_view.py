"""How the commissioner outputs show a KPI: the dashboard and funnel pages
(web/pages/intelligence.py, schemes, needs) and the PDF pack (web/report.py) alike.

One definition of a KPI's number format, an area's name, a KPI's monthly SPC chart and
the SPC words, so a page and the pack of the same area and months say the same.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from careweave.measures.catalogue import Kpi
from careweave.web import statcharts
from careweave.web.intelligence import KpiChart


def fmt_for(kpi: Kpi) -> str:
    """The format of a KPI's values: a percentage, a whole count, or one decimal."""
    if kpi.kind == "proportion":
        return "{:.1%}"
    if kpi.kind == "count":
        return "{:,.0f}"
    return "{:,.1f}"


def area_name(by: str, value: str, names: dict[str, str]) -> str:
    """The board, or a locality or practice by its name (its code when unnamed)."""
    if by == "all":
        return "Whole health board"
    return f"{names.get(value, value)} ({by})"


def spc_chart(chart: KpiChart, chart_id: str) -> Markup | None:
    """The KPI's monthly XmR chart (None when nothing can be shown: every month suppressed)."""
    if chart.result is None or not chart.result.points:
        return None
    kpi = chart.kpi
    return statcharts.spc_chart(
        chart_id, f"{kpi.title}: monthly, {kpi.unit}", chart.result, fmt_for(kpi)
    )


# The SPC words every commissioner template is given (variation, assurance, points, rules).
SPC_WORDS: dict[str, Any] = {
    "variation_words": statcharts.VARIATION_WORDS,
    "assurance_words": statcharts.ASSURANCE_WORDS,
    "point_words": statcharts.POINT_WORDS,
    "rule_words": statcharts.RULE_WORDS,
    "variation_tag": statcharts.variation_tag,
    "assurance_tag": statcharts.assurance_tag,
}
