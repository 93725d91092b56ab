"""Local-authority social care from the warehouse as FHIR R4 (UK Core): assessments as
Observation, care-home placements, reablement episodes and telecare services as
EpisodeOfCare (docs/fhir.md, "Social care", says why these resources).

- **An assessment** (``social_care_assessments``) is an Observation: ``code`` the kind of
  assessment (``.../CodeSystem/social-care-assessment``: needs, carer, review, financial,
  other), ``valueCodeableConcept`` its outcome (``.../CodeSystem/social-care-outcome``),
  ``effectiveDateTime`` the day it was completed, ``performer`` the assessing local
  authority, ``category`` ``social-care-assessment`` (what ``category=`` searches). The
  warehouse holds the outcome, not the answers: the unified assessment with its answers is
  the operational store's QuestionnaireResponse.
- **A placement, a reablement episode, a telecare service** is an EpisodeOfCare: ``type``
  an ``.../CodeSystem/episode-type`` code (``care-placement``, ``reablement``,
  ``telecare``; the case-management register's own episodes are ``case-management``) and,
  for a placement or a telecare service, a second coding of its kind (``placement-type``
  residential or nursing; ``telecare-service``); ``period`` start to end; ``status``
  ``active`` until the end date has passed, then ``finished``; ``managingOrganization`` the
  organisation responsible for the care in that period (the care home; the local
  authority for reablement; the telecare provider). What FHIR has no field for travels in
  the ``episode-detail`` extension (the placement's commissioning local authority,
  permanent or short-term and its weekly cost; the hospital spell a reablement followed
  and whether the person was at home 91 days on), which ``careweave import fhir`` reads
  back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from careweave.api.fhir.linked_fields import CLINICAL, Resource, Row, Source, clean, day, meta, org
from careweave.dataset import fhir_vocabulary as vocab

ASSESSMENT_CATEGORY = "social-care-assessment"
ASSESSMENT_DISPLAY = {
    "needs": "Needs assessment",
    "carer": "Carer's assessment",
    "review": "Review",
    "financial": "Financial assessment",
    "other": "Other assessment",
}
OUTCOME_DISPLAY = {
    "services": "Services provided",
    "no_services": "No services",
    "signposted": "Signposted elsewhere",
    "other": "Other outcome",
}
EPISODE_DISPLAY = {
    "case-management": "Case management",
    "care-placement": "Care-home placement",
    "reablement": "Reablement",
    "telecare": "Telecare",
}
PLACEMENT_DISPLAY = {"residential": "Residential care", "nursing": "Nursing care"}
TELECARE_DISPLAY = {
    "pendant_alarm": "Pendant alarm",
    "falls_detector": "Falls detector",
    "telehealth_monitoring": "Telehealth monitoring",
    "other": "Other telecare",
}


def _coded(system: str, code: str, displays: dict[str, str]) -> dict[str, Any]:
    c = {"system": system, "code": code}
    if code in displays:
        c["display"] = displays[code]
    return {"coding": [c]}


def assessment(row: Row, patient: str) -> Resource:
    kind = str(row["assessment_type"])
    outcome = row.get("outcome")
    category = {
        "system": vocab.CAREWEAVE_CODE_SYSTEM + "observation-category",
        "code": ASSESSMENT_CATEGORY,
        "display": "Social-care assessment",
    }
    data: Resource = {
        "resourceType": "Observation",
        "id": row["id"],
        "meta": meta("Observation"),
        "status": "final",
        "category": [{"coding": [category]}],
        "code": _coded(vocab.SOCIAL_CARE_ASSESSMENT_SYSTEM, kind, ASSESSMENT_DISPLAY),
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": day(row["assessment_date"]),
        "performer": [org(row["local_authority_id"])] if row.get("local_authority_id") else None,
    }
    if outcome:
        data["valueCodeableConcept"] = _coded(
            vocab.SOCIAL_CARE_OUTCOME_SYSTEM, str(outcome), OUTCOME_DISPLAY
        )
    else:
        data["dataAbsentReason"] = {
            "coding": [{"system": CLINICAL + "data-absent-reason", "code": "unknown"}]
        }
    return clean(data)


def today() -> dt.date:
    """The day an episode's end must have passed for it to be ``finished`` (UTC)."""
    return dt.datetime.now(dt.UTC).date()


def _episode(
    row: Row, patient: str, episode_type: str, kind: dict[str, Any] | None, managing: Any
) -> Resource:
    start, end = row["start_date"], row.get("end_date")
    period = {"start": day(start)}
    if end is not None:
        period["end"] = day(end)
    ended = end is not None and _as_date(end) <= today()
    types = [_coded(vocab.EPISODE_TYPE_SYSTEM, episode_type, EPISODE_DISPLAY)]
    if kind is not None:
        types.append(kind)
    return {
        "resourceType": "EpisodeOfCare",
        "id": row["id"],
        "meta": meta("EpisodeOfCare"),
        "status": "finished" if ended else "active",
        "type": types,
        "patient": {"reference": f"Patient/{patient}"},
        "managingOrganization": org(managing),
        "period": period,
    }


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _detail(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"url": vocab.EPISODE_DETAIL, "extension": parts}] if parts else []


def placement(row: Row, patient: str) -> Resource:
    kind = str(row["placement_type"])
    data = _episode(
        row,
        patient,
        "care-placement",
        _coded(vocab.PLACEMENT_TYPE_SYSTEM, kind, PLACEMENT_DISPLAY),
        row.get("care_home_id"),
    )
    parts: list[dict[str, Any]] = []
    if row.get("local_authority_id"):
        parts.append({"url": "local_authority", "valueReference": org(row["local_authority_id"])})
    if row.get("permanent") is not None:
        parts.append({"url": "permanent", "valueBoolean": bool(row["permanent"])})
    if row.get("weekly_cost") is not None:
        parts.append({"url": "weekly_cost", "valueDecimal": float(row["weekly_cost"])})
    data["extension"] = _detail(parts)
    return clean(data)


def reablement(row: Row, patient: str) -> Resource:
    data = _episode(row, patient, "reablement", None, row.get("local_authority_id"))
    parts: list[dict[str, Any]] = []
    if row.get("spell_id"):
        parts.append(
            {"url": "spell_id", "valueReference": {"reference": f"Encounter/{row['spell_id']}"}}
        )
    if row.get("at_home_91d") is not None:
        parts.append({"url": "at_home_91d", "valueBoolean": bool(row["at_home_91d"])})
    data["extension"] = _detail(parts)
    return clean(data)


def telecare(row: Row, patient: str) -> Resource:
    kind = str(row["service_type"])
    data = _episode(
        row,
        patient,
        "telecare",
        _coded(vocab.TELECARE_SERVICE_SYSTEM, kind, TELECARE_DISPLAY),
        row.get("org_id"),
    )
    return clean(data)


#: SQL of an episode's status (``$today``: the UTC date the builders use).
EPISODE_STATUS_SQL = (
    "CASE WHEN end_date IS NOT NULL AND end_date <= $today THEN 'finished' ELSE 'active' END"
)

ASSESSMENTS = Source(
    "social_care_assessments",
    "assessment_date",
    assessment,
    ("local_authority_id", "assessment_date", "assessment_type", "outcome"),
    local_code=(vocab.SOCIAL_CARE_ASSESSMENT_SYSTEM, "assessment_type"),
)
EPISODES: tuple[Source, ...] = (
    Source(
        "care_placements",
        "start_date",
        placement,
        (
            "local_authority_id",
            "care_home_id",
            "placement_type",
            "permanent",
            "start_date",
            "end_date",
            "weekly_cost",
        ),
        setting="care-placement",
        type_sql="placement_type",
    ),
    Source(
        "reablement_episodes",
        "start_date",
        reablement,
        ("local_authority_id", "spell_id", "start_date", "end_date", "at_home_91d"),
        setting="reablement",
    ),
    Source(
        "telecare_services",
        "start_date",
        telecare,
        ("start_date", "end_date", "service_type", "org_id"),
        setting="telecare",
        type_sql="service_type",
    ),
)
