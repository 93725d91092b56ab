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
    svc = session.get(Service, service_id)
    ids = list(
        session.execute(
            select(ServiceMember.user_id)
            .join(User, User.id == ServiceMember.user_id)
            .where(
                ServiceMember.service_id == service_id,
                ServiceMember.ended_at.is_(None),
                User.active,
            )
            .order_by(ServiceMember.id)
        ).scalars()
    )
    if svc is not None and svc.contact_user_id is not None and svc.contact_user_id not in ids:
        ids.insert(0, svc.contact_user_id)
    return ids


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
