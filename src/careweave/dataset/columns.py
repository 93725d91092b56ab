"""Column kinds, references and the column builders every table declaration shares."""

from __future__ import annotations

from careweave.dataset.schema import Column, Kind, Reference
from careweave.dataset.vocabulary import CODE_SYSTEM

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


def key_column(what: str) -> Column:
    return Column("id", S, f"Key of the {what}: unique in this table, stable across re-extracts.")


def nhs_number_column() -> Column:
    return Column(
        "nhs_number",
        S,
        "The person's NHS number (10 digits).",
        references=PERSON,
        check="nhs_number",
    )


def org_column(name: str, what: str, required: bool = False) -> Column:
    return Column(name, S, what, required=required, references=ORG)


def coded_columns(what: str) -> tuple[Column, ...]:
    return (
        Column("code_system", S, f"Code system of the {what} code.", values=CODE_SYSTEM),
        Column("code", S, f"The {what} code, checked for the syntax of its system.", check="code"),
        Column("term", S, "Human-readable description of the code, as sent.", required=False),
    )


def added_column(name: str, kind: Kind, what: str) -> Column:
    """An optional column added after the first release: files without it still load."""
    return Column(name, kind, what, required=False, may_be_absent=True)


def identity_column(name: str, what: str) -> Column:
    """An identifying people column (never in pseudonymised or analytics outputs)."""
    return Column(name, S, what, required=False, may_be_absent=True, identifying=True)


def cost_column() -> Column:
    return Column(
        "cost",
        F,
        "Actual cost in pounds where the source carries one; null means: use the tariff.",
        required=False,
        minimum=0,
        unit="GBP",
    )
