"""Pages beside the patient page: carer / family links (add, end) and the care plan's
version history in words."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from careweave.care import plans, relationships
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.web.errors import form_error
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
Nhs = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="NHS number")]
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


LINK_FIELDS = {
    "relationship": ("relationship", "This person"),
    "related_nhs_number": ("related_nhs_number", "NHS number of the other person"),
}


@router.post("/people/{nhs_number}/relationships")
def add(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    """Problems are shown on the patient page in the NHS.UK error pattern, the carers and
    family section open with what was typed."""
    typed = str(form.get("related_nhs_number") or "").strip()
    other = re.sub(r"\s", "", typed)
    kind = str(form.get("relationship") or "")
    errors: list[tuple[str, str]] = []
    if kind not in relationships.RELATIONSHIPS:
        errors.append(("relationship", "This person: choose how they are related"))
    if not other:
        errors.append(("related_nhs_number", "Enter the NHS number of the other person"))
    elif not re.fullmatch(r"[0-9]{10}", other):
        errors.append(
            (
                "related_nhs_number",
                "NHS number of the other person must be 10 digits, like 943 476 5919",
            )
        )
    if not errors:
        try:
            relationships.add_link(p.ctx, nhs_number, other, kind)
        except (Invalid, NotFound, Conflict) as e:
            errors.append(form_error(e, LINK_FIELDS))
    if errors:
        from careweave.web.pages.patient import patient_page

        person = p.ctx.person(nhs_number, "person", "read")
        values = {"relationship": kind, "related_nhs_number": typed}
        return patient_page(p, person, status=422, errors=errors, link_values=values)
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
