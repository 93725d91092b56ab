"""MDT meetings (agenda of people, attendees, decisions) and the tasks their actions become."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from careweave.care.context import Ctx
from careweave.security import audit
from careweave.security.errors import Forbidden, Invalid, NotFound
from careweave.store.models import CareTeamMember, MdtMeeting, Task, User

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


def get_meeting(ctx: Ctx, meeting_id: int) -> MdtMeeting:
    ctx.require("mdt", "read")
    m = ctx.session.get(MdtMeeting, meeting_id)
    if m is None:
        raise NotFound(f"meeting_id: no MDT meeting {meeting_id}")
    if ctx.user.id not in m.attendees:
        raise Forbidden(f"meeting {meeting_id}: only its attendees may open it")
    for nhs in m.agenda:
        audit.record(
            ctx.session,
            actor=ctx.user.username,
            action="read",
            resource="mdt",
            resource_id=m.id,
            nhs_number=nhs,
            now=ctx.now,
        )
    return m


def record_decision(
    ctx: Ctx, meeting_id: int, nhs_number: str, decision: str, actions: list[Action]
) -> list[Task]:
    """A decision about a person on the agenda; each action becomes an owned, dated task."""
    m = get_meeting(ctx, meeting_id)
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
        if not a.title.strip():
            raise Invalid(f"actions[{i}].title: must not be empty")
        t = Task(
            nhs_number=nhs_number,
            title=a.title.strip(),
            owner_user_id=owner.id,
            due_at=dt.datetime.combine(a.due_date, dt.time(17, 0), tzinfo=dt.UTC),
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
            "at": ctx.now.isoformat(),
        },
    ]
    return tasks


def my_tasks(ctx: Ctx, status: str | None) -> list[Task]:
    """Tasks owned by the user, or by a care-team role they hold for the person and vacant."""
    ctx.require("task", "read")
    roles = select(CareTeamMember.nhs_number, CareTeamMember.team_role).where(
        CareTeamMember.user_id == ctx.user.id, CareTeamMember.ended_at.is_(None)
    )
    pairs = {(n, r) for n, r in ctx.session.execute(roles)}
    q = select(Task).where(
        or_(
            Task.owner_user_id == ctx.user.id,
            Task.owner_user_id.is_(None) & Task.nhs_number.in_({n for n, _ in pairs}),
        )
    )
    if status is not None:
        if status not in TASK_STATUSES:
            raise Invalid(f"status: one of {', '.join(TASK_STATUSES)}")
        q = q.where(Task.status == status)
    out = []
    for t in ctx.session.execute(q.order_by(Task.due_at, Task.id)).scalars():
        if t.owner_user_id is None and (t.nhs_number, t.owner_role) not in pairs:
            continue
        if t.nhs_number is not None:
            ctx.person(t.nhs_number, "task", "read")
        out.append(t)
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
        t.owner_user_id = ctx.user.id
    t.status = status
    t.completed_at = ctx.now if status in ("done", "cancelled") else None
    return t
