"""`careweave import synthea-csv` on the three-patient extract and on damaged copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from careweave.cli.main import main
from careweave.errors import InputError
from careweave.importers.report import REPORT_FILE
from careweave.importers.synthea_csv import import_synthea_csv
from dataset_check import check_dataset, counts

CSV = Path("/work/shared/fixtures/synthea/csv")
_local = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "synthea" / "csv"
if _local.exists():
    CSV = _local

CSV_ROWS = {
    "organisations": 63,
    "people": 3,
    "primary_care_events": 86,
    "observations": 191,
    "medications": 98,
    "primary_care_contacts": 68,  # wellness + ambulatory
    "outpatient_appointments": 11,
    "hospital_spells": 5,
    "ae_attendances": 4,  # emergency + urgent care
    "procedures": 22,
    "immunisations": 3,
    "care_plans": 5,
    "raw_resources": 994,  # claims, transactions, payers, transitions + 9 QALY/DALY/QOLS rows
}


def test_synthea_csv_maps_every_row(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = import_synthea_csv(CSV, out)
    data = check_dataset(out)
    assert counts(data) == CSV_ROWS
    rep = json.loads((out / REPORT_FILE).read_text())
    for table, c in rep["resources"].items():
        assert c["seen"] == c["mapped"] + c["kept_raw"] + c["rejected"], table
    assert rep["resources"]["claims_transactions"]["kept_raw"] == 668
    assert report.problems_by_kind == {"bad_value": 9}  # Synthea's pseudo-LOINC QALY etc.
    people = data["people"].to_pylist()
    assert [p["ethnic_group"] for p in people] == ["white", "white", "white"]
    assert all(p["source_id"] for p in people)
    # Synthea's costs are US dollars: without a rate, the tariff applies.
    assert data["hospital_spells"].column("cost").null_count == 5
    assert rep["unmapped_codes"]["urn:iso:std:iso:4217"]["examples"] == ["USD"]


def test_synthea_csv_exchange_rate(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    import_synthea_csv(CSV, out, rates={"USD": 0.5})
    data = check_dataset(out)
    assert data["hospital_spells"].column("cost").null_count == 0
    assert data["procedures"].column("cost").null_count == 0


def _copy(tmp_path: Path) -> Path:
    src = tmp_path / "csv"
    shutil.copytree(CSV, src)
    for f in src.iterdir():
        f.chmod(0o644)
    return src


def test_damaged_csv_reports_rows_and_imports_the_rest(tmp_path: Path) -> None:
    src = _copy(tmp_path)
    cond = src / "conditions.csv"
    lines = cond.read_text().splitlines()
    lines.insert(2, "2020-01-01,,,,38341003,Hypertension")  # row 2: no PATIENT
    lines.insert(3, "2020-01-01,,nobody,,38341003,Hypertension")  # row 3: dangling patient
    lines.insert(4, "2020-01-01,too,few")  # row 4: wrong width
    cond.write_text("\n".join(lines) + "\n")
    enc = src / "encounters.csv"
    elines = enc.read_text().splitlines()
    parts = elines[1].split(",")
    parts[0] = "enc-teleport"
    parts[7] = "teleport"
    elines.append(",".join(parts))
    enc.write_text("\n".join(elines) + "\n")
    (src / "mystery.csv").write_text("A,B\n1,2\n")
    out = tmp_path / "ds"
    report = import_synthea_csv(src, out)
    data = check_dataset(out)
    assert data["primary_care_events"].num_rows == 86
    found = {(Path(p.file).name, p.entry, p.kind) for p in report.problems}
    assert ("conditions.csv", 2, "missing_field") in found
    assert ("conditions.csv", 3, "dangling_reference") in found
    assert ("conditions.csv", 4, "malformed_row") in found
    assert ("encounters.csv", 89, "bad_value") in found
    raw = data["raw_resources"].to_pylist()
    assert any(r["resource_type"] == "mystery" for r in raw)
    assert any(r["resource_type"] == "encounters" and "teleport" in r["reason"] for r in raw), (
        "unknown encounter class kept raw"
    )
    assert report.unmapped_codes["synthea:ENCOUNTERCLASS"]["teleport"] == 1


def test_not_a_synthea_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"patients\.csv"):
        import_synthea_csv(tmp_path, tmp_path / "out")
    assert main(["import", "synthea-csv", str(tmp_path), "--out", str(tmp_path / "o")]) == 2


def test_cli_synthea_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    assert main(["import", "synthea-csv", str(CSV), "--out", str(out), "--rate", "USD=0.79"]) == 0
    assert "Rows written" in capsys.readouterr().out
    assert main(["import", "synthea-csv", str(CSV), "--out", str(out), "--rate", "USD"]) == 2
