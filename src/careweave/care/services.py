"""Service staff: who works a service's duty inbox and queue.

A service's staff are its active members (``service_members``) and its named
contact. Staff see the service's duty inbox (its referrals), act on them
(care/referrals.py), and share the tasks its duty queue owns (care/notify.py).
Administrators manage membership (``PUT``/``DELETE /services/{id}/members/{user}``).
"""

from __future__ import annotations

from sqlalchemy import bindparam, literal, or_, select, union_all
from sqlalchemy.orm import Session

from careweave.care.context import Ctx
from careweave.security import audit
from careweave.security.errors import Conflict, NotFound
from careweave.store.db import core
from careweave.store.models import Service, ServiceMember, User, table_of


def staff_ids(session: Session, service_id: str) -> list[int]:
    """User ids of the service's active members and its named contact, in a stable order."""
    return staff_of(session, [service_id])[service_id]


_MEMBERS = table_of(ServiceMember)
_SERVICES = table_of(Service)
_USERS = table_of(User)
# Every named service's staff in one read: its active members in the order they joined
# (kind 0), then its named contact (kind 1).
_STAFF_OF = union_all(
    select(
        _MEMBERS.c.service_id,
        _MEMBERS.c.user_id,
        literal(0).label("kind"),
        _MEMBERS.c.id.label("ord"),
    )
    .join(_USERS, _USERS.c.id == _MEMBERS.c.user_id)
    .where(
        _MEMBERS.c.service_id.in_(bindparam("ids", expanding=True)),
        _MEMBERS.c.ended_at.is_(None),
        _USERS.c.active,
    ),
    select(
        _SERVICES.c.id,
        _SERVICES.c.contact_user_id,
        literal(1).label("kind"),
        literal(0).label("ord"),
    ).where(
        _SERVICES.c.id.in_(bindparam("ids", expanding=True)),
        _SERVICES.c.contact_user_id.is_not(None),
    ),
).order_by("kind", "ord")


def staff_of(session: Session, service_ids: list[str]) -> dict[str, list[int]]:
    """``staff_ids`` of several services in one query, whatever their number (routing
    a fall alarm reaches three duty queues): the named contact first unless a member,
    then the active members in the order they joined."""
    out: dict[str, list[int]] = {sid: [] for sid in service_ids}
    if not service_ids:
        return out
    for sid, uid, kind, _ in core(session, _STAFF_OF, {"ids": service_ids}):
        if kind == 0:
            out[sid].append(uid)
        elif uid is not None and uid not in out[sid]:
            out[sid].insert(0, uid)
    return out


def my_service_ids(session: Session, user: User) -> list[str]:
    """The services whose staff the user is (member or named contact)."""
    member = select(ServiceMember.service_id).where(
        ServiceMember.user_id == user.id, ServiceMember.ended_at.is_(None)
    )
    return list(
        session.execute(
            select(Service.id)
            .where(or_(Service.contact_user_id == user.id, Service.id.in_(member)))
            .order_by(Service.name)
        ).scalars()
    )


def is_staff(session: Session, user: User, service_id: str) -> bool:
    return user.id in staff_ids(session, service_id)


def members(session: Session, service_id: str) -> list[tuple[ServiceMember, User]]:
    return [
        (m, u)
        for m, u in session.execute(
            select(ServiceMember, User)
            .join(User, User.id == ServiceMember.user_id)
            .where(ServiceMember.service_id == service_id, ServiceMember.ended_at.is_(None))
            .order_by(User.display_name)
        ).tuples()
    ]


def add_member(ctx: Ctx, service_id: str, user_id: int) -> ServiceMember:
    """Put a user on the service's staff (administrators); adding a current member is 409."""
    ctx.require("service", "write")
    if ctx.session.get(Service, service_id) is None:
        raise NotFound(f"service_id: no service {service_id!r} in the directory")
    user = ctx.session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"user_id: no active user {user_id}")
    row = ctx.session.execute(
        select(ServiceMember).where(
            ServiceMember.service_id == service_id, ServiceMember.user_id == user_id
        )
    ).scalar_one_or_none()
    if row is not None and row.ended_at is None:
        raise Conflict(f"user_id: {user.username} is already on the staff of {service_id}")
    if row is None:
        row = ServiceMember(service_id=service_id, user_id=user_id, added_at=ctx.now)
        ctx.session.add(row)
    row.ended_at, row.added_by, row.added_at = None, ctx.user.id, ctx.now
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="service",
        resource_id=service_id,
        detail=f"member added: {user.username}",
        now=ctx.now,
    )
    return row


def remove_member(ctx: Ctx, service_id: str, user_id: int) -> None:
    ctx.require("service", "write")
    row = ctx.session.execute(
        select(ServiceMember).where(
            ServiceMember.service_id == service_id,
            ServiceMember.user_id == user_id,
            ServiceMember.ended_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"user_id: {user_id} is not on the staff of {service_id}")
    row.ended_at = ctx.now
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="service",
        resource_id=service_id,
        detail=f"member removed: {user_id}",
        now=ctx.now,
    )
