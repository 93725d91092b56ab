"""Stratify: risk_scores, explanations naming the real drivers, segments, movement, CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from careweave.cli.main import main
from careweave.dataset.derived import RISK_SCORES
from careweave.risk import explain, features, segments, training
from careweave.risk.policy import load_policy
from careweave.risk.scoring import score
from careweave.warehouse.engines import DuckDBEngine

AS_OF = dt.date(2023, 1, 1)


@pytest.fixture(scope="module")
def stratified(sim_warehouse: Path, trained: dict[str, Any]) -> dict[str, Any]:
    from careweave import risk

    return risk.stratify(
        sim_warehouse, AS_OF, model=Path(trained["model"]), compare_to=dt.date(2022, 1, 1)
    )


def test_levels_follow_the_default_policy(stratified: dict[str, Any], sim_warehouse: Path) -> None:
    n = stratified["people"]
    levels = stratified["levels"]
    assert sum(levels.values()) == n and stratified["engine"] == "duckdb"
    assert levels["4"] == int(np.ceil(n * 0.005))
    assert levels["4"] + levels["3"] == int(np.ceil(n * 0.05))
    con = duckdb.connect(str(sim_warehouse), read_only=True)
    try:
        df = con.execute("SELECT * FROM risk_scores WHERE as_of = ?", [AS_OF]).df()
        cols = [r[0] for r in con.execute("DESCRIBE risk_scores").fetchall()]
    finally:
        con.close()
    assert cols == list(RISK_SCORES.column_names)
    assert len(df) == n and df["nhs_number"].is_unique
    lvl2 = df[df.ccm_level == 2]
    assert len(lvl2) == levels["2"]
    assert set(df.frailty_category) <= {"fit", "mild", "moderate", "severe", "unknown"}
    assert df.percentile.between(0, 100, inclusive="right").all()
    top = df.sort_values("probability").iloc[-1]
    assert top.ccm_level == 4 and top.risk_band == "very high" and len(top.explanation) >= 1


def test_rerun_replaces_rows_for_the_date(
    stratified: dict[str, Any], sim_warehouse: Path, trained: dict[str, Any]
) -> None:
    from careweave import risk

    risk.stratify(sim_warehouse, AS_OF, model=Path(trained["model"]))
    con = duckdb.connect(str(sim_warehouse), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM risk_scores WHERE as_of = ?", [AS_OF]).fetchone()
    finally:
        con.close()
    assert n is not None and n[0] == stratified["people"]


def test_movement(stratified: dict[str, Any]) -> None:
    mv = stratified["movement"]
    total = sum(sum(row.values()) for row in mv["matrix"].values())
    assert total == mv["people_in_both"] > 0
    down = sum(mv["matrix"][a][b] for a in "1234" for b in "1234" if int(b) < int(a))
    assert down == mv["moved_down"]
    assert mv["share_moved_down"] == pytest.approx(down / total)


def test_segments_report_adds_up(stratified: dict[str, Any]) -> None:
    rows = stratified["segments"]
    assert sum(r["people"] for r in rows) == stratified["people"]
    assert sum(r["share_of_people"] for r in rows) == pytest.approx(1)
    assert sum(r["share_of_spend"] for r in rows) == pytest.approx(1)
    names = {r["segment"] for r in rows}
    assert "children / mostly healthy" in names and "70+ / dementia" in names


def test_explanations_name_the_real_top_drivers(
    sim_warehouse: Path, trained: dict[str, Any]
) -> None:
    art = training.load_model(Path(trained["model"]))
    engine = DuckDBEngine.open(sim_warehouse)
    try:
        frame = features.compute(engine, AS_OF)
    finally:
        engine.close()
    frame["spend_12m"] = 0.0
    model = art["model"]
    drivers, contrib = model.contributions(frame)
    # Contributions add up exactly to the log-odds above the average person's.
    base = model.lr.intercept_[0]
    assert np.allclose(contrib.sum(axis=1) + base, model.log_odds(frame))
    scored = score(frame, art, load_policy())
    # The person with most emergency admissions: that is named first.
    i = int(scored["emergency_admissions_12m"].idxmax())
    row = scored.loc[i]
    k = int(np.argmax(contrib[i]))
    assert scored.loc[i, "explanation"][0] == explain.phrase(drivers[k], row)
    assert (
        f"{row.emergency_admissions_12m} emergency admissions in the last 12 months"
        in (scored.loc[i, "explanation"])
    )
    # Everyone's first phrase is their largest driver, when it raises risk.
    for j in scored.sample(200, random_state=0).index:
        k = int(np.argmax(contrib[j]))
        if contrib[j, k] > explain.MIN_CONTRIBUTION:
            assert scored.loc[j, "explanation"][0] == explain.phrase(drivers[k], scored.loc[j])


def test_phrases_are_plain_english() -> None:
    row = {
        "age": 87,
        "emergency_admissions_6m": 1,
        "emergency_admissions_12m": 2,
        "emergency_admissions_24m": 3,
        "ltc_count": 1,
    }
    assert explain.phrase("age", row) == "aged 85+"
    assert explain.phrase("emergency_admissions", row) == (
        "2 emergency admissions in the last 12 months"
    )
    assert explain.phrase("heart_failure", row) == "heart failure"
    assert explain.phrase("ltc_count", row) == "1 long-term condition"


def test_segment_hierarchy() -> None:
    import pandas as pd

    cols = {c: [0] * 6 for c in features.feature_columns()}
    df = pd.DataFrame(cols)
    df["age"] = [5, 40, 80, 80, 80, 75]
    df.loc[1, "ltc_count"] = 1
    df.loc[2, ["reg_dementia", "reg_palliative_care"]] = 1  # end of life beats dementia
    df.loc[3, ["reg_cancer", "ltc_count"]] = [1, 3]
    df.loc[4, "ltc_count"] = 2
    frailty = np.array(["unknown", "unknown", "fit", "fit", "fit", "severe"])
    assert segments.segment(df, frailty).tolist() == [
        "children / mostly healthy",
        "adults / one long-term condition",
        "70+ / end of life",
        "70+ / cancer",
        "70+ / 2+ long-term conditions",
        "70+ / frail",
    ]


def test_cli_stratify_json(
    sim_warehouse: Path, trained: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "stratify",
            "--warehouse",
            str(sim_warehouse),
            "--as-of",
            "2022-06-01",
            "--model",
            trained["model"],
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "duckdb" and set(out["levels"]) == {"1", "2", "3", "4"}
    assert sum(out["levels"].values()) == out["people"]


def test_cli_stratify_bad_policy_exits_2(
    sim_warehouse: Path, tmp_path: Path, trained: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text('[[levels]]\nlevel = 4\nwhen = ["income > 3"]\n')
    code = main(
        [
            "stratify",
            "--warehouse",
            str(sim_warehouse),
            "--as-of",
            "2022-06-01",
            "--model",
            trained["model"],
            "--policy",
            str(bad),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "levels[0].when[0]: unknown field 'income'" in err


def test_cli_stratify_unknown_engine_and_model(
    sim_warehouse: Path, tmp_path: Path, trained: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "stratify",
                "--warehouse",
                str(sim_warehouse),
                "--as-of",
                "2022-06-01",
                "--model",
                trained["model"],
                "--engine",
                "oracle",
            ]
        )
        == 2
    )
    assert "--engine: unknown engine 'oracle'" in capsys.readouterr().err
    junk = tmp_path / "junk.pkl"
    junk.write_text("not a model")
    assert (
        main(
            [
                "stratify",
                "--warehouse",
                str(sim_warehouse),
                "--as-of",
                "2022-06-01",
                "--model",
                str(junk),
            ]
        )
        == 2
    )
    assert "not a Careweave model artefact" in capsys.readouterr().err
