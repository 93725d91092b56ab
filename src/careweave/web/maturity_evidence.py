"""Evidence from the data for a maturity self-assessment: the figures, and a suggested stage.

For the elements the data can speak to, Careweave gathers facts from the persisted
analytics results in the warehouse (``risk_scores``, ``population_measures`` and its
run log, the linked activity tables) and from the operational store (unified
assessments, objections, break-glass, the audit log), shows them beside the element
and suggests a stage by a rule written here. **The assessor decides**: a suggestion
is never saved as a rating; it is shown next to the rating the assessor chose.

Where this sits: the facts need both the store and the warehouse, so they are
gathered on the operational side, in the web package, which reads the warehouse
read-only by SQL like the other commissioner pages (``careweave.web.intelligence``)
and may import the measures' declared names (``measures.results``), the catalogue
(improvement direction) and disclosure control (``measures.disclosure``): no new
import-contract exception. The CLI (``careweave maturity evidence``) and the PDF
export use this module too.

Scope: when the assessment's ``org_id`` is a locality of the store's organisations,
the facts that can be split are for that locality (measures by ``locality``; people
by their practice's locality); otherwise they are for the whole population. Each
fact says which.

Counts pass :func:`careweave.measures.disclosure.count` (fewer than 8 is shown as
"<8", others rounded to 5) and measure rows pass ``safe_frame`` before any figure or
SPC verdict is worked out.

Decisions (the rules, so an assessor can see why a stage is suggested):

- **Stratification** (ccm-wales ``needs-assessment``): no ``risk_scores`` run ->
  stage a; all four levels in use at the latest run -> b ("risk stratification
  tool ... across four levels of model in use"); c when, as well, the latest run is
  at most 92 days before today ("continually monitors"), the ``lower_levels_share``
  series shows special-cause improvement ("% patients in lower risk groups
  increasing") and at least 80% of level 4 are case-managed at the latest month
  (``case_managed_share_level_4``: "higher risk group patients receive intensive
  1:1 case management"). The joint needs assessment c also asks for is the
  assessor's to judge. The latest needs assessment (``careweave needs``) is shown
  beside it when one has run (its date, reference and largest gaps), else the fact
  says "not available".
- **Unified assessment across the four levels** (ccm-wales ``basis-for-model``):
  people with a unified assessment (any template) recorded in the last 12 months,
  by their current CCM level; some at every level -> b, otherwise a. Its stage c
  (outcomes reviewed) is not in the data.
- **Population addressed** (nine areas): the latest run's levels and need
  segments: only level 4 -> small start; levels 3-4 -> implementing; all four ->
  well developed; all four and people in the severe and complex segments
  (dementia, serious mental illness, learning disability, frail, end of life) ->
  embedded.
- **Spend included** (nine areas): of the six settings (acute, primary care,
  prescribing, community, mental health, social care), those with rows in the
  linked data: one -> small start, two -> implementing, three to five -> well
  developed, all six -> embedded; none -> no suggestion.
- **Information governance** (nine areas): legitimate-relationship enforcement is
  always on (Careweave has no switch to turn it off), so the figures are the
  break-glass grants of the last 12 months (and those not yet reviewed), the
  objections honoured (active, by kind), and the latest recorded audit-chain
  verification (``careweave audit verify --record``). A recorded broken chain ->
  small start; otherwise the settings linked: one -> implementing, several -> well
  developed, all six with an intact recorded verification -> embedded.
- **Performance transparency** (nine areas ``performance``): the
  ``population_measures`` runs (its run log; before the log existed, the
  computed-at times in the table): none -> small start; one, or runs more than 92
  days apart (median) -> implementing; at most 92 days apart -> well developed
  ("shared periodically"); at most a day apart with the latest within two days ->
  embedded ("in real time").
- **Payment linked to measurable change** (nine areas ``payment`` and
  commissioning ``performance-measures``): the schemes with targets in the budget
  file (careweave.budgets: the settings' ``budget_file``, else the shipped example),
  with how many KPI targets are on trajectory at the latest month and forecast to be
  met; whether payment follows the targets is not in the data, so no suggestion.
- **Impact** (nine areas ``degree-of-impact``; ccm-wales ``evaluation-outcomes``):
  the latest stored evaluation of case management (``careweave evaluate --store``,
  ``evaluation_results``), its primary outcome (emergency admissions): a 95% CI that
  includes no change, or an increase -> small start ("0%": no impact shown);
  otherwise the degree of the reduction on seed 001's scale (1-5%, 5-9%, 10%+ ->
  implementing, well developed, embedded), with a caution when balance misses its
  target. None stored -> no suggestion. ccm-wales has no stage texts for it.
- Elements of ccm-wales 9.4 and 9.5 have no stage texts in the seed, so their facts
  are shown without a suggestion.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careweave.care import evaluations
from careweave.care.evaluations import WORDS
from careweave.measures.catalogue import load_catalogue
from careweave.measures.disclosure import count, safe_frame
from careweave.measures.results import RUNS_TABLE, TABLE
from careweave.stats.spc import Improvement, spc
from careweave.store.models import (
    Assessment,
    AuditEntry,
    BreakGlass,
    Objection,
    Organisation,
    Person,
)
from careweave.web.statcharts import VARIATION_WORDS

LOWER_LEVELS = "lower_levels_share"
LEVEL_4_CASE_MANAGED = "case_managed_share_level_4"
#: "Continually monitors": the latest stratification at most this many days old.
FRESH_DAYS = 92
#: "Receive intensive 1:1 case management": at least this share of level 4.
CASE_MANAGED_SHARE = 0.8
SEVERE_AND_COMPLEX = (
    "dementia",
    "serious mental illness",
    "learning disability",
    "frail",
    "end of life",
)
#: The six settings of spend (issue 17's split) and the linked tables that show each.
SETTINGS: dict[str, tuple[str, ...]] = {
    "acute": ("hospital_spells", "ae_attendances", "outpatient_appointments"),
    "primary care": ("primary_care_contacts",),
    "prescribing": ("medications",),
    "community": ("community_contacts",),
    "mental health": ("mental_health_contacts",),
    "social care": ("social_care_services", "care_placements", "reablement_episodes"),
}


@dataclass(frozen=True)
class Scope:
    """Whose figures: a locality's, or everyone's (``locality`` None)."""

    locality: str | None
    label: str


@dataclass(frozen=True)
class Fact:
    """One thing the data says: figures in words, where from, and whether it is there."""

    key: str
    title: str
    available: bool
    summary: str
    figures: tuple[tuple[str, str], ...] = ()
    source: str = ""
    data: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Suggestion:
    """The facts for one element and the stage they suggest (None: the data cannot tell)."""

    element_id: str
    facts: tuple[Fact, ...]
    stage: str | None
    reason: str


# ------------------------------------------------------------------ warehouse helpers


def _tables(con: Any) -> set[str]:
    if con is None:
        return set()
    return {
        str(r[0])
        for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def _has_rows(con: Any, table: str) -> bool:
    return con.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0] is True


def _day(v: Any) -> dt.date:
    return v.date() if isinstance(v, dt.datetime) else pd.Timestamp(v).date()


def _uk(d: dt.date | dt.datetime) -> str:
    return d.strftime("%-d %b %Y")


def _at(v: Any) -> dt.datetime:
    """A time as the audit log keeps it (ISO text) or as a datetime."""
    return dt.datetime.fromisoformat(v) if isinstance(v, str) else v


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


NO_WAREHOUSE = "No warehouse is attached, so the data cannot speak to this."


def scope_for(session: Session, org_id: str) -> Scope:
    """The locality ``org_id`` names in the store's organisations, else everyone."""
    org = session.get(Organisation, org_id)
    if org is not None and org.org_type == "locality":
        return Scope(org_id, f"{org.name} ({org_id})")
    return Scope(None, "everyone in the linked data")


def _locality_join(scope: Scope) -> tuple[str, list[Any]]:
    """SQL joining ``risk_scores r`` to the person's locality (the practice's grandparent)."""
    if scope.locality is None:
        return "", []
    return (
        " JOIN people p USING (nhs_number) JOIN organisations pr ON pr.org_id = p.practice_id "
        "JOIN organisations cl ON cl.org_id = pr.parent_id WHERE cl.parent_id = ? AND",
        [scope.locality],
    )


# ------------------------------------------------------------------ the facts


def stratification(con: Any, scope: Scope, today: dt.date) -> Fact:
    """When ``stratify`` last ran (its as-of dates) and the people at each level then."""
    title = "Risk stratification at the four levels"
    if con is None:
        return Fact("stratification", title, False, NO_WAREHOUSE)
    if "risk_scores" not in _tables(con):
        return Fact(
            "stratification",
            title,
            False,
            "No stratification has run (the warehouse has no risk_scores).",
            data={"runs": [], "levels": {}},
        )
    runs = [
        _day(r[0])
        for r in con.execute("SELECT DISTINCT as_of FROM risk_scores ORDER BY 1").fetchall()
    ]
    latest = runs[-1]
    join, params = _locality_join(scope)
    where = join if join else " WHERE"
    rows = con.execute(
        f"SELECT r.ccm_level, count(*) FROM risk_scores r{where} r.as_of = ? GROUP BY 1",
        [*params, latest],
    ).fetchall()
    levels = {int(lv): int(n) for lv, n in rows if lv is not None}
    in_use = [lv for lv in (1, 2, 3, 4) if levels.get(lv, 0) > 0]
    age = (today - latest).days
    figures = [
        ("Latest run", f"as of {_uk(latest)} ({age} days ago)"),
        ("Runs", f"{len(runs)}: " + ", ".join(_uk(r) for r in runs[-6:])),
    ]
    figures += [(f"Level {lv}", count(levels.get(lv, 0)).text) for lv in (1, 2, 3, 4)]
    every = len(in_use) == 4
    summary = (
        f"Stratified at {'all four levels' if every else f'{len(in_use)} of the four levels'} "
        f"as of {_uk(latest)}; {len(runs)} run{'s' if len(runs) != 1 else ''} in all."
    )
    return Fact(
        "stratification",
        title,
        True,
        summary,
        tuple(figures),
        f"risk_scores in the warehouse ({scope.label})",
        {"runs": runs, "latest": latest, "levels": levels, "all_levels": every, "age_days": age},
    )


def _series(con: Any, measure: str, scope: Scope) -> pd.DataFrame:
    """The monthly rows of ``measure`` for the scope (the locality's when measured), safe."""
    if con is None or TABLE not in _tables(con):
        return pd.DataFrame()
    by, value = ("all", "all")
    if scope.locality is not None:
        found = con.execute(
            f"SELECT count(*) FROM {TABLE} WHERE measure = ? AND group_by = 'locality' "
            "AND group_value = ?",
            [measure, scope.locality],
        ).fetchone()[0]
        if found:
            by, value = "locality", scope.locality
    frame = con.execute(
        f"SELECT measure, interval_start, interval_end, numerator, denominator, value, "
        f"ci_lower, ci_upper, computed_at FROM {TABLE} WHERE interval = 'month' "
        "AND measure = ? AND group_by = ? AND group_value = ? ORDER BY interval_start",
        [measure, by, value],
    ).df()
    if frame.empty:
        return frame
    safe = safe_frame(frame, load_catalogue().kpis)
    safe.attrs["group"] = "the whole population" if by == "all" else f"locality {value}"
    return safe


def lower_levels_trend(con: Any, scope: Scope) -> Fact:
    """``lower_levels_share`` month by month, with its SPC verdict (Making Data Count)."""
    title = "People in the lower risk levels (1-2)"
    if con is None:
        return Fact("lower-levels", title, False, NO_WAREHOUSE)
    frame = _series(con, LOWER_LEVELS, scope)
    shown = frame[frame["value"].notna()] if not frame.empty else frame
    if shown.empty:
        return Fact(
            "lower-levels",
            title,
            False,
            f"No {LOWER_LEVELS} figures: run `careweave measures` after `careweave stratify`.",
        )
    kpi = load_catalogue().kpis[LOWER_LEVELS]
    improvement: Improvement = {"higher": "increase", "lower": "decrease"}.get(  # type: ignore[assignment]
        kpi.direction, "neutral"
    )
    result = spc(
        [pd.Timestamp(d).date() for d in shown["interval_start"]],
        [float(v) for v in shown["value"]],
        improvement=improvement,
    )
    last = result.points[-1]
    first = result.points[0]
    words = VARIATION_WORDS[result.variation]
    summary = (
        f"{_pct(last.value)} in levels 1-2 in {last.date.strftime('%B %Y')} "
        f"(from {_pct(first.value)} in {first.date.strftime('%B %Y')}); SPC: {words.lower()}."
    )
    return Fact(
        "lower-levels",
        title,
        True,
        summary,
        (
            ("Latest month", f"{_pct(last.value)} ({last.date.strftime('%B %Y')})"),
            ("Months", str(len(result.points))),
            ("Mean", _pct(last.mean)),
            ("Variation", words),
        ),
        f"population_measures {LOWER_LEVELS}, {frame.attrs.get('group', '')}",
        {
            "variation": result.variation,
            "improving": result.variation.startswith("special_cause_improving"),
            "latest": last.value,
            "months": len(result.points),
        },
    )


def level4_case_managed(con: Any, scope: Scope) -> Fact:
    """The share of level 4 case-managed at the latest month (from the measures)."""
    title = "Level 4 receiving 1:1 case management"
    if con is None:
        return Fact("level-4-case-managed", title, False, NO_WAREHOUSE)
    frame = _series(con, LEVEL_4_CASE_MANAGED, scope)
    if frame.empty:
        return Fact(
            "level-4-case-managed",
            title,
            False,
            f"No {LEVEL_4_CASE_MANAGED} figures: run `careweave measures`.",
        )
    last = frame.iloc[-1]
    month = pd.Timestamp(last["interval_start"]).date()
    if pd.isna(last["value"]):
        return Fact(
            "level-4-case-managed",
            title,
            False,
            f"Not shown for {month.strftime('%B %Y')}: a count below 8 (small numbers are not shown).",
            source=f"population_measures {LEVEL_4_CASE_MANAGED}",
        )
    share = float(last["value"])
    return Fact(
        "level-4-case-managed",
        title,
        True,
        f"{_pct(share)} of people in level 4 were case-managed at the end of "
        f"{month.strftime('%B %Y')}.",
        (
            (
                "Case-managed",
                f"{float(last['numerator']):,.0f} of {float(last['denominator']):,.0f}",
            ),
            ("Share", _pct(share)),
        ),
        f"population_measures {LEVEL_4_CASE_MANAGED}, {frame.attrs.get('group', '')}",
        {"share": share, "month": month},
    )


def needs_report(con: Any, scope: Scope) -> Fact:
    """The latest health needs assessment (``careweave needs``): when, against which
    reference, and the registers with the largest gap between expected and recorded
    people (the scope's locality where it was assessed, else the whole board), from the
    disclosure-controlled figures the needs page shows."""
    from careweave.web import needs as nd

    title = "Health needs assessment"
    if con is None:
        return Fact("needs-report", title, False, NO_WAREHOUSE)
    run = nd.latest_run(con)
    if run is None:
        return Fact(
            "needs-report",
            title,
            False,
            "Not available: no health needs assessment has been run (careweave needs).",
        )
    by, value, label = "all", "all", "whole population"
    if scope.locality is not None and scope.locality in nd.units(con)["locality"]:
        by, value, label = "locality", scope.locality, scope.label
    rows = [r for r in nd.area_registers(con, by, value) if r["gap"] is not None]
    gaps = sorted((r for r in rows if r["gap"] > 0), key=lambda r: -r["gap"])[:3]
    return Fact(
        "needs-report",
        title,
        True,
        f"Needs assessed on {_uk(run.as_of)} (run {_uk(_day(run.computed_at))}): "
        f"{len(rows)} register{'' if len(rows) == 1 else 's'} against expected prevalence.",
        (
            ("Reference", f"{run.reference_source} ({run.reference_year})"),
            (
                "Largest gaps (people expected, not recorded)",
                "; ".join(f"{r['label']} {r['gap']:,.0f}" for r in gaps) or "none",
            ),
        ),
        f"needs_prevalence ({label}), /app/population/needs",
        {"as_of": run.as_of, "registers": len(rows)},
    )


def unified_assessment(session: Session, scope: Scope, now: dt.datetime) -> Fact:
    """People with a unified assessment in the last 12 months, by their current CCM level."""
    since = now - dt.timedelta(days=365)
    q = (
        select(Person.ccm_level, func.count(func.distinct(Assessment.nhs_number)))
        .join(Person, Person.nhs_number == Assessment.nhs_number)
        .where(Assessment.recorded_at >= since)
        .group_by(Person.ccm_level)
    )
    people = select(Person.ccm_level, func.count()).group_by(Person.ccm_level)
    if scope.locality is not None:
        q = q.where(Person.locality_id == scope.locality)
        people = people.where(Person.locality_id == scope.locality)
    assessed = {lv: int(n) for lv, n in session.execute(q) if lv is not None}
    total = {lv: int(n) for lv, n in session.execute(people) if lv is not None}
    figures = tuple(
        (f"Level {lv}", f"{count(assessed.get(lv, 0)).text} of {count(total.get(lv, 0)).text}")
        for lv in (1, 2, 3, 4)
    )
    levels = [lv for lv in (1, 2, 3, 4) if assessed.get(lv, 0) > 0]
    summary = "Unified assessments recorded in the last 12 months at " + (
        "all four levels." if len(levels) == 4 else f"{len(levels)} of the four levels."
    )
    return Fact(
        "unified-assessment",
        "Unified assessment across the four levels",
        True,
        summary,
        figures,
        f"assessments in the operational store, people by current level ({scope.label})",
        {"assessed": assessed, "levels": levels},
    )


def information_governance(session: Session, now: dt.datetime) -> Fact:
    """Relationship enforcement, break-glass, objections honoured, the audit chain."""
    since = now - dt.timedelta(days=365)
    grants = session.execute(
        select(func.count()).select_from(BreakGlass).where(BreakGlass.granted_at >= since)
    ).scalar_one()
    unreviewed = session.execute(
        select(func.count())
        .select_from(BreakGlass)
        .where(BreakGlass.granted_at >= since, BreakGlass.reviewed_at.is_(None))
    ).scalar_one()
    objections: dict[str, int] = {
        str(k): int(n)
        for k, n in session.execute(
            select(Objection.kind, func.count())
            .where(Objection.withdrawn_at.is_(None))
            .group_by(Objection.kind)
        ).all()
    }
    check = session.execute(
        select(AuditEntry.at, AuditEntry.detail)
        .where(AuditEntry.action == "verify", AuditEntry.resource == "audit_log")
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if check is None:
        chain, intact = "No verification recorded (run `careweave audit verify --record`).", None
    else:
        intact = str(check[1]).startswith("intact")
        chain = (
            f"{'Intact' if intact else 'Broken'} when verified on {_uk(_at(check[0]))}: {check[1]}"
        )
    kinds = ", ".join(
        f"{k.replace('_', ' ')} {count(int(n)).text}" for k, n in sorted(objections.items())
    )
    figures = (
        ("Legitimate-relationship check", "On for every record (it cannot be turned off)"),
        ("Break-glass in the last 12 months", f"{grants} ({unreviewed} not yet reviewed)"),
        ("Objections honoured", kinds or "none recorded"),
        ("Audit chain", chain),
    )
    return Fact(
        "information-governance",
        "Information governance",
        True,
        "Record access needs a legitimate relationship; objections are applied to sharing and "
        "to analysts' data; "
        + (
            "the audit chain's last recorded check found it intact."
            if intact
            else "the audit chain's last recorded check found it broken."
            if intact is False
            else "no audit-chain check is recorded."
        ),
        figures,
        "break_glass, objections and audit_log in the operational store",
        {"intact": intact, "break_glass": grants, "unreviewed": unreviewed},
    )


def measures_refresh(con: Any, now: dt.datetime) -> Fact:
    """How often the measures are refreshed: the ``population_measures`` run dates."""
    title = "How often performance measures refresh"
    if con is None:
        return Fact("measures-refresh", title, False, NO_WAREHOUSE)
    have = _tables(con)
    if RUNS_TABLE in have:
        stamps = [
            r[0] for r in con.execute(f"SELECT computed_at FROM {RUNS_TABLE} ORDER BY 1").fetchall()
        ]
        where = f"{RUNS_TABLE} (the run log)"
    elif TABLE in have:
        stamps = [
            r[0]
            for r in con.execute(f"SELECT DISTINCT computed_at FROM {TABLE} ORDER BY 1").fetchall()
        ]
        where = f"{TABLE} computed-at times (runs before the run log; replaced runs not seen)"
    else:
        stamps = []
        where = "the warehouse has no population_measures"
    if not stamps:
        return Fact(
            "measures-refresh",
            title,
            True,
            "The measures have never been run.",
            (),
            where,
            {"runs": 0, "median_days": None, "since_last_days": None},
        )
    days = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(stamps)]
    median = statistics.median(days) if days else None
    last = stamps[-1].replace(tzinfo=dt.UTC) if stamps[-1].tzinfo is None else stamps[-1]
    since = (now - last).total_seconds() / 86400
    every = "" if median is None else f"; a median of {median:.1f} days apart"
    return Fact(
        "measures-refresh",
        title,
        True,
        f"{len(stamps)} measures run{'s' if len(stamps) != 1 else ''}, the latest on "
        f"{_uk(last)}{every}.",
        (
            ("Runs", str(len(stamps))),
            ("Latest", f"{_uk(last)} ({since:.0f} days ago)"),
            ("Median interval", "–" if median is None else f"{median:.1f} days"),
        ),
        where,
        {"runs": len(stamps), "median_days": median, "since_last_days": since},
    )


def schemes(con: Any, budget: Path | None = None) -> Fact:
    """Schemes with targets from the budget file (the settings' ``budget_file``, else the
    shipped example), reported from the measures (careweave.budgets.report): how many
    schemes and KPI targets, and at the latest month how many are on trajectory and how
    many are forecast to meet their target."""
    from careweave.budgets.file import example_path, load_budget
    from careweave.budgets.report import report
    from careweave.errors import InputError

    title = "Schemes with targets"
    path = budget if budget is not None else example_path()
    try:
        b = load_budget(path)
    except InputError as e:
        return Fact("schemes", title, False, f"The budget file does not validate: {e}")
    targets = [k for s in b.scheme for k in s.kpi if not k.monitor_only]
    allocated = sum(s.allocation for s in b.scheme)
    contributed = sum(p.contribution for p in b.partner)
    where = f"budget file {path.name} (careweave budgets)"
    summary = (
        f"{len(b.scheme)} scheme{'s' if len(b.scheme) != 1 else ''} in {path.name}, "
        f"£{allocated:,.0f} of £{contributed:,.0f} allocated, with {len(targets)} KPI "
        f"target{'s' if len(targets) != 1 else ''}"
    )
    figures: list[tuple[str, str]] = [
        ("Schemes", str(len(b.scheme))),
        ("KPI targets", str(len(targets))),
        ("Allocated", f"£{allocated:,.0f} of £{contributed:,.0f}"),
    ]
    data: dict[str, Any] = {"schemes": len(b.scheme), "targets": len(targets)}
    if con is None or TABLE not in _tables(con):
        return Fact(
            "schemes",
            title,
            True,
            summary + "; no measures to report them against.",
            tuple(figures),
            where,
            data,
        )
    r = report(con, b, path.name)
    kpis = [k for s in r.schemes for k in s.kpis if not k.spec.monitor_only]
    latest = [k.latest for k in kpis]
    on = sum(1 for x in latest if x is not None and x.on_track)
    measured = sum(1 for x in latest if x is not None and x.on_track is not None)
    meets = sum(1 for k in kpis if k.forecast_on_target)
    forecast = sum(1 for k in kpis if k.forecast_on_target is not None)
    figures += [
        ("On trajectory at the latest month", f"{on} of {measured}"),
        ("Forecast to meet the target", f"{meets} of {forecast}"),
    ]
    data.update(on_trajectory=on, measured=measured, forecast_meets=meets, forecast=forecast)
    return Fact(
        "schemes",
        title,
        True,
        f"{summary}; {on} of {measured} on trajectory at the latest month, {meets} of "
        f"{forecast} forecast to meet the target.",
        tuple(figures),
        where + " and population_measures",
        data,
    )


def evaluation(session: Session) -> Fact:
    """The latest stored evaluation of case management (``careweave evaluate --store``):
    its primary outcome's degree of impact, CI and verdict."""
    title = "Impact of case management (evaluation)"
    r = evaluations.latest(session, "case_management")
    if r is None:
        return Fact(
            "evaluation",
            title,
            False,
            "No evaluation result stored: run `careweave evaluate --store URL` to keep one.",
        )
    o = r.outcomes[r.primary_outcome]
    shown = WORDS.get(r.primary_outcome, r.primary_outcome)
    ci = f"{100 * o['ci_low']:+.1f}% to {100 * o['ci_high']:+.1f}%"
    naive = o.get("naive_before_after")
    return Fact(
        "evaluation",
        title,
        True,
        r.verdict,
        (
            ("Evaluated", _uk(r.run_at)),
            ("Outcome", shown),
            ("Effect (95% CI)", f"{100 * o['effect']:+.1f}% ({ci})"),
            ("Naive before/after", "–" if naive is None else f"{100 * naive:+.1f}%"),
            ("Degree of impact", r.degree),
            ("Matched", f"{count(r.matched).text} of {count(r.treated).text} enrolled"),
        ),
        f"evaluation_results {r.id} in the operational store (method {r.definition_version})",
        {
            "degree": r.degree,
            "effect": o["effect"],
            "ci_low": o["ci_low"],
            "ci_high": o["ci_high"],
            "balance_max_smd": r.balance_max_smd,
        },
    )


def settings_linked(con: Any) -> Fact:
    """Which of the six settings of spend have rows in the linked data."""
    title = "Settings in the linked data"
    if con is None:
        return Fact("settings", title, False, NO_WAREHOUSE)
    have = _tables(con)
    present = [
        name
        for name, tabs in SETTINGS.items()
        if any(t in have and _has_rows(con, t) for t in tabs)
    ]
    missing = [s for s in SETTINGS if s not in present]
    return Fact(
        "settings",
        title,
        True,
        f"{len(present)} of the six settings have activity in the linked data.",
        (
            ("Present", ", ".join(present) or "none"),
            ("Missing", ", ".join(missing) or "none"),
        ),
        "the linked activity tables in the warehouse",
        {"present": present},
    )


def segments_in_use(con: Any, scope: Scope) -> Fact:
    """The need segments with people at the latest stratification."""
    title = "Population segments in use"
    if con is None:
        return Fact("segments", title, False, NO_WAREHOUSE)
    if "risk_scores" not in _tables(con):
        return Fact("segments", title, False, "No stratification has run, so no segments.")
    latest = con.execute("SELECT max(as_of) FROM risk_scores").fetchone()[0]
    join, params = _locality_join(scope)
    where = join if join else " WHERE"
    rows = con.execute(
        f"SELECT split_part(r.segment, ' / ', 2) AS need, count(*) FROM risk_scores r{where} "
        "r.as_of = ? AND r.segment IS NOT NULL GROUP BY 1 ORDER BY 2 DESC",
        [*params, latest],
    ).fetchall()
    needs = {str(n): int(c) for n, c in rows if n}
    severe = [n for n in SEVERE_AND_COMPLEX if needs.get(n, 0) > 0]
    return Fact(
        "segments",
        title,
        True,
        f"{len(needs)} need segments in use as of {_uk(_day(latest))}, "
        f"{len(severe)} of the five severe and complex ones.",
        tuple((n, count(c).text) for n, c in needs.items()),
        f"risk_scores segments at the latest run ({scope.label})",
        {"needs": needs, "severe": severe},
    )


# ------------------------------------------------------------------ gathering and rules


@dataclass
class Facts:
    """Every fact, computed once per assessment view."""

    by_key: dict[str, Fact]

    def __getitem__(self, key: str) -> Fact:
        return self.by_key[key]


def gather(
    session: Session, con: Any, org_id: str, now: dt.datetime, budget: Path | None = None
) -> tuple[Scope, Facts]:
    scope = scope_for(session, org_id)
    facts = [
        stratification(con, scope, now.date()),
        lower_levels_trend(con, scope),
        level4_case_managed(con, scope),
        needs_report(con, scope),
        unified_assessment(session, scope, now),
        information_governance(session, now),
        measures_refresh(con, now),
        schemes(con, budget),
        evaluation(session),
        settings_linked(con),
        segments_in_use(con, scope),
    ]
    return scope, Facts({f.key: f for f in facts})


Rule = Callable[[Facts], tuple[str | None, str]]


def _needs_assessment(f: Facts) -> tuple[str | None, str]:
    s = f["stratification"]
    if not s.available:
        return ("a", "No stratification has run yet.") if "runs" in s.data else (None, s.summary)
    if not s.data["all_levels"]:
        return "a", "The latest stratification does not use all four levels."
    lower, cm = f["lower-levels"], f["level-4-case-managed"]
    fresh = s.data["age_days"] <= FRESH_DAYS
    improving = lower.available and lower.data["improving"]
    managed = cm.available and cm.data["share"] >= CASE_MANAGED_SHARE
    if fresh and improving and managed:
        return "c", (
            f"Stratified within {FRESH_DAYS} days at all four levels, the share in levels 1-2 "
            f"is improving (special cause) and at least {CASE_MANAGED_SHARE:.0%} of level 4 "
            "are case-managed; the joint needs assessment is for you to judge."
        )
    missing = [
        text
        for ok, text in (
            (fresh, f"a stratification within {FRESH_DAYS} days"),
            (improving, "special-cause improvement in the share in levels 1-2"),
            (managed, f"at least {CASE_MANAGED_SHARE:.0%} of level 4 case-managed"),
        )
        if not ok
    ]
    return "b", "Stratification at all four levels is in use; stage c would need " + "; ".join(
        missing
    ) + "."


def _basis_for_model(f: Facts) -> tuple[str | None, str]:
    levels = f["unified-assessment"].data["levels"]
    if len(levels) == 4:
        return (
            "b",
            "Unified assessments are recorded at all four levels; stage c (outcomes reviewed) is not in the data.",
        )
    return "a", f"Unified assessments are recorded at {len(levels)} of the four levels."


def _population_addressed(f: Facts) -> tuple[str | None, str]:
    s = f["stratification"]
    if not s.available:
        return None, "No stratification has run."
    used = {lv for lv, n in s.data["levels"].items() if n > 0}
    severe = f["segments"].data.get("severe", []) if f["segments"].available else []
    if used >= {1, 2, 3, 4} and len(severe) == len(SEVERE_AND_COMPLEX):
        return (
            "embedded",
            "All four levels and every severe and complex segment have people in them.",
        )
    if used >= {1, 2, 3, 4}:
        return (
            "well-developed",
            "All four levels are in use; not every severe and complex segment is.",
        )
    if used >= {3, 4}:
        return "implementing", "Levels 3 and 4 are in use, not the whole population."
    return "small-start", "Only the highest-risk level is in use."


def _spend_included(f: Facts) -> tuple[str | None, str]:
    s = f["settings"]
    if not s.available or not s.data["present"]:
        return None, "No settings in the linked data."
    n = len(s.data["present"])
    stage = {1: "small-start", 2: "implementing", 6: "embedded"}.get(n, "well-developed")
    return stage, f"{n} of the six settings are in the linked data."


def _information_governance(f: Facts) -> tuple[str | None, str]:
    ig, s = f["information-governance"], f["settings"]
    if ig.data["intact"] is False:
        return "small-start", "The last recorded audit-chain check found the chain broken."
    n = len(s.data["present"]) if s.available else 0
    if n == 0:
        return None, "No settings in the linked data."
    if n == 6 and ig.data["intact"]:
        return (
            "embedded",
            "All six settings are linked under the relationship check, with an intact audit chain.",
        )
    if n == 1:
        return "implementing", "One setting is linked under the relationship check."
    return "well-developed", f"{n} settings are linked under the relationship check" + (
        "." if ig.data["intact"] else "; no intact audit-chain check is recorded."
    )


def _performance(f: Facts) -> tuple[str | None, str]:
    m = f["measures-refresh"]
    if not m.available:
        return None, m.summary
    if m.data["runs"] == 0:
        return "small-start", "The measures have never been run."
    median = m.data["median_days"]
    if median is None or median > FRESH_DAYS:
        return "implementing", "The measures have run once, or more than 92 days apart."
    if median <= 1 and m.data["since_last_days"] <= 2:
        return "embedded", "The measures refresh daily or more often."
    return "well-developed", f"The measures refresh every {median:.0f} days or so."


#: Seed 001's degrees of impact -> the nine areas' stages.
DEGREE_STAGES = {
    "0%": "small-start",
    "1-5%": "implementing",
    "5-9%": "well-developed",
    "10%+": "embedded",
}


def _degree_of_impact(f: Facts) -> tuple[str | None, str]:
    e = f["evaluation"]
    if not e.available:
        return None, "No evaluation result is stored."
    d = e.data
    if d["degree"] not in DEGREE_STAGES:
        return None, "The latest evaluation had too few events to estimate an impact."
    if d["ci_low"] <= 0 <= d["ci_high"]:
        return "small-start", (
            "The latest evaluation's 95% CI includes no change: no impact is shown (0%)."
        )
    if d["effect"] > 0:
        return "small-start", (
            "The latest evaluation shows more activity with case management, not less: "
            "no beneficial impact (0%)."
        )
    stage = DEGREE_STAGES[d["degree"]]
    caution = (
        " The matched groups miss the balance target, so treat it with caution."
        if d["balance_max_smd"] >= 0.1
        else ""
    )
    return stage, f"The latest evaluation shows a {d['degree']} reduction.{caution}"


def _no_stage(reason: str) -> Rule:
    return lambda f: (None, reason)


NO_TEXTS = "The seed gives no stage texts for this element, so no stage is suggested."

#: matrix -> element -> (fact keys, rule)
ELEMENTS: dict[str, dict[str, tuple[tuple[str, ...], Rule]]] = {
    "ccm-wales": {
        "needs-assessment": (
            ("stratification", "lower-levels", "level-4-case-managed", "needs-report"),
            _needs_assessment,
        ),
        "basis-for-model": (("unified-assessment",), _basis_for_model),
        "commissioning": (("schemes",), _no_stage(NO_TEXTS)),
        "monitoring-progress": (("measures-refresh", "lower-levels"), _no_stage(NO_TEXTS)),
        "performance-management": (("measures-refresh",), _no_stage(NO_TEXTS)),
        "evaluation-outcomes": (("evaluation",), _no_stage(NO_TEXTS)),
        "information-communication": (("information-governance",), _no_stage(NO_TEXTS)),
    },
    "integration-nine-areas": {
        "degree-of-impact": (("evaluation",), _degree_of_impact),
        "population-addressed": (("stratification", "segments"), _population_addressed),
        "spend-included": (("settings",), _spend_included),
        "information-governance": (("information-governance", "settings"), _information_governance),
        "performance": (("measures-refresh",), _performance),
        "payment": (
            ("schemes",),
            _no_stage(
                "Whether payment follows the schemes' targets is not in the data, so no stage "
                "is suggested."
            ),
        ),
        "performance-measures": (
            ("schemes",),
            _no_stage(
                "Whether payment follows the schemes' targets is not in the data, so no stage "
                "is suggested."
            ),
        ),
    },
}


def suggestions(matrix_id: str, facts: Facts) -> dict[str, Suggestion]:
    """For each element of the matrix the data speaks to: its facts and suggested stage."""
    out: dict[str, Suggestion] = {}
    for element_id, (keys, rule) in ELEMENTS.get(matrix_id, {}).items():
        stage, reason = rule(facts)
        out[element_id] = Suggestion(element_id, tuple(facts[k] for k in keys), stage, reason)
    return out


def for_assessment(
    session: Session,
    con: Any,
    matrix_id: str,
    org_id: str,
    now: dt.datetime,
    budget: Path | None = None,
) -> tuple[Scope, dict[str, Suggestion]]:
    """The evidence for an assessment of ``org_id`` on ``matrix_id``, now (``budget``: the
    budget file, None for the shipped example)."""
    scope, facts = gather(session, con, org_id, now, budget)
    return scope, suggestions(matrix_id, facts)


def fact_json(f: Fact) -> dict[str, Any]:
    return {
        "key": f.key,
        "title": f.title,
        "available": f.available,
        "summary": f.summary,
        "figures": [{"label": k, "value": v} for k, v in f.figures],
        "source": f.source,
    }


def to_json(scope: Scope, found: dict[str, Suggestion]) -> dict[str, Any]:
    """The evidence as ``careweave maturity evidence --json`` prints it."""
    return {
        "scope": scope.label,
        "elements": {
            k: {
                "suggested_stage": s.stage,
                "reason": s.reason,
                "facts": [fact_json(f) for f in s.facts],
            }
            for k, s in found.items()
        },
    }
