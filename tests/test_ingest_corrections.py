"""careweave load --apply-corrections: a row whose key is already in the warehouse with other
content replaces it, the old row is kept in ``_superseded``, and a correction to a person that
would put rows already loaded outside their life is refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from careweave.cli.main import main
from careweave.ingest import LoadReport, load_dataset, read_reports
from ingest_fixtures import Dataset, row_count, valid_dataset, write_dataset
from test_ingest_load import _kill_midway, snapshot


def _load(tmp_path: Path, name: str, data: Dataset, warehouse: Path, **kw: Any) -> LoadReport:
    fmt = kw.pop("fmt", "parquet")
    report = load_dataset(write_dataset(tmp_path / name, data, fmt=fmt), warehouse, **kw)
    assert report.reconciles()
    return report


def _query(warehouse: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_a_corrected_row_replaces_the_loaded_one_and_the_old_one_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = valid_dataset(10, 5, optional=False)
    warehouse = tmp_path / "w.duckdb"
    first = _load(tmp_path, "a", data, warehouse)
    row = data["outpatient_appointments"][4]
    before = row["specialty"]
    row["specialty"] = "999"
    directory = write_dataset(tmp_path / "b", data)
    assert main(["load", str(directory), "-w", str(warehouse), "--apply-corrections"]) == 0
    out = capsys.readouterr().out
    assert "corrected" in out and "_superseded" in out
    [_, report] = read_reports(warehouse)
    t = report.table("outpatient_appointments")
    assert (t.rows_corrected, t.rows_new, t.rows_quarantined) == (1, 0, 0)
    assert report.rows_corrected == 1 and report.reconciles()
    assert report.rows_unchanged == row_count(data) - 1
    assert _query(
        warehouse,
        "SELECT specialty, _batch_id FROM outpatient_appointments WHERE id = ?",
        row["id"],
    ) == [("999", report.batch_id)]
    n = _query(warehouse, "SELECT count(*) FROM outpatient_appointments")[0][0]
    assert n == len(data["outpatient_appointments"])
    [(table, key, old_batch, content, new_batch)] = _query(
        warehouse,
        "SELECT table_name, key, superseded_batch_id, content, batch_id FROM _superseded",
    )
    assert (table, key, old_batch, new_batch) == (
        "outpatient_appointments",
        row["id"],
        first.batch_id,
        report.batch_id,
    )
    assert json.loads(content)["specialty"] == before
    # The corrected content again, in another batch (CSV): unchanged, nothing superseded.
    again = _load(tmp_path, "c", data, warehouse, fmt="csv", apply_corrections=True)
    assert again.rows_corrected == 0 and again.rows_unchanged == row_count(data)
    assert _query(warehouse, "SELECT count(*) FROM _superseded") == [(1,)]


def test_a_correction_that_fails_a_rule_is_quarantined_and_not_applied(tmp_path: Path) -> None:
    data = valid_dataset(10, 5, optional=False)
    warehouse = tmp_path / "w.duckdb"
    _load(tmp_path, "a", data, warehouse)
    data["ae_attendances"][2]["disposal"] = "vanished"
    report = _load(tmp_path, "b", data, warehouse, apply_corrections=True)
    assert report.rows_corrected == 0 and report.rows_quarantined == 1
    assert [(q.table, q.reason) for q in report.quality] == [
        ("ae_attendances", "value_not_allowed")
    ]
    rows = _query(
        warehouse,
        "SELECT disposal FROM ae_attendances WHERE id = ?",
        data["ae_attendances"][2]["id"],
    )
    assert rows != [("vanished",)] and len(rows) == 1
    assert _query(warehouse, "SELECT count(*) FROM _superseded") == [(0,)]


def _alive_with_activity(data: Dataset) -> list[dict[str, Any]]:
    linked = {r["nhs_number"] for r in data["hospital_spells"]}
    return [
        p
        for p in data["people"]
        if p["date_of_death"] is None
        and p["nhs_number"] in linked
        and p["date_of_birth"] < dt.date(2019, 1, 1)
    ]


def test_people_corrections_must_keep_loaded_rows_within_life(tmp_path: Path) -> None:
    data = valid_dataset(20, 1, optional=False)
    warehouse = tmp_path / "w.duckdb"
    _load(tmp_path, "a", data, warehouse)
    late, early = _alive_with_activity(data)[:2]
    late["date_of_death"] = dt.date(2024, 12, 31)  # after everything loaded for them
    early["date_of_death"] = early["date_of_birth"] + dt.timedelta(days=1)  # before it
    report = _load(tmp_path, "b", data, warehouse, apply_corrections=True)
    people = report.table("people")
    assert (people.rows_corrected, people.rows_quarantined) == (1, 1)
    assert [(q.table, q.reason, q.field) for q in report.quality] == [
        ("people", "correction_breaks_loaded_rows", "date_of_death")
    ]
    deaths = dict(
        _query(
            warehouse,
            "SELECT nhs_number, date_of_death FROM people WHERE nhs_number IN (?, ?)",
            late["nhs_number"],
            early["nhs_number"],
        )
    )
    assert deaths == {late["nhs_number"]: dt.date(2024, 12, 31), early["nhs_number"]: None}


def test_a_load_with_corrections_killed_midway_changes_nothing(tmp_path: Path) -> None:
    data = valid_dataset(20, 1, optional=False)
    warehouse = tmp_path / "w.duckdb"
    _load(tmp_path, "a", data, warehouse)
    _alive_with_activity(data)[0]["date_of_death"] = dt.date(2024, 12, 31)
    data["outpatient_appointments"][0]["specialty"] = "999"
    second = write_dataset(tmp_path / "b", data)
    before = snapshot(warehouse)
    _kill_midway(second, warehouse, tmp_path, "outpatient_appointments", ("--apply-corrections",))
    assert snapshot(warehouse) == before
    report = load_dataset(second, warehouse, apply_corrections=True)
    assert report.rows_corrected == 2 and report.reconciles()


def test_an_older_warehouse_gains_the_new_bookkeeping(tmp_path: Path) -> None:
    """A warehouse loaded before corrections existed reads back, then loads with them."""
    data = valid_dataset(10, 5, optional=False)
    warehouse = tmp_path / "w.duckdb"
    _load(tmp_path, "a", data, warehouse)
    con = duckdb.connect(str(warehouse))
    con.execute("ALTER TABLE _load_tables DROP COLUMN rows_corrected")
    con.execute("ALTER TABLE _load_batches DROP COLUMN rows_corrected")
    con.execute("DROP TABLE _superseded")
    con.close()
    [old] = read_reports(warehouse)
    assert old.rows_corrected == 0 and old.reconciles()
    data["outpatient_appointments"][1]["specialty"] = "999"
    report = _load(tmp_path, "b", data, warehouse, apply_corrections=True)
    assert report.rows_corrected == 1
    assert [r.rows_corrected for r in read_reports(warehouse)] == [0, 1]
