"""Stratify keeps each person's spend and the tariff's identity in risk_scores; the web reads them.

Before, the workbench's segment page recomputed spend per request (and always with the
default tariff); these tests show the persisted values equal that recomputation, and that
a tariff override reaches the rows and the page.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from careweave.cli.main import main
from careweave.dataset.tariff import default_tariff, identity, load_tariff
from careweave.risk import segments
from careweave.warehouse.engines import DuckDBEngine
from careweave.web import warehouse as wh

AS_OF = dt.date(2022, 3, 1)  # a date no other risk test writes


@pytest.fixture(scope="module")
def stratified(sim_warehouse: Path, trained: dict[str, Any]) -> dict[str, Any]:
    from careweave import risk

    return risk.stratify(sim_warehouse, AS_OF, model=Path(trained["model"]))


def _spend(warehouse: Path, as_of: dt.date, tariff: dict[str, Any]) -> pd.DataFrame:
    """The spend definition recomputed now (what the web did on every request)."""
    engine = DuckDBEngine.open(warehouse)
    try:
        return engine.to_arrow(segments.spend(engine, as_of, tariff)).to_pandas()
    finally:
        engine.close()


def _rows(warehouse: Path, as_of: dt.date) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT nhs_number, segment, spend_12m, tariff FROM risk_scores WHERE as_of = ?",
            [as_of],
        ).df()
    finally:
        con.close()


def test_rows_keep_spend_and_the_tariff(stratified: dict[str, Any], sim_warehouse: Path) -> None:
    rows = _rows(sim_warehouse, AS_OF)
    spend = _spend(sim_warehouse, AS_OF, default_tariff())
    both = rows.merge(spend, on="nhs_number", how="left", suffixes=("", "_now"))
    assert len(both) == stratified["people"] and both["spend_12m"].notna().all()
    # Whole pence on both sides: exactly equal, person by person (no activity: 0).
    assert (both["spend_12m"] == both["spend_12m_now"].fillna(0.0)).all()
    assert (both["spend_12m"] > 0).sum() > len(both) // 3  # about half had activity in the year
    default_id = identity(default_tariff())
    assert set(rows["tariff"]) == {default_id} and stratified["tariff"] == default_id
    assert default_id.startswith("default:") and len(default_id) == len("default:") + 12


def test_the_web_reads_what_it_used_to_recompute(
    stratified: dict[str, Any], sim_warehouse: Path, tmp_path: Path
) -> None:
    rows = _rows(sim_warehouse, AS_OF)
    spend = _spend(sim_warehouse, AS_OF, default_tariff())
    # The old per-request query: scores at the latest date joined with fresh spend.
    old = rows.merge(spend, on="nhs_number", suffixes=("", "_now"))
    expected = old.groupby("segment")["spend_12m_now"].sum().to_dict()
    # A copy whose latest scores are AS_OF's (other risk tests score other dates).
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(sim_warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute("DELETE FROM risk_scores WHERE as_of <> ?", [AS_OF])
    con.close()
    with wh.connect(copy) as con:
        got = wh.segment_spend(con)
    assert got is not None and got.as_of == AS_OF
    assert got.tariff == identity(default_tariff())
    assert got.by_segment == pytest.approx(expected, rel=1e-12)


def test_a_tariff_override_reaches_the_rows(
    sim_warehouse: Path,
    trained: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--tariff` (here from CAREWEAVE_TARIFF, the settings) prices the persisted spend."""
    override = tmp_path / "dear-medicines.toml"
    override.write_text("[primary_care]\nmedication_item = 100.0\n")
    monkeypatch.setenv("CAREWEAVE_TARIFF", str(override))
    as_of = "2022-04-01"
    args = ["stratify", "--warehouse", str(sim_warehouse), "--as-of", as_of]
    assert main([*args, "--model", trained["model"], "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    tariff = load_tariff(override)
    assert summary["tariff"] == identity(tariff, override)
    assert summary["tariff"].startswith("dear-medicines.toml:")
    assert summary["tariff"] != identity(default_tariff())
    rows = _rows(sim_warehouse, dt.date.fromisoformat(as_of))
    assert set(rows["tariff"]) == {summary["tariff"]}
    spend = _spend(sim_warehouse, dt.date.fromisoformat(as_of), tariff)
    both = rows.merge(spend, on="nhs_number", how="left", suffixes=("", "_now"))
    assert (both["spend_12m"] == both["spend_12m_now"].fillna(0.0)).all()
    default = _spend(sim_warehouse, dt.date.fromisoformat(as_of), default_tariff())
    cheaper = rows.merge(default, on="nhs_number", suffixes=("", "_default"))
    assert both["spend_12m"].sum() > cheaper["spend_12m_default"].sum()  # dearer medicines


def test_identity_depends_on_the_costs_only() -> None:
    t = default_tariff()
    assert identity(t) == identity(default_tariff())
    changed = {k: dict(v) for k, v in t.items()}
    changed["hospital"]["ae_attendance"] += 1
    assert identity(changed) != identity(t)
    assert identity(t, Path("/x/mine.toml")).split(":")[1] == identity(t).split(":")[1]
