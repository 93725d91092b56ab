"""Editing: the shared care plan, assessments from templates, referrals from the directory."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from careweave.care import assessments, plans, referrals
from careweave.care.config import Template
from careweave.care.plans import CarePlanContent
from careweave.care.wording import uk_date
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


FieldErrors = list[tuple[str, str]]
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")


def _date(raw: str, field: str, what: str, errors: FieldErrors) -> dt.date | None:
    """A yyyy-mm-dd date input's value; an error naming the field when it is not a real date."""
    if not raw:
        return None
    try:
        d = dt.date.fromisoformat(raw)
    except ValueError:
        errors.append((field, f"{what} must be a real date, like 23 11 2026"))
        return None
    if not 1900 <= d.year <= 2200:
        errors.append((field, f"{what} must be a real date, like 23 11 2026"))
        return None
    return d


def plan_from_form(form: Any, today: dt.date) -> tuple[dict[str, Any], FieldErrors]:
    """The care plan from the edit form's fields and every problem with it, each naming the
    field as labelled (``Intervention 4 due date ...``). Empty rows are dropped; a partly
    filled row is an error, never silently dropped. A review date must be in the next 2 years."""
    errors: FieldErrors = []
    goals, interventions, contacts = [], [], []
    for i in range(100):
        if f"goal_text_{i}" not in form:
            break
        n, text, raw_date = i + 1, _str(form, f"goal_text_{i}"), _str(form, f"goal_date_{i}")
        target = _date(raw_date, f"goal_date_{i}", f"Goal {n} target date", errors)
        if not text and raw_date:
            errors.append(
                (
                    f"goal_text_{i}",
                    f"Goal {n}: enter what the person wants to achieve, or clear the target date",
                )
            )
        if text:
            goals.append(
                {"text": text, "target_date": target.isoformat() if target else raw_date or None}
            )
    for i in range(200):
        if f"int_desc_{i}" not in form:
            break
        n = i + 1
        desc, org = _str(form, f"int_desc_{i}"), _str(form, f"int_org_{i}")
        raw_due = _str(form, f"int_due_{i}")
        if not (desc or org or raw_due):
            continue  # an empty row (the role and status selects always send a value)
        due = _date(raw_due, f"int_due_{i}", f"Intervention {n} due date", errors)
        if not desc:
            errors.append((f"int_desc_{i}", f"Intervention {n}: enter what will be done"))
        if not org:
            errors.append((f"int_org_{i}", f"Intervention {n}: enter the owner organisation"))
        if not raw_due:
            errors.append((f"int_due_{i}", f"Intervention {n}: enter the due date"))
        if _str(form, f"int_role_{i}") not in TEAM_ROLES:
            errors.append((f"int_role_{i}", f"Intervention {n}: choose the owner role"))
        status = _str(form, f"int_status_{i}") or "planned"
        if status not in STATUSES:
            errors.append((f"int_status_{i}", f"Intervention {n}: choose a status"))
        interventions.append(
            {
                "description": desc,
                "owner_organisation": org,
                "owner_role": _str(form, f"int_role_{i}"),
                "due_date": due.isoformat() if due else raw_due or None,
                "status": status,
            }
        )
    for i in range(20):
        if f"cc_name_{i}" not in form:
            break
        n = i + 1
        name, rel, phone = (_str(form, f"cc_{k}_{i}") for k in ("name", "rel", "phone"))
        if not (name or rel or phone):
            continue
        if not name:
            errors.append((f"cc_name_{i}", f"Crisis contact {n}: enter their name"))
        if not rel:
            errors.append((f"cc_rel_{i}", f"Crisis contact {n}: enter their relationship"))
        if not phone:
            errors.append((f"cc_phone_{i}", f"Crisis contact {n}: enter their phone number"))
        elif not PHONE.match(phone):
            errors.append(
                (
                    f"cc_phone_{i}",
                    f"Crisis contact {n} phone must be a telephone number, like 07700 900123",
                )
            )
        contacts.append({"name": name, "relationship": rel, "phone": phone})
    crisis_plan = _str(form, "crisis_plan")
    if len(crisis_plan) > 5000:
        errors.append(("crisis_plan", "What to do in a crisis must be 5,000 characters or fewer"))
    step = _str(form, "step_status") or "stable"
    if step not in ("stable", "step_up", "step_down"):
        errors.append(("step_status_stable", "Choose stable, step up or step down"))
    raw_review = _str(form, "review_date")
    review = _date(raw_review, "review_date", "Review date", errors)
    if not raw_review:
        errors.append(("review_date", "Enter the review date"))
    elif review is not None and review < today:
        errors.append(("review_date", "Review date must be today or in the future"))
    elif review is not None and review > today + dt.timedelta(days=731):
        errors.append(("review_date", "Review date must be within the next 2 years"))
    data = {
        "goals": goals,
        "interventions": interventions,
        "crisis_contacts": contacts,
        "crisis_plan": crisis_plan,
        "step_status": step,
        "review_date": review.isoformat() if review else raw_review or None,
    }
    return data, errors


def rows_from_form(form: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row as submitted, in place (blank ones too), so a form shown again with its
    errors keeps each row where its error summary link points."""

    def rows(prefix: str, fields: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for i in range(200):
            if f"{prefix}_{next(iter(fields.values()))}_{i}" not in form:
                break
            out.append({k: _str(form, f"{prefix}_{v}_{i}") for k, v in fields.items()})
        return out

    return {
        "goals": rows("goal", {"text": "text", "target_date": "date"}),
        "interventions": rows(
            "int",
            {
                "description": "desc",
                "owner_organisation": "org",
                "owner_role": "role",
                "due_date": "due",
                "status": "status",
            },
        ),
        "contacts": rows("cc", {"name": "name", "relationship": "rel", "phone": "phone"}),
    }


# Where a CarePlanContent error points: (list, field) -> (form field id, words).
_PLAN_FIELDS = {
    ("goals", "text"): ("goal_text_{i}", "Goal {n}: what the person wants to achieve"),
    ("goals", "target_date"): ("goal_date_{i}", "Goal {n} target date"),
    ("interventions", "description"): ("int_desc_{i}", "Intervention {n}: what will be done"),
    ("interventions", "owner_organisation"): (
        "int_org_{i}",
        "Intervention {n}: owner organisation",
    ),
    ("interventions", "owner_role"): ("int_role_{i}", "Intervention {n}: owner role"),
    ("interventions", "due_date"): ("int_due_{i}", "Intervention {n} due date"),
    ("interventions", "status"): ("int_status_{i}", "Intervention {n}: status"),
    ("crisis_contacts", "name"): ("cc_name_{i}", "Crisis contact {n}: name"),
    ("crisis_contacts", "relationship"): ("cc_rel_{i}", "Crisis contact {n}: relationship"),
    ("crisis_contacts", "phone"): ("cc_phone_{i}", "Crisis contact {n}: phone"),
}


def _errors(e: ValidationError) -> FieldErrors:
    """The model's remaining objections (lengths, mostly) in words, at their fields."""
    out: FieldErrors = []
    for err in e.errors():
        loc = [str(p) for p in err["loc"]]
        field, words = loc[0], loc[0].replace("_", " ").capitalize()
        if len(loc) == 3 and (loc[0], loc[2]) in _PLAN_FIELDS and loc[1].isdigit():
            i = int(loc[1])
            fid, label = _PLAN_FIELDS[(loc[0], loc[2])]
            field, words = fid.format(i=i), label.format(n=i + 1)
        problem = {
            "string_too_long": f"must be {err.get('ctx', {}).get('max_length')} characters or fewer",
            "string_too_short": "is too short",
            "too_long": "has too many rows",
        }.get(err["type"], "is not valid")
        out.append((field, f"{words} {problem}"))
    return out


def _plan_page(
    p: PageDep,
    person: Person,
    content: dict[str, Any],
    base: int | None,
    errors: FieldErrors,
    status: int,
    rows: dict[str, list[dict[str, Any]]] | None = None,
) -> Response:
    nhs = person.nhs_number
    rows = rows or {
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
        review = uk_date(p.ctx.now) + dt.timedelta(days=90)
        content, base = {"review_date": review.isoformat(), "step_status": "stable"}, None
    return _plan_page(p, person, content, base, [], 200)


@router.post("/people/{nhs_number}/care-plan/edit")
def save_plan(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    raw_base = _str(form, "base_version")
    base = int(raw_base) if raw_base.isdigit() else None
    data, errors = plan_from_form(form, uk_date(p.ctx.now))
    try:
        content = CarePlanContent.model_validate(data) if not errors else None
    except ValidationError as e:
        errors = _errors(e)
    if errors or content is None:
        person = p.ctx.person(nhs_number, "care_plan", "write")
        return _plan_page(p, person, data, base, errors, 422, rows_from_form(form))
    try:
        plans.save(p.ctx, nhs_number, content, base)
    except Conflict as e:
        person = p.ctx.person(nhs_number, "care_plan", "write")
        return _plan_page(p, person, data, base, [("", str(e))], 409, rows_from_form(form))
    return RedirectResponse(f"/app/people/{nhs_number}?saved=care-plan#told", status_code=303)


# ------------------------------------------------------------ assessments


def _question_field(q: Any) -> str:
    """The id the error summary links to: the first radio of a choice, else the input."""
    return f"{q.id}-1" if q.type in ("choice", "boolean") else str(q.id)


def answers_from_form(template: Template, form: Any) -> tuple[dict[str, Any], FieldErrors]:
    answers: dict[str, Any] = {}
    errors: FieldErrors = []
    for q in template.questions:
        raw = _str(form, q.id)
        if raw == "":
            if q.required:
                what = "Choose an answer to" if q.type in ("choice", "boolean") else "Answer"
                errors.append((_question_field(q), f"{what}: {q.text}"))
            continue
        if q.type == "boolean":
            answers[q.id] = raw == "yes"
        elif q.type in ("integer", "number"):
            try:
                answers[q.id] = int(raw) if q.type == "integer" else float(raw)
            except ValueError:
                kind = "whole number" if q.type == "integer" else "number"
                errors.append((_question_field(q), f"{q.text}: enter a {kind}"))
                continue
            value = answers[q.id]
            if (q.min is not None and value < q.min) or (q.max is not None and value > q.max):
                span = (
                    f"from {q.min:g} to {q.max:g}"
                    if q.min is not None and q.max is not None
                    else f"of {q.min:g} or more"
                    if q.min is not None
                    else f"of {q.max:g} or less"
                )
                errors.append((_question_field(q), f"{q.text}: enter a number {span}"))
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
            errors = [("", str(e).replace("answers.", ""))]
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
    services = referrals.services(p.ctx, person.locality_id)
    errors: FieldErrors = []
    if not values["service_id"]:
        first = f"service-{services[0].id}" if services else ""
        errors.append((first, "Choose a service from the directory"))
    if values["urgency"] not in ("urgent", "routine"):
        errors.append(("urgency-urgent", "Choose how urgent the referral is: urgent or routine"))
    if not values["reason"]:
        errors.append(("reason", "Enter the reason for referral"))
    if not errors:
        try:
            referrals.create_referral(
                p.ctx, nhs_number, values["service_id"], values["urgency"], values["reason"]
            )
        except (Invalid, NotFound) as e:
            errors.append(("", str(e)))
    if errors:
        return p.render(
            "referral_new.html",
            status=422,
            title="Make a referral",
            nhs_number=nhs_number,
            person=person,
            services=services,
            values=values,
            errors=errors,
        )
    return RedirectResponse(f"/app/people/{nhs_number}#referrals", status_code=303)


def all_services(p: PageDep) -> list[Service]:
    return list(p.ctx.session.execute(select(Service).order_by(Service.name)).scalars())
