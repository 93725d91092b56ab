"""The main job, end to end on a small population: synthesise, load, profile."""

from pathlib import Path

import duckdb

from careweave.cli.main import main


def test_demo_runs_end_to_end_and_rerun_adds_nothing(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--people", "3000"]) == 0
    warehouse = out / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        people = con.execute("select count(*) from people").fetchone()
        spells = con.execute("select count(*) from hospital_spells").fetchone()
        quarantined = con.execute("select count(*) from _quarantine").fetchone()
    assert people == (3000,)
    assert spells is not None and spells[0] > 0
    assert quarantined == (0,)

    assert main(["demo", "--out", str(out), "--people", "3000"]) == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from hospital_spells").fetchone() == spells
        assert con.execute("select count(*) from _load_batches").fetchone() == (1,)
