"""The FHIR resource handlers, one small function per resource type.

Each handler takes the mapper, the resource (a plain dict) and its key, and
adds staging rows or raises :class:`~careweave.importers.fhir.fields.Skip` to
keep the resource raw with a reason. :data:`HANDLERS` is the dispatch table:
a resource type not listed is kept raw as "resource type not mapped".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from careweave.importers.fhir.handlers import (
    activity,
    care,
    costs,
    journey,
    observations,
    people,
    reports,
    unmapped,
)

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper

Handler = Callable[["FhirMapper", dict[str, Any], str], None]

#: resource type -> its handler.
HANDLERS: dict[str, Handler] = {
    "Patient": people.patient,
    "Organization": people.organization,
    "Practitioner": people.practitioner,
    "PractitionerRole": people.practitioner_role,
    "Encounter": activity.encounter,
    "Condition": activity.condition,
    "Observation": observations.observation,
    "MedicationRequest": care.medication,
    "MedicationStatement": care.medication,
    "MedicationDispense": care.medication,
    "Medication": care.medication_definition,
    "CarePlan": care.care_plan,
    "CareTeam": care.care_team,
    "Procedure": activity.procedure,
    "Claim": costs.claim,
    "ExplanationOfBenefit": costs.claim,
    "Immunization": activity.immunization,
    "AllergyIntolerance": journey.allergy,
    "RelatedPerson": journey.related_person,
    "EpisodeOfCare": journey.episode_of_care,
    "DiagnosticReport": reports.diagnostic_report,
    **dict.fromkeys(unmapped.NO_HOME, unmapped.no_home),
}
