"""Operational-store rows as FHIR R4 resources (UK Core profiles where one exists).

One function per resource type, each returning JSON (``resources.validated``: checked by
its fhir.resources R4B model when ``VALIDATE_OUTPUT`` is on, as in the tests). Who did something is a ``Practitioner/<user id>`` reference (with the display
name); the person is ``Patient/<NHS number>``; a service of the directory is
``HealthcareService/<service id>``. Codes that FHIR has no value set for (user roles,
care-team roles, referral statuses) use Careweave code systems (``CS``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.api.fhir.resources import ODS_CODE, UKCORE, instant, validated
from careweave.care.alerts import KIND_PREFIX as ALERT_KIND
from careweave.store.models import (
    Assessment,
    CareTeamMember,
    Episode,
    Notification,
    Person,
    Referral,
    Service,
    ServiceMember,
    Task,
    User,
)

CS = "https://careweave.org/fhir/CodeSystem/"
ID = "https://careweave.org/fhir/Id/"
EXT = "https://careweave.org/fhir/StructureDefinition/"
PROFILES = {
    name: UKCORE + "UKCore-" + name
    for name in (
        "Practitioner",
        "PractitionerRole",
        "EpisodeOfCare",
        "ServiceRequest",
        "Task",
        "Flag",
        "HealthcareService",
        "QuestionnaireResponse",
    )
}

# Referral status -> ServiceRequest.status (the store's own status is kept as an extension).
REFERRAL_STATUS = {
    "received": "active",
    "triaged": "active",
    "accepted": "active",
    "scheduled": "active",
    "attended": "active",
    "completed": "completed",
    "declined": "revoked",
    "redirected": "revoked",
}
URGENCY_PRIORITY = {"urgent": "urgent", "routine": "routine"}
TASK_STATUS = {
    "open": "requested",
    "in_progress": "in-progress",
    "done": "completed",
    "cancelled": "cancelled",
}


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if name in PROFILES:
        meta["profile"] = [PROFILES[name]]
    return meta


def practitioner_ref(session: Session, user_id: int | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    ref: dict[str, Any] = {"reference": f"Practitioner/{user_id}"}
    if user is not None:
        ref["display"] = user.display_name
    return ref


def _patient(nhs: str) -> dict[str, str]:
    return {"reference": f"Patient/{nhs}"}


def practitioner(session: Session, u: User) -> dict[str, Any]:
    """A user (staff account) as a Practitioner: id = user id, the username as identifier."""
    data: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(u.id),
        "meta": _meta("Practitioner"),
        "identifier": [{"system": ID + "username", "value": u.username}],
        "active": u.active,
        "name": [{"text": u.display_name}],
    }
    return validated(data)


def practitioner_role(session: Session, u: User) -> dict[str, Any]:
    """The user in their role: one PractitionerRole per user (id = user id), with their
    organisation (ODS code) and the services whose staff they are on."""
    services = list(
        session.execute(
            select(ServiceMember.service_id).where(
                ServiceMember.user_id == u.id, ServiceMember.ended_at.is_(None)
            )
        ).scalars()
    ) + list(session.execute(select(Service.id).where(Service.contact_user_id == u.id)).scalars())
    data: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(u.id),
        "meta": _meta("PractitionerRole"),
        "active": u.active,
        "practitioner": {"reference": f"Practitioner/{u.id}", "display": u.display_name},
        "code": [{"coding": [{"system": CS + "user-role", "code": u.role}]}],
    }
    if u.org_id:
        data["organization"] = {
            "reference": f"Organization/{u.org_id}",
            "identifier": {"system": ODS_CODE, "value": u.org_id},
        }
    if services:
        data["healthcareService"] = [
            {"reference": f"HealthcareService/{s}"} for s in sorted(set(services))
        ]
    return validated(data)


#: the episode-type code of every register episode (``.../CodeSystem/episode-type``).
EPISODE_TYPE = "case-management"


def episode_of_care(session: Session, e: Episode) -> dict[str, Any]:
    """A spell on the case-management register, with its lead professional as careManager."""
    period: dict[str, Any] = {"start": e.start_date.isoformat()}
    if e.end_date is not None:
        period["end"] = e.end_date.isoformat()
    data: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": str(e.id),
        "meta": _meta("EpisodeOfCare"),
        "status": "active" if e.end_date is None else "finished",
        "type": [
            {
                "coding": [{"system": CS + "episode-type", "code": EPISODE_TYPE}],
                "text": "Case management",
            }
        ],
        "patient": _patient(e.nhs_number),
        "period": period,
        "careManager": practitioner_ref(session, e.lead_professional_id),
        "extension": [{"url": EXT + "enrolment-reason", "valueString": e.reason}],
    }
    if e.outcome:
        data["extension"].append({"url": EXT + "episode-outcome", "valueString": e.outcome})
    return validated(data)


def care_team(session: Session, p: Person) -> dict[str, Any]:
    """The person's care team (one per person: id = NHS number); current members only."""
    members = session.execute(
        select(CareTeamMember)
        .where(CareTeamMember.nhs_number == p.nhs_number, CareTeamMember.ended_at.is_(None))
        .order_by(CareTeamMember.id)
    ).scalars()
    data: dict[str, Any] = {
        "resourceType": "CareTeam",
        "id": p.nhs_number,
        "status": "active",
        "name": "Care team",
        "subject": _patient(p.nhs_number),
        "participant": [
            {
                "role": [{"coding": [{"system": CS + "team-role", "code": m.team_role}]}],
                "member": practitioner_ref(session, m.user_id),
                "period": {"start": instant(m.added_at)},
            }
            for m in members
        ],
    }
    if not data["participant"]:
        del data["participant"]
    return validated(data)


def referral_versions(r: Referral) -> range:
    """The versions of a referral whose state its history keeps: every change bumps
    ``version`` and appends one history entry, so the last entry is the current version
    and the one before it the version before (a referral whose history is shorter than its
    version, from before versions were counted, keeps only its newest versions)."""
    return range(max(1, r.version - len(r.history) + 1), r.version + 1)


def _entry_at(r: Referral, version: int) -> tuple[int, dict[str, Any]]:
    index = len(r.history) - 1 - (r.version - version)
    return index, r.history[index]


def referral_changed_at(r: Referral, version: int) -> dt.datetime:
    """When the referral reached ``version`` (one of :func:`referral_versions`)."""
    return dt.datetime.fromisoformat(_entry_at(r, version)[1]["at"])


def service_request(session: Session, r: Referral, version: int | None = None) -> dict[str, Any]:
    """A referral through the single point of access; ``meta.versionId`` is its version.

    ``version``: the referral as it stood at that version (one of
    :func:`referral_versions`), rebuilt from its history: what changes from version to
    version (the status, the appointment, the decline reason) is in each history entry;
    the rest (person, service, urgency, reason, referrer) never changes."""
    status, scheduled, declined = r.status, r.scheduled_for, r.decline_reason
    updated: dt.datetime | None = None
    at = r.version if version is None else version
    if r.history and at in referral_versions(r):
        index, entry = _entry_at(r, at)
        updated = referral_changed_at(r, at)
        if version is not None:
            status = entry["status"]
            declined = entry.get("decline_reason")
            times = [e["scheduled_for"] for e in r.history[: index + 1] if e.get("scheduled_for")]
            scheduled = dt.datetime.fromisoformat(times[-1]) if times else None
    data: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(r.id),
        "meta": _meta(
            "ServiceRequest",
            versionId=str(at),
            lastUpdated=instant(updated) if updated is not None else None,
        ),
        "identifier": [{"system": ID + "referral", "value": r.reference}],
        "extension": [
            {
                "url": EXT + "referral-status",
                "valueCoding": {"system": CS + "referral-status", "code": status},
            }
        ],
        "status": REFERRAL_STATUS[status],
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "3457005",
                        "display": "Patient referral",
                    }
                ]
            }
        ],
        "priority": URGENCY_PRIORITY.get(r.urgency, "routine"),
        "subject": _patient(r.nhs_number),
        "authoredOn": instant(r.received_at),
        "requester": practitioner_ref(session, r.referrer_id),
        "performer": [{"reference": f"HealthcareService/{r.service_id}"}],
        "reasonCode": [{"text": r.reason}],
    }
    supporting = r.history[0].get("supporting_info") if r.history else None
    if supporting:
        data["supportingInfo"] = [{"reference": ref} for ref in supporting]
    if scheduled is not None:
        data["occurrenceDateTime"] = instant(scheduled)
    if declined and status == "declined":
        data["extension"].append({"url": EXT + "decline-reason", "valueCode": declined})
    return validated({k: v for k, v in data.items() if v is not None})


def task(session: Session, t: Task) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(t.id),
        "meta": _meta("Task"),
        "status": TASK_STATUS.get(t.status, "requested"),
        "intent": "order",
        "description": t.title,
        "authoredOn": instant(t.created_at),
        "lastModified": instant(t.completed_at or t.created_at),
        "restriction": {"period": {"end": instant(t.due_at)}},
        "extension": [{"url": EXT + "task-source", "valueString": t.source}],
    }
    if t.nhs_number:
        data["for"] = _patient(t.nhs_number)
    if t.owner_user_id is not None:
        data["owner"] = practitioner_ref(session, t.owner_user_id)
    elif t.owner_service_id is not None:
        data["owner"] = {"reference": f"HealthcareService/{t.owner_service_id}"}
    if t.owner_role:
        data["performerType"] = [{"coding": [{"system": CS + "team-role", "code": t.owner_role}]}]
    return validated(data)


def communication(session: Session, n: Notification) -> dict[str, Any]:
    """A notification to one user: what they were told, about whom, and when they read it."""
    data: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(n.id),
        "status": "completed",
        "category": [{"coding": [{"system": CS + "notification-kind", "code": n.kind}]}],
        "sent": instant(n.created_at),
        "recipient": [practitioner_ref(session, n.recipient_user_id)],
        "payload": [{"contentString": n.subject}],
    }
    if n.nhs_number:
        data["subject"] = _patient(n.nhs_number)
    if n.read_at is not None:
        data["received"] = instant(n.read_at)
    if n.referral_id is not None:
        data["about"] = [{"reference": f"ServiceRequest/{n.referral_id}"}]
    return validated(data)


FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"


def flag(session: Session, n: Notification) -> dict[str, Any]:
    """An alert about a person (the first notification it sent is its id): a telehealth
    rule's (``telehealth:<rule>``, clinical) or one staff raised (``alert:<category>``,
    care/alerts.py), whose text names who raised it."""
    code: dict[str, Any] = {"text": n.subject}
    if n.kind.startswith(ALERT_KIND):
        category = n.kind.removeprefix(ALERT_KIND)
    else:
        rule = n.kind.removeprefix("telehealth:")
        category = "clinical"
        code["coding"] = [{"system": CS + "telehealth-rule", "code": rule}]
    data: dict[str, Any] = {
        "resourceType": "Flag",
        "id": str(n.id),
        "meta": _meta("Flag", lastUpdated=instant(n.created_at)),
        "status": "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY, "code": category}]}],
        "code": code,
        "subject": _patient(n.nhs_number or ""),
        "period": {"start": instant(n.created_at)},
    }
    return validated(data)


def healthcare_service(session: Session, s: Service) -> dict[str, Any]:
    """A service of the directory, with its referral route and response standards."""
    data: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": s.id,
        "meta": _meta("HealthcareService", lastUpdated=instant(s.updated_at)),
        "identifier": [{"system": ID + "service", "value": s.id}],
        "active": s.active,
        "name": s.name,
        "comment": s.description,
        "eligibility": [{"comment": s.eligibility}] if s.eligibility else None,
        "referralMethod": [{"text": s.referral_route}] if s.referral_route else None,
        "extension": [
            {
                "url": EXT + "response-standard",
                "extension": [
                    {"url": "urgency", "valueCode": urgency},
                    {"url": "hours", "valueDecimal": float(hours)},
                ],
            }
            for urgency, hours in sorted(s.response_standards.items())
        ]
        + [{"url": EXT + "locality", "valueString": str(loc)} for loc in s.localities],
    }
    return validated({k: v for k, v in data.items() if v not in (None, [])})


def risk_assessment(session: Session, p: Person) -> dict[str, Any]:
    """The person's latest risk score (id = NHS number): probability, band, CCM level and
    the explanation (the model's top contributing factors) as the basis."""
    assert p.risk_as_of is not None
    prediction: dict[str, Any] = {"outcome": {"text": "Emergency admission in the next year"}}
    if p.risk_probability is not None:
        prediction["probabilityDecimal"] = round(float(p.risk_probability), 6)
    if p.risk_band:
        prediction["qualitativeRisk"] = {
            "coding": [{"system": CS + "risk-band", "code": p.risk_band}]
        }
    extensions: list[dict[str, Any]] = []
    if p.ccm_level is not None:
        extensions.append({"url": EXT + "ccm-level", "valueInteger": int(p.ccm_level)})
    if p.risk_percentile is not None:
        extensions.append(
            {"url": EXT + "risk-percentile", "valueDecimal": round(float(p.risk_percentile), 4)}
        )
    if p.segment:
        extensions.append({"url": EXT + "segment", "valueString": p.segment})
    data: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": p.nhs_number,
        "meta": {"lastUpdated": instant(p.synced_at)},
        "status": "final",
        "subject": _patient(p.nhs_number),
        "occurrenceDateTime": p.risk_as_of.isoformat(),
        "prediction": [prediction],
        "basis": [{"display": str(x)} for x in p.risk_explanation or []] or None,
        "method": {"text": p.model_version} if p.model_version else None,
        "extension": extensions or None,
    }
    return validated({k: v for k, v in data.items() if v is not None})


def _answer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueString": str(value)}


def questionnaire_response(session: Session, a: Assessment) -> dict[str, Any]:
    """An assessment: ``questionnaire`` names the template and version, one item per answer."""
    items = []
    for link, value in a.answers.items():
        values = value if isinstance(value, list) else [value]
        item: dict[str, Any] = {"linkId": str(link)}
        if values and value is not None:
            item["answer"] = [_answer(v) for v in values]
        items.append(item)
    data: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(a.id),
        "meta": _meta("QuestionnaireResponse", lastUpdated=instant(a.recorded_at)),
        "questionnaire": (
            f"https://careweave.org/fhir/Questionnaire/{a.template_id}|{a.template_version}"
        ),
        "status": "completed",
        "subject": _patient(a.nhs_number),
        "authored": instant(a.recorded_at),
        "author": practitioner_ref(session, a.recorded_by),
        "item": items or None,
    }
    return validated({k: v for k, v in data.items() if v is not None})
