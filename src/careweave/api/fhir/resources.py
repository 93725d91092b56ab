"""The store's rows as FHIR R4 (UK Core) resources, and FHIR CarePlans back into content.

Each function returns a resource as a plain JSON dict (:func:`validated`: checked by its
fhir.resources R4B model when ``VALIDATE_OUTPUT`` is on, as in the tests). UK Core where a profile exists: Patient (NHS number, system
``https://fhir.nhs.uk/Id/nhs-number``), Organization (ODS code, system
``https://fhir.nhs.uk/Id/ods-organization-code``). A care plan's content (goals,
interventions, crisis contacts and plan, step status, review date) has no one-to-one
home in CarePlan, so goals are contained Goals, interventions are activities, and the
rest are Careweave extensions (``EXT``), written and read by the same table here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from careweave.api.fhir.outcome import FhirError
from careweave.care.plans import CarePlanContent
from careweave.store.models import CarePlanVersion, Organisation, Person, User

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS_CODE = "https://fhir.nhs.uk/Id/ods-organization-code"
UKCORE = "https://fhir.hl7.org.uk/StructureDefinition/"
PROFILES = {
    "Patient": UKCORE + "UKCore-Patient",
    "Organization": UKCORE + "UKCore-Organization",
}
EXT = "https://careweave.org/fhir/StructureDefinition/"
TEAM_ROLE = "https://careweave.org/fhir/CodeSystem/team-role"
ORG_TYPE = "https://careweave.org/fhir/CodeSystem/organisation-type"

GENDER = {"male": "male", "female": "female", "other": "other"}
# Care-plan intervention status <-> CarePlan.activity.detail.status.
ACTIVITY_STATUS = {
    "planned": "not-started",
    "in_progress": "in-progress",
    "done": "completed",
    "cancelled": "cancelled",
}
ACTIVITY_STATUS_BACK = {v: k for k, v in ACTIVITY_STATUS.items()}


#: Check every served resource against its R4B model before it goes out. Off when
#: serving: a model validation costs 0.5-1 ms of CPU a resource (over half a keyed read's
#: CPU, a Bundle validating its entries again); the resources are plain dicts built by
#: the tables of this package, and the test suite turns this on for every test
#: (tests/conftest.py), so every body any test is served was validated, and the tests'
#: clients validate what they receive too (docs/fhir.md, Performance).
VALIDATE_OUTPUT = False


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _no_nulls(value: Any) -> Any:
    """``value`` without nulls, empty arrays and empty objects (FHIR JSON has none)."""
    if isinstance(value, dict):
        out = {k: _no_nulls(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _empty(v)}
    if isinstance(value, list):
        items = [_no_nulls(v) for v in value]
        return [v for v in items if not _empty(v)]
    return value


def validated(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as served: nulls and empty arrays dropped (at any depth), and, with
    :data:`VALIDATE_OUTPUT`, checked against its resource type's R4B model (a resource it
    refuses is a bug: the error propagates, a 500)."""
    out: dict[str, Any] = _no_nulls(data)
    if VALIDATE_OUTPUT:
        get_fhir_model_class(out["resourceType"]).model_validate(out)
    return out


def instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def patient(p: Person) -> dict[str, Any]:
    return validated(patient_data(p))


def patient_data(p: Person) -> dict[str, Any]:
    """The Patient as JSON, not yet validated (Bulk export writes thousands a second)."""
    name: dict[str, Any] = {"use": "official"}
    if p.family_name:
        name["family"] = p.family_name
    if p.given_name:
        name["given"] = [p.given_name]
    if p.title:
        name["prefix"] = [p.title]
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p.nhs_number,
        "meta": {"profile": [PROFILES["Patient"]], "lastUpdated": instant(p.synced_at)},
        "identifier": [{"system": NHS_NUMBER, "value": p.nhs_number}],
        "gender": GENDER.get(p.sex, "unknown"),
        "birthDate": p.date_of_birth.isoformat(),
    }
    if len(name) > 1:
        data["name"] = [name]
    if p.date_of_death is not None:
        data["deceasedDateTime"] = p.date_of_death.isoformat()
    lines = [x for x in (p.address_line_1, p.address_line_2) if x]
    if lines or p.town or p.postcode:
        address: dict[str, Any] = {"use": "home"}
        if lines:
            address["line"] = lines
        if p.town:
            address["city"] = p.town
        if p.postcode:
            address["postalCode"] = p.postcode
        data["address"] = [address]
    if p.telephone:
        data["telecom"] = [{"system": "phone", "value": p.telephone, "use": "home"}]
    if p.practice_id:
        data["generalPractitioner"] = [{"reference": f"Organization/{p.practice_id}"}]
    if p.preferred_language:
        data["communication"] = [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": p.preferred_language}]
                },
                "preferred": True,
            }
        ]
    return data


def organization(o: Organisation) -> dict[str, Any]:
    return validated(organization_data(o))


def organization_data(o: Organisation) -> dict[str, Any]:
    """The Organization as JSON, not yet validated."""
    data: dict[str, Any] = {
        "resourceType": "Organization",
        "id": o.org_id,
        "meta": {"profile": [PROFILES["Organization"]]},
        "identifier": [{"system": ODS_CODE, "value": o.org_id}],
        "active": True,
        "name": o.name,
        "type": [{"coding": [{"system": ORG_TYPE, "code": o.org_type}]}],
    }
    if o.parent_id:
        data["partOf"] = {"reference": f"Organization/{o.parent_id}"}
    return data


def care_plan(
    plan_id: int, nhs_number: str, v: CarePlanVersion, author: User | None
) -> dict[str, Any]:
    """One version of a care plan; ``meta.versionId`` is the store's version number."""
    c = v.content
    goals = []
    for i, g in enumerate(c.get("goals", []), start=1):
        goal: dict[str, Any] = {
            "resourceType": "Goal",
            "id": f"goal{i}",
            "lifecycleStatus": "active",
            "description": {"text": g["text"]},
            "subject": {"reference": f"Patient/{nhs_number}"},
        }
        if g.get("target_date"):
            goal["target"] = [{"dueDate": g["target_date"]}]
        goals.append(goal)
    activities = [
        {
            "detail": {
                "extension": [{"url": EXT + "owner-role", "valueCode": i["owner_role"]}],
                "status": ACTIVITY_STATUS[i["status"]],
                "description": i["description"],
                "scheduledPeriod": {"end": i["due_date"]},
                "performer": [{"display": i["owner_organisation"]}],
            }
        }
        for i in c.get("interventions", [])
    ]
    extensions: list[dict[str, Any]] = [
        {"url": EXT + "review-date", "valueDate": c["review_date"]},
        {"url": EXT + "step-status", "valueCode": c.get("step_status", "stable")},
    ]
    if c.get("crisis_plan"):
        extensions.append({"url": EXT + "crisis-plan", "valueString": c["crisis_plan"]})
    for contact in c.get("crisis_contacts", []):
        extensions.append(
            {
                "url": EXT + "crisis-contact",
                "extension": [
                    {"url": "name", "valueString": contact["name"]},
                    {"url": "relationship", "valueString": contact["relationship"]},
                    {"url": "phone", "valueString": contact["phone"]},
                ],
            }
        )
    data: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(plan_id),
        "meta": {
            "versionId": str(v.version),
            "lastUpdated": instant(v.changed_at),
        },
        "extension": extensions,
        "status": "active",
        "intent": "plan",
        "title": "Shared care plan",
        "subject": {"reference": f"Patient/{nhs_number}"},
        "created": instant(v.changed_at) if v.version == 1 else None,
    }
    if author is not None:
        data["author"] = {"display": author.display_name}
    if goals:
        data["contained"] = goals
        data["goal"] = [{"reference": f"#{g['id']}"} for g in goals]
    if activities:
        data["activity"] = activities
    return validated({k: val for k, val in data.items() if val is not None})


def _ext(items: list[Any] | None, url: str) -> list[Any]:
    return [e for e in items or [] if e.url == url]


def care_plan_content(body: bytes, plan_id: str) -> tuple[CarePlanContent, str]:
    """A FHIR CarePlan (JSON) for ``CarePlan/plan_id`` as care-plan content and the NHS
    number of its subject.

    400 when it is not a valid R4 CarePlan; 422 when it is one but lacks what a care
    plan here needs (a subject Patient, a review date, complete interventions)."""
    from fhir.resources.R4B.careplan import CarePlan

    try:
        cp = CarePlan.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirError(400, f"CarePlan.{where}: {first.get('msg')}", "structure") from None
    if cp.id != plan_id:
        raise FhirError(400, f"CarePlan.id: must be {plan_id!r}, the id in the URL")
    ref = cp.subject.reference or ""
    if not ref.startswith("Patient/"):
        raise FhirError(422, "CarePlan.subject: must reference Patient/<NHS number>")
    nhs = ref.removeprefix("Patient/")
    contained = {r.id: r for r in cp.contained or []}
    goals = []
    for g in cp.goal or []:
        target: Any = contained.get((g.reference or "").removeprefix("#"))
        if target is None or target.get_resource_type() != "Goal":
            raise FhirError(422, f"CarePlan.goal: {g.reference!r} is not a contained Goal")
        due = target.target[0].dueDate if target.target else None
        goals.append({"text": target.description.text or "", "target_date": due})
    interventions = []
    for n, a in enumerate(cp.activity or []):
        d = a.detail
        where = f"CarePlan.activity[{n}].detail"
        if d is None:
            raise FhirError(422, f"{where}: an activity needs a detail")
        roles = _ext(d.extension, EXT + "owner-role")
        if not roles:
            raise FhirError(422, f"{where}.extension: the owner-role extension is required")
        if d.status not in ACTIVITY_STATUS_BACK:
            known = ", ".join(ACTIVITY_STATUS_BACK)
            raise FhirError(422, f"{where}.status: {d.status!r} is not one of {known}")
        due = d.scheduledPeriod.end if d.scheduledPeriod else None
        interventions.append(
            {
                "description": d.description,
                "owner_organisation": d.performer[0].display if d.performer else None,
                "owner_role": roles[0].valueCode,
                "due_date": str(due)[:10] if due else None,
                "status": ACTIVITY_STATUS_BACK[d.status],
            }
        )
    contacts = []
    for ext in _ext(cp.extension, EXT + "crisis-contact"):
        parts = {x.url: x.valueString for x in ext.extension or []}
        contacts.append(parts)
    review = _ext(cp.extension, EXT + "review-date")
    step = _ext(cp.extension, EXT + "step-status")
    crisis = _ext(cp.extension, EXT + "crisis-plan")
    raw = {
        "goals": goals,
        "interventions": interventions,
        "crisis_contacts": contacts,
        "crisis_plan": crisis[0].valueString if crisis else "",
        "step_status": step[0].valueCode if step else "stable",
        "review_date": review[0].valueDate if review else None,
    }
    try:
        return CarePlanContent.model_validate(raw), nhs
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirError(422, f"care plan {where}: {first.get('msg')}") from None
