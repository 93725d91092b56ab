"""The canonical patient-level dataset: every table, column and allowed value.

This is the contract between whatever writes a dataset (the synthetic
generator, the FHIR and Synthea importers) and whatever reads one (the loader,
the warehouse, risk, population intelligence). Nothing downstream reads a
source format. docs/data-model.md is generated from this module
(``python -m careweave.dataset.docs``) and a test keeps it in step.

Conventions
- One row per event; ``id`` is the row's key, unique within its table and
  stable across re-extracts of the same source, so that a reload adds nothing.
- Dates are calendar dates (no time zone); ``recorded_at`` timestamps are UTC.
- A missing optional value is null. An unknown deprivation decile or small
  area is null (rendered as "unknown" in outputs), never a guess.
- Money is pounds sterling at the tariff year's prices; ``cost`` columns are
  optional: where null, the tariff in careweave/dataset/data/tariff.toml
  applies.
"""

from __future__ import annotations

from careweave.dataset.schema import Column, Kind, Reference, Table

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

S, I16, F, B, D, TS, L = (
    Kind.STRING,
    Kind.SMALLINT,
    Kind.FLOAT,
    Kind.BOOL,
    Kind.DATE,
    Kind.TIMESTAMP,
    Kind.STRING_LIST,
)

ORG = Reference("organisations", "org_id")
PERSON = Reference("people", "nhs_number")


def _id(what: str) -> Column:
    return Column("id", S, f"Key of the {what}: unique in this table, stable across re-extracts.")


def _person() -> Column:
    return Column(
        "nhs_number",
        S,
        "The person's NHS number (10 digits).",
        references=PERSON,
        check="nhs_number",
    )


def _org(name: str, what: str, required: bool = False) -> Column:
    return Column(name, S, what, required=required, references=ORG)


def _coded(what: str) -> tuple[Column, ...]:
    return (
        Column("code_system", S, f"Code system of the {what} code.", values=CODE_SYSTEM),
        Column("code", S, f"The {what} code, checked for the syntax of its system.", check="code"),
        Column("term", S, "Human-readable description of the code, as sent.", required=False),
    )


def _added(name: str, kind: Kind, what: str) -> Column:
    """An optional column added after the first release: files without it still load."""
    return Column(name, kind, what, required=False, may_be_absent=True)


def _identity(name: str, what: str) -> Column:
    """An identifying people column (never in pseudonymised or analytics outputs)."""
    return Column(name, S, what, required=False, may_be_absent=True, identifying=True)


def _cost() -> Column:
    return Column(
        "cost",
        F,
        "Actual cost in pounds where the source carries one; null means: use the tariff.",
        required=False,
        minimum=0,
        unit="GBP",
    )


ORGANISATIONS = Table(
    "organisations",
    "Every organisation a row can point at: the health board, its localities "
    "(30,000-50,000 people), clusters/networks and GP practices, local authorities "
    "and providers.",
    (
        Column("org_id", S, "Key: ODS code where there is one, else a local code."),
        Column("org_type", S, "Kind of organisation.", values=ORG_TYPE),
        Column("name", S, "Display name."),
        _org(
            "parent_id",
            "Containing organisation: practice -> cluster -> locality -> health board; "
            "null at the top and for providers outside the hierarchy.",
        ),
    ),
    key="org_id",
    person_column=None,
    group="reference",
)

PEOPLE = Table(
    "people",
    "One row per person: demographics, small area, registration and death.",
    (
        Column(
            "nhs_number",
            S,
            "Key: NHS number, 10 digits with a valid Modulus-11 check digit.",
            check="nhs_number",
        ),
        Column("date_of_birth", D, "Date of birth."),
        Column("sex", S, "Sex as recorded.", values=SEX),
        Column("ethnic_group", S, "NHS ethnic category, broad group.", values=ETHNIC_GROUP),
        Column(
            "small_area",
            S,
            "Small area of residence (LSOA in England and Wales); null when unknown.",
            required=False,
        ),
        Column(
            "deprivation_decile",
            I16,
            "Index of multiple deprivation decile of the small area: 1 most deprived, "
            "10 least; null when unknown.",
            required=False,
            minimum=1,
            maximum=10,
        ),
        _org("practice_id", "Registered GP practice; null when unknown."),
        _org("local_authority_id", "Local authority of residence; null when unknown."),
        Column("registered_from", D, "Start of the current GP registration.", required=False),
        Column(
            "registered_to",
            D,
            "End of registration (left the area or died); null while registered.",
            required=False,
        ),
        Column("care_home_resident", B, "Lives in a residential or nursing home now."),
        Column("date_of_death", D, "Date of death; null while alive.", required=False),
        Column(
            "source_id",
            S,
            "Identifier in the source system when the NHS number is a surrogate.",
            required=False,
        ),
        _identity("title", "Title as recorded (Mr, Mrs, Ms, Miss, Dr, ...)."),
        _identity("given_name", "Given (first) name."),
        _identity("family_name", "Family name (surname)."),
        _identity("address_line_1", "First line of the home address."),
        _identity("address_line_2", "Second line of the home address."),
        _identity("town", "Post town."),
        _identity("postcode", "Postcode of the home address."),
        _identity("telephone", "Contact telephone number."),
        _added(
            "preferred_language",
            S,
            "Preferred language, ISO 639-1 (e.g. en, cy); null when not recorded.",
        ),
        _added(
            "interpreter_required",
            B,
            "Needs an interpreter (or signer) to take part in care; null when not recorded.",
        ),
    ),
    key="nhs_number",
    person_column="nhs_number",
    date_columns=("date_of_birth", "registered_from", "registered_to", "date_of_death"),
    group="reference",
)

PRIMARY_CARE_EVENTS = Table(
    "primary_care_events",
    "Coded diagnoses and problems from the GP record (SNOMED CT; ICD-10 where a source sends it).",
    (
        _id("coded event"),
        _person(),
        Column("event_date", D, "Date recorded (or onset, when the source gives one)."),
        *_coded("diagnosis or problem"),
        Column("resolved_date", D, "Date the problem was resolved, if it was.", required=False),
        _org("org_id", "Recording organisation."),
    ),
    key="id",
    date_columns=("event_date", "resolved_date"),
    group="primary care",
)

OBSERVATIONS = Table(
    "observations",
    "Measurements from the GP record: blood pressure, HbA1c, BMI, eGFR, weight, ...",
    (
        _id("observation"),
        _person(),
        Column("obs_date", D, "Date of the measurement."),
        *_coded("observable"),
        Column(
            "measure",
            S,
            "Canonical measure name (e.g. systolic_bp, hba1c, bmi, egfr), or null "
            "if the code is not one Careweave names.",
            required=False,
        ),
        Column("value", F, "Numeric value.", required=False),
        Column("unit", S, "UCUM unit of the value.", required=False),
        _org("org_id", "Recording organisation."),
    ),
    key="id",
    date_columns=("obs_date",),
    group="primary care",
)

MEDICATIONS = Table(
    "medications",
    "Medication issues (one row per issue or repeat).",
    (
        _id("issue"),
        _person(),
        Column("issue_date", D, "Date issued."),
        *_coded("medicine (dm+d, or RxNorm from US sources)"),
        Column("quantity", F, "Quantity issued.", required=False, minimum=0),
        _org("org_id", "Issuing organisation."),
    ),
    key="id",
    date_columns=("issue_date",),
    group="primary care",
)

PRIMARY_CARE_CONTACTS = Table(
    "primary_care_contacts",
    "Consultations with the GP practice team.",
    (
        _id("contact"),
        _person(),
        Column("contact_date", D, "Date of the consultation."),
        Column("staff_role", S, "Who the person saw.", values=PRIMARY_CARE_ROLE),
        Column("mode", S, "How.", values=CONTACT_MODE),
        _org("org_id", "Practice."),
        _cost(),
    ),
    key="id",
    date_columns=("contact_date",),
    group="primary care",
)

HOSPITAL_SPELLS = Table(
    "hospital_spells",
    "Admitted patient care spells (APC / PEDW).",
    (
        _id("spell"),
        _person(),
        _org("provider_id", "Hospital provider."),
        Column("admission_date", D, "Date of admission."),
        Column(
            "discharge_date",
            D,
            "Date of discharge; null while the person is still in hospital.",
            required=False,
        ),
        Column("admission_method", S, "How the person was admitted.", values=ADMISSION_METHOD),
        Column(
            "primary_diagnosis",
            S,
            "ICD-10 primary diagnosis (e.g. J44.1 or J441).",
            required=False,
            check="icd10",
        ),
        Column(
            "secondary_diagnoses",
            L,
            "ICD-10 secondary diagnoses, in coded order (in CSV: separated by ';').",
            required=False,
            check="icd10",
        ),
        Column("specialty", S, "Main specialty or treatment function.", required=False),
        Column(
            "discharge_destination",
            S,
            "Where the person went.",
            required=False,
            values=DISCHARGE_DESTINATION,
        ),
        _cost(),
        _added(
            "discharge_ready_date",
            D,
            "Discharge ready date (NHS England): the day the team judged the person "
            "ready to leave; between admission and discharge. A later discharge is a "
            "delayed discharge. Null when not recorded.",
        ),
    ),
    key="id",
    date_columns=("admission_date", "discharge_date", "discharge_ready_date"),
    end_dates=(
        ("admission_date", "discharge_date"),
        ("admission_date", "discharge_ready_date"),
        ("discharge_ready_date", "discharge_date"),
    ),
    group="hospital",
)

AE_ATTENDANCES = Table(
    "ae_attendances",
    "Emergency department (A&E) attendances.",
    (
        _id("attendance"),
        _person(),
        _org("provider_id", "Hospital provider."),
        Column("attendance_date", D, "Date of arrival."),
        Column("disposal", S, "What happened next.", values=AE_DISPOSAL),
        _cost(),
    ),
    key="id",
    date_columns=("attendance_date",),
    group="hospital",
)

OUTPATIENT_APPOINTMENTS = Table(
    "outpatient_appointments",
    "Outpatient appointments, attended or not.",
    (
        _id("appointment"),
        _person(),
        _org("provider_id", "Hospital provider."),
        Column("appointment_date", D, "Date of the appointment."),
        Column("specialty", S, "Specialty or treatment function.", required=False),
        Column("outcome", S, "Attendance.", values=OUTPATIENT_OUTCOME),
        _cost(),
    ),
    key="id",
    date_columns=("appointment_date",),
    group="hospital",
)

COMMUNITY_CONTACTS = Table(
    "community_contacts",
    "Community health contacts: district nursing, rapid response, therapies, ...",
    (
        _id("contact"),
        _person(),
        _org("provider_id", "Community provider."),
        Column("contact_date", D, "Date of the contact."),
        Column("service", S, "Community service.", values=COMMUNITY_SERVICE),
        Column("mode", S, "How.", values=CONTACT_MODE),
        _cost(),
    ),
    key="id",
    date_columns=("contact_date",),
    group="community and mental health",
)

MENTAL_HEALTH_CONTACTS = Table(
    "mental_health_contacts",
    "Secondary mental-health service contacts.",
    (
        _id("contact"),
        _person(),
        _org("provider_id", "Mental-health provider."),
        Column("contact_date", D, "Date of the contact."),
        Column("service", S, "Mental-health service.", values=MENTAL_HEALTH_SERVICE),
        Column("mode", S, "How.", values=CONTACT_MODE),
        _cost(),
    ),
    key="id",
    date_columns=("contact_date",),
    group="community and mental health",
)

SOCIAL_CARE_ASSESSMENTS = Table(
    "social_care_assessments",
    "Social-care assessments and reviews by the local authority.",
    (
        _id("assessment"),
        _person(),
        _org("local_authority_id", "Assessing local authority."),
        Column("assessment_date", D, "Date completed."),
        Column("assessment_type", S, "Kind of assessment.", values=SOCIAL_CARE_ASSESSMENT),
        Column("outcome", S, "Result.", values=SOCIAL_CARE_OUTCOME),
    ),
    key="id",
    date_columns=("assessment_date",),
    group="social care",
)

SOCIAL_CARE_SERVICES = Table(
    "social_care_services",
    "Community social-care services and packages (home care, telecare, ...).",
    (
        _id("service"),
        _person(),
        _org("local_authority_id", "Commissioning local authority."),
        Column("service_type", S, "Kind of service.", values=SOCIAL_CARE_SERVICE),
        Column("start_date", D, "Start of the service."),
        Column("end_date", D, "End of the service; null while it continues.", required=False),
        Column(
            "weekly_hours",
            F,
            "Planned hours a week (home care).",
            required=False,
            minimum=0,
            maximum=168,
        ),
        Column(
            "weekly_cost",
            F,
            "Cost a week in pounds; null means: use the tariff.",
            required=False,
            minimum=0,
            unit="GBP",
        ),
    ),
    key="id",
    date_columns=("start_date", "end_date"),
    group="social care",
)

CARE_PLACEMENTS = Table(
    "care_placements",
    "Residential and nursing care-home placements.",
    (
        _id("placement"),
        _person(),
        _org("local_authority_id", "Commissioning local authority."),
        _org("care_home_id", "The care home."),
        Column("placement_type", S, "Residential or nursing.", values=PLACEMENT_TYPE),
        Column("permanent", B, "Permanent (true) or short-term/respite (false)."),
        Column("start_date", D, "Start of the placement."),
        Column("end_date", D, "End of the placement; null while it continues.", required=False),
        Column(
            "weekly_cost",
            F,
            "Cost a week in pounds; null means: use the tariff.",
            required=False,
            minimum=0,
            unit="GBP",
        ),
    ),
    key="id",
    date_columns=("start_date", "end_date"),
    group="social care",
)

REABLEMENT_EPISODES = Table(
    "reablement_episodes",
    "Reablement/rehabilitation after hospital discharge, with the ASCOF 91-day outcome.",
    (
        _id("episode"),
        _person(),
        _org("local_authority_id", "Local authority."),
        Column(
            "spell_id",
            S,
            "The hospital spell the person was discharged from, if known.",
            required=False,
            references=Reference("hospital_spells", "id"),
        ),
        Column("start_date", D, "Start (the day of hospital discharge)."),
        Column("end_date", D, "End of the reablement episode.", required=False),
        Column(
            "at_home_91d",
            B,
            "At home 91 days after discharge; null until 91 days have passed.",
            required=False,
        ),
    ),
    key="id",
    date_columns=("start_date", "end_date"),
    group="social care",
)

TELEHEALTH_READINGS = Table(
    "telehealth_readings",
    "Readings sent from home monitoring devices.",
    (
        _id("reading"),
        _person(),
        Column("device", S, "Kind of device.", values=TELEHEALTH_DEVICE),
        Column("measure", S, "What was measured.", values=TELEHEALTH_MEASURE),
        Column("value", F, "Reading."),
        Column("unit", S, "UCUM unit (mmol/L, mm[Hg], kg, %, /min, Cel)."),
        Column("recorded_at", TS, "When the reading was taken (UTC)."),
    ),
    key="id",
    date_columns=("recorded_at",),
    group="telehealth",
)

# --- Optional tables: the generator writes them; importers when the source has them. ---

ALLERGIES = Table(
    "allergies",
    "Allergies and intolerances from the GP record (FHIR AllergyIntolerance).",
    (
        _id("allergy record"),
        _person(),
        Column("recorded_date", D, "Date recorded."),
        *_coded("allergen or substance (SNOMED CT where known)"),
        Column("category", S, "Kind of allergen.", values=ALLERGY_CATEGORY),
        Column(
            "criticality",
            S,
            "Potential for a serious reaction.",
            required=False,
            values=ALLERGY_CRITICALITY,
        ),
        Column("status", S, "Clinical status.", values=ALLERGY_STATUS),
        _org("org_id", "Recording organisation.", required=False),
    ),
    key="id",
    date_columns=("recorded_date",),
    required=False,
    group="primary care",
)

CASE_MANAGEMENT_EPISODES = Table(
    "case_management_episodes",
    "Case management (community matron / multidisciplinary case management): "
    "enrolment of a person, usually at the top of the risk distribution or after "
    "an emergency admission, with a named lead professional and a care plan.",
    (
        _id("case-management episode"),
        _person(),
        Column("start_date", D, "Date of enrolment."),
        Column("end_date", D, "Date of discharge from case management.", required=False),
        Column(
            "ccm_level_at_enrolment",
            I16,
            "Level of the Chronic Care Model / Kaiser pyramid at enrolment: 1 supported "
            "self-care .. 4 case management (highest complexity).",
            required=False,
            minimum=1,
            maximum=4,
        ),
        Column(
            "lead_professional_role",
            S,
            "Role of the named lead professional.",
            required=False,
            values=LEAD_PROFESSIONAL_ROLE,
        ),
        Column("care_plan_date", D, "Date the care plan was agreed.", required=False),
        Column("enrolment_reason", S, "How the person was found.", values=ENROLMENT_REASON),
        _org("org_id", "Organisation running the scheme.", required=False),
    ),
    key="id",
    date_columns=("start_date", "end_date", "care_plan_date"),
    end_dates=(("start_date", "end_date"), ("start_date", "care_plan_date")),
    required=False,
    group="community and mental health",
)

TELECARE_SERVICES = Table(
    "telecare_services",
    "Telecare and monitoring services at home (pendant alarms, falls detectors, "
    "telehealth monitoring).",
    (
        _id("telecare service"),
        _person(),
        Column("start_date", D, "Start of the service."),
        Column("end_date", D, "End of the service; null while it continues.", required=False),
        Column("service_type", S, "Kind of service.", values=TELECARE_SERVICE),
        _org("org_id", "Providing organisation.", required=False),
    ),
    key="id",
    date_columns=("start_date", "end_date"),
    required=False,
    group="social care",
)

PERSON_RELATIONSHIPS = Table(
    "person_relationships",
    "Relationships between people of the population (a carer and the person they "
    "care for, spouses). Contacts outside the population are operational data, "
    "not canonical.",
    (
        _id("relationship"),
        _person(),
        Column(
            "related_nhs_number",
            S,
            "NHS number of the other person, who is in the population; an NHS number "
            "like nhs_number (pseudonymise or leave out of analytics outputs).",
            required=False,
            references=PERSON,
            check="nhs_number",
            identifying=True,
        ),
        Column(
            "relationship",
            S,
            "What the person is to the related person (carer_of: this person cares for them).",
            values=RELATIONSHIP,
        ),
        Column("start_date", D, "Start of the relationship.", required=False),
        Column("end_date", D, "End of the relationship.", required=False),
    ),
    key="id",
    date_columns=("start_date", "end_date"),
    required=False,
    group="reference",
)

# --- Optional tables, written by the importers when the source has them. ---

PROCEDURES = Table(
    "procedures",
    "Procedures performed (from FHIR Procedure or Synthea procedures).",
    (
        _id("procedure"),
        _person(),
        Column("procedure_date", D, "Date performed."),
        *_coded("procedure"),
        _org("org_id", "Performing organisation."),
        _cost(),
    ),
    key="id",
    date_columns=("procedure_date",),
    required=False,
    group="imported extras",
)

IMMUNISATIONS = Table(
    "immunisations",
    "Immunisations given.",
    (
        _id("immunisation"),
        _person(),
        Column("immunisation_date", D, "Date given."),
        *_coded("vaccine"),
        _org("org_id", "Giving organisation."),
    ),
    key="id",
    date_columns=("immunisation_date",),
    required=False,
    group="imported extras",
)

CARE_PLANS = Table(
    "care_plans",
    "Care plans recorded in a source system (not Careweave's own shared plans).",
    (
        _id("care plan"),
        _person(),
        Column("start_date", D, "Start of the plan."),
        Column("end_date", D, "End of the plan.", required=False),
        *_coded("care plan category"),
        Column("status", S, "Source status (active, completed, ...).", required=False),
    ),
    key="id",
    date_columns=("start_date", "end_date"),
    required=False,
    group="imported extras",
)

CARE_TEAM_MEMBERS = Table(
    "care_team_members",
    "Members of a person's care team recorded in a source system.",
    (
        _id("membership"),
        _person(),
        Column("role", S, "Role in the team, as sent."),
        Column("practitioner_id", S, "Practitioner key in the source.", required=False),
        _org("org_id", "Organisation of the member.", required=False),
        Column("start_date", D, "Start of membership.", required=False),
        Column("end_date", D, "End of membership.", required=False),
    ),
    key="id",
    date_columns=("start_date", "end_date"),
    required=False,
    group="imported extras",
)

RAW_RESOURCES = Table(
    "raw_resources",
    "Source records Careweave does not map, kept whole so nothing is silently dropped.",
    (
        _id("raw record"),
        Column("source_file", S, "File the record came from."),
        Column("resource_type", S, "FHIR resource type or source table name."),
        Column("reason", S, "Why it was not mapped."),
        Column("content", S, "The record itself, as JSON."),
    ),
    key="id",
    person_column=None,
    required=False,
    group="imported extras",
)

#: Every canonical table, in dependency order (referenced tables first).
TABLES: tuple[Table, ...] = (
    ORGANISATIONS,
    PEOPLE,
    PERSON_RELATIONSHIPS,
    PRIMARY_CARE_EVENTS,
    OBSERVATIONS,
    MEDICATIONS,
    PRIMARY_CARE_CONTACTS,
    ALLERGIES,
    HOSPITAL_SPELLS,
    AE_ATTENDANCES,
    OUTPATIENT_APPOINTMENTS,
    COMMUNITY_CONTACTS,
    MENTAL_HEALTH_CONTACTS,
    CASE_MANAGEMENT_EPISODES,
    SOCIAL_CARE_ASSESSMENTS,
    SOCIAL_CARE_SERVICES,
    CARE_PLACEMENTS,
    REABLEMENT_EPISODES,
    TELECARE_SERVICES,
    TELEHEALTH_READINGS,
    PROCEDURES,
    IMMUNISATIONS,
    CARE_PLANS,
    CARE_TEAM_MEMBERS,
    RAW_RESOURCES,
)

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

#: The required tables with a row per person or per person's event: what the
#: generator writes besides organisations, and what the profile reads.
PERSON_TABLES: tuple[Table, ...] = tuple(t for t in TABLES if t.required and t.person_column)


#: The tables the generator writes beyond PERSON_TABLES (optional in a dataset
#: directory, so datasets written before them still load).
SYNTH_EXTRA_TABLES: tuple[Table, ...] = (
    ALLERGIES,
    CASE_MANAGEMENT_EPISODES,
    TELECARE_SERVICES,
    PERSON_RELATIONSHIPS,
)

#: (table name, column names) of every column that identifies a person directly
#: (name, address, telephone, another person's NHS number). Pseudonymised and
#: analytics outputs drop every listed column; ``nhs_number`` itself is
#: pseudonymised, not listed.
IDENTIFYING_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (t.name, tuple(c.name for c in t.columns if c.identifying))
    for t in TABLES
    if any(c.identifying for c in t.columns)
)


def table(name: str) -> Table:
    """The canonical table called ``name``; KeyError naming the known ones if none."""
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(BY_NAME)
        raise KeyError(f"no canonical table {name!r} (known: {known})") from None
