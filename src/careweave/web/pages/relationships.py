"""Pages beside the patient page: carer / family links (add, end) and the care plan's
version history in words."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from careweave.care import plans, relationships
from careweave.security.errors import Invalid
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
Nhs = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="NHS number")]
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/people/{nhs_number}/relationships")
def add(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    other = re.sub(r"\s", "", str(form.get("related_nhs_number") or ""))
    kind = str(form.get("relationship") or "")
    if not re.fullmatch(r"[0-9]{10}", other):
        raise Invalid("related_nhs_number: enter the other person's 10-digit NHS number")
    relationships.add_link(p.ctx, nhs_number, other, kind)
    return RedirectResponse(f"/app/people/{nhs_number}#relationships", status_code=303)


@router.post("/people/{nhs_number}/relationships/{link_id}/end")
def end(nhs_number: Nhs, link_id: PathId, p: PageDep) -> Response:
    relationships.end_link(p.ctx, nhs_number, link_id)
    return RedirectResponse(f"/app/people/{nhs_number}#relationships", status_code=303)


@router.get("/people/{nhs_number}/care-plan/versions", response_class=HTMLResponse)
def plan_history(nhs_number: Nhs, p: PageDep) -> Response:
    person = p.ctx.person(nhs_number, "care_plan", "read")
    return p.render(
        "care_plan_versions.html",
        title="Care plan: what changed",
        person=person,
        history=plans.history(p.ctx, nhs_number),
    )
