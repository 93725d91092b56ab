"""Spend per person from activity and the tariff: a hand-worked example on every engine."""

from __future__ import annotations

import datetime as dt

import pytest

from careweave.dataset.tariff import default_tariff
from careweave.risk import segments
from careweave.warehouse.engines import engine_from_tables
from risk.helpers import make_tables

D = dt.date
P = "9990000018"


def test_spend_hand_worked(engine_name: str) -> None:
    tables = make_tables(
        {
            "people": [{"nhs_number": P}],
            "hospital_spells": [
                # 7 days: emergency spell 2,600 + 2 excess bed days x 350 = 3,300
                {"nhs_number": P, "admission_date": D(2023, 6, 1), "discharge_date": D(2023, 6, 8)},
                # its own cost wins over the tariff
                {
                    "nhs_number": P,
                    "admission_date": D(2023, 2, 1),
                    "discharge_date": D(2023, 2, 2),
                    "admission_method": "elective",
                    "cost": 1234.5,
                },
                # outside the 12 months
                {
                    "nhs_number": P,
                    "admission_date": D(2022, 12, 1),
                    "discharge_date": D(2022, 12, 2),
                },
            ],
            "ae_attendances": [{"nhs_number": P, "attendance_date": D(2023, 6, 1)}],  # 250
            "outpatient_appointments": [
                {"nhs_number": P, "appointment_date": D(2023, 7, 1)},  # 165
                {"nhs_number": P, "appointment_date": D(2023, 7, 2), "outcome": "did_not_attend"},
            ],
            "primary_care_contacts": [  # GP home visit: 45 + 40
                {"nhs_number": P, "contact_date": D(2023, 8, 1), "mode": "home_visit"},
            ],
            "care_placements": [  # residential, last 14 days: 2 weeks x 950
                {"nhs_number": P, "start_date": D(2023, 12, 18)},
            ],
        }
    )
    engine = engine_from_tables(engine_name, tables)
    try:
        out = engine.to_arrow(segments.spend(engine, D(2024, 1, 1), default_tariff()))
    finally:
        engine.close()
    rows = out.to_pylist()
    assert rows == [
        {"nhs_number": P, "spend_12m": pytest.approx(3300 + 1234.5 + 250 + 165 + 85 + 1900)}
    ]
