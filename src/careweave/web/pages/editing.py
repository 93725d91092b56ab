"""Editing: the shared care plan, assessments from templates, referrals from the directory."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from careweave.care import assessments, plans, referrals
from careweave.care.config import Template
from careweave.care.plans import CarePlanContent
from careweave.errors import InputError
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.security.roles import TEAM_ROLES
from careweave.store.models import Person, Service
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
Nhs = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="NHS number")]
STATUSES = ("planned", "in_progress", "done", "cancelled")


def _str(form: Any, key: str) -> str:
    v = form.get(key)
    return v.strip() if isinstance(v, str) else ""


def content_from_form(form: Any) -> dict[str, Any]:
    """Pure-ish: the care plan as a dict from the edit form's fields; blank rows are dropped."""
    goals, interventions, contacts = [], [], []
    for i in range(100):
        text = _str(form, f"goal_text_{i}")
        if f"goal_text_{i}" not in form:
            break
        if text:
            goals.append({"text": text, "target_date": _str(form, f"goal_date_{i}") or None})
    for i in range(200):
        if f"int_desc_{i}" not in form:
            break
        desc = _str(form, f"int_desc_{i}")
        if desc:
            interventions.append(
                {
                    "description": desc,
                    "owner_organisation": _str(form, f"int_org_{i}"),
                    "owner_role": _str(form, f"int_role_{i}"),
                    "due_date": _str(form, f"int_due_{i}") or None,
                    "status": _str(form, f"int_status_{i}") or "planned",
                }
            )
    for i in range(20):
        if f"cc_name_{i}" not in form:
            break
        name = _str(form, f"cc_name_{i}")
        if name:
            contacts.append(
                {
                    "name": name,
                    "relationship": _str(form, f"cc_rel_{i}"),
                    "phone": _str(form, f"cc_phone_{i}"),
                }
            )
    return {
        "goals": goals,
        "interventions": interventions,
        "crisis_contacts": contacts,
        "crisis_plan": _str(form, "crisis_plan"),
        "step_status": _str(form, "step_status") or "stable",
        "review_date": _str(form, "review_date") or None,
    }


def _errors(e: ValidationError) -> list[str]:
    out = []
    for err in e.errors():
        where = " ".join(str(p).replace("_", " ") for p in err["loc"])
        out.append(f"{where}: {err['msg']}")
    return out


def _plan_page(
    p: PageDep,
    person: Person,
    content: dict[str, Any],
    base: int | None,
    errors: list[str],
    status: int,
) -> Response:
    nhs = person.nhs_number
    rows = {
        "goals": [*content.get("goals", []), {}, {}],
        "interventions": [*content.get("interventions", []), {}, {}],
        "contacts": [*content.get("crisis_contacts", []), {}],
    }
    return p.render(
        "care_plan_edit.html",
        status=status,
        title="Update the care plan",
        nhs_number=nhs,
        person=person,
        content=content,
        rows=rows,
        base_version=base,
        errors=errors,
        team_roles=TEAM_ROLES,
        statuses=STATUSES,
    )


@router.get("/people/{nhs_number}/care-plan/edit", response_class=HTMLResponse)
def edit_plan(nhs_number: Nhs, p: PageDep) -> Response:
    person = p.ctx.person(nhs_number, "care_plan", "write")
    try:
        v = plans.current(p.ctx, nhs_number)
        content, base = v.content, v.version
    except NotFound:
        review = p.ctx.now.date() + dt.timedelta(days=90)
        content, base = {"review_date": review.isoformat(), "step_status": "stable"}, None
    return _plan_page(p, person, content, base, [], 200)


@router.post("/people/{nhs_number}/care-plan/edit")
def save_plan(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    raw_base = _str(form, "base_version")
    base = int(raw_base) if raw_base.isdigit() else None
    data = content_from_form(form)
    try:
        content = CarePlanContent.model_validate(data)
    except ValidationError as e:
        person = p.ctx.person(nhs_number, "care_plan", "write")
        return _plan_page(p, person, data, base, _errors(e), 422)
    try:
        plans.save(p.ctx, nhs_number, content, base)
    except Conflict as e:
        person = p.ctx.person(nhs_number, "care_plan", "write")
        return _plan_page(p, person, data, base, [str(e)], 409)
    return RedirectResponse(f"/app/people/{nhs_number}#care-plan", status_code=303)


# ------------------------------------------------------------ assessments


def answers_from_form(template: Template, form: Any) -> tuple[dict[str, Any], list[str]]:
    answers: dict[str, Any] = {}
    errors: list[str] = []
    for q in template.questions:
        raw = _str(form, q.id)
        if raw == "":
            continue
        if q.type == "boolean":
            answers[q.id] = raw == "yes"
        elif q.type in ("integer", "number"):
            try:
                answers[q.id] = int(raw) if q.type == "integer" else float(raw)
            except ValueError:
                errors.append(f"{q.text}: enter a {'whole ' if q.type == 'integer' else ''}number")
        else:
            answers[q.id] = raw
    return answers, errors


def _template(p: PageDep, template_id: str) -> Template:
    try:
        return p.ctx.config.template(template_id)
    except InputError as e:
        raise NotFound(str(e)) from e


@router.get("/people/{nhs_number}/assessments/new", response_class=HTMLResponse)
def new_assessment(
    nhs_number: Nhs,
    p: PageDep,
    template_id: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,64}$")],
) -> Response:
    person = p.ctx.person(nhs_number, "assessment", "write")
    t = _template(p, template_id)
    return p.render(
        "assessment_new.html",
        title=t.title,
        nhs_number=nhs_number,
        person=person,
        t=t,
        values={},
        errors=[],
    )


@router.post("/people/{nhs_number}/assessments/new")
def record_assessment(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    t = _template(p, _str(form, "template_id"))
    answers, errors = answers_from_form(t, form)
    if not errors:
        try:
            assessments.record(p.ctx, nhs_number, t.id, answers, t.version)
        except Invalid as e:
            errors = [str(e).replace("answers.", "")]
    if errors:
        values = {q.id: _str(form, q.id) for q in t.questions}
        return p.render(
            "assessment_new.html",
            status=422,
            title=t.title,
            nhs_number=nhs_number,
            person=p.ctx.person(nhs_number, "assessment", "write"),
            t=t,
            values=values,
            errors=errors,
        )
    return RedirectResponse(f"/app/people/{nhs_number}#assessments", status_code=303)


# ------------------------------------------------------------ referrals


@router.get("/people/{nhs_number}/referrals/new", response_class=HTMLResponse)
def new_referral(nhs_number: Nhs, p: PageDep) -> Response:
    person = p.ctx.person(nhs_number, "referral", "write")
    return p.render(
        "referral_new.html",
        title="Make a referral",
        nhs_number=nhs_number,
        person=person,
        services=referrals.services(p.ctx, person.locality_id),
        values={},
        errors=[],
    )


@router.post("/people/{nhs_number}/referrals/new")
def make_referral(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    person = p.ctx.person(nhs_number, "referral", "write")
    values = {k: _str(form, k) for k in ("service_id", "urgency", "reason")}
    errors = []
    if not values["service_id"]:
        errors.append("Choose a service from the directory")
    if not values["urgency"]:
        errors.append("Choose how urgent the referral is")
    if not values["reason"]:
        errors.append("Enter the reason for the referral")
    if not errors:
        try:
            referrals.create_referral(
                p.ctx, nhs_number, values["service_id"], values["urgency"], values["reason"]
            )
        except (Invalid, NotFound) as e:
            errors.append(str(e))
    if errors:
        return p.render(
            "referral_new.html",
            status=422,
            title="Make a referral",
            nhs_number=nhs_number,
            person=person,
            services=referrals.services(p.ctx, person.locality_id),
            values=values,
            errors=errors,
        )
    return RedirectResponse(f"/app/people/{nhs_number}#referrals", status_code=303)


def all_services(p: PageDep) -> list[Service]:
    return list(p.ctx.session.execute(select(Service).order_by(Service.name)).scalars())
