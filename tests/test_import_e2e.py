"""Each fixture: `careweave import` -> `careweave load` -> `careweave profile`, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from careweave.cli.main import main
from test_import_fhir import EDGE, SYNTHEA, SYNTHEA_ROWS
from test_import_synthea_csv import CSV, CSV_ROWS

EDGE_ROWS = {
    "organisations": 3,
    "people": 6,
    "primary_care_events": 3,
    "observations": 9,
    "medications": 1,
    "primary_care_contacts": 2,
    "hospital_spells": 2,
    "ae_attendances": 1,
    "outpatient_appointments": 1,
    "community_contacts": 1,
    "telehealth_readings": 1,
    "immunisations": 1,
    "raw_resources": 5,
}


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> tuple[dict[str, int], dict[str, object]]:
    ds, wh = tmp_path / "ds", tmp_path / "w.duckdb"
    assert main(["import", *command, "--out", str(ds)]) == 0
    assert main(["load", str(ds), "--warehouse", str(wh), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["profile", "--warehouse", str(wh), "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    with duckdb.connect(str(wh), read_only=True) as con:
        (rows_in, loaded, quarantined) = con.execute(
            "SELECT sum(rows_in), sum(rows_loaded), sum(rows_quarantined) FROM _load_batches"
        ).fetchone() or (0, 0, 0)
        assert quarantined == 0 and rows_in == loaded
        tables = {
            name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # type: ignore[index]
            for name in list(SYNTHEA_ROWS) + list(CSV_ROWS) + list(EDGE_ROWS)
        }
    # Loading the same dataset again adds nothing.
    assert main(["load", str(ds), "--warehouse", str(wh), "--quiet"]) == 0
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM people").fetchone()[0] == tables["people"]  # type: ignore[index]
    return {k: v for k, v in tables.items() if v}, profile


def test_synthea_fhir_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    counts, profile = run(capsys, tmp_path, ["fhir", str(SYNTHEA / "fhir")])
    assert counts == SYNTHEA_ROWS
    assert profile["people"] == 2
    assert profile["population_at_span_end"] == 1  # one of the two died in 2009
    assert profile["people_by_deprivation_decile"] == {"unknown": 1}
    prevalence = profile["prevalence"]
    assert isinstance(prevalence, dict) and prevalence["stroke_tia"] == 1.0


def test_synthea_csv_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    counts, profile = run(capsys, tmp_path, ["synthea-csv", str(CSV)])
    assert counts == CSV_ROWS
    assert profile["people"] == 3 and profile["population_at_span_end"] == 3
    assert profile["death_rate"] == 0.0
    assert isinstance(profile["emergency_admissions_per_1000"], float)
    assert profile["emergency_admissions_per_1000"] > 0  # emergency spells after A&E


def test_edge_fixtures_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    counts, profile = run(capsys, tmp_path, ["fhir", str(EDGE / "fhir")])
    assert counts == EDGE_ROWS
    assert profile["people"] == 6
