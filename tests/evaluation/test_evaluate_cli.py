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
        assert o["degree"] in {"0%", "1-5%", "5-9%", "10%+", "too few to say"}
        if o["degree"] == "too few to say":  # the small test population's deaths, say
            assert o["verdict"].startswith("Too few people had")
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


def test_model_is_the_prognostic_score(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--model: the risk model's prediction at each enrolment month is the score matched on
    (composed in by the CLI: the risk and evaluation packages are siblings)."""
    model = tmp_path / "m.pkl"
    assert (
        main(
            [
                "model",
                "train",
                "--warehouse",
                str(warehouse),
                "--as-of",
                "2020-06-01",
                "--out",
                str(model),
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    args = ["evaluate", "--warehouse", str(warehouse), "--outcome", "emergency_admissions"]
    assert main([*args, "--model", str(model)]) == 0
    text = capsys.readouterr().out
    assert "Prognostic score: risk model 2020-06-01-" in text
    assert main(args) == 0
    assert "Prognostic score: fallback" in capsys.readouterr().out


def test_model_scores_asked_at_each_month_and_unscored_left_out(warehouse: Path) -> None:
    """The outside score is asked for once per enrolment month, on its first day; people
    it does not score are not evaluated that month."""
    import numpy as np

    from careweave.evaluation.run import evaluate
    from careweave.warehouse.engines import DuckDBEngine

    asked: list[dt.date] = []
    eng = DuckDBEngine.open(warehouse)
    try:
        ids = np.asarray(
            eng.to_arrow(eng.table("people").select("nhs_number"))["nhs_number"].to_pylist(),
            dtype=object,
        )

        def half_score(day: dt.date) -> tuple[np.ndarray, np.ndarray]:
            asked.append(day)
            keep = ids[::2]  # every other person only
            return keep, np.zeros(len(keep))

        half = evaluate(
            eng, outcomes=("emergency_admissions",), prognostic=half_score, prognostic_source="test"
        )
        full = evaluate(eng, outcomes=("emergency_admissions",))
    finally:
        eng.close()
    assert asked and len(asked) == len(set(asked)) and all(d.day == 1 for d in asked)
    assert half["prognostic"] == "test"
    assert 0 < half["matched"] < full["matched"]


def test_model_that_is_not_one(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pkl"
    bad.write_text("not a model")
    assert main(["evaluate", "--warehouse", str(warehouse), "--model", str(bad)]) == 2
    assert "not a Careweave model artefact" in capsys.readouterr().err
    assert main(["evaluate", "--warehouse", str(warehouse), "--model", str(tmp_path / "no")]) == 2
    assert "no such model file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("intervention", "table", "where"),
    [
        ("telehealth", "telecare_services", "service_type = 'telehealth_monitoring'"),
        ("telecare", "telecare_services", "true"),
        ("reablement", "reablement_episodes", "true"),
        ("community:rapid_response", "community_contacts", "service = 'rapid_response'"),
    ],
)
def test_other_interventions_with_enrolment_dates(
    warehouse: Path, intervention: str, table: str, where: str
) -> None:
    """The same method for a telehealth start, telecare, a referral to reablement or a
    first contact with a community service: the treated are the people whose earliest
    such date is in the evaluable window."""
    import duckdb

    from careweave.evaluation.run import evaluate
    from careweave.warehouse.engines import DuckDBEngine

    date = "contact_date" if table == "community_contacts" else "start_date"
    con = duckdb.connect(str(warehouse), read_only=True)
    first_adm, last = con.execute(
        "select min(admission_date), greatest(max(admission_date), "
        "(select max(attendance_date) from ae_attendances)) from hospital_spells"
    ).fetchone()
    expected = con.execute(
        f"select count(*) from (select nhs_number, min({date}) d from {table} where {where} "
        "group by 1) where d >= ? + 365 and d <= ? "
        "and nhs_number in (select nhs_number from people)",
        [first_adm, last],
    ).fetchone()[0]
    con.close()
    eng = DuckDBEngine.open(warehouse)
    try:
        out = evaluate(eng, intervention=intervention, outcomes=("emergency_admissions",))
    finally:
        eng.close()
    assert out["treated"] == expected > 0
    assert 0 < out["matched"] <= out["treated"]
    assert out["intervention"] == intervention


def test_unknown_community_service(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["evaluate", "--warehouse", str(warehouse), "--intervention", "community:astrology"])
        == 2
    )
    assert "--intervention: 'community:astrology'" in capsys.readouterr().err


def test_store_keeps_the_result(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--store URL keeps the result (inputs, balance, effects, verdict, date, method
    version) in the operational store; --json output stays the four keys."""
    from careweave.care.evaluations import latest
    from careweave.evaluation.run import DEFINITION_VERSION
    from careweave.store.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["evaluate", "--warehouse", str(warehouse), "--outcome", "emergency_admissions"]
    assert main([*args, "--outcome", "deaths", "--json", "--store", url]) == 0
    cap = capsys.readouterr()
    shown = json.loads(cap.out)
    assert set(shown) == {"treated", "matched", "balance_max_smd", "outcomes"}
    assert "Stored as evaluation result 1." in cap.err
    with session_factory(make_engine(url))() as s:
        r = latest(s, "case_management")
        assert r is not None
        assert (r.treated, r.matched) == (shown["treated"], shown["matched"])
        assert r.outcomes == shown["outcomes"]
        assert r.primary_outcome == "emergency_admissions"
        assert r.verdict == shown["outcomes"]["emergency_admissions"]["verdict"]
        assert r.definition_version == DEFINITION_VERSION
        assert r.inputs["warehouse"] == "w.duckdb" and r.inputs["follow_up_days"] == 365
        assert r.inputs["outcomes"] == ["emergency_admissions", "deaths"]
        assert r.inputs["prognostic"].startswith("fallback")
        assert "prognostic_score" in r.balance and r.controls > 0
