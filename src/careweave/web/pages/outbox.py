"""Administrators' outbox page: the email and text messages that failed or are being
retried, and a button to send one again now (care/outbox.py, the operator's view).

Shows what an operator needs to put a channel right and nothing of the message itself:
no body, subject, address, person or NHS number (administrators have no relationship
with anyone's record). Retrying is a form post with the CSRF token (works without
JavaScript), audited; the page then says which message will go again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from careweave.care import outbox
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CHANNELS = {"email": "Email", "sms": "Text message"}


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(
    p: PageDep, retried: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> Response:
    p.ctx.require("outbox", "read")
    counts = outbox.counts(p.ctx.session)
    return p.render(
        "outbox.html",
        title="Email and text messages",
        rows=outbox.problems(p.ctx.session),
        counts=sorted(counts.items()),
        channels=CHANNELS,
        retried=retried,
    )


@router.post("/outbox/{message_id}/retry")
def retry(message_id: PathId, p: PageDep) -> Response:
    p.ctx.require("outbox", "write")
    outbox.retry(p.ctx.session, [message_id], p.ctx.now, p.user.username)
    return RedirectResponse(f"/app/outbox?retried={message_id}", status_code=303)
