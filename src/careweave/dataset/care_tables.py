"""Canonical tables of care co-ordination and the linked record's newer parts: allergies,
case management, telecare, relationships between people, care plans and care teams.

Declared like every other table (see careweave.dataset.tables, which lists them all)."""

from __future__ import annotations

from careweave.dataset.columns import (
    I16,
    PERSON,
    D,
    S,
    coded_columns,
    key_column,
    nhs_number_column,
    org_column,
)
from careweave.dataset.schema import Column, Table
from careweave.dataset.vocabulary import (
    ALLERGY_CATEGORY,
    ALLERGY_CRITICALITY,
    ALLERGY_STATUS,
    ENROLMENT_REASON,
    LEAD_PROFESSIONAL_ROLE,
    RELATIONSHIP,
    TELECARE_SERVICE,
)

ALLERGIES = Table(
    "allergies",
    "Allergies and intolerances from the GP record (FHIR AllergyIntolerance).",
    (
        key_column("allergy record"),
        nhs_number_column(),
        Column("recorded_date", D, "Date recorded."),
        *coded_columns("allergen or substance (SNOMED CT where known)"),
        Column("category", S, "Kind of allergen.", values=ALLERGY_CATEGORY),
        Column(
            "criticality",
            S,
            "Potential for a serious reaction.",
            required=False,
            values=ALLERGY_CRITICALITY,
        ),
        Column("status", S, "Clinical status.", values=ALLERGY_STATUS),
        org_column("org_id", "Recording organisation.", required=False),
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
        key_column("case-management episode"),
        nhs_number_column(),
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
        org_column("org_id", "Organisation running the scheme.", required=False),
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
        key_column("telecare service"),
        nhs_number_column(),
        Column("start_date", D, "Start of the service."),
        Column("end_date", D, "End of the service; null while it continues.", required=False),
        Column("service_type", S, "Kind of service.", values=TELECARE_SERVICE),
        org_column("org_id", "Providing organisation.", required=False),
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
        key_column("relationship"),
        nhs_number_column(),
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
