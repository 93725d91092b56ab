"""The person-level building blocks of the measures: events and intervals.

Each source is one Ibis definition (on top of :mod:`careweave.definitions`)
of either

- **events**: rows (person, day, value) counted on the day they happen, for
  people in the registered population that day; or
- **intervals**: per person, disjoint spans of time [from, to) during which the
  person counts, clipped to their registered population interval. An interval
  source gives a **stock** (people counting on the interval's last day) and
  **days** (person-days inside the interval; ``years`` = days / 365.25,
  ``weeks`` = days / 7).

A source names what it needs (``table`` or ``table.column``; ``a|b``: either);
when that is absent or empty the measures built on it are "no data" (null),
never a crash or a misleading zero. Each source's docstring is its definition
in docs/measures.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import ibis

from careweave.dataset.registers import load_registers
from careweave.dataset.tariff import FUNDERS, SETTINGS
from careweave.definitions import costs, spells
from careweave.definitions.dates import OPEN_END, lit
from careweave.definitions.registers import register_evidence
from careweave.measures.context import Context, intersect, merge_intervals

#: A lane source's definition over its lane's rows ``t``: (which rows count, or None for
#: all; each row's value, or None for 1). Called on the lane's rows to filter them and
#: again on the filtered rows for the value.
Pick = Callable[[Any], tuple[Any, Any]]


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # "events" | "intervals"
    build: Callable[[Context], Any]
    requires: tuple[str, ...] = ()
    weighted: bool = False
    #: Lane sources (events read from the rows of an activity table, :func:`lanes`): lane
    #: name -> the source's pick on that lane's rows. ``build`` is derived from them.
    picks: Callable[[Context], dict[str, Pick]] | None = None
    #: The intervals are the registered population itself (the engine takes its pieces,
    #: :meth:`Context.pieces`, as they are instead of cutting the population by itself).
    population: bool = False

    @property
    def doc(self) -> str:
        return " ".join((self.build.__doc__ or "").split())


SOURCES: dict[str, Source] = {}


def _source(
    name: str, kind: str, *requires: str, weighted: bool = False
) -> Callable[[Callable[[Context], Any]], Callable[[Context], Any]]:
    def deco(fn: Callable[[Context], Any]) -> Callable[[Context], Any]:
        SOURCES[name] = Source(name, kind, fn, tuple(requires), weighted)
        return fn

    return deco


def lane(ctx: Context, name: str) -> Any:
    """The rows of the lane ``name`` (:func:`lanes`), built once per computation."""
    out = ctx.memo(f"lane {name}", lambda: lanes(ctx)[name]())
    return out


def lanes(ctx: Context) -> dict[str, Callable[[], Any]]:
    """The lanes: each dated activity table's rows in the months (and the day before), one
    row per activity row with the table's own columns, ``day``, and its ``cost`` and tariff
    ``item`` (:func:`careweave.definitions.costs.dated_parts`). Every events source over one
    of these tables on that day reads its lane, so the engine can read a table once for all
    of them (the spend sources and the counts of contacts, appointments, attendances and
    admissions alike) and join each activity row to the people once. More lanes are
    discharged spells on the day of discharge (``hospital_spells.discharged``), the
    readmission indicator's index discharges (``index_discharges``) and people scored in
    consecutive risk_scores runs (``risk_scores.moves``)."""

    def rows_of(part: costs.Part) -> Callable[[], Any]:
        return lambda: part.rows

    out: dict[str, Callable[[], Any]] = {p.name: rows_of(p) for p in _dated_parts(ctx)}

    def discharged() -> Any:
        s = _spells(ctx)
        s = s.filter(s.discharge_date.notnull())
        return s.mutate(day=s.discharge_date)

    def index() -> Any:
        r = _index(ctx)
        return r.mutate(day=r.discharge_date)

    def moves() -> Any:
        m = _level_moves(ctx)
        return m.mutate(day=m.as_of)

    out["hospital_spells.discharged"] = discharged
    out["index_discharges"] = index
    out["risk_scores.moves"] = moves
    return out


def _dated_parts(ctx: Context) -> list[costs.Part]:
    """Every dated activity in (the day before the months, the span's end], costed (built
    once per computation)."""
    lo = ctx.months.first - dt.timedelta(days=1)
    out: list[costs.Part] = ctx.memo(
        "dated_parts", lambda: costs.dated_parts(ctx.engine, ctx.tariff, lo, ctx.span_end)
    )
    return out


def lane_rows(ctx: Context, name: str, pick: Pick) -> Any:
    """The rows of the lane ``name`` a pick counts: nhs_number, day, value."""
    r = lane(ctx, name)
    mask, _ = pick(r)
    if mask is not None:
        r = r.filter(mask)
    _, value = pick(r)
    return _one(r, r.day, value)


def _from_lanes(name: str, picks: Callable[[Context], dict[str, Pick]]) -> Callable[[Context], Any]:
    def build(ctx: Context) -> Any:
        parts = [lane_rows(ctx, n, pick) for n, pick in picks(ctx).items()]
        if not parts:
            return _nothing(ctx, "events")
        return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]

    build.__name__ = name
    return build


def _lane_source(
    name: str, lane: str, *requires: str
) -> Callable[[Callable[[Any], tuple[Any, Any]]], Callable[[Any], tuple[Any, Any]]]:
    """An events source counted from one lane: the decorated function is its pick, its
    docstring the definition."""

    def deco(pick: Callable[[Any], tuple[Any, Any]]) -> Callable[[Any], tuple[Any, Any]]:
        def picks(ctx: Context) -> dict[str, Pick]:
            return {lane: pick}

        build = _from_lanes(name, picks)
        build.__doc__ = pick.__doc__
        SOURCES[name] = Source(name, "events", build, tuple(requires), picks=picks)
        return pick

    return deco


def _one(t: Any, day: Any, value: Any = None) -> Any:
    return t.select(
        nhs_number=t.nhs_number,
        day=day,
        value=(ibis.literal(1) if value is None else value).cast("int64"),
    )


def _span(t: Any, start: Any, end: Any) -> Any:
    return t.select(nhs_number=t.nhs_number.cast("string"), s_from=start, s_to=end)


# --- population ------------------------------------------------------------------------------
def registered(ctx: Context) -> Any:
    """The registered population (careweave.definitions.population): from the later of birth and
    registration to the earlier of death and the end of registration."""
    p = ctx.persons()
    return _span(p, p.pop_from, p.pop_to)


SOURCES["registered"] = Source("registered", "intervals", registered, ("people",), population=True)


@_source("deaths", "events", "people.date_of_death")
def deaths(ctx: Context) -> Any:
    """Deaths, on the day of death."""
    p = ctx.engine.table("people")
    p = p.filter(p.date_of_death.notnull())
    return _one(p, p.date_of_death)


@_source("hospital_deaths", "events", "people.date_of_death")
def hospital_deaths(ctx: Context) -> Any:
    """Deaths in hospital: a death with a hospital spell discharged 'died' on the day of death
    (or still open then)."""
    p = ctx.engine.table("people")
    p = p.filter(p.date_of_death.notnull()).select("nhs_number", "date_of_death")
    s = ctx.engine.table("hospital_spells")
    s = s.filter(s.discharge_destination == "died").select(
        nhs_number=s.nhs_number, discharged=s.discharge_date
    )
    j = p.join(s, "nhs_number")
    j = j.filter(j.discharged.isnull() | (j.discharged == j.date_of_death))
    j = j.select("nhs_number", "date_of_death").distinct()
    return _one(j, j.date_of_death)


# --- hospital --------------------------------------------------------------------------------
def _spells(ctx: Context) -> Any:
    return ctx.engine.table("hospital_spells")


@_lane_source("emergency_admissions", "hospital_spells", "hospital_spells")
def emergency_admissions(s: Any) -> tuple[Any, Any]:
    """Emergency spells (admission_method 'emergency'), on the day of admission."""
    return spells.is_emergency(s), None


@_lane_source("elective_admissions", "hospital_spells", "hospital_spells")
def elective_admissions(s: Any) -> tuple[Any, Any]:
    """Elective spells, on the day of admission."""
    return spells.is_elective(s), None


@cache
def acsc_prefixes() -> tuple[tuple[str, str], ...]:
    """(condition, ICD-10 prefix without the dot) of the NHS Outcomes Framework 2.3.i list."""
    text = resources.files("careweave.measures").joinpath("data/acsc_icd10.csv").read_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return tuple(
        (r["condition"], r["prefix"]) for r in csv.DictReader(io.StringIO("\n".join(lines)))
    )


@_lane_source("acsc_emergency_admissions", "hospital_spells", "hospital_spells")
def acsc_emergency_admissions(s: Any) -> tuple[Any, Any]:
    """Emergency spells whose primary diagnosis is a chronic ambulatory care sensitive condition
    (NHS Outcomes Framework 2.3.i ICD-10 list, careweave/measures/data/acsc_icd10.csv; the code
    is compared upper-cased without dots or spaces)."""
    code = s.primary_diagnosis.fill_null("").upper().replace(".", "").replace(" ", "")
    hit = ibis.literal(False)
    for _, prefix in acsc_prefixes():
        hit = hit | code.startswith(prefix)
    return spells.is_emergency(s) & hit, None


def _spell_end(ctx: Context, s: Any) -> Any:
    """Discharge, or the day after the span for a spell still open."""
    return s.discharge_date.fill_null(lit(ctx.span_end + dt.timedelta(days=1)))


def _occupancy(ctx: Context, s: Any, min_stay: int | None = None) -> Any:
    end = _spell_end(ctx, s)
    if min_stay is not None:
        s = s.filter(end.delta(s.admission_date, unit="day") > min_stay)
        end = _spell_end(ctx, s)
    # spells of one person may overlap in the data; merge so no bed day counts twice
    return merge_intervals(_span(s, s.admission_date, end))


@_source("emergency_bed_days", "intervals", "hospital_spells")
def emergency_bed_days(ctx: Context) -> Any:
    """Days in hospital in emergency spells, on each day of the stay (admission to discharge;
    a spell still open counts to the end of the span)."""
    return _occupancy(ctx, spells.emergency(_spells(ctx)))


@_source("bed_days", "intervals", "hospital_spells")
def bed_days(ctx: Context) -> Any:
    """Days in hospital in any spell, on each day of the stay."""
    return _occupancy(ctx, _spells(ctx))


@_source("bed_days_stays_over_10_days", "intervals", "hospital_spells")
def bed_days_over_10(ctx: Context) -> Any:
    """Days in hospital in spells lasting more than 10 days (discharge - admission > 10)."""
    return _occupancy(ctx, _spells(ctx), 10)


@_source("bed_days_stays_over_15_days", "intervals", "hospital_spells")
def bed_days_over_15(ctx: Context) -> Any:
    """Days in hospital in spells lasting more than 15 days."""
    return _occupancy(ctx, _spells(ctx), 15)


@_source("delayed_bed_days", "intervals", "hospital_spells.discharge_ready_date")
def delayed_bed_days(ctx: Context) -> Any:
    """Days in hospital after the NHS discharge-ready date: from discharge_ready_date to
    discharge (a spell still open counts to the end of the span)."""
    s = _spells(ctx)
    s = s.filter(s.discharge_ready_date.notnull())
    return merge_intervals(_span(s, s.discharge_ready_date, _spell_end(ctx, s)))


@_lane_source("emergency_discharges", "hospital_spells.discharged", "hospital_spells")
def emergency_discharges(s: Any) -> tuple[Any, Any]:
    """Emergency spells discharged, on the day of discharge."""
    return spells.is_emergency(s), None


@_lane_source("emergency_length_of_stay", "hospital_spells.discharged", "hospital_spells")
def emergency_length_of_stay(s: Any) -> tuple[Any, Any]:
    """Length of stay (discharge - admission, days) of emergency spells, on the day of
    discharge."""
    return spells.is_emergency(s), spells.length_of_stay(s)


def _index(ctx: Context) -> Any:
    r = spells.index_discharges(_spells(ctx))
    # a discharge in the span's last 30 days has not had its full follow-up
    cutoff = lit(ctx.span_end - dt.timedelta(days=spells.READMISSION_DAYS))
    return r.filter(r.discharge_date <= cutoff)


@_lane_source("index_discharges", "index_discharges", "hospital_spells")
def index_discharges(r: Any) -> tuple[Any, Any]:
    """Index discharges of the 30-day readmission indicator (careweave.definitions.spells:
    discharged alive, not obstetric, no cancer primary diagnosis), on the day of discharge;
    discharges in the span's last 30 days are left out (their follow-up is incomplete)."""
    return None, None


@_lane_source("readmitted_index_discharges", "index_discharges", "hospital_spells")
def readmitted_index_discharges(r: Any) -> tuple[Any, Any]:
    """Index discharges followed by an emergency admission 0-30 days later (the person's next
    spell), on the day of the index discharge."""
    return None, r.readmitted


@_lane_source("ae_attendances", "ae_attendances", "ae_attendances")
def ae_attendances(a: Any) -> tuple[Any, Any]:
    """A&E attendances, on the day of arrival."""
    return None, None


@_lane_source("ae_admitted", "ae_attendances", "ae_attendances")
def ae_admitted(a: Any) -> tuple[Any, Any]:
    """A&E attendances with disposal 'admitted' (converted to an admission)."""
    return a.disposal == "admitted", None


@_lane_source(
    "outpatient_appointments_kept_or_missed", "outpatient_appointments", "outpatient_appointments"
)
def outpatient_booked(o: Any) -> tuple[Any, Any]:
    """Outpatient appointments attended or not attended (cancelled ones left out), on the day
    of the appointment."""
    return o.outcome.isin(("attended", "did_not_attend")), None


@_lane_source("outpatient_dnas", "outpatient_appointments", "outpatient_appointments")
def outpatient_dnas(o: Any) -> tuple[Any, Any]:
    """Outpatient appointments with outcome 'did_not_attend'."""
    return o.outcome == "did_not_attend", None


@_lane_source("outpatient_attendances", "outpatient_appointments", "outpatient_appointments")
def outpatient_attendances(o: Any) -> tuple[Any, Any]:
    """Outpatient appointments with outcome 'attended'."""
    return o.outcome == "attended", None


# --- primary care, community and mental health -----------------------------------------------
@_lane_source("primary_care_contacts", "primary_care_contacts", "primary_care_contacts")
def primary_care_contacts(c: Any) -> tuple[Any, Any]:
    """Contacts with general practice staff (any role, any mode), on the day of the contact."""
    return None, None


@_lane_source("community_contacts", "community_contacts", "community_contacts")
def community_contacts(c: Any) -> tuple[Any, Any]:
    """Contacts with community health services, on the day of the contact."""
    return None, None


@_lane_source("mental_health_contacts", "mental_health_contacts", "mental_health_contacts")
def mental_health_contacts(c: Any) -> tuple[Any, Any]:
    """Contacts with secondary mental health services, on the day of the contact."""
    return None, None


# --- social care -----------------------------------------------------------------------------
@_source("permanent_care_home_admissions", "events", "care_placements")
def permanent_admissions(ctx: Context) -> Any:
    """Permanent admissions to residential or nursing care (ASCOF 2A): a person's first permanent
    placement, on its start date (moves between homes are not new admissions)."""
    c = ctx.engine.table("care_placements")
    c = c.filter(c.permanent)
    first = c.group_by("nhs_number").aggregate(day=c.start_date.min())
    return _one(first, first.day)


@_lane_source("reablement_outcomes_known", "reablement_episodes", "reablement_episodes")
def reablement_known(r: Any) -> tuple[Any, Any]:
    """Reablement episodes after hospital discharge whose 91-day outcome is known, on the start
    (discharge) date (ASCOF 2B denominator)."""
    return r.at_home_91d.notnull(), None


@_lane_source("reablement_at_home_91d", "reablement_episodes", "reablement_episodes")
def reablement_home(r: Any) -> tuple[Any, Any]:
    """Reablement episodes with the person at home 91 days after discharge (ASCOF 2B)."""
    return r.at_home_91d.fill_null(False), None


@_source("care_home_residents", "intervals", "care_placements")
def care_home_residents(ctx: Context) -> Any:
    """People living in a care home: a residential or nursing placement (permanent or not)
    from its start to its end."""
    c = ctx.engine.table("care_placements")
    return merge_intervals(_span(c, c.start_date, c.end_date))


# --- registers -------------------------------------------------------------------------------
def _all_registers(ctx: Context) -> Any:
    ev = register_evidence(ctx.engine)
    spans = ev.select(
        nhs_number=ev.nhs_number.cast("string"),
        reg_name=ev.reg_name,
        s_from=ev.ev_from,
        s_to=ev.ev_to,
    )
    return merge_intervals(spans, ("nhs_number", "reg_name"))


def _register_source(name: str) -> None:
    def build(ctx: Context) -> Any:
        spans = ctx.cached("registers", lambda: _all_registers(ctx))
        return spans.filter(spans.reg_name == name).drop("reg_name")

    build.__doc__ = (
        f"On the {name.replace('_', ' ')} register (careweave.definitions.registers): from a "
        "register code (until resolved) or a qualifying observation."
    )
    _source(f"on_register_{name}", "intervals", "primary_care_events|observations")(build)


for _r in load_registers():
    _register_source(_r.name)


# --- CCM levels (risk_scores) and care co-ordination ----------------------------------------
def _level_spans(ctx: Context, levels: tuple[int, ...] | None) -> Any:
    """Each risk_scores row's level holds from its as_of to the next run's as_of."""
    r = ctx.engine.table("risk_scores")
    runs = r.select("as_of").distinct()
    w = ibis.window(order_by="as_of")
    runs = runs.mutate(next_as_of=runs.as_of.lead().over(w))
    j = r.join(runs, "as_of")
    if levels is not None:
        j = j.filter(j.ccm_level.cast("int64").isin(levels))
    return _span(j, j.as_of, j.next_as_of.fill_null(lit(OPEN_END)))


@_source("scored", "intervals", "risk_scores")
def scored(ctx: Context) -> Any:
    """People with a CCM level (risk_scores): each run's level holds from its as_of date until
    the next run."""
    return _level_spans(ctx, None)


@_source("levels_1_2", "intervals", "risk_scores")
def levels_1_2(ctx: Context) -> Any:
    """People in CCM levels 1 and 2 (the lower levels)."""
    return _level_spans(ctx, (1, 2))


@_source("levels_3_4", "intervals", "risk_scores")
def levels_3_4(ctx: Context) -> Any:
    """People in CCM levels 3 and 4."""
    return _level_spans(ctx, (3, 4))


@_source("level_4", "intervals", "risk_scores")
def level_4(ctx: Context) -> Any:
    """People in CCM level 4 (case management)."""
    return _level_spans(ctx, (4,))


def _episodes(ctx: Context, column: str | None = None) -> Any:
    e = ctx.engine.table("case_management_episodes")
    if column is not None:
        e = e.filter(e[column].notnull())
    start = e.start_date if column in (None, "lead_professional_role") else e[column]
    return merge_intervals(_span(e, start, e.end_date))


@_source("case_managed", "intervals", "case_management_episodes")
def case_managed(ctx: Context) -> Any:
    """On the case-management register: a case-management episode from its start to its end."""
    return _episodes(ctx)


@_source("case_managed_levels_3_4", "intervals", "risk_scores", "case_management_episodes")
def case_managed_levels_3_4(ctx: Context) -> Any:
    """In CCM levels 3-4 and case-managed at the same time."""
    return intersect(_level_spans(ctx, (3, 4)), _episodes(ctx))


@_source("case_managed_level_4", "intervals", "risk_scores", "case_management_episodes")
def case_managed_level_4(ctx: Context) -> Any:
    """In CCM level 4 and case-managed at the same time."""
    return intersect(_level_spans(ctx, (4,)), _episodes(ctx))


@_source(
    "lead_professional_levels_3_4",
    "intervals",
    "risk_scores",
    "case_management_episodes.lead_professional_role",
)
def lead_professional_levels_3_4(ctx: Context) -> Any:
    """In CCM levels 3-4 with an accountable lead professional: a case-management episode
    naming the lead professional's role."""
    return intersect(_level_spans(ctx, (3, 4)), _episodes(ctx, "lead_professional_role"))


def _care_plans(ctx: Context) -> Any:
    parts = []
    if ctx.has_rows("case_management_episodes", "care_plan_date"):
        e = ctx.engine.table("case_management_episodes")
        e = e.filter(e.care_plan_date.notnull())
        parts.append(_span(e, e.care_plan_date, e.end_date))
    if ctx.has_rows("care_plans"):
        c = ctx.engine.table("care_plans")
        parts.append(_span(c, c.start_date, c.end_date))
    parts = [
        p.select("nhs_number", s_from=p.s_from.cast("date"), s_to=p.s_to.cast("date"))
        for p in parts
    ]
    return merge_intervals(ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0])


@_source("care_plan", "intervals", "case_management_episodes.care_plan_date|care_plans")
def care_plan(ctx: Context) -> Any:
    """With a care plan in place: from a case-management episode's care_plan_date to its end,
    or a care plan from the source systems (care_plans) from its start to its end."""
    return _care_plans(ctx)


@_source(
    "care_plan_levels_3_4",
    "intervals",
    "risk_scores",
    "case_management_episodes.care_plan_date|care_plans",
)
def care_plan_levels_3_4(ctx: Context) -> Any:
    """In CCM levels 3-4 with a care plan: from a case-management episode's care_plan_date to
    its end, or a care plan from the source systems (care_plans) from its start to its end."""
    return intersect(_level_spans(ctx, (3, 4)), _care_plans(ctx))


@_source(
    "care_home_residents_with_care_plan",
    "intervals",
    "care_placements",
    "case_management_episodes.care_plan_date|care_plans",
)
def care_home_with_plan(ctx: Context) -> Any:
    """Care-home residents with a care plan at the same time."""
    return intersect(care_home_residents(ctx), _care_plans(ctx))


@_source("telecare_levels_3_4", "intervals", "risk_scores", "telecare_services")
def telecare_levels_3_4(ctx: Context) -> Any:
    """In CCM levels 3-4 with a telecare or telehealth service (telecare_services) running."""
    t = ctx.engine.table("telecare_services")
    return intersect(_level_spans(ctx, (3, 4)), merge_intervals(_span(t, t.start_date, t.end_date)))


def _level_moves(ctx: Context) -> Any:
    r = ctx.engine.table("risk_scores")
    w = ibis.window(group_by=r.nhs_number, order_by=r.as_of)
    r = r.mutate(prev=r.ccm_level.cast("int64").lag().over(w), prev_as_of=r.as_of.lag().over(w))
    runs = ctx.engine.table("risk_scores").select("as_of").distinct()
    runs = runs.mutate(prev_run=runs.as_of.lag().over(ibis.window(order_by="as_of")))
    r = r.join(runs, "as_of")
    return r.filter(r.prev.notnull(), r.prev_as_of == r.prev_run)


@_lane_source("scored_in_consecutive_runs", "risk_scores.moves", "risk_scores")
def scored_twice(r: Any) -> tuple[Any, Any]:
    """People scored in a risk_scores run and in the run before it, on the later run's date."""
    return None, None


@_lane_source("moved_to_lower_level", "risk_scores.moves", "risk_scores")
def moved_down(r: Any) -> tuple[Any, Any]:
    """People whose CCM level is lower than at the run before, on the later run's date."""
    return r.ccm_level.cast("int64") < r.prev, None


@_lane_source("moved_to_higher_level", "risk_scores.moves", "risk_scores")
def moved_up(r: Any) -> tuple[Any, Any]:
    """People whose CCM level is higher than at the run before, on the later run's date."""
    return r.ccm_level.cast("int64") > r.prev, None


# --- cost ------------------------------------------------------------------------------------
def _nothing(ctx: Context, kind: str) -> Any:
    """No rows, in a source's shape (a setting the tariff gives nothing to that funder)."""
    p = ctx.engine.table("people")
    p = p.filter(ibis.literal(False))
    if kind == "events":
        return _one(p, p.date_of_birth, ibis.literal(0))
    return p.select(
        nhs_number=p.nhs_number.cast("string"),
        s_from=p.date_of_birth,
        s_to=p.date_of_birth,
        weight=ibis.literal(0, "int64"),
    )


def _pence(t: Any) -> Any:
    return (t.cost * 100).round()


def _spend_pick(items: tuple[str, ...] | None) -> Pick:
    """Rows priced as one of ``items`` (every row when None), valued in whole pence."""

    def pick(t: Any) -> tuple[Any, Any]:
        return (None if items is None else t.item.isin(items)), _pence(t)

    return pick


def _spend_picks(setting: str, funder: str) -> Callable[[Context], dict[str, Pick]]:
    """Per lane, the rows priced as one of the items of ``setting`` paid by ``funder``."""

    def picks(ctx: Context) -> dict[str, Pick]:
        items = ctx.funding.items(setting, funder)
        out: dict[str, Pick] = {}
        for p in _dated_parts(ctx):
            mine = tuple(i for i in p.items if i in items)
            if not mine:
                continue
            out[p.name] = _spend_pick(None if len(mine) == len(p.items) else mine)
        return out

    return picks


def _spend_sources(setting: str, funder: str) -> None:
    picks = _spend_picks(setting, funder)
    name = f"spend_{setting}_{funder}_pence"
    dated = _from_lanes(name, picks)

    def weekly(ctx: Context) -> Any:
        items = ctx.funding.items(setting, funder)
        parts = ctx.memo("weekly_parts", lambda: costs.weekly_parts(ctx.engine, ctx.tariff))
        mine = [t for p in parts if (t := costs.only(p, items)) is not None]
        if not mine:
            return _nothing(ctx, "intervals")
        return ibis.union(
            *[
                t.select(
                    nhs_number=t.nhs_number,
                    s_from=t.start_date.cast("date"),
                    s_to=t.end_date.cast("date"),
                    weight=(t.weekly * 100).round().cast("int64"),
                )
                for t in mine
            ],
            distinct=False,
        )

    who = f"{setting.replace('_', ' ')} activity paid for by {FUNDER_WORDS[funder]}"
    dated.__doc__ = (
        f"Cost in pence of dated {who} (the tariff's [setting] and [funder]; "
        "careweave.definitions.costs): each row rounded to whole pence, on its day."
    )
    weekly.__doc__ = (
        f"Weekly-priced {who}: the weekly price in whole pence on each day the service runs "
        "(its ``weeks`` are pence-days / 7; overlapping services each count)."
    )
    SOURCES[name] = Source(name, "events", dated, ("people",), picks=picks)
    _source(f"spend_{setting}_{funder}_weekly_pence", "intervals", "people", weighted=True)(weekly)


FUNDER_WORDS = {
    "nhs": "the NHS",
    "local_authority": "the local authority",
    "pooled": "a pooled budget",
}
for _s in SETTINGS:
    for _f in FUNDERS:
        _spend_sources(_s, _f)
