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

#: Careweave's own code systems (``https://careweave.org/fhir/CodeSystem/<name>``).
CAREWEAVE_CODE_SYSTEM = "https://careweave.org/fhir/CodeSystem/"
#: Local-authority social care (docs/fhir.md, "Social care"): an assessment is an
#: Observation coded in ``social-care-assessment`` with its outcome as a
#: ``social-care-outcome`` value; a placement, a reablement episode and a telecare service
#: are EpisodeOfCare whose ``type`` has an ``episode-type`` code naming the canonical table
#: (the case-management register's episodes are ``case-management``), and a second coding of
#: its kind (``placement-type``, ``telecare-service``).
SOCIAL_CARE_ASSESSMENT_SYSTEM = CAREWEAVE_CODE_SYSTEM + "social-care-assessment"
SOCIAL_CARE_OUTCOME_SYSTEM = CAREWEAVE_CODE_SYSTEM + "social-care-outcome"
EPISODE_TYPE_SYSTEM = CAREWEAVE_CODE_SYSTEM + "episode-type"
PLACEMENT_TYPE_SYSTEM = CAREWEAVE_CODE_SYSTEM + "placement-type"
TELECARE_SERVICE_SYSTEM = CAREWEAVE_CODE_SYSTEM + "telecare-service"
#: episode-type code -> the canonical table its EpisodeOfCare are rows of.
SOCIAL_EPISODES = {
    "care-placement": "care_placements",
    "reablement": "reablement_episodes",
    "telecare": "telecare_services",
}
#: The episode-detail extension on those EpisodeOfCare: canonical values FHIR has no field
#: for: ``local_authority`` (valueReference, the commissioning local authority of a
#: placement), ``permanent`` and ``at_home_91d`` (valueBoolean), ``weekly_cost``
#: (valueDecimal) and ``spell_id`` (valueReference to the hospital spell's Encounter).
EPISODE_DETAIL = CAREWEAVE_EXTENSION + "episode-detail"
