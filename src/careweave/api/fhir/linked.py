"""The linked record from the warehouse as FHIR R4 (UK Core): Encounter (every setting:
``linked_encounters``), Condition, Observation (GP observations, telehealth readings and
social-care assessments), MedicationRequest, AllergyIntolerance and EpisodeOfCare
(care-home placements, reablement and telecare: ``linked_social``).

Each canonical table row becomes one resource whose id is the row's ``id`` and whose
fields are the inverse of what the FHIR importer reads (``careweave.importers.fhir``),
so an export re-imports with ``careweave import fhir`` to the same rows (docs/fhir.md,
"Round trip", says which fields FHIR cannot carry back). Code systems are the
importer's own table (``dataset.fhir_vocabulary.SYSTEMS``) read backwards.

The builders return plain dicts; the FHIR router serves them through
:func:`careweave.api.fhir.resources.validated` (checked by their fhir.resources R4B model
when ``VALIDATE_OUTPUT`` is on, as in every test), and Bulk export writes them as they
are (the tests validate every line an export writes).
"""

from __future__ import annotations

from typing import Any

from careweave.api.fhir import linked_encounters, linked_social
from careweave.api.fhir.linked_fields import (
    CLINICAL,
    PROFILES,
    Resource,
    Row,
    Source,
    clean,
    coding,
    day,
    local_code,
    meta,
    org,
    utc_instant,
)
from careweave.dataset import fhir_vocabulary as vocab

__all__ = ["PROFILES", "SOURCES", "Source", "resource", "select_sql", "sources"]


# ---------------------------------------------------------------- the others


def condition(row: Row, patient: str) -> Resource:
    resolved = row.get("resolved_date")
    status = "resolved" if resolved is not None else "active"
    return clean(
        {
            "resourceType": "Condition",
            "id": row["id"],
            "meta": meta("Condition"),
            "clinicalStatus": {
                "coding": [{"system": CLINICAL + "condition-clinical", "code": status}]
            },
            "verificationStatus": {
                "coding": [{"system": CLINICAL + "condition-ver-status", "code": "confirmed"}]
            },
            "category": [
                {
                    "coding": [
                        {"system": CLINICAL + "condition-category", "code": "problem-list-item"}
                    ]
                }
            ],
            "code": coding(row["code_system"], row["code"], row.get("term")),
            "subject": {"reference": f"Patient/{patient}"},
            "onsetDateTime": day(row["event_date"]),
            "recordedDate": day(row["event_date"]),
            "abatementDateTime": day(resolved),
            # The recording organisation, where the importer reads it back.
            "asserter": org(row.get("org_id")),
        }
    )


def observation(row: Row, patient: str) -> Resource:
    data: Resource = {
        "resourceType": "Observation",
        "id": row["id"],
        "meta": meta("Observation"),
        "status": "final",
        "code": coding(row["code_system"], row["code"], row.get("term")),
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": day(row["obs_date"]),
        "performer": [org(row.get("org_id"))] if row.get("org_id") else None,
    }
    value = row.get("value")
    if value is not None:
        q: dict[str, Any] = {"value": float(value)}
        if row.get("unit"):
            q |= {"unit": row["unit"], "system": "http://unitsofmeasure.org", "code": row["unit"]}
        data["valueQuantity"] = q
    else:
        data["dataAbsentReason"] = {
            "coding": [{"system": CLINICAL + "data-absent-reason", "code": "unknown"}]
        }
    return clean(data)


#: telehealth measure -> (LOINC code, display): the codes the importer reads back
#: (``importers.vocab.MEASURES``) and telehealth creates accept (``writes.py``).
TELEHEALTH_LOINC = {
    "blood_glucose": ("15074-8", "Glucose [Moles/volume] in Blood"),
    "systolic_bp": ("8480-6", "Systolic blood pressure"),
    "diastolic_bp": ("8462-4", "Diastolic blood pressure"),
    "weight": ("29463-7", "Body weight"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    "heart_rate": ("8867-4", "Heart rate"),
    "temperature": ("8310-5", "Body temperature"),
}
VITAL_SIGNS = {
    "coding": [
        {
            "system": CLINICAL + "observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}


def telehealth(row: Row, patient: str) -> Resource:
    """A reading from a home monitoring device: category vital-signs, the measure's LOINC
    code (a measure with none: ``.../CodeSystem/telehealth-measure``), the device as
    ``device.display``, the instant it was taken (UTC)."""
    measure = str(row["measure"])
    loinc = TELEHEALTH_LOINC.get(measure)
    code = (
        {"coding": [{"system": "http://loinc.org", "code": loinc[0], "display": loinc[1]}]}
        if loinc
        else local_code("telehealth-measure", measure)
    )
    data: Resource = {
        "resourceType": "Observation",
        "id": row["id"],
        "meta": meta("Observation"),
        "status": "final",
        "category": [VITAL_SIGNS],
        "code": code,
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": utc_instant(row["recorded_at"]),
        "device": {"display": row.get("device") or "other"},
    }
    if row.get("value") is not None:
        unit = row.get("unit")
        q: dict[str, Any] = {"value": float(row["value"])}
        if unit:
            q |= {"unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
        data["valueQuantity"] = q
    return data


def medication(row: Row, patient: str) -> Resource:
    data: Resource = {
        "resourceType": "MedicationRequest",
        "id": row["id"],
        "meta": meta("MedicationRequest"),
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": coding(row["code_system"], row["code"], row.get("term")),
        "subject": {"reference": f"Patient/{patient}"},
        "authoredOn": day(row["issue_date"]),
        "requester": org(row.get("org_id")),
    }
    if row.get("quantity") is not None:
        data["dispenseRequest"] = {"quantity": {"value": float(row["quantity"])}}
    return clean(data)


CRITICALITY = {v: k for k, v in vocab.ALLERGY_CRITICALITY.items()}


def allergy(row: Row, patient: str) -> Resource:
    category = row.get("category")
    return clean(
        {
            "resourceType": "AllergyIntolerance",
            "id": row["id"],
            "meta": meta("AllergyIntolerance"),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": CLINICAL + "allergyintolerance-clinical",
                        "code": row.get("status") or "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {"system": CLINICAL + "allergyintolerance-verification", "code": "confirmed"}
                ]
            },
            "category": [category] if category in vocab.ALLERGY_CATEGORIES else None,
            "criticality": CRITICALITY.get(row.get("criticality") or ""),
            "code": coding(row["code_system"], row["code"], row.get("term")),
            "patient": {"reference": f"Patient/{patient}"},
            "recordedDate": day(row["recorded_date"]),
            # The recording organisation, where the importer reads it back.
            "recorder": org(row.get("org_id")),
        }
    )


# ---------------------------------------------------------------- tables


_CODED = ("code_system", "code", "term")
SOURCES: dict[str, tuple[Source, ...]] = {
    "Encounter": linked_encounters.SOURCES,
    "Condition": (
        Source(
            "primary_care_events",
            "event_date",
            condition,
            ("event_date", *_CODED, "resolved_date", "org_id"),
        ),
    ),
    "Observation": (
        Source(
            "observations",
            "obs_date",
            observation,
            ("obs_date", *_CODED, "measure", "value", "unit", "org_id"),
        ),
        Source(
            "telehealth_readings",
            "recorded_at",
            telehealth,
            ("device", "measure", "value", "unit", "recorded_at"),
            measure_codes={code: m for m, (code, _) in TELEHEALTH_LOINC.items()},
        ),
        linked_social.ASSESSMENTS,
    ),
    "MedicationRequest": (
        Source(
            "medications", "issue_date", medication, ("issue_date", *_CODED, "quantity", "org_id")
        ),
    ),
    "AllergyIntolerance": (
        Source(
            "allergies",
            "recorded_date",
            allergy,
            ("recorded_date", *_CODED, "category", "criticality", "status", "org_id"),
        ),
    ),
    # Served on /fhir/EpisodeOfCare beside the store's case-management register (episodes.py).
    "EpisodeOfCare": linked_social.EPISODES,
}

#: resource type -> its search parameters (FHIR names) and their types. ``_lastUpdated``
#: is when the row's load batch was loaded (its ``meta.lastUpdated``).
_PERSON = {"patient": "reference", "subject": "reference"}
_COMMON = {"_id": "token", "_lastUpdated": "date"}
SEARCH: dict[str, dict[str, str]] = {
    "Encounter": {**_PERSON, "date": "date", "class": "token", "type": "token", **_COMMON},
    "Condition": {**_PERSON, "onset-date": "date", "code": "token", **_COMMON},
    "Observation": {**_PERSON, "date": "date", "code": "token", "category": "token", **_COMMON},
    "MedicationRequest": {**_PERSON, "authoredon": "date", "code": "token", **_COMMON},
    "AllergyIntolerance": {"patient": "reference", "date": "date", "code": "token", **_COMMON},
    "EpisodeOfCare": {**_PERSON, "date": "date", "type": "token", "status": "token", **_COMMON},
}
#: resource type -> its date search parameter.
DATE_PARAM = {
    "Encounter": "date",
    "Condition": "onset-date",
    "Observation": "date",
    "MedicationRequest": "authoredon",
    "AllergyIntolerance": "date",
    "EpisodeOfCare": "date",
}
#: Observation category -> the tables whose rows carry it (GP observations carry none).
OBSERVATION_CATEGORY = {
    "vital-signs": "telehealth_readings",
    linked_social.ASSESSMENT_CATEGORY: "social_care_assessments",
}


def sources(kind: str, have: set[str]) -> tuple[Source, ...]:
    """The tables of ``kind`` the warehouse has."""
    return tuple(s for s in SOURCES[kind] if s.table in have)


def select_sql(src: Source) -> str:
    """Columns (id, nhs_number, the source's, then ``_loaded``: when the row's load batch
    was loaded, its ``meta.lastUpdated``) of ``src.table``."""
    cols = ", ".join(f"t.{c}" for c in src.columns)
    return (
        f"SELECT t.id, t.nhs_number, {cols}, b.loaded_at AS _loaded FROM {src.table} t "
        "LEFT JOIN _load_batches b ON b.batch_id = t._batch_id"
    )


def with_meta(row: Row, data: Resource) -> Resource:
    """``data`` with ``meta.lastUpdated`` from the row's load batch (UTC)."""
    loaded = row.get("_loaded")
    if loaded is not None:
        data["meta"]["lastUpdated"] = utc_instant(loaded)
    return data


def resource(src: Source, row: Row, patient: str | None = None) -> Resource:
    """The resource of one row, about ``patient`` (the NHS number, or a pseudonym)."""
    return with_meta(row, src.build(row, patient or str(row["nhs_number"])))
