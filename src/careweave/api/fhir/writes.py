"""Creates on ``/fhir``: a telehealth reading (Observation), a referral (ServiceRequest)
and an alert (Flag); ``transaction.py`` runs a Bundle of these, all or nothing.

Each create goes through the care core's own path, so its rules are not written twice:
an Observation is a ``telehealth_reading`` event (``care.events.ingest``, as
``POST /events``: the telehealth rules run, the care team is told of an alert, the
token's event-type and organisation scope applies, ``identifier`` is the event's
``external_id`` so a resend changes nothing); a ServiceRequest is a referral through the
single point of access (``care.referrals.create_referral``, as ``POST /referrals``: the
service's duty inbox and staff are told; ``supportingInfo`` may point at telehealth
readings of the person).
A Flag is an alert staff raise on a person (``care.alerts.raise_alert``): told to the
person's care team, read back as the Flag the telehealth alerts are. A
QuestionnaireResponse is a unified assessment (``care.assessments.record``, as
``POST /people/{nhs}/assessments``: its answers checked against the template named by
``questionnaire``, its triggers fire). CommunicationRequest is not created.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from careweave.api.deps import Context
from careweave.api.fhir import care_resources as cr
from careweave.api.fhir.capability import Served, register
from careweave.api.fhir.outcome import FhirError, FhirResponse
from careweave.api.fhir.resources import instant, validated
from careweave.api.fhir.router import fhir_body
from careweave.api.fhir.search import base
from careweave.care import alerts, assessments, events, referrals
from careweave.care.context import Ctx
from careweave.security.errors import Invalid
from careweave.store.models import Event

_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/fhir+json": {"schema": {"type": "object"}}},
    }
}
MEASURE_SYSTEM = cr.CS + "telehealth-measure"
# LOINC codes of the shipped telehealth measures (a deployment's own measures use MEASURE_SYSTEM).
LOINC = "http://loinc.org"
LOINC_MEASURES = {
    "15074-8": "glucose",
    "29463-7": "weight",
    "8480-6": "systolic_bp",
    "59408-5": "spo2",
    "2708-6": "spo2",
}
CREATABLE = ("Observation", "ServiceRequest", "Flag", "QuestionnaireResponse")
#: ``QuestionnaireResponse.questionnaire``: a template, ``<QUESTIONNAIRE><id>[|<version>]``.
QUESTIONNAIRE = "https://careweave.org/fhir/Questionnaire/"


def parse_resource(kind: str, data: Any, where: str) -> Any:
    if not isinstance(data, dict) or data.get("resourceType") != kind:
        raise FhirError(400, f"{where}: expected a {kind} resource")
    try:
        return get_fhir_model_class(kind).model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirError(400, f"{where}.{loc}: {first.get('msg')}", "structure") from None


def _subject(ref: Any, where: str) -> str:
    value = (ref.reference if ref is not None else None) or ""
    nhs = value.removeprefix("Patient/")
    if not value.startswith("Patient/") or not nhs.isdigit() or len(nhs) != 10:
        raise FhirError(422, f"{where}: must reference Patient/<NHS number>")
    return nhs


def _measure(ctx: Ctx, obs: Any, where: str) -> str:
    measures = ctx.config.telehealth.measures
    for coding in obs.code.coding or []:
        if coding.system == MEASURE_SYSTEM and coding.code in measures:
            return str(coding.code)
        if coding.system == LOINC and LOINC_MEASURES.get(coding.code or "") in measures:
            return LOINC_MEASURES[coding.code or ""]
    known = ", ".join(sorted(measures))
    raise FhirError(
        422,
        f"{where}.code: not a telehealth measure; code it with system {MEASURE_SYSTEM} "
        f"({known}) or its LOINC code",
    )


def create_observation(ctx: Ctx, data: Any, where: str = "Observation") -> dict[str, Any]:
    """A telehealth reading: recorded and routed as the events API does."""
    obs = parse_resource("Observation", data, where)
    nhs = _subject(obs.subject, f"{where}.subject")
    measure = _measure(ctx, obs, where)
    q = obs.valueQuantity
    if q is None or q.value is None:
        raise FhirError(422, f"{where}.valueQuantity: a reading needs a numeric value")
    unit = ctx.config.telehealth.measures[measure].unit
    if q.code is not None and q.code != unit:
        raise FhirError(422, f"{where}.valueQuantity.code: {measure} is recorded in {unit}")
    when = obs.effectiveDateTime
    if not isinstance(when, dt.datetime):
        raise FhirError(422, f"{where}.effectiveDateTime: give the time of the reading, with zone")
    external = obs.identifier[0].value if obs.identifier else None
    routed = events.ingest(
        ctx,
        nhs,
        "telehealth_reading",
        when,
        {"measure": measure, "value": float(q.value), "unit": unit},
        external_id=f"fhir:{external}"[:128] if external else None,
        source=f"fhir:{ctx.user.username}",
    )
    ev = routed.event
    ctx.session.flush()
    return reading_resource(ev, unit, routed.alerts)


def reading_resource(ev: Event, unit: str, alerts: list[str] | None = None) -> dict[str, Any]:
    """The Observation of a telehealth reading event (``Observation/telehealth-<event id>``):
    what a create answers and what a read of that id serves. ``interpretation`` names the
    telehealth rules the reading set off; only the create knows them (a read has none)."""
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"telehealth-{ev.id}",
        "meta": {"lastUpdated": instant(ev.received_at)},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": MEASURE_SYSTEM, "code": ev.payload["measure"]}]},
        "subject": {"reference": f"Patient/{ev.nhs_number}"},
        "effectiveDateTime": instant(ev.occurred_at),
        "valueQuantity": {
            "value": float(ev.payload["value"]),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }
    if ev.external_id and ev.external_id.startswith("fhir:"):
        out["identifier"] = [{"value": ev.external_id.removeprefix("fhir:")}]
    if alerts:
        out["interpretation"] = [
            {"coding": [{"system": cr.CS + "telehealth-rule", "code": a}]} for a in alerts
        ]
    return validated(out)


def read_reading(ctx: Ctx, rid: str) -> dict[str, Any] | None:
    """``Observation/telehealth-<id>``: a reading created through ``/fhir`` or ``/events``,
    read from the store (the warehouse holds it only after the next extract and load), for a
    caller with a legitimate relationship with the person (audited as a person read). None
    when the id is not one."""
    m = re.fullmatch(r"telehealth-([0-9]{1,9})", rid)
    if m is None:
        return None
    ev = ctx.session.get(Event, int(m.group(1)))
    if ev is None or ev.type != "telehealth_reading":
        return None
    ctx.person(ev.nhs_number, "person", "read")
    measure = ctx.config.telehealth.measures.get(str(ev.payload.get("measure")))
    unit = measure.unit if measure is not None else str(ev.payload.get("unit", ""))
    return reading_resource(ev, unit)


def _supporting(ctx: Ctx, sr: Any, nhs: str, where: str) -> list[str]:
    """``supportingInfo``: telehealth readings of the same person (``Observation/telehealth-
    <id>``, as a create answers, or a transaction's ``urn:uuid`` of one, resolved)."""
    out = []
    for i, ref in enumerate(sr.supportingInfo or []):
        value = ref.reference or ""
        m = re.fullmatch(r"Observation/telehealth-([0-9]{1,9})", value)
        ev = ctx.session.get(Event, int(m.group(1))) if m else None
        if ev is None or ev.type != "telehealth_reading" or ev.nhs_number != nhs:
            raise FhirError(
                422,
                f"{where}.supportingInfo[{i}]: {value[:80]!r} is not a telehealth reading of "
                f"Patient/{nhs} (Observation/telehealth-<id>)",
            )
        out.append(value)
    return out


def create_service_request(ctx: Ctx, data: Any, where: str = "ServiceRequest") -> dict[str, Any]:
    """A referral through the single point of access to ``performer`` (a HealthcareService),
    with any ``supportingInfo`` (telehealth readings of the person) kept with it."""
    sr = parse_resource("ServiceRequest", data, where)
    nhs = _subject(sr.subject, f"{where}.subject")
    services = [
        (p.reference or "").removeprefix("HealthcareService/")
        for p in sr.performer or []
        if (p.reference or "").startswith("HealthcareService/")
    ]
    if len(services) != 1:
        raise FhirError(
            422, f"{where}.performer: name the one service referred to, HealthcareService/<id>"
        )
    urgency = {"routine": "routine", "urgent": "urgent", None: "routine"}.get(sr.priority)
    if urgency is None:
        raise FhirError(422, f"{where}.priority: routine or urgent")
    reasons = [c.text for c in sr.reasonCode or [] if c.text] + [
        n.text for n in sr.note or [] if n.text
    ]
    if not reasons:
        raise FhirError(422, f"{where}.reasonCode: say why you are referring (reasonCode.text)")
    ref = referrals.create_referral(
        ctx,
        nhs,
        services[0],
        urgency,
        "\n".join(reasons),
        source=f"fhir:{ctx.user.username}",
        supporting_info=_supporting(ctx, sr, nhs, where),
    )
    ctx.session.flush()
    return cr.service_request(ctx.session, ref)


def create_flag(ctx: Ctx, data: Any, where: str = "Flag") -> dict[str, Any]:
    """An alert about a person, told to their care team (care/alerts.py): ``code.text`` (or
    a coding's display) says what it is; ``category`` a flag-category code (default
    ``clinical``); a new Flag is ``active``."""
    flag = parse_resource("Flag", data, where)
    nhs = _subject(flag.subject, f"{where}.subject")
    if flag.status != "active":
        raise FhirError(422, f"{where}.status: a new alert is active, not {flag.status!r}")
    codes = [
        c.code
        for concept in flag.category or []
        for c in concept.coding or []
        if c.system == cr.FLAG_CATEGORY and c.code
    ]
    if len(codes) > 1:
        raise FhirError(422, f"{where}.category: give one flag-category code")
    category = codes[0] if codes else "clinical"
    if category not in alerts.CATEGORIES:
        raise FhirError(422, f"{where}.category: {category!r} is not a code of {cr.FLAG_CATEGORY}")
    text = flag.code.text or next((c.display for c in flag.code.coding or [] if c.display), None)
    if not text or not text.strip():
        raise FhirError(422, f"{where}.code.text: say what the alert is")
    try:
        sent = alerts.raise_alert(ctx, nhs, category, text)
    except Invalid as e:
        field = str(e).partition(":")[0]
        element = {"text": "code.text", "category": "category"}.get(field, "subject")
        raise FhirError(422, f"{where}.{element}: {str(e).partition(': ')[2]}") from None
    return cr.flag(ctx.session, sent[0])


def _template(ctx: Ctx, qr: Any, where: str) -> tuple[str, int | None]:
    """The template id and version ``questionnaire`` names (no version: the newest)."""
    canonical = qr.questionnaire or ""
    url, _, version = canonical.partition("|")
    template = url.removeprefix(QUESTIONNAIRE)
    if not url.startswith(QUESTIONNAIRE) or not template or "/" in template:
        raise FhirError(
            422,
            f"{where}.questionnaire: name the assessment template, "
            f"{QUESTIONNAIRE}<template>[|<version>] "
            f"(templates: {', '.join(sorted(ctx.config.templates))})",
        )
    if version and not re.fullmatch(r"[0-9]{1,9}", version):
        raise FhirError(422, f"{where}.questionnaire: the version after | is a number")
    return template, int(version) if version else None


def _answer_value(answer: Any) -> Any:
    """The plain value of one answer: a boolean, number, text or a coding's code."""
    for name in ("valueBoolean", "valueInteger", "valueDecimal", "valueString"):
        value = getattr(answer, name, None)
        if value is not None:
            return float(value) if name == "valueDecimal" else value
    coding = getattr(answer, "valueCoding", None)
    if coding is not None and coding.code:
        return coding.code
    return None


def _answers(qr: Any, where: str) -> tuple[dict[str, Any], dict[str, int]]:
    """``item`` as {linkId: value} and each linkId's item index; one answer per item,
    no nested items (the templates have none)."""
    answers: dict[str, Any] = {}
    index: dict[str, int] = {}
    for i, item in enumerate(qr.item or []):
        at = f"{where}.item[{i}]"
        if item.item:
            raise FhirError(422, f"{at}.item: nested items are not part of any template")
        if item.linkId in index:
            raise FhirError(422, f"{at}.linkId: {item.linkId!r} is answered twice")
        index[item.linkId] = i
        given = item.answer or []
        if len(given) > 1:
            raise FhirError(422, f"{at}.answer: give one answer to {item.linkId!r}")
        value = _answer_value(given[0]) if given else None
        if given and value is None:
            raise FhirError(
                422,
                f"{at}.answer[0]: answer with valueBoolean, valueInteger, valueDecimal, "
                "valueString or valueCoding",
            )
        if value is not None:
            answers[item.linkId] = value
    return answers, index


def create_questionnaire_response(
    ctx: Ctx, data: Any, where: str = "QuestionnaireResponse"
) -> dict[str, Any]:
    """A completed unified assessment of the person, recorded as the JSON API records one:
    the answers checked against the template ``questionnaire`` names, its triggers fired
    (referrals, tasks, notifications), audited. The author is the caller and ``authored``
    when it was recorded."""
    qr = parse_resource("QuestionnaireResponse", data, where)
    nhs = _subject(qr.subject, f"{where}.subject")
    if qr.status != "completed":
        raise FhirError(
            422, f"{where}.status: a recorded assessment is completed, not {qr.status!r}"
        )
    template, version = _template(ctx, qr, where)
    answers, index = _answers(qr, where)
    try:
        recorded = assessments.record(ctx, nhs, template, answers, version)
    except Invalid as e:
        message = str(e)
        field, _, why = message.partition(": ")
        question = field.removeprefix("answers.")
        if field.startswith("answers.") and question in index:
            raise FhirError(422, f"{where}.item[{index[question]}] ({question}): {why}") from None
        if field.startswith("answers."):  # a required question with no answer
            raise FhirError(422, f"{where}.item: {question}: {why}") from None
        raise FhirError(422, f"{where}.questionnaire: {message}") from None
    ctx.session.flush()
    return cr.questionnaire_response(ctx.session, recorded)


CREATE = {
    "Observation": create_observation,
    "ServiceRequest": create_service_request,
    "Flag": create_flag,
    "QuestionnaireResponse": create_questionnaire_response,
}


def _created(request: Request, body: dict[str, Any]) -> FhirResponse:
    location = f"{base(request)}/{body['resourceType']}/{body['id']}"
    return FhirResponse(body, status_code=201, headers={"Location": location})


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise FhirError(400, "body: not JSON") from None


def observation_create(
    request: Request, ctx: Context, body: Annotated[bytes, Depends(fhir_body)]
) -> FhirResponse:
    return _created(request, create_observation(ctx, _load(body)))


def service_request_create(
    request: Request, ctx: Context, body: Annotated[bytes, Depends(fhir_body)]
) -> FhirResponse:
    return _created(request, create_service_request(ctx, _load(body)))


def flag_create(
    request: Request, ctx: Context, body: Annotated[bytes, Depends(fhir_body)]
) -> FhirResponse:
    return _created(request, create_flag(ctx, _load(body)))


def questionnaire_response_create(
    request: Request, ctx: Context, body: Annotated[bytes, Depends(fhir_body)]
) -> FhirResponse:
    return _created(request, create_questionnaire_response(ctx, _load(body)))


def add_routes(router: APIRouter) -> None:
    """The create routes, declared in the CapabilityStatement (the transaction endpoint,
    ``POST /fhir``, is ``transaction.py``'s)."""
    router.add_api_route(
        "/Observation",
        observation_create,
        methods=["POST"],
        summary="Observation create (a telehealth reading)",
        openapi_extra=_BODY,
        status_code=201,
    )
    router.add_api_route(
        "/ServiceRequest",
        service_request_create,
        methods=["POST"],
        summary="ServiceRequest create (a referral)",
        openapi_extra=_BODY,
        status_code=201,
    )
    router.add_api_route(
        "/Flag",
        flag_create,
        methods=["POST"],
        summary="Flag create (an alert to the person's care team)",
        openapi_extra=_BODY,
        status_code=201,
    )
    router.add_api_route(
        "/QuestionnaireResponse",
        questionnaire_response_create,
        methods=["POST"],
        summary="QuestionnaireResponse create (a unified assessment)",
        openapi_extra=_BODY,
        status_code=201,
    )
    register("QuestionnaireResponse", Served(("create",), {}))
    register("Observation", Served(("create",), {}))
    register("ServiceRequest", Served(("create",), {}))
    register("Flag", Served(("create",), {}))
