"""``risk_scores`` is kept in NHS-number order across runs (the patient page's zone maps)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

from careweave.dataset.derived import RISK_SCORES
from careweave.risk.scoring import write_risk_scores


def _run(nhs: list[str], as_of: dt.date, level: int) -> pa.Table:
    schema = RISK_SCORES.arrow_schema
    n = len(nhs)
    arrays = []
    for f in schema:
        if f.name == "nhs_number":
            arrays.append(pa.array(nhs, f.type))
        elif f.name == "as_of":
            arrays.append(pa.array([as_of] * n, f.type))
        elif f.name == "ccm_level":
            arrays.append(pa.array([level] * n, f.type))
        elif pa.types.is_list(f.type):
            arrays.append(pa.array([["because"]] * n, f.type))
        elif pa.types.is_string(f.type):
            arrays.append(pa.array(["x"] * n, f.type))
        elif pa.types.is_boolean(f.type):
            arrays.append(pa.array([False] * n, f.type))
        elif pa.types.is_date(f.type):
            arrays.append(pa.array([as_of] * n, f.type))
        else:
            arrays.append(pa.array([1] * n).cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def test_runs_are_stored_person_by_person_and_a_rerun_replaces_its_date(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    people = [f"{9_000_000_000 + i:010d}" for i in range(0, 300, 3)]
    first, second = dt.date(2023, 1, 31), dt.date(2024, 1, 31)
    write_risk_scores(wh, _run(list(reversed(people)), second, 2), second)
    write_risk_scores(wh, _run(people, first, 1), first)
    write_risk_scores(wh, _run(people, second, 3), second)  # the later run again, replaced
    con = duckdb.connect(str(wh), read_only=True)
    try:
        rows = con.execute("SELECT nhs_number, as_of, ccm_level FROM risk_scores").fetchall()
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'risk_scores'"
            ).fetchall()
        )
    finally:
        con.close()
    # storage order is (NHS number, as-of): each person's runs sit together
    assert [(r[0], r[1]) for r in rows] == sorted((p, d) for p in people for d in (first, second))
    assert {r[2] for r in rows if r[1] == second} == {3}
    assert len(rows) == 2 * len(people)
    assert types["ccm_level"] in ("SMALLINT", "TINYINT", "INTEGER", "BIGINT")
    assert types["as_of"] == "DATE"


def test_ordering_keeps_every_value_of_both_runs(tmp_path: Path) -> None:
    """Two runs written in arbitrary order come back row for row, every column as written
    (the rewrite in NHS-number order only moves rows), and stored in (NHS number, as_of)."""
    wh = tmp_path / "w.duckdb"
    first, second = dt.date(2024, 12, 31), dt.date(2025, 12, 31)
    people = [f"{9_990_000_000 + (i * 7919) % 1000:010d}" for i in range(200)]
    runs = []
    for as_of, level, nhs in ((second, 4, people), (first, 2, list(reversed(people)))):
        t = _run(nhs, as_of, level)
        t = t.set_column(
            t.schema.get_field_index("probability"),
            "probability",
            pa.array([int(p[-3:]) / 1000 for p in nhs], pa.float64()),
        )
        t = t.set_column(
            t.schema.get_field_index("explanation"),
            "explanation",
            pa.array([[f"driver {p}", str(as_of)] for p in nhs], pa.list_(pa.string())),
        )
        runs.append(t)
        write_risk_scores(wh, t, as_of)
    names = ", ".join(f'"{c.name}"' for c in RISK_SCORES.columns)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        stored = con.execute(f"SELECT {names} FROM risk_scores").fetchall()
    finally:
        con.close()
    written = [tuple(r.values()) for t in runs for r in t.to_pylist()]
    key = [RISK_SCORES.column_names.index(c) for c in ("nhs_number", "as_of")]
    assert stored == sorted(written, key=lambda r: tuple(r[i] for i in key))
