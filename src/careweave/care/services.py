"""Service staff: who works a service's duty inbox and queue.

A service's staff are its active members (``service_members``) and its named
contact. Staff see the service's duty inbox (its referrals), act on them
(care/referrals.py), and share the tasks its duty queue owns (care/notify.py).
Administrators manage membership (``PUT``/``DELETE /services/{id}/members/{user}``).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from careweave.care.context import Ctx
from careweave.security import audit
from careweave.security.errors import Conflict, NotFound
from careweave.store.models import Service, ServiceMember, User


def staff_ids(session: Session, service_id: str) -> list[int]:
    """User ids of the service's active members and its named contact, in a stable order."""
    return staff_of(session, [service_id])[service_id]


def staff_of(session: Session, service_ids: list[str]) -> dict[str, list[int]]:
    """``staff_ids`` of several services in two queries, whatever their number (routing
    a fall alarm reaches three duty queues): the named contact first unless a member,
    then the active members in the order they joined."""
    out: dict[str, list[int]] = {sid: [] for sid in service_ids}
    if not service_ids:
        return out
    for sid, uid in session.execute(
        select(ServiceMember.service_id, ServiceMember.user_id)
        .join(User, User.id == ServiceMember.user_id)
        .where(
            ServiceMember.service_id.in_(service_ids),
            ServiceMember.ended_at.is_(None),
            User.active,
        )
        .order_by(ServiceMember.id)
    ).tuples():
        out[sid].append(uid)
    for sid, contact in session.execute(
        select(Service.id, Service.contact_user_id).where(
            Service.id.in_(service_ids), Service.contact_user_id.is_not(None)
        )
    ).tuples():
        if contact is not None and contact not in out[sid]:
            out[sid].insert(0, contact)
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
