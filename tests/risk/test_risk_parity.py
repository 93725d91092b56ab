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
