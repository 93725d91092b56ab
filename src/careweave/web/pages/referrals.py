"""Referrals in the browser: duty inboxes of the services I work for, and a page per referral.

The referral page shows the response standard's clock, the history with who was
told at each step, and (to the service's staff only) the actions of the
lifecycle: accept, decline with a reason, book, record the visit, complete,
redirect. Each form carries the version it was made against, so a change made
on a page someone else has since changed is refused (409) rather than applied.
After a change the page shows an NHS.UK notification banner naming who was told.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from careweave.care import referrals
from careweave.care import services as service_staff
from careweave.care.wording import clock_text, from_uk, person_name, uk_date
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.store.models import Person, Referral, Service, User
from careweave.web.errors import form_error
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ACTIONS = {
    "triaged": "Triage",
    "accepted": "Accept",
    "declined": "Decline",
    "scheduled": "Book a visit",
    "attended": "Record that the person was seen",
    "completed": "Complete",
    "redirected": "Redirect to another service",
}


def _names(p: PageDep, nhs_numbers: set[str]) -> dict[str, str]:
    rows = p.ctx.session.execute(select(Person).where(Person.nhs_number.in_(nhs_numbers)))
    return {x.nhs_number: person_name(x) for x in rows.scalars()}


@router.get("/referrals", response_class=HTMLResponse)
def inbox(p: PageDep) -> Response:
    """My services' duty inboxes (open referrals, oldest clock first) and referrals I made."""
    p.ctx.require("referral", "read")
    s, now = p.ctx.session, p.ctx.now
    inboxes: list[tuple[Service, list[Referral]]] = []
    for sid in service_staff.my_service_ids(s, p.user):
        svc = s.get(Service, sid)
        assert svc is not None
        rows = s.execute(
            select(Referral)
            .where(Referral.service_id == sid, Referral.status.in_(referrals.OPEN))
            .order_by(Referral.respond_by, Referral.id)
            .limit(200)
        ).scalars()
        inboxes.append((svc, list(rows)))
    made = list(
        s.execute(
            select(Referral)
            .where(Referral.referrer_id == p.user.id)
            .order_by(Referral.id.desc())
            .limit(50)
        ).scalars()
    )
    # People the user may no longer see are left out; the page is one audit entry.
    everything = [r for _, rs in inboxes for r in rs] + made
    shown = {r.id for r in referrals.visible_only(p.ctx, everything, "referrals page")}
    inboxes = [(svc, [r for r in rs if r.id in shown]) for svc, rs in inboxes]
    made = [r for r in made if r.id in shown]
    services = {x.id: x for x in s.execute(select(Service)).scalars()}
    people = {r.nhs_number for _, rs in inboxes for r in rs} | {r.nhs_number for r in made}
    return p.render(
        "referrals.html",
        title="Referrals",
        inboxes=inboxes,
        made=made,
        services=services,
        names=_names(p, people),
        clock=lambda r: clock_text(r.respond_by, now),
        now=now,
    )


FieldErrors = list[tuple[str, str]]
# Where the lifecycle's domain errors point on the referral page's forms.
FIELDS = {
    "scheduled_for": ("visit_date", "Visit date"),
    "booked_with": ("booked_with", "Who will see the person"),
    "decline_reason": ("decline_reason", "Why is it declined?"),
    "unmet_need_note": (
        "unmet_need_note",
        "What does the person need that could not be provided?",
    ),
    "redirect_to": ("redirect_to", "Service to redirect to"),
}


def _page(
    p: PageDep,
    ref: Referral,
    errors: FieldErrors,
    status: int,
    saved: bool,
    failed: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The referral page; after a refused change, ``failed`` is the action whose form is
    shown open with its errors and ``values`` what was typed into it."""
    s = p.ctx.session
    svc = s.get(Service, ref.service_id)
    assert svc is not None
    person = s.get(Person, ref.nhs_number)
    assert person is not None
    is_staff = service_staff.is_staff(s, p.user, ref.service_id)
    users = {
        u.id: u
        for u in s.execute(
            select(User).where(User.id.in_([x for x in (ref.referrer_id,) if x is not None]))
        ).scalars()
    }
    redirected = s.get(Referral, ref.redirected_to_id) if ref.redirected_to_id else None
    others = [
        x
        for x in s.execute(select(Service).where(Service.active).order_by(Service.name)).scalars()
        if x.id != svc.id
    ]
    last = ref.history[-1] if ref.history else {}
    return p.render(
        "referral.html",
        status=status,
        title=f"Referral {ref.reference}",
        ref=ref,
        svc=svc,
        person=person,
        who=person_name(person),
        referrer=users.get(ref.referrer_id) if ref.referrer_id else None,
        is_staff=is_staff,
        actions=[(a, ACTIONS[a]) for a in referrals.TRANSITIONS[ref.status]],
        reasons=referrals.DECLINE_REASONS,
        others=others,
        redirected=redirected,
        clock=clock_text(ref.respond_by, p.ctx.now),
        overdue=ref.responded_at is None and ref.respond_by < p.ctx.now,
        hours=svc.response_standards.get(ref.urgency),
        errors=errors,
        saved=last if saved else None,
        today=uk_date(p.ctx.now),
        today_iso=uk_date(p.ctx.now).isoformat(),
        failed=failed,
        values=values or {},
    )


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral(referral_id: PathId, p: PageDep, saved: int = 0) -> Response:
    return _page(p, referrals.get_referral(p.ctx, referral_id), [], 200, saved == 1)


@router.post("/referrals/{referral_id}")
def act(referral_id: PathId, p: PageDep, form: Form_) -> Response:
    def get(k: str) -> str:
        v = form.get(k)
        return v.strip() if isinstance(v, str) else ""

    status = get("status")
    errors: FieldErrors = []
    note = get(f"note-{status}") or get("note")  # each action's form has its own note field
    kw: dict[str, Any] = {"note": note or None}
    try:
        kw["version"] = int(get("version"))
    except ValueError:
        errors.append(("", "Reload the referral and try again"))
    if status not in ACTIONS:
        errors.append(("", "Choose what to do with the referral"))
    if len(note) > 2000:
        errors.append((f"note-{status}", "Note must be 2,000 characters or fewer"))
    if status == "scheduled":
        day = time = None
        try:
            day = dt.date.fromisoformat(get("visit_date"))
        except ValueError:
            errors.append(("visit_date", "Visit date must be a real date, like 3 12 2026"))
        try:
            time = dt.time.fromisoformat(get("visit_time"))
        except ValueError:
            errors.append(("visit_time", "Time (UK) must be a time, like 14:00"))
        if day is not None and day < uk_date(p.ctx.now):
            errors.append(("visit_date", "Visit date must be today or in the future"))
        if day is not None and time is not None:
            kw["scheduled_for"] = from_uk(day, time)
        if not get("booked_with"):
            errors.append(("booked_with", "Enter who will see the person"))
        elif len(get("booked_with")) > 200:
            errors.append(
                ("booked_with", "Who will see the person must be 200 characters or fewer")
            )
        kw["booked_with"] = get("booked_with") or None
    if status == "declined":
        if get("decline_reason") not in referrals.DECLINE_REASONS:
            errors.append(("decline_reason", "Choose why the referral is declined"))
        kw["decline_reason"] = get("decline_reason")
        needed = get("unmet_need_note")
        if get("decline_reason") in referrals.UNMET_NEED and not needed:
            errors.append(
                ("unmet_need_note", "Enter what the person needs that could not be provided")
            )
        elif len(needed) > referrals.UNMET_NEED_NOTE_MAX:
            errors.append(
                (
                    "unmet_need_note",
                    "What the person needs must be 1,000 characters or fewer",
                )
            )
        kw["unmet_need_note"] = needed or None
    if status == "redirected":
        if not get("redirect_to"):
            errors.append(("redirect_to", "Choose the service to redirect the referral to"))
        kw["redirect_to"] = get("redirect_to")
    code = 422
    if not errors:
        try:
            referrals.transition(p.ctx, referral_id, status, **kw)
        except Conflict as e:
            errors.append(("", form_error(e, FIELDS)[1]))
            code = 409
        except (Invalid, NotFound) as e:
            errors.append(form_error(e, FIELDS))
    if errors:
        # Refused changes raise before writing anything but the audit of the access.
        ref = referrals.get_referral(p.ctx, referral_id)
        typed = {k: get(k) for k in ("visit_date", "visit_time", "booked_with")}
        typed |= {k: get(k) for k in ("decline_reason", "redirect_to", "unmet_need_note")}
        typed |= {"note": note}
        return _page(p, ref, errors, code, False, status, typed)
    return RedirectResponse(f"/app/referrals/{referral_id}?saved=1", status_code=303)
