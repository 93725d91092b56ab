"""Wrong input stops an import (exit 2, naming file and column); row-level problems stay warnings.

Issue 15 item 7: a Synthea ``patients.csv`` without BIRTHDATE, or empty, and an
``encounters.csv`` without PATIENT used to import "successfully" with 0 people
and a count of problems that named neither file nor column.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from careweave.cli.main import main
from careweave.errors import InputError
from careweave.importers.fhir import import_fhir
from careweave.importers.report import REPORT_FILE
from careweave.importers.synthea_csv import import_synthea_csv
from test_import_fhir import EDGE
from test_import_synthea_csv import CSV


def _copy(tmp_path: Path) -> Path:
    src = tmp_path / "csv"
    shutil.copytree(CSV, src)
    for f in src.iterdir():
        f.chmod(0o644)
    return src


def _drop_column(path: Path, column: str) -> None:
    reader = csv.DictReader(path.open(newline=""))
    rows = list(reader)
    fields = [f for f in reader.fieldnames or () if f != column]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue())


def _cli(src: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["import", "synthea-csv", str(src), "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize(
    ("table", "column"),
    [("patients", "BIRTHDATE"), ("encounters", "PATIENT"), ("conditions", "CODE")],
)
def test_missing_required_column_exits_2_naming_file_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, column: str
) -> None:
    src = _copy(tmp_path)
    _drop_column(src / f"{table}.csv", column)
    out = tmp_path / "ds"
    code, err = _cli(src, out, capsys)
    assert code == 2
    line = err.strip()
    assert len(line.splitlines()) == 1
    assert f"{src / table}.csv" in line and f"no {column} column" in line
    assert not out.exists(), "nothing written"
    assert not list(tmp_path.glob(".ds.importing-*"))


def test_empty_patients_csv_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _copy(tmp_path)
    (src / "patients.csv").write_text("")
    code, err = _cli(src, tmp_path / "ds", capsys)
    assert code == 2
    assert "patients.csv: empty, no header row" in err and "BIRTHDATE" in err


def test_patients_csv_with_only_a_header_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _copy(tmp_path)
    header = (src / "patients.csv").read_text().splitlines()[0]
    (src / "patients.csv").write_text(header + "\n")
    code, err = _cli(src, tmp_path / "ds", capsys)
    assert code == 2
    assert "patients.csv: no rows after the header" in err


def test_unmapped_table_with_any_columns_is_still_kept_raw(tmp_path: Path) -> None:
    src = _copy(tmp_path)
    _drop_column(src / "claims.csv", "PATIENTID")  # a table Careweave keeps raw
    (src / "supplies.csv").write_text("")
    report = import_synthea_csv(src, tmp_path / "ds")
    assert report.raw["claims"] > 0
    assert report.problems_by_file_kind[(str(src / "supplies.csv"), "empty_file")] == 1


def test_row_problems_are_warnings_counted_per_file_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _copy(tmp_path)
    cond = src / "conditions.csv"
    lines = cond.read_text().splitlines()
    lines[2:2] = [
        "2020-01-01,,,,38341003,Hypertension",  # no PATIENT
        "2020-02-01,,,,44054006,Diabetes",  # no PATIENT
        "2020-01-01,,nobody,,38341003,Hypertension",  # not a patient in the input
        "2020-01-01,too,few",  # wrong width (and so missing CODE)
    ]
    cond.write_text("\n".join(lines) + "\n")
    out = tmp_path / "ds"
    assert main(["import", "synthea-csv", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rep = json.loads((out / REPORT_FILE).read_text())
    by = rep["problems"]["by_file_and_kind"]
    assert by[str(cond)] == {"dangling_reference": 1, "malformed_row": 1, "missing_field": 3}
    assert sum(n for kinds in by.values() for n in kinds.values()) == rep["problems"]["count"]
    assert "Problems by file and kind" in printed
    assert "missing_field" in printed and "warning:" in printed


def test_fhir_without_any_patient_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bulk"
    src.mkdir()
    shutil.copy(EDGE / "fhir" / "bulk" / "Observation.ndjson.gz", src)
    out = tmp_path / "ds"
    with pytest.raises(InputError, match=r"Observation\.ndjson\.gz: no Patient resource"):
        import_fhir([src], out)
    assert main(["import", "fhir", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no Patient resource in the input" in err and "Patient.ndjson" in err
    assert not out.exists()
    # With the export's Patient file the same input imports.
    shutil.copy(EDGE / "fhir" / "bulk" / "Patient.ndjson", src)
    assert main(["import", "fhir", str(src), "--out", str(out)]) == 0
