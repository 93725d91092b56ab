"""`careweave finance spend`: the split adds up, the tariff's funders are honoured, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from careweave.cli.main import main
from careweave.dataset.tariff import FUNDERS, SETTINGS
from risk.simdata import simulate, write_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_warehouse(simulate(500, seed=7), tmp_path_factory.mktemp("fw") / "w.duckdb")


def _spend(warehouse: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, dict]:
    args = ["finance", "spend", "--warehouse", str(warehouse), "--json", "--by", "practice"]
    assert main([*args, *extra]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "duckdb" and out["people"] == 500
    return {f"{r['split']}:{r['category']}": r for r in out["spend"]}


def test_settings_and_funders_each_add_up_to_the_total(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _spend(warehouse, capsys)
    total = rows["total:all"]["spend"]
    assert total > 0
    assert sum(rows[f"setting:{s}"]["spend"] for s in SETTINGS) == pytest.approx(total)
    assert sum(rows[f"funder:{f}"]["spend"] for f in FUNDERS) == pytest.approx(total)
    assert rows["setting:acute"]["spend"] > 0 and rows["funder:nhs"]["spend"] > 0
    r = rows["total:all"]
    # per head is pounds per (rounded) person-year
    assert r["per_head"] == pytest.approx(total / round(total / r["per_head"] / 5) / 5, rel=1e-6)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        got = con.execute(
            "SELECT group_by, count(DISTINCT measure) FROM population_measures "
            "WHERE measure LIKE 'spend_per_head%' GROUP BY ALL"
        ).fetchall()
        practice_sum, board = con.execute(
            "SELECT sum(numerator) FILTER (group_by = 'practice'), "
            "sum(numerator) FILTER (group_by = 'all') FROM population_measures "
            "WHERE measure = 'spend_per_head_acute' AND interval = 'month'"
        ).fetchone()
    finally:
        con.close()
    assert dict(got) == {"all": 10, "practice": 10}
    assert practice_sum == pytest.approx(board)


def test_the_tariff_file_says_who_pays(
    warehouse: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = _spend(warehouse, capsys)
    f = tmp_path / "tariff.toml"
    f.write_text('[funder]\nhospital = "pooled"\n')
    after = _spend(warehouse, capsys, "--tariff", str(f))
    acute = before["setting:acute"]["spend"]
    assert after["total:all"]["spend"] == pytest.approx(before["total:all"]["spend"])
    assert after["funder:pooled"]["spend"] == pytest.approx(
        before["funder:pooled"]["spend"] + acute
    )
    assert after["funder:nhs"]["spend"] == pytest.approx(before["funder:nhs"]["spend"] - acute)


def test_text_output_and_csv(
    warehouse: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_csv = tmp_path / "spend.csv"
    args = ["finance", "spend", "--warehouse", str(warehouse), "--csv", str(out_csv)]
    assert main([*args, "--by", "segment"]) == 0
    text = capsys.readouterr().out
    assert "Acute hospital" in text and "paid by: Pooled budget" in text
    head = out_csv.read_text().splitlines()[0].split(",")
    assert head[:3] == ["split", "category", "label"] and "per_head" in head


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "postcode"], "--by: unknown dimension 'postcode'"),
        (["--tariff", "TARIFF"], "[funder] hospital: expected one of nhs"),
        (["--from", "2023-13-01"], "--from: expected a date"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    warehouse: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[funder]\nhospital = "council"\n')
    extra = [str(bad) if a == "TARIFF" else a for a in extra]
    assert main(["finance", "spend", "--warehouse", str(warehouse), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    if "TARIFF" in extra or "--tariff" in extra:
        assert str(bad) in err
