"""The budget report: each scheme's spend against allocation and its KPIs against trajectory.

Read from the persisted ``population_measures`` (``careweave measures``), never
the raw tables, and every figure passes
:func:`careweave.measures.disclosure.safe_frame` before any statistic, so
nothing (baseline, SPC limits, forecast) rests on a suppressed count. The CLI
(``careweave budgets report``), the schemes page and the PDF pack all use
:func:`report`.

Decisions recorded here (docs/budgets.md says the same):

- **Which figures are a scheme's**: the measures are grouped by one dimension at
  a time, so a scheme's population maps to one group: the whole board
  (``all``), a locality or practice, or (for a board-wide scheme) a CCM level or
  segment. A scheme for a CCM level *within* a locality is reported on the
  locality as a whole, and the report says so in ``population_note``.
- **Spend** is the costed activity of that population under the measures' cost
  definition (:mod:`careweave.definitions.costs`), read as the money numerator
  of the catalogue's ``spend_per_head`` in each month of the year, or, when the
  scheme names ``spend_settings``, the sum of the finance package's
  ``spend_per_head_<setting>`` for those settings (:mod:`careweave.finance.spend`,
  split by the tariff's setting of each activity): no second costing. A month
  counts only when every one of its parts is measured. What a scheme itself
  pays for is not in the canonical data (a pooled fund's ledger is not a source
  Careweave loads).
- **SPC**: each KPI's monthly series over its baseline period and the year so
  far, rebased at the year's start (the scheme's start), with the KPI's
  improvement direction from the catalogue; the assurance icon is against the
  year-end target (the year's own limits); with fewer than two months of the
  year measured there are no limits and no icon. The trajectory is drawn
  beside it and each month says whether it is on or off trajectory (on: at or
  better than the trajectory in the KPI's direction of improvement).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from careweave.budgets import trajectory as traj
from careweave.budgets.file import Budget, Population, Scheme, SchemeKpi, add_months
from careweave.budgets.forecast import Forecast, kpi_year_end, spend_year_end
from careweave.finance.spend import KPIS as SPEND_KPIS
from careweave.measures.catalogue import Kpi, load_catalogue
from careweave.measures.disclosure import safe_frame
from careweave.measures.results import TABLE
from careweave.stats import SpcResult, spc
from careweave.stats.spc import Improvement

SPEND = SPEND_KPIS[("total", "all")]


def spend_measures(scheme: Scheme) -> list[str]:
    """The catalogue KPIs whose money numerators add up to the scheme's spend."""
    if not scheme.spend_settings:
        return [SPEND]
    return [SPEND_KPIS[("setting", s)] for s in scheme.spend_settings]


IMPROVEMENT: dict[str, Improvement] = {
    "higher": "increase",
    "lower": "decrease",
    "neither": "neutral",
}


@dataclass(frozen=True)
class MonthRow:
    month: dt.date
    value: float | None  # as shown (None when suppressed or not measured)
    suppressed: bool
    trajectory: float | None
    on_track: bool | None


@dataclass(frozen=True)
class KpiReport:
    spec: SchemeKpi
    kpi: Kpi
    baseline_start: dt.date
    baseline_end: dt.date
    baseline: float | None
    target: float | None
    baseline_rows: list[MonthRow]
    year_rows: list[MonthRow]
    spc: SpcResult | None
    forecast: Forecast
    forecast_on_target: bool | None

    @property
    def latest(self) -> MonthRow | None:
        shown = [r for r in self.year_rows if r.value is not None]
        return shown[-1] if shown else None


@dataclass(frozen=True)
class SchemeReport:
    scheme: Scheme
    group_by: str
    group_value: str
    population_note: str | None
    spend_months: list[tuple[dt.date, float | None]]
    spend_to_date: float | None
    spend_forecast: Forecast
    kpis: list[KpiReport]
    no_measures: str | None = None  # why nothing is shown, when the group has no measures
    spend_note: str | None = None  # why no spend is shown, when no month of it is measured

    @property
    def months_spent(self) -> int:
        return sum(1 for _, v in self.spend_months if v is not None)


@dataclass(frozen=True)
class BudgetReport:
    budget: Budget
    source: str
    schemes: list[SchemeReport]
    measured_to: dt.date | None  # the last month of the year with any measure
    partners: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_contributions(self) -> float:
        return sum(p.contribution for p in self.budget.partner)

    @property
    def total_allocated(self) -> float:
        return sum(s.allocation for s in self.budget.scheme)


def group_of(pop: Population) -> tuple[str, str, str | None]:
    """The measures' (group_by, group_value) for a scheme's population, and a note when
    the population is narrower than that group."""
    if pop.area == "board":
        if pop.ccm_level is not None:
            return "ccm_level", str(pop.ccm_level), None
        if pop.segment is not None:
            return "segment", pop.segment, None
        return "all", "all", None
    cohort = (
        f"CCM level {pop.ccm_level}"
        if pop.ccm_level is not None
        else f"segment {pop.segment}"
        if pop.segment is not None
        else None
    )
    note = (
        f"Figures are for the {pop.area_by} as a whole: the measures are grouped by one "
        f"dimension at a time, so {cohort} within it cannot be separated."
        if cohort
        else None
    )
    return pop.area_by, pop.area_value, note


def _frame(
    con: Any, measures: list[str], groups: list[tuple[str, str]], lo: dt.date, hi: dt.date
) -> pd.DataFrame:
    """Monthly rows of the measures for the groups, in [lo, hi], after disclosure control."""
    have = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]
    ).fetchone()
    cols = [
        "measure",
        "group_by",
        "group_value",
        "interval_start",
        "numerator",
        "denominator",
        "value",
        "ci_lower",
        "ci_upper",
    ]
    if not have or not have[0] or not measures or not groups:
        return pd.DataFrame(columns=[*cols, "suppressed"])
    pairs = " OR ".join("(group_by = ? AND group_value = ?)" for _ in groups)
    marks = ", ".join("?" for _ in measures)
    frame = con.execute(
        f"SELECT {', '.join(cols)} FROM {TABLE} WHERE interval = 'month' "
        f"AND measure IN ({marks}) AND ({pairs}) AND interval_start BETWEEN ? AND ? "
        "ORDER BY measure, group_by, group_value, interval_start",
        [*measures, *[x for g in groups for x in g], lo, hi],
    ).df()
    if frame.empty:
        frame["suppressed"] = pd.Series(dtype=bool)
        return frame
    frame["interval_start"] = pd.to_datetime(frame["interval_start"]).dt.date
    return safe_frame(frame, load_catalogue().kpis)


Series = dict[
    dt.date, tuple[float | None, bool, float | None]
]  # month -> (value, suppressed, numerator)


def _series(frame: pd.DataFrame) -> dict[tuple[str, str, str], Series]:
    out: dict[tuple[str, str, str], Series] = {}
    for r in frame.itertuples(index=False):
        key = (str(r.measure), str(r.group_by), str(r.group_value))
        value = None if pd.isna(r.value) else float(r.value)
        num = None if pd.isna(r.numerator) else float(r.numerator)
        out.setdefault(key, {})[r.interval_start] = (value, bool(r.suppressed), num)
    return out


def _on_track(value: float | None, planned: float | None, direction: str) -> bool | None:
    if value is None or planned is None or direction == "neither":
        return None
    return value >= planned - 1e-12 if direction == "higher" else value <= planned + 1e-12


def _rows(
    months: list[dt.date], series: Series, planned: list[float] | None, direction: str
) -> list[MonthRow]:
    rows = []
    for i, m in enumerate(months):
        value, suppressed, _ = series.get(m, (None, False, None))
        p = planned[i] if planned is not None else None
        rows.append(MonthRow(m, value, suppressed, p, _on_track(value, p, direction)))
    return rows


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, m = [], start
    while m <= end:
        out.append(m)
        m = add_months(m, 1)
    return out


def kpi_report(budget: Budget, scheme: Scheme, spec: SchemeKpi, series: Series) -> KpiReport:
    kpi = load_catalogue().kpis[spec.id]
    period = spec.baseline or scheme.baseline
    values = {m: v for m, (v, _, _) in series.items()}
    base = traj.baseline_value(spec, values, period.start, period.end)
    target = traj.target_value(spec, base)
    planned = (
        None
        if spec.monitor_only
        else traj.trajectory(budget.year_start, base, target, spec.trajectory)
    )
    year = budget.months
    base_rows = _rows(_months(period.start, period.end), series, None, kpi.direction)
    year_rows = _rows(year, series, planned, kpi.direction)
    shown = [r for r in (*base_rows, *year_rows) if r.value is not None]
    result = (
        spc(
            [r.month for r in shown],
            [float(r.value) for r in shown if r.value is not None],
            improvement=IMPROVEMENT[kpi.direction],
            target=None if spec.monitor_only else target,
            rebase=(budget.year_start,),
        )
        if shown
        else None
    )
    points = [(i + 1, r.value) for i, r in enumerate(year_rows) if r.value is not None]
    forecast = kpi_year_end([(k, float(v)) for k, v in points if v is not None])
    on_target = _on_track(forecast.value, target, kpi.direction) if not spec.monitor_only else None
    return KpiReport(
        spec,
        kpi,
        period.start,
        period.end,
        base,
        target,
        base_rows,
        year_rows,
        result,
        forecast,
        on_target,
    )


def _spend(parts: list[Series], month: dt.date) -> float | None:
    """The month's spend: the parts' money numerators added (None if any is missing)."""
    total = 0.0
    for p in parts:
        got = p.get(month)
        if got is None or got[1] or got[2] is None:
            return None
        total += got[2]
    return total


def report(con: Any, budget: Budget, source: str) -> BudgetReport:
    """The report of every scheme in ``budget`` from the warehouse connection ``con``."""
    groups = {s.id: group_of(s.population) for s in budget.scheme}
    measures = sorted(
        {
            *(m for s in budget.scheme for m in spend_measures(s)),
            *(k.id for s in budget.scheme for k in s.kpi),
        }
    )
    starts = [budget.year_start] + [
        (k.baseline or s.baseline).start for s in budget.scheme for k in s.kpi
    ]
    frame = _frame(
        con, measures, sorted({(b, v) for b, v, _ in groups.values()}), min(starts), budget.year_end
    )
    by_key = _series(frame)
    year = budget.months
    measured = [m for m in frame["interval_start"] if m in set(year)] if len(frame) else []
    schemes = []
    for s in budget.scheme:
        by, value, note = groups[s.id]
        parts = [by_key.get((m, by, value), {}) for m in spend_measures(s)]
        spend_months = [(m, _spend(parts, m)) for m in year]
        monthly = [v for _, v in spend_months if v is not None]
        kpis = [kpi_report(budget, s, k, by_key.get((k.id, by, value), {})) for k in s.kpi]
        found = any(key[1:] == (by, value) for key in by_key)
        missing = None
        if not found:
            missing = (
                f"No measures for {s.population.words()} between {min(starts):%b %Y} and "
                f"{budget.year_end:%b %Y}"
                + (
                    f": run careweave measures --warehouse W --by {by}."
                    if by != "all"
                    else ": run careweave measures --warehouse W."
                )
            )
        spend_note = None
        if not monthly:
            how = (
                f"careweave finance spend --warehouse W --by {by}"
                if s.spend_settings
                else f"careweave measures --warehouse W --kpi {SPEND}"
                + ("" if by == "all" else f" --by {by}")
            )
            spend_note = f"No spend is measured for {s.population.words()} in the year: run {how}."
        schemes.append(
            SchemeReport(
                scheme=s,
                group_by=by,
                group_value=value,
                population_note=note,
                spend_months=spend_months,
                spend_to_date=sum(monthly) if monthly else None,
                spend_forecast=spend_year_end(monthly),
                kpis=kpis,
                no_measures=missing,
                spend_note=spend_note,
            )
        )
    partners = []
    for p in budget.partner:
        allocated = sum(s.funded_by.get(p.id, 0.0) for s in budget.scheme)
        partners.append(
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "contribution": p.contribution,
                "allocated": allocated,
            }
        )
    return BudgetReport(budget, source, schemes, max(measured) if measured else None, partners)


def _f(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _forecast_json(f: Forecast) -> dict[str, Any]:
    return {
        "value": _f(f.value),
        "lower": _f(f.lower),
        "upper": _f(f.upper),
        "method": f.method,
        "months_used": f.months_used,
        "reason": f.reason,
    }


def to_json(r: BudgetReport) -> dict[str, Any]:
    """The report as ``careweave budgets report --json`` prints it (figures as shown)."""
    b = r.budget
    return {
        "budget": b.name,
        "source": r.source,
        "year": {"start": b.year_start.isoformat(), "end": b.year_end.isoformat()},
        "measured_to": r.measured_to.isoformat() if r.measured_to else None,
        "partners": r.partners,
        "total_contributions": r.total_contributions,
        "total_allocated": r.total_allocated,
        "schemes": [
            {
                "id": s.scheme.id,
                "name": s.scheme.name,
                "population": s.scheme.population.words(),
                "group_by": s.group_by,
                "group_value": s.group_value,
                "population_note": s.population_note,
                "no_measures": s.no_measures,
                "spend_note": s.spend_note,
                "allocation": s.scheme.allocation,
                "funded_by": s.scheme.funded_by,
                "spend_settings": s.scheme.spend_settings or "all",
                "spend_to_date": _f(s.spend_to_date),
                "months_spent": s.months_spent,
                "spend_forecast": _forecast_json(s.spend_forecast),
                "spend_forecast_variance": None
                if s.spend_forecast.value is None
                else _f(s.spend_forecast.value - s.scheme.allocation),
                "kpis": [
                    {
                        "id": k.kpi.name,
                        "title": k.kpi.title,
                        "unit": k.kpi.unit,
                        "direction": k.kpi.direction,
                        "monitor_only": k.spec.monitor_only,
                        "note": k.spec.note,
                        "baseline_period": {
                            "from": k.baseline_start.isoformat(),
                            "to": k.baseline_end.isoformat(),
                        },
                        "baseline": _f(k.baseline),
                        "target": _f(k.target),
                        "months": [
                            {
                                "month": m.month.isoformat()[:7],
                                "value": _f(m.value),
                                "suppressed": m.suppressed,
                                "trajectory": _f(m.trajectory),
                                "on_track": m.on_track,
                            }
                            for m in k.year_rows
                        ],
                        "variation": k.spc.variation if k.spc and k.spc.points else None,
                        "assurance": k.spc.assurance if k.spc else None,
                        "forecast": _forecast_json(k.forecast),
                        "forecast_meets_target": k.forecast_on_target,
                    }
                    for k in s.kpis
                ],
            }
            for s in r.schemes
        ],
    }
