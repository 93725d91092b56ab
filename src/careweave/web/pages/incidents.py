"""Alarm incidents in the browser: the control centre's queue and a page per incident.

The queue lists the current incidents of the services I work for (the telecare
control centre's, or those dispatched to my service) with the 2-hour clock, oldest
alarm first, and refreshes itself every 30 seconds (htmx). An incident page shows
the clock, the history with who was told at each step and, to the staff of the
control centre and rapid response, the one next step: dispatch (rapid response, or a
named member of its staff), record arrival, or record the outcome. Each form carries
the version it was made against: a page someone else has since moved on is refused
(409, NHS.UK error summary) rather than applied. After a step the page shows an
NHS.UK notification banner naming who was told.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from careweave.care import incidents
from careweave.care import services as service_staff
from careweave.care.wording import clock_text, person_name
from careweave.security.errors import Conflict, Invalid
from careweave.store.models import Incident, Person, Service, User
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ACTIONS = {
    "dispatched": "Dispatch rapid response",
    "arrived": "Record arrival",
    "closed": "Record the outcome and close",
}

HISTORY = {
    "open": "Alarm received",
    "dispatched": "Rapid response dispatched",
    "arrived": "Arrived",
    "closed": "Closed",
    "breach": "2-hour standard missed",
}


def clock(inc: Incident, now: Any) -> str:
    """'1 h 20 min left' to arrive, how far past it is, or the arrival time taken."""
    mins = inc.minutes_to_arrival
    if mins is not None:
        h, m = divmod(mins, 60)
        return f"arrived after {h} h {m} min" if h else f"arrived after {m} min"
    return clock_text(inc.arrive_by, now)


@router.get("/incidents", response_class=HTMLResponse)
def queue(p: PageDep, request: Request) -> Response:
    """Current incidents in my services' queues, and the last closed ones."""
    now = p.ctx.now
    current = incidents.queue(p.ctx, "current")
    closed = incidents.queue(p.ctx, "closed", what="closed incidents")[-20:][::-1]
    services = {s.id: s for s in p.ctx.session.execute(select(Service)).scalars()}
    people = p.people([i.nhs_number for i in current + closed])
    names = {n: person_name(x) for n, x in people.items()}
    return p.render(
        "incidents.html",
        title="Alarm incidents",
        current=current,
        closed=closed,
        late=[i for i in current if incidents.is_late(i, now)],
        names=names,
        services=services,
        clock=lambda i: clock(i, now),
        is_late=lambda i: incidents.is_late(i, now),
        outcomes=incidents.OUTCOMES,
        fragment=request.headers.get("HX-Request") == "true",
    )


def _page(p: PageDep, inc: Incident, errors: list[Any], status: int, saved: bool) -> Response:
    s = p.ctx.session
    person = s.get(Person, inc.nhs_number)
    assert person is not None
    may_act = any(service_staff.is_staff(s, p.user, x) for x in incidents.RESPONDERS)
    responders = [u for _, u in service_staff.members(s, incidents.RAPID_RESPONSE)]
    names = {
        u.id: u.display_name
        for u in s.execute(
            select(User).where(User.id.in_([x for x in (inc.responder_user_id,) if x]))
        ).scalars()
    }
    responder_svc = s.get(Service, inc.responder_service_id) if inc.responder_service_id else None
    last = inc.history[-1] if inc.history else {}
    return p.render(
        "incident.html",
        status=status,
        title=f"Fall alarm {inc.reference}",
        inc=inc,
        person=person,
        who=person_name(person),
        may_act=may_act,
        actions=[(a, ACTIONS[a]) for a in incidents.TRANSITIONS[inc.status]],
        responders=responders,
        responder_name=names.get(inc.responder_user_id or 0),
        responder_svc=responder_svc,
        outcomes=incidents.OUTCOMES,
        clock=clock(inc, p.ctx.now),
        late=incidents.is_late(inc, p.ctx.now),
        errors=errors,
        saved=last if saved else None,
        labels=HISTORY,
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(incident_id: PathId, p: PageDep, saved: int = 0) -> Response:
    return _page(p, incidents.get_incident(p.ctx, incident_id), [], 200, saved == 1)


@router.post("/incidents/{incident_id}")
def act(incident_id: PathId, p: PageDep, form: Form_) -> Response:
    def get(k: str) -> str:
        v = form.get(k)
        return v.strip() if isinstance(v, str) else ""

    status = get("status")
    errors: list[Any] = []
    kw: dict[str, Any] = {"note": get("note")[:2000] or None}
    try:
        kw["version"] = int(get("version"))
    except ValueError:
        errors.append(("", "Reload the incident and try again"))
    if status not in ACTIONS:
        errors.append(("", "Choose what to record for the incident"))
    if status == "dispatched" and get("responder"):
        try:
            kw["responder_user_id"] = int(get("responder"))
        except ValueError:
            errors.append(("responder", "Choose who from rapid response is going"))
    if status == "closed":
        if get("outcome") not in incidents.OUTCOMES:
            errors.append(("outcome-1", "Choose how the incident ended"))
        kw["outcome"] = get("outcome")
    code = 422
    if not errors:
        try:
            incidents.transition(p.ctx, incident_id, status, **kw)
        except Conflict as e:
            errors.append(("", str(e).split(": ", 1)[-1]))
            code = 409
        except Invalid as e:
            errors.append(("", str(e).split(": ", 1)[-1]))
    if errors:
        # A refused step raises before writing anything but the audit of the access.
        return _page(p, incidents.get_incident(p.ctx, incident_id), errors, code, False)
    return RedirectResponse(f"/app/incidents/{incident_id}?saved=1", status_code=303)
