"""The alarm pathway: a fall / pendant alarm opens an incident in the control centre's queue.

A ``fall_alarm`` event (from a telecare platform, through the events API) opens
one incident in the telecare control centre's queue (``CONTROL_CENTRE``)::

    open -> dispatched -> arrived -> closed

Only the staff of the control centre or of rapid response (``RESPONDERS``,
care/services.py) move it on, after the usual permission and relationship checks
(security/access.py; an open incident is itself a relationship for those
services' staff). ``dispatched`` names the responder service (rapid response
unless told otherwise) and optionally a responder user; ``closed`` needs an
outcome from ``OUTCOMES``. Every change bumps ``version``; an illegal move or a
change made against an older version is 409, anyone else 403.

The standard is arrival within ``STANDARD`` (2 hours) of the alarm: an arrival
later than ``arrive_by`` sets ``breached``; so does any step made after it with
nobody yet arrived. Each step is told, in one sentence, to everyone the event's
routing rule reaches (care/data/routing.toml: the person's team, the lead
professional and the services' duty queues), through ``notify.route``; the
history entry keeps who was told. The outcome shows on the person's timeline.

The alarm's task (the routing rule's "Urgent home visit after fall alarm", same
``event_id``) follows the incident: dispatching to a named responder hands it to
them, arrival marks it in progress, closing marks it done.

The 2-hour clock runs on its own: ``check_breaches`` flags each incident past
``arrive_by`` with nobody arrived (``breached``), once, and tells everyone the
routing rule reaches (``incident_breach`` notifications). ``careweave serve``
runs it every minute in its background loop (care/background.py); ``careweave
incidents check-breaches`` runs it from a scheduler. Pages also compute the
clock on read, so a breach shows at once even between two checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from careweave.care import lifecycle
from careweave.care import services as service_staff
from careweave.care.config import CareConfig
from careweave.care.context import Ctx
from careweave.care.notify import route
from careweave.care.wording import person_name, possessive, uk_time
from careweave.security import access, audit
from careweave.security.errors import Conflict, Forbidden, Invalid, NotFound
from careweave.store.db import insert_now
from careweave.store.models import (
    Event,
    Incident,
    Notification,
    Person,
    Service,
    Task,
    User,
)

CONTROL_CENTRE = "telecare"
RAPID_RESPONSE = "rapid-response"
RESPONDERS = (CONTROL_CENTRE, RAPID_RESPONSE)
STANDARD = dt.timedelta(hours=2)
ALARM_TYPES = ("fall_alarm",)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("dispatched",),
    "dispatched": ("arrived",),
    "arrived": ("closed",),
    "closed": (),
}
STATUSES = tuple(TRANSITIONS)
OUTCOMES: dict[str, str] = {
    "no_conveyance": "no conveyance needed",
    "treated_at_home": "treated at home",
    "referred": "referred on",
    "conveyed_to_hospital": "conveyed to hospital",
    "admitted": "admitted to hospital",
}


def check_transition(current: str, new: str) -> None:
    """Pure rule: refuse any move the pathway does not allow."""
    lifecycle.check_transition(TRANSITIONS, current, new, "incident")


OPEN = ("open", "dispatched", "arrived")


def _tell(ctx: Ctx, inc: Incident, subject: str, kind: str = "incident") -> list[str]:
    """Tell everyone the alarm's routing rule reaches (not the actor); their names."""
    return tell_all(ctx.session, ctx.config, inc, subject, ctx.now, kind, ctx.user.id)


def tell_all(
    session: Session,
    config: CareConfig,
    inc: Incident,
    subject: str,
    now: dt.datetime,
    kind: str,
    exclude_user: int | None,
) -> list[str]:
    """Notify everyone the alarm event's routing rule reaches; their display names."""
    event = session.get(Event, inc.event_id)
    etype = event.type if event is not None else "fall_alarm"
    targets = [t for rule in config.routing.for_event(etype) for t in rule.notify]
    sent: dict[int, Notification] = {}
    route(
        session,
        inc.nhs_number,
        targets,
        kind=kind,
        subject=subject,
        now=now,
        event_id=inc.event_id,
        sent=sent,
        exclude_user=exclude_user,
    )
    ids = list(sent)
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    names = {uid: name for uid, name in rows.tuples()}
    return [names[i] for i in ids if i in names]


def is_late(inc: Incident, now: dt.datetime) -> bool:
    """Past the standard with nobody there yet, or arrived late: what the queue flags."""
    return inc.breached or (inc.arrived_at is None and now > inc.arrive_by)


def _follow_task(session: Session, inc: Incident, status: str) -> None:
    """The alarm's open task follows the incident (dispatch to a named responder hands it
    to them; arrival starts it; closing finishes it)."""
    tasks = session.execute(
        select(Task).where(
            Task.event_id == inc.event_id,
            Task.nhs_number == inc.nhs_number,
            Task.source.like("event:%"),
            Task.status.in_(("open", "in_progress")),
        )
    ).scalars()
    for t in tasks:
        if status == "dispatched" and inc.responder_user_id is not None:
            t.owner_user_id, t.owner_service_id = inc.responder_user_id, None
        elif status == "arrived":
            t.status = "in_progress"
        elif status == "closed":
            t.status = "done"


def check_breaches(
    session: Session, config: CareConfig, now: dt.datetime, actor: str
) -> list[Incident]:
    """Flag open incidents past ``arrive_by`` with nobody arrived, once each, telling
    everyone the alarm's routing rule reaches (``incident_breach``)."""
    due = session.execute(
        select(Incident)
        .where(
            Incident.status.in_(("open", "dispatched")),
            Incident.breached.is_(False),
            Incident.arrive_by < now,
        )
        .order_by(Incident.arrive_by)
    ).scalars()
    flagged = []
    for inc in list(due):
        # Claimed by one guarded UPDATE, so two workers checking at once flag it once.
        claimed = session.execute(
            update(Incident)
            .where(Incident.id == inc.id, Incident.breached.is_(False))
            .values(breached=True)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        session.refresh(inc)
        person = session.get(Person, inc.nhs_number)
        who = person_name(person) if person is not None else inc.nhs_number
        subject = (
            f"Nobody has reached {who} within 2 hours of the fall alarm ({inc.reference}, "
            f"alarm at {uk_time(inc.alarm_at)}): it is {inc.status}. Check on them now."
        )
        told = tell_all(session, config, inc, subject, now, "incident_breach", None)
        inc.history = [
            *inc.history,
            {"status": "breach", "at": now.isoformat(), "by": actor, "told": told},
        ]
        audit.record(
            session,
            actor=actor,
            action="breach",
            resource="incident",
            resource_id=inc.id,
            nhs_number=inc.nhs_number,
            now=now,
        )
        flagged.append(inc)
    return flagged


def _entry(ctx: Ctx, status: str, **extra: Any) -> dict[str, Any]:
    e = {
        "status": status,
        "at": ctx.now.isoformat(),
        "by": ctx.user.username,
        "by_name": ctx.user.display_name,
    }
    e.update({k: v for k, v in extra.items() if v is not None})
    return e


def open_incident(ctx: Ctx, event: Event) -> Incident:
    """Open the incident for an alarm event (called by events.ingest, which told everyone
    of the alarm already and audits the event)."""
    inc = Incident(
        nhs_number=event.nhs_number,
        event_id=event.id,
        service_id=CONTROL_CENTRE,
        status="open",
        alarm_at=event.occurred_at,
        arrive_by=event.occurred_at + STANDARD,
        breached=False,
        history=[_entry(ctx, "open")],
        version=1,
    )
    insert_now(ctx.session, inc)  # its id at once, without a flush (store/db.py)
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="incident",
        resource_id=inc.id,
        nhs_number=inc.nhs_number,
        detail="opened from alarm",
        now=ctx.now,
    )
    return inc


def queue(ctx: Ctx, status: str | None = None, what: str = "incident queue") -> list[Incident]:
    """Incidents in the queues of the services whose staff I am (or dispatched to them),
    oldest alarm first, about people I may see; audited as one list entry."""
    ctx.require("incident", "read")
    mine = service_staff.my_service_ids(ctx.session, ctx.user)
    q = select(Incident).where(
        or_(Incident.service_id.in_(mine), Incident.responder_service_id.in_(mine))
    )
    if status == "current":
        q = q.where(Incident.status.in_(OPEN))
    elif status is not None:
        q = q.where(Incident.status == status)
    rows = list(ctx.session.execute(q.order_by(Incident.alarm_at, Incident.id)).scalars())
    seen = access.visible(ctx.session, ctx.user, {i.nhs_number for i in rows}, ctx.now)
    shown = [i for i in rows if i.nhs_number in seen]
    access.audit_list(
        ctx.session,
        ctx.user,
        "incident",
        {i.nhs_number for i in shown},
        ctx.now,
        what=what,
        hidden=len(rows) - len(shown),
    )
    return shown


def late_for_team(ctx: Ctx, limit: int = 50) -> list[Incident]:
    """Current incidents past the 2-hour standard with nobody arrived, about people whose
    care team I am in (the co-ordinator's home page); audited as one list entry."""
    from careweave.store.models import CareTeamMember

    mine = select(CareTeamMember.nhs_number).where(
        CareTeamMember.user_id == ctx.user.id, CareTeamMember.ended_at.is_(None)
    )
    rows = list(
        ctx.session.execute(
            select(Incident)
            .where(
                Incident.nhs_number.in_(mine),
                Incident.status.in_(("open", "dispatched")),
                or_(Incident.breached.is_(True), Incident.arrive_by < ctx.now),
            )
            .order_by(Incident.arrive_by)
            .limit(limit)
        ).scalars()
    )
    if rows:
        access.audit_list(
            ctx.session,
            ctx.user,
            "incident",
            {i.nhs_number for i in rows},
            ctx.now,
            what="late alarm incidents",
            hidden=0,
        )
    return rows


def get_incident(ctx: Ctx, incident_id: int, action: str = "read") -> Incident:
    inc = ctx.session.get(Incident, incident_id, with_for_update=action == "write")
    if inc is None:
        raise NotFound(f"incident_id: no incident {incident_id}")
    ctx.person(inc.nhs_number, "incident", action)
    return inc


def transition(
    ctx: Ctx,
    incident_id: int,
    new_status: str,
    *,
    version: int | None = None,
    responder_service_id: str | None = None,
    responder_user_id: int | None = None,
    outcome: str | None = None,
    note: str | None = None,
) -> Incident:
    """One step of the pathway, by the control centre's or rapid response's staff."""
    inc = get_incident(ctx, incident_id, "write")
    if version is not None and version != inc.version:
        raise Conflict(
            f"version: incident {inc.reference} changed since you opened it (it is now "
            f"{inc.status}, version {inc.version}); reload it and try again"
        )
    check_transition(inc.status, new_status)
    if not any(service_staff.is_staff(ctx.session, ctx.user, s) for s in RESPONDERS):
        raise Forbidden(
            f"incident {inc.reference}: only the staff of the telecare control centre or "
            "rapid response can move it on"
        )
    person = ctx.session.get(Person, inc.nhs_number)
    assert person is not None
    who = person_name(person)
    note = note.strip() if note else None
    extra: dict[str, Any] = {"note": note}
    if new_status == "dispatched":
        sid = responder_service_id or RAPID_RESPONSE
        svc = ctx.session.get(Service, sid)
        if svc is None or not svc.active:
            raise Invalid(f"responder_service_id: no active service {sid!r} in the directory")
        responder = None
        if responder_user_id is not None:
            responder = ctx.session.get(User, responder_user_id)
            if responder is None or not service_staff.is_staff(ctx.session, responder, sid):
                raise Invalid(
                    f"responder_user_id: user {responder_user_id} is not on the staff of {svc.name}"
                )
        inc.responder_service_id, inc.responder_user_id = sid, responder_user_id
        inc.dispatched_at = ctx.now
        extra.update(responder_service_id=sid, responder_user_id=responder_user_id)
        whom = f"{svc.name}" + (f" ({responder.display_name})" if responder else "")
        subject = (
            f"{ctx.user.display_name} dispatched {whom} to {possessive(who)} fall alarm "
            f"({inc.reference}, alarm at {uk_time(inc.alarm_at)}): arrive by "
            f"{uk_time(inc.arrive_by)}."
        )
    elif new_status == "arrived":
        inc.arrived_at = ctx.now
        mins = inc.minutes_to_arrival
        assert mins is not None
        late = inc.arrived_at > inc.arrive_by
        inc.breached = inc.breached or late
        h, m = divmod(mins, 60)
        took = f"{h} h {m} min" if h else f"{m} min"
        subject = (
            f"{ctx.user.display_name} arrived with {who} after the fall alarm "
            f"({inc.reference}), {took} after the alarm: "
            + ("outside the 2-hour standard." if late else "within the 2-hour standard.")
        )
    else:
        if outcome not in OUTCOMES:
            raise Invalid(f"outcome: say how the incident ended ({', '.join(OUTCOMES)})")
        inc.outcome, inc.closed_at = outcome, ctx.now
        extra["outcome"] = outcome
        subject = (
            f"{ctx.user.display_name} closed {possessive(who)} fall alarm incident "
            f"({inc.reference}): {OUTCOMES[outcome]}."
        )
    if inc.arrived_at is None and ctx.now > inc.arrive_by:
        inc.breached = True
    if note:
        subject += f" Note: {note}"
    inc.status = new_status
    inc.version += 1
    told = _tell(ctx, inc, subject)
    inc.history = [*inc.history, _entry(ctx, new_status, told=told, **extra)]
    _follow_task(ctx.session, inc, new_status)
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="incident",
        resource_id=inc.id,
        nhs_number=inc.nhs_number,
        detail=f"status {new_status}",
        now=ctx.now,
    )
    return inc


def incident_text(inc: Incident) -> str:
    """The line on the person's timeline: 'Fall alarm A000001: closed, treated at home;
    arrived 1 h 35 min after the alarm'."""
    text = f"Fall alarm {inc.reference}: {inc.status}"
    if inc.outcome:
        text += f", {OUTCOMES[inc.outcome]}"
    mins = inc.minutes_to_arrival
    if mins is not None:
        h, m = divmod(mins, 60)
        text += f"; arrived {h} h {m} min after the alarm" if h else f"; arrived {m} min after"
    if inc.breached:
        text += " (outside the 2-hour standard)"
    return text


def counts(session: Session) -> list[dict[str, Any]]:
    """Alarm incidents for commissioners, by month of the alarm (UK) and outcome (``open``
    while not closed): how many, how many reached within the 2-hour standard, how many
    past it, and the median minutes from alarm to arrival. Counts only, no person."""
    from statistics import median

    from careweave.care.wording import UK

    groups: dict[tuple[str, str], list[Incident]] = {}
    for inc in session.execute(select(Incident).order_by(Incident.alarm_at)).scalars():
        month = inc.alarm_at.astimezone(UK).strftime("%Y-%m")
        groups.setdefault((month, inc.outcome or "open"), []).append(inc)
    out = []
    for (month, outcome), rows in sorted(groups.items()):
        mins = [m for m in (i.minutes_to_arrival for i in rows) if m is not None]
        out.append(
            {
                "month": month,
                "outcome": outcome,
                "incidents": len(rows),
                "arrived_within_standard": sum(
                    1 for i in rows if i.arrived_at is not None and not i.breached
                ),
                "breached": sum(1 for i in rows if i.breached),
                "median_minutes_to_arrival": median(mins) if mins else None,
            }
        )
    return out
