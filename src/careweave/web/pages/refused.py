"""Administrators' "Refused access" page: every refused attempt, newest first.

Refusals are audit entries with action ``refused``, written in their own transaction so
they survive the refused request's rollback (careweave.security.audit.refused): who
tried, what (resource, record or request path, NHS number), when and why refused. An
information-governance officer looks here first. Viewing the page is itself audited,
as one entry naming the people on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from careweave.security import access
from careweave.security.audit import REFUSED
from careweave.store.models import AuditEntry
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")
PAGE_SIZE = 50


@dataclass(frozen=True)
class Refusal:
    seq: int
    at: str
    actor: str
    attempted: str
    resource: str
    record: str
    nhs_number: str | None
    why: str


def refusal(e: AuditEntry) -> Refusal:
    """An entry's detail (``attempted=ACTION; why=REASON``) split for the table."""
    attempted, _, why = e.detail.partition("; why=")
    return Refusal(
        seq=e.seq,
        at=e.at[:19].replace("T", " "),
        actor=e.actor,
        attempted=attempted.removeprefix("attempted="),
        resource=e.resource,
        record=e.resource_id or "",
        nhs_number=e.nhs_number,
        why=why,
    )


@router.get("/refused-access", response_class=HTMLResponse)
def refused_access(p: PageDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    p.ctx.require("audit", "read")
    session = p.ctx.session
    total = session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == REFUSED)
    ).scalar_one()
    rows = [
        refusal(e)
        for e in session.execute(
            select(AuditEntry)
            .where(AuditEntry.action == REFUSED)
            .order_by(AuditEntry.seq.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).scalars()
    ]
    access.audit_list(
        session,
        p.user,
        "audit",
        [r.nhs_number for r in rows if r.nhs_number],
        p.ctx.now,
        what=f"refused access page {page}",
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return p.render(
        "refused.html",
        title="Refused access",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
    )
