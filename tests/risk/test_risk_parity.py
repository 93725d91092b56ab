"""DuckDB and Spark give identical features and scores on 10,000 simulated people."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from careweave.dataset.tariff import default_tariff
from careweave.risk import scoring, training
from careweave.risk.policy import load_policy
from careweave.warehouse.engines import engine_from_tables
from risk.simdata import simulate


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_matches_duckdb_on_10000_people(trained: dict[str, Any]) -> None:
    tables = simulate(10_000, seed=11)
    art = training.load_model(Path(trained["model"]))
    out: dict[str, pd.DataFrame] = {}
    for name in ("duckdb", "spark"):
        engine = engine_from_tables(name, tables)
        try:
            out[name] = scoring.compute(
                engine, dt.date(2022, 7, 1), art, load_policy(), default_tariff()
            )
        finally:
            engine.close()
    duck, spark = out["duckdb"], out["spark"]
    assert len(duck) > 9_000
    assert list(duck.columns) == list(spark.columns)
    # Features, spend and every score column identical, person by person.
    pd.testing.assert_frame_equal(duck, spark, check_exact=True, check_dtype=False)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_stratify_engine_spark_matches_duckdb(tmp_path: Path, trained: dict[str, Any]) -> None:
    """`stratify --engine spark` reads the warehouse through Spark and tiers identically."""
    import duckdb

    from careweave import risk
    from risk.simdata import write_warehouse

    wh = write_warehouse(simulate(2_000, seed=5), tmp_path / "w.duckdb")
    model = Path(trained["model"])
    spark = risk.stratify(wh, dt.date(2022, 7, 1), model=model, engine="spark")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        by_spark = con.execute("SELECT * FROM risk_scores ORDER BY nhs_number").df()
    finally:
        con.close()
    duck = risk.stratify(wh, dt.date(2022, 7, 1), model=model, engine="duckdb")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        by_duck = con.execute("SELECT * FROM risk_scores ORDER BY nhs_number").df()
    finally:
        con.close()
    assert spark["engine"] == "spark" and duck["engine"] == "duckdb"
    assert spark["levels"] == duck["levels"] and spark["segments"] == duck["segments"]
    pd.testing.assert_frame_equal(by_spark, by_duck, check_exact=True)
