"""Home: my tasks, unread notifications, my caseload, referrals breaching their standard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select

from careweave.care import discharge, incidents, mdt, notify, referrals, register
from careweave.care import services as service_staff
from careweave.security import access
from careweave.security.access import OPEN_REFERRAL as OPEN_STATUSES
from careweave.security.errors import NotFound
from careweave.security.roles import CARE_PROVIDER, allowed
from careweave.store.models import (
    BreakGlass,
    CarePlan,
    CarePlanVersion,
    CareTeamMember,
    Notification,
    Referral,
    Service,
    User,
)
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def unread(p: PageDep, limit: int = 50) -> list[Notification]:
    return notify.inbox(p.ctx, unread=True, limit=limit)


def breaching(p: PageDep) -> list[tuple[Referral, Service]]:
    """Open referrals I made or my service holds, past their response standard, about
    people I may see."""
    now = p.ctx.now
    q = (
        select(Referral, Service)
        .join(Service, Service.id == Referral.service_id)
        .where(
            or_(Referral.referrer_id == p.user.id, Service.contact_user_id == p.user.id),
            Referral.status.in_(OPEN_STATUSES),
            or_(
                Referral.breached_at.is_not(None),
                (Referral.respond_by < now) & Referral.responded_at.is_(None),
            ),
        )
        .order_by(Referral.respond_by)
        .limit(50)
    )
    pairs = [(r, s) for r, s in p.ctx.session.execute(q).tuples()]
    services = {r.id: s for r, s in pairs}
    shown = referrals.visible_only(p.ctx, [r for r, _ in pairs], "breaching referrals")
    return [(r, services[r.id]) for r in shown]


@dataclass(frozen=True)
class Visit:
    """A care-plan intervention the user's team role carries out for a client."""

    nhs_number: str
    what: str
    status: str
    due: str | None


def clients(p: PageDep) -> tuple[list[str], list[Visit]]:
    """The people whose care team I am in (newest first) and, from their current care
    plans, the interventions my team role owns that are planned or in progress: a home-care
    provider's visits. Only people I may still see (care-team membership is itself the
    relationship, so all of them)."""
    members = list(
        p.ctx.session.execute(
            select(CareTeamMember)
            .where(CareTeamMember.user_id == p.user.id, CareTeamMember.ended_at.is_(None))
            .order_by(CareTeamMember.added_at.desc())
        ).scalars()
    )
    nhs_numbers = list(dict.fromkeys(m.nhs_number for m in members))
    roles = {m.nhs_number: m.team_role for m in members}
    visits: list[Visit] = []
    rows = p.ctx.session.execute(
        select(CarePlan.nhs_number, CarePlanVersion.content)
        .join(
            CarePlanVersion,
            (CarePlanVersion.care_plan_id == CarePlan.id)
            & (CarePlanVersion.version == CarePlan.current_version),
        )
        .where(CarePlan.nhs_number.in_(nhs_numbers))
    ).tuples()
    for nhs, content in rows:
        for i in content.get("interventions", []):
            if i.get("owner_role") == roles.get(nhs) and i.get("status") in (
                "planned",
                "in_progress",
            ):
                visits.append(Visit(nhs, i["description"], i["status"], i.get("due_date")))
    return nhs_numbers, visits


def service_referrals(p: PageDep) -> list[tuple[Referral, Service]]:
    """Open referrals to the services I am the named contact for, oldest first."""
    q = (
        select(Referral, Service)
        .join(Service, Service.id == Referral.service_id)
        .where(Service.contact_user_id == p.user.id, Referral.status.in_(OPEN_STATUSES))
        .order_by(Referral.respond_by)
        .limit(50)
    )
    return [(r, s) for r, s in p.ctx.session.execute(q).tuples()]


def counts(p: PageDep) -> dict[str, int]:
    """The counts Home shows in its headings, as they are now (after an htmx action)."""
    out: dict[str, int] = {}
    if allowed(p.user.role, "task", "read"):
        out["tasks"] = sum(
            1 for t in mdt.my_tasks(p.ctx, None) if t.status in ("open", "in_progress")
        )
    if allowed(p.user.role, "notification", "read"):
        out["notifications"] = len(unread(p))
    return out


@router.get("/", response_class=HTMLResponse)
def home_page(p: PageDep) -> Response:
    return home(p)


def home(p: PageDep, errors: list[tuple[str, str]] | None = None, status: int = 200) -> Response:
    role = p.user.role
    ctx = p.ctx
    context: dict[str, Any] = {"title": "Home", "errors": errors or []}
    if allowed(role, "task", "read"):
        context["tasks"] = [
            t for t in mdt.my_tasks(ctx, None) if t.status in ("open", "in_progress")
        ]
    if allowed(role, "notification", "read"):
        context["notifications"] = unread(p)
    if allowed(role, "caseload", "read"):
        context["caseload"] = register.caseload(ctx, p.user)
        context["caseload_episodes"] = register.caseload_episodes(ctx, p.user)
    if allowed(role, "referral", "read"):
        context["breaching"] = breaching(p)
        context["service_referrals"] = service_referrals(p)
        context["inbox_link"] = (
            "/app/referrals" if service_staff.my_service_ids(ctx.session, p.user) else None
        )
    if allowed(role, "incident", "read"):
        if set(incidents.RESPONDERS) & set(service_staff.my_service_ids(ctx.session, p.user)):
            current = incidents.queue(ctx, "current")
            context["alarm_queue"] = current
            context["alarm_queue_late"] = [i for i in current if incidents.is_late(i, ctx.now)]
        context["late_alarms"] = incidents.late_for_team(ctx)
    if allowed(role, "care_plan", "read"):
        # Discharge plans that need attention (before a weekend, delayed, undecided).
        context["discharges"] = [w for w in discharge.watch_list(ctx) if w.flagged]
    if role == CARE_PROVIDER:
        context["clients"], context["visits"] = clients(p)
    if allowed(role, "break_glass", "review"):
        grants = list(
            ctx.session.execute(
                select(BreakGlass).where(BreakGlass.reviewed_at.is_(None)).order_by(BreakGlass.id)
            ).scalars()
        )
        names = {
            u.id: u.display_name
            for u in ctx.session.execute(
                select(User).where(User.id.in_([g.user_id for g in grants]))
            ).scalars()
        }
        context["break_glass"] = [(g, names.get(g.user_id, str(g.user_id))) for g in grants]
    shown = [x.nhs_number for x in context.get("tasks", []) + context.get("notifications", [])]
    shown += [e.nhs_number for e in context.get("caseload_episodes", [])]
    shown += [r.nhs_number for r, _ in context.get("breaching", [])]
    shown += [r.nhs_number for r, _ in context.get("service_referrals", [])]
    shown += context.get("clients", [])
    shown += [i.nhs_number for i in context.get("late_alarms", [])]
    shown += [w.person.nhs_number for w in context.get("discharges", [])]
    return p.render("home.html", status=status, people=p.people(shown), **context)


def _done(request: Request, p: PageDep, target: str) -> Response:
    """htmx posts (HX-Request) get an empty fragment that replaces the row, and every count
    on Home the change affects, swapped out of band; forms get a redirect."""
    if request.headers.get("HX-Request") == "true":
        p.ctx.session.flush()
        oob = "".join(
            f'<span id="count-{name}" hx-swap-oob="true">{n}</span>'
            for name, n in counts(p).items()
        )
        return HTMLResponse(oob)
    return RedirectResponse(target, status_code=303)


@router.post("/notifications/{notification_id}/read")
def mark_read(notification_id: PathId, request: Request, p: PageDep) -> Response:
    p.ctx.require("notification", "read")
    n = p.ctx.session.get(Notification, notification_id)
    if n is None or n.recipient_user_id != p.user.id:
        raise NotFound(f"notification {notification_id}: not one of your notifications")
    if n.read_at is None:
        n.read_at = p.ctx.now
    return _done(request, p, "/app/#notifications")


@router.post("/tasks/{task_id}")
def update_task(
    task_id: PathId,
    request: Request,
    p: PageDep,
    status: Annotated[str, Form(pattern="^(open|in_progress|done|cancelled)$")],
    back: Annotated[str, Form(max_length=200)] = "/app/",
) -> Response:
    mdt.update_task(p.ctx, task_id, status)
    return _done(request, p, back if back.startswith("/app") else "/app/")


@router.post("/break-glass/{grant_id}/review")
def review_break_glass(
    grant_id: PathId,
    p: PageDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    """An administrator records the review of an emergency access; a note too long is shown
    on Home in the NHS.UK error pattern, at the grant's review field."""
    if len(note) > 2000:
        errors = [(f"note-{grant_id}", "Review note must be 2,000 characters or fewer")]
        return home(p, errors=errors, status=422)
    access.review_break_glass(
        p.ctx.session, p.user, grant_id, note.strip() or "reviewed", p.ctx.now
    )
    return RedirectResponse("/app/#break-glass", status_code=303)
