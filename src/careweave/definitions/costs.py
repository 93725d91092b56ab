"""The cost of activity under a tariff: one definition for risk segments, measures and profile.

A row's own ``cost`` where the source has one, else the tariff
(:mod:`careweave.dataset.tariff`):

- hospital spells, dated by admission: emergency = ``emergency_spell`` +
  ``excess_bed_day`` x bed days beyond ``emergency_trim_days`` (bed days counted
  to the end of the period costed, see :func:`careweave.definitions.spells.bed_days`);
  elective / maternity / other = ``elective_spell`` / ``maternity_spell`` /
  ``other_spell``;
- A&E ``ae_attendance``; outpatients ``outpatient_attendance`` /
  ``outpatient_did_not_attend`` / 0 when cancelled;
- primary-care contacts by staff role, plus ``home_visit_uplift`` for a home
  visit; medication issues ``medication_item`` each;
- community and mental-health contacts by service;
- social-care assessments ``assessment``; reablement episodes
  ``reablement_episode`` (dated by start);
- **weekly** social-care services and care placements: ``weekly_cost`` (or the
  tariff: home care ``weekly_hours`` x ``home_care_hour``, other services
  ``<type>_week``, placements ``residential_week`` / ``nursing_week``) x the
  days of the service inside the period / 7, where a service from ``start`` to
  ``end`` (open: to the period's end) lasts ``min(end, hi) - max(start, lo)``
  days inside the period (lo, hi].

That last rule settles a disagreement: the old profile counted
``(end - start + 1) / 7`` weeks, which counts the boundary day of two
consecutive periods twice; lengths here are differences (like bed days), so
the cost of consecutive periods adds up to the cost of their union.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from careweave.dataset.tariff import Tariff
from careweave.definitions.dates import in_window, lit
from careweave.definitions.spells import bed_days

#: Social-care service types with their own weekly tariff item (``<type>_week``).
WEEKLY_SERVICES = ("day_care", "direct_payment", "equipment", "telecare", "meals", "respite")


def dated_costs(engine: Any, tariff: Tariff, lo: dt.date, hi: dt.date) -> list[Any]:
    """Ibis tables (nhs_number, day, cost) of every dated activity in (lo, hi]."""
    h, pc, cm, mh, sc = (
        tariff[k] for k in ("hospital", "primary_care", "community", "mental_health", "social_care")
    )
    parts = []

    s = engine.table("hospital_spells")
    s = s.filter(in_window(s.admission_date, lo, hi))
    days = bed_days(s, hi)
    excess = ibis.greatest(days - int(h["emergency_trim_days"]), 0) * h["excess_bed_day"]
    spell_cost = ibis.cases(
        (s.admission_method == "emergency", h["emergency_spell"] + excess),
        (s.admission_method == "elective", h["elective_spell"]),
        (s.admission_method == "maternity", h["maternity_spell"]),
        else_=h["other_spell"],
    )
    parts.append(s.select("nhs_number", day=s.admission_date, cost=s.cost.fill_null(spell_cost)))

    a = engine.table("ae_attendances")
    a = a.filter(in_window(a.attendance_date, lo, hi))
    parts.append(
        a.select("nhs_number", day=a.attendance_date, cost=a.cost.fill_null(h["ae_attendance"]))
    )

    o = engine.table("outpatient_appointments")
    o = o.filter(in_window(o.appointment_date, lo, hi))
    oc = ibis.cases(
        (o.outcome == "attended", h["outpatient_attendance"]),
        (o.outcome == "did_not_attend", h["outpatient_did_not_attend"]),
        else_=0.0,
    )
    parts.append(o.select("nhs_number", day=o.appointment_date, cost=o.cost.fill_null(oc)))

    g = engine.table("primary_care_contacts")
    g = g.filter(in_window(g.contact_date, lo, hi))
    gc = ibis.cases(
        (g.staff_role == "gp", pc["gp_consultation"]),
        (g.staff_role == "nurse", pc["nurse_consultation"]),
        (g.staff_role == "pharmacist", pc["pharmacist_consultation"]),
        else_=pc["other_consultation"],
    ) + ibis.ifelse(g["mode"] == "home_visit", pc["home_visit_uplift"], 0.0)
    parts.append(g.select("nhs_number", day=g.contact_date, cost=g.cost.fill_null(gc)))

    m = engine.table("medications")
    m = m.filter(in_window(m.issue_date, lo, hi))
    parts.append(
        m.select(
            "nhs_number", day=m.issue_date, cost=ibis.literal(pc["medication_item"], "float64")
        )
    )

    for table, prices in (("community_contacts", cm), ("mental_health_contacts", mh)):
        c = engine.table(table)
        c = c.filter(in_window(c.contact_date, lo, hi))
        cc = ibis.cases(*[(c.service == k, v) for k, v in prices.items()], else_=prices["other"])
        parts.append(c.select("nhs_number", day=c.contact_date, cost=c.cost.fill_null(cc)))

    r = engine.table("reablement_episodes")
    r = r.filter(in_window(r.start_date, lo, hi))
    parts.append(
        r.select(
            "nhs_number", day=r.start_date, cost=ibis.literal(sc["reablement_episode"], "float64")
        )
    )
    sa = engine.table("social_care_assessments")
    sa = sa.filter(in_window(sa.assessment_date, lo, hi))
    parts.append(
        sa.select(
            "nhs_number", day=sa.assessment_date, cost=ibis.literal(sc["assessment"], "float64")
        )
    )
    return [
        p.select(
            nhs_number=p.nhs_number.cast("string"),
            day=p.day.cast("date"),
            cost=p.cost.cast("float64"),
        )
        for p in parts
    ]


def weekly_rates(engine: Any, tariff: Tariff) -> list[Any]:
    """Ibis tables (nhs_number, start_date, end_date, weekly) of weekly-priced care:
    social-care services and care placements."""
    sc = tariff["social_care"]
    svc = engine.table("social_care_services")
    rate = ibis.cases(
        (svc.service_type == "home_care", svc.weekly_hours.fill_null(0.0) * sc["home_care_hour"]),
        *[(svc.service_type == k, sc.get(f"{k}_week", sc["other_week"])) for k in WEEKLY_SERVICES],
        else_=sc["other_week"],
    )
    plc = engine.table("care_placements")
    prate = ibis.ifelse(plc.placement_type == "nursing", sc["nursing_week"], sc["residential_week"])
    return [
        t.select(
            nhs_number=t.nhs_number.cast("string"),
            start_date=t.start_date,
            end_date=t.end_date,
            weekly=t.weekly_cost.fill_null(r).cast("float64"),
        )
        for t, r in ((svc, rate), (plc, prate))
    ]


def days_inside(start: Any, end: Any, lo: dt.date, hi: dt.date) -> Any:
    """Days of [start, end) (null end: open) inside the period (lo, hi]: min(end, hi) - max(start, lo)."""
    first = ibis.greatest(start, lit(lo))
    last = ibis.least(end.fill_null(lit(hi)), lit(hi))
    return ibis.greatest(last.delta(first, unit="day"), 0)


def weekly_costs(engine: Any, tariff: Tariff, lo: dt.date, hi: dt.date) -> list[Any]:
    """Ibis tables (nhs_number, cost) of weekly-priced care in the period (lo, hi]."""
    out = []
    for t in weekly_rates(engine, tariff):
        t = t.filter(t.start_date <= lit(hi), t.end_date.isnull() | (t.end_date > lit(lo)))
        weeks = days_inside(t.start_date, t.end_date, lo, hi).cast("float64") / 7.0
        out.append(t.select("nhs_number", cost=t.weekly * weeks))
    return out


def spend(engine: Any, tariff: Tariff, lo: dt.date, hi: dt.date) -> Any:
    """nhs_number, spend (pounds) over all activity in the period (lo, hi]: each row's
    cost rounded to whole pence and summed, so every engine gets exactly the same total."""
    parts = [p.select("nhs_number", "cost") for p in dated_costs(engine, tariff, lo, hi)]
    parts += weekly_costs(engine, tariff, lo, hi)
    allc = ibis.union(
        *[
            p.select(nhs_number=p.nhs_number.cast("string"), cost=p.cost.cast("float64"))
            for p in parts
        ],
        distinct=False,
    )
    pence = (allc.cost * 100).round().cast("int64")
    out = allc.group_by("nhs_number").aggregate(spend_pence=pence.sum().cast("int64"))
    return out.select("nhs_number", spend=out.spend_pence.cast("float64") / 100.0)
