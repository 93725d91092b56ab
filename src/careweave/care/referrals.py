"""Single point of access: the service directory and the referral lifecycle.

A referral arrives in the service's duty inbox (``received``). The service's
staff (care/services.py) then, and only they:

    received  -> triaged | accepted | declined | redirected
    triaged   -> accepted | declined | redirected
    accepted  -> scheduled | completed
    scheduled -> scheduled (re-booked) | attended | completed
    attended  -> completed

``declined`` needs a reason from ``DECLINE_REASONS`` (the unmet-need count
reads them) and may say, in ``unmet_need_note``, what the person needs that could
not be provided (the page asks for it when the reason is unmet need: ``UNMET_NEED``;
commissioners read it de-identified, careweave.capacity.unmet); ``scheduled`` needs a time and who will see the person;
``redirected`` closes this referral and opens a new one at another service,
with the same urgency and reason, whose clock starts afresh. Every change
bumps ``version``: a change made against an older version is refused (409),
so two people acting on the same inbox cannot overwrite each other. Each
change tells the referrer, the person's care team and the service's staff in
one plain-English sentence, and the history entry keeps who was told.

The response standard is the time from receipt to accept/decline/redirect for
the referral's urgency; ``check_breaches`` (run by clock, CLI or API) raises an
alert to the referrer and the service's staff for each referral that missed it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.care import lifecycle
from careweave.care import services as service_staff
from careweave.care.config import URGENCIES, CareConfig
from careweave.care.context import Ctx
from careweave.care.notify import notify_users, team
from careweave.care.wording import person_name, possessive, uk_time
from careweave.security import access, audit
from careweave.security.errors import Conflict, Forbidden, Invalid, NotFound
from careweave.store.models import Notification, Person, Referral, Service, User

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("triaged", "accepted", "declined", "redirected"),
    "triaged": ("accepted", "declined", "redirected"),
    "accepted": ("scheduled", "completed"),
    "scheduled": ("scheduled", "attended", "completed"),
    "attended": ("completed",),
    "declined": (),
    "completed": (),
    "redirected": (),
}
STATUSES = tuple(TRANSITIONS)
RESPONDED = ("accepted", "declined", "redirected")
OPEN = ("received", "triaged", "accepted", "scheduled", "attended")
# Why a service declines; the first three are need the area has no service to meet.
DECLINE_REASONS: dict[str, str] = {
    "no_capacity": "no capacity in the service",
    "out_of_area": "outside the area the service covers",
    "not_eligible": "does not meet the service's criteria",
    "needs_met_elsewhere": "needs already met by another service",
    "person_declined": "the person declined the service",
    "duplicate": "a duplicate of another referral",
}
UNMET_NEED = ("no_capacity", "out_of_area", "not_eligible")
UNMET_NEED_NOTE_MAX = 1000
VERBS = {
    "triaged": "triaged",
    "accepted": "accepted",
    "declined": "declined",
    "redirected": "redirected",
    "scheduled": "booked",
    "attended": "recorded the visit for",
    "completed": "completed",
}


def check_transition(current: str, new: str) -> None:
    """Pure rule: refuse any move the lifecycle does not allow."""
    lifecycle.check_transition(TRANSITIONS, current, new, "referral")


# ------------------------------------------------------------ directory


def seed_services(session: Session, config: CareConfig, now: dt.datetime) -> int:
    """Add the shipped services the store does not have yet (by id); returns how many.

    Services already in the store are left as administrators edited them.
    """
    have = set(session.execute(select(Service.id)).scalars())
    added = [s for s in config.services.services if s.id not in have]
    for s in added:
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
    session.flush()
    return len(added)


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


def _told_names(session: Session, sent: list[Notification]) -> list[str]:
    ids = [n.recipient_user_id for n in sent]
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    names = {uid: name for uid, name in rows.tuples()}
    return [names[i] for i in ids if i in names]


def _tell(ctx: Ctx, ref: Referral, svc: Service, subject: str) -> list[str]:
    """Tell the referrer, the person's care team and the service's staff (not the actor)."""
    sent: dict[int, Notification] = {}
    common: dict[str, Any] = {
        "kind": "referral",
        "subject": subject,
        "now": ctx.now,
        "referral_id": ref.id,
        "exclude_user": ctx.user.id,
        "sent": sent,
    }
    s = ctx.session
    if ref.referrer_id is not None:
        notify_users(s, ref.nhs_number, [(ref.referrer_id, "referrer")], **common)
    notify_users(
        s, ref.nhs_number, [(m.user_id, m.team_role) for m in team(s, ref.nhs_number)], **common
    )
    notify_users(
        s,
        ref.nhs_number,
        [(uid, None) for uid in service_staff.staff_ids(s, svc.id)],
        service_id=svc.id,
        **common,
    )
    return _told_names(s, list(sent.values()))


def _entry(ctx: Ctx, status: str, **extra: Any) -> dict[str, Any]:
    e = {
        "status": status,
        "at": ctx.now.isoformat(),
        "by": ctx.user.username,
        "by_name": ctx.user.display_name,
    }
    e.update({k: v for k, v in extra.items() if v is not None})
    return e


def _open(
    ctx: Ctx,
    person: Person,
    svc: Service,
    urgency: str,
    reason: str,
    *,
    referrer_id: int | None,
    source: str,
    redirected_from: Referral | None = None,
    supporting_info: list[str] | None = None,
) -> Referral:
    if not svc.active:
        raise NotFound(f"service_id: no active service {svc.id!r} in the directory")
    if urgency not in svc.response_standards:
        raise Invalid(
            f"urgency: {svc.name} takes {', '.join(sorted(svc.response_standards))} referrals"
        )
    if not reason.strip():
        raise Invalid("reason: say why you are referring")
    hours = float(svc.response_standards[urgency])
    ref = Referral(
        nhs_number=person.nhs_number,
        service_id=svc.id,
        urgency=urgency,
        reason=reason.strip(),
        status="received",
        referrer_id=referrer_id,
        received_at=ctx.now,
        respond_by=ctx.now + dt.timedelta(hours=hours),
        history=[],
        source=source[:64],
        version=1,
    )
    ctx.session.add(ref)
    ctx.session.flush()
    who = person_name(person)
    if redirected_from is None:
        subject = (
            f"{ctx.user.display_name} referred {who} to {svc.name} ({urgency}, {ref.reference}): "
            f"respond by {uk_time(ref.respond_by)}."
        )
    else:
        subject = (
            f"{ctx.user.display_name} redirected {possessive(who)} {urgency} referral "
            f"{redirected_from.reference} to {svc.name} (now {ref.reference}): respond by "
            f"{uk_time(ref.respond_by)}."
        )
    told = _tell(ctx, ref, svc, subject)
    ref.history = [
        _entry(
            ctx,
            "received",
            told=told,
            redirected_from=redirected_from.reference if redirected_from else None,
            supporting_info=supporting_info or None,
        )
    ]
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="referral",
        resource_id=ref.id,
        nhs_number=person.nhs_number,
        detail=f"to {svc.id} ({urgency})",
        now=ctx.now,
    )
    return ref


def create_referral(
    ctx: Ctx,
    nhs_number: str,
    service_id: str,
    urgency: str,
    reason: str,
    *,
    source: str = "manual",
    check_access: bool = True,
    supporting_info: list[str] | None = None,
) -> Referral:
    """Refer a person; it lands in the service's duty inbox and its staff are told.

    ``supporting_info``: what the referrer points the service at (FHIR references, e.g. a
    telehealth reading ``Observation/telehealth-12``), kept in the first history entry;
    the caller checks they are about the person."""
    if check_access:
        person = ctx.person(nhs_number, "referral", "write")
    else:
        found = ctx.session.get(Person, nhs_number)
        if found is None:
            raise NotFound(f"nhs_number: no person {nhs_number} in the people index")
        person = found
    svc = ctx.session.get(Service, service_id)
    if svc is None or not svc.active:
        raise NotFound(f"service_id: no active service {service_id!r} in the directory")
    return _open(
        ctx,
        person,
        svc,
        urgency,
        reason,
        referrer_id=ctx.user.id,
        source=source,
        supporting_info=supporting_info,
    )


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
    """The referral, for anyone with a relationship with the person, or its service's staff.

    A service's staff keep sight of a referral (not the whole record) after it closes.
    """
    # Lock the row for a change, so two concurrent transitions cannot both apply.
    ref = ctx.session.get(Referral, referral_id, with_for_update=action == "write")
    if ref is None:
        raise NotFound(f"referral_id: no referral {referral_id}")
    try:
        ctx.person(ref.nhs_number, "referral", action)
    except Forbidden:
        if action != "read" or not service_staff.is_staff(ctx.session, ctx.user, ref.service_id):
            raise
        audit.record(
            ctx.session,
            actor=ctx.user.username,
            action="read",
            resource="referral",
            resource_id=ref.id,
            nhs_number=ref.nhs_number,
            detail="basis=service_staff",
            now=ctx.now,
        )
    return ref


def transition(
    ctx: Ctx,
    referral_id: int,
    new_status: str,
    note: str | None = None,
    scheduled_for: dt.datetime | None = None,
    *,
    version: int | None = None,
    decline_reason: str | None = None,
    booked_with: str | None = None,
    redirect_to: str | None = None,
    unmet_need_note: str | None = None,
) -> Referral:
    """One step of the lifecycle, by the service's staff only (see the module docstring).

    ``version`` is the version the change was made against; when given and stale the
    change is refused (409). Returns the referral (the new one for a redirect is
    ``redirected_to_id``).
    """
    ref = get_referral(ctx, referral_id, "write")
    svc = ctx.session.get(Service, ref.service_id)
    assert svc is not None
    if version is not None and version != ref.version:
        raise Conflict(
            f"version: referral {ref.reference} changed since you opened it (it is now "
            f"{ref.status}, version {ref.version}); reload it and try again"
        )
    if not service_staff.is_staff(ctx.session, ctx.user, ref.service_id):
        raise Forbidden(
            f"referral {ref.reference}: only the staff of {svc.name} can change its status"
        )
    check_transition(ref.status, new_status)
    person = ctx.session.get(Person, ref.nhs_number)
    assert person is not None
    who = person_name(person)
    note = note.strip() if note else None
    extra: dict[str, Any] = {"note": note}
    detail = ""
    if new_status == "scheduled":
        if scheduled_for is None:
            raise Invalid("scheduled_for: give the appointment time when scheduling")
        if scheduled_for.tzinfo is None:
            raise Invalid("scheduled_for: give a time zone")
        with_whom = (booked_with or "").strip() or ctx.user.display_name
        ref.scheduled_for, ref.booked_with = scheduled_for, with_whom[:200]
        extra.update(scheduled_for=scheduled_for.isoformat(), booked_with=ref.booked_with)
        detail = f" for {uk_time(scheduled_for)} with {ref.booked_with}"
    if new_status == "declined":
        if decline_reason not in DECLINE_REASONS:
            raise Invalid(
                f"decline_reason: say why the referral is declined ({', '.join(DECLINE_REASONS)})"
            )
        ref.decline_reason = decline_reason
        extra["decline_reason"] = decline_reason
        detail = f": {DECLINE_REASONS[decline_reason]}"
        needed = (unmet_need_note or "").strip()
        if len(needed) > UNMET_NEED_NOTE_MAX:
            raise Invalid(f"unmet_need_note: must be {UNMET_NEED_NOTE_MAX:,} characters or fewer")
        if needed:
            ref.unmet_need_note = needed
            extra["unmet_need"] = needed
            detail += f" (needed: {needed})"
    new_ref: Referral | None = None
    if new_status == "redirected":
        target = ctx.session.get(Service, redirect_to) if redirect_to else None
        if target is None or not target.active:
            raise Invalid("redirect_to: name an active service in the directory to redirect to")
        if target.id == svc.id:
            raise Invalid("redirect_to: choose a different service from the one it is with")
        reason = ref.reason + (f"\n\nRedirected by {svc.name}: {note}" if note else "")
        new_ref = _open(
            ctx,
            person,
            target,
            ref.urgency,
            reason,
            referrer_id=ref.referrer_id,
            source=f"redirect:{ref.reference}",
            redirected_from=ref,
        )
        ref.redirected_to_id = new_ref.id
        extra["redirected_to"] = new_ref.reference
        detail = f" to {target.name} (now {new_ref.reference})"
    if new_status in RESPONDED and ref.responded_at is None:
        ref.responded_at = ctx.now
    ref.status = new_status
    ref.version += 1
    if new_status == "scheduled":
        subject = (
            f"{ctx.user.display_name} booked {possessive(who)} visit from {svc.name}{detail} "
            f"({ref.reference})."
        )
    else:
        subject = (
            f"{ctx.user.display_name} {VERBS[new_status]} the referral of {who} to {svc.name}"
            f"{detail} ({ref.reference})."
        )
    if note and new_status != "redirected":
        subject += f" Note: {note}"
    told = _tell(ctx, ref, svc, subject)
    ref.history = [*ref.history, _entry(ctx, new_status, told=told, **extra)]
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="referral",
        resource_id=ref.id,
        nhs_number=ref.nhs_number,
        detail=f"status {new_status}",
        now=ctx.now,
    )
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
    """Flag referrals whose response standard has passed unmet; alert referrer and staff."""
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
            f"Response standard breached: {ref.urgency} referral {ref.reference} to {svc.name} "
            f"(standard {hours:g} h) not accepted or declined by {uk_time(ref.respond_by)}"
        )
        recipients = {ref.referrer_id, *service_staff.staff_ids(session, svc.id)} - {None}
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
