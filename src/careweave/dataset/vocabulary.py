"""The allowed values of the canonical dataset's coded columns (one tuple per value set)."""

from __future__ import annotations

SEX = ("female", "male", "other", "unknown")
# NHS Data Dictionary ethnic category, at the level of its five broad groups.
ETHNIC_GROUP = ("white", "mixed", "asian", "black", "other", "unknown")
ORG_TYPE = (
    "health_board",
    "locality",
    "cluster",
    "gp_practice",
    "local_authority",
    "hospital",
    "community_provider",
    "mental_health_provider",
    "social_care_provider",
    "care_home",
    "other",
)
CODE_SYSTEM = ("snomed", "icd10", "loinc", "dmd", "rxnorm", "other")
ADMISSION_METHOD = ("emergency", "elective", "maternity", "other")
DISCHARGE_DESTINATION = ("home", "care_home", "other_hospital", "died", "other", "unknown")
AE_DISPOSAL = ("admitted", "discharged", "referred", "left", "died", "other")
OUTPATIENT_OUTCOME = ("attended", "did_not_attend", "cancelled")
PRIMARY_CARE_ROLE = ("gp", "nurse", "pharmacist", "other")
CONTACT_MODE = ("face_to_face", "home_visit", "telephone", "video", "other")
COMMUNITY_SERVICE = (
    "district_nursing",
    "rapid_response",
    "specialist_nursing",
    "physiotherapy",
    "occupational_therapy",
    "falls",
    "palliative_care",
    "other",
)
MENTAL_HEALTH_SERVICE = (
    "community_mental_health_team",
    "crisis_team",
    "memory_clinic",
    "talking_therapies",
    "inpatient",
    "other",
)
SOCIAL_CARE_ASSESSMENT = ("needs", "carer", "review", "financial", "other")
SOCIAL_CARE_OUTCOME = ("services", "no_services", "signposted", "other")
SOCIAL_CARE_SERVICE = (
    "home_care",
    "day_care",
    "direct_payment",
    "equipment",
    "telecare",
    "meals",
    "respite",
    "other",
)
PLACEMENT_TYPE = ("residential", "nursing")
TELEHEALTH_MEASURE = (
    "blood_glucose",
    "systolic_bp",
    "diastolic_bp",
    "weight",
    "spo2",
    "heart_rate",
    "temperature",
    "other",
)
TELEHEALTH_DEVICE = (
    "glucometer",
    "blood_pressure_monitor",
    "weighing_scale",
    "pulse_oximeter",
    "thermometer",
    "other",
)

ALLERGY_CATEGORY = ("food", "medication", "environment", "biologic", "other")
ALLERGY_CRITICALITY = ("low", "high", "unable_to_assess")
ALLERGY_STATUS = ("active", "inactive", "resolved")
LEAD_PROFESSIONAL_ROLE = (
    "community_matron",
    "case_manager",
    "district_nurse",
    "social_worker",
    "care_coordinator",
    "gp",
    "other",
)
ENROLMENT_REASON = ("risk_stratification", "clinical_judgement", "other")
TELECARE_SERVICE = ("pendant_alarm", "falls_detector", "telehealth_monitoring", "other")
RELATIONSHIP = ("carer_of", "cared_for_by", "next_of_kin", "spouse", "other")
