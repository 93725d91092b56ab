"""Training: temporal validation, baselines, artefact and card, leakage guards, metrics."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from careweave.cli.main import main
from careweave.errors import InputError
from careweave.risk import calibration, features, training
from careweave.warehouse.engines import DuckDBEngine, engine_from_tables

AS_OF = dt.date(2021, 1, 1)


def test_default_model_beats_every_baseline(trained: dict[str, Any]) -> None:
    v = trained["validation"]
    assert v["auroc"] > 0.75
    for name, b in trained["baselines"].items():
        assert v["auroc"] > b["auroc"], name
    assert trained["beats_every_baseline"]
    assert set(trained["baselines"]) == {"age", "prior_emergency_admissions", "charlson", "hfrs"}
    assert 0.7 < v["calibration_slope"] < 1.3 and abs(v["calibration_intercept"]) < 0.3


def test_summary_has_the_documented_keys(trained: dict[str, Any]) -> None:
    for k in ("auroc", "auprc", "brier", "calibration_slope", "calibration_intercept"):
        assert isinstance(trained["validation"][k], float)
    for k in ("train_people", "validation_people", "validation_outcome_rate"):
        assert k in trained["cohort"]
    assert set(trained["validation"]["top"]) == {"0.5", "1", "2", "5", "10", "20"}
    json.dumps(trained, allow_nan=False)


def test_artefact_and_card(trained: dict[str, Any]) -> None:
    art = training.load_model(Path(trained["model"]))
    assert art["version"] == trained["version"]
    assert art["features"] == list(features.feature_columns())
    assert set(art["code_lists"]) == {"hfrs", "charlson", "efi", "physical_disability", "registers"}
    assert art["calibration"]["curve"] and "train" in art["training_data"]
    md = Path(trained["card"]["markdown"]).read_text()
    for needle in (
        "AUROC",
        "baseline: hfrs",
        "### sex",
        "### age band",
        "### deprivation quintile",
        "### ethnic group",
        "top 0.5%",
        "Calibration",
    ):
        assert needle in md
    html = Path(trained["card"]["html"]).read_text()
    assert "data:image/png;base64," in html and "<table>" in html


def test_leakage_guard_shuffled_outcomes_give_auroc_half(sim_warehouse: Path) -> None:
    engine = DuckDBEngine.open(sim_warehouse)
    try:
        train, y_train = training.labelled(engine, AS_OF, 365)
        valid, y_valid = training.labelled(engine, dt.date(2022, 1, 1), 365)
    finally:
        engine.close()
    shuffled = np.random.default_rng(0).permutation(y_train)
    fitted = training.fit_all(train, shuffled, valid, y_valid)
    assert abs(fitted["validation"]["auroc"] - 0.5) < 0.05


def test_features_ignore_everything_after_the_as_of_date(sim_warehouse: Path) -> None:
    """Deleting all rows dated after D changes no feature at D."""
    engine = DuckDBEngine.open(sim_warehouse)
    try:
        tables = {
            n: engine.con.table(n).to_pyarrow()
            for n in engine.con.list_tables()
            if not n.startswith("_")
        }
        full = features.compute(engine, AS_OF)
    finally:
        engine.close()
    d = pa.scalar(AS_OF, pa.date32())
    cut = dict(tables)
    for name, col in (
        ("hospital_spells", "admission_date"),
        ("ae_attendances", "attendance_date"),
        ("medications", "issue_date"),
        ("primary_care_events", "event_date"),
    ):
        cut[name] = tables[name].filter(pc.less_equal(tables[name][col], d))
    spells = cut["hospital_spells"]
    cut["hospital_spells"] = spells.set_column(
        spells.schema.get_field_index("discharge_date"),
        "discharge_date",
        pc.if_else(
            pc.greater(spells["discharge_date"], d),
            pa.scalar(None, pa.date32()),
            spells["discharge_date"],
        ),
    )
    small = engine_from_tables("duckdb", cut)
    try:
        truncated = features.compute(small, AS_OF)
    finally:
        small.close()
    assert full.equals(truncated)


def test_calibration_metrics_on_known_cases() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.5, 200_000)
    y = (rng.random(len(p)) < p).astype(float)
    slope, intercept = calibration.calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1, abs=0.05) and intercept == pytest.approx(0, abs=0.03)
    # Over-confident predictions (log-odds doubled) give a slope of about 1/2.
    lp = 2 * calibration.logit(p)
    slope2, _ = calibration.calibration_slope_intercept(y, 1 / (1 + np.exp(-lp)))
    assert slope2 == pytest.approx(0.5, abs=0.05)


def test_top_k_hand_worked() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1] * 20, dtype=float)  # 200 people, 60 outcomes
    score = np.arange(200, dtype=float)[::-1]  # first person scores highest
    top = calibration.top_k(y, score)
    assert top["5"]["flagged"] == 10
    assert top["5"]["ppv"] == pytest.approx(3 / 10)
    assert top["5"]["sensitivity"] == pytest.approx(3 / 60)
    assert top["0.5"]["flagged"] == 1 and top["0.5"]["ppv"] == 1.0


def test_train_refuses_a_span_too_short(sim_warehouse: Path) -> None:
    with pytest.raises(InputError, match=r"--as-of: the warehouse covers 2019-01-01\.\.2023-12-31"):
        training.train(sim_warehouse, dt.date(2023, 1, 1))


def test_cli_train_json(
    sim_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.pkl"
    code = main(
        [
            "model",
            "train",
            "--warehouse",
            str(sim_warehouse),
            "--as-of",
            "2021-01-01",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cohort"]["train_people"] > 10_000
    assert set(summary["baselines"]["hfrs"]) >= {"auroc"}
    assert out.exists() and (tmp_path / "m.card.html").exists()


def test_cli_bad_date_exits_2(sim_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["model", "train", "--warehouse", str(sim_warehouse), "--as-of", "2021-13-01"])
    assert code == 2
    assert "--as-of: expected a date" in capsys.readouterr().err


def test_default_dates(sim_warehouse: Path) -> None:
    from careweave import risk

    dates = risk.default_dates(sim_warehouse)
    assert dates == {"train_as_of": dt.date(2021, 12, 31), "stratify_as_of": dt.date(2023, 12, 31)}
