"""Canonical tables that only importers fill: procedures, immunisations, source care plans and
care teams, and the raw records Careweave keeps whole (group "imported extras").

Declared like every other table (see careweave.dataset.tables, which lists them all)."""

from __future__ import annotations

from careweave.dataset.columns import (
    D,
    S,
    coded_columns,
    cost_column,
    key_column,
    nhs_number_column,
    org_column,
)
from careweave.dataset.schema import Column, Table

PROCEDURES = Table(
    "procedures",
    "Procedures performed (from FHIR Procedure or Synthea procedures).",
    (
        key_column("procedure"),
        nhs_number_column(),
        Column("procedure_date", D, "Date performed."),
        *coded_columns("procedure"),
        org_column("org_id", "Performing organisation."),
        cost_column(),
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
        key_column("immunisation"),
        nhs_number_column(),
        Column("immunisation_date", D, "Date given."),
        *coded_columns("vaccine"),
        org_column("org_id", "Giving organisation."),
    ),
    key="id",
    date_columns=("immunisation_date",),
    required=False,
    group="imported extras",
)


CARE_PLANS = Table(
    "care_plans",
    "Care plans recorded in a source system; Careweave's own shared plans arrive the same "
    "way, by `careweave extract` (SNOMED CT 734163000).",
    (
        key_column("care plan"),
        nhs_number_column(),
        Column("start_date", D, "Start of the plan."),
        Column("end_date", D, "End of the plan.", required=False),
        *coded_columns("care plan category"),
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
        key_column("membership"),
        nhs_number_column(),
        Column("role", S, "Role in the team, as sent."),
        Column("practitioner_id", S, "Practitioner key in the source.", required=False),
        org_column("org_id", "Organisation of the member.", required=False),
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
        key_column("raw record"),
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
