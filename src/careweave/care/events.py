"""Events in: store, route by the rules to notifications and tasks, evaluate telehealth rules."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from careweave.care import discharge
from careweave.care.config import EVENT_TYPES, Measure, Telehealth, TelehealthRule
from careweave.care.context import Ctx
from careweave.care.incidents import ALARM_TYPES, open_incident
from careweave.care.notify import notify_team, route, task_for_role, team_roles
from careweave.care.relationships import carer_event
from careweave.security import audit
from careweave.security.errors import Forbidden, Invalid
from careweave.store.db import WRITE_REFUSED, attach_inserted, core, is_read_only
from careweave.store.models import (
    DischargePlan,
    Episode,
    Event,
    Incident,
    Notification,
    Person,
    Task,
    TelehealthThreshold,
    table_of,
)

MAX_SKEW = dt.timedelta(minutes=10)
_EVENTS = table_of(Event)


@dataclass
class Routed:
    event: Event
    duplicate: bool = False
    notifications: list[Notification] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    incident: Incident | None = None
    discharge_plan: DischargePlan | None = None


def _check_payload(ctx: Ctx, event_type: str, payload: dict[str, Any]) -> None:
    if event_type == "admission":
        discharge.check_admission_payload(payload)
    if event_type != "telehealth_reading":
        return
    measure = payload.get("measure")
    if measure not in ctx.config.telehealth.measures:
        known = ", ".join(sorted(ctx.config.telehealth.measures))
        raise Invalid(f"payload.measure: {measure!r} is not a telehealth measure ({known})")
    value = payload.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid("payload.value: a telehealth reading needs a numeric value")


def ingest(
    ctx: Ctx,
    nhs_number: str,
    event_type: str,
    occurred_at: dt.datetime,
    payload: dict[str, Any],
    external_id: str | None = None,
    source: str = "api",
) -> Routed:
    """Record one event and route it. Replaying the same ``external_id`` changes nothing."""
    if event_type not in EVENT_TYPES:
        raise Invalid(f"type: {event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    if occurred_at.tzinfo is None:
        raise Invalid("occurred_at: give a time zone (e.g. 2026-11-22T10:00:00Z)")
    if occurred_at > ctx.now + MAX_SKEW:
        raise Invalid("occurred_at: is in the future")
    _check_payload(ctx, event_type, payload)
    person = ctx.person(nhs_number, "event", "write", record=False)
    if ctx.scope is not None:
        why = ctx.scope.refuse_event(event_type, person.practice_id, person.locality_id)
        if why is not None:
            raise Forbidden(why)
    ev = _insert_event(
        ctx.session,
        external_id=external_id,
        nhs_number=nhs_number,
        type=event_type,
        occurred_at=occurred_at,
        received_at=ctx.now,
        payload=payload,
        source=source[:64],
    )
    if ev is None:  # the external id is stored already: a replay changes nothing
        existing = ctx.session.execute(
            select(Event).where(Event.external_id == external_id)
        ).scalar_one()
        if existing.nhs_number != nhs_number or existing.type != event_type:
            raise Invalid(f"external_id: {external_id!r} was already used for another event")
        audit.record(
            ctx.session,
            actor=ctx.user.username,
            action="write",
            resource="event",
            resource_id=existing.id,
            nhs_number=nhs_number,
            detail="duplicate external_id: ignored",
            now=ctx.now,
        )
        return Routed(existing, duplicate=True)
    out = Routed(ev)
    members = team_roles(ctx.session, nhs_number)
    routing = ctx.config.routing
    for rule in routing.for_event(event_type):
        out.notifications += route(
            ctx.session,
            nhs_number,
            rule.notify,
            kind=f"event:{event_type}",
            subject=rule.subject,
            now=ctx.now,
            event_id=ev.id,
            members=members,
        )
        for spec in rule.tasks:
            out.tasks.append(
                task_for_role(
                    ctx.session,
                    nhs_number,
                    spec.role,
                    service=spec.service,
                    fallback_service=routing.unowned_to,
                    title=spec.title,
                    due_at=occurred_at + dt.timedelta(hours=spec.due_hours),
                    source=f"event:{event_type}",
                    now=ctx.now,
                    event_id=ev.id,
                    members=members,
                )
            )
    if event_type in ALARM_TYPES:
        out.incident = open_incident(ctx, ev)
    if event_type == "admission":
        out.discharge_plan = discharge.open_on_admission(ctx, ev)
    elif event_type in ("discharge", "death"):
        out.tasks += discharge.close_on_discharge(
            ctx, ev, routing.unowned_to, died=event_type == "death"
        )
    told, raised = carer_event(ctx, ev, person, routing.unowned_to)
    out.notifications += told
    out.tasks += raised
    if event_type == "telehealth_reading":
        for alert in alerts_for(ctx.session, ctx.config.telehealth, person, ev):
            out.alerts.append(alert.id)
            out.notifications += notify_team(
                ctx.session,
                nhs_number,
                alert.notify,
                kind=f"telehealth:{alert.id}",
                subject=f"Telehealth alert: {alert.title}",
                now=ctx.now,
                event_id=ev.id,
                members=members,
            )
    if event_type == "death":
        for ep in ctx.session.execute(
            select(Episode).where(Episode.nhs_number == nhs_number, Episode.end_date.is_(None))
        ).scalars():
            ep.end_date = max(occurred_at.date(), ep.start_date)
            ep.outcome = "died"
        if person.date_of_death is None:
            person.date_of_death = occurred_at.date()
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="event",
        resource_id=ev.id,
        nhs_number=nhs_number,
        detail=f"{event_type}: {len(out.notifications)} notification(s), {len(out.tasks)} task(s)",
        now=ctx.now,
    )
    return out


_NEW_EVENT: dict[str, Any] = {}  # by dialect name: the statement below, built once


def _new_event_statement(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (external_id) DO NOTHING RETURNING id`` for ``dialect``."""
    found = _NEW_EVENT.get(dialect)
    if found is None:
        dml: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        found = _NEW_EVENT[dialect] = (
            dml(_EVENTS)
            .on_conflict_do_nothing(index_elements=[_EVENTS.c.external_id])
            .returning(_EVENTS.c.id)
        )
    return found


def _insert_event(session: Session, **values: Any) -> Event | None:
    """Store the event with one Core statement and give it back as a persistent ``Event``
    (in the session, nothing pending), or None when its ``external_id`` is stored already
    (in this transaction too: an earlier event of the same batch).

    The idempotency check is the insert itself (no SELECT first), and no ORM flush is
    needed for the new row's id: an event is never written through the ORM's unit of
    work. Safe under concurrency: a second request with the same id waits for the
    first's commit (PostgreSQL) or its writer lock (SQLite) and then finds the conflict."""
    if is_read_only(session):
        raise RuntimeError(WRITE_REFUSED)
    new_id = session.execute(
        _new_event_statement(session.get_bind().dialect.name), values
    ).scalar_one_or_none()
    if new_id is None:
        return None
    return attach_inserted(session, Event(id=new_id, **values))  # no INSERT at a flush


# ------------------------------------------------------------ telehealth


_THRESHOLDS = table_of(TelehealthThreshold)
_OWN_RANGE = select(_THRESHOLDS.c.low, _THRESHOLDS.c.high).where(
    _THRESHOLDS.c.nhs_number == bindparam("nhs"), _THRESHOLDS.c.measure == bindparam("measure")
)


def normal_range(
    session: Session, measure: str, default: Measure, nhs_number: str
) -> tuple[float | None, float | None]:
    own = core(session, _OWN_RANGE, {"nhs": nhs_number, "measure": measure}).one_or_none()
    if own is not None:
        return own.low, own.high
    return default.low, default.high


def out_of_range(value: float, low: float | None, high: float | None) -> bool:
    return (low is not None and value < low) or (high is not None and value > high)


def out_of_range_days(
    readings: Sequence[tuple[dt.datetime, float]],
    low: float | None,
    high: float | None,
    until: dt.date,
    window_days: int,
) -> int:
    """Pure: days in the ``window_days`` ending ``until`` with any out-of-range reading."""
    start = until - dt.timedelta(days=window_days - 1)
    return len(
        {t.date() for t, v in readings if start <= t.date() <= until and out_of_range(v, low, high)}
    )


def rise_within(readings: Sequence[tuple[dt.datetime, float]], at: dt.datetime, days: int) -> float:
    """Pure: the latest reading minus the lowest in the ``days`` before it."""
    window = [v for t, v in readings if at - dt.timedelta(days=days) <= t <= at]
    latest = [v for t, v in readings if t == at]
    if not window or not latest:
        return 0.0
    return latest[-1] - min(window)


_READINGS = select(_EVENTS.c.occurred_at, _EVENTS.c.payload).where(
    _EVENTS.c.nhs_number == bindparam("nhs"),
    _EVENTS.c.type == "telehealth_reading",
    _EVENTS.c.occurred_at >= bindparam("since"),
    _EVENTS.c.occurred_at <= bindparam("until"),
)


def _fires(
    session: Session, th: Telehealth, rule: TelehealthRule, person: Person, ev: Event
) -> bool:
    if ev.payload.get("measure") != rule.measure:
        return False
    if rule.condition and rule.condition not in (person.conditions or []):
        return False
    since = ev.occurred_at - dt.timedelta(days=rule.window_days + 1)
    rows = core(
        session,
        _READINGS,
        {"nhs": person.nhs_number, "since": since, "until": ev.occurred_at},
    ).all()
    readings = [(t, float(p["value"])) for t, p in rows if p.get("measure") == rule.measure]
    if rule.kind == "out_of_range_days":
        low, high = normal_range(
            session, rule.measure, th.measures[rule.measure], person.nhs_number
        )
        if not out_of_range(float(ev.payload["value"]), low, high):
            return False
        n = out_of_range_days(readings, low, high, ev.occurred_at.date(), rule.window_days)
        return n >= rule.min_days
    return rise_within(readings, ev.occurred_at, rule.window_days) > rule.amount


_NOTIFICATIONS = table_of(Notification)
_ALERTED = (
    select(_NOTIFICATIONS.c.id)
    .join(_EVENTS, _EVENTS.c.id == _NOTIFICATIONS.c.event_id)
    .where(
        _NOTIFICATIONS.c.nhs_number == bindparam("nhs"),
        _NOTIFICATIONS.c.kind == bindparam("kind"),
        _EVENTS.c.occurred_at >= bindparam("since"),
        _EVENTS.c.id != bindparam("event"),
    )
    .limit(1)
)


def _recently_alerted(session: Session, rule: TelehealthRule, person: Person, ev: Event) -> bool:
    """One alert per rule per window: no repeat while the same episode of instability lasts."""
    since = ev.occurred_at - dt.timedelta(days=rule.window_days)
    prior = core(
        session,
        _ALERTED,
        {
            "nhs": person.nhs_number,
            "kind": f"telehealth:{rule.id}"[:32],
            "since": since,
            "event": ev.id,
        },
    ).first()
    return prior is not None


def alerts_for(session: Session, th: Telehealth, person: Person, ev: Event) -> list[TelehealthRule]:
    return [
        r
        for r in th.rules
        if _fires(session, th, r, person, ev) and not _recently_alerted(session, r, person, ev)
    ]


def set_telehealth(
    ctx: Ctx,
    nhs_number: str,
    conditions: list[str] | None,
    thresholds: dict[str, tuple[float | None, float | None]],
) -> None:
    """Per-person telehealth settings: conditions the rules look at and own normal ranges."""
    person = ctx.person(nhs_number, "telehealth", "write")
    if conditions is not None:
        person.conditions = sorted(set(conditions))
    for measure, (low, high) in thresholds.items():
        if measure not in ctx.config.telehealth.measures:
            raise Invalid(f"thresholds.{measure}: not a telehealth measure")
        if low is not None and high is not None and low >= high:
            raise Invalid(f"thresholds.{measure}: low must be below high")
        row = ctx.session.execute(
            select(TelehealthThreshold).where(
                TelehealthThreshold.nhs_number == nhs_number,
                TelehealthThreshold.measure == measure,
            )
        ).scalar_one_or_none()
        if row is None:
            row = TelehealthThreshold(nhs_number=nhs_number, measure=measure)
            ctx.session.add(row)
        row.low, row.high, row.set_by, row.set_at = low, high, ctx.user.id, ctx.now
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="telehealth",
        nhs_number=nhs_number,
        now=ctx.now,
    )
