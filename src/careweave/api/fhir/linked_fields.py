"""Field builders shared by the linked record's resources (``linked``,
``linked_encounters``): codings, dates, references, profiles and the code systems."""

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
CLINICAL = "http://terminology.hl7.org/CodeSystem/"
CAREWEAVE_CODES = "https://careweave.org/fhir/CodeSystem/"

PROFILES = {
    "Encounter": UKCORE + "UKCore-Encounter",
    "Condition": UKCORE + "UKCore-Condition",
    "Observation": UKCORE + "UKCore-Observation",
    "MedicationRequest": UKCORE + "UKCore-MedicationRequest",
    "AllergyIntolerance": UKCORE + "UKCore-AllergyIntolerance",
    "EpisodeOfCare": UKCORE + "UKCore-EpisodeOfCare",
}

#: canonical code_system -> the FHIR system URI (the first the importer maps to it).
SYSTEM_URI: dict[str, str] = {}
for _uri, _system in vocab.SYSTEMS.items():
    SYSTEM_URI.setdefault(_system, _uri)


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


def local_code(system: str, code: str) -> dict[str, Any]:
    """A CodeableConcept of one coding in a Careweave code system (``.../CodeSystem/<system>``)."""
    return {"coding": [{"system": CAREWEAVE_CODES + system, "code": code}]}


def day(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value.isoformat()) if isinstance(value, dt.date) else str(value)


def utc_instant(value: dt.datetime) -> str:
    """A warehouse timestamp (naive UTC, by the dataset's convention) as a FHIR instant."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(kind: str) -> dict[str, Any]:
    return {"profile": [PROFILES[kind]]}


def org(org_id: Any) -> dict[str, str] | None:
    return {"reference": f"Organization/{org_id}"} if org_id else None


def clean(data: Resource) -> Resource:
    return {k: v for k, v in data.items() if v is not None and v != []}


@dataclass(frozen=True)
class Source:
    """One warehouse table served as a resource type."""

    table: str
    date: str  # the column the date search parameter and _since read
    build: Callable[[Row, str], Resource]
    columns: tuple[str, ...]
    #: Encounter: SQL of the row's ``class`` code (what ``class=`` searches), and the
    #: setting (``type``, code system ``.../encounter-setting``); EpisodeOfCare: the
    #: episode type (``type``, ``.../episode-type``).
    class_sql: str = ""
    setting: str = ""
    #: the table holds no code, only a measure: code (LOINC) -> measure, what ``code=``
    #: searches (telehealth readings).
    measure_codes: dict[str, str] | None = None
    #: the table's code is a Careweave code: (its system URI, the column holding it), what
    #: ``code=`` searches (social-care assessments).
    local_code: tuple[str, str] | None = None
    #: EpisodeOfCare: SQL of the row's second ``type`` code (a placement's type, a telecare
    #: service's kind), which ``type=`` also matches beside ``setting`` (the episode type).
    type_sql: str = ""
