"""Telling the right people: care-team lookup by role, service duty queues, notifications, tasks.

Every task has an owner: a user, or a service's duty queue (``owner_service_id``)
whose staff share it. ``unowned_tasks_refused`` makes a task with neither
impossible to store, whoever writes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.orm import Session

from careweave.care import outbox as _outbox
from careweave.care.context import Ctx
from careweave.security import access
from careweave.store.db import WRITE_REFUSED, attach_inserted, core, insert_now, is_read_only
from careweave.store.models import CareTeamMember, Episode, Notification, Task, table_of


class UnownedTask(ValueError):
    """A task with neither an owner user nor an owner service queue."""


@event.listens_for(Session, "before_flush")
def unowned_tasks_refused(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Task) and obj.owner_user_id is None and obj.owner_service_id is None:
            raise UnownedTask(f"task {obj.title!r}: a task needs an owner (a user or a service)")


class Member(Protocol):
    """What routing needs of a care-team member: a ``CareTeamMember`` or a ``TeamRole``."""

    @property
    def user_id(self) -> int: ...

    @property
    def team_role(self) -> str: ...


class TeamRole(NamedTuple):
    user_id: int
    team_role: str


def team(session: Session, nhs_number: str) -> list[CareTeamMember]:
    return list(
        session.execute(
            select(CareTeamMember)
            .where(CareTeamMember.nhs_number == nhs_number, CareTeamMember.ended_at.is_(None))
            .order_by(CareTeamMember.id)
        ).scalars()
    )


_CTM = table_of(CareTeamMember)
_TEAM_ROLES = (
    select(_CTM.c.user_id, _CTM.c.team_role)
    .where(_CTM.c.nhs_number == bindparam("nhs"), _CTM.c.ended_at.is_(None))
    .order_by(_CTM.c.id)
)


def team_roles(session: Session, nhs_number: str) -> list[TeamRole]:
    """The current team as (user, role) in the order they joined: all routing reads of
    it (one Core statement, no ORM objects: every routed event reads it)."""
    return [TeamRole(u, r) for u, r in core(session, _TEAM_ROLES, {"nhs": nhs_number})]


_EPISODES = table_of(Episode)
_LEAD = select(_EPISODES.c.lead_professional_id).where(
    _EPISODES.c.nhs_number == bindparam("nhs"), _EPISODES.c.end_date.is_(None)
)


def lead_professional(session: Session, nhs_number: str) -> int | None:
    """The accountable lead of the person's open case-management episode, if any."""
    lead: int | None = core(session, _LEAD, {"nhs": nhs_number}).scalar_one_or_none()
    return lead


def members_in_roles(
    session: Session,
    nhs_number: str,
    roles: Iterable[str],
    members: Sequence[Member] | None = None,
) -> list[Member]:
    """Current team members holding any of ``roles`` ('*' = all); ``members`` if already read."""
    wanted = set(roles)
    if members is None:
        members = team_roles(session, nhs_number)
    return [m for m in members if "*" in wanted or m.team_role in wanted]


def notify_users(
    session: Session,
    nhs_number: str | None,
    recipients: Iterable[tuple[int, str | None]],
    *,
    kind: str,
    subject: str,
    now: dt.datetime,
    event_id: int | None = None,
    referral_id: int | None = None,
    service_id: str | None = None,
    exclude_user: int | None = None,
    sent: dict[int, Notification] | None = None,
) -> list[Notification]:
    """One notification per (user, team role) pair given, skipping users already in ``sent``
    (stored at once with their email / SMS: ``store``)."""
    return store(
        session,
        _notes(
            nhs_number,
            [(uid, role, service_id) for uid, role in recipients],
            kind=kind,
            subject=subject,
            now=now,
            event_id=event_id,
            referral_id=referral_id,
            exclude_user=exclude_user,
            sent=sent,
        ),
    )


def _notes(
    nhs_number: str | None,
    recipients: Iterable[tuple[int, str | None, str | None]],
    *,
    kind: str,
    subject: str,
    now: dt.datetime,
    event_id: int | None,
    referral_id: int | None = None,
    exclude_user: int | None,
    sent: dict[int, Notification] | None,
) -> list[Notification]:
    """The notifications for (user, team role, service) triples, each user once."""
    sent = {} if sent is None else sent
    out = []
    for user_id, team_role, service_id in recipients:
        if user_id in sent or user_id == exclude_user:
            continue
        n = Notification(
            recipient_user_id=user_id,
            team_role=team_role,
            nhs_number=nhs_number,
            kind=kind[:32],
            subject=subject,
            event_id=event_id,
            referral_id=referral_id,
            service_id=service_id,
            created_at=now,
            read_at=None,
        )
        sent[user_id] = n
        out.append(n)
    return out


_NOTIFICATIONS = table_of(Notification)
# Their ids come back with their recipients: SQLite does not promise the order of a
# multi-row INSERT's RETURNING rows, and one store call tells each user once.
_STORE = insert(_NOTIFICATIONS).returning(_NOTIFICATIONS.c.id, _NOTIFICATIONS.c.recipient_user_id)
_FIELDS = tuple(c.key for c in _NOTIFICATIONS.c if c.key != "id")


def store(session: Session, notes: list[Notification]) -> list[Notification]:
    """Write new notifications now, all in one Core INSERT (``executemany``: one
    multi-row statement), with the email / SMS they call for (care/outbox.py ``queue``),
    and keep them in the session as persistent objects with their ids.

    The unit of work would insert them one statement each on SQLite (it cannot batch an
    INSERT whose ids it must read back in order without a sentinel column); here the ids
    are matched by recipient, each user being told once per call. A ``Notification``
    added to a session the ORM way is queued at flush instead (``outbox.queue_external``).
    What was pending is flushed first, as autoflush would."""
    if not notes:
        return notes
    if is_read_only(session):
        raise RuntimeError(WRITE_REFUSED)
    held = [n.__dict__ for n in notes]
    ids = dict(
        (uid, nid) for nid, uid in core(session, _STORE, [{k: d[k] for k in _FIELDS} for d in held])
    )
    for n in notes:
        n.id = ids[n.recipient_user_id]
        attach_inserted(session, n)
    _outbox.queue(session, notes)
    return notes


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
    members: Sequence[Member] | None = None,
    sent: dict[int, Notification] | None = None,
) -> list[Notification]:
    """One notification per user holding any of ``roles`` in the person's team."""
    return notify_users(
        session,
        nhs_number,
        [(m.user_id, m.team_role) for m in members_in_roles(session, nhs_number, roles, members)],
        kind=kind,
        subject=subject,
        now=now,
        event_id=event_id,
        exclude_user=exclude_user,
        sent=sent,
    )


def new_task(
    session: Session,
    nhs_number: str | None,
    *,
    title: str,
    due_at: dt.datetime,
    source: str,
    now: dt.datetime,
    owner_user_id: int | None = None,
    owner_service_id: str | None = None,
    owner_role: str | None = None,
    event_id: int | None = None,
) -> Task:
    if owner_user_id is None and owner_service_id is None:
        raise UnownedTask(f"task {title!r}: a task needs an owner (a user or a service)")
    task = Task(
        nhs_number=nhs_number,
        title=title,
        owner_user_id=owner_user_id,
        owner_service_id=owner_service_id,
        owner_role=owner_role,
        due_at=due_at,
        status="open",
        source=source,
        event_id=event_id,
        mdt_meeting_id=None,
        created_at=now,
        completed_at=None,
    )
    return insert_now(session, task)  # its id at once, no flush (store/db.py)


def task_owner(
    session: Session,
    nhs_number: str,
    role: str | None,
    service: str | None,
    fallback_service: str,
    members: Sequence[Member] | None = None,
) -> tuple[int | None, str | None]:
    """(user, service queue) to own a task: the team member in ``role`` (the lead
    professional for ``lead_professional``); while vacant ``service``'s duty queue; else the
    person's lead professional; else ``fallback_service``'s queue. Never (None, None)."""
    from careweave.care.config import LEAD

    if role == LEAD:
        lead = lead_professional(session, nhs_number)
        if lead is not None:
            return lead, None
    elif role is not None:
        owners = members_in_roles(session, nhs_number, [role], members)
        if owners:
            return owners[0].user_id, None
    if service is not None:
        return None, service
    lead = lead_professional(session, nhs_number)
    if lead is not None:
        return lead, None
    return None, fallback_service


def task_for_role(
    session: Session,
    nhs_number: str,
    role: str | None,
    *,
    title: str,
    due_at: dt.datetime,
    source: str,
    now: dt.datetime,
    fallback_service: str,
    service: str | None = None,
    event_id: int | None = None,
    members: Sequence[Member] | None = None,
) -> Task:
    """A task for ``role`` in the person's team, owned as ``task_owner`` decides."""
    user, queue = task_owner(session, nhs_number, role, service, fallback_service, members)
    return new_task(
        session,
        nhs_number,
        title=title,
        due_at=due_at,
        source=source,
        now=now,
        owner_user_id=user,
        owner_service_id=queue,
        owner_role=role,
        event_id=event_id,
    )


def route(
    session: Session,
    nhs_number: str,
    targets: Iterable[str],
    *,
    kind: str,
    subject: str,
    now: dt.datetime,
    event_id: int | None = None,
    members: Sequence[Member] | None = None,
    sent: dict[int, Notification] | None = None,
    exclude_user: int | None = None,
) -> list[Notification]:
    """Notify every routing target (care-team roles, '*', the lead professional, service
    duty queues), each user once: the first target that reaches them names the role.

    Whatever was pending is flushed once first; the targets are then read without
    autoflush (the reads, episodes, service staff, users, are of rows routing never
    writes) and every target's notifications are stored together at the end, in one
    statement (``store``): a fall alarm's seven targets cost one flush and one insert,
    not seven of each."""
    sent = {} if sent is None else sent
    if members is None:
        members = team_roles(session, nhs_number)  # its query flushes what was pending
    else:
        session.flush()
    common: dict[str, Any] = {
        "kind": kind,
        "subject": subject,
        "now": now,
        "event_id": event_id,
        "sent": sent,
        "exclude_user": exclude_user,
    }
    with session.no_autoflush:
        return _route(session, nhs_number, targets, members, common)


def _route(
    session: Session,
    nhs_number: str,
    targets: Iterable[str],
    members: Sequence[Member],
    common: dict[str, Any],
) -> list[Notification]:
    from careweave.care.config import LEAD, SERVICE_PREFIX
    from careweave.care.services import staff_of

    targets = list(targets)
    staff = staff_of(  # every duty queue's staff in one read, not two queries a queue
        session, [t[len(SERVICE_PREFIX) :] for t in targets if t.startswith(SERVICE_PREFIX)]
    )
    recipients: list[tuple[int, str | None, str | None]] = []
    for target in targets:
        if target == LEAD:
            lead = lead_professional(session, nhs_number)
            if lead is not None:
                recipients.append((lead, LEAD, None))
        elif target.startswith(SERVICE_PREFIX):
            service_id = target[len(SERVICE_PREFIX) :]
            recipients += [(uid, None, service_id) for uid in staff[service_id]]
        else:
            recipients += [
                (m.user_id, m.team_role, None)
                for m in members_in_roles(session, nhs_number, [target], members)
            ]
    return store(session, _notes(nhs_number, recipients, **common))


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
