"""ehrQL-style spec cases for the measures: tiny input rows and the expected figures.

Each spec is a small population in its own practice (``SPEC<n>``), so all specs
load into one set of tables and run in one computation per engine (Spark is
slow to start); each spec is then checked on its practice's row. The span is
calendar 2023; unless a spec says otherwise the figure checked is the rolling
12 months ending 2023-12-31. Person-time is days / 365.25.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from careweave.dataset.derived import RISK_SCORES
from careweave.dataset.nhs_number import synthetic_numbers
from risk.helpers import DEFAULTS, make_table

D = dt.date
START, END = D(2023, 1, 1), D(2023, 12, 31)
Y = 365 / 365.25  # a whole 2023 in person-years
HYPERTENSION, DIABETES = "38341003", "44054006"
RUNS = (D(2023, 3, 31), D(2023, 9, 30))  # the risk_scores runs every spec shares

EXTRA_DEFAULTS: dict[str, dict[str, Any]] = {
    "case_management_episodes": {"enrolment_reason": "risk_stratification"},
    "telecare_services": {"service_type": "pendant_alarm"},
    "care_plans": {"code_system": "snomed", "code": "734163000"},
    "reablement_episodes": {},
}


@dataclass
class Spec:
    name: str
    kpi: str
    # person label -> people columns (date_of_birth etc.); labels stand for NHS numbers
    people: dict[str, dict[str, Any]]
    rows: dict[str, list[dict[str, Any]]]
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    interval: tuple[str, D] = ("rolling_12_months", END)
    levels: dict[D, dict[str, int]] = field(default_factory=dict)  # run -> label -> CCM level


def _spell(who: str, adm: D, dis: D | None, **kw: Any) -> dict[str, Any]:
    return {"nhs_number": who, "admission_date": adm, "discharge_date": dis, **kw}


OLD = {"date_of_birth": D(1950, 1, 1)}  # 73 all year
YOUNG = {"date_of_birth": D(1990, 6, 1)}  # 32-33
MH = {"service": "community_mental_health_team", "mode": "face_to_face"}

SPECS = [
    Spec(
        "emergency admissions per 1,000 person-years; elective and earlier ones not counted",
        "emergency_admissions_per_1000",
        {"A": {}, "B": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 3)),
                _spell("A", D(2023, 4, 1), D(2023, 4, 2), admission_method="elective"),
                _spell("B", D(2022, 12, 30), D(2023, 1, 2)),
            ]
        },
        1000 * 1 / (2 * Y),
        1,
        2 * Y,
    ),
    Spec(
        "person-time starts at registration and stops when registration ends",
        "emergency_admissions_per_1000",
        {"A": {"registered_from": D(2023, 7, 1)}, "B": {"registered_to": D(2023, 4, 1)}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 6, 15), D(2023, 6, 16)),  # before registration
                _spell("A", D(2023, 8, 1), D(2023, 8, 2)),
                _spell("B", D(2023, 5, 1), D(2023, 5, 2)),  # after leaving
            ]
        },
        1000 * 1 / ((184 + 90) / 365.25),
        1,
        (184 + 90) / 365.25,
    ),
    Spec(
        "a death ends person-time and counts on its day",
        "deaths_per_1000",
        {"A": {"date_of_death": D(2023, 7, 1)}},
        {},
        1000 / (181 / 365.25),
        1,
        181 / 365.25,
    ),
    Spec(
        "65+ only: numerator and person-time",
        "emergency_admissions_per_1000_65plus",
        {"A": OLD, "B": YOUNG},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 3)),
                _spell("B", D(2023, 3, 1), D(2023, 3, 3)),
            ]
        },
        1000 / Y,
        1,
        Y,
    ),
    Spec(
        "a 65th birthday splits person-time and events by age on the day",
        "emergency_admissions_per_1000_65plus",
        {"A": {"date_of_birth": D(1958, 7, 1)}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 3)),  # aged 64
                _spell("A", D(2023, 9, 1), D(2023, 9, 3)),  # aged 65
            ]
        },
        1000 / (184 / 365.25),
        1,
        184 / 365.25,
    ),
    Spec(
        "direct age standardisation: ESP 2013 weights of the bands present",
        "emergency_admissions_per_1000_age_standardised",
        {"A": {"date_of_birth": D(1993, 1, 1)}, "B": {"date_of_birth": D(1943, 1, 1)}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 3)),
                _spell("B", D(2023, 3, 1), D(2023, 3, 3)),
                _spell("B", D(2023, 5, 1), D(2023, 5, 3)),
            ]
        },
        # bands 30-34 (weight 6,500: 1 event) and 80-84 (2,500: 2 events), a person-year each
        1000 * (6500 * 1 / Y + 2500 * 2 / Y) / 9000,
        3,
        2 * Y,
    ),
    Spec(
        "30-day readmissions: index discharges, exclusions, counted at the index discharge",
        "readmission_30d_rate",
        {"A": {}, "B": {}, "C": {}, "D": {"date_of_death": D(2023, 8, 3)}, "E": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 5)),  # index, readmitted 15 days later
                _spell("A", D(2023, 3, 20), D(2023, 3, 22)),  # index; next is elective
                _spell("A", D(2023, 6, 1), D(2023, 6, 2), admission_method="elective"),  # index
                _spell("A", D(2023, 7, 15), D(2023, 7, 16)),  # index (43 days after: not)
                _spell("B", D(2023, 4, 1), D(2023, 4, 3), primary_diagnosis="C18.9"),  # cancer
                _spell("B", D(2023, 4, 10), D(2023, 4, 12)),  # index
                _spell("C", D(2023, 5, 1), D(2023, 5, 2), admission_method="maternity"),
                _spell("C", D(2023, 5, 5), D(2023, 5, 6)),  # index
                _spell("D", D(2023, 8, 1), D(2023, 8, 3), discharge_destination="died"),
                _spell("E", D(2023, 12, 15), D(2023, 12, 16)),  # last 30 days: no follow-up
            ]
        },
        1 / 6,
        1,
        6,
    ),
    Spec(
        "bed days fall in the month they are spent",
        "emergency_bed_days_per_1000",
        {"A": {}},
        {"hospital_spells": [_spell("A", D(2023, 2, 25), D(2023, 3, 5))]},
        1000 * 4 / (31 / 365.25),
        4,
        31 / 365.25,
        ("month", D(2023, 3, 31)),
    ),
    Spec(
        "mean length of stay of emergency discharges (open spells not yet)",
        "mean_length_of_stay_days",
        {"A": {}, "B": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 5)),
                _spell("B", D(2023, 4, 1), D(2023, 4, 11)),
                _spell("B", D(2023, 12, 20), None),
            ]
        },
        7.0,
        14,
        2,
    ),
    Spec(
        "share of bed days in stays over 15 days",
        "share_bed_days_stays_over_15_days",
        {"A": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 1, 1), D(2023, 1, 21)),
                _spell("A", D(2023, 2, 1), D(2023, 2, 6), admission_method="elective"),
            ]
        },
        20 / 25,
        20,
        25,
    ),
    Spec(
        "share of bed days used by people 65+ in stays over 10 days",
        "share_bed_days_65plus_stays_over_10_days",
        {"A": OLD, "B": YOUNG, "C": OLD},
        {
            "hospital_spells": [
                _spell("A", D(2023, 1, 1), D(2023, 1, 13)),
                _spell("B", D(2023, 1, 1), D(2023, 1, 13)),
                _spell("C", D(2023, 1, 1), D(2023, 1, 6)),
            ]
        },
        12 / 29,
        12,
        29,
    ),
    Spec(
        "bed days after the discharge-ready date as a share of bed days",
        "delayed_discharge_bed_days_share",
        {"A": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 1, 1), D(2023, 1, 11), discharge_ready_date=D(2023, 1, 8))
            ]
        },
        0.3,
        3,
        10,
    ),
    Spec(
        "A&E attendances converted to admission",
        "ae_conversion_rate",
        {"A": {}},
        {
            "ae_attendances": [
                {"nhs_number": "A", "attendance_date": D(2023, 2, 1)},
                {"nhs_number": "A", "attendance_date": D(2023, 3, 1), "disposal": "admitted"},
                {"nhs_number": "A", "attendance_date": D(2023, 4, 1)},
            ]
        },
        1 / 3,
        1,
        3,
    ),
    Spec(
        "permanent care-home admissions 65+: first permanent placement only",
        "permanent_care_home_admissions_per_100000_65plus",
        {"A": OLD, "B": OLD, "C": YOUNG},
        {
            "care_placements": [
                {"nhs_number": "A", "start_date": D(2023, 5, 1), "end_date": D(2023, 8, 1)},
                {"nhs_number": "A", "start_date": D(2023, 8, 1)},  # a move, not an admission
                {"nhs_number": "B", "start_date": D(2023, 6, 1), "permanent": False},
                {"nhs_number": "C", "start_date": D(2023, 6, 1)},  # under 65
            ]
        },
        100000 / (2 * Y),
        1,
        2 * Y,
    ),
    Spec(
        "at home 91 days after reablement, 65+, outcome known",
        "reablement_home_91d_rate_65plus",
        {"A": OLD, "B": OLD, "C": OLD, "E": OLD, "F": YOUNG},
        {
            "reablement_episodes": [
                {"nhs_number": "A", "start_date": D(2023, 2, 1), "at_home_91d": True},
                {"nhs_number": "B", "start_date": D(2023, 2, 1), "at_home_91d": True},
                {"nhs_number": "C", "start_date": D(2023, 2, 1), "at_home_91d": False},
                {"nhs_number": "E", "start_date": D(2023, 11, 1), "at_home_91d": None},
                {"nhs_number": "F", "start_date": D(2023, 2, 1), "at_home_91d": True},
            ]
        },
        2 / 3,
        2,
        3,
    ),
    Spec(
        "outpatient did-not-attend rate (cancelled left out)",
        "outpatient_dna_rate",
        {"A": {}},
        {
            "outpatient_appointments": [
                {"nhs_number": "A", "appointment_date": D(2023, m, 1)} for m in (1, 2, 3)
            ]
            + [
                {"nhs_number": "A", "appointment_date": D(2023, 4, 1), "outcome": "did_not_attend"},
                {"nhs_number": "A", "appointment_date": D(2023, 5, 1), "outcome": "cancelled"},
                {"nhs_number": "A", "appointment_date": D(2023, 6, 1), "outcome": "cancelled"},
            ]
        },
        1 / 4,
        1,
        4,
    ),
    Spec(
        "deaths in hospital as a share of deaths",
        "hospital_deaths_share",
        {"A": {"date_of_death": D(2023, 6, 10)}, "B": {"date_of_death": D(2023, 7, 1)}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 6, 1), D(2023, 6, 10), discharge_destination="died"),
                _spell("B", D(2023, 3, 1), D(2023, 3, 3)),
            ]
        },
        1 / 2,
        1,
        2,
    ),
    Spec(
        "recorded prevalence at the interval's end: a resolved code no longer counts",
        "prevalence_hypertension",
        {"A": {}, "B": {}, "C": {}},
        {
            "primary_care_events": [
                {"nhs_number": "A", "event_date": D(2015, 1, 1), "code": HYPERTENSION},
                {
                    "nhs_number": "B",
                    "event_date": D(2015, 1, 1),
                    "code": HYPERTENSION,
                    "resolved_date": D(2023, 6, 1),
                },
            ]
        },
        1 / 3,
        1,
        3,
    ),
    Spec(
        "prevalence: the register's and the denominator's minimum ages (diabetes 17+)",
        "prevalence_diabetes",
        {"A": {"date_of_birth": D(2007, 6, 1)}, "B": OLD, "C": OLD},
        {
            "primary_care_events": [
                {"nhs_number": "A", "event_date": D(2022, 1, 1), "code": DIABETES},
                {"nhs_number": "B", "event_date": D(2022, 1, 1), "code": DIABETES},
            ]
        },
        1 / 2,
        1,
        2,
    ),
    Spec(
        "prevalence in an earlier month: a code recorded later does not count yet",
        "prevalence_hypertension",
        {"A": {}, "B": {}},
        {
            "primary_care_events": [
                {"nhs_number": "A", "event_date": D(2023, 2, 28), "code": HYPERTENSION},
                {"nhs_number": "B", "event_date": D(2023, 3, 1), "code": HYPERTENSION},
            ]
        },
        1 / 2,
        1,
        2,
        ("month", D(2023, 2, 28)),
    ),
    Spec(
        "emergency admissions for chronic ACSCs (NHS OF 2.3.i list)",
        "acsc_share_of_emergency_admissions",
        {"A": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 1, 1), D(2023, 1, 2), primary_diagnosis="I50.0"),
                _spell("A", D(2023, 2, 1), D(2023, 2, 2), primary_diagnosis="J18.9"),
                _spell("A", D(2023, 3, 1), D(2023, 3, 2), primary_diagnosis="E11.9"),
                _spell("A", D(2023, 4, 1), D(2023, 4, 2), primary_diagnosis="e11.6"),
            ]
        },
        2 / 4,
        2,
        4,
    ),
    Spec(
        "CCM levels 3-4 who are case-managed on the interval's last day",
        "case_managed_share_levels_3_4",
        {"A": {}, "B": {}, "C": {}},
        {
            "case_management_episodes": [
                {"nhs_number": "A", "start_date": D(2023, 7, 1)},
                {"nhs_number": "B", "start_date": D(2023, 1, 1), "end_date": D(2023, 9, 1)},
                {"nhs_number": "C", "start_date": D(2023, 3, 1)},
            ]
        },
        1 / 2,
        1,
        2,
        levels={RUNS[1]: {"A": 4, "B": 3, "C": 1}},
    ),
    Spec(
        "CCM level 4 who are case-managed (level 3 left out)",
        "case_managed_share_level_4",
        {"A": {}, "B": {}, "C": {}, "E": {}},
        {
            "case_management_episodes": [
                {"nhs_number": "A", "start_date": D(2023, 7, 1)},
                {"nhs_number": "B", "start_date": D(2023, 1, 1), "end_date": D(2023, 9, 1)},
                {"nhs_number": "C", "start_date": D(2023, 3, 1)},
            ]
        },
        1 / 3,
        1,
        3,
        levels={RUNS[1]: {"A": 4, "B": 4, "C": 3, "E": 4}},
    ),
    Spec(
        "CCM levels 3-4 with an accountable lead professional",
        "lead_professional_share_levels_3_4",
        {"A": {}, "B": {}},
        {
            "case_management_episodes": [
                {
                    "nhs_number": "A",
                    "start_date": D(2023, 7, 1),
                    "lead_professional_role": "community_matron",
                },
                {"nhs_number": "B", "start_date": D(2023, 7, 1)},
            ]
        },
        1 / 2,
        1,
        2,
        levels={RUNS[1]: {"A": 4, "B": 3}},
    ),
    Spec(
        "CCM levels 3-4 with a care plan (episode care-plan date or a source care plan)",
        "care_plan_share_levels_3_4",
        {"A": {}, "B": {}, "C": {}},
        {
            "case_management_episodes": [
                {"nhs_number": "A", "start_date": D(2023, 7, 1), "care_plan_date": D(2023, 8, 1)},
                {"nhs_number": "B", "start_date": D(2023, 7, 1)},
            ],
            "care_plans": [{"nhs_number": "C", "start_date": D(2023, 2, 1)}],
        },
        2 / 3,
        2,
        3,
        levels={RUNS[1]: {"A": 4, "B": 3, "C": 3}},
    ),
    Spec(
        "people with a care plan on the last day (episode care-plan date or a source care plan; "
        "an ended plan not counted)",
        "people_with_care_plan",
        {"A": {}, "B": {}, "C": {}, "E": {}},
        {
            "case_management_episodes": [
                {"nhs_number": "A", "start_date": D(2023, 7, 1), "care_plan_date": D(2023, 8, 1)},
                {"nhs_number": "B", "start_date": D(2023, 7, 1)},
                {
                    "nhs_number": "E",
                    "start_date": D(2023, 2, 1),
                    "care_plan_date": D(2023, 3, 1),
                    "end_date": D(2023, 6, 1),
                },
            ],
            "care_plans": [{"nhs_number": "C", "start_date": D(2023, 2, 1)}],
        },
        2,
        2,
        None,
    ),
    Spec(
        "share of the practice's list on the case-management register",
        "case_management_register_share",
        {"A": {}, "B": {}, "C": {}, "E": {}},
        {"case_management_episodes": [{"nhs_number": "A", "start_date": D(2023, 7, 1)}]},
        1 / 4,
        1,
        4,
    ),
    Spec(
        "care-home residents with a care plan",
        "care_home_residents_with_care_plan_share",
        {"A": {}, "B": {}},
        {
            "care_placements": [
                {"nhs_number": "A", "start_date": D(2022, 5, 1)},
                {"nhs_number": "B", "start_date": D(2022, 5, 1)},
            ],
            "care_plans": [{"nhs_number": "A", "start_date": D(2023, 2, 1)}],
        },
        1 / 2,
        1,
        2,
    ),
    Spec(
        "telecare / telehealth coverage of CCM levels 3-4",
        "telecare_coverage_levels_3_4",
        {"A": {}, "B": {}},
        {"telecare_services": [{"nhs_number": "A", "start_date": D(2023, 1, 1)}]},
        1 / 2,
        1,
        2,
        levels={RUNS[1]: {"A": 4, "B": 3}},
    ),
    Spec(
        "share of people in the lower CCM levels at the latest run",
        "lower_levels_share",
        {"A": {}, "B": {}, "C": {}},
        {},
        2 / 3,
        2,
        3,
        levels={RUNS[0]: {"A": 4, "B": 4, "C": 4}, RUNS[1]: {"A": 1, "B": 2, "C": 4}},
    ),
    Spec(
        "people who moved to a lower level since the run before",
        "moved_to_lower_level_share",
        {"A": {}, "B": {}, "C": {}, "E": {}},
        {},
        1 / 3,
        1,
        3,
        levels={RUNS[0]: {"A": 4, "B": 2, "C": 3}, RUNS[1]: {"A": 2, "B": 3, "C": 3, "E": 1}},
    ),
    Spec(
        "spend per head: dated activity at the tariff plus weekly care for the days it ran",
        "spend_per_head",
        {"A": {}},
        {
            "ae_attendances": [{"nhs_number": "A", "attendance_date": D(2023, 2, 1)}],
            "primary_care_contacts": [{"nhs_number": "A", "contact_date": D(2023, 3, 1)}],
            "social_care_services": [
                {
                    "nhs_number": "A",
                    "service_type": "day_care",
                    "start_date": D(2023, 1, 1),
                    "end_date": D(2023, 1, 15),
                }
            ],
        },
        (250 + 45 + 180 * 14 / 7) / Y,
        250 + 45 + 180 * 14 / 7,
        Y,
    ),
    Spec(
        "outpatient attendances per 1,000 (missed and cancelled ones not counted)",
        "outpatient_attendances_per_1000",
        {"A": {}},
        {
            "outpatient_appointments": [
                {"nhs_number": "A", "appointment_date": D(2023, 2, 1)},
                {"nhs_number": "A", "appointment_date": D(2023, 3, 1), "outcome": "did_not_attend"},
                {"nhs_number": "A", "appointment_date": D(2023, 4, 1), "outcome": "cancelled"},
            ]
        },
        1000 / Y,
        1,
        Y,
    ),
    Spec(
        "primary care contacts per 1,000 (one before the interval not counted)",
        "primary_care_contacts_per_1000",
        {"A": {}, "B": {}},
        {
            "primary_care_contacts": [
                {"nhs_number": "A", "contact_date": D(2023, 3, 1)},
                {"nhs_number": "B", "contact_date": D(2023, 5, 1), "mode": "home_visit"},
                {"nhs_number": "B", "contact_date": D(2022, 12, 31)},
            ]
        },
        2000 / (2 * Y),
        2,
        2 * Y,
    ),
    Spec(
        "community contacts per 1,000",
        "community_contacts_per_1000",
        {"A": {}},
        {
            "community_contacts": [
                {"nhs_number": "A", "contact_date": D(2023, m, 1)} for m in (1, 6)
            ]
        },
        2000 / Y,
        2,
        Y,
    ),
    Spec(
        "mental health contacts per 1,000 (none after death)",
        "mental_health_contacts_per_1000",
        {"A": {"date_of_death": D(2023, 7, 1)}},
        {
            "mental_health_contacts": [
                {"nhs_number": "A", "contact_date": D(2023, m, 1), **MH} for m in (3, 8)
            ]
        },
        1000 / (181 / 365.25),
        1,
        181 / 365.25,
    ),
    Spec(
        "bed days per 1,000: any spell, merged where a person's spells overlap",
        "bed_days_per_1000",
        {"A": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 11), admission_method="elective"),
                _spell("A", D(2023, 3, 6), D(2023, 3, 16)),
            ]
        },
        1000 * 15 / Y,
        15,
        Y,
    ),
    Spec(
        "registered population on the interval's last day",
        "registered_population",
        {"A": {}, "B": {}, "C": {"registered_to": D(2023, 6, 1)}},
        {},
        2,
        2,
        None,
    ),
]


SPECS += [
    Spec(
        "75+ only",
        "emergency_admissions_per_1000_75plus",
        {"A": {"date_of_birth": D(1940, 1, 1)}, "B": OLD},
        {"hospital_spells": [_spell(w, D(2023, 3, 1), D(2023, 3, 3)) for w in ("A", "B")]},
        1000 / Y,
        1,
        Y,
    ),
    Spec(
        "elective admissions per 1,000",
        "elective_admissions_per_1000",
        {"A": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 3), admission_method="elective"),
                _spell("A", D(2023, 5, 1), D(2023, 5, 3)),
            ]
        },
        1000 / Y,
        1,
        Y,
    ),
    Spec(
        "chronic ACSC emergency admissions per 1,000",
        "acsc_emergency_admissions_per_1000",
        {"A": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 3, 1), D(2023, 3, 3), primary_diagnosis="J44.1"),
                _spell("A", D(2023, 4, 1), D(2023, 4, 3), primary_diagnosis="I10X"),
                _spell("A", D(2023, 5, 1), D(2023, 5, 3), primary_diagnosis="S72.0"),
            ]
        },
        2000 / Y,
        2,
        Y,
    ),
    Spec(
        "delayed discharge bed days per 1,000, in the months they are spent",
        "delayed_discharge_bed_days_per_1000",
        {"A": {}},
        {
            "hospital_spells": [
                _spell("A", D(2023, 1, 20), D(2023, 2, 5), discharge_ready_date=D(2023, 1, 29))
            ]
        },
        1000 * 4 / (28 / 365.25),
        4,
        28 / 365.25,
        ("month", D(2023, 2, 28)),
    ),
    Spec(
        "A&E attendances per 1,000",
        "ae_attendances_per_1000",
        {"A": {}, "B": {}},
        {"ae_attendances": [{"nhs_number": "A", "attendance_date": D(2023, 2, 1)}] * 3},
        3000 / (2 * Y),
        3,
        2 * Y,
    ),
    Spec(
        "people who moved to a higher level since the run before",
        "moved_to_higher_level_share",
        {"A": {}, "B": {}},
        {},
        1 / 2,
        1,
        2,
        levels={RUNS[0]: {"A": 1, "B": 2}, RUNS[1]: {"A": 2, "B": 2}},
    ),
]


def _register_specs() -> list[Spec]:
    """One spec per register: a code (or, for obesity, a BMI of 30+) puts one of two
    people of the register's ages on it."""
    from careweave.dataset.registers import load_registers

    out = []
    for r in load_registers():
        if r.snomed_codes:
            rows: dict[str, list[dict[str, Any]]] = {
                "primary_care_events": [
                    {"nhs_number": "A", "event_date": D(2020, 1, 1), "code": r.snomed_codes[0]}
                ]
            }
        else:
            rows = {}
        if r.observation_rule is not None:
            rule = r.observation_rule
            rows["observations"] = [
                {
                    "nhs_number": "A",
                    "obs_date": D(2023, 11, 1),
                    "code": "39156-5",
                    "measure": rule.measure,
                    "value": rule.value + 1,
                }
            ]
        out.append(
            Spec(
                f"prevalence of {r.name}",
                f"prevalence_{r.name}",
                {"A": OLD, "B": OLD},
                rows,
                0.5,
                1,
                2,
            )
        )
    return out


SPECS += _register_specs()


# One person with activity in every setting; each setting's and funder's spend is worked by hand
# from the default tariff (careweave/dataset/data/tariff.toml: rapid response, reablement and
# telecare are pooled; social care otherwise the local authority's; the rest the NHS's).
_TELECARE_DAYS = 214  # 2023-06-01 to the span's end (2024-01-01 exclusive)
SPEND_ROWS: dict[str, list[dict[str, Any]]] = {
    "hospital_spells": [_spell("A", D(2023, 3, 1), D(2023, 3, 3))],  # 2 days: 2600
    "ae_attendances": [{"nhs_number": "A", "attendance_date": D(2023, 2, 1)}],  # 250
    "primary_care_contacts": [
        {"nhs_number": "A", "contact_date": D(2023, 3, 1)},  # GP 45
        {
            "nhs_number": "A",
            "contact_date": D(2023, 4, 1),
            "staff_role": "nurse",
            "mode": "home_visit",
        },
    ],  # nurse 15 + home visit 40
    "medications": [
        {"nhs_number": "A", "issue_date": D(2023, m, 1), "code": "x", "term": "x"} for m in (1, 2)
    ],  # 2 x 8
    "community_contacts": [
        {"nhs_number": "A", "contact_date": D(2023, 5, 1)},  # district nursing 55
        {"nhs_number": "A", "contact_date": D(2023, 5, 2), "service": "rapid_response"},  # 120
    ],
    "mental_health_contacts": [{"nhs_number": "A", "contact_date": D(2023, 6, 1), **MH}],  # 150
    "social_care_services": [
        {
            "nhs_number": "A",
            "start_date": D(2023, 1, 1),
            "end_date": D(2023, 1, 15),
            "weekly_hours": 10.0,
        },  # 10 h x 27 x 14/7 = 540
        {"nhs_number": "A", "service_type": "telecare", "start_date": D(2023, 6, 1)},
    ],  # 6 a week
    "reablement_episodes": [
        {"nhs_number": "A", "start_date": D(2023, 4, 1), "local_authority_id": "LA1"}
    ],  # 1800
    "social_care_assessments": [
        {
            "nhs_number": "A",
            "assessment_date": D(2023, 4, 1),
            "local_authority_id": "LA1",
            "assessment_type": "needs",
            "outcome": "services",
        }
    ],  # 250
}
SPEND_EXPECTED = {
    "acute": 2600 + 250,
    "community": 55 + 120,
    "primary_care": 45 + 55,
    "prescribing": 16,
    "mental_health": 150,
    "social_care": 540 + 6 * _TELECARE_DAYS / 7 + 1800 + 250,
    "nhs": 2600 + 250 + 55 + 45 + 55 + 16 + 150,
    "local_authority": 540 + 250,
    "pooled": 120 + 6 * _TELECARE_DAYS / 7 + 1800,
}
SPECS += [
    Spec(
        f"spend per head by setting and funder: {name}",
        f"spend_per_head_{name}",
        {"A": {}},
        SPEND_ROWS,
        total / Y,
        total,
        Y,
    )
    for name, total in SPEND_EXPECTED.items()
]
SPECS.append(
    Spec(
        "spend per head, every setting: the settings add up to it",
        "spend_per_head",
        {"A": {}},
        SPEND_ROWS,
        sum(SPEND_EXPECTED[k] for k in list(SPEND_EXPECTED)[:6]) / Y,
        sum(SPEND_EXPECTED[k] for k in list(SPEND_EXPECTED)[:6]),
        Y,
    )
)


def spec_tables(specs: list[Spec]) -> dict[str, pa.Table]:
    """Every spec's rows in one set of canonical tables (and risk_scores)."""
    labels = [(i, who) for i, s in enumerate(specs) for who in s.people]
    numbers = dict(zip(labels, synthetic_numbers(len(labels)), strict=True))
    rows: dict[str, list[dict[str, Any]]] = {"people": []}
    scores: list[dict[str, Any]] = []
    for i, s in enumerate(specs):
        for who, cols in s.people.items():
            rows["people"].append(
                {"nhs_number": numbers[(i, who)], "practice_id": f"SPEC{i:02d}", **cols}
            )
        for table, items in s.rows.items():
            for r in items:
                out = {**EXTRA_DEFAULTS.get(table, {}), **r}
                out["nhs_number"] = numbers[(i, r["nhs_number"])]
                rows.setdefault(table, []).append(out)
        for run, levels in s.levels.items():
            for who, level in levels.items():
                scores.append(_score(numbers[(i, who)], run, level))
    for t in rows:
        DEFAULTS.setdefault(t, {})
    tables = {name: make_table(name, r) for name, r in rows.items()}
    tables["risk_scores"] = pa.Table.from_pylist(scores, schema=RISK_SCORES.arrow_schema)
    return tables


def _score(nhs: str, as_of: D, level: int) -> dict[str, Any]:
    return {
        "nhs_number": nhs,
        "as_of": as_of,
        "probability": 0.1,
        "percentile": 50.0,
        "risk_band": "moderate",
        "ccm_level": level,
        "segment": "adults / mostly healthy",
        "frailty_category": "fit",
        "readmitter": False,
        "explanation": [],
        "model_version": "test",
    }
