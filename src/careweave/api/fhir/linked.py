"""The linked record from the warehouse as FHIR R4 (UK Core): Encounter, Condition,
Observation, MedicationRequest and AllergyIntolerance.

Each canonical table row becomes one resource whose id is the row's ``id`` and whose
fields are the inverse of what the FHIR importer reads (``careweave.importers.fhir``),
so an export re-imports with ``careweave import fhir`` to the same rows (docs/fhir.md,
"Round trip", says which fields FHIR cannot carry back). Code systems are the
importer's own table (``dataset.fhir_vocabulary.SYSTEMS``) read backwards.

The builders return plain dicts; the FHIR router validates each with its fhir.resources
R4B model before it is served (:func:`careweave.api.fhir.resources.validated`), and Bulk
export writes them as they are (validation is 600 us a resource; the tests validate
every line an export writes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from careweave.api.fhir.resources import UKCORE
from careweave.dataset import fhir_vocabulary as vocab

Row = dict[str, Any]
Resource = dict[str, Any]

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
ADMISSION_METHOD_EXT = vocab.UKCORE_EXTENSION + "AdmissionMethod"
ADMISSION_METHOD_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
CLINICAL = "http://terminology.hl7.org/CodeSystem/"
CAREWEAVE_CODES = "https://careweave.org/fhir/CodeSystem/"

PROFILES = {
    "Encounter": UKCORE + "UKCore-Encounter",
    "Condition": UKCORE + "UKCore-Condition",
    "Observation": UKCORE + "UKCore-Observation",
    "MedicationRequest": UKCORE + "UKCore-MedicationRequest",
    "AllergyIntolerance": UKCORE + "UKCore-AllergyIntolerance",
}

#: canonical code_system -> the FHIR system URI (the first the importer maps to it).
SYSTEM_URI: dict[str, str] = {}
for _uri, _system in vocab.SYSTEMS.items():
    SYSTEM_URI.setdefault(_system, _uri)

#: canonical discharge destination -> HL7 discharge-disposition (the importer's table
#: backwards; ``unknown`` has none).
DISPOSITION = {"home": "home", "care_home": "long", "other_hospital": "other-hcf"}
DISPOSITION |= {"died": "exp", "other": "oth"}
#: hospital_spells.admission_method -> NHS admission method (Data Dictionary) code; the
#: importer reads 2x as emergency and 3x as maternity.
ADMISSION_METHOD = {"elective": "11", "emergency": "21", "maternity": "31", "other": "81"}
#: A&E disposal -> discharge disposition the importer reads back (admitted is derived
#: from the spell that follows; the exact value is also in the ae-disposal extension).
AE_DISPOSITION = {"died": "exp", "referred": "other-hcf", "discharged": "home", "left": "oth"}
AE_DISPOSITION |= {"other": "oth"}


def coding(system: str | None, code: str, term: str | None) -> dict[str, Any]:
    """A CodeableConcept of one coding: canonical ``other`` codes carry no system."""
    c: dict[str, Any] = {"code": code}
    uri = SYSTEM_URI.get(system or "")
    if uri:
        c["system"] = uri
    if term:
        c["display"] = term
    out: dict[str, Any] = {"coding": [c]}
    if term:
        out["text"] = term
    return out


def _d(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value.isoformat()) if isinstance(value, dt.date) else str(value)


def _meta(kind: str) -> dict[str, Any]:
    return {"profile": [PROFILES[kind]]}


def _org(org_id: Any) -> dict[str, str] | None:
    return {"reference": f"Organization/{org_id}"} if org_id else None


def _clean(data: Resource) -> Resource:
    return {k: v for k, v in data.items() if v is not None and v != []}


# ---------------------------------------------------------------- Encounter


def _encounter(row: Row, patient: str, cls: str, status: str, start: Any, end: Any) -> Resource:
    period: dict[str, str] = {"start": _d(start) or ""}
    if end is not None:
        period["end"] = _d(end) or ""
    return {
        "resourceType": "Encounter",
        "id": row["id"],
        "meta": _meta("Encounter"),
        "status": status,
        "class": {"system": ACT_CODE, "code": cls},
        "subject": {"reference": f"Patient/{patient}"},
        "period": period,
        "serviceProvider": _org(row.get("provider_id")),
    }


def _detail(pairs: dict[str, Any]) -> dict[str, Any]:
    """The Careweave encounter-detail extension: canonical values FHIR has no field for."""
    return {
        "url": vocab.ENCOUNTER_DETAIL,
        "extension": [{"url": k, "valueCode": str(v)} for k, v in pairs.items() if v is not None],
    }


def spell(row: Row, patient: str) -> Resource:
    method = row.get("admission_method") or "other"
    data = _encounter(
        row,
        patient,
        "IMP",
        "finished" if row.get("discharge_date") else "in-progress",
        row["admission_date"],
        row.get("discharge_date"),
    )
    data["extension"] = [
        {
            "url": ADMISSION_METHOD_EXT,
            "valueCodeableConcept": {
                "coding": [{"system": ADMISSION_METHOD_SYSTEM, "code": ADMISSION_METHOD[method]}]
            },
        },
        _detail({"table": "hospital_spells", "admission_method": method}),
    ]
    if row.get("discharge_ready_date") is not None:
        data["extension"].append(
            {"url": vocab.DISCHARGE_READY_DATE, "valueDate": _d(row["discharge_ready_date"])}
        )
    if method == "emergency":
        data["priority"] = {"coding": [{"system": ACT_PRIORITY, "code": "EM"}]}
    if row.get("specialty"):
        data["serviceType"] = {"text": row["specialty"]}
    destination = DISPOSITION.get(row.get("discharge_destination") or "")
    if destination:
        data["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [{"system": DISCHARGE_DISPOSITION, "code": destination}]
            }
        }
    diagnoses = [row.get("primary_diagnosis"), *(row.get("secondary_diagnoses") or [])]
    data["reasonCode"] = [
        {"coding": [{"system": SYSTEM_URI["icd10"], "code": c}]} for c in diagnoses if c
    ]
    return _clean(data)


def ae(row: Row, patient: str) -> Resource:
    data = _encounter(row, patient, "EMER", "finished", row["attendance_date"], None)
    disposal = row.get("disposal")
    data["extension"] = [_detail({"table": "ae_attendances", "disposal": disposal})]
    code = AE_DISPOSITION.get(disposal or "")
    if code:
        data["hospitalization"] = {
            "dischargeDisposition": {"coding": [{"system": DISCHARGE_DISPOSITION, "code": code}]}
        }
    return _clean(data)


def outpatient(row: Row, patient: str) -> Resource:
    outcome = row.get("outcome")
    status = "cancelled" if outcome in ("cancelled", "did_not_attend") else "finished"
    data = _encounter(row, patient, "AMB", status, row["appointment_date"], None)
    data["extension"] = [_detail({"table": "outpatient_appointments", "outcome": outcome})]
    if row.get("specialty"):
        data["serviceType"] = {"text": row["specialty"]}
    return _clean(data)


def community(row: Row, patient: str) -> Resource:
    data = _encounter(row, patient, "HH", "finished", row["contact_date"], None)
    data["extension"] = [
        _detail(
            {"table": "community_contacts", "service": row.get("service"), "mode": row.get("mode")}
        )
    ]
    if row.get("service"):
        data["serviceType"] = {
            "coding": [{"system": CAREWEAVE_CODES + "community-service", "code": row["service"]}]
        }
    return _clean(data)


# ---------------------------------------------------------------- the others


def condition(row: Row, patient: str) -> Resource:
    resolved = row.get("resolved_date")
    status = "resolved" if resolved is not None else "active"
    return _clean(
        {
            "resourceType": "Condition",
            "id": row["id"],
            "meta": _meta("Condition"),
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
            "onsetDateTime": _d(row["event_date"]),
            "recordedDate": _d(row["event_date"]),
            "abatementDateTime": _d(resolved),
            # The recording organisation, where the importer reads it back.
            "asserter": _org(row.get("org_id")),
        }
    )


def observation(row: Row, patient: str) -> Resource:
    data: Resource = {
        "resourceType": "Observation",
        "id": row["id"],
        "meta": _meta("Observation"),
        "status": "final",
        "code": coding(row["code_system"], row["code"], row.get("term")),
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": _d(row["obs_date"]),
        "performer": [_org(row.get("org_id"))] if row.get("org_id") else None,
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
    return _clean(data)


def medication(row: Row, patient: str) -> Resource:
    data: Resource = {
        "resourceType": "MedicationRequest",
        "id": row["id"],
        "meta": _meta("MedicationRequest"),
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": coding(row["code_system"], row["code"], row.get("term")),
        "subject": {"reference": f"Patient/{patient}"},
        "authoredOn": _d(row["issue_date"]),
        "requester": _org(row.get("org_id")),
    }
    if row.get("quantity") is not None:
        data["dispenseRequest"] = {"quantity": {"value": float(row["quantity"])}}
    return _clean(data)


CRITICALITY = {v: k for k, v in vocab.ALLERGY_CRITICALITY.items()}


def allergy(row: Row, patient: str) -> Resource:
    category = row.get("category")
    return _clean(
        {
            "resourceType": "AllergyIntolerance",
            "id": row["id"],
            "meta": _meta("AllergyIntolerance"),
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
            "recordedDate": _d(row["recorded_date"]),
            # The recording organisation, where the importer reads it back.
            "recorder": _org(row.get("org_id")),
        }
    )


# ---------------------------------------------------------------- tables


@dataclass(frozen=True)
class Source:
    """One warehouse table served as a resource type."""

    table: str
    date: str  # the column the date search parameter and _since read
    build: Callable[[Row, str], Resource]
    columns: tuple[str, ...]


_CODED = ("code_system", "code", "term")
SOURCES: dict[str, tuple[Source, ...]] = {
    "Encounter": (
        Source(
            "hospital_spells",
            "admission_date",
            spell,
            (
                "provider_id",
                "admission_date",
                "discharge_date",
                "admission_method",
                "primary_diagnosis",
                "secondary_diagnoses",
                "specialty",
                "discharge_destination",
                "discharge_ready_date",
            ),
        ),
        Source(
            "ae_attendances", "attendance_date", ae, ("provider_id", "attendance_date", "disposal")
        ),
        Source(
            "outpatient_appointments",
            "appointment_date",
            outpatient,
            ("provider_id", "appointment_date", "specialty", "outcome"),
        ),
        Source(
            "community_contacts",
            "contact_date",
            community,
            ("provider_id", "contact_date", "service", "mode"),
        ),
    ),
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
}

#: resource type -> its search parameters (FHIR names) and their types.
_PERSON = {"patient": "reference"}
SEARCH: dict[str, dict[str, str]] = {
    "Encounter": {
        **_PERSON,
        "subject": "reference",
        "date": "date",
        "class": "token",
        "_id": "token",
    },
    "Condition": {
        **_PERSON,
        "subject": "reference",
        "onset-date": "date",
        "code": "token",
        "_id": "token",
    },
    "Observation": {
        **_PERSON,
        "subject": "reference",
        "date": "date",
        "code": "token",
        "_id": "token",
    },
    "MedicationRequest": {
        **_PERSON,
        "subject": "reference",
        "authoredon": "date",
        "code": "token",
        "_id": "token",
    },
    "AllergyIntolerance": {**_PERSON, "date": "date", "code": "token", "_id": "token"},
}
#: resource type -> its date search parameter.
DATE_PARAM = {
    "Encounter": "date",
    "Condition": "onset-date",
    "Observation": "date",
    "MedicationRequest": "authoredon",
    "AllergyIntolerance": "date",
}
#: Encounter class codes -> the tables they come from.
ENCOUNTER_CLASS = {
    "IMP": "hospital_spells",
    "EMER": "ae_attendances",
    "AMB": "outpatient_appointments",
    "HH": "community_contacts",
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
        data["meta"]["lastUpdated"] = loaded.strftime("%Y-%m-%dT%H:%M:%SZ")
    return data


def resource(src: Source, row: Row, patient: str | None = None) -> Resource:
    """The resource of one row, about ``patient`` (the NHS number, or a pseudonym)."""
    return with_meta(row, src.build(row, patient or str(row["nhs_number"])))
