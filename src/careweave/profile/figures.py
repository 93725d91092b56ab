"""The profile's figures: each one from :mod:`careweave.measures` or :mod:`careweave.definitions`.

Nothing here defines activity, a population, an age, a register, a readmission
or a cost: rates, prevalence, readmission, length of stay, bed days, DNAs and
reablement are catalogue KPIs computed by the measures engine
(:func:`careweave.measures.compute.compute`) month by month over the profiled
window and added up; the figures about individual people (demography at the
end, shares of people, concentration) are Ibis over the shared definitions
(registered population, age, emergency spells, bed days, tariff cost). So the
profile runs on every engine the measures run on (DuckDB and Spark).

**The window**: the whole calendar months of the span, cut into years of 12
months counted back from the last one; months before the first whole year are
left out (a span of fewer than 12 whole months is one short year, its rates
annualised by person-time). "A year" figures about people are computed year
by year and averaged; rates are events over person-time of the whole window.
The end date ``E`` is the window's last day. docs/profile.md has every key.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from careweave.dataset.registers import load_registers
from careweave.dataset.tariff import Tariff
from careweave.definitions import costs, spells
from careweave.definitions.dates import in_window, lit
from careweave.definitions.population import PROFILE, age_on, population_interval, registered_at
from careweave.errors import InputError
from careweave.measures.catalogue import select
from careweave.measures.compute import compute
from careweave.measures.context import Months

#: activity_per_1000 key -> the catalogue KPI it is.
ACTIVITIES = {
    "emergency_admissions": "emergency_admissions_per_1000",
    "elective_admissions": "elective_admissions_per_1000",
    "ae_attendances": "ae_attendances_per_1000",
    "outpatient_attendances": "outpatient_attendances_per_1000",
    "primary_care_contacts": "primary_care_contacts_per_1000",
    "community_contacts": "community_contacts_per_1000",
    "mental_health_contacts": "mental_health_contacts_per_1000",
}
#: profile key -> (catalogue KPI, decimal places) for figures over the whole window.
WINDOW_KPIS = {
    "bed_days_per_1000": ("bed_days_per_1000", 3),
    "share_bed_days_65plus_stays_over_10_days": ("share_bed_days_65plus_stays_over_10_days", 6),
    "readmission_30d_rate": ("readmission_30d_rate", 6),
    "reablement_home_91d_rate": ("reablement_home_91d_rate_65plus", 6),
    "outpatient_dna_rate": ("outpatient_dna_rate", 6),
    "emergency_mean_length_of_stay_days": ("mean_length_of_stay_days", 3),
}
BANDS = (*PROFILE.labels, "75+")
#: The bands "75+" adds up.
OVER_75 = ("75-84", "85+")


@dataclass(frozen=True)
class Window:
    """The profiled months and their years."""

    months: Months
    years: int

    @classmethod
    def of_span(cls, start: dt.date, end: dt.date) -> Window:
        m = Months.inside(start, end)
        if m.n == 0:
            raise InputError(f"span {start} to {end} holds no whole calendar month to profile")
        k = m.n // 12
        if k == 0:
            return cls(m, 1)
        first = m.n - 12 * k
        return cls(Months(m.start(first), 12 * k), k)

    @property
    def end(self) -> dt.date:
        return self.months.last_day

    def windows(self) -> list[tuple[dt.date, dt.date]]:
        """Each year as a window (lo, hi]: lo is the day before its first day."""
        size = self.months.n // self.years
        day = dt.timedelta(days=1)
        return [
            (self.months.start(size * i) - day, self.months.end(size * i + size - 1))
            for i in range(self.years)
        ]

    @property
    def whole(self) -> tuple[dt.date, dt.date]:
        return self.months.first - dt.timedelta(days=1), self.end


def profile(engine: Any, start: dt.date, end: dt.date, tariff: Tariff) -> dict[str, Any]:
    """Every profile figure over ``engine``'s canonical tables for the span [start, end]."""
    w = Window.of_span(start, end)
    out: dict[str, Any] = {
        "span": {"start": w.months.first.isoformat(), "end": w.end.isoformat(), "years": w.years}
    }
    people = engine.table("people")
    out["people"] = int(engine.to_arrow(people.count().as_table()).column(0)[0].as_py())
    out.update(_demography(engine, w.end))
    out.update(_from_measures(engine, w, tariff))
    out.update(_people_per_year(engine, w, tariff))
    out.update(_concentration(engine, w))
    return out


# --- from the measures --------------------------------------------------------------------
def _from_measures(engine: Any, w: Window, tariff: Tariff) -> dict[str, Any]:
    prevalence = {r.name: f"prevalence_{r.name}" for r in load_registers()}
    names = [*ACTIVITIES.values(), *(k for k, _ in WINDOW_KPIS.values()), *prevalence.values()]
    kpis = select(names)
    res = compute(
        engine, w.months.first, w.end, kpis, ("age_band",), tariff, intervals=("month",)
    ).results
    sums = res.groupby(["measure", "group_by", "group_value"])[["numerator", "denominator"]].sum()
    by_name = {k.name: k for k in kpis}

    def ratio(kpi: str, group_by: str = "all", values: tuple[str, ...] = ("all",)) -> float:
        num = den = 0.0
        for v in values:
            key = (kpi, group_by, v)
            if key in sums.index:
                num += float(sums.at[key, "numerator"])
                den += float(sums.at[key, "denominator"])
        return by_name[kpi].per * num / den if den > 0 else 0.0

    out: dict[str, Any] = {}
    rates: dict[str, float] = {}
    by_age: dict[str, dict[str, float]] = {}
    for name, kpi in ACTIVITIES.items():
        rates[name] = round(ratio(kpi), 3)
        by_age[name] = {
            b: round(ratio(kpi, "age_band", OVER_75 if b == "75+" else (b,)), 3) for b in BANDS
        }
    out["emergency_admissions_per_1000"] = rates["emergency_admissions"]
    out["emergency_admissions_per_1000_by_age"] = by_age["emergency_admissions"]
    out["activity_per_1000"] = rates
    out["activity_per_1000_by_age"] = by_age
    for key, (kpi, digits) in WINDOW_KPIS.items():
        out[key] = round(ratio(kpi), digits)
    last = res[(res["group_by"] == "all") & (res["interval_end"] == pd.Timestamp(w.end))]
    at_end = last.set_index("measure")
    out["prevalence"] = {}
    for reg, kpi in prevalence.items():
        den = float(at_end.at[kpi, "denominator"]) if kpi in at_end.index else 0.0
        num = float(at_end.at[kpi, "numerator"]) if den > 0 else 0.0
        out["prevalence"][reg] = round(num / den, 6) if den > 0 else 0.0
    return out


# --- from the definitions: people at the end, shares of people, concentration -------------
def _demography(engine: Any, end: dt.date) -> dict[str, Any]:
    """The registered population at ``end``, by age band (age at ``end``), sex and decile."""
    p = registered_at(engine.table("people"), end)
    t = p.select(
        band=PROFILE.expr(age_on(p, end)),
        sex=p.sex.cast("string"),
        decile=p.deprivation_decile.cast("int64").cast("string").fill_null("unknown"),
    )
    g = engine.to_arrow(t.group_by(["band", "sex", "decile"]).aggregate(n=t.count())).to_pandas()
    bands = g.groupby("band")["n"].sum()
    sexes = g.groupby("sex")["n"].sum()
    deciles = g.groupby("decile")["n"].sum()
    order = [str(i) for i in range(1, 11)] + ["unknown"]
    return {
        "population_at_span_end": int(g["n"].sum()),
        "people_by_age_band": {b: int(bands.get(b, 0)) for b in PROFILE.labels},
        "people_by_sex": {str(k): int(sexes[k]) for k in sorted(sexes.index)},
        "people_by_deprivation_decile": {d: int(deciles[d]) for d in order if d in deciles.index},
    }


def _population(engine: Any, lo: dt.date, hi: dt.date) -> Any:
    """nhs_number, died (0/1) of the people in the registered population on at least one day
    of (lo, hi], the day of death or leaving included (as the measures count events)."""
    p = population_interval(engine.table("people"))
    p = p.filter(p.pop_from < p.pop_to, p.pop_from <= lit(hi), p.pop_to > lit(lo))
    died = in_window(p.date_of_death, lo, hi) & (p.date_of_death == p.pop_to)
    return p.select(
        nhs_number=p.nhs_number.cast("string"), died=died.fill_null(False).cast("int64")
    )


def _emergency_counts(engine: Any, lo: dt.date, hi: dt.date) -> Any:
    s = engine.table("hospital_spells")
    s = spells.emergency(s.filter(in_window(s.admission_date, lo, hi)))
    return s.group_by(key=s.nhs_number.cast("string")).aggregate(em_n=s.count().cast("int64"))


def _people_per_year(engine: Any, w: Window, tariff: Tariff) -> dict[str, Any]:
    parts = []
    for year, (lo, hi) in enumerate(w.windows()):
        pop = _population(engine, lo, hi)
        em = _emergency_counts(engine, lo, hi)
        spend = costs.spend(engine, tariff, lo, hi)
        spend = spend.select(key2=spend.nhs_number, spend=spend.spend)
        j = pop.left_join(em, pop.nhs_number == em.key).left_join(
            spend, pop.nhs_number == spend.key2
        )
        parts.append(
            j.select(
                year=ibis.literal(year, "int64"),
                died=j.died,
                em_n=j.em_n.fill_null(0),
                spend=j.spend.fill_null(0.0),
            )
        )
    rows = engine.to_arrow(ibis.union(*parts, distinct=False)).to_pandas()
    shares, deaths, top1, top20, per_person = [], [], [], [], []
    for year in range(w.years):
        r = rows[rows["year"] == year]
        n = len(r)
        if n == 0:
            continue
        shares.append(float((r["em_n"] > 0).sum()) / n)
        deaths.append(float(r["died"].sum()) / n)
        cost = r["spend"].to_numpy(dtype=np.float64)
        top1.append(_top_share(cost, 0.01))
        top20.append(_top_share(cost, 0.20))
        per_person.append(math.fsum(cost) / n)
    return {
        "share_people_with_emergency_admission": _mean(shares),
        "death_rate": _mean(deaths),
        "top1pct_share_of_cost": _mean(top1),
        "top20pct_share_of_cost": _mean(top20),
        "cost_per_person": round(_mean(per_person, 6), 2),
    }


def _concentration(engine: Any, w: Window) -> dict[str, Any]:
    """Shares of emergency admissions and bed days held by the top 5% over the whole window."""
    lo, hi = w.whole
    pop = _population(engine, lo, hi)
    em = _emergency_counts(engine, lo, hi)
    s = engine.table("hospital_spells")
    s = s.filter(in_window(s.admission_date, lo, hi))
    s = s.mutate(beds=spells.bed_days(s, hi))
    beds = s.group_by(key2=s.nhs_number.cast("string")).aggregate(beds=s.beds.sum().cast("int64"))
    j = pop.left_join(em, pop.nhs_number == em.key).left_join(beds, pop.nhs_number == beds.key2)
    rows = engine.to_arrow(j.select(em_n=j.em_n.fill_null(0), beds=j.beds.fill_null(0))).to_pandas()
    return {
        "top5pct_share_of_emergency_admissions": round(
            _top_share(rows["em_n"].to_numpy(dtype=np.float64), 0.05), 6
        ),
        "top5pct_share_of_bed_days": round(
            _top_share(rows["beds"].to_numpy(dtype=np.float64), 0.05), 6
        ),
    }


def _top_share(values: np.ndarray, fraction: float) -> float:
    """Share of the total held by the ``fraction`` (rounded up) of people with the most."""
    total = math.fsum(values)  # exact, so the order rows arrive in cannot change it
    if total <= 0 or len(values) == 0:
        return 0.0
    k = math.ceil(fraction * len(values))
    return math.fsum(np.sort(values)[::-1][:k]) / total


def _mean(values: list[float], digits: int = 6) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return round(sum(vals) / len(vals), digits) if vals else 0.0
