"""Discharge planning from day one: an admission opens the plan, the discharge closes it.

An ``admission`` event (care/events.py) opens a discharge plan for the person
(one open plan per person: a second admission while in hospital joins it), with
the expected date of discharge when the hospital sends it
(``payload.expected_discharge_date``), and a checklist (``CHECKLIST``): package
of care confirmed or changed, equipment, medicines, transport, follow-up. The
admission's routing rule (care/data/routing.toml) gives the social worker and the
home-care provider their tasks on the same day.

Staff then set the expected date, the discharge-ready date (the day the team
judges the person ready to leave) and tick the checklist on the plan's page;
each change is told in one sentence to the people the admission rule reached and
the lead professional, and a change against an older ``version`` is refused (409).

Two flags, both pure functions of the plan and the date:

- ``weekend_flag``: the plan is due (expected date, else ready date) on a day
  before a weekend or a bank holiday in England and Wales
  (care/data/bank_holidays.toml: Friday, Saturday, Sunday, a bank holiday or the
  day before one) and its package of care is not yet confirmed: the Jones story's
  "as it is Friday, this is left until Monday". Shown on the ward's and the
  co-ordinator's discharge list, their home page and the patient page.
- ``delayed_days``: whole days from the discharge-ready date to the discharge
  (to today while still in hospital). Fixed on the plan at discharge
  (``discharge_plans.delayed_days``), the column for ``careweave extract`` to read (not yet read) for
  the delayed-discharge KPI (measures catalogue ``delayed_discharge_bed_days_*``:
  ``hospital_spells.discharge_ready_date`` to ``discharge_date``).

At discharge the package of care is restarted, changed, replaced or ended on
purpose (``PACKAGE_DECISIONS``): the plan's page will not record a discharge
without that choice; a ``discharge`` event that arrives first (from the
hospital's system) closes the plan, flags it and gives the social worker a task
to decide within 4 hours, so the old package is never silently kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from careweave.care.context import Ctx
from careweave.care.notify import new_task, route, task_owner
from careweave.care.wording import person_name, possessive, uk_date, uk_time
from careweave.security import access, audit
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.store.db import insert_now
from careweave.store.models import DischargePlan, Event, Notification, Person, Task, User

CHECKLIST: dict[str, str] = {
    "package": "Package of care confirmed or changed",
    "equipment": "Equipment in place",
    "medicines": "Medicines to take home",
    "transport": "Transport home",
    "follow_up": "Follow-up arranged",
}
ITEM_STATUSES: dict[str, str] = {"to_do": "To do", "done": "Done", "not_needed": "Not needed"}
PACKAGE_DECISIONS: dict[str, str] = {
    "restart": "restart the package as it was",
    "change": "change the package",
    "new": "start a new package",
    "none": "no package needed",
}
# A decision that is not "as before" must say what the new arrangement is.
NEEDS_NOTE = ("change", "new")
DECIDE_HOURS = 4
SOCIAL_CARE = "social-care-assessment"
BANK_HOLIDAYS = Path(__file__).parent / "data" / "bank_holidays.toml"


@functools.cache
def bank_holidays() -> frozenset[dt.date]:
    """England and Wales bank holidays (care/data/bank_holidays.toml)."""
    with BANK_HOLIDAYS.open("rb") as f:
        data = tomllib.load(f)
    return frozenset(d for d in data["dates"] if isinstance(d, dt.date))


def working_day(day: dt.date, holidays: frozenset[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def next_working_day(day: dt.date, holidays: frozenset[dt.date]) -> dt.date:
    """Pure: the first working day after ``day``."""
    nxt = day + dt.timedelta(days=1)
    while not working_day(nxt, holidays):
        nxt += dt.timedelta(days=1)
    return nxt


def due_date(plan: DischargePlan) -> dt.date | None:
    """The day the plan is working to: the expected date of discharge, else the ready date."""
    return plan.expected_discharge_date or plan.discharge_ready_date


def package_confirmed(plan: DischargePlan) -> bool:
    item = (plan.checklist or {}).get("package") or {}
    return item.get("status") in ("done", "not_needed")


def weekend_flag(plan: DischargePlan, holidays: frozenset[dt.date] | None = None) -> str | None:
    """Pure: why a discharge due before a weekend or bank holiday will wait, or None."""
    holidays = bank_holidays() if holidays is None else holidays
    due = due_date(plan)
    if plan.discharged_at is not None or due is None or package_confirmed(plan):
        return None
    if working_day(due, holidays) and working_day(due + dt.timedelta(days=1), holidays):
        return None
    resume = next_working_day(due, holidays)
    return (
        f"Due home {due.strftime('%A %-d %B')} without a confirmed package of care: "
        f"nothing new starts until {resume.strftime('%A %-d %B')}"
    )


def delayed_days(plan: DischargePlan, today: dt.date) -> int:
    """Pure: whole days in hospital after the discharge-ready date (to the discharge, or
    to ``today`` while still in hospital); 0 with no ready date."""
    if plan.discharge_ready_date is None:
        return 0
    end = plan.discharged_at.date() if plan.discharged_at is not None else today
    return max(0, (end - plan.discharge_ready_date).days)


def undecided(plan: DischargePlan) -> bool:
    """Discharged with no decision about the package of care yet."""
    return plan.discharged_at is not None and plan.package_decision is None


def _entry(ctx: Ctx, what: str, **extra: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "what": what,
        "at": ctx.now.isoformat(),
        "by": ctx.user.username,
        "by_name": ctx.user.display_name,
    }
    e.update({k: v for k, v in extra.items() if v is not None})
    return e


def _date(payload: dict[str, Any], key: str) -> dt.date | None:
    value = payload.get(key)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"payload.{key}: {value!r} is not a date (e.g. 2026-12-04)") from None


def check_admission_payload(payload: dict[str, Any]) -> None:
    """An admission's optional ``expected_discharge_date`` must be a date."""
    _date(payload, "expected_discharge_date")


def current(session: Session, nhs_number: str) -> DischargePlan | None:
    """The person's open plan, else their latest one."""
    return session.execute(
        select(DischargePlan)
        .where(DischargePlan.nhs_number == nhs_number)
        .order_by(DischargePlan.discharged_at.is_not(None), DischargePlan.id.desc())
        .limit(1)
    ).scalar_one_or_none()


# The person's open plan (an admission opens or joins it, a discharge closes it): built
# once, as every admission and discharge event asks.
_OPEN_PLAN = select(DischargePlan).where(
    DischargePlan.nhs_number == bindparam("nhs"), DischargePlan.discharged_at.is_(None)
)


def open_on_admission(ctx: Ctx, ev: Event) -> DischargePlan:
    """Open the plan for an admission (events.ingest has already routed the event)."""
    plan = ctx.session.execute(_OPEN_PLAN, {"nhs": ev.nhs_number}).scalar_one_or_none()
    payload = ev.payload or {}
    if plan is not None:
        plan.history = [*plan.history, _entry(ctx, "admitted again", event_id=ev.id)]
        return plan
    plan = DischargePlan(
        nhs_number=ev.nhs_number,
        admission_event_id=ev.id,
        admitted_at=ev.occurred_at,
        hospital=(str(payload["hospital"])[:200] if payload.get("hospital") else None),
        ward=(str(payload["ward"])[:200] if payload.get("ward") else None),
        expected_discharge_date=_date(payload, "expected_discharge_date"),
        checklist={k: {"status": "to_do"} for k in CHECKLIST},
        history=[_entry(ctx, "opened on admission", event_id=ev.id)],
        version=1,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    insert_now(ctx.session, plan)  # its id at once, without a flush (store/db.py)
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="discharge_plan",
        resource_id=plan.id,
        nhs_number=plan.nhs_number,
        detail="opened on admission",
        now=ctx.now,
    )
    return plan


def close_on_discharge(
    ctx: Ctx, ev: Event, fallback_service: str, *, died: bool = False
) -> list[Task]:
    """Close the open plan at a discharge (or a death in hospital); without a package
    decision, flag it and give the social worker (else social care's duty queue) a task
    to decide."""
    plan = ctx.session.execute(_OPEN_PLAN, {"nhs": ev.nhs_number}).scalar_one_or_none()
    if plan is None:
        return []
    plan.discharged_at = max(ev.occurred_at, plan.admitted_at)
    plan.discharge_event_id = ev.id
    plan.delayed_days = delayed_days(plan, plan.discharged_at.date())
    plan.version += 1
    plan.updated_at = ctx.now
    plan.history = [*plan.history, _entry(ctx, "died" if died else "discharged", event_id=ev.id)]
    if died and plan.package_decision is None:
        plan.package_decision, plan.package_note = "none", "died in hospital"
    if plan.package_decision is not None:
        return []
    person = ctx.session.get(Person, ev.nhs_number)
    assert person is not None
    user, queue = task_owner(
        ctx.session, ev.nhs_number, "social_worker", SOCIAL_CARE, fallback_service
    )
    title = (
        f"{person_name(person)} went home without a decision on the package of care: "
        "restart it or change it today"
    )
    return [
        new_task(
            ctx.session,
            ev.nhs_number,
            title=title,
            due_at=ev.occurred_at + dt.timedelta(hours=DECIDE_HOURS),
            source=f"discharge:{plan.id}",
            now=ctx.now,
            owner_user_id=user,
            owner_service_id=queue,
            owner_role="social_worker",
            event_id=ev.id,
        )
    ]


def get_plan(ctx: Ctx, nhs_number: str, action: str = "read") -> DischargePlan:
    ctx.person(nhs_number, "care_plan", action)
    plan = current(ctx.session, nhs_number)
    if plan is None:
        raise NotFound(f"nhs_number: {nhs_number} has no discharge plan")
    return plan


@dataclass(frozen=True)
class Changes:
    """What a save of the plan's page may change (None: leave as it is)."""

    expected_discharge_date: dt.date | None = None
    discharge_ready_date: dt.date | None = None
    items: dict[str, str] | None = None
    package_decision: str | None = None
    package_note: str | None = None


def _validate(plan: DischargePlan, c: Changes) -> None:
    admitted = plan.admitted_at.date()
    for name, day in (
        ("expected_discharge_date", c.expected_discharge_date),
        ("discharge_ready_date", c.discharge_ready_date),
    ):
        if day is not None and day < admitted:
            raise Invalid(f"{name}: must be on or after the admission ({admitted.isoformat()})")
    for item, status in (c.items or {}).items():
        if item not in CHECKLIST:
            raise Invalid(f"items.{item}: not a checklist item ({', '.join(CHECKLIST)})")
        if status not in ITEM_STATUSES:
            raise Invalid(f"items.{item}: one of {', '.join(ITEM_STATUSES)}")
    decision = c.package_decision or plan.package_decision
    if c.package_decision is not None and c.package_decision not in PACKAGE_DECISIONS:
        raise Invalid(f"package_decision: one of {', '.join(PACKAGE_DECISIONS)}")
    if (c.items or {}).get("package") == "done" and decision is None:
        raise Invalid(
            "package_decision: say whether the package restarts, changes, is new or is not "
            "needed before confirming it"
        )
    note = c.package_note if c.package_note is not None else plan.package_note
    if c.package_decision in NEEDS_NOTE and not (note or "").strip():
        raise Invalid("package_note: say what the package will be")


def _words(plan: DischargePlan, c: Changes) -> list[str]:
    """The changes in words for the notification ('package of care confirmed: restart…')."""
    out: list[str] = []
    if c.expected_discharge_date and c.expected_discharge_date != plan.expected_discharge_date:
        out.append(f"expected home {c.expected_discharge_date.strftime('%A %-d %B')}")
    if c.discharge_ready_date and c.discharge_ready_date != plan.discharge_ready_date:
        out.append(f"ready for discharge from {c.discharge_ready_date.strftime('%A %-d %B')}")
    if c.package_decision and c.package_decision != plan.package_decision:
        said = PACKAGE_DECISIONS[c.package_decision]
        out.append(f"package of care: {said}" + (f" ({c.package_note})" if c.package_note else ""))
    for item, status in (c.items or {}).items():
        if status != (plan.checklist.get(item) or {}).get("status"):
            out.append(f"{CHECKLIST[item].lower()}: {ITEM_STATUSES[status].lower()}")
    return out


def told_names(ctx: Ctx, sent: dict[int, Notification]) -> list[str]:
    ids = list(sent)
    rows = ctx.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    names = {uid: name for uid, name in rows.tuples()}
    return [names[i] for i in ids if i in names]


def _tell(ctx: Ctx, plan: DischargePlan, subject: str) -> list[str]:
    """Everyone the admission rule reaches and the lead professional, not the actor."""
    targets = [t for rule in ctx.config.routing.for_event("admission") for t in rule.notify]
    sent: dict[int, Notification] = {}
    route(
        ctx.session,
        plan.nhs_number,
        [*targets, "lead_professional"],
        kind="discharge_plan",
        subject=subject,
        now=ctx.now,
        event_id=plan.admission_event_id,
        sent=sent,
        exclude_user=ctx.user.id,
    )
    return told_names(ctx, sent)


def update(ctx: Ctx, nhs_number: str, version: int, c: Changes) -> tuple[DischargePlan, list[str]]:
    """Save the plan's page: dates, checklist, package decision; returns who was told."""
    plan = get_plan(ctx, nhs_number, "write")
    if version != plan.version:
        raise Conflict(
            f"version: the discharge plan changed since you opened it (now version "
            f"{plan.version}); reload it and try again"
        )
    _validate(plan, c)
    words = _words(plan, c)
    if not words:
        return plan, []
    if c.expected_discharge_date is not None:
        plan.expected_discharge_date = c.expected_discharge_date
    if c.discharge_ready_date is not None:
        plan.discharge_ready_date = c.discharge_ready_date
    if c.package_decision is not None:
        plan.package_decision = c.package_decision
    elif (c.items or {}).get("package") == "not_needed" and plan.package_decision is None:
        plan.package_decision = "none"
    if c.package_note is not None:
        plan.package_note = c.package_note.strip() or None
    checklist = dict(plan.checklist)
    for item, status in (c.items or {}).items():
        if status != (checklist.get(item) or {}).get("status"):
            checklist[item] = {
                "status": status,
                "by_name": ctx.user.display_name,
                "at": ctx.now.isoformat(),
            }
    plan.checklist = checklist
    if plan.discharged_at is not None:
        plan.delayed_days = delayed_days(plan, plan.discharged_at.date())
    person = ctx.session.get(Person, nhs_number)
    assert person is not None
    subject = (
        f"{ctx.user.display_name} updated {possessive(person_name(person))} discharge plan: "
        + "; ".join(words)
        + "."
    )
    flag = weekend_flag(plan)
    if flag:
        subject += f" {flag}."
    told = _tell(ctx, plan, subject)
    plan.version += 1
    plan.updated_at = ctx.now
    plan.history = [*plan.history, _entry(ctx, "; ".join(words), told=told)]
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="discharge_plan",
        resource_id=plan.id,
        nhs_number=nhs_number,
        detail=f"version {plan.version}",
        now=ctx.now,
    )
    if plan.discharged_at is not None and plan.package_decision is not None:
        _close_decision_tasks(ctx, plan)
    return plan, told


def _close_decision_tasks(ctx: Ctx, plan: DischargePlan) -> None:
    """A decision made after the discharge closes the 'decide the package' task."""
    for t in ctx.session.execute(
        select(Task).where(
            Task.source == f"discharge:{plan.id}", Task.status.in_(("open", "in_progress"))
        )
    ).scalars():
        t.status, t.completed_at = "done", ctx.now
        t.owner_user_id = t.owner_user_id or ctx.user.id


@dataclass(frozen=True)
class Watched:
    """A plan on the discharge list, with its flags in words."""

    plan: DischargePlan
    person: Person
    weekend: str | None
    delayed: int
    undecided: bool

    @property
    def flagged(self) -> bool:
        return bool(self.weekend or self.delayed or self.undecided)


def watch_list(ctx: Ctx, limit: int = 200) -> list[Watched]:
    """The discharge list: plans still in hospital, and discharges whose package is not
    decided, about people the user may see; flagged first, then by due date. Audited as
    one entry naming the people shown."""
    ctx.require("care_plan", "read")
    rows = list(
        ctx.session.execute(
            select(DischargePlan, Person)
            .join(Person, Person.nhs_number == DischargePlan.nhs_number)
            .where(
                or_(
                    DischargePlan.discharged_at.is_(None),
                    DischargePlan.package_decision.is_(None),
                ),
                DischargePlan.admitted_at >= ctx.now - dt.timedelta(days=365),
            )
            .order_by(DischargePlan.id.desc())
            .limit(limit * 4)
        ).tuples()
    )
    seen = access.visible(ctx.session, ctx.user, {p.nhs_number for _, p in rows}, ctx.now)
    today = uk_date(ctx.now)
    out = [
        Watched(plan, person, weekend_flag(plan), delayed_days(plan, today), undecided(plan))
        for plan, person in rows
        if person.nhs_number in seen
    ][:limit]
    access.audit_list(
        ctx.session,
        ctx.user,
        "discharge_plan",
        {w.person.nhs_number for w in out},
        ctx.now,
        what="discharge list",
        hidden=len(rows) - len(out),
    )
    far = dt.date.max
    out.sort(key=lambda w: (not w.flagged, due_date(w.plan) or far, w.plan.id))
    return out


def summary(plan: DischargePlan, today: dt.date) -> str:
    """One line for the patient page: 'In hospital since 1 Dec 2026 09:00 (Ward 3)…'."""
    where = ", ".join(x for x in (plan.ward, plan.hospital) if x)
    text = f"In hospital since {uk_time(plan.admitted_at)}" + (f" ({where})" if where else "")
    if plan.discharged_at is not None:
        text = f"Discharged {uk_time(plan.discharged_at)}"
    if plan.expected_discharge_date and plan.discharged_at is None:
        text += f"; expected home {plan.expected_discharge_date.strftime('%A %-d %B')}"
    days = delayed_days(plan, today)
    if days:
        text += f"; ready since {plan.discharge_ready_date:%-d %B}: {days} day(s) delayed"
    return text
