"""Single point of access: the service directory and the referral lifecycle.

received -> triaged -> accepted | declined; accepted -> scheduled -> completed.
The response standard is the time from receipt to accept/decline for the
referral's urgency; ``check_breaches`` (run by clock, CLI or API) raises an
alert to the referrer and the service contact for each referral that missed it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.care.config import URGENCIES, CareConfig
from careweave.care.context import Ctx
from careweave.security import access, audit
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.store.models import Notification, Referral, Service

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("triaged",),
    "triaged": ("accepted", "declined"),
    "accepted": ("scheduled",),
    "scheduled": ("completed",),
    "declined": (),
    "completed": (),
}
STATUSES = tuple(TRANSITIONS)
RESPONDED = ("accepted", "declined")


def check_transition(current: str, new: str) -> None:
    """Pure rule: refuse any move the lifecycle does not allow."""
    if new not in TRANSITIONS:
        raise Invalid(f"status: {new!r} is not one of {', '.join(STATUSES)}")
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current]) or "nothing (it is closed)"
        raise Conflict(f"status: a {current} referral can move to {allowed}, not {new}")


# ------------------------------------------------------------ directory


def seed_services(session: Session, config: CareConfig, now: dt.datetime) -> int:
    """Load the shipped directory when the store has none; returns how many were added."""
    if session.execute(select(Service.id).limit(1)).first():
        return 0
    for s in config.services.services:
        session.add(
            Service(
                id=s.id,
                name=s.name,
                description=s.description,
                eligibility=s.eligibility,
                localities=list(s.localities),
                referral_route=s.referral_route,
                response_standards=dict(s.response_hours),
                active=True,
                updated_at=now,
            )
        )
    return len(config.services.services)


def _check_standards(hours: dict[str, Any]) -> dict[str, float]:
    if not hours:
        raise Invalid("response_hours: give at least one urgency")
    out = {}
    for k, v in hours.items():
        if k not in URGENCIES:
            raise Invalid(f"response_hours.{k}: urgency must be one of {', '.join(URGENCIES)}")
        if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0 or v > 24 * 365:
            raise Invalid(f"response_hours.{k}: hours must be a number in (0, 8760]")
        out[k] = float(v)
    return out


def upsert_service(ctx: Ctx, service_id: str, fields: dict[str, Any]) -> Service:
    ctx.require("service", "write")
    svc = ctx.session.get(Service, service_id)
    if "response_hours" in fields:
        fields["response_standards"] = _check_standards(fields.pop("response_hours"))
    if svc is None:
        missing = {"name", "description", "eligibility", "referral_route", "response_standards"}
        missing -= set(fields)
        if missing:
            raise Invalid(f"service {service_id}: new service needs {', '.join(sorted(missing))}")
        svc = Service(id=service_id, localities=[], active=True, updated_at=ctx.now)
        ctx.session.add(svc)
    for k, v in fields.items():
        setattr(svc, k, v)
    svc.updated_at = ctx.now
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="service",
        resource_id=service_id,
        now=ctx.now,
    )
    return svc


def services(ctx: Ctx, locality: str | None = None) -> list[Service]:
    ctx.require("service", "read")
    rows = ctx.session.execute(select(Service).where(Service.active).order_by(Service.id))
    return [
        s
        for s in rows.scalars()
        if locality is None or not s.localities or locality in s.localities
    ]


# ------------------------------------------------------------ referrals


def create_referral(
    ctx: Ctx,
    nhs_number: str,
    service_id: str,
    urgency: str,
    reason: str,
    *,
    source: str = "manual",
    check_access: bool = True,
) -> Referral:
    if check_access:
        ctx.person(nhs_number, "referral", "write")
    svc = ctx.session.get(Service, service_id)
    if svc is None or not svc.active:
        raise NotFound(f"service_id: no active service {service_id!r} in the directory")
    if urgency not in svc.response_standards:
        raise Invalid(
            f"urgency: {svc.name} takes {', '.join(sorted(svc.response_standards))} referrals"
        )
    if not reason.strip():
        raise Invalid("reason: say why you are referring")
    hours = float(svc.response_standards[urgency])
    ref = Referral(
        nhs_number=nhs_number,
        service_id=service_id,
        urgency=urgency,
        reason=reason.strip(),
        status="received",
        referrer_id=ctx.user.id,
        received_at=ctx.now,
        respond_by=ctx.now + dt.timedelta(hours=hours),
        history=[{"status": "received", "at": ctx.now.isoformat(), "by": ctx.user.username}],
        source=source[:64],
    )
    ctx.session.add(ref)
    ctx.session.flush()
    if svc.contact_user_id is not None:
        # The single point of access: the service hears of every referral at once.
        ctx.session.add(
            Notification(
                recipient_user_id=svc.contact_user_id,
                nhs_number=nhs_number,
                kind="referral",
                subject=f"New {urgency} referral to {svc.name}: respond by "
                f"{ref.respond_by:%Y-%m-%d %H:%M} UTC",
                referral_id=ref.id,
                created_at=ctx.now,
            )
        )
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="referral",
        resource_id=ref.id,
        nhs_number=nhs_number,
        detail=f"to {service_id} ({urgency})",
        now=ctx.now,
    )
    return ref


def visible_only(ctx: Ctx, rows: list[Referral], what: str) -> list[Referral]:
    """The referrals about people the user may see, audited as one list entry; the rest
    (a referral the user's service declined, so the relationship ended) are left out."""
    seen = access.visible(ctx.session, ctx.user, {r.nhs_number for r in rows}, ctx.now)
    out = [r for r in rows if r.nhs_number in seen]
    access.audit_list(
        ctx.session,
        ctx.user,
        "referral",
        {r.nhs_number for r in out},
        ctx.now,
        what=what,
        hidden=len(rows) - len(out),
    )
    return out


def get_referral(ctx: Ctx, referral_id: int, action: str = "read") -> Referral:
    # Lock the row for a change, so two concurrent transitions cannot both apply.
    ref = ctx.session.get(Referral, referral_id, with_for_update=action == "write")
    if ref is None:
        raise NotFound(f"referral_id: no referral {referral_id}")
    ctx.person(ref.nhs_number, "referral", action)
    return ref


def transition(
    ctx: Ctx,
    referral_id: int,
    new_status: str,
    note: str | None = None,
    scheduled_for: dt.datetime | None = None,
) -> Referral:
    ref = get_referral(ctx, referral_id, "write")
    check_transition(ref.status, new_status)
    if new_status == "scheduled":
        if scheduled_for is None:
            raise Invalid("scheduled_for: give the appointment time when scheduling")
        ref.scheduled_for = scheduled_for
    if new_status in RESPONDED:
        ref.responded_at = ctx.now
    ref.status = new_status
    entry = {"status": new_status, "at": ctx.now.isoformat(), "by": ctx.user.username}
    if note:
        entry["note"] = note
    ref.history = [*ref.history, entry]
    return ref


def _alert(
    session: Session, user_id: int | None, ref: Referral, subject: str, now: dt.datetime
) -> None:
    if user_id is None:
        return
    session.add(
        Notification(
            recipient_user_id=user_id,
            nhs_number=ref.nhs_number,
            kind="referral_breach",
            subject=subject,
            referral_id=ref.id,
            created_at=now,
        )
    )


def check_breaches(session: Session, now: dt.datetime, actor: str) -> list[Referral]:
    """Flag referrals whose response standard has passed unmet; alert referrer and service."""
    due = session.execute(
        select(Referral).where(Referral.breached_at.is_(None), Referral.respond_by < now)
    ).scalars()
    breached = []
    for ref in due:
        if ref.responded_at is not None and ref.responded_at <= ref.respond_by:
            continue
        svc = session.get(Service, ref.service_id)
        assert svc is not None
        ref.breached_at = now
        hours = svc.response_standards.get(ref.urgency)
        subject = (
            f"Response standard breached: {ref.urgency} referral {ref.id} to {svc.name} "
            f"(standard {hours:g} h) not accepted or declined by {ref.respond_by:%Y-%m-%d %H:%M} UTC"
        )
        recipients = {ref.referrer_id, svc.contact_user_id} - {None}
        for uid in sorted(u for u in recipients if u is not None):
            _alert(session, uid, ref, subject, now)
        audit.record(
            session,
            actor=actor,
            action="breach",
            resource="referral",
            resource_id=ref.id,
            nhs_number=ref.nhs_number,
            now=now,
        )
        breached.append(ref)
    return breached
