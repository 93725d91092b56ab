"""DuckDB and Spark give identical measures on small random datasets (Hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careweave.dataset.derived import RISK_SCORES
from careweave.dataset.nhs_number import synthetic_numbers
from careweave.dataset.tariff import default_tariff
from careweave.measures.catalogue import select
from careweave.measures.compute import compute
from careweave.warehouse.engines import engine_from_tables
from measures.specs import EXTRA_DEFAULTS, HYPERTENSION, _score
from risk.helpers import make_table

D = dt.date
START, END = D(2023, 1, 1), D(2023, 12, 31)
KPIS = [
    "emergency_admissions_per_1000",
    "emergency_admissions_per_1000_age_standardised",
    "readmission_30d_rate",
    "share_bed_days_65plus_stays_over_10_days",
    "mean_length_of_stay_days",
    "prevalence_hypertension",
    "case_managed_share_levels_3_4",
    "lower_levels_share",
    "moved_to_lower_level_share",
    "spend_per_head",
    "spend_per_head_acute",
    "spend_per_head_local_authority",
    "hospital_deaths_share",
    "permanent_care_home_admissions_per_100000_65plus",
]
DIAGNOSES = ["J18.9", "I50.0", "C18.9", "E11.6", None]


def _day(lo: D, hi: D) -> st.SearchStrategy[D]:
    return st.dates(min_value=lo, max_value=hi)


person = st.fixed_dictionaries(
    {
        "date_of_birth": _day(D(1925, 1, 1), D(2022, 12, 31)),
        "sex": st.sampled_from(["female", "male"]),
        "practice_id": st.sampled_from(["P1", "P2"]),
        "registered_from": st.one_of(st.none(), _day(D(2022, 1, 1), D(2023, 12, 31))),
        "date_of_death": st.one_of(st.none(), st.none(), _day(D(2023, 1, 1), D(2023, 12, 31))),
    }
)
spell = st.fixed_dictionaries(
    {
        "who": st.integers(0, 30),
        "admission_date": _day(D(2022, 11, 1), D(2023, 12, 31)),
        "los": st.integers(0, 25),
        "admission_method": st.sampled_from(["emergency", "emergency", "elective", "maternity"]),
        "primary_diagnosis": st.sampled_from(DIAGNOSES),
        "died": st.booleans(),
    }
)


@st.composite
def datasets(draw: Any) -> dict[str, Any]:
    people = draw(st.lists(person, min_size=2, max_size=14))
    nhs = synthetic_numbers(len(people))
    rows: dict[str, list[dict[str, Any]]] = {
        "people": [{"nhs_number": n, **p} for n, p in zip(nhs, people, strict=True)]
    }
    spells = []
    for i, s in enumerate(draw(st.lists(spell, max_size=25))):
        who = s["who"] % len(people)
        dis = s["admission_date"] + dt.timedelta(days=s["los"])
        spells.append(
            {
                "id": f"S{i}",
                "nhs_number": nhs[who],
                "admission_date": s["admission_date"],
                "discharge_date": dis if dis <= END else None,
                "admission_method": s["admission_method"],
                "primary_diagnosis": s["primary_diagnosis"],
                "discharge_destination": "died" if s["died"] else "home",
            }
        )
    rows["hospital_spells"] = spells
    coded = draw(st.lists(st.integers(0, len(people) - 1), max_size=len(people), unique=True))
    rows["primary_care_events"] = [
        {
            "nhs_number": nhs[i],
            "event_date": draw(_day(D(2020, 1, 1), D(2023, 12, 31))),
            "code": HYPERTENSION,
        }
        for i in coded
    ]
    placed = draw(st.lists(st.integers(0, len(people) - 1), max_size=4, unique=True))
    rows["care_placements"] = [
        {
            "nhs_number": nhs[i],
            "start_date": draw(_day(D(2022, 6, 1), D(2023, 12, 31))),
            "permanent": draw(st.booleans()),
        }
        for i in placed
    ]
    managed = draw(st.lists(st.integers(0, len(people) - 1), max_size=len(people), unique=True))
    rows["case_management_episodes"] = [
        {
            **EXTRA_DEFAULTS["case_management_episodes"],
            "nhs_number": nhs[i],
            "start_date": draw(_day(D(2022, 6, 1), D(2023, 12, 31))),
        }
        for i in managed
    ]
    tables = {name: make_table(name, r) for name, r in rows.items()}
    runs = (D(2023, 3, 31), D(2023, 9, 30))
    scores = [
        _score(nhs[i], run, draw(st.integers(1, 4)))
        for run in runs
        for i in draw(st.lists(st.integers(0, len(people) - 1), min_size=1, unique=True))
    ]
    import pyarrow as pa

    tables["risk_scores"] = pa.Table.from_pylist(scores, schema=RISK_SCORES.arrow_schema)
    return tables


def _run(name: str, tables: dict[str, Any]) -> pd.DataFrame:
    engine = engine_from_tables(name, tables)
    try:
        out = compute(
            engine, START, END, select(KPIS), ("practice", "age_band", "sex"), default_tariff()
        )
    finally:
        engine.close()
    keys = ["measure", "interval", "interval_end", "group_by", "group_value"]
    return out.results.sort_values(keys).reset_index(drop=True)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(datasets())
def test_duckdb_and_spark_give_identical_measures(tables: dict[str, Any]) -> None:
    duck, spark = _run("duckdb", tables), _run("spark", tables)
    assert len(duck) > 0
    pd.testing.assert_frame_equal(duck, spark, check_exact=True)
