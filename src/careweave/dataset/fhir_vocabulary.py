"""FHIR vocabulary shared by the FHIR importer (which reads it) and the FHIR API and Bulk
export (which write it): code-system URIs, identifier systems and the extensions, UK Core
and Careweave's own. One table both ways, so what Careweave exports it reads back.

Declarations only (the operational side may import the dataset's declarations).
"""

from __future__ import annotations

from careweave.dataset import vocabulary

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"

#: FHIR code-system URI -> canonical ``code_system``.
SYSTEMS: dict[str, str] = {
    "http://snomed.info/sct": "snomed",
    "https://snomed.info/sct": "snomed",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "http://hl7.org/fhir/sid/icd-10-uk": "icd10",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10",
    "https://fhir.hl7.org.uk/Id/icd-10": "icd10",
    "http://loinc.org": "loinc",
    "https://loinc.org": "loinc",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "https://dmd.nhs.uk": "dmd",
    "https://fhir.nhs.uk/Id/dmd-code": "dmd",
}

#: UK Core extensions read from a Patient (https://fhir.hl7.org.uk/StructureDefinition/...).
UKCORE_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-"
INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"

#: Careweave's own FHIR extensions (written by its FHIR API and Bulk export).
CAREWEAVE_EXTENSION = "https://careweave.org/fhir/StructureDefinition/"
#: The encounter-detail extension: canonical values FHIR has no field for, read back as
#: they are when they are values of the canonical vocabulary.
ENCOUNTER_DETAIL = CAREWEAVE_EXTENSION + "encounter-detail"
ENCOUNTER_DETAIL_VALUES: dict[str, tuple[str, ...]] = {
    "admission_method": vocabulary.ADMISSION_METHOD,
    "disposal": vocabulary.AE_DISPOSAL,
    "outcome": vocabulary.OUTPATIENT_OUTCOME,
    "service": vocabulary.COMMUNITY_SERVICE,
    "mode": vocabulary.CONTACT_MODE,
    "staff_role": vocabulary.PRIMARY_CARE_ROLE,
    "mental_health_service": vocabulary.MENTAL_HEALTH_SERVICE,
    "social_care_service": vocabulary.SOCIAL_CARE_SERVICE,
    # The canonical table the encounter is a row of: the importer writes it back there.
    "table": (
        "hospital_spells",
        "ae_attendances",
        "outpatient_appointments",
        "community_contacts",
        "mental_health_contacts",
        "primary_care_contacts",
        "social_care_services",
    ),
}
#: Numeric encounter-detail values (``valueDecimal``, not negative): a social-care
#: service's planned hours and cost a week.
ENCOUNTER_DETAIL_DECIMALS = ("weekly_hours", "weekly_cost")
DISCHARGE_READY_DATE = CAREWEAVE_EXTENSION + "discharge-ready-date"
#: The person-detail extension on a Patient: ``small-area`` (valueString),
#: ``deprivation-decile`` (valueInteger 1-10), ``local-authority`` (valueReference to the
#: Organization) and ``care-home-resident`` (valueBoolean).
PERSON_DETAIL = CAREWEAVE_EXTENSION + "person-detail"

#: Allergy categories kept as sent (FHIR AllergyIntolerance.category, Synthea CATEGORY);
#: anything else is ``other``.
ALLERGY_CATEGORIES = ("food", "medication", "environment", "biologic")

#: AllergyIntolerance.criticality -> allergies.criticality.
ALLERGY_CRITICALITY = {"low": "low", "high": "high", "unable-to-assess": "unable_to_assess"}
