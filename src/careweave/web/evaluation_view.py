"""A stored evaluation result as the evaluation page and the PDF pack show it.

Reads one ``evaluation_results`` row (careweave.care.evaluations) and gives the
figures in words: counts through disclosure control
(:func:`careweave.measures.disclosure.count`: 1-7 shown as "<8", others rounded
to 5), the effects with their 95% CIs beside the naive before/after, the
balance table, and a forest plot (server-rendered SVG with a title and
description, always beside a table of the same numbers).

Forest plot: one row per outcome; the matched difference-in-differences is a
filled square on its CI line, the naive before/after of the enrolled an open
diamond, and the vertical line is no change. Below 641 px the narrow drawing
is shown (labels on their own line), as every chart here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from careweave.care.evaluations import WORDS
from careweave.care.wording import uk_date
from careweave.measures.disclosure import Cell, count
from careweave.store.models import EvaluationResult
from careweave.web.charts import NARROW, W, ticks

#: The balance target for standardised mean differences.
SMD_TARGET = 0.1
INTERVENTION_WORDS = {
    "case_management": "Case management",
    "telehealth": "Telehealth monitoring",
    "telecare": "Telecare",
    "reablement": "Reablement",
}
COVARIATE_WORDS = {
    "age": "Age",
    "female": "Female",
    "emergency_admissions_1y": "Emergency admissions, year before",
    "emergency_admissions_2y": "Emergency admissions, 2 years before",
    "emergency_admissions_3y": "Emergency admissions, 3 years before",
    "bed_days_1y": "Emergency bed days, year before",
    "ae_attendances_1y": "A&E attendances, year before",
    "conditions": "Conditions (register evidence)",
    "deprivation_decile": "Deprivation decile",
    "prognostic_score": "Prognostic score",
    "propensity_logit": "Propensity score (logit)",
}


def intervention_words(name: str) -> str:
    if name.startswith("community:"):
        return f"Community {name.partition(':')[2].replace('_', ' ')} (first contact)"
    return INTERVENTION_WORDS.get(name, name.replace("_", " ").capitalize())


#: Register names shown as their usual abbreviations.
REGISTER_WORDS = {
    "chd": "CHD",
    "ckd": "CKD",
    "copd": "COPD",
    "pad": "PAD",
    "smi": "serious mental illness",
    "stroke_tia": "stroke and TIA",
}


def covariate_words(name: str) -> str:
    if name.startswith("reg_"):
        reg = name.removeprefix("reg_")
        return f"On the {REGISTER_WORDS.get(reg, reg.replace('_', ' '))} register"
    return COVARIATE_WORDS.get(name, name.replace("_", " "))


def pct(v: float | None) -> str:
    """A relative change as a signed percentage (a true minus sign), or a dash."""
    if v is None:
        return "–"
    return f"{100 * v:+.1f}%".replace("-", "−")


@dataclass(frozen=True)
class OutcomeRow:
    name: str
    words: str
    effect: float
    ci_low: float
    ci_high: float
    naive: float | None
    degree: str
    verdict: str
    primary: bool

    @property
    def ci(self) -> str:
        return f"{pct(self.ci_low)} to {pct(self.ci_high)}"


@dataclass(frozen=True)
class BalanceRow:
    name: str
    words: str
    smd: float

    @property
    def ok(self) -> bool:
        return abs(self.smd) < SMD_TARGET


@dataclass(frozen=True)
class View:
    id: int
    intervention: str
    title: str
    run_on: str
    definition_version: str
    inputs: dict[str, Any]
    treated: Cell
    matched: Cell
    controls: Cell
    balance_max_smd: float
    balanced: bool
    outcomes: list[OutcomeRow]
    balance: list[BalanceRow]
    primary: OutcomeRow
    forest: Markup


def view(r: EvaluationResult, chart_id: str = "chart-forest") -> View:
    """The page's (and the pack's) figures of one stored result."""
    rows = [
        OutcomeRow(
            name,
            WORDS.get(name, name),
            float(o["effect"]),
            float(o["ci_low"]),
            float(o["ci_high"]),
            None if o.get("naive_before_after") is None else float(o["naive_before_after"]),
            str(o["degree"]),
            str(o["verdict"]),
            name == r.primary_outcome,
        )
        for name, o in r.outcomes.items()
    ]
    primary = next(o for o in rows if o.primary)
    title = intervention_words(r.intervention)
    return View(
        id=r.id,
        intervention=r.intervention,
        title=title,
        run_on=uk_date(r.run_at).strftime("%-d %B %Y"),
        definition_version=r.definition_version,
        inputs=dict(r.inputs),
        treated=count(r.treated),
        matched=count(r.matched),
        controls=count(r.controls),
        balance_max_smd=r.balance_max_smd,
        balanced=r.balance_max_smd < SMD_TARGET,
        outcomes=rows,
        balance=[BalanceRow(k, covariate_words(k), float(v)) for k, v in r.balance.items()],
        primary=primary,
        forest=forest(chart_id, f"{title}: effect on each outcome against matched controls", rows),
    )


def _range(rows: list[OutcomeRow]) -> tuple[float, float]:
    values = [0.0]
    for o in rows:
        values += [o.ci_low, o.ci_high]
        if o.naive is not None:
            values.append(o.naive)
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.08, 0.02)
    return lo - pad, hi + pad


def _desc(rows: list[OutcomeRow]) -> str:
    parts = [
        f"{o.words}: {pct(o.effect)} (95% CI {o.ci}), naive before/after {pct(o.naive)}"
        for o in rows
    ]
    return (
        "Matched difference-in-differences, squares with 95% CI lines; naive "
        "before/after of the enrolled, open diamonds. " + "; ".join(parts) + "."
    )


def forest(chart_id: str, title: str, rows: list[OutcomeRow]) -> Markup:
    """The forest plot, wide and narrow (careweave.css shows the narrow below 641 px)."""
    return Markup(
        _forest(chart_id, title, rows, W, 200, "")
        + _forest(f"{chart_id}-narrow", title, rows, NARROW, 0, " cw-chart--narrow")
    )


def _forest(
    chart_id: str, title: str, rows: list[OutcomeRow], width: int, label_w: int, extra: str
) -> str:
    lo, hi = _range(rows)
    left, right = label_w + 12, width - 16
    row_h = 40 if label_w else 58
    top, axis_h = 12, 40
    height = top + row_h * len(rows) + axis_h

    def x(v: float) -> float:
        return left + (v - lo) * (right - left) / (hi - lo)

    out = [
        f'<svg class="cw-chart{extra}" id="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(_desc(rows))}</desc>',
    ]
    bottom = top + row_h * len(rows)
    for t in ticks(lo, hi):
        out.append(
            f'<line class="cw-axis" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{bottom}" '
            f'y2="{bottom + 5}"/><text x="{x(t):.1f}" y="{bottom + 20}" '
            f'text-anchor="middle">{escape(f"{100 * t:+.0f}%".replace("+0%", "0%"))}</text>'
        )
    out.append(
        f'<line class="cw-axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>'
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 36}" text-anchor="middle">'
        "Relative change (fewer ← → more)</text>"
    )
    if label_w:
        out.append(
            f'<line class="cw-forest-zero" x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" '
            f'y2="{bottom}"/>'
        )
    for i, o in enumerate(rows):
        y0 = top + i * row_h
        cy = y0 + (row_h / 2 if label_w else row_h - 16)
        if not label_w:  # narrow: the no-change line only beside the marks, never on a label
            out.append(
                f'<line class="cw-forest-zero" x1="{x(0):.1f}" x2="{x(0):.1f}" '
                f'y1="{cy - 12:.1f}" y2="{min(cy + 12, bottom):.1f}"/>'
            )
        if label_w:
            out.append(
                f'<text x="{label_w}" y="{cy + 5:.1f}" text-anchor="end">{escape(o.words)}</text>'
            )
        else:
            out.append(f'<text x="0" y="{y0 + 18}">{escape(o.words)}</text>')
        out.append(
            f'<line class="cw-forest-ci" x1="{x(o.ci_low):.1f}" x2="{x(o.ci_high):.1f}" '
            f'y1="{cy:.1f}" y2="{cy:.1f}"/>'
            f'<rect class="cw-forest-effect" x="{x(o.effect) - 6:.1f}" y="{cy - 6:.1f}" '
            'width="12" height="12"/>'
        )
        if o.naive is not None:
            nx = x(o.naive)
            out.append(
                f'<path class="cw-forest-naive" d="M{nx:.1f} {cy - 8:.1f} L{nx + 8:.1f} '
                f'{cy:.1f} L{nx:.1f} {cy + 8:.1f} L{nx - 8:.1f} {cy:.1f} Z"/>'
            )
    out.append("</svg>")
    return "".join(out)
