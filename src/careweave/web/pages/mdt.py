"""MDT meetings: agenda of people, attendees, decisions and the actions that become tasks."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from careweave.care import mdt
from careweave.care.wording import from_uk, uk_date
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.security.roles import ADMINISTRATOR, ANALYST, INTEGRATION, allowed
from careweave.store.models import (
    CareTeamMember,
    MdtMeeting,
    ServiceMember,
    Task,
    User,
)
from careweave.web.errors import form_error
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
# Where the MDT domain's errors point on the pages' forms (field id, label).
MEETING_FIELDS = {
    "title": ("title", "Title"),
    "held_at": ("held_at", "When (UK time)"),
    "agenda": ("agenda", "Agenda"),
    "attendees": ("", "Attendees"),
}
DECISION_FIELDS = {
    "nhs_number": ("nhs_number", "Person"),
    "decision": ("decision", "Decision"),
    "actions.title": ("action_title", "What"),
    "actions.owner_user_id": ("action_owner", "Owner"),
    "actions.due": ("action_due", "Due date"),
}
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _colleagues(p: PageDep) -> list[User]:
    """Who can be invited: my locality or organisation, everyone in the care teams of the
    people whose teams I am in (whatever their agency), and the staff of every service."""
    q = select(User).where(User.active, User.role.not_in([ANALYST, ADMINISTRATOR, INTEGRATION]))
    mine = select(CareTeamMember.nhs_number).where(
        CareTeamMember.user_id == p.user.id, CareTeamMember.ended_at.is_(None)
    )
    alongside = select(CareTeamMember.user_id).where(
        CareTeamMember.nhs_number.in_(mine), CareTeamMember.ended_at.is_(None)
    )
    staff = select(ServiceMember.user_id).where(ServiceMember.ended_at.is_(None))
    wider = User.id.in_(alongside) | User.id.in_(staff) | (User.id == p.user.id)
    if p.user.locality_id:
        q = q.where((User.locality_id == p.user.locality_id) | wider)
    elif p.user.org_id:
        q = q.where((User.org_id == p.user.org_id) | wider)
    else:
        q = q.where(wider)
    return list(p.ctx.session.execute(q.order_by(User.display_name)).scalars())


def _mine(p: PageDep) -> list[MdtMeeting]:
    p.ctx.require("mdt", "read")
    rows = p.ctx.session.execute(select(MdtMeeting).order_by(MdtMeeting.held_at.desc())).scalars()
    return [m for m in rows if p.user.id in m.attendees][:50]


def _list(
    p: PageDep,
    errors: list[tuple[str, str]],
    values: dict[str, str],
    status: int,
    agenda: list[str],
) -> Response:
    people = p.people(agenda)
    return p.render(
        "mdt_list.html",
        status=status,
        title="MDT meetings",
        meetings=_mine(p),
        colleagues=_colleagues(p),
        errors=errors,
        values=values,
        agenda=[people[n] for n in agenda if n in people],
        can_arrange=allowed(p.user.role, "mdt", "write"),
    )


@router.get("/mdt", response_class=HTMLResponse)
def meetings(
    p: PageDep, nhs_number: Annotated[str, Query(pattern=r"^([0-9]{10})?$")] = ""
) -> Response:
    """The meetings I attend and the form to arrange one; ``nhs_number`` (from "Add to an
    MDT meeting" on the worklist or a patient page) puts that person on its agenda."""
    agenda = []
    if nhs_number:
        p.ctx.person(nhs_number, "mdt", "write")
        agenda = [nhs_number]
    return _list(p, [], {}, 200, agenda)


@router.post("/mdt")
def create(p: PageDep, form: Form_) -> Response:
    values = {k: str(form.get(k) or "").strip() for k in ("title", "held_at")}
    attendees = [int(a) for a in form.getlist("attendees") if isinstance(a, str) and a.isdigit()]
    errors = []
    # The agenda comes from the page (people added from the worklist or their record),
    # never typed: hidden NHS numbers the person page or worklist put there.
    agenda = [str(a).strip() for a in form.getlist("agenda") if str(a).strip()]
    bad = [a for a in agenda if not re.fullmatch(r"[0-9]{10}", a)]
    if not values["title"]:
        errors.append(("title", "Enter a title for the meeting"))
    try:
        # Typed in UK local time (GMT or BST), stored as UTC.
        typed = dt.datetime.fromisoformat(values["held_at"])
        held = from_uk(typed.date(), typed.time())
    except ValueError:
        errors.append(("held_at", "When: enter the date and time of the meeting"))
        held = p.ctx.now
    if bad:
        errors.append(("", "Agenda: reload the page and add the people again"))
    if not errors:
        try:
            m = mdt.create_meeting(p.ctx, values["title"], held, agenda, attendees)
        except (Invalid, NotFound) as e:
            errors.append(form_error(e, MEETING_FIELDS))
    if errors:
        good = [a for a in agenda if a not in bad]
        return _list(p, errors, values, 422, good)
    return RedirectResponse(f"/app/mdt/{m.id}", status_code=303)


def _meeting_page(
    p: PageDep,
    m: mdt.MeetingView,
    errors: list[tuple[str, str]],
    status: int,
    values: dict[str, str] | None = None,
    invited: list[str] | None = None,
) -> Response:
    can_write = allowed(p.user.role, "mdt", "write")
    users = {
        u.id: u
        for u in p.ctx.session.execute(select(User).where(User.id.in_(m.attendees))).scalars()
    }
    tasks = {
        t.id: t
        for t in p.ctx.session.execute(select(Task).where(Task.mdt_meeting_id == m.id)).scalars()
    }
    return p.render(
        "mdt_meeting.html",
        status=status,
        title=m.title,
        m=m,
        people=p.people([*m.agenda, *(d.get("nhs_number") for d in m.decisions)]),
        users=users,
        by_name={
            u.username: u.display_name
            for u in p.ctx.session.execute(
                select(User).where(User.username.in_({d.get("by") for d in m.decisions}))
            ).scalars()
        },
        tasks=tasks,
        errors=errors,
        values=values or {},
        default_due=(uk_date(p.ctx.now) + dt.timedelta(days=7)).isoformat(),
        candidates=mdt.candidates(p.ctx, m.id) if can_write else [],
        can_write=can_write,
        invited=invited,
    )


@router.get("/mdt/add", response_class=HTMLResponse, name="mdt_add")
def add_page(p: PageDep, nhs_number: Annotated[str, Query(pattern=r"^[0-9]{10}$")]) -> Response:
    """Add a person to a meeting I attend (from the worklist or their page)."""
    person = p.ctx.person(nhs_number, "mdt", "write")
    return p.render(
        "mdt_add.html",
        title="Add to an MDT meeting",
        person=person,
        meetings=mdt.upcoming(p.ctx),
        errors=[],
    )


@router.post("/mdt/{meeting_id}/agenda")
def add(meeting_id: PathId, p: PageDep, form: Form_) -> Response:
    nhs = str(form.get("nhs_number") or "")
    with contextlib.suppress(Conflict):  # already on it: the meeting page shows them there
        mdt.add_to_agenda(p.ctx, meeting_id, nhs)
    return RedirectResponse(f"/app/mdt/{meeting_id}#agenda", status_code=303)


@router.post("/mdt/add")
def add_choose(p: PageDep, form: Form_) -> Response:
    """The add page's form: the chosen meeting, or the error summary."""
    nhs = str(form.get("nhs_number") or "")
    chosen = str(form.get("meeting") or "")
    if not re.fullmatch(r"[0-9]{10}", nhs):
        raise Invalid("nhs_number: open the person's record and try again")
    if not chosen.isdigit():
        person = p.ctx.person(nhs, "mdt", "write")
        return p.render(
            "mdt_add.html",
            status=422,
            title="Add to an MDT meeting",
            person=person,
            meetings=mdt.upcoming(p.ctx),
            errors=[("meeting-0", "Choose the meeting to add them to")],
        )
    return add(int(chosen), p, form)


@router.post("/mdt/{meeting_id}/attendees")
def invite(meeting_id: PathId, p: PageDep, form: Form_) -> Response:
    ids = [int(a) for a in form.getlist("invite") if isinstance(a, str) and a.isdigit()]
    try:
        mdt.invite(p.ctx, meeting_id, ids)
    except Invalid as e:
        m = mdt.get_meeting(p.ctx, meeting_id)
        return _meeting_page(p, m, [("invite-0", str(e).split(": ", 1)[-1])], 422)
    joined = ",".join(str(i) for i in ids)
    return RedirectResponse(f"/app/mdt/{meeting_id}?invited={joined}#told", status_code=303)


@router.get("/mdt/{meeting_id}", response_class=HTMLResponse)
def meeting(
    meeting_id: PathId,
    p: PageDep,
    invited: Annotated[str, Query(max_length=2000, pattern=r"^[0-9,]*$")] = "",
) -> Response:
    m = mdt.get_meeting(p.ctx, meeting_id)
    told = None
    if invited:
        # After inviting: the banner names the new attendees (each was told).
        ids = {int(x) for x in invited.split(",") if x} & set(m.attendees)
        rows = p.ctx.session.execute(select(User).where(User.id.in_(ids)).order_by(User.id))
        told = [u.display_name for u in rows.scalars()]
    return _meeting_page(p, m, [], 200, invited=told)


@router.post("/mdt/{meeting_id}/decisions")
def decide(meeting_id: PathId, p: PageDep, form: Form_) -> Response:

    def get(k: str) -> str:
        return str(form.get(k) or "").strip()

    errors: list[tuple[str, str]] = []
    actions = []
    if not get("decision"):
        errors.append(("decision", "Enter the decision"))
    if get("action_title") or get("action_due") != get("default_due"):
        due = None
        try:
            due = dt.date.fromisoformat(get("action_due"))
        except ValueError:
            errors.append(("action_due", "Action due date: enter a real date, like 23 11 2026"))
        if due is not None and due < uk_date(p.ctx.now):
            errors.append(("action_due", "Action due date must be today or in the future"))
        if not get("action_title") and get("action_due"):
            errors.append(("action_title", "Action: enter what is to be done, or clear it"))
        if not get("action_owner").isdigit():
            errors.append(("action_owner", "Action: choose its owner"))
        if get("action_title") and due is not None and get("action_owner").isdigit():
            actions.append(mdt.Action(get("action_title"), int(get("action_owner")), due))
    if not errors:
        try:
            mdt.record_decision(p.ctx, meeting_id, get("nhs_number"), get("decision"), actions)
        except (Invalid, NotFound) as e:
            errors.append(form_error(e, DECISION_FIELDS))
    if errors:
        typed = {k: get(k) for k in ("nhs_number", "decision", "action_title", "action_owner")}
        typed["action_due"] = get("action_due")
        return _meeting_page(p, mdt.get_meeting(p.ctx, meeting_id), errors, 422, typed)
    return RedirectResponse(f"/app/mdt/{meeting_id}#decisions", status_code=303)
