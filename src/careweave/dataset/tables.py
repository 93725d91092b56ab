"""The canonical patient-level dataset: every table, column and allowed value.

This module lists every table (``TABLES``, in dependency order) and declares the
reference, primary-care, hospital, community and telehealth tables itself; the
social-care tables live in ``social_tables``, care co-ordination's newer tables
in ``care_tables``, the importers-only ones in ``imported_tables``, the value
sets in ``vocabulary`` and the shared column builders in ``columns``. Callers
use ``tables.X`` for all of them.

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

from careweave.dataset.care_tables import (
    ALLERGIES,
    CASE_MANAGEMENT_EPISODES,
    PERSON_RELATIONSHIPS,
    TELECARE_SERVICES,
)
from careweave.dataset.columns import (
    I16,
    TS,
    B,
    D,
    F,
    L,
    S,
    added_column,
    coded_columns,
    cost_column,
    identity_column,
    key_column,
    nhs_number_column,
    org_column,
)
from careweave.dataset.imported_tables import (
    CARE_PLANS,
    CARE_TEAM_MEMBERS,
    IMMUNISATIONS,
    PROCEDURES,
    RAW_RESOURCES,
)
from careweave.dataset.schema import Column, Table
from careweave.dataset.social_tables import (
    CARE_PLACEMENTS,
    REABLEMENT_EPISODES,
    SOCIAL_CARE_ASSESSMENTS,
    SOCIAL_CARE_SERVICES,
)
from careweave.dataset.vocabulary import (
    ADMISSION_METHOD,
    AE_DISPOSAL,
    ALLERGY_CATEGORY,
    ALLERGY_CRITICALITY,
    ALLERGY_STATUS,
    CODE_SYSTEM,
    COMMUNITY_SERVICE,
    CONTACT_MODE,
    DISCHARGE_DESTINATION,
    ENROLMENT_REASON,
    ETHNIC_GROUP,
    LEAD_PROFESSIONAL_ROLE,
    MENTAL_HEALTH_SERVICE,
    ORG_TYPE,
    OUTPATIENT_OUTCOME,
    PLACEMENT_TYPE,
    PRIMARY_CARE_ROLE,
    RELATIONSHIP,
    SEX,
    SOCIAL_CARE_ASSESSMENT,
    SOCIAL_CARE_OUTCOME,
    SOCIAL_CARE_SERVICE,
    TELECARE_SERVICE,
    TELEHEALTH_DEVICE,
    TELEHEALTH_MEASURE,
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
        org_column(
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
        org_column("practice_id", "Registered GP practice; null when unknown."),
        org_column("local_authority_id", "Local authority of residence; null when unknown."),
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
        identity_column("title", "Title as recorded (Mr, Mrs, Ms, Miss, Dr, ...)."),
        identity_column("given_name", "Given (first) name."),
        identity_column("family_name", "Family name (surname)."),
        identity_column("address_line_1", "First line of the home address."),
        identity_column("address_line_2", "Second line of the home address."),
        identity_column("town", "Post town."),
        identity_column("postcode", "Postcode of the home address."),
        identity_column("telephone", "Contact telephone number."),
        added_column(
            "preferred_language",
            S,
            "Preferred language, ISO 639-1 (e.g. en, cy); null when not recorded.",
        ),
        added_column(
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
        key_column("coded event"),
        nhs_number_column(),
        Column("event_date", D, "Date recorded (or onset, when the source gives one)."),
        *coded_columns("diagnosis or problem"),
        Column("resolved_date", D, "Date the problem was resolved, if it was.", required=False),
        org_column("org_id", "Recording organisation."),
    ),
    key="id",
    date_columns=("event_date", "resolved_date"),
    group="primary care",
)

OBSERVATIONS = Table(
    "observations",
    "Measurements from the GP record: blood pressure, HbA1c, BMI, eGFR, weight, ...",
    (
        key_column("observation"),
        nhs_number_column(),
        Column("obs_date", D, "Date of the measurement."),
        *coded_columns("observable"),
        Column(
            "measure",
            S,
            "Canonical measure name (e.g. systolic_bp, hba1c, bmi, egfr), or null "
            "if the code is not one Careweave names.",
            required=False,
        ),
        Column("value", F, "Numeric value.", required=False),
        Column("unit", S, "UCUM unit of the value.", required=False),
        org_column("org_id", "Recording organisation."),
    ),
    key="id",
    date_columns=("obs_date",),
    group="primary care",
)

MEDICATIONS = Table(
    "medications",
    "Medication issues (one row per issue or repeat).",
    (
        key_column("issue"),
        nhs_number_column(),
        Column("issue_date", D, "Date issued."),
        *coded_columns("medicine (dm+d, or RxNorm from US sources)"),
        Column("quantity", F, "Quantity issued.", required=False, minimum=0),
        org_column("org_id", "Issuing organisation."),
    ),
    key="id",
    date_columns=("issue_date",),
    group="primary care",
)

PRIMARY_CARE_CONTACTS = Table(
    "primary_care_contacts",
    "Consultations with the GP practice team.",
    (
        key_column("contact"),
        nhs_number_column(),
        Column("contact_date", D, "Date of the consultation."),
        Column("staff_role", S, "Who the person saw.", values=PRIMARY_CARE_ROLE),
        Column("mode", S, "How.", values=CONTACT_MODE),
        org_column("org_id", "Practice."),
        cost_column(),
    ),
    key="id",
    date_columns=("contact_date",),
    group="primary care",
)

HOSPITAL_SPELLS = Table(
    "hospital_spells",
    "Admitted patient care spells (APC / PEDW).",
    (
        key_column("spell"),
        nhs_number_column(),
        org_column("provider_id", "Hospital provider."),
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
        cost_column(),
        added_column(
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
        key_column("attendance"),
        nhs_number_column(),
        org_column("provider_id", "Hospital provider."),
        Column("attendance_date", D, "Date of arrival."),
        Column("disposal", S, "What happened next.", values=AE_DISPOSAL),
        cost_column(),
    ),
    key="id",
    date_columns=("attendance_date",),
    group="hospital",
)

OUTPATIENT_APPOINTMENTS = Table(
    "outpatient_appointments",
    "Outpatient appointments, attended or not.",
    (
        key_column("appointment"),
        nhs_number_column(),
        org_column("provider_id", "Hospital provider."),
        Column("appointment_date", D, "Date of the appointment."),
        Column("specialty", S, "Specialty or treatment function.", required=False),
        Column("outcome", S, "Attendance.", values=OUTPATIENT_OUTCOME),
        cost_column(),
    ),
    key="id",
    date_columns=("appointment_date",),
    group="hospital",
)

COMMUNITY_CONTACTS = Table(
    "community_contacts",
    "Community health contacts: district nursing, rapid response, therapies, ...",
    (
        key_column("contact"),
        nhs_number_column(),
        org_column("provider_id", "Community provider."),
        Column("contact_date", D, "Date of the contact."),
        Column("service", S, "Community service.", values=COMMUNITY_SERVICE),
        Column("mode", S, "How.", values=CONTACT_MODE),
        cost_column(),
    ),
    key="id",
    date_columns=("contact_date",),
    group="community and mental health",
)

MENTAL_HEALTH_CONTACTS = Table(
    "mental_health_contacts",
    "Secondary mental-health service contacts.",
    (
        key_column("contact"),
        nhs_number_column(),
        org_column("provider_id", "Mental-health provider."),
        Column("contact_date", D, "Date of the contact."),
        Column("service", S, "Mental-health service.", values=MENTAL_HEALTH_SERVICE),
        Column("mode", S, "How.", values=CONTACT_MODE),
        cost_column(),
    ),
    key="id",
    date_columns=("contact_date",),
    group="community and mental health",
)


TELEHEALTH_READINGS = Table(
    "telehealth_readings",
    "Readings sent from home monitoring devices.",
    (
        key_column("reading"),
        nhs_number_column(),
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


# --- Optional tables, written by the importers when the source has them. ---


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


#: What callers use as ``tables.X``: the tables, the value sets (declared in
#: careweave.dataset.vocabulary) and the lookups.
__all__ = [
    "ADMISSION_METHOD",
    "AE_ATTENDANCES",
    "AE_DISPOSAL",
    "ALLERGIES",
    "ALLERGY_CATEGORY",
    "ALLERGY_CRITICALITY",
    "ALLERGY_STATUS",
    "BY_NAME",
    "CARE_PLACEMENTS",
    "CARE_PLANS",
    "CARE_TEAM_MEMBERS",
    "CASE_MANAGEMENT_EPISODES",
    "CODE_SYSTEM",
    "COMMUNITY_CONTACTS",
    "COMMUNITY_SERVICE",
    "CONTACT_MODE",
    "DISCHARGE_DESTINATION",
    "ENROLMENT_REASON",
    "ETHNIC_GROUP",
    "HOSPITAL_SPELLS",
    "IDENTIFYING_COLUMNS",
    "IMMUNISATIONS",
    "LEAD_PROFESSIONAL_ROLE",
    "MEDICATIONS",
    "MENTAL_HEALTH_CONTACTS",
    "MENTAL_HEALTH_SERVICE",
    "OBSERVATIONS",
    "ORGANISATIONS",
    "ORG_TYPE",
    "OUTPATIENT_APPOINTMENTS",
    "OUTPATIENT_OUTCOME",
    "PEOPLE",
    "PERSON_RELATIONSHIPS",
    "PERSON_TABLES",
    "PLACEMENT_TYPE",
    "PRIMARY_CARE_CONTACTS",
    "PRIMARY_CARE_EVENTS",
    "PRIMARY_CARE_ROLE",
    "PROCEDURES",
    "RAW_RESOURCES",
    "REABLEMENT_EPISODES",
    "RELATIONSHIP",
    "SEX",
    "SOCIAL_CARE_ASSESSMENT",
    "SOCIAL_CARE_ASSESSMENTS",
    "SOCIAL_CARE_OUTCOME",
    "SOCIAL_CARE_SERVICE",
    "SOCIAL_CARE_SERVICES",
    "SYNTH_EXTRA_TABLES",
    "TABLES",
    "TELECARE_SERVICE",
    "TELECARE_SERVICES",
    "TELEHEALTH_DEVICE",
    "TELEHEALTH_MEASURE",
    "TELEHEALTH_READINGS",
    "table",
]
