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
from dataclasses import dataclass
from typing import Any

import ibis

from careweave.dataset.tariff import Tariff
from careweave.definitions.dates import in_window, lit
from careweave.definitions.spells import bed_days

#: Social-care service types with their own weekly tariff item (``<type>_week``).
WEEKLY_SERVICES = ("day_care", "direct_payment", "equipment", "telecare", "meals", "respite")


@dataclass(frozen=True)
class Part:
    """One activity table costed: ``table`` has nhs_number, day (or start_date, end_date and
    weekly for weekly-priced care), cost and ``item`` (the tariff item ``"section.item"`` the
    row is priced as, which says its setting and funder); ``items`` lists every item it can
    hold. ``name`` is the activity table; ``rows`` (dated parts) is the same rows with every
    column of that table kept beside day, cost and item, so that other definitions over the
    same rows (an outpatient appointment's outcome, a spell's admission method) can be read
    from one pass over the table (:mod:`careweave.measures.sources`)."""

    items: tuple[str, ...]
    table: Any
    name: str = ""
    rows: Any = None


def _item(section: str, cases: list[tuple[Any, str]], default: str) -> Any:
    return ibis.cases(
        *[(c, f"{section}.{k}") for c, k in cases], else_=f"{section}.{default}"
    ).cast("string")


def dated_parts(engine: Any, tariff: Tariff, lo: dt.date, hi: dt.date) -> list[Part]:
    """Every dated activity in (lo, hi]: nhs_number, day, cost, item."""
    h, pc, cm, mh, sc = (
        tariff[k] for k in ("hospital", "primary_care", "community", "mental_health", "social_care")
    )
    parts: list[Part] = []

    def add(name: str, items: list[str], t: Any, day: Any, cost: Any, item: Any) -> None:
        rows = t.mutate(day=day, cost=cost, item=item)
        parts.append(
            Part(
                tuple(items),
                t.select("nhs_number", day=day, cost=cost, item=item),
                name,
                rows,
            )
        )

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
    methods = ("emergency", "elective", "maternity")
    add(
        "hospital_spells",
        [f"hospital.{m}_spell" for m in (*methods, "other")],
        s,
        s.admission_date,
        s.cost.fill_null(spell_cost),
        _item(
            "hospital", [(s.admission_method == m, f"{m}_spell") for m in methods], "other_spell"
        ),
    )

    a = engine.table("ae_attendances")
    a = a.filter(in_window(a.attendance_date, lo, hi))
    add(
        "ae_attendances",
        ["hospital.ae_attendance"],
        a,
        a.attendance_date,
        a.cost.fill_null(h["ae_attendance"]),
        ibis.literal("hospital.ae_attendance", "string"),
    )

    o = engine.table("outpatient_appointments")
    o = o.filter(in_window(o.appointment_date, lo, hi))
    oc = ibis.cases(
        (o.outcome == "attended", h["outpatient_attendance"]),
        (o.outcome == "did_not_attend", h["outpatient_did_not_attend"]),
        else_=0.0,
    )
    add(
        "outpatient_appointments",
        ["hospital.outpatient_attendance", "hospital.outpatient_did_not_attend"],
        o,
        o.appointment_date,
        o.cost.fill_null(oc),
        _item(
            "hospital",
            [(o.outcome == "did_not_attend", "outpatient_did_not_attend")],
            "outpatient_attendance",
        ),
    )

    g = engine.table("primary_care_contacts")
    g = g.filter(in_window(g.contact_date, lo, hi))
    roles = ("gp", "nurse", "pharmacist")
    gc = ibis.cases(
        *[(g.staff_role == r, pc[f"{r}_consultation"]) for r in roles],
        else_=pc["other_consultation"],
    ) + ibis.ifelse(g["mode"] == "home_visit", pc["home_visit_uplift"], 0.0)
    add(
        "primary_care_contacts",
        [f"primary_care.{r}_consultation" for r in (*roles, "other")],
        g,
        g.contact_date,
        g.cost.fill_null(gc),
        _item(
            "primary_care",
            [(g.staff_role == r, f"{r}_consultation") for r in roles],
            "other_consultation",
        ),
    )

    m = engine.table("medications")
    m = m.filter(in_window(m.issue_date, lo, hi))
    add(
        "medications",
        ["primary_care.medication_item"],
        m,
        m.issue_date,
        ibis.literal(pc["medication_item"], "float64"),
        ibis.literal("primary_care.medication_item", "string"),
    )

    for table, section, prices in (
        ("community_contacts", "community", cm),
        ("mental_health_contacts", "mental_health", mh),
    ):
        c = engine.table(table)
        c = c.filter(in_window(c.contact_date, lo, hi))
        cc = ibis.cases(*[(c.service == k, v) for k, v in prices.items()], else_=prices["other"])
        named = [k for k in prices if k != "other"]
        add(
            table,
            [f"{section}.{k}" for k in prices],
            c,
            c.contact_date,
            c.cost.fill_null(cc),
            _item(section, [(c.service == k, k) for k in named], "other"),
        )

    r = engine.table("reablement_episodes")
    r = r.filter(in_window(r.start_date, lo, hi))
    add(
        "reablement_episodes",
        ["social_care.reablement_episode"],
        r,
        r.start_date,
        ibis.literal(sc["reablement_episode"], "float64"),
        ibis.literal("social_care.reablement_episode", "string"),
    )
    sa = engine.table("social_care_assessments")
    sa = sa.filter(in_window(sa.assessment_date, lo, hi))
    add(
        "social_care_assessments",
        ["social_care.assessment"],
        sa,
        sa.assessment_date,
        ibis.literal(sc["assessment"], "float64"),
        ibis.literal("social_care.assessment", "string"),
    )
    return [
        Part(
            p.items,
            p.table.select(
                nhs_number=p.table.nhs_number.cast("string"),
                day=p.table.day.cast("date"),
                cost=p.table.cost.cast("float64"),
                item=p.table.item,
            ),
            p.name,
            p.rows.mutate(
                nhs_number=p.rows.nhs_number.cast("string"),
                day=p.rows.day.cast("date"),
                cost=p.rows.cost.cast("float64"),
            ),
        )
        for p in parts
    ]


def dated_costs(engine: Any, tariff: Tariff, lo: dt.date, hi: dt.date) -> list[Any]:
    """Ibis tables (nhs_number, day, cost) of every dated activity in (lo, hi]."""
    return [p.table.drop("item") for p in dated_parts(engine, tariff, lo, hi)]


def weekly_parts(engine: Any, tariff: Tariff) -> list[Part]:
    """Weekly-priced care, social-care services and care placements: nhs_number, start_date,
    end_date, weekly (pounds a week), item."""
    sc = tariff["social_care"]
    svc = engine.table("social_care_services")
    rate = ibis.cases(
        (svc.service_type == "home_care", svc.weekly_hours.fill_null(0.0) * sc["home_care_hour"]),
        *[(svc.service_type == k, sc.get(f"{k}_week", sc["other_week"])) for k in WEEKLY_SERVICES],
        else_=sc["other_week"],
    )
    own = [k for k in WEEKLY_SERVICES if f"{k}_week" in sc]
    svc_item = _item(
        "social_care",
        [(svc.service_type == "home_care", "home_care_hour")]
        + [(svc.service_type == k, f"{k}_week") for k in own],
        "other_week",
    )
    svc_items = ["social_care.home_care_hour", *(f"social_care.{k}_week" for k in own)]
    plc = engine.table("care_placements")
    prate = ibis.ifelse(plc.placement_type == "nursing", sc["nursing_week"], sc["residential_week"])
    plc_item = _item(
        "social_care", [(plc.placement_type == "nursing", "nursing_week")], "residential_week"
    )
    return [
        Part(
            tuple(items),
            t.select(
                nhs_number=t.nhs_number.cast("string"),
                start_date=t.start_date,
                end_date=t.end_date,
                weekly=t.weekly_cost.fill_null(r).cast("float64"),
                item=item,
            ),
        )
        for t, r, item, items in (
            (svc, rate, svc_item, [*svc_items, "social_care.other_week"]),
            (plc, prate, plc_item, ["social_care.nursing_week", "social_care.residential_week"]),
        )
    ]


def weekly_rates(engine: Any, tariff: Tariff) -> list[Any]:
    """Ibis tables (nhs_number, start_date, end_date, weekly) of weekly-priced care:
    social-care services and care placements."""
    return [p.table.drop("item") for p in weekly_parts(engine, tariff)]


def only(part: Part, items: frozenset[str]) -> Any:
    """``part``'s rows priced as one of ``items``; None when it can hold none of them."""
    mine = [i for i in part.items if i in items]
    if not mine:
        return None
    if len(mine) == len(part.items):
        return part.table
    return part.table.filter(part.table.item.isin(mine))


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
