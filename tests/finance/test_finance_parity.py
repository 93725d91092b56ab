"""DuckDB and Spark give identical capitation predictors and costs (the Ibis half).

The capitation model's data (:func:`careweave.finance.capitation.people_at`: each
registered person's practice, locality, sex, deprivation quintile, age band,
register flags and next-year cost under the tariff) is one Ibis expression per
date, so it must come out the same on both engines. The fit itself (numpy, on
the frame) is engine-free and not repeated here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from careweave.dataset.tariff import default_tariff
from careweave.finance.capitation import people_at
from careweave.warehouse.engines import engine_from_tables
from risk.simdata import simulate

AT = dt.date(2021, 12, 31)


def _frame(name: str, tables: dict[str, object], cost: bool) -> pd.DataFrame:
    engine = engine_from_tables(name, tables)  # type: ignore[arg-type]
    try:
        return people_at(engine, default_tariff(), AT, cost=cost)
    finally:
        engine.close()


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_give_identical_capitation_data() -> None:
    tables = simulate(400, seed=7)
    for cost in (True, False):
        duck, spark = _frame("duckdb", tables, cost), _frame("spark", tables, cost)
        assert len(duck) > 300
        if cost:
            assert duck.spend.sum() > 0 and duck.filter(like="reg_").to_numpy().sum() > 0
        pd.testing.assert_frame_equal(
            duck[sorted(duck.columns)], spark[sorted(spark.columns)], check_exact=False, rtol=1e-9
        )
