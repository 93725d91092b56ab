"""The columns and tables added this release: optional, so datasets and warehouses
written before them still load, and checked like every other column when present."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from careweave.dataset import io as dsio
from careweave.dataset import tables as T
from careweave.ingest import load_dataset
from careweave.warehouse.schema import create_table_sql, ensure_schema
from ingest_fixtures import Dataset, nullable_schema, valid_dataset, write_dataset
from test_ingest_rules import load_mutated

ADDED_PEOPLE = (
    "title",
    "given_name",
    "family_name",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "telephone",
    "preferred_language",
    "interpreter_required",
)


def _old_schema(table: T.Table) -> pa.Schema:
    """The table's schema as a dataset written before the added columns had them."""
    schema = nullable_schema(table.arrow_schema)
    return pa.schema([f for f in schema if f.name not in table.may_be_absent])


def test_identifying_columns_list_the_identity_of_people() -> None:
    listed = dict(T.IDENTIFYING_COLUMNS)
    assert listed["people"] == ADDED_PEOPLE[:8]
    assert listed["person_relationships"] == ("related_nhs_number",)
    assert "nhs_number" not in listed["people"]
    assert set(T.PEOPLE.may_be_absent) == set(ADDED_PEOPLE)
    assert T.HOSPITAL_SPELLS.may_be_absent == ("discharge_ready_date",)
    for name in ("allergies", "case_management_episodes", "telecare_services"):
        assert not T.table(name).required
        assert T.table(name).person_column == "nhs_number"
    assert not T.PERSON_RELATIONSHIPS.required


def test_conform_fills_absent_added_columns_with_nulls() -> None:
    row = valid_dataset(1, 0)["people"][0]
    data = pa.Table.from_pylist([row], schema=_old_schema(T.PEOPLE))
    out = dsio.conform(T.PEOPLE, data)
    assert out.column_names == list(T.PEOPLE.column_names)
    assert out.column("postcode").null_count == 1


def test_a_dataset_without_the_added_columns_and_tables_loads(tmp_path: Path) -> None:
    data = valid_dataset(8, 1, optional=False)
    directory = write_dataset(tmp_path / "ds", data)
    for table in (T.PEOPLE, T.HOSPITAL_SPELLS):
        rows = data[table.name]
        pq.write_table(
            pa.Table.from_pylist(rows, schema=_old_schema(table)),
            directory / f"{table.name}.parquet",
        )
    warehouse = tmp_path / "w.duckdb"
    report = load_dataset(directory, warehouse)
    assert report.rows_quarantined == 0
    assert report.table("people").rows_new == 8
    assert "allergies" not in {t.table for t in report.tables}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*), count(postcode), count(interpreter_required) FROM people"
        ).fetchone()
        ready = con.execute("SELECT count(discharge_ready_date) FROM hospital_spells").fetchone()
    finally:
        con.close()
    assert row == (8, 0, 0)
    assert ready == (0,)


def test_an_older_warehouse_gains_the_added_columns(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    old_people = T.Table(
        "people",
        T.PEOPLE.description,
        tuple(c for c in T.PEOPLE.columns if not c.may_be_absent),
        key="nhs_number",
    )
    con.execute(create_table_sql(old_people))
    ensure_schema(con)
    cols = {r[0] for r in con.execute("DESCRIBE people").fetchall()}
    con.close()
    assert set(ADDED_PEOPLE) <= cols
    directory = write_dataset(tmp_path / "ds", valid_dataset(5, 2, optional=False))
    assert load_dataset(directory, warehouse).rows_quarantined == 0


def _with_new_tables(d: Dataset) -> None:
    people = d["people"]
    a, b = people[0], people[1]
    first = dt.date(2024, 6, 1)
    d["allergies"] = [
        {
            "id": "alg-1",
            "nhs_number": a["nhs_number"],
            "recorded_date": first,
            "code_system": "snomed",
            "code": "91936005",
            "term": "Allergy to penicillin",
            "category": "medication",
            "criticality": "high",
            "status": "active",
            "org_id": "P1",
        }
    ]
    d["case_management_episodes"] = [
        {
            "id": "cm-1",
            "nhs_number": a["nhs_number"],
            "start_date": first,
            "end_date": None,
            "ccm_level_at_enrolment": 4,
            "lead_professional_role": "community_matron",
            "care_plan_date": first + dt.timedelta(days=14),
            "enrolment_reason": "risk_stratification",
            "org_id": "C1",
        }
    ]
    d["telecare_services"] = [
        {
            "id": "tc-1",
            "nhs_number": a["nhs_number"],
            "start_date": first,
            "end_date": None,
            "service_type": "pendant_alarm",
            "org_id": "LA1",
        }
    ]
    d["person_relationships"] = [
        {
            "id": "rel-1",
            "nhs_number": b["nhs_number"],
            "related_nhs_number": a["nhs_number"],
            "relationship": "carer_of",
            "start_date": None,
            "end_date": None,
        },
        {
            "id": "rel-2",
            "nhs_number": a["nhs_number"],
            "related_nhs_number": "9990000999",
            "relationship": "spouse",
            "start_date": None,
            "end_date": None,
        },
    ]
    for p in (a, b):
        p["date_of_death"] = None
        p["registered_to"] = None


def test_new_tables_load_and_are_checked(tmp_path: Path) -> None:
    report, q, _ = load_mutated(tmp_path, _with_new_tables)
    for name in ("allergies", "case_management_episodes", "telecare_services"):
        assert report.table(name).rows_new == 1
    # The related person must be in the population (unknown NHS number: refused).
    assert report.table("person_relationships").rows_new == 1
    assert q[("person_relationships", 2)][0] in ("unknown_reference", "invalid_nhs_number")


def test_a_bad_ccm_level_and_a_care_plan_before_enrolment_are_quarantined(
    tmp_path: Path,
) -> None:
    def mutate(d: Dataset) -> None:
        _with_new_tables(d)
        ep = dict(d["case_management_episodes"][0])
        d["case_management_episodes"].append(ep | {"id": "cm-2", "ccm_level_at_enrolment": 5})
        start = ep["start_date"]
        assert isinstance(start, dt.date)
        late = {"id": "cm-3", "care_plan_date": start - dt.timedelta(days=1)}
        d["case_management_episodes"].append(ep | late)

    _, q, _ = load_mutated(tmp_path, mutate)
    assert q[("case_management_episodes", 2)] == ("out_of_range", "ccm_level_at_enrolment")
    assert q[("case_management_episodes", 3)] == ("end_before_start", "care_plan_date")


def test_discharge_ready_date_lies_between_admission_and_discharge(tmp_path: Path) -> None:
    def mutate(d: Dataset) -> None:
        spells = d["hospital_spells"]
        for s in spells:
            s["discharge_ready_date"] = s["discharge_date"]
        for i, s in enumerate(spells):
            adm, dis = s["admission_date"], s["discharge_date"]
            assert isinstance(adm, dt.date) and isinstance(dis, dt.date)
            if (dis - adm).days >= 1 and i > 0:
                break
        spells[0]["discharge_ready_date"] = spells[0]["admission_date"] - dt.timedelta(days=1)  # type: ignore[operator]
        spells[i]["discharge_ready_date"] = dis + dt.timedelta(days=1)
        bad.extend([1, i + 1])

    bad: list[int] = []
    _, q, _ = load_mutated(tmp_path, mutate)
    spells = {k: v for k, v in q.items() if k[0] == "hospital_spells"}
    assert spells == {
        ("hospital_spells", bad[0]): ("end_before_start", "discharge_ready_date"),
        ("hospital_spells", bad[1]): ("end_before_start", "discharge_date"),
    }
