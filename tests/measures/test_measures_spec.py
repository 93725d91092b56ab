"""Every spec case (tests/measures/specs.py) on every engine: one computation per engine."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import pandas as pd
import pytest

from careweave.dataset.tariff import default_tariff
from careweave.measures.catalogue import load_catalogue, select
from careweave.measures.compute import compute
from careweave.warehouse.engines import engine_from_tables
from measures.specs import END, SPECS, START, Spec, spec_tables
from risk.helpers import ENGINE_PARAMS


@cache
def _results(engine_name: str) -> pd.DataFrame:
    kpis = select(sorted({s.kpi for s in SPECS}))
    engine = engine_from_tables(engine_name, spec_tables(SPECS))
    try:
        return compute(engine, START, END, kpis, ("practice",), default_tariff()).results
    finally:
        engine.close()


def _row(results: pd.DataFrame, i: int, spec: Spec) -> dict[str, Any]:
    interval, end = spec.interval
    r = results[
        (results.measure == spec.kpi)
        & (results.group_by == "practice")
        & (results.group_value == f"SPEC{i:02d}")
        & (results.interval == interval)
        & (results.interval_end == pd.Timestamp(end))
    ]
    assert len(r) == 1, f"{spec.name}: {len(r)} rows"
    return dict(r.iloc[0])


@pytest.mark.parametrize("engine_name", ENGINE_PARAMS)
@pytest.mark.parametrize("i", range(len(SPECS)), ids=[s.name for s in SPECS])
def test_measure_spec(engine_name: str, i: int) -> None:
    spec = SPECS[i]
    row = _row(_results(engine_name), i, spec)
    assert row["value"] == pytest.approx(spec.value, rel=1e-9), spec.name
    if spec.numerator is not None:
        assert row["numerator"] == pytest.approx(spec.numerator, rel=1e-9)
    if spec.denominator is not None:
        assert row["denominator"] == pytest.approx(spec.denominator, rel=1e-9)


def test_every_catalogue_kpi_has_a_spec() -> None:
    assert set(load_catalogue().kpis) <= {s.kpi for s in SPECS}


def test_the_whole_board_row_adds_up_the_practices() -> None:
    res = _results("duckdb")
    one = res[
        (res.measure == "emergency_admissions_per_1000")
        & (res.interval == "rolling_12_months")
        & (res.interval_end == pd.Timestamp(dt.date(2023, 12, 31)))
    ]
    board = one[one.group_by == "all"].iloc[0]
    practices = one[one.group_by == "practice"]
    assert board.numerator == practices.numerator.sum()
    assert board.denominator == pytest.approx(practices.denominator.sum())
