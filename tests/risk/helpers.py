"""Helpers for the risk tests: canonical tables built from a few hand-written rows.

Only the columns a test cares about need writing: the rest get harmless
defaults (a practice, a white British-born woman born in 1950, ...), and row
ids are made up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pytest

from careweave.dataset.tables import BY_NAME

ENGINE_PARAMS = [
    "duckdb",
    pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")]),
]

DEFAULTS: dict[str, dict[str, Any]] = {
    "people": {
        "date_of_birth": dt.date(1950, 1, 1),
        "sex": "female",
        "ethnic_group": "white",
        "deprivation_decile": 5,
        "practice_id": "W00001",
        "care_home_resident": False,
    },
    "primary_care_events": {"code_system": "snomed", "org_id": "W00001"},
    "medications": {"code_system": "dmd", "org_id": "W00001"},
    "observations": {"code_system": "loinc", "org_id": "W00001", "unit": "kg/m2"},
    "hospital_spells": {"provider_id": "H1", "admission_method": "emergency"},
    "ae_attendances": {"provider_id": "H1", "disposal": "discharged"},
    "outpatient_appointments": {"provider_id": "H1", "outcome": "attended"},
    "social_care_services": {"local_authority_id": "LA1", "service_type": "home_care"},
    "care_placements": {
        "local_authority_id": "LA1",
        "care_home_id": "CH1",
        "placement_type": "residential",
        "permanent": True,
    },
    "telehealth_readings": {"device": "pulse_oximeter", "measure": "spo2", "unit": "%"},
    "community_contacts": {
        "provider_id": "C1",
        "service": "district_nursing",
        "mode": "home_visit",
    },
    "primary_care_contacts": {"staff_role": "gp", "mode": "face_to_face", "org_id": "W00001"},
}


def make_table(name: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    table = BY_NAME[name]
    defaults = DEFAULTS.get(name, {})
    filled = []
    for i, row in enumerate(rows):
        unknown = set(row) - set(table.column_names)
        assert not unknown, f"{name}: no column(s) {unknown}"
        r = {**defaults, **row}
        if "id" in table.column_names and "id" not in r:
            r["id"] = f"{name}-{i}"
        filled.append(r)
    columns = {c.name: [r.get(c.name) for r in filled] for c in table.columns}
    return pa.table(columns, schema=table.arrow_schema)


def make_tables(rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, pa.Table]:
    return {name: make_table(name, r) for name, r in rows.items()}
