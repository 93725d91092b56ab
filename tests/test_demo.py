"""The main job, end to end on a small population: synthesise, load, profile, train, stratify,
measure."""

import sqlite3
from pathlib import Path

import duckdb

from careweave.cli.main import main


def test_demo_runs_end_to_end_and_rerun_adds_nothing(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--people", "3000", "--no-serve"]) == 0
    warehouse = out / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        people = con.execute("select count(*) from people").fetchone()
        spells = con.execute("select count(*) from hospital_spells").fetchone()
        quarantined = con.execute("select count(*) from _quarantine").fetchone()
        measured = con.execute(
            "select count(distinct measure) from population_measures where group_by = 'locality'"
        ).fetchone()
        needs = con.execute(
            "select count(*) from needs_prevalence where group_by = 'practice'"
        ).fetchone()
        levels = dict(
            con.execute(
                "select ccm_level, count(*) from risk_scores "
                "where as_of = (select max(as_of) from risk_scores) group by 1"
            ).fetchall()
        )
    assert people == (3000,)
    assert spells is not None and spells[0] > 0
    assert quarantined == (0,)
    assert measured is not None and measured[0] > 40  # the catalogue, by locality
    assert set(levels) == {1, 2, 3, 4}
    assert needs is not None and needs[0] > 0  # the needs assessment ran, by practice
    assert sum(levels.values()) > 2500  # everyone alive and registered at the span end
    assert (out / "models").is_dir() and any((out / "models").glob("*.card.html"))
    store = sqlite3.connect(out / "careweave.sqlite")
    roles = {r for (r,) in store.execute("select role from users")}
    synced = store.execute("select count(*) from people").fetchone()
    store.close()
    assert {"clinician", "care_coordinator", "analyst", "administrator"} <= roles
    assert synced is not None and synced[0] >= 2500

    assert main(["demo", "--out", str(out), "--people", "3000", "--no-serve"]) == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from hospital_spells").fetchone() == spells
        assert con.execute("select count(*) from _load_batches").fetchone() == (1,)
