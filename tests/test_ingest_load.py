"""careweave load as a whole: reconciliation, idempotency, atomicity (kill -9), bad files."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from careweave.cli.main import main
from careweave.dataset.tables import BY_NAME, TABLES
from careweave.errors import InputError
from careweave.ingest import load_dataset, read_reports
from careweave.warehouse import BOOKKEEPING_TABLES, open_read_only, warehouse_span
from ingest_fixtures import SPAN, nullable_schema, row_count, valid_dataset, write_dataset

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(warehouse: Path) -> Snapshot:
    """Every row of every table of the warehouse, sorted: equal snapshots, equal warehouses."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            str(r[0])
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        con.close()


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse holding one batch, and the dataset it came from."""
    data = valid_dataset(12, 1)
    data["ae_attendances"][0]["disposal"] = "unknown"  # one quarantined row
    directory = write_dataset(tmp_path / "batch1", data)
    warehouse = tmp_path / "w.duckdb"
    load_dataset(directory, warehouse)
    return directory, warehouse


def test_counts_reconcile_and_are_stored(loaded: tuple[Path, Path]) -> None:
    directory, warehouse = loaded
    [report] = read_reports(warehouse)
    assert report.reconciles()
    assert report.rows_quarantined == 1
    assert report.rows_in == report.rows_loaded + report.rows_quarantined
    con = open_read_only(warehouse)
    try:
        batch = con.execute(
            "SELECT rows_in, rows_loaded, rows_quarantined, source, span_start, span_end, "
            "source_dir FROM _load_batches"
        ).fetchall()
        assert batch == [
            (report.rows_in, report.rows_loaded, 1, "test", *SPAN, str(directory.resolve()))
        ]
        for t in report.tables:
            (n,) = con.execute(
                f'SELECT count(*) FROM "{t.table}" WHERE _batch_id = ?', [report.batch_id]
            ).fetchone() or (0,)
            assert n == t.rows_new
        (q,) = con.execute("SELECT count(*) FROM _quarantine").fetchone() or (0,)
        assert q == 1
        assert warehouse_span(con) == SPAN
        tables = {str(r[0]) for r in con.execute("SHOW TABLES").fetchall()}
        assert tables >= {t.name for t in TABLES} | set(BOOKKEEPING_TABLES)
    finally:
        con.close()


def test_loading_the_same_batch_twice_adds_nothing(loaded: tuple[Path, Path]) -> None:
    directory, warehouse = loaded
    before = snapshot(warehouse)
    report = load_dataset(directory, warehouse)
    assert report.already_loaded
    assert snapshot(warehouse) == before


def test_same_rows_in_another_batch_add_nothing_but_the_batch_record(
    loaded: tuple[Path, Path], tmp_path: Path
) -> None:
    directory, warehouse = loaded
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    (copy / "manifest.json").write_text(
        (directory / "manifest.json").read_text().replace('"test"', '"test-resent"')
    )
    before = snapshot(warehouse)
    report = load_dataset(copy, warehouse)
    assert not report.already_loaded
    assert report.rows_new == 0
    assert report.rows_unchanged == report.rows_loaded == report.rows_in - 1
    after = snapshot(warehouse)
    for name in (t.name for t in TABLES):
        assert after[name] == before[name], name
    assert len(after["_load_batches"]) == 2


def test_progress_and_report_printing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_dataset(tmp_path / "ds", valid_dataset(5, 2, optional=False))
    code = main(["load", str(directory), "--warehouse", str(tmp_path / "w.duckdb")])
    out = capsys.readouterr().out
    assert code == 0
    assert "hospital_spells" in out and "quarantined" in out
    assert "no rows quarantined" in out
    assert main(["load-report", "--warehouse", str(tmp_path / "w.duckdb")]) == 0
    assert "Load batch" in capsys.readouterr().out


#: Run in a child process: load argv[1] into argv[2] with a progress callback that,
#: once the table argv[3] is written (inside the transaction), writes the file argv[4]
#: and sleeps, so the test can kill the load at a known point.
_PAUSING_LOAD = """
import sys, time
from pathlib import Path
from careweave.ingest import load_dataset

directory, warehouse, after, signal_file, corrections = sys.argv[1:]

def progress(table, step, rows):
    if table == after and step == "done":
        Path(signal_file).write_text(table)
        time.sleep(600)

load_dataset(Path(directory), Path(warehouse), progress=progress,
             apply_corrections=corrections == "1")
"""


def _kill_midway(
    directory: Path, warehouse: Path, tmp_path: Path, after: str, extra: tuple[str, ...] = ()
) -> None:
    """Start loading ``directory`` in a child process (``extra``: ``careweave load`` flags,
    only --apply-corrections is known) and SIGKILL it once the table ``after`` is written."""
    signal_file = tmp_path / f"paused-{after}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _PAUSING_LOAD,
            str(directory),
            str(warehouse),
            after,
            str(signal_file),
            "1" if "--apply-corrections" in extra else "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not signal_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            assert time.monotonic() < deadline, "the load never reached the pause point"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("after", ["people", "hospital_spells", "raw_resources"])
def test_a_load_killed_midway_leaves_the_warehouse_as_it_was(
    loaded: tuple[Path, Path], tmp_path: Path, after: str
) -> None:
    _, warehouse = loaded
    second = write_dataset(tmp_path / "batch2", valid_dataset(30, 9))
    before = snapshot(warehouse)
    _kill_midway(second, warehouse, tmp_path, after)
    assert snapshot(warehouse) == before
    # And the warehouse still works: the same batch then loads in full.
    report = load_dataset(second, warehouse)
    assert report.reconciles() and report.rows_in == row_count(valid_dataset(30, 9))


def test_a_first_load_killed_midway_leaves_no_warehouse(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "ds", valid_dataset(10, 4))
    warehouse = tmp_path / "new.duckdb"
    _kill_midway(directory, warehouse, tmp_path, "observations")
    assert not warehouse.exists()
    report = load_dataset(directory, warehouse)
    assert report.rows_quarantined == 0


def _replace_table(directory: Path, name: str, content: bytes) -> Path:
    path = directory / f"{name}.parquet"
    path.write_bytes(content)
    return path


def _wrong_columns(directory: Path) -> Path:
    path = directory / "ae_attendances.parquet"
    data = pq.read_table(path).drop_columns(["disposal"])
    pq.write_table(data.append_column("outcome", pa.array(["x"] * len(data))), path)
    return path


def _wrong_type(directory: Path) -> Path:
    path = directory / "people.parquet"
    data = pq.read_table(path)
    i = data.column_names.index("date_of_birth")
    pq.write_table(data.set_column(i, "date_of_birth", pa.array([True] * len(data))), path)
    return path


def _truncated(directory: Path) -> Path:
    path = directory / "observations.parquet"
    path.write_bytes(path.read_bytes()[:200])
    return path


def _csv_without_header(directory: Path) -> Path:
    (directory / "ae_attendances.parquet").unlink()
    path = directory / "ae_attendances.csv"
    path.write_text("")
    return path


def _csv_that_is_parquet(directory: Path) -> Path:
    source = directory / "ae_attendances.parquet"
    path = directory / "ae_attendances.csv"
    source.rename(path)
    return path


def _csv_of_blank_lines(directory: Path) -> Path:
    (directory / "ae_attendances.parquet").unlink()
    path = directory / "ae_attendances.csv"
    path.write_text("\n\n\n")
    return path


def _csv_with_other_columns(directory: Path) -> Path:
    (directory / "social_care_assessments.parquet").unlink()
    path = directory / "social_care_assessments.csv"
    path.write_text("a,b,c\n1,2,3\n")
    return path


def _missing_table(directory: Path) -> Path:
    path = directory / "hospital_spells.parquet"
    path.unlink()
    return path


def _missing_manifest(directory: Path) -> Path:
    path = directory / "manifest.json"
    path.unlink()
    return path


def _bad_manifest(directory: Path) -> Path:
    path = directory / "manifest.json"
    path.write_text("{not json")
    return path


def _empty_parts_folder(directory: Path) -> Path:
    (directory / "telehealth_readings.parquet").unlink()
    path = directory / "telehealth_readings"
    path.mkdir()
    return path


def _corrupt_pages(directory: Path) -> Path:
    # Valid footer (so the file's columns check out) but garbage data pages.
    path = directory / "medications.parquet"
    table = pa.Table.from_pylist(
        valid_dataset(200, 7)["medications"],
        schema=nullable_schema(pq.read_schema(path)),
    )
    pq.write_table(table, path, compression="none")
    raw = bytearray(path.read_bytes())
    for i in range(8, len(raw) // 2):
        raw[i] = 0xFF
    path.write_bytes(bytes(raw))
    return path


BAD_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("wrong columns", _wrong_columns, "missing column(s) disposal"),
    ("wrong column type", _wrong_type, "column date_of_birth is BOOLEAN, expected DATE"),
    ("not parquet", lambda d: _replace_table(d, "people", b"nhs_number\n1\n"), "not a Parquet"),
    ("empty file", lambda d: _replace_table(d, "organisations", b""), "empty file"),
    ("truncated parquet", _truncated, "not a readable Parquet file"),
    ("corrupt parquet pages", _corrupt_pages, "cannot read"),
    ("csv without header", _csv_without_header, "empty"),
    ("csv that is binary", _csv_that_is_parquet, "not a CSV file"),
    ("csv of blank lines", _csv_of_blank_lines, "empty CSV file (no header row)"),
    ("csv with other columns", _csv_with_other_columns, "missing column(s)"),
    ("missing required table", _missing_table, "missing"),
    ("missing manifest", _missing_manifest, "missing"),
    ("unreadable manifest", _bad_manifest, "not a Careweave dataset manifest"),
    ("empty parts folder", _empty_parts_folder, "no Parquet parts"),
]


@pytest.mark.parametrize(("spoil", "message"), [pytest.param(*c[1:], id=c[0]) for c in BAD_FILES])
def test_a_bad_file_stops_the_load_with_one_line_and_nothing_written(
    loaded: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: Callable[[Path], Path],
    message: str,
) -> None:
    _, warehouse = loaded
    bad = write_dataset(tmp_path / "bad", valid_dataset(8, 6))
    path = spoil(bad)
    before = snapshot(warehouse)
    capsys.readouterr()
    code = main(["load", str(bad), "--warehouse", str(warehouse), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    assert message in lines[0]
    assert snapshot(warehouse) == before
    # A new warehouse is not even created.
    fresh = tmp_path / "fresh.duckdb"
    assert main(["load", str(bad), "--warehouse", str(fresh), "--quiet"]) == 2
    assert not fresh.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fresh.duckdb")]


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_dataset(tmp_path / "bad", valid_dataset(4, 6, optional=False))
    path = bad / "people.parquet"
    path.unlink()
    path.mkdir()  # a folder of parts whose only part cannot be opened
    part = path / "part-0.parquet"
    part.symlink_to(tmp_path / "nowhere.parquet")
    code = main(["load", str(bad), "--warehouse", str(tmp_path / "w.duckdb"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"careweave: error: {part}: cannot read (No such file or directory)"
    assert not (tmp_path / "w.duckdb").exists()


def test_optional_tables_may_be_absent_and_parts_folders_load(tmp_path: Path) -> None:
    data = valid_dataset(10, 3, optional=False)
    directory = write_dataset(tmp_path / "ds", data)
    parts = directory / "observations"
    parts.mkdir()
    rows = data["observations"]
    schema = nullable_schema(BY_NAME["observations"].arrow_schema)
    half = len(rows) // 2
    pq.write_table(pa.Table.from_pylist(rows[:half], schema=schema), parts / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(rows[half:], schema=schema), parts / "part-1.parquet")
    (directory / "observations.parquet").unlink()
    report = load_dataset(directory, tmp_path / "w.duckdb")
    assert report.rows_quarantined == 0
    assert report.table("observations").rows_new == len(rows)
    assert report.table("observations").source_file == "observations/"
    assert "procedures" not in {t.table for t in report.tables}


def test_a_warehouse_in_use_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_dataset(tmp_path / "ds", valid_dataset(4, 1, optional=False))
    warehouse = tmp_path / "w.duckdb"
    load_dataset(directory, warehouse)
    ready = tmp_path / "holding"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, pathlib, sys, time; c = duckdb.connect(sys.argv[1]); "
            "pathlib.Path(sys.argv[2]).touch(); time.sleep(120)",
            str(warehouse),
            str(ready),
        ]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        other = write_dataset(tmp_path / "other", valid_dataset(5, 2, optional=False))
        code = main(["load", str(other), "--warehouse", str(warehouse), "--quiet"])
        err = capsys.readouterr().err.strip()
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert err == (
        f"careweave: error: {warehouse}: the warehouse is in use by another process; "
        "try again when it finishes"
    )


def test_a_file_that_is_not_a_warehouse_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_dataset(tmp_path / "ds", valid_dataset(3, 1, optional=False))
    warehouse = tmp_path / "notes.txt"
    warehouse.write_text("not a database\n" * 100)
    code = main(["load", str(directory), "--warehouse", str(warehouse), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"careweave: error: {warehouse}: ")
    assert warehouse.read_text() == "not a database\n" * 100


def test_a_warehouse_of_another_shape_is_refused(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE TABLE people (nhs_number VARCHAR)")
    con.close()
    directory = write_dataset(tmp_path / "ds", valid_dataset(3, 1, optional=False))
    with pytest.raises(InputError, match="warehouse table people: missing column"):
        load_dataset(directory, warehouse)
    assert snapshot(warehouse) == {"people": []}


def test_profile_of_the_loaded_warehouse_equals_profile_of_the_dataset(tmp_path: Path) -> None:
    import datetime as dt

    from careweave.profile.engine import profile_dataset_dir, profile_warehouse
    from careweave.synth import generate

    generate(800, 11, dt.date(2022, 1, 1), dt.date(2023, 12, 31), tmp_path / "ds")
    report = load_dataset(tmp_path / "ds", tmp_path / "w.duckdb")
    assert report.rows_quarantined == 0
    assert profile_warehouse(tmp_path / "w.duckdb") == profile_dataset_dir(tmp_path / "ds")


def test_a_missing_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["load", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"careweave: error: {tmp_path / 'nope'}: no such dataset directory"
    )
    assert not (tmp_path / "w.duckdb").exists()


def test_the_loader_implements_every_column_check() -> None:
    from careweave.ingest.rules import KNOWN_CHECKS

    assert {c.check for t in TABLES for c in t.columns} <= KNOWN_CHECKS


def test_person_tables_are_written_in_nhs_number_order(tmp_path: Path) -> None:
    """Each batch lands sorted by person, whatever the files' order, so DuckDB's zone maps
    let the patient page read one person's rows without scanning the table
    (ingest/steps.insert_rows)."""
    import random

    data = valid_dataset(12, 1)
    for rows in data.values():
        random.Random(5).shuffle(rows)
    warehouse = tmp_path / "w.duckdb"
    load_dataset(write_dataset(tmp_path / "batch1", data), warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        checked = 0
        for table in TABLES:
            if table.person_column is None or table.person_column not in table.column_names:
                continue
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                [table.name],
            ).fetchone()
            if not found or not found[0]:
                continue
            column = [
                r[0]
                for r in con.execute(
                    f'SELECT "{table.person_column}" FROM "{table.name}"'
                ).fetchall()
            ]
            assert column == sorted(column), table.name
            checked += len(column) > 1
        assert checked >= 5
    finally:
        con.close()
