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
- **Caching**: results (and the pages' charts made from them) are kept per
  warehouse file *version* (its path, modification time and size) and question,
  for as long as that version stands: the persisted measures change only when
  ``careweave measures`` rewrites the file, which changes the key and drops
  every older entry. A hit opens no connection. The cache holds at most
  :data:`MAX_ENTRIES` answers (then it starts again), so arbitrary periods
  cannot grow it without bound. Each answer is computed by one thread at a
  time (:class:`careweave.web.cache.TtlCache`).
- **Names**: practices and localities are named from the warehouse's
  ``organisations`` (the store's names win where both know one).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from careweave.measures.catalogue import Kpi, load_catalogue
from careweave.measures.disclosure import safe_frame
from careweave.measures.results import TABLE
from careweave.stats import FunnelResult, SpcResult, funnel, spc
from careweave.stats.spc import Improvement
from careweave.web.cache import TtlCache

T = TypeVar("T")

IMPROVEMENT: dict[str, Improvement] = {
    "higher": "increase",
    "lower": "decrease",
    "neither": "neutral",
}
GROUPS = ("locality", "practice")
#: Units the benchmarking page compares (clusters too: they are measured).
BENCH_GROUPS = ("practice", "cluster", "locality")
MAX_ENTRIES = 4096
#: Kept page content (``Fragment`` bytes) before the cache is emptied: a 60-month
#: dashboard is about a megabyte, so 4,096 arbitrary date ranges could otherwise
#: hold gigabytes in every worker.
MAX_BYTES = 256 * 1024 * 1024
_CACHE = TtlCache(math.inf)
_VERSIONS: dict[str, tuple[int, int]] = {}
_KEPT = [0]  # bytes of kept content in _CACHE (approximate under threads: a bound, not a ledger)


def kept_bytes(value: Any) -> int:
    """The bytes of page content ``value`` keeps: a fragment's or bytes' length, summed
    over tuples and lists; 0 for anything else (small query results)."""
    data = getattr(value, "data", value)
    if isinstance(data, bytes | bytearray):
        return len(data)
    if isinstance(value, tuple | list):
        return sum(kept_bytes(v) for v in value)
    return 0


def version(path: Path | None) -> tuple[int, int] | None:
    """The warehouse file's version (modification time, size), None when there is none."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def cached(path: Any, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """``make()`` kept while the warehouse file at ``path`` is unchanged, per ``key``."""
    stamp = version(Path(path))
    if stamp is None:
        return make()
    name = str(path)
    if _VERSIONS.get(name, stamp) != stamp or len(_CACHE) >= MAX_ENTRIES or _KEPT[0] > MAX_BYTES:
        _CACHE.clear()
        _KEPT[0] = 0
    _VERSIONS[name] = stamp

    def sized() -> T:
        value = make()
        _KEPT[0] += kept_bytes(value)
        return value

    return _CACHE.get((name, stamp, *key), sized)


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


def group_values(con: Any, groups: tuple[str, ...] = GROUPS) -> dict[str, list[str]]:
    """The units measured (their codes) of each dimension in ``groups``."""
    marks = ", ".join("?" for _ in groups)
    rows = con.execute(
        f"SELECT DISTINCT group_by, group_value FROM {TABLE} "
        f"WHERE group_by IN ({marks}) ORDER BY 1, 2",
        list(groups),
    ).fetchall()
    out: dict[str, list[str]] = {g: [] for g in groups}
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
    # One pass over plain arrays, split by measure (the frame is ordered by measure,
    # then month): no per-KPI boolean indexing of the frame.
    measure = safe["measure"].to_numpy()
    month = pd.to_datetime(safe["interval_start"]).dt.date.to_numpy()
    cols = [safe[c].to_numpy(dtype=float) for c in ("numerator", "denominator", "value")]
    hidden = safe["suppressed"].to_numpy(dtype=bool)
    by_measure: dict[str, list[SeriesRow]] = {}
    for m, d, num, den, val, sup in zip(measure, month, *cols, hidden, strict=True):
        by_measure.setdefault(str(m), []).append(
            SeriesRow(
                month=d,
                numerator=None if num != num else float(num),
                denominator=None if den != den else float(den),
                value=None if val != val else float(val),
                suppressed=bool(sup),
            )
        )
    out: list[KpiChart] = []
    for name, kpi in cat.items():
        rows = by_measure.get(name)
        if not rows:
            continue
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
    requested: str = "none"  # the over-dispersion asked for (see OVERDISPERSION)


#: The funnel page's choices of limits: exact, or Spiegelhalter's over-dispersion
#: adjustment (FunnelPlotR's default is the additive random-effects one).
OVERDISPERSION = ("none", "additive", "multiplicative")


def funnel_of(con: Any, kpi: Kpi, group_by: str, overdispersion: str = "none") -> Funnel | None:
    """The KPI across practices or localities over the latest rolling 12 months.

    ``overdispersion`` is ``none`` (exact limits) or the adjustment's method; when
    the units show no over-dispersion (phi at most 1) the exact limits are kept.
    """
    return funnels(con, [kpi], group_by, overdispersion=overdispersion).get(kpi.name)


def funnels(
    con: Any,
    kpis: list[Kpi],
    group_by: str,
    *,
    until: dt.date | None = None,
    overdispersion: str = "none",
) -> dict[str, Funnel]:
    """:func:`funnel_of` for several KPIs in one query: each KPI over its latest rolling
    12 months ending on or before ``until`` (any, when None)."""
    safe = latest_rolling(con, [k.name for k in kpis], group_by, until)
    if safe.empty:
        return {}
    out: dict[str, Funnel] = {}
    for kpi in kpis:
        part = safe[safe["measure"] == kpi.name]
        if part.empty:
            continue
        out[kpi.name] = _funnel(kpi, group_by, part, overdispersion)
    return out


def latest_rolling(
    con: Any, measures: list[str], group_by: str, until: dt.date | None = None
) -> pd.DataFrame:
    """Each measure's rows for every unit of ``group_by`` over its latest rolling 12
    months ending on or before ``until``, after disclosure control (one query)."""
    if not measures:
        return pd.DataFrame()
    marks = ", ".join("?" for _ in measures)
    frame = con.execute(
        f"WITH latest AS (SELECT measure, max(interval_end) AS e FROM {TABLE} "
        f"WHERE interval = 'rolling_12_months' AND group_by = ? AND measure IN ({marks}) "
        "AND interval_end <= ? GROUP BY measure) "
        "SELECT t.measure, t.group_value, t.interval_start, t.interval_end, t.numerator, "
        f"t.denominator, t.value, t.ci_lower, t.ci_upper FROM {TABLE} t JOIN latest l "
        "ON t.measure = l.measure AND t.interval_end = l.e "
        "WHERE t.interval = 'rolling_12_months' AND t.group_by = ? "
        "AND t.group_value <> 'unknown' ORDER BY t.measure, t.group_value",
        [group_by, *measures, until or dt.date.max, group_by],
    ).df()
    if frame.empty:
        return frame
    return _safe(frame)


def _funnel(kpi: Kpi, group_by: str, safe: pd.DataFrame, overdispersion: str) -> Funnel:
    ok = safe[~safe["suppressed"] & (safe["denominator"] > 0) & safe["numerator"].notna()]
    suppressed = [str(u) for u in safe.loc[~safe.index.isin(ok.index), "group_value"]]
    result = (
        funnel(
            [str(u) for u in ok["group_value"]],
            [float(x) for x in ok["numerator"]],
            [float(x) for x in ok["denominator"]],
            kind="proportion" if kpi.kind == "proportion" else "rate",
            multiplier=kpi.per if kpi.kind == "rate" else 1.0,
            overdispersion=overdispersion != "none",
            method="multiplicative" if overdispersion == "multiplicative" else "additive",
        )
        if len(ok)
        else None
    )
    return Funnel(
        kpi=kpi,
        group_by=group_by,
        start=pd.Timestamp(safe["interval_start"].iloc[0]).date(),
        end=pd.Timestamp(safe["interval_end"].iloc[0]).date(),
        result=result,
        suppressed=suppressed,
        requested=overdispersion,
    )


@dataclass(frozen=True)
class Provenance:
    """Where a page's or report's figures come from."""

    computed_at: dt.datetime | None
    definition_version: str
    engine: str


def provenance(con: Any) -> Provenance:
    """When and how ``population_measures`` was computed (latest run)."""
    row = con.execute(
        f"SELECT max(computed_at), max(definition_version), max(engine) FROM {TABLE}"
    ).fetchone()
    when = pd.Timestamp(row[0]).to_pydatetime() if row and row[0] is not None else None
    return Provenance(when, str(row[1] or "unknown"), str(row[2] or "unknown"))
