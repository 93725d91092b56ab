"""The public service directory / signposting search: no sign-in, no personal data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from careweave.api.deps import DB, SESSION_COOKIE, Now
from careweave.security import auth
from careweave.store.models import Organisation, Service
from careweave.web.render import html

router = APIRouter(prefix="/app")


@router.get("/directory", response_class=HTMLResponse)
def directory(
    request: Request,
    session: DB,
    at: Now,
    q: Annotated[str, Query(max_length=2000)] = "",
    locality: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """A search too long or an area not in the list is shown on the page in the NHS.UK
    error pattern (nothing found until it is put right), never as a pattern."""
    localities = list(
        session.execute(
            select(Organisation)
            .where(Organisation.org_type == "locality")
            .order_by(Organisation.name)
        ).scalars()
    )
    errors: list[tuple[str, str]] = []
    if len(q) > 100:
        errors.append(("q", "What are you looking for must be 100 characters or fewer"))
    if locality and locality not in {o.org_id for o in localities}:
        errors.append(("locality", "Area: choose an area from the list"))
    words = [w.lower() for w in q.split() if w.strip()]
    found = []
    for s in (
        []
        if errors
        else session.execute(select(Service).where(Service.active).order_by(Service.name)).scalars()
    ):
        if locality and s.localities and locality not in s.localities:
            continue
        text = f"{s.name} {s.description} {s.eligibility}".lower()
        if all(w in text for w in words):
            found.append(s)
    names = {o.org_id: o.name for o in localities}
    # Signed-in users keep their header and menu; the page itself holds no personal data.
    token = request.cookies.get(SESSION_COOKIE)
    found_session = auth.resolve_session(session, token, at) if token else None
    user, csrf = (found_session[0], found_session[1].csrf_token) if found_session else (None, "")
    return html(
        request,
        "directory.html",
        user=user,
        csrf=csrf,
        status=422 if errors else 200,
        errors=errors,
        title="Find a service",
        services=found,
        q=q,
        locality=locality,
        localities=localities,
        names=names,
    )
