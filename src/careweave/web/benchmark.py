"""Benchmarking: every KPI of each practice, cluster or locality against the board's
median and quartiles and against its peers of similar age and deprivation profile.

Decisions recorded here (issue 14 item 3, seed 001's exhibits):

- **Values** are each unit's latest rolling 12 months from ``population_measures``
  after disclosure control (:func:`careweave.web.intelligence.latest_rolling`), the
  same figures as the funnel plots. A unit whose count is suppressed takes no part
  in the median or quartiles and is listed as not shown. Counts (``kind = count``)
  are not benchmarked: they follow a unit's size, not its performance.
- **Median and quartiles** are of the shown values of every unit of the same kind
  (all practices, all clusters or all localities), unweighted, with numpy's
  default linear interpolation (R's type 7, what Excel's QUARTILE.INC gives).
- **Quarter**: a value above the upper quartile is in the highest quarter, below
  the lower quartile the lowest, else above or below (or at) the median; whether
  that is better or worse follows the KPI's improvement direction.
- **Peers** are the ``k`` units of the same kind nearest in age and deprivation
  profile: each unit's share of its registered living people aged 65 and over and
  their mean deprivation decile (1 most deprived), each standardised over the
  units (z-scores), Euclidean distance, ties by code; ``k`` = min(10, units - 1),
  as Commissioning for Value's "10 most similar". The profile is the one figure
  read from the warehouse's ``people`` table rather than the measures (the measures
  are not cross-tabulated by area, age and deprivation); it is an aggregate per
  unit, kept per warehouse version like every answer on these pages, and units of
  fewer than 8 people have no profile (and no peers).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from careweave.measures.catalogue import Kpi, load_catalogue
from careweave.measures.disclosure import THRESHOLD
from careweave.web import intelligence as intel

PEERS = 10


@dataclass(frozen=True)
class Profile:
    unit: str
    share_65: float  # share of registered living people aged 65+
    mean_decile: float  # mean deprivation decile (1 = most deprived)


@dataclass(frozen=True)
class UnitValue:
    unit: str
    value: float
    numerator: float
    denominator: float


@dataclass(frozen=True)
class Bench:
    kpi: Kpi
    by: str
    start: dt.date
    end: dt.date
    units: list[UnitValue]  # shown values, highest first
    suppressed: list[str]
    median: float | None
    q1: float | None
    q3: float | None

    def rank(self, unit: str) -> int | None:
        """1 for the highest value."""
        return next((i + 1 for i, u in enumerate(self.units) if u.unit == unit), None)

    def value_of(self, unit: str) -> UnitValue | None:
        return next((u for u in self.units if u.unit == unit), None)


def benchmark_kpis() -> list[Kpi]:
    """The KPIs benchmarked: every one but counts."""
    return [k for k in load_catalogue().kpis.values() if k.kind != "count"]


def benches(con: Any, by: str, until: dt.date | None = None) -> dict[str, Bench]:
    """Every benchmarked KPI across the units of ``by`` (one query)."""
    kpis = benchmark_kpis()
    safe = intel.latest_rolling(con, [k.name for k in kpis], by, until)
    out: dict[str, Bench] = {}
    if safe.empty:
        return out
    for kpi in kpis:
        part = safe[safe["measure"] == kpi.name]
        if part.empty:
            continue
        shown = part[~part["suppressed"] & part["value"].notna()]
        units = sorted(
            (
                UnitValue(
                    str(r.group_value), float(r.value), float(r.numerator), float(r.denominator)
                )
                for r in shown.itertuples()
            ),
            key=lambda u: (-u.value, u.unit),
        )
        values = np.array([u.value for u in units])
        q1, med, q3 = (
            (float(x) for x in np.percentile(values, [25, 50, 75])) if len(values) else (None,) * 3
        )
        out[kpi.name] = Bench(
            kpi=kpi,
            by=by,
            start=part["interval_start"].iloc[0].date(),
            end=part["interval_end"].iloc[0].date(),
            units=units,
            suppressed=[str(u) for u in part.loc[part["suppressed"], "group_value"]],
            median=med,
            q1=q1,
            q3=q3,
        )
    return out


def _has(con: Any, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()
    return bool(row and row[0])


def profiles(con: Any, by: str, today: dt.date) -> dict[str, Profile]:
    """Each unit's age and deprivation profile from the registered living people."""
    if not _has(con, "people"):
        return {}
    unit = "p.practice_id"
    join = ""
    if by in ("cluster", "locality"):
        if not _has(con, "organisations"):
            return {}
        join = "LEFT JOIN organisations c ON c.org_id = p.practice_id "
        unit = "c.parent_id"
        if by == "locality":
            join += "LEFT JOIN organisations l ON l.org_id = c.parent_id "
            unit = "l.parent_id"
    rows = con.execute(
        f"SELECT {unit} AS unit, count(*) AS n, "
        "avg(CASE WHEN date_diff('year', p.date_of_birth, ?) >= 65 THEN 1.0 ELSE 0.0 END), "
        "avg(p.deprivation_decile) "
        f"FROM people p {join}"
        "WHERE p.date_of_death IS NULL AND p.registered_to IS NULL AND p.date_of_birth IS NOT NULL "
        "GROUP BY 1",
        [today],
    ).fetchall()
    return {
        str(u): Profile(str(u), float(share), float(decile))
        for u, n, share, decile in rows
        if u is not None and n >= THRESHOLD and decile is not None
    }


def peers(profiles: dict[str, Profile], unit: str, k: int = PEERS) -> list[str]:
    """The ``k`` units nearest ``unit`` in standardised age and deprivation profile."""
    if unit not in profiles or len(profiles) < 2:
        return []
    names = sorted(profiles)
    x = np.array([[profiles[n].share_65, profiles[n].mean_decile] for n in names])
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    me = z[names.index(unit)]
    dist = np.sqrt(((z - me) ** 2).sum(axis=1))
    order = sorted((float(d), n) for d, n in zip(dist, names, strict=True) if n != unit)
    return [n for _, n in order[: min(k, len(names) - 1)]]


def quarter(bench: Bench, value: float) -> str:
    """Where a value falls: highest / lowest quarter, above / below / at the median."""
    assert bench.median is not None and bench.q1 is not None and bench.q3 is not None
    if value > bench.q3:
        return "highest quarter"
    if value < bench.q1:
        return "lowest quarter"
    if math.isclose(value, bench.median, rel_tol=1e-9, abs_tol=1e-12):
        return "at the median"
    return "above the median" if value > bench.median else "below the median"


def verdict(bench: Bench, value: float) -> str:
    """Better or worse than the board median, by the KPI's improvement direction."""
    assert bench.median is not None
    if bench.kpi.direction == "neither" or math.isclose(value, bench.median, rel_tol=1e-9):
        return "–"
    better = value > bench.median if bench.kpi.direction == "higher" else value < bench.median
    return "better than the median" if better else "worse than the median"


@dataclass(frozen=True)
class ProfileRow:
    """One KPI of one unit against the board and its peers."""

    bench: Bench
    value: UnitValue | None
    suppressed: bool
    rank: int | None
    quarter: str | None
    verdict: str | None
    peer_median: float | None
    peers_shown: int


def peer_median(bench: Bench, peer_units: list[str]) -> float | None:
    """The median of the shown values of ``peer_units`` (None when none is shown)."""
    values = [v.value for p in peer_units if (v := bench.value_of(p)) is not None]
    return float(np.median(values)) if values else None


def unit_profile(
    all_benches: dict[str, Bench], unit: str, peer_units: list[str]
) -> list[ProfileRow]:
    """Every benchmarked KPI of ``unit``: value, rank, quarter, verdict and peer median."""
    rows = []
    for bench in all_benches.values():
        mine = bench.value_of(unit)
        peer_values = [v.value for p in peer_units if (v := bench.value_of(p)) is not None]
        rows.append(
            ProfileRow(
                bench=bench,
                value=mine,
                suppressed=unit in bench.suppressed,
                rank=bench.rank(unit),
                quarter=quarter(bench, mine.value) if mine and bench.median is not None else None,
                verdict=verdict(bench, mine.value) if mine and bench.median is not None else None,
                peer_median=peer_median(bench, peer_units),
                peers_shown=len(peer_values),
            )
        )
    return rows
