"""Population segmentation: age band x hierarchical need, with spend from the tariff.

Age bands: children (0-17), adults (18-69), 70+.

Need is the FIRST of these that applies (highest need first), in the spirit of
the Bridges to Health segments (Lynn et al., Milbank Q 2007) and seed 001's
"mostly healthy / chronic conditions / severe and complex" split:

1. end of life            - on the palliative care register
2. dementia               - dementia register
3. frail                  - eFI moderate or severe (aged 65+), or lives in a care home
4. cancer                 - cancer register
5. serious mental illness - SMI register
6. learning disability    - learning disability register
7. physical disability    - hemiplegia, paraplegia, cerebral palsy, multiple sclerosis
8. 2+ long-term conditions
9. one long-term condition
10. mostly healthy

Spend per person is the cost of their activity in the 12 months to the as-of
date: a row's own ``cost`` where it has one, else the tariff
(careweave.dataset.tariff; overridable with ``--tariff FILE``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import pandas as pd

from careweave.dataset.tariff import Tariff

AGE_BANDS = ("children", "adults", "70+")
NEEDS = (
    "end of life",
    "dementia",
    "frail",
    "cancer",
    "serious mental illness",
    "learning disability",
    "physical disability",
    "2+ long-term conditions",
    "one long-term condition",
    "mostly healthy",
)
SPEND_DAYS = 365


def _age_band_index(age: Any) -> Any:
    a = np.asarray(age)
    return np.where(a < 18, 0, np.where(a < 70, 1, 2))


def age_band(age: Any) -> Any:
    return np.asarray(AGE_BANDS)[_age_band_index(age)]


def _need_index(frame: pd.DataFrame, frailty_category: Any) -> Any:
    """Index into NEEDS of each person's need: the first that applies."""
    frail = np.isin(np.asarray(frailty_category), ["moderate", "severe"]) | (
        frame["care_home"].to_numpy() > 0
    )
    conditions = [
        frame["reg_palliative_care"].to_numpy() > 0,
        frame["reg_dementia"].to_numpy() > 0,
        frail,
        frame["reg_cancer"].to_numpy() > 0,
        frame["reg_smi"].to_numpy() > 0,
        frame["reg_learning_disability"].to_numpy() > 0,
        frame["reg_physical_disability"].to_numpy() > 0,
        frame["ltc_count"].to_numpy() >= 2,
        frame["ltc_count"].to_numpy() == 1,
    ]
    return np.select(conditions, list(range(len(NEEDS) - 1)), default=len(NEEDS) - 1)


def need(frame: pd.DataFrame, frailty_category: Any) -> Any:
    return np.asarray(NEEDS)[_need_index(frame, frailty_category)]


def segment(frame: pd.DataFrame, frailty_category: Any) -> Any:
    """'<age band> / <need>' for each person (an object array of str)."""
    # Build each of the 30 '<band> / <need>' strings once, then pick them by index.
    names = np.array([f"{b} / {n}" for b in AGE_BANDS for n in NEEDS], dtype=object)
    idx = _age_band_index(frame["age"].to_numpy()) * len(NEEDS)
    return names[idx + _need_index(frame, frailty_category)]


def _d(day: dt.date) -> Any:
    return ibis.literal(day, type="date")


def spend(engine: Any, as_of: dt.date, tariff: Tariff) -> Any:
    """Ibis: nhs_number, spend_12m (pounds) over activity in (D - 365, D]."""
    lo, hi = _d(as_of - dt.timedelta(days=SPEND_DAYS)), _d(as_of)
    h, pc, cm, mh, sc = (
        tariff[k] for k in ("hospital", "primary_care", "community", "mental_health", "social_care")
    )
    parts = []

    s = engine.table("hospital_spells")
    s = s.filter(s.admission_date > lo, s.admission_date <= hi)
    days = ibis.least(s.discharge_date.fill_null(hi), hi).delta(s.admission_date, unit="day")
    excess = ibis.greatest(days - int(h["emergency_trim_days"]), 0) * h["excess_bed_day"]
    spell_cost = ibis.cases(
        (s.admission_method == "emergency", h["emergency_spell"] + excess),
        (s.admission_method == "elective", h["elective_spell"]),
        (s.admission_method == "maternity", h["maternity_spell"]),
        else_=h["other_spell"],
    )
    parts.append(s.select("nhs_number", cost=s.cost.fill_null(spell_cost).cast("float64")))

    a = engine.table("ae_attendances")
    a = a.filter(a.attendance_date > lo, a.attendance_date <= hi)
    parts.append(a.select("nhs_number", cost=a.cost.fill_null(h["ae_attendance"]).cast("float64")))

    o = engine.table("outpatient_appointments")
    o = o.filter(o.appointment_date > lo, o.appointment_date <= hi)
    oc = ibis.cases(
        (o.outcome == "attended", h["outpatient_attendance"]),
        (o.outcome == "did_not_attend", h["outpatient_did_not_attend"]),
        else_=0.0,
    )
    parts.append(o.select("nhs_number", cost=o.cost.fill_null(oc).cast("float64")))

    g = engine.table("primary_care_contacts")
    g = g.filter(g.contact_date > lo, g.contact_date <= hi)
    gc = ibis.cases(
        (g.staff_role == "gp", pc["gp_consultation"]),
        (g.staff_role == "nurse", pc["nurse_consultation"]),
        (g.staff_role == "pharmacist", pc["pharmacist_consultation"]),
        else_=pc["other_consultation"],
    ) + ibis.ifelse(g["mode"] == "home_visit", pc["home_visit_uplift"], 0.0)
    parts.append(g.select("nhs_number", cost=g.cost.fill_null(gc).cast("float64")))

    m = engine.table("medications")
    m = m.filter(m.issue_date > lo, m.issue_date <= hi)
    parts.append(m.select("nhs_number", cost=ibis.literal(pc["medication_item"], "float64")))

    for table, prices in (("community_contacts", cm), ("mental_health_contacts", mh)):
        c = engine.table(table)
        c = c.filter(c.contact_date > lo, c.contact_date <= hi)
        cc = ibis.cases(*[(c.service == k, v) for k, v in prices.items()], else_=prices["other"])
        parts.append(c.select("nhs_number", cost=c.cost.fill_null(cc).cast("float64")))

    # Weekly social care: the weeks of each service/placement that fall in the window.
    for table in ("social_care_services", "care_placements"):
        t = engine.table(table)
        t = t.filter(t.start_date <= hi, t.end_date.isnull() | (t.end_date > lo))
        start = ibis.greatest(t.start_date, lo)
        end = ibis.least(t.end_date.fill_null(hi), hi)
        weeks = ibis.greatest(end.delta(start, unit="day"), 0).cast("float64") / 7.0
        if table == "social_care_services":
            rate = ibis.cases(
                (
                    t.service_type == "home_care",
                    t.weekly_hours.fill_null(0.0) * sc["home_care_hour"],
                ),
                *[
                    (t.service_type == k, sc.get(f"{k}_week", sc["other_week"]))
                    for k in (
                        "day_care",
                        "direct_payment",
                        "equipment",
                        "telecare",
                        "meals",
                        "respite",
                    )
                ],
                else_=sc["other_week"],
            )
        else:
            rate = ibis.ifelse(
                t.placement_type == "nursing", sc["nursing_week"], sc["residential_week"]
            )
        parts.append(t.select("nhs_number", cost=(t.weekly_cost.fill_null(rate) * weeks)))

    r = engine.table("reablement_episodes")
    r = r.filter(r.start_date > lo, r.start_date <= hi)
    parts.append(r.select("nhs_number", cost=ibis.literal(sc["reablement_episode"], "float64")))
    sa = engine.table("social_care_assessments")
    sa = sa.filter(sa.assessment_date > lo, sa.assessment_date <= hi)
    parts.append(sa.select("nhs_number", cost=ibis.literal(sc["assessment"], "float64")))

    # Cast both columns so that NOT NULL and nullable inputs line up in the union.
    allc = ibis.union(
        *[
            p.select(nhs_number=p.nhs_number.cast("string"), cost=p.cost.cast("float64"))
            for p in parts
        ],
        distinct=False,
    )
    # Sum whole pence so every engine, in any order, gets exactly the same total.
    pence = (allc.cost * 100).round().cast("int64")
    out = allc.group_by("nhs_number").aggregate(spend_pence=pence.sum().cast("int64"))
    return out.select("nhs_number", spend_12m=out.spend_pence.cast("float64") / 100.0)


def report(segments: Any, spend_12m: Any) -> list[dict[str, Any]]:
    """Per segment: people, share of people, spend per head, share of spend."""
    df = pd.DataFrame({"segment": segments, "spend": spend_12m})
    total_people = len(df)
    total_spend = float(df["spend"].sum()) or 1.0
    g = df.groupby("segment")["spend"].agg(["count", "sum"])
    order = {f"{b} / {n}": (i, j) for i, b in enumerate(AGE_BANDS) for j, n in enumerate(NEEDS)}
    rows = []
    for seg in sorted(g.index, key=lambda s: order.get(s, (99, 99))):
        count, total = int(g.loc[seg, "count"]), float(g.loc[seg, "sum"])
        rows.append(
            {
                "segment": seg,
                "people": count,
                "share_of_people": count / total_people,
                "spend_per_head": total / count,
                "share_of_spend": total / total_spend,
            }
        )
    return rows
