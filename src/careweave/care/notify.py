"""Telling the right people: care-team lookup by role, notifications, tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.care.context import Ctx
from careweave.security import access
from careweave.store.models import CareTeamMember, Notification, Task


def team(session: Session, nhs_number: str) -> list[CareTeamMember]:
    return list(
        session.execute(
            select(CareTeamMember)
            .where(CareTeamMember.nhs_number == nhs_number, CareTeamMember.ended_at.is_(None))
            .order_by(CareTeamMember.id)
        ).scalars()
    )


def members_in_roles(
    session: Session,
    nhs_number: str,
    roles: Iterable[str],
    members: list[CareTeamMember] | None = None,
) -> list[CareTeamMember]:
    """Current team members holding any of ``roles`` ('*' = all); ``members`` if already read."""
    wanted = set(roles)
    if members is None:
        members = team(session, nhs_number)
    return [m for m in members if "*" in wanted or m.team_role in wanted]


def notify_team(
    session: Session,
    nhs_number: str,
    roles: Iterable[str],
    *,
    kind: str,
    subject: str,
    now: dt.datetime,
    event_id: int | None = None,
    exclude_user: int | None = None,
    members: list[CareTeamMember] | None = None,
) -> list[Notification]:
    """One notification per user holding any of ``roles`` in the person's team."""
    sent: dict[int, Notification] = {}
    for m in members_in_roles(session, nhs_number, roles, members):
        if m.user_id in sent or m.user_id == exclude_user:
            continue
        n = Notification(
            recipient_user_id=m.user_id,
            team_role=m.team_role,
            nhs_number=nhs_number,
            kind=kind[:32],
            subject=subject,
            event_id=event_id,
            created_at=now,
        )
        session.add(n)
        sent[m.user_id] = n
    return list(sent.values())


def task_for_role(
    session: Session,
    nhs_number: str,
    role: str,
    *,
    title: str,
    due_at: dt.datetime,
    source: str,
    now: dt.datetime,
    event_id: int | None = None,
    members: list[CareTeamMember] | None = None,
) -> Task:
    """A task owned by the team member in ``role`` (the first one), or by the role if vacant."""
    owners = members_in_roles(session, nhs_number, [role], members)
    task = Task(
        nhs_number=nhs_number,
        title=title,
        owner_user_id=owners[0].user_id if owners else None,
        owner_role=role,
        due_at=due_at,
        status="open",
        source=source,
        event_id=event_id,
        created_at=now,
    )
    session.add(task)
    return task


def inbox(ctx: Ctx, *, unread: bool, limit: int) -> list[Notification]:
    """The user's notifications, newest first, leaving out those about people they may no
    longer see (the relationship ended since); audited as one entry naming the people."""
    ctx.require("notification", "read")
    q = select(Notification).where(Notification.recipient_user_id == ctx.user.id)
    if unread:
        q = q.where(Notification.read_at.is_(None))
    rows = list(ctx.session.execute(q.order_by(Notification.id.desc()).limit(limit)).scalars())
    seen = access.visible(
        ctx.session, ctx.user, {n.nhs_number for n in rows if n.nhs_number}, ctx.now
    )
    out = [n for n in rows if n.nhs_number is None or n.nhs_number in seen]
    access.audit_list(
        ctx.session,
        ctx.user,
        "notification",
        {n.nhs_number for n in out if n.nhs_number},
        ctx.now,
        what="unread notifications" if unread else "notifications",
        hidden=len(rows) - len(out),
    )
    return out
