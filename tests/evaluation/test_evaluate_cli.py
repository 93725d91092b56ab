"""`careweave evaluate` end to end on a small synthetic population: the --json keys,
matching and balance figures that hold together, and clear errors for bad input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from careweave.cli.main import main
from careweave.ingest.load import load_dataset
from careweave.synth import generate

OUTCOME_KEYS = {"effect", "ci_low", "ci_high", "naive_before_after", "degree", "verdict"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ev")
    generate(8000, 3, dt.date(2019, 1, 1), dt.date(2023, 12, 31), d / "data")
    load_dataset(d / "data", d / "w.duckdb")
    return d / "w.duckdb"


def test_json_keys_exactly(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--warehouse", str(warehouse), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"treated", "matched", "balance_max_smd", "outcomes"}
    assert set(out["outcomes"]) == {
        "emergency_admissions",
        "bed_days",
        "ae_attendances",
        "spend",
        "deaths",
    }
    assert 0 < out["matched"] <= out["treated"]
    assert 0 <= out["balance_max_smd"] < 0.5
    for name, o in out["outcomes"].items():
        assert set(o) == OUTCOME_KEYS, name
        assert o["ci_low"] <= o["effect"] <= o["ci_high"], name
        assert o["degree"] in {"0%", "1-5%", "5-9%", "10%+"}
        assert isinstance(o["verdict"], str) and o["verdict"]
    assert out["outcomes"]["deaths"]["naive_before_after"] is None
    assert out["outcomes"]["emergency_admissions"]["naive_before_after"] is not None


def test_text_output_shows_balance_and_naive(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", "--warehouse", str(warehouse), "--outcome", "emergency_admissions"]
    assert main([*args, "--follow-up-days", "180"]) == 0
    text = capsys.readouterr().out
    assert "Balance (standardised mean differences" in text
    assert "prognostic_score" in text and "propensity_logit" in text
    assert "naive before/after" in text and "follow-up 180 days" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--outcome", "happiness"], "--outcome: 'happiness'"),
        (["--intervention", "telepathy"], "--intervention: 'telepathy'"),
        (["--follow-up-days", "0"], "--follow-up-days"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    warehouse: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["evaluate", "--warehouse", str(warehouse), *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "no such warehouse" in capsys.readouterr().err
