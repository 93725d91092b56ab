"""Find a person: one box for name, NHS number or date of birth (careweave.web.search).

Shows only people the user has a legitimate relationship with, never how many
others match (careweave.web.search explains why); every search says that in an
emergency the user opens the record by NHS number and uses break-glass. The
search is one audit entry naming the people listed (and, for information
governance only, how many others matched).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from careweave.care.wording import uk_date
from careweave.security import access
from careweave.web import search as finder
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")


@router.get("/search", response_class=HTMLResponse)
def search(p: PageDep, q: Annotated[str, Query(max_length=500)] = "") -> Response:
    p.ctx.require("person", "read")
    query = finder.parse(q, uk_date(p.ctx.now))
    result = finder.search(p.ctx.session, p.user, query, p.ctx.now)
    access.audit_list(
        p.ctx.session,
        p.user,
        "person",
        [person.nhs_number for person in result.people],
        p.ctx.now,
        what="search results",
        hidden=result.hidden,
    )
    errors = [("search-q", problem) for problem in query.problems]
    if q.strip() and query.empty and not errors:
        errors = [("search-q", "Enter a name, a 10-digit NHS number or a date of birth")]
    return p.render(
        "search.html",
        status=422 if errors else 200,
        title="Find a person",
        q=q,
        query=query,
        result=result,
        errors=errors,
    )
