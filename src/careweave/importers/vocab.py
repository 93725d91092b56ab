"""Vocabulary the importers map: code-system URIs, measures, sex, ethnicity, classes.

Everything here is a plain lookup table so that docs/import-mapping.md can be
checked against it by reading; nothing here depends on a particular source file.
"""

from __future__ import annotations

from functools import lru_cache

from careweave.dataset import codes, vocabulary
from careweave.dataset import fhir_vocabulary as _fhir

# The FHIR vocabulary shared with the FHIR API (careweave.dataset.fhir_vocabulary: code
# systems, identifier systems, extensions), under the importer's names.
NHS_NUMBER_SYSTEM = _fhir.NHS_NUMBER_SYSTEM
SYSTEMS = _fhir.SYSTEMS
UKCORE_EXTENSION = _fhir.UKCORE_EXTENSION
INTERPRETER_REQUIRED = _fhir.INTERPRETER_REQUIRED
CAREWEAVE_EXTENSION = _fhir.CAREWEAVE_EXTENSION
ENCOUNTER_DETAIL = _fhir.ENCOUNTER_DETAIL
ENCOUNTER_DETAIL_VALUES = _fhir.ENCOUNTER_DETAIL_VALUES
ENCOUNTER_DETAIL_DECIMALS = _fhir.ENCOUNTER_DETAIL_DECIMALS
DISCHARGE_READY_DATE = _fhir.DISCHARGE_READY_DATE
PERSON_DETAIL = _fhir.PERSON_DETAIL
ALLERGY_CATEGORIES = _fhir.ALLERGY_CATEGORIES
ALLERGY_CRITICALITY = _fhir.ALLERGY_CRITICALITY

#: Order in which codings are preferred when a concept carries several.
SYSTEM_PREFERENCE = ("snomed", "dmd", "icd10", "loinc", "rxnorm")

#: LOINC (and a few SNOMED CT) observable codes -> canonical measure names.
MEASURES: dict[str, str] = {
    "8480-6": "systolic_bp",
    "8462-4": "diastolic_bp",
    "85354-9": "blood_pressure",
    "55284-4": "blood_pressure",
    "4548-4": "hba1c",
    "17856-6": "hba1c",
    "59261-8": "hba1c",
    "39156-5": "bmi",
    "33914-3": "egfr",
    "62238-1": "egfr",
    "48642-3": "egfr",
    "48643-1": "egfr",
    "69405-9": "egfr",
    "98979-8": "egfr",
    "29463-7": "weight",
    "3141-9": "weight",
    "8302-2": "height",
    "8867-4": "heart_rate",
    "9279-1": "respiratory_rate",
    "2708-6": "spo2",
    "59408-5": "spo2",
    "8310-5": "temperature",
    "8331-1": "temperature",
    "2339-0": "blood_glucose",
    "2345-7": "blood_glucose",
    "15074-8": "blood_glucose",
    "2093-3": "total_cholesterol",
    "2085-9": "hdl_cholesterol",
    "18262-6": "ldl_cholesterol",
    "13457-7": "ldl_cholesterol",
    "2089-1": "ldl_cholesterol",
    "2571-8": "triglycerides",
    "2160-0": "creatinine",
    "38483-4": "creatinine",
    "72514-3": "pain_score",
    "72166-2": "smoking_status",
    # SNOMED CT observables sent by UK systems.
    "271649006": "systolic_bp",
    "72313002": "systolic_bp",
    "271650006": "diastolic_bp",
    "1091811000000102": "diastolic_bp",
    "999791000000106": "hba1c",
    "60621009": "bmi",
    "27113001": "weight",
    "50373000": "height",
    "364075005": "heart_rate",
    "431314004": "spo2",
    "276885007": "temperature",
    "1011481000000105": "egfr",
}

#: Canonical measure -> (telehealth measure, device) for readings from home devices.
TELEHEALTH: dict[str, tuple[str, str]] = {
    "blood_glucose": ("blood_glucose", "glucometer"),
    "systolic_bp": ("systolic_bp", "blood_pressure_monitor"),
    "diastolic_bp": ("diastolic_bp", "blood_pressure_monitor"),
    "weight": ("weight", "weighing_scale"),
    "spo2": ("spo2", "pulse_oximeter"),
    "heart_rate": ("heart_rate", "pulse_oximeter"),
    "temperature": ("temperature", "thermometer"),
}

#: FHIR administrative gender / Synthea GENDER -> canonical sex.
SEX: dict[str, str] = {
    "female": "female",
    "male": "male",
    "other": "other",
    "unknown": "unknown",
    "f": "female",
    "m": "male",
}

#: NHS Data Dictionary ethnic category letter -> broad group.
NHS_ETHNIC_LETTER: dict[str, str] = {
    **dict.fromkeys("ABCT", "white"),
    **dict.fromkeys("DEFG", "mixed"),
    **dict.fromkeys("HJKLR", "asian"),
    **dict.fromkeys("MNP", "black"),
    **dict.fromkeys("SW", "other"),
    "Z": "unknown",
    "99": "unknown",
}

#: US Core / CDC race categories (OMB codes and Synthea RACE words) -> broad group.
US_RACE: dict[str, str] = {
    "2106-3": "white",
    "white": "white",
    "2054-5": "black",
    "black": "black",
    "2028-9": "asian",
    "asian": "asian",
    "1002-5": "other",  # American Indian or Alaska Native
    "native": "other",
    "2076-8": "other",  # Native Hawaiian or Other Pacific Islander
    "hawaiian": "other",
    "2131-1": "other",  # Other Race
    "other": "other",
}

US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
UK_ETHNIC_EXTENSIONS = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-EthnicCategory-1",
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-EthnicCategory-1",
)

#: FHIR v3 ActCode encounter class -> Careweave encounter kind.
ENCOUNTER_CLASS: dict[str, str] = {
    "EMER": "emergency",
    "IMP": "inpatient",
    "ACUTE": "inpatient",
    "NONAC": "inpatient",
    "SS": "inpatient",
    "OBSENC": "inpatient",
    "AMB": "ambulatory",
    "HH": "home",
    "VR": "virtual",
    # Names some servers send instead of codes.
    "emergency": "emergency",
    "inpatient": "inpatient",
    "ambulatory": "ambulatory",
    "outpatient": "outpatient",
    "home": "home",
    "virtual": "virtual",
}

#: Synthea CSV ENCOUNTERCLASS -> Careweave encounter kind.
SYNTHEA_CLASS: dict[str, str] = {
    "emergency": "emergency",
    "urgentcare": "urgent",
    "inpatient": "inpatient",
    "snf": "snf",
    "ambulatory": "ambulatory",
    "wellness": "ambulatory",
    "outpatient": "outpatient",
    "home": "home",
    "hospice": "hospice",
    "virtual": "virtual",
}

#: HL7 discharge-disposition codes -> canonical discharge destination.
DISCHARGE: dict[str, str] = {
    "home": "home",
    "alt-home": "home",
    "other-hcf": "other_hospital",
    "hosp": "other_hospital",
    "long": "care_home",
    "snf": "care_home",
    "rehab": "other",
    "psy": "other_hospital",
    "exp": "died",
    "aadvice": "other",
    "oth": "other",
}

#: Organization.type codes (HL7 organization-type, NHS ODS roles) -> canonical org_type.
ORG_TYPE: dict[str, str] = {
    "prov": "other",
    "dept": "other",
    "govt": "other",
    "hosp": "hospital",
    "RO76": "gp_practice",
    "RO177": "gp_practice",
    "RO197": "hospital",
    "RO57": "hospital",
    "RO198": "hospital",
    "RO172": "community_provider",
    "RO141": "local_authority",
    "RO98": "health_board",
    "RO144": "health_board",
    "RO261": "gp_practice",
    # Careweave's own organisation-type codes (its FHIR Organization.type): as they are.
    **{t: t for t in vocabulary.ORG_TYPE},
}

#: PractitionerRole / provider speciality words -> primary-care staff role.
STAFF_ROLE_WORDS: tuple[tuple[str, str], ...] = (
    ("pharmac", "pharmacist"),
    ("nurs", "nurse"),
    ("general practi", "gp"),
    ("family", "gp"),
    ("physician", "gp"),
    ("doctor", "gp"),
)


def _role(text: str | None, words: tuple[tuple[str, str], ...]) -> str | None:
    """The role of the first word found in a job title; ``other`` if none; None if no title."""
    if not text:
        return None
    low = text.lower()
    for word, role in words:
        if word in low:
            return role
    return "other"


def staff_role(text: str | None) -> str | None:
    return _role(text, STAFF_ROLE_WORDS)


@lru_cache(maxsize=200_000)
def code_ok(system: str, code: str) -> bool:
    """Cached :func:`careweave.dataset.codes.is_valid_code`."""
    return codes.is_valid_code(system, code)


def ethnic_from_nhs(code: str) -> str:
    return NHS_ETHNIC_LETTER.get(code.strip().upper()[:1], "unknown") if code else "unknown"


#: Words of a job title -> case_management_episodes.lead_professional_role (first match).
LEAD_ROLE_WORDS: tuple[tuple[str, str], ...] = (
    ("matron", "community_matron"),
    ("case manag", "case_manager"),
    ("district nurs", "district_nurse"),
    ("social work", "social_worker"),
    ("coordinat", "care_coordinator"),
    ("general practi", "gp"),
    ("gp", "gp"),
)


def lead_role(text: str | None) -> str | None:
    """The lead-professional role a job title names; ``other`` for any other title."""
    return _role(text, LEAD_ROLE_WORDS)


NHS_NUMBER_VERIFICATION = UKCORE_EXTENSION + "NHSNumberVerificationStatus"
DEATH_NOTIFICATION = UKCORE_EXTENSION + "DeathNotificationStatus"
NHS_COMMUNICATION = UKCORE_EXTENSION + "NHSCommunication"
#: NHS-number verification status 01 is "Number present and verified"; any other
#: status (trace required, trace attempted, ...) is reported, and the number kept.
NHS_NUMBER_VERIFIED = "01"
#: Death notification status U: the death notice was removed (the person is not dead).
DEATH_NOTICE_REMOVED = "U"


#: RelatedPerson.relationship codes (v3 RoleCode, v2-0131, SNOMED CT) -> what the related
#: person is to the patient, as person_relationships.relationship.
RELATIONSHIP = {
    "SPS": "spouse",
    "HUSB": "spouse",
    "WIFE": "spouse",
    "DOMPART": "spouse",
    "NOK": "next_of_kin",
    "N": "next_of_kin",
    "133932002": "carer_of",  # SNOMED CT Caregiver (person)
    "407542009": "carer_of",  # SNOMED CT Informal carer
}
