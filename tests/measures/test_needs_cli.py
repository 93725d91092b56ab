"""`careweave needs`: JSON keys, the needs tables, disclosure on the output, the recorded counts
equal to the prevalence measures' numerators, a bad reference file in one line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from careweave.cli.main import main
from careweave.measures.catalogue import select
from careweave.measures.results import run as run_measures
from risk.simdata import simulate, write_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_warehouse(simulate(600, seed=5), tmp_path_factory.mktemp("nw") / "w.duckdb")


def _shown(v: float | None) -> bool:
    return v is None or v == 0 or (v >= 8 and v % 5 == 0)


def test_json_tables_and_disclosure(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["needs", "--warehouse", str(warehouse), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {
        "as_of",
        "period",
        "reference",
        "registers",
        "localities",
        "practices",
        "levels",
    }
    assert out["as_of"] == "2023-12-31" and out["period"]["start"] == "2023-01-01"
    assert out["reference"]["file"].endswith("prevalence_reference.csv")
    assert "Illustrative approximations" in out["reference"]["source"]
    diabetes = out["registers"]["diabetes"]
    assert diabetes["expected"] is not None and _shown(diabetes["recorded"])
    if diabetes["gap"] is not None:
        assert diabetes["gap"] == pytest.approx(
            diabetes["expected"] - diabetes["recorded"], abs=0.5
        )
        assert diabetes["gap_lower"] <= diabetes["gap"] <= diabetes["gap_upper"]
    assert out["registers"]["cancer"]["expected"] is None  # no reference row
    for area in out["practices"].values():
        for r in area.values():
            assert _shown(r["recorded"]) and _shown(r["population"])
    for items in out["levels"].values():
        assert _shown(items["people"]["value"])
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = dict(
            con.execute(
                "SELECT register, recorded FROM needs_prevalence WHERE group_by = 'all'"
            ).fetchall()
        )
        runs = con.execute("SELECT count(*) FROM needs_runs").fetchone()
        levels = con.execute("SELECT count(DISTINCT ccm_level) FROM needs_levels").fetchone()
    finally:
        con.close()
    assert runs is not None and runs[0] == 1
    assert levels is not None and levels[0] >= 1
    # the recorded counts are the prevalence measures' numerators on the same day
    kpis = select(["prevalence_diabetes", "prevalence_hypertension"])
    summary, _ = run_measures(warehouse, kpis, ())
    assert summary["kpis"]["prevalence_diabetes"]["numerator"] == rows["diabetes"]
    assert summary["kpis"]["prevalence_hypertension"]["numerator"] == rows["hypertension"]


def test_a_bad_reference_is_one_line_and_exit_2(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "ref.csv"
    bad.write_text(
        "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\ngout,male,0,,0.1\n"
    )
    assert main(["needs", "--warehouse", str(warehouse), "--reference", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "register 'gout'" in err
    assert main(["needs", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "no such warehouse" in capsys.readouterr().err
