"""Property tests of careweave load (Hypothesis):

(a) any generated dataset loads with zero quarantined rows;
(b) corrupting chosen rows sends exactly those rows to quarantine, with the right reason.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careweave.dataset.nhs_number import synthetic_numbers
from careweave.ingest import load_dataset
from ingest_fixtures import Dataset, Row, row_count, valid_dataset, write_dataset
from test_ingest_rules import bad_check_digit, quarantine

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Activity tables no other table points at, so a bad row there quarantines only itself.
LEAF_TABLES = (
    "primary_care_events",
    "observations",
    "medications",
    "primary_care_contacts",
    "ae_attendances",
    "outpatient_appointments",
    "community_contacts",
    "mental_health_contacts",
    "social_care_assessments",
    "social_care_services",
    "care_placements",
    "telehealth_readings",
)
MAIN_DATE = {
    "primary_care_events": "event_date",
    "observations": "obs_date",
    "medications": "issue_date",
    "primary_care_contacts": "contact_date",
    "ae_attendances": "attendance_date",
    "outpatient_appointments": "appointment_date",
    "community_contacts": "contact_date",
    "mental_health_contacts": "contact_date",
    "social_care_assessments": "assessment_date",
    "social_care_services": "start_date",
    "care_placements": "start_date",
    "telehealth_readings": "recorded_at",
}
ORG_COLUMN = {
    "primary_care_events": "org_id",
    "observations": "org_id",
    "medications": "org_id",
    "primary_care_contacts": "org_id",
    "ae_attendances": "provider_id",
    "outpatient_appointments": "provider_id",
    "community_contacts": "provider_id",
    "mental_health_contacts": "provider_id",
    "social_care_assessments": "local_authority_id",
    "social_care_services": "local_authority_id",
    "care_placements": "care_home_id",
}
CATEGORY = {
    "primary_care_contacts": "staff_role",
    "ae_attendances": "disposal",
    "outpatient_appointments": "outcome",
    "community_contacts": "service",
    "mental_health_contacts": "service",
    "social_care_assessments": "assessment_type",
    "social_care_services": "service_type",
    "care_placements": "placement_type",
    "telehealth_readings": "measure",
}
CODED = ("primary_care_events", "observations", "medications")

Corruption = Callable[[Dataset, str, Row], tuple[str, str]]


def _date_shift(row: Row, column: str, to: dt.date) -> None:
    if isinstance(row[column], dt.datetime):
        row[column] = dt.datetime.combine(to, dt.time(12))
    else:
        row[column] = to


def bad_nhs(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    r["nhs_number"] = bad_check_digit(r["nhs_number"])
    return "invalid_nhs_number", "nhs_number"


def unknown_person(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    r["nhs_number"] = synthetic_numbers(1000)[-1]
    return "unknown_person", "nhs_number"


def future(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    _date_shift(r, MAIN_DATE[t], dt.date.today() + dt.timedelta(days=30))
    return "date_in_future", MAIN_DATE[t]


def before_birth(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    person = next(p for p in d["people"] if p["nhs_number"] == r["nhs_number"])
    _date_shift(r, MAIN_DATE[t], person["date_of_birth"] - dt.timedelta(days=1))
    return "date_before_birth", MAIN_DATE[t]


def missing(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    r[MAIN_DATE[t]] = None
    return "missing_required", MAIN_DATE[t]


def not_allowed(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    if t not in CATEGORY:
        return bad_nhs(d, t, r)
    r[CATEGORY[t]] = "not-a-category"
    return "value_not_allowed", CATEGORY[t]


def unknown_org(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    if t not in ORG_COLUMN:
        return missing(d, t, r)
    r[ORG_COLUMN[t]] = "NO-SUCH-ORG"
    return "unknown_organisation", ORG_COLUMN[t]


def bad_code(d: Dataset, t: str, r: Row) -> tuple[str, str]:
    if t not in CODED:
        return future(d, t, r)
    r["code"] = "1234567"  # SNOMED-shaped, wrong partition/check digit; not LOINC either
    return "invalid_code", "code"


CORRUPTIONS: tuple[Corruption, ...] = (
    bad_nhs,
    unknown_person,
    future,
    before_birth,
    missing,
    not_allowed,
    unknown_org,
    bad_code,
)


@SETTINGS
@given(people=st.integers(min_value=1, max_value=25), seed=st.integers(0, 2**20))
def test_any_generated_dataset_loads_without_quarantine(people: int, seed: int) -> None:
    data = valid_dataset(people, seed)
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_dataset(Path(tmp) / "ds", data)
        report = load_dataset(directory, Path(tmp) / "w.duckdb")
    assert report.rows_quarantined == 0
    assert report.rows_new == report.rows_in == row_count(data)
    assert report.reconciles()


@SETTINGS
@given(
    seed=st.integers(0, 2**20),
    picks=st.lists(
        st.tuples(
            st.sampled_from(LEAF_TABLES),
            st.integers(min_value=0, max_value=10_000),
            st.sampled_from(CORRUPTIONS),
        ),
        min_size=1,
        max_size=8,
    ),
    duplicates=st.lists(
        st.tuples(st.sampled_from(LEAF_TABLES), st.integers(0, 10_000)), max_size=3
    ),
)
def test_corrupted_rows_and_only_they_are_quarantined(
    seed: int,
    picks: list[tuple[str, int, Corruption]],
    duplicates: list[tuple[str, int]],
) -> None:
    data = valid_dataset(8, seed, optional=False)
    expected: dict[tuple[str, int], tuple[str, str]] = {}
    for table, n, corrupt in picks:
        i = n % len(data[table])
        if (table, i + 1) in expected:
            continue
        expected[(table, i + 1)] = corrupt(data, table, data[table][i])
    for table, n in duplicates:
        i = n % len(data[table])
        if (table, i + 1) in expected:
            continue  # a copy of a bad row is bad for the same reason: not a duplicate test
        data[table].append(dict(data[table][i]))
        expected[(table, len(data[table]))] = ("duplicate_in_batch", "id")
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_dataset(Path(tmp) / "ds", data)
        warehouse = Path(tmp) / "w.duckdb"
        report = load_dataset(directory, warehouse)
        assert quarantine(warehouse) == expected
    assert report.rows_quarantined == len(expected)
    assert report.rows_in == row_count(data)
    assert report.reconciles()


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.integers(min_value=50, max_value=400),
    seed=st.integers(0, 2**20),
    years=st.integers(min_value=1, max_value=3),
)
def test_any_synthetic_population_loads_without_quarantine(
    people: int, seed: int, years: int
) -> None:
    from careweave.synth import generate

    start = dt.date(2021, 1, 1)
    end = dt.date(2021 + years - 1, 12, 31)
    with tempfile.TemporaryDirectory() as tmp:
        generate(people, seed, start, end, Path(tmp) / "ds")
        report = load_dataset(Path(tmp) / "ds", Path(tmp) / "w.duckdb")
    assert [(q.table, q.reason, q.field, q.rows) for q in report.quality] == []
    assert report.rows_new == report.rows_in > people
    assert report.reconciles()
