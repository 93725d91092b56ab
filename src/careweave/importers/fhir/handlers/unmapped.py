"""Resource types with no home in the canonical dataset: kept raw with the reason why.

The canonical dataset is the linked record for analytics; these resources are
operational (the care store has its own alerts, referrals, appointments and
assessments), so the import keeps them whole in ``raw_resources`` and the
report counts them per type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from careweave.importers.fhir.fields import Resource, Skip

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper

#: resource type -> why it is kept raw.
NO_HOME: dict[str, str] = {
    "Flag": "no canonical table for alerts (Flag is operational: the care store's alerts)",
    "ServiceRequest": "no canonical table for referrals (operational: the care store)",
    "Appointment": "no canonical table for appointments (the Encounter that follows is mapped)",
    "QuestionnaireResponse": "no canonical table for questionnaire answers (assessments)",
    "MedicationAdministration": "an administration (on a ward), not an issue: medications "
    "holds issues",
    "Task": "no canonical table for tasks (operational: the care store)",
    "Communication": "no canonical table for messages (operational: the care store)",
    "CommunicationRequest": "no canonical table for message requests (operational)",
    "HealthcareService": "no canonical table for the service directory (the care store's)",
    "RiskAssessment": "a score derived from the record: careweave stratify computes its own",
}


def no_home(m: FhirMapper, res: Resource, key: str) -> None:
    raise Skip(NO_HOME[str(res.get("resourceType"))], None)
