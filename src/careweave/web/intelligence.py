"""Commissioner intelligence for the pages: KPI series as SPC charts, KPIs across units as funnels.

Everything is read from the persisted ``population_measures`` table (written by
``careweave measures``), never from the raw activity tables, and every figure
passes :func:`careweave.measures.disclosure.safe_frame` before any statistic is
worked out, so nothing on a page (values, limits, positions) rests on a
suppressed count.

Decisions recorded here:

- **SPC series** are the monthly values of one group (``all`` for the whole
  board, or a locality or practice) run through :func:`careweave.stats.spc` with
  the KPI's improvement direction (catalogue ``higher`` -> ``increase``,
  ``lower`` -> ``decrease``, ``neither`` -> ``neutral``). A month whose count is
  suppressed is left out of the series (and said to be, in its table); the
  assurance icon is worked out against the catalogue's ``reference`` value
  where it has one (named on the page with its source), else there is none.
- **Funnels** use the latest rolling 12 months of each practice or locality
  (the shown, rounded numerators and denominators). Only proportions and
  crude rates of counts can be funnelled; a unit whose count is suppressed is
  not plotted and is listed as suppressed.
- **Caching**: results are kept for a minute per warehouse file (its path and
  modification time) and question, so 20 commissioners opening the dashboard
  do not each re-read the measures; a new ``careweave measures`` run changes
  the file and so the key.
- **Names**: practices and localities are named from the warehouse's
  ``organisations`` (the store's names win where both know one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from careweave.measures.catalogue import Kpi, load_catalogue
from careweave.measures.disclosure import safe_frame
from careweave.measures.results import TABLE
from careweave.stats import FunnelResult, SpcResult, funnel, spc
from careweave.stats.spc import Improvement
from careweave.web.cache import TtlCache

IMPROVEMENT: dict[str, Improvement] = {
    "higher": "increase",
    "lower": "decrease",
    "neither": "neutral",
}
GROUPS = ("locality", "practice")
_CACHE = TtlCache(60.0)


def cached(path: Any, key: tuple[Any, ...], make: Any) -> Any:
    """``make()`` kept for a minute per warehouse file version and ``key``."""
    import os

    stamp = os.stat(path).st_mtime_ns
    return _CACHE.get((str(path), stamp, *key), make)


def org_names(con: Any) -> dict[str, str]:
    """Organisation names from the warehouse (empty when it has no ``organisations``)."""
    have = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'organisations'"
    ).fetchone()
    if not have or not have[0]:
        return {}
    return {
        str(k): str(v) for k, v in con.execute("SELECT org_id, name FROM organisations").fetchall()
    }


def has_measures(con: Any) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]
    ).fetchone()
    return bool(row and row[0])


def months(con: Any) -> list[dt.date]:
    """The first days of the months the whole board has measures for, oldest first."""
    rows = con.execute(
        f"SELECT DISTINCT interval_start FROM {TABLE} WHERE interval = 'month' "
        "AND group_by = 'all' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def group_values(con: Any) -> dict[str, list[str]]:
    """The localities and practices measured (their codes), by dimension."""
    rows = con.execute(
        f"SELECT DISTINCT group_by, group_value FROM {TABLE} "
        "WHERE group_by IN ('locality', 'practice') ORDER BY 1, 2"
    ).fetchall()
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for by, value in rows:
        if value != "unknown":
            out[by].append(str(value))
    return out


@dataclass(frozen=True)
class SeriesRow:
    month: dt.date
    numerator: float | None
    denominator: float | None
    value: float | None
    suppressed: bool


@dataclass(frozen=True)
class KpiChart:
    kpi: Kpi
    rows: list[SeriesRow]  # every month, as shown (suppressed ones without a value)
    result: SpcResult | None  # None when no month can be shown
    target: float | None


def _safe(frame: pd.DataFrame) -> pd.DataFrame:
    return safe_frame(frame, load_catalogue().kpis)


def dashboard(
    con: Any, group_by: str, group_value: str, start: dt.date, end: dt.date
) -> list[KpiChart]:
    """Every catalogue KPI with data for the group: its monthly series as shown, and SPC."""
    frame = con.execute(
        f"SELECT measure, interval_start, numerator, denominator, value, ci_lower, ci_upper "
        f"FROM {TABLE} WHERE interval = 'month' AND group_by = ? AND group_value = ? "
        "AND interval_start BETWEEN ? AND ? ORDER BY measure, interval_start",
        [group_by, group_value, start, end],
    ).df()
    cat = load_catalogue().kpis
    frame = frame[frame["measure"].isin(list(cat))]
    safe = _safe(frame)
    out: list[KpiChart] = []
    for name, kpi in cat.items():
        part = safe[safe["measure"] == name]
        if part.empty:
            continue
        rows = [
            SeriesRow(
                month=pd.Timestamp(r.interval_start).date(),
                numerator=None if pd.isna(r.numerator) else float(r.numerator),
                denominator=None if pd.isna(r.denominator) else float(r.denominator),
                value=None if pd.isna(r.value) else float(r.value),
                suppressed=bool(r.suppressed),
            )
            for r in part.itertuples()
        ]
        shown = [r for r in rows if r.value is not None]
        result = (
            spc(
                [r.month for r in shown],
                [float(r.value) for r in shown if r.value is not None],
                improvement=IMPROVEMENT[kpi.direction],
                target=kpi.reference,
            )
            if shown
            else None
        )
        out.append(KpiChart(kpi, rows, result, kpi.reference))
    return out


def funnel_kpis() -> list[Kpi]:
    """KPIs a funnel plot can show: proportions and crude rates of counts."""
    return [
        k
        for k in load_catalogue().kpis.values()
        if k.kind in ("proportion", "rate")
        and not k.standardise
        and k.numerator_scale == 1.0
        and k.numerator[0].is_count
    ]


@dataclass(frozen=True)
class Funnel:
    kpi: Kpi
    group_by: str
    start: dt.date
    end: dt.date
    result: FunnelResult | None
    suppressed: list[str]  # units whose count is suppressed (not plotted)


def funnel_of(con: Any, kpi: Kpi, group_by: str) -> Funnel | None:
    """The KPI across practices or localities over the latest rolling 12 months."""
    latest = con.execute(
        f"SELECT max(interval_end) FROM {TABLE} WHERE interval = 'rolling_12_months' "
        "AND measure = ? AND group_by = ?",
        [kpi.name, group_by],
    ).fetchone()
    if latest is None or latest[0] is None:
        return None
    frame = con.execute(
        f"SELECT measure, group_value, interval_start, interval_end, numerator, denominator, "
        f"value, ci_lower, ci_upper FROM {TABLE} WHERE interval = 'rolling_12_months' "
        "AND measure = ? AND group_by = ? AND interval_end = ? AND group_value <> 'unknown' "
        "ORDER BY group_value",
        [kpi.name, group_by, latest[0]],
    ).df()
    if frame.empty:
        return None
    safe = _safe(frame)
    ok = safe[~safe["suppressed"] & (safe["denominator"] > 0) & safe["numerator"].notna()]
    suppressed = [str(u) for u in safe.loc[~safe.index.isin(ok.index), "group_value"]]
    result = (
        funnel(
            [str(u) for u in ok["group_value"]],
            [float(x) for x in ok["numerator"]],
            [float(x) for x in ok["denominator"]],
            kind="proportion" if kpi.kind == "proportion" else "rate",
            multiplier=kpi.per if kpi.kind == "rate" else 1.0,
        )
        if len(ok)
        else None
    )
    return Funnel(
        kpi=kpi,
        group_by=group_by,
        start=pd.Timestamp(frame["interval_start"].iloc[0]).date(),
        end=pd.Timestamp(frame["interval_end"].iloc[0]).date(),
        result=result,
        suppressed=suppressed,
    )
