"""Canonical tables of local-authority social care: assessments, community services and
packages, care-home placements and reablement (group "social care").

Declared like every other table (see careweave.dataset.tables, which lists them all)."""

from __future__ import annotations

from careweave.dataset.columns import B, D, F, S, key_column, nhs_number_column, org_column
from careweave.dataset.schema import Column, Reference, Table
from careweave.dataset.vocabulary import (
    PLACEMENT_TYPE,
    SOCIAL_CARE_ASSESSMENT,
    SOCIAL_CARE_OUTCOME,
    SOCIAL_CARE_SERVICE,
)

SOCIAL_CARE_ASSESSMENTS = Table(
    "social_care_assessments",
    "Social-care assessments and reviews by the local authority.",
    (
        key_column("assessment"),
        nhs_number_column(),
        org_column("local_authority_id", "Assessing local authority."),
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
        key_column("service"),
        nhs_number_column(),
        org_column("local_authority_id", "Commissioning local authority."),
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
        key_column("placement"),
        nhs_number_column(),
        org_column("local_authority_id", "Commissioning local authority."),
        org_column("care_home_id", "The care home."),
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
        key_column("episode"),
        nhs_number_column(),
        org_column("local_authority_id", "Local authority."),
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
