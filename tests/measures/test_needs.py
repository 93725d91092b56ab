"""The needs assessment: strata counts (Ibis) on DuckDB and Spark against hand counts, expected
prevalence by indirect standardisation, needs by CCM level, the reference file's checks."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from careweave.dataset.derived import RISK_SCORES
from careweave.dataset.nhs_number import synthetic_numbers
from careweave.dataset.tariff import default_tariff
from careweave.errors import InputError
from careweave.measures.needs import reference as ref_mod
from careweave.measures.needs.assess import assess
from careweave.measures.needs.counts import strata
from careweave.measures.needs.output import safe_levels, safe_prevalence_row
from careweave.warehouse.engines import engine_from_tables
from measures.specs import _score
from risk.helpers import ENGINE_PARAMS, make_table

D = dt.date
AS_OF = D(2023, 12, 31)
DIABETES, HYPERTENSION = "44054006", "38341003"
NHS = synthetic_numbers(6)
A, B, C, E, F, G = NHS
# A: woman of 73 with diabetes (level 4); B: man of 73 with nothing (level 2);
# C: girl of 10 with a diabetes code (under the register's 17: not counted);
# E: man of 50 with diabetes and hypertension (two conditions, level 4);
# F: died in 2023 (not in the population); G: woman of 40 in practice P2, deprivation decile 1.
PEOPLE = [
    {"nhs_number": A, "date_of_birth": D(1950, 6, 1), "sex": "female", "practice_id": "P1"},
    {"nhs_number": B, "date_of_birth": D(1950, 6, 1), "sex": "male", "practice_id": "P1"},
    {"nhs_number": C, "date_of_birth": D(2013, 6, 1), "sex": "female", "practice_id": "P1"},
    {"nhs_number": E, "date_of_birth": D(1973, 6, 1), "sex": "male", "practice_id": "P1"},
    {
        "nhs_number": F,
        "date_of_birth": D(1940, 1, 1),
        "sex": "male",
        "practice_id": "P1",
        "date_of_death": D(2023, 5, 1),
    },
    {
        "nhs_number": G,
        "date_of_birth": D(1983, 6, 1),
        "sex": "female",
        "practice_id": "P2",
        "deprivation_decile": 1,
    },
]
EVENTS = [
    {"nhs_number": A, "event_date": D(2015, 1, 1), "code": DIABETES},
    {"nhs_number": C, "event_date": D(2020, 1, 1), "code": DIABETES},
    {"nhs_number": E, "event_date": D(2019, 1, 1), "code": DIABETES},
    {"nhs_number": E, "event_date": D(2019, 1, 1), "code": HYPERTENSION},
    {"nhs_number": F, "event_date": D(2019, 1, 1), "code": DIABETES},
]
ORGS = [
    {"org_id": "L1", "org_type": "locality", "name": "Locality 1", "parent_id": None},
    {"org_id": "C1", "org_type": "cluster", "name": "Cluster 1", "parent_id": "L1"},
    {"org_id": "P1", "org_type": "gp_practice", "name": "Practice 1", "parent_id": "C1"},
    {"org_id": "P2", "org_type": "gp_practice", "name": "Practice 2", "parent_id": "C1"},
]
SPELLS = [
    {
        "id": "S1",
        "nhs_number": A,
        "admission_date": D(2023, 3, 1),
        "discharge_date": D(2023, 3, 5),
    },
    {
        "id": "S2",
        "nhs_number": E,
        "admission_date": D(2023, 8, 1),
        "discharge_date": D(2023, 8, 2),
    },
]
REFERENCE = """# source: a hand-worked test table
# year: 2023
register,sex,age_from,age_to,prevalence,deprivation_quintile
diabetes,female,0,39,0.01,
diabetes,female,40,64,0.1,
diabetes,female,40,64,0.3,1
diabetes,female,65,,0.2,
diabetes,male,0,39,0.01,
diabetes,male,40,64,0.1,
diabetes,male,65,,0.2,
"""


def tables() -> dict[str, pa.Table]:
    t = {
        "people": make_table("people", PEOPLE),
        "primary_care_events": make_table("primary_care_events", EVENTS),
        "observations": make_table("observations", []),
        "organisations": make_table("organisations", ORGS),
        "hospital_spells": make_table("hospital_spells", SPELLS),
    }
    scores = [
        _score(A, D(2023, 9, 30), 4),
        _score(B, D(2023, 9, 30), 2),
        _score(E, D(2023, 9, 30), 4),
    ]
    t["risk_scores"] = pa.Table.from_pylist(scores, schema=RISK_SCORES.arrow_schema)
    return t


@cache
def _run(engine_name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    engine = engine_from_tables(engine_name, tables())
    try:
        counts = engine.to_arrow(strata(engine, AS_OF)).to_pandas()
        prev, levels, _ = assess(
            engine, (D(2023, 1, 1), AS_OF), ref_mod.parse(REFERENCE, "test.csv"), default_tariff()
        )
    finally:
        engine.close()
    return counts, prev, levels


@pytest.mark.parametrize("engine_name", ENGINE_PARAMS)
def test_strata_count_the_registered_people_by_age_sex_and_level(engine_name: str) -> None:
    counts, _, _ = _run(engine_name)
    got = {
        (r.practice, r.sex, r.age, r.quintile, r.ccm_level): (
            r.population,
            r.reg_diabetes,
            r.reg_hypertension,
            r.multimorbid,
        )
        for r in counts.itertuples()
    }
    assert got == {
        ("P1", "female", 73, 3, 4): (1, 1, 0, 0),
        ("P1", "male", 73, 3, 2): (1, 0, 0, 0),
        ("P1", "female", 10, 3, 0): (1, 0, 0, 0),  # under the diabetes register's 17
        ("P1", "male", 50, 3, 4): (1, 1, 1, 1),
        ("P2", "female", 40, 1, 0): (1, 0, 0, 0),
    }


def _prev(prev: pd.DataFrame, by: str, value: str, register: str) -> dict[str, Any]:
    r = prev[(prev.group_by == by) & (prev.group_value == value) & (prev.register == register)]
    assert len(r) == 1
    return dict(r.iloc[0])


@pytest.mark.parametrize("engine_name", ENGINE_PARAMS)
def test_expected_prevalence_by_indirect_standardisation(engine_name: str) -> None:
    _, prev, _ = _run(engine_name)
    board = _prev(prev, "all", "all", "diabetes")
    # denominator 17+: A, B, E, G (C is 10). Expected: A 0.2 + B 0.2 + E 0.1 + G 0.3
    # (a woman of 40 in quintile 1 takes the quintile's own row) = 0.8; recorded A, E = 2.
    assert board["population"] == 4
    assert board["recorded"] == 2
    assert board["expected"] == pytest.approx(0.8)
    p2 = _prev(prev, "practice", "P2", "diabetes")
    assert (p2["population"], p2["recorded"], p2["expected"]) == (1, 0, pytest.approx(0.3))
    loc = _prev(prev, "locality", "L1", "diabetes")
    assert loc["expected"] == pytest.approx(0.8)
    # a register without a reference row: recorded, no expected
    hyp = _prev(prev, "all", "all", "hypertension")
    assert hyp["recorded"] == 1
    assert hyp["expected"] is None or pd.isna(hyp["expected"])


@pytest.mark.parametrize("engine_name", ENGINE_PARAMS)
def test_needs_by_ccm_level(engine_name: str) -> None:
    _, _, levels = _run(engine_name)
    v = {(r.ccm_level, r.item): r.value for r in levels.itertuples()}
    assert v[(4, "people")] == 2
    assert v[(4, "multimorbid")] == 1
    assert v[(4, "diabetes")] == 2
    assert v[(2, "people")] == 1
    assert v[(0, "people")] == 2  # C and G are not scored
    assert v[(4, "emergency_admissions")] == 2  # the catalogue KPI's numerator
    assert v[(2, "emergency_admissions")] == 0
    assert v[(4, "emergency_bed_days")] == 5  # 4 + 1 bed days
    assert v[(4, "spend")] > 0
    shown = safe_levels(levels)
    assert shown[4]["people"]["value"] is None and shown[4]["people"]["suppressed"]  # 2 < 8


def test_shown_rows_hide_small_counts_and_work_from_rounded_ones() -> None:
    row = {"register": "diabetes", "label": "Diabetes", "group_by": "all", "group_value": "all"}
    small = safe_prevalence_row({**row, "population": 1000, "recorded": 5, "expected": 60.4})
    assert small["recorded"] is None and small["suppressed"] and small["gap"] is None
    assert small["expected"] == 60
    big = safe_prevalence_row({**row, "population": 1002, "recorded": 61, "expected": 75.0})
    assert big["population"] == 1000 and big["recorded"] == 60
    assert big["gap"] == pytest.approx(15.0)  # from the shown 60, not the true 61
    assert big["gap_lower"] == pytest.approx(-2.233, abs=1e-3)
    tiny = safe_prevalence_row({**row, "population": 5, "recorded": 0, "expected": 0.5})
    assert tiny["population"] is None and tiny["expected"] is None and tiny["suppressed"]


def test_the_shipped_reference_loads_with_its_source() -> None:
    r = ref_mod.load()
    assert "diabetes" in r.registers and "hypertension" in r.registers
    assert "Illustrative approximations" in r.source
    assert r.year


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("register,sex,age_from,age_to,prevalence\n", "no '# source: ...' line"),
        ("# source: x\nregister,sex,age_from,age_to,prevalence\n", "no '# year: ...' line"),
        ("# source: x\n# year: 1\nregister,sex,age_from,prevalence\n", "missing column 'age_to'"),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\ngout,male,0,,0.1\n",
            "line 4: register 'gout' is not a register",
        ),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\ndiabetes,m,0,,0.1\n",
            "line 4: sex 'm' must be female or male",
        ),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\n"
            "diabetes,male,0,,1.5\n",
            "line 4: prevalence 1.5 must be a fraction from 0 to 1",
        ),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\ndiabetes,male,0,,x\n",
            "line 4: prevalence 'x' is not a number",
        ),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\n"
            "diabetes,male,0,,0.1\n",
            "register 'diabetes' has no rows for female",
        ),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\n"
            "diabetes,male,0,39,0.1\ndiabetes,male,45,,0.1\n"
            "diabetes,female,0,,0.1\n",
            "line 5: diabetes male: no row for ages 40 to 44",
        ),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\n"
            "diabetes,male,0,84,0.1\ndiabetes,female,0,,0.1\n",
            "line 4: diabetes male: the last band must be open",
        ),
        (
            "# source: x\n# year: 1\nregister,sex,age_from,age_to,prevalence\n"
            "diabetes,male,20,,0.1\ndiabetes,female,0,,0.1\n",
            "line 4: diabetes male: no row for ages 17 to 19",
        ),
    ],
)
def test_a_bad_reference_file_is_one_line_naming_file_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    f = tmp_path / "ref.csv"
    f.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        ref_mod.load(f)
    assert str(err.value).startswith(str(f))
    assert "\n" not in str(err.value)


def test_a_missing_reference_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such reference file"):
        ref_mod.load(tmp_path / "nope.csv")


def test_not_scored_is_a_level_only_when_someone_is() -> None:
    from careweave.dataset.registers import load_registers
    from careweave.measures.needs.assess import levels_frame

    row = {"practice": "P1", "sex": "female", "age": 70, "quintile": 3, "population": 9}
    row |= {"multimorbid": 0, **{f"reg_{r.name}": 0 for r in load_registers()}}
    counts = pd.DataFrame([{**row, "ccm_level": 4}, {**row, "ccm_level": 1}])
    cols = ["measure", "interval", "interval_end", "group_by", "group_value", "numerator"]
    empty = pd.DataFrame({c: [] for c in [*cols, "denominator"]})
    levels = levels_frame(counts, empty, (D(2023, 1, 1), AS_OF))
    assert sorted(set(levels.ccm_level)) == [1, 2, 3, 4]  # no 0: everyone is scored
    people = levels[levels.item == "people"].set_index("ccm_level")["value"]
    assert people.to_dict() == {1: 9.0, 2: 0.0, 3: 0.0, 4: 9.0}
    assert levels[levels.item == "spend"]["value"].isna().all()  # no measures: no figure
