"""MDT meetings (agenda of people, attendees, decisions) and the tasks their actions become."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from careweave.care.context import Ctx
from careweave.care.notify import notify_users
from careweave.care.services import my_service_ids
from careweave.care.wording import from_uk, person_name, uk_time
from careweave.security import access
from careweave.security.errors import Conflict, Forbidden, Invalid, NotFound
from careweave.store.models import (
    CareTeamMember,
    Incident,
    MdtMeeting,
    Person,
    Referral,
    Service,
    ServiceMember,
    Task,
    User,
)

TASK_STATUSES = ("open", "in_progress", "done", "cancelled")


@dataclass(frozen=True)
class Action:
    title: str
    owner_user_id: int
    due_date: dt.date


def create_meeting(
    ctx: Ctx, title: str, held_at: dt.datetime, agenda: list[str], attendees: list[int]
) -> MdtMeeting:
    ctx.require("mdt", "write")
    if not title.strip():
        raise Invalid("title: must not be empty")
    if len(set(agenda)) != len(agenda):
        raise Invalid("agenda: a person is listed twice")
    for nhs in agenda:
        ctx.person(nhs, "mdt", "write")
    for uid in attendees:
        u = ctx.session.get(User, uid)
        if u is None or not u.active:
            raise NotFound(f"attendees: no active user {uid}")
    m = MdtMeeting(
        title=title.strip(),
        held_at=held_at,
        agenda=list(agenda),
        attendees=sorted(set(attendees) | {ctx.user.id}),
        decisions=[],
        created_by=ctx.user.id,
    )
    ctx.session.add(m)
    ctx.session.flush()
    return m


def _editable(ctx: Ctx, meeting_id: int) -> MdtMeeting:
    """A meeting an attendee may change (lock it for the change)."""
    ctx.require("mdt", "write")
    m = ctx.session.get(MdtMeeting, meeting_id, with_for_update=True)
    if m is None:
        raise NotFound(f"meeting_id: no MDT meeting {meeting_id}")
    if ctx.user.id not in m.attendees:
        raise Forbidden(f"meeting {meeting_id}: only its attendees may change it")
    return m


def add_to_agenda(ctx: Ctx, meeting_id: int, nhs_number: str) -> MdtMeeting:
    """Put a person on the agenda (from the worklist or their page): the user needs a
    relationship with them, as at creation; a person already on it is a 409."""
    m = _editable(ctx, meeting_id)
    ctx.person(nhs_number, "mdt", "write")
    if nhs_number in m.agenda:
        raise Conflict(f"nhs_number: {nhs_number} is already on the agenda of this meeting")
    m.agenda = [*m.agenda, nhs_number]
    return m


@dataclass(frozen=True)
class Candidate:
    """Someone who may be invited, and why: their place in an agenda person's care team,
    or the service involved whose staff they are."""

    user: User
    why: str


def candidates(ctx: Ctx, meeting_id: int) -> list[Candidate]:
    """Everyone in the care teams of the agenda's people (those the user may see) and the
    staff of the services involved with them (an open referral, a task in the service's
    queue, an open alarm incident), not yet attending; each once, with the first reason."""
    m = _meeting(ctx, meeting_id)
    seen = access.visible(ctx.session, ctx.user, m.agenda, ctx.now)
    people = [n for n in m.agenda if n in seen]
    names = {
        p.nhs_number: person_name(p)
        for p in ctx.session.execute(select(Person).where(Person.nhs_number.in_(people))).scalars()
    }
    why: dict[int, str] = {}
    for member in ctx.session.execute(
        select(CareTeamMember)
        .where(CareTeamMember.nhs_number.in_(people), CareTeamMember.ended_at.is_(None))
        .order_by(CareTeamMember.id)
    ).scalars():
        role = member.team_role.replace("_", " ")
        why.setdefault(member.user_id, f"{role} in {names.get(member.nhs_number, '')}'s team")
    open_referral = access.OPEN_REFERRAL
    involved: dict[str, None] = {}
    for q in (
        select(Referral.service_id).where(
            Referral.nhs_number.in_(people), Referral.status.in_(open_referral)
        ),
        select(Task.owner_service_id).where(
            Task.nhs_number.in_(people),
            Task.status.in_(access.OPEN_TASK),
            Task.owner_service_id.is_not(None),
        ),
        select(Incident.service_id).where(
            Incident.nhs_number.in_(people), Incident.status != "closed"
        ),
        select(Incident.responder_service_id).where(
            Incident.nhs_number.in_(people),
            Incident.status != "closed",
            Incident.responder_service_id.is_not(None),
        ),
    ):
        for sid in ctx.session.execute(q).scalars():
            if sid:
                involved.setdefault(sid, None)
    services = {
        s.id: s.name
        for s in ctx.session.execute(select(Service).where(Service.id.in_(involved))).scalars()
    }
    for sid in involved:
        for (uid,) in ctx.session.execute(
            select(ServiceMember.user_id).where(
                ServiceMember.service_id == sid, ServiceMember.ended_at.is_(None)
            )
        ):
            why.setdefault(uid, f"staff of {services.get(sid, sid)}")
    users = {
        u.id: u
        for u in ctx.session.execute(select(User).where(User.id.in_(why), User.active)).scalars()
    }
    out = [Candidate(users[uid], w) for uid, w in why.items() if uid in users]
    return [c for c in out if c.user.id not in m.attendees]


def invite(ctx: Ctx, meeting_id: int, user_ids: list[int]) -> list[User]:
    """Add attendees picked from :func:`candidates` (nobody else); each is told."""
    if not user_ids:
        raise Invalid("attendees: choose at least one person to invite")
    allowed_ids = {c.user.id: c.user for c in candidates(ctx, meeting_id)}
    m = _editable(ctx, meeting_id)
    for uid in user_ids:
        if uid not in allowed_ids:
            raise Invalid(
                f"attendees: user {uid} is not in the care teams or services of this agenda"
            )
    m.attendees = sorted(set(m.attendees) | set(user_ids))
    notify_users(
        ctx.session,
        None,
        [(uid, None) for uid in user_ids],
        kind="mdt",
        subject=(
            f"{ctx.user.display_name} invited you to the MDT meeting '{m.title}' on "
            f"{uk_time(m.held_at)} (UK time)."
        ),
        now=ctx.now,
    )
    return [allowed_ids[uid] for uid in user_ids]


def upcoming(ctx: Ctx) -> list[MdtMeeting]:
    """Meetings the user attends that are today or later, soonest first."""
    ctx.require("mdt", "read")
    start = ctx.now - dt.timedelta(hours=12)
    rows = ctx.session.execute(
        select(MdtMeeting).where(MdtMeeting.held_at >= start).order_by(MdtMeeting.held_at)
    ).scalars()
    return [m for m in rows if ctx.user.id in m.attendees][:50]


@dataclass(frozen=True)
class MeetingView:
    """A meeting as one attendee may see it: the agenda and decisions about people they
    have a legitimate relationship with; ``hidden`` counts the agenda entries left out."""

    id: int
    title: str
    held_at: dt.datetime
    agenda: list[str]
    attendees: list[int]
    decisions: list[dict[str, Any]]
    created_by: int
    hidden: int


def _meeting(ctx: Ctx, meeting_id: int) -> MdtMeeting:
    ctx.require("mdt", "read")
    m = ctx.session.get(MdtMeeting, meeting_id)
    if m is None:
        raise NotFound(f"meeting_id: no MDT meeting {meeting_id}")
    if ctx.user.id not in m.attendees:
        raise Forbidden(f"meeting {meeting_id}: only its attendees may open it")
    return m


def get_meeting(ctx: Ctx, meeting_id: int) -> MeetingView:
    """The meeting for an attendee. Being an attendee is not a relationship: NHS numbers
    and decisions about people whose record the user would be refused are left out (the
    same rule as the record), and the read is audited as one entry naming those shown."""
    m = _meeting(ctx, meeting_id)
    seen = access.visible(ctx.session, ctx.user, m.agenda, ctx.now)
    agenda = [n for n in m.agenda if n in seen]
    access.audit_list(
        ctx.session,
        ctx.user,
        "mdt",
        agenda,
        ctx.now,
        what=f"meeting {m.id}",
        hidden=len(m.agenda) - len(agenda),
    )
    return MeetingView(
        id=m.id,
        title=m.title,
        held_at=m.held_at,
        agenda=agenda,
        attendees=list(m.attendees),
        decisions=[d for d in m.decisions if d.get("nhs_number") in seen],
        created_by=m.created_by,
        hidden=len(m.agenda) - len(agenda),
    )


def record_decision(
    ctx: Ctx, meeting_id: int, nhs_number: str, decision: str, actions: list[Action]
) -> list[Task]:
    """A decision about a person on the agenda; each action becomes an owned, dated task."""
    m = _meeting(ctx, meeting_id)
    ctx.require("mdt", "write")
    if nhs_number not in m.agenda:
        raise Invalid(f"nhs_number: {nhs_number} is not on this meeting's agenda")
    if not decision.strip():
        raise Invalid("decision: must not be empty")
    ctx.person(nhs_number, "mdt", "write")
    tasks = []
    for i, a in enumerate(actions):
        owner = ctx.session.get(User, a.owner_user_id)
        if owner is None or not owner.active:
            raise NotFound(f"actions[{i}].owner_user_id: no active user {a.owner_user_id}")
        access.may_be_assigned(
            ctx.session, owner, nhs_number, ctx.now, f"actions[{i}].owner_user_id"
        )
        if not a.title.strip():
            raise Invalid(f"actions[{i}].title: must not be empty")
        t = Task(
            nhs_number=nhs_number,
            title=a.title.strip(),
            owner_user_id=owner.id,
            due_at=from_uk(a.due_date, dt.time(17, 0)),  # 17:00 UK time
            status="open",
            source=f"mdt:{m.id}",
            mdt_meeting_id=m.id,
            created_at=ctx.now,
        )
        ctx.session.add(t)
        tasks.append(t)
    ctx.session.flush()
    m.decisions = [
        *m.decisions,
        {
            "nhs_number": nhs_number,
            "decision": decision.strip(),
            "task_ids": [t.id for t in tasks],
            "by": ctx.user.username,
            "by_name": ctx.user.display_name,
            "at": ctx.now.isoformat(),
        },
    ]
    return tasks


def my_tasks(ctx: Ctx, status: str | None) -> list[Task]:
    """Tasks owned by the user, or waiting in the duty queue of a service they work for.

    (Tasks stored before every task had an owner, with only a vacant team role, go to
    the people who now hold that role in the person's team.) A task about a person the
    user may no longer see (their team membership ended, a referral was declined, the
    person objected to sharing) is left out, not refused: the rest of the list still
    shows. The list is audited as one entry naming the people."""
    ctx.require("task", "read")
    roles = select(CareTeamMember.nhs_number, CareTeamMember.team_role).where(
        CareTeamMember.user_id == ctx.user.id, CareTeamMember.ended_at.is_(None)
    )
    pairs = {(n, r) for n, r in ctx.session.execute(roles)}
    queues = my_service_ids(ctx.session, ctx.user)
    q = select(Task).where(
        or_(
            Task.owner_user_id == ctx.user.id,
            Task.owner_user_id.is_(None) & Task.owner_service_id.in_(queues),
            Task.owner_user_id.is_(None)
            & Task.owner_service_id.is_(None)
            & Task.nhs_number.in_({n for n, _ in pairs}),
        )
    )
    if status is not None:
        if status not in TASK_STATUSES:
            raise Invalid(f"status: one of {', '.join(TASK_STATUSES)}")
        q = q.where(Task.status == status)
    rows = [
        t
        for t in ctx.session.execute(q.order_by(Task.due_at, Task.id)).scalars()
        if t.owner_user_id is not None
        or t.owner_service_id is not None
        or (t.nhs_number, t.owner_role) in pairs
    ]
    seen = access.visible(
        ctx.session, ctx.user, {t.nhs_number for t in rows if t.nhs_number}, ctx.now
    )
    out = [t for t in rows if t.nhs_number is None or t.nhs_number in seen]
    access.audit_list(
        ctx.session,
        ctx.user,
        "task",
        {t.nhs_number for t in out if t.nhs_number},
        ctx.now,
        what="my tasks",
        hidden=len(rows) - len(out),
    )
    return out


def update_task(ctx: Ctx, task_id: int, status: str) -> Task:
    ctx.require("task", "write")
    t = ctx.session.get(Task, task_id)
    if t is None:
        raise NotFound(f"task_id: no task {task_id}")
    if t.nhs_number is not None:
        ctx.person(t.nhs_number, "task", "write")
    elif t.owner_user_id != ctx.user.id:
        raise Forbidden(f"task {task_id}: not yours")
    if status not in TASK_STATUSES:
        raise Invalid(f"status: one of {', '.join(TASK_STATUSES)}")
    if t.owner_user_id is None:
        # Taking a task from a service's duty queue: the service stays on it too.
        t.owner_user_id = ctx.user.id
    t.status = status
    t.completed_at = ctx.now if status in ("done", "cancelled") else None
    return t
