"""Spec tests for the features: tiny input rows and the expected values, on every engine.

Each spec is one person (or a few) with the rows that exercise one feature,
and the feature values expected at the as-of date. All specs are loaded into
one set of tables and the feature query runs once per engine (Spark is slow to
start), then each spec is checked on its own people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from careweave.dataset.nhs_number import synthetic_numbers
from careweave.risk import features
from careweave.warehouse.engines import engine_from_tables
from risk.helpers import make_tables

D = dt.date
AS_OF = D(2024, 1, 1)


@dataclass
class Spec:
    name: str
    # table -> rows; "P" in an nhs_number is replaced by the spec's own person.
    rows: dict[str, list[dict[str, Any]]]
    expected: dict[str, Any]
    people: dict[str, Any] = field(default_factory=dict)


def _spells(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"nhs_number": "P", **r} for r in rows]


SPECS = [
    Spec(
        "age counts whole years, birthday not yet reached",
        {},
        {"age": 73},
        people={"date_of_birth": D(1950, 1, 2)},
    ),
    Spec("age on the birthday itself", {}, {"age": 74}, people={"date_of_birth": D(1950, 1, 1)}),
    Spec(
        "unknown deprivation is 0",
        {},
        {"deprivation_decile": 0},
        people={"deprivation_decile": None},
    ),
    Spec(
        "register from a code recorded on or before D",
        {
            "primary_care_events": [
                {"nhs_number": "P", "event_date": D(2020, 5, 1), "code": "84114007"},
                {"nhs_number": "P", "event_date": D(2024, 1, 1), "code": "73211009"},
            ]
        },
        {"reg_heart_failure": 1, "reg_diabetes": 1, "ltc_count": 2},
    ),
    Spec(
        "no register from a code after D or resolved by D",
        {
            "primary_care_events": [
                {"nhs_number": "P", "event_date": D(2024, 1, 2), "code": "84114007"},
                {
                    "nhs_number": "P",
                    "event_date": D(2019, 1, 1),
                    "code": "35489007",
                    "resolved_date": D(2023, 6, 1),
                },
            ]
        },
        {"reg_heart_failure": 0, "reg_depression": 0, "ltc_count": 0},
    ),
    Spec(
        "obesity and palliative care are registers but not long-term conditions",
        {
            "primary_care_events": [
                {"nhs_number": "P", "event_date": D(2020, 1, 1), "code": "414916001"},
                {"nhs_number": "P", "event_date": D(2020, 1, 1), "code": "103735009"},
                {"nhs_number": "P", "event_date": D(2020, 1, 1), "code": "13645005"},
            ]
        },
        {"reg_obesity": 1, "reg_palliative_care": 1, "reg_copd": 1, "ltc_count": 1},
    ),
    Spec(
        "obesity register from a BMI of 30+ in the last 365 days",
        {
            "observations": [
                {
                    "nhs_number": "P",
                    "obs_date": D(2023, 3, 1),
                    "code": "39156-5",
                    "measure": "bmi",
                    "value": 31.5,
                },
            ]
        },
        {"reg_obesity": 1, "ltc_count": 0},
    ),
    Spec(
        "no obesity register from an old or low BMI",
        {
            "observations": [
                {
                    "nhs_number": "P",
                    "obs_date": D(2022, 3, 1),
                    "code": "39156-5",
                    "measure": "bmi",
                    "value": 35.0,
                },
                {
                    "nhs_number": "P",
                    "obs_date": D(2023, 9, 1),
                    "code": "39156-5",
                    "measure": "bmi",
                    "value": 29.9,
                },
            ]
        },
        {"reg_obesity": 0},
    ),
    Spec(
        "register minimum age: depression counts from 18, asthma from 6",
        {
            "primary_care_events": [
                {"nhs_number": "P", "event_date": D(2023, 1, 1), "code": "35489007"},
                {"nhs_number": "P", "event_date": D(2023, 1, 1), "code": "195967001"},
            ]
        },
        {"reg_depression": 0, "reg_asthma": 1, "ltc_count": 1},
        people={"date_of_birth": D(2010, 5, 1)},
    ),
    Spec(
        "emergency admissions by window; elective and future spells ignored",
        {
            "hospital_spells": _spells(
                {"admission_date": D(2023, 12, 1), "discharge_date": D(2023, 12, 4)},
                {"admission_date": D(2023, 3, 1), "discharge_date": D(2023, 3, 2)},
                {"admission_date": D(2022, 6, 1), "discharge_date": D(2022, 6, 11)},
                {"admission_date": D(2021, 6, 1), "discharge_date": D(2021, 6, 3)},
                {
                    "admission_date": D(2023, 11, 1),
                    "discharge_date": D(2023, 11, 2),
                    "admission_method": "elective",
                },
                {"admission_date": D(2024, 1, 2), "discharge_date": D(2024, 1, 9)},
            )
        },
        {
            "emergency_admissions_6m": 1,
            "emergency_admissions_12m": 2,
            "emergency_admissions_24m": 3,
            "emergency_bed_days_6m": 3,
            "emergency_bed_days_12m": 4,
            "emergency_bed_days_24m": 14,
        },
    ),
    Spec(
        "a stay still running at D counts bed days up to D only",
        {
            "hospital_spells": _spells(
                {"admission_date": D(2023, 12, 20), "discharge_date": D(2024, 2, 1)},
            )
        },
        {"emergency_admissions_6m": 1, "emergency_bed_days_6m": 12},
    ),
    Spec(
        "window edges: D - 365 days is outside, D - 364 inside",
        {
            "hospital_spells": _spells(
                {"admission_date": D(2023, 1, 1), "discharge_date": D(2023, 1, 1)},
                {"admission_date": D(2023, 1, 2), "discharge_date": D(2023, 1, 2)},
            )
        },
        {"emergency_admissions_12m": 1, "emergency_admissions_24m": 2},
    ),
    Spec(
        "readmission within 30 days of a previous discharge",
        {
            "hospital_spells": _spells(
                {
                    "admission_date": D(2023, 5, 1),
                    "discharge_date": D(2023, 5, 10),
                    "admission_method": "elective",
                },
                {"admission_date": D(2023, 6, 9), "discharge_date": D(2023, 6, 12)},
                {"admission_date": D(2023, 7, 12), "discharge_date": D(2023, 7, 14)},
            )
        },
        {"emergency_readmissions_12m": 2, "emergency_admissions_12m": 2},
    ),
    Spec(
        "A&E attendances by window",
        {
            "ae_attendances": [
                {"nhs_number": "P", "attendance_date": D(2023, 12, 31)},
                {"nhs_number": "P", "attendance_date": D(2023, 2, 1)},
                {"nhs_number": "P", "attendance_date": D(2024, 1, 5)},
            ]
        },
        {"ae_attendances_6m": 1, "ae_attendances_12m": 2, "ae_attendances_24m": 2},
    ),
    Spec(
        "outpatient attendances and did-not-attends; cancelled ignored",
        {
            "outpatient_appointments": [
                {"nhs_number": "P", "appointment_date": D(2023, 10, 1)},
                {"nhs_number": "P", "appointment_date": D(2023, 9, 1), "outcome": "did_not_attend"},
                {"nhs_number": "P", "appointment_date": D(2022, 9, 1), "outcome": "did_not_attend"},
                {"nhs_number": "P", "appointment_date": D(2023, 9, 2), "outcome": "cancelled"},
            ]
        },
        {
            "outpatient_attendances_6m": 1,
            "outpatient_dnas_6m": 1,
            "outpatient_dnas_12m": 1,
            "outpatient_dnas_24m": 2,
            "outpatient_attendances_24m": 1,
        },
    ),
    Spec(
        "polypharmacy: five distinct medicines issued in the last 6 months",
        {
            "medications": [
                *[
                    {"nhs_number": "P", "issue_date": D(2023, 11, 1), "code": c}
                    for c in ("1001", "1002", "1003", "1004")
                ],
                {"nhs_number": "P", "issue_date": D(2023, 12, 1), "code": "1001"},
                {"nhs_number": "P", "issue_date": D(2023, 12, 1), "code": "1005"},
                {"nhs_number": "P", "issue_date": D(2023, 1, 1), "code": "1006"},
            ]
        },
        {"medicines_6m": 5, "polypharmacy": 1},
    ),
    Spec(
        "social-care package and care home running at D; ended ones not",
        {
            "social_care_services": [
                {"nhs_number": "P", "start_date": D(2023, 1, 1)},
            ],
            "care_placements": [
                {"nhs_number": "P", "start_date": D(2022, 1, 1), "end_date": D(2023, 1, 1)},
            ],
        },
        {"social_care_package": 1, "care_home": 0},
    ),
    Spec(
        "care home from a current placement, not from the 'resident now' flag",
        {
            "care_placements": [
                {"nhs_number": "P", "start_date": D(2023, 6, 1), "placement_type": "nursing"},
            ]
        },
        {"care_home": 1, "social_care_package": 0},
        people={"care_home_resident": False},
    ),
    Spec(
        "telehealth alerts: out-of-range readings in the last 90 days",
        {
            "telehealth_readings": [
                {"nhs_number": "P", "value": 88.0, "recorded_at": dt.datetime(2023, 12, 30, 8)},
                {"nhs_number": "P", "value": 97.0, "recorded_at": dt.datetime(2023, 12, 30, 9)},
                {"nhs_number": "P", "value": 85.0, "recorded_at": dt.datetime(2023, 9, 1, 9)},
                {
                    "nhs_number": "P",
                    "measure": "heart_rate",
                    "device": "other",
                    "unit": "/min",
                    "value": 140.0,
                    "recorded_at": dt.datetime(2023, 11, 1, 9),
                },
                {"nhs_number": "P", "value": 80.0, "recorded_at": dt.datetime(2024, 1, 2, 9)},
            ]
        },
        {"telehealth_alerts_90d": 2},
    ),
    # Hand-worked HFRS: F00 (7.1) + R29 (3.6) + W19 (3.2) + N39 (3.2) + R29 again (counted
    # once) + I50 (not an HFRS code) = 17.1 -> high. The 2021 spell is outside 2 years.
    Spec(
        "HFRS hand-worked: 17.1, high",
        {
            "hospital_spells": _spells(
                {
                    "admission_date": D(2023, 5, 1),
                    "discharge_date": D(2023, 5, 8),
                    "primary_diagnosis": "F00.1",
                    "secondary_diagnoses": ["R29.6", "W19", "I50.0"],
                },
                {
                    "admission_date": D(2022, 3, 1),
                    "discharge_date": D(2022, 3, 4),
                    "admission_method": "elective",
                    "primary_diagnosis": "N39.0",
                    "secondary_diagnoses": ["R296"],
                },
                {
                    "admission_date": D(2021, 12, 1),
                    "discharge_date": D(2021, 12, 3),
                    "primary_diagnosis": "G81.9",
                },
            )
        },
        {"hfrs": 17.1, "hfrs_category": "high"},
    ),
    Spec(
        "HFRS hand-worked: 5.2 is intermediate",
        {
            "hospital_spells": _spells(
                {
                    "admission_date": D(2023, 5, 1),
                    "discharge_date": D(2023, 5, 2),
                    "primary_diagnosis": "J18.9",
                    "secondary_diagnoses": ["N17.9", "E87.1"],
                },
            )
        },
        # J18 1.1 + N17 1.8 + E87 2.3 = 5.2
        {"hfrs": 5.2, "hfrs_category": "intermediate"},
    ),
    # Hand-worked Charlson: I21 MI 1 + E11.2 complicated diabetes 2 (supersedes E11.9) +
    # C50 malignancy 2 superseded by C78 metastatic 6 + K70.4 severe liver 3 (supersedes
    # K70.3) + J44 pulmonary 1 = 13.
    Spec(
        "Charlson hand-worked with hierarchies: 13",
        {
            "hospital_spells": _spells(
                {
                    "admission_date": D(2020, 2, 1),
                    "discharge_date": D(2020, 2, 3),
                    "primary_diagnosis": "I21.4",
                    "secondary_diagnoses": ["E11.9", "C50.9"],
                },
                {
                    "admission_date": D(2023, 2, 1),
                    "discharge_date": D(2023, 2, 3),
                    "primary_diagnosis": "C78.7",
                    "secondary_diagnoses": ["E11.2", "K70.4", "K70.3", "J44.9"],
                },
            )
        },
        {"charlson": 13},
    ),
    Spec(
        "Charlson: four-character codes need the fourth character",
        {
            "hospital_spells": _spells(
                {
                    "admission_date": D(2023, 2, 1),
                    "discharge_date": D(2023, 2, 3),
                    "primary_diagnosis": "I25.1",
                    "secondary_diagnoses": ["I25.2"],
                },
            )
        },
        {"charlson": 1},
    ),
    # Hand-worked eFI: heart failure, hypertension, falls, dementia (memory) and
    # osteoporosis = 5 coded deficits (two hypertension codes count once) + polypharmacy
    # = 6 of 36 = 0.1667 -> mild.
    Spec(
        "eFI hand-worked: 6 deficits, mild",
        {
            "primary_care_events": [
                {"nhs_number": "P", "event_date": D(2015, 1, 1), "code": c}
                for c in ("84114007", "38341003", "59621000", "161898004", "52448006", "64859006")
            ],
            "medications": [
                {"nhs_number": "P", "issue_date": D(2023, 12, 1), "code": f"20{i}"}
                for i in range(5)
            ],
        },
        {"efi_deficits": 6, "efi": 6 / 36, "efi_category": "mild"},
    ),
    Spec(
        "eFI: 4 deficits is fit",
        {
            "primary_care_events": [
                {"nhs_number": "P", "event_date": D(2015, 1, 1), "code": c}
                for c in ("84114007", "38341003", "161898004", "64859006")
            ]
        },
        {"efi_deficits": 4, "efi_category": "fit"},
    ),
]

COHORT_SPECS = [
    ("died before D", {"date_of_death": D(2023, 6, 1)}, False),
    ("dies after D", {"date_of_death": D(2024, 6, 1)}, True),
    ("dies on D", {"date_of_death": D(2024, 1, 1)}, False),
    ("born after D", {"date_of_birth": D(2024, 2, 1)}, False),
    ("left the practice before D", {"registered_to": D(2023, 1, 1)}, False),
    ("registers after D", {"registered_from": D(2024, 3, 1)}, False),
    ("registered since before D", {"registered_from": D(2020, 3, 1)}, True),
]


def _build() -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    numbers = iter(synthetic_numbers(len(SPECS) + len(COHORT_SPECS)))
    rows: dict[str, list[dict[str, Any]]] = {"people": []}
    who: dict[str, str] = {}
    for spec in SPECS:
        p = next(numbers)
        who[spec.name] = p
        rows["people"].append({"nhs_number": p, **spec.people})
        for table, trows in spec.rows.items():
            for r in trows:
                rows.setdefault(table, []).append({**r, "nhs_number": p})
    cohort: dict[str, str] = {}
    for name, person, _ in COHORT_SPECS:
        p = next(numbers)
        cohort[name] = p
        rows["people"].append({"nhs_number": p, **person})
    return make_tables(rows), who, cohort


TABLES, WHO, COHORT = _build()


@pytest.fixture(scope="module")
def computed() -> dict[str, pd.DataFrame]:
    return {}


def _features(engine_name: str, cache: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if engine_name not in cache:
        engine = engine_from_tables(engine_name, TABLES)
        try:
            cache[engine_name] = features.compute(engine, AS_OF).set_index("nhs_number")
        finally:
            engine.close()
    return cache[engine_name]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_feature_spec(spec: Spec, engine_name: str, computed: dict[str, pd.DataFrame]) -> None:
    row = _features(engine_name, computed).loc[WHO[spec.name]]
    got = {k: row[k] for k in spec.expected}
    for k, v in spec.expected.items():
        if isinstance(v, float):
            assert got[k] == pytest.approx(v, abs=1e-12), k
        else:
            assert got[k] == v, k


@pytest.mark.parametrize(
    ("name", "included"),
    [(n, inc) for n, _, inc in COHORT_SPECS],
    ids=[n for n, *_ in COHORT_SPECS],
)
def test_cohort_spec(
    name: str, included: bool, engine_name: str, computed: dict[str, pd.DataFrame]
) -> None:
    assert (COHORT[name] in _features(engine_name, computed).index) is included


def test_untouched_person_has_zero_activity(
    engine_name: str, computed: dict[str, pd.DataFrame]
) -> None:
    df = _features(engine_name, computed)
    row = df.loc[WHO["unknown deprivation is 0"]]
    numeric = [c for c in features.feature_columns() if c not in ("age", "deprivation_decile")]
    assert all(row[c] == 0 for c in numeric)
    assert row["efi_category"] == "fit" and row["hfrs_category"] == "low"
