"""Encounters of every setting from the warehouse (UKCore-Encounter): hospital spells,
A&E attendances, outpatient appointments, community, mental-health and primary-care
contacts, and local-authority social-care services.

Per setting:

- ``class`` (v3 ActCode): a spell ``IMP``, A&E ``EMER``, an outpatient appointment
  ``AMB``; a contact (community, mental health, primary care) by its mode: face to face
  ``AMB``, a home visit ``HH``, telephone or video ``VR`` (a mental-health inpatient
  service's contact ``IMP``); a social-care service ``HH`` (day care ``AMB``);
- ``type``: the setting, code system ``https://careweave.org/fhir/CodeSystem/encounter-setting``
  (``hospital-spell``, ``ae-attendance``, ``outpatient``, ``community``,
  ``mental-health``, ``primary-care``, ``social-care``): what ``type=`` searches;
- ``serviceType``: the specialty (spells, outpatients), or the service coded in a
  Careweave code system (``community-service``, ``mental-health-service``,
  ``social-care-service``); a primary-care contact's staff role is
  ``participant[0].type`` (``primary-care-role``);
- ``serviceProvider``: the provider, the practice, or (social care) the commissioning
  local authority.

**Social-care services (packages) are Encounters.** A home-care package is delivered as
visits and was served as an Encounter before the social-care episodes were: it keeps its
period (``start`` to ``end``, ``in-progress`` while it continues), its local authority as
``serviceProvider`` and is found with the person's other contacts (``type=social-care``).
Placements, reablement and telecare services are EpisodeOfCare (``linked_social``).

Values FHIR has no field for travel in the Careweave ``encounter-detail`` extension
(the source ``table`` always; ``mode``, ``service``, ``staff_role``,
``mental_health_service``, ``social_care_service`` as codes, ``weekly_hours`` and
``weekly_cost`` as decimals), which ``careweave import fhir`` reads back.
"""

from __future__ import annotations

from typing import Any

from careweave.api.fhir.linked_fields import (
    ACT_CODE,
    ACT_PRIORITY,
    CAREWEAVE_CODES,
    DISCHARGE_DISPOSITION,
    SYSTEM_URI,
    Resource,
    Row,
    Source,
    clean,
    day,
    local_code,
    meta,
    org,
)
from careweave.dataset import fhir_vocabulary as vocab

ADMISSION_METHOD_EXT = vocab.UKCORE_EXTENSION + "AdmissionMethod"
ADMISSION_METHOD_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
SETTING_SYSTEM = CAREWEAVE_CODES + "encounter-setting"

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
#: a contact's mode -> its Encounter class.
MODE_CLASS = {"face_to_face": "AMB", "home_visit": "HH", "telephone": "VR", "video": "VR"}
MODE_DEFAULT = "AMB"


def _case(column: str, mapping: dict[str, str], default: str) -> str:
    """SQL of ``mapping[column]`` (``default`` otherwise): the class a row's builder gives."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"CASE {column} {whens} ELSE '{default}' END"


MODE_CLASS_SQL = _case("mode", MODE_CLASS, MODE_DEFAULT)


def _encounter(
    row: Row, patient: str, setting: str, cls: str, status: str, start: Any, end: Any
) -> Resource:
    period: dict[str, str] = {"start": day(start) or ""}
    if end is not None:
        period["end"] = day(end) or ""
    return {
        "resourceType": "Encounter",
        "id": row["id"],
        "meta": meta("Encounter"),
        "status": status,
        "class": {"system": ACT_CODE, "code": cls},
        "type": [{"coding": [{"system": SETTING_SYSTEM, "code": setting}]}],
        "subject": {"reference": f"Patient/{patient}"},
        "period": period,
        "serviceProvider": org(row.get("provider_id")),
    }


def _detail(pairs: dict[str, Any], decimals: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Careweave encounter-detail extension: canonical values FHIR has no field for."""
    out: list[dict[str, Any]] = [
        {"url": k, "valueCode": str(v)} for k, v in pairs.items() if v is not None
    ]
    out += [
        {"url": k, "valueDecimal": float(v)} for k, v in (decimals or {}).items() if v is not None
    ]
    return {"url": vocab.ENCOUNTER_DETAIL, "extension": out}


def spell(row: Row, patient: str) -> Resource:
    method = row.get("admission_method") or "other"
    data = _encounter(
        row,
        patient,
        "hospital-spell",
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
            {"url": vocab.DISCHARGE_READY_DATE, "valueDate": day(row["discharge_ready_date"])}
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
    return clean(data)


def ae(row: Row, patient: str) -> Resource:
    data = _encounter(
        row, patient, "ae-attendance", "EMER", "finished", row["attendance_date"], None
    )
    disposal = row.get("disposal")
    data["extension"] = [_detail({"table": "ae_attendances", "disposal": disposal})]
    code = AE_DISPOSITION.get(disposal or "")
    if code:
        data["hospitalization"] = {
            "dischargeDisposition": {"coding": [{"system": DISCHARGE_DISPOSITION, "code": code}]}
        }
    return clean(data)


def outpatient(row: Row, patient: str) -> Resource:
    outcome = row.get("outcome")
    status = "cancelled" if outcome in ("cancelled", "did_not_attend") else "finished"
    data = _encounter(row, patient, "outpatient", "AMB", status, row["appointment_date"], None)
    data["extension"] = [_detail({"table": "outpatient_appointments", "outcome": outcome})]
    if row.get("specialty"):
        data["serviceType"] = {"text": row["specialty"]}
    return clean(data)


def _contact(row: Row, patient: str, setting: str, cls: str | None = None) -> Resource:
    mode = row.get("mode")
    cls = cls or MODE_CLASS.get(mode or "", MODE_DEFAULT)
    return _encounter(row, patient, setting, cls, "finished", row["contact_date"], None)


def community(row: Row, patient: str) -> Resource:
    data = _contact(row, patient, "community")
    data["extension"] = [
        _detail(
            {"table": "community_contacts", "service": row.get("service"), "mode": row.get("mode")}
        )
    ]
    if row.get("service"):
        data["serviceType"] = local_code("community-service", row["service"])
    return clean(data)


def mental_health(row: Row, patient: str) -> Resource:
    service = row.get("service")
    data = _contact(row, patient, "mental-health", "IMP" if service == "inpatient" else None)
    data["extension"] = [
        _detail(
            {
                "table": "mental_health_contacts",
                "mental_health_service": service,
                "mode": row.get("mode"),
            }
        )
    ]
    if service:
        data["serviceType"] = local_code("mental-health-service", service)
    return clean(data)


def primary_care(row: Row, patient: str) -> Resource:
    data = _contact(row | {"provider_id": row.get("org_id")}, patient, "primary-care")
    role = row.get("staff_role")
    data["extension"] = [
        _detail({"table": "primary_care_contacts", "staff_role": role, "mode": row.get("mode")})
    ]
    if role:
        data["participant"] = [{"type": [local_code("primary-care-role", role)]}]
    return clean(data)


SOCIAL_CARE_CLASS = {"day_care": "AMB"}


def social_care(row: Row, patient: str) -> Resource:
    service = row.get("service_type")
    data = _encounter(
        row | {"provider_id": row.get("local_authority_id")},
        patient,
        "social-care",
        SOCIAL_CARE_CLASS.get(service or "", "HH"),
        "finished" if row.get("end_date") is not None else "in-progress",
        row["start_date"],
        row.get("end_date"),
    )
    data["extension"] = [
        _detail(
            {"table": "social_care_services", "social_care_service": service},
            {"weekly_hours": row.get("weekly_hours"), "weekly_cost": row.get("weekly_cost")},
        )
    ]
    if service:
        data["serviceType"] = local_code("social-care-service", service)
    return clean(data)


SOURCES: tuple[Source, ...] = (
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
        class_sql="'IMP'",
        setting="hospital-spell",
    ),
    Source(
        "ae_attendances",
        "attendance_date",
        ae,
        ("provider_id", "attendance_date", "disposal"),
        class_sql="'EMER'",
        setting="ae-attendance",
    ),
    Source(
        "outpatient_appointments",
        "appointment_date",
        outpatient,
        ("provider_id", "appointment_date", "specialty", "outcome"),
        class_sql="'AMB'",
        setting="outpatient",
    ),
    Source(
        "community_contacts",
        "contact_date",
        community,
        ("provider_id", "contact_date", "service", "mode"),
        class_sql=MODE_CLASS_SQL,
        setting="community",
    ),
    Source(
        "mental_health_contacts",
        "contact_date",
        mental_health,
        ("provider_id", "contact_date", "service", "mode"),
        class_sql=f"CASE WHEN service = 'inpatient' THEN 'IMP' ELSE {MODE_CLASS_SQL} END",
        setting="mental-health",
    ),
    Source(
        "primary_care_contacts",
        "contact_date",
        primary_care,
        ("org_id", "contact_date", "staff_role", "mode"),
        class_sql=MODE_CLASS_SQL,
        setting="primary-care",
    ),
    Source(
        "social_care_services",
        "start_date",
        social_care,
        (
            "local_authority_id",
            "service_type",
            "start_date",
            "end_date",
            "weekly_hours",
            "weekly_cost",
        ),
        class_sql=_case("service_type", SOCIAL_CARE_CLASS, "HH"),
        setting="social-care",
    ),
)
