"""The FHIR R4 endpoint at ``/fhir``: Patient, Organization and CarePlan.

Every person-level read goes through the same access functions as the JSON API
(careweave.security.access via the care core): a legitimate relationship, objections
and break-glass; a refusal is a 403 OperationOutcome, audited. Searches keep only the
people the caller may see (``access.visible_clause``) and are audited as one entry
naming the people shown (``access.audit_list``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy import and_, or_, select

from careweave.api.deps import Context
from careweave.api.fhir import resources as fr
from careweave.api.fhir import scoping
from careweave.api.fhir.capability import capability_statement
from careweave.api.fhir.kinds import date_param
from careweave.api.fhir.outcome import FHIR_JSON, FhirError, FhirResponse
from careweave.api.fhir.search import base, bundle, date_range, parse, reference, token
from careweave.api.fhir.versions import etag, history_bundle
from careweave.care import plans
from careweave.care.context import Ctx
from careweave.security import access
from careweave.store.models import (
    CarePlan,
    CarePlanVersion,
    Organisation,
    Person,
    User,
    name_key,
)

_OO = {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {**_OO, "description": "OperationOutcome"}
    for code in (400, 401, 403, 404, 406, 409, 415, 422, 429)
}
UPDATE_ERRORS = {**ERRORS, 412: {**_OO, "description": "stale or missing If-Match"}}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {FHIR_JSON: {"schema": {"type": "object"}}},
    }
}

router = APIRouter(
    prefix="/fhir",
    tags=["FHIR R4"],
    default_response_class=FhirResponse,
    responses=ERRORS,
    dependencies=[Depends(scoping.enforce)],  # the token's FHIR scopes (api/fhir/scoping.py)
)
MAX_ID = 2**31 - 1
CAREPLAN_STATUSES = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}


# meta.lastUpdated: when the person was synced; when the plan's current version was saved.
LAST_UPDATED_PATIENT = date_param("_lastUpdated", Person.synced_at, instant=True)
LAST_UPDATED_PLAN = date_param("_lastUpdated", CarePlanVersion.changed_at, instant=True)


def _int_id(resource: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,10}", value) or not 1 <= int(value) <= MAX_ID:
        raise FhirError(404, f"{resource}/{value}: no such resource")
    return int(value)


@router.get("/metadata", summary="CapabilityStatement")
def metadata(request: Request) -> FhirResponse:
    """What this endpoint serves (no sign-in needed)."""
    return FhirResponse(capability_statement(base(request)))


# ---------------------------------------------------------------- Patient


@router.get("/Patient/{nhs_number}", summary="Patient read")
def patient_read(nhs_number: str, ctx: Context) -> FhirResponse:
    if not re.fullmatch(r"[0-9]{10}", nhs_number):
        raise FhirError(404, f"Patient/{nhs_number}: no such resource (ids are NHS numbers)")
    return FhirResponse(fr.patient(ctx.person(nhs_number, "person", "read")))


@router.get("/Patient", summary="Patient search")
def patient_search(request: Request, ctx: Context) -> FhirResponse:
    s = parse("Patient", request)
    ctx.require("person", "read")
    q = select(Person).where(access.visible_clause(ctx.user, ctx.now))
    for name in ("identifier", "_id"):
        value = s.one(name)
        if value is not None:
            codes = [token(v, fr.NHS_NUMBER) for v in value.split(",")]
            q = q.where(Person.nhs_number.in_([c for c in codes if c]))
    value = s.one("name")
    if value is not None:
        key = name_key(value) or ""
        q = q.where(
            or_(
                and_(Person.family_key >= key, Person.family_key < key + "\U0010ffff"),
                and_(Person.given_key >= key, Person.given_key < key + "\U0010ffff"),
            )
        )
    for value in s.params.get("birthdate", []):
        prefix, first, last = date_range("birthdate", value)
        q = q.where(
            {
                "eq": and_(Person.date_of_birth >= first, Person.date_of_birth <= last),
                "ge": Person.date_of_birth >= first,
                "gt": Person.date_of_birth > last,
                "le": Person.date_of_birth <= last,
                "lt": Person.date_of_birth < first,
            }[prefix]
        )
    q = LAST_UPDATED_PATIENT.apply(q, s.params.get("_lastUpdated", []))
    rows = list(
        ctx.session.execute(
            q.order_by(Person.nhs_number).offset(s.offset).limit(s.count + 1)
        ).scalars()
    )
    page = rows[: s.count]
    access.audit_list(
        ctx.session,
        ctx.user,
        "person",
        [p.nhs_number for p in page],
        ctx.now,
        what="fhir Patient search",
    )
    return FhirResponse(
        bundle(request, "Patient", [fr.patient(p) for p in page], s, len(rows) > s.count)
    )


# ---------------------------------------------------------------- Organization
# Organisations are not personal data: any signed-in user may read the directory.


@router.get("/Organization/{org_id}", summary="Organization read")
def organization_read(org_id: str, ctx: Context) -> FhirResponse:
    org = ctx.session.get(Organisation, org_id[:64])
    if org is None:
        raise FhirError(404, f"Organization/{org_id}: no such organisation")
    return FhirResponse(fr.organization(org))


@router.get("/Organization", summary="Organization search")
def organization_search(request: Request, ctx: Context) -> FhirResponse:
    s = parse("Organization", request)
    q = select(Organisation)
    for name in ("identifier", "_id"):
        value = s.one(name)
        if value is not None:
            codes = [token(v, fr.ODS_CODE) for v in value.split(",")]
            q = q.where(Organisation.org_id.in_([c for c in codes if c]))
    value = s.one("name")
    if value is not None:
        q = q.where(Organisation.name.ilike(f"{value.replace('%', '').replace('_', '')}%"))
    rows = list(
        ctx.session.execute(
            q.order_by(Organisation.org_id).offset(s.offset).limit(s.count + 1)
        ).scalars()
    )
    page = rows[: s.count]
    return FhirResponse(
        bundle(request, "Organization", [fr.organization(o) for o in page], s, len(rows) > s.count)
    )


# ---------------------------------------------------------------- CarePlan


def _plan(ctx: Ctx, plan_id: str) -> CarePlan:
    plan = ctx.session.get(CarePlan, _int_id("CarePlan", plan_id))
    if plan is None:
        raise FhirError(404, f"CarePlan/{plan_id}: no such care plan")
    return plan


def _authors(ctx: Ctx, versions: list[CarePlanVersion]) -> dict[int, User]:
    ids = {v.changed_by for v in versions}
    if not ids:
        return {}
    return {u.id: u for u in ctx.session.execute(select(User).where(User.id.in_(ids))).scalars()}


def _plan_resource(ctx: Ctx, plan: CarePlan, v: CarePlanVersion) -> dict[str, Any]:
    return fr.care_plan(plan.id, plan.nhs_number, v, ctx.session.get(User, v.changed_by))


@router.get("/CarePlan/{plan_id}", summary="CarePlan read")
def care_plan_read(plan_id: str, ctx: Context) -> FhirResponse:
    plan = _plan(ctx, plan_id)
    v = plans.current(ctx, plan.nhs_number)
    return FhirResponse(_plan_resource(ctx, plan, v), headers=etag(v.version))


@router.get("/CarePlan/{plan_id}/_history/{version_id}", summary="CarePlan vread")
def care_plan_vread(plan_id: str, version_id: str, ctx: Context) -> FhirResponse:
    plan = _plan(ctx, plan_id)
    version = _int_id(f"CarePlan/{plan_id}/_history", version_id)
    v = plans.current(ctx, plan.nhs_number, version)
    return FhirResponse(_plan_resource(ctx, plan, v), headers=etag(v.version))


@router.get("/CarePlan/{plan_id}/_history", summary="CarePlan history")
def care_plan_history(request: Request, plan_id: str, ctx: Context) -> FhirResponse:
    plan = _plan(ctx, plan_id)
    versions = plans.versions(ctx, plan.nhs_number)
    authors = _authors(ctx, versions)
    found = [
        (fr.care_plan(plan.id, plan.nhs_number, v, authors.get(v.changed_by)), v.changed_at)
        for v in versions
    ]
    return FhirResponse(history_bundle(base(request), "CarePlan", str(plan.id), found))


@router.get("/CarePlan", summary="CarePlan search")
def care_plan_search(request: Request, ctx: Context) -> FhirResponse:
    s = parse("CarePlan", request)
    ctx.require("care_plan", "read")
    q = (
        select(CarePlan, CarePlanVersion)
        .join(
            CarePlanVersion,
            and_(
                CarePlanVersion.care_plan_id == CarePlan.id,
                CarePlanVersion.version == CarePlan.current_version,
            ),
        )
        .join(Person, Person.nhs_number == CarePlan.nhs_number)
    )
    subject = [reference(v, "Patient") for n in ("patient", "subject") for v in s.params.get(n, [])]
    if len(set(subject)) > 1:
        return FhirResponse(bundle(request, "CarePlan", [], s, False))
    if subject:
        # A search about one person is a read of their care plan: 403 without a relationship,
        # exactly as GET /people/{nhs}/care-plan.
        if ctx.session.get(Person, subject[0]) is None:
            return FhirResponse(bundle(request, "CarePlan", [], s, False))
        ctx.person(subject[0], "care_plan", "read")
        q = q.where(CarePlan.nhs_number == subject[0])
    else:
        q = q.where(access.visible_clause(ctx.user, ctx.now))
    status = s.one("status")
    if status is not None:
        wanted = set(status.split(","))
        bad = wanted - CAREPLAN_STATUSES
        if bad:
            raise FhirError(400, f"status: {', '.join(sorted(bad))} is not a CarePlan status")
        if "active" not in wanted:  # every plan's current version is active
            q = q.where(CarePlan.id.is_(None))
    ids = s.one("_id")
    if ids is not None:
        q = q.where(
            CarePlan.id.in_([int(i) for i in ids.split(",") if i.isdigit() and len(i) < 10])
        )
    q = LAST_UPDATED_PLAN.apply(q, s.params.get("_lastUpdated", []))
    rows = list(
        ctx.session.execute(q.order_by(CarePlan.id).offset(s.offset).limit(s.count + 1)).all()
    )
    page = rows[: s.count]
    if not subject:
        access.audit_list(
            ctx.session,
            ctx.user,
            "care_plan",
            [p.nhs_number for p, _ in page],
            ctx.now,
            what="fhir CarePlan search",
        )
    authors = _authors(ctx, [v for _, v in page])
    found = [fr.care_plan(p.id, p.nhs_number, v, authors.get(v.changed_by)) for p, v in page]
    return FhirResponse(bundle(request, "CarePlan", found, s, len(rows) > s.count))


async def fhir_body(request: Request) -> bytes:
    """The request body, which must be FHIR JSON (read here: reading needs the event loop)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/fhir+json", "application/json"):
        raise FhirError(415, "content-type: send application/fhir+json")
    return await request.body()


def _if_match(value: str | None) -> int:
    if value is None:
        raise FhirError(
            412, 'If-Match: required; send the version you changed, e.g. If-Match: W/"3"'
        )
    m = re.fullmatch(r'\s*(?:W/)?"?([0-9]{1,9})"?\s*', value)
    if m is None:
        raise FhirError(412, f'If-Match: {value[:40]!r} is not a version like W/"3"')
    return int(m.group(1))


@router.put(
    "/CarePlan/{plan_id}",
    summary="CarePlan update (If-Match required)",
    responses=UPDATE_ERRORS,
    openapi_extra=_BODY,
)
def care_plan_update(
    request: Request,
    plan_id: str,
    ctx: Context,
    body: Annotated[bytes, Depends(fhir_body)],
    if_match: Annotated[str | None, Header()] = None,
) -> FhirResponse:
    """A new version of the care plan. ``If-Match: W/"n"`` must name the current version
    (412 otherwise); the care team is told, as for the JSON API."""
    plan = _plan(ctx, plan_id)
    content, nhs = fr.care_plan_content(body, plan_id)
    if nhs != plan.nhs_number:
        raise FhirError(422, f"CarePlan.subject: CarePlan/{plan.id} is about another person")
    ctx.person(plan.nhs_number, "care_plan", "write", record=False)
    expected = _if_match(if_match)
    if expected != plan.current_version:
        raise FhirError(
            412,
            f"If-Match: the care plan is at version {plan.current_version}, not {expected}; "
            "read it again and apply your change to the current version",
        )
    v = plans.save(ctx, plan.nhs_number, content, expected)
    return FhirResponse(
        _plan_resource(ctx, plan, v),
        headers={
            **etag(v.version),
            "Content-Location": f"{base(request)}/CarePlan/{plan.id}/_history/{v.version}",
        },
    )
