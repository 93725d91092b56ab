"""One test per validation rule of careweave load: the corrupted row, and only it, is
quarantined with the rule's reason and field."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careweave.dataset import codes
from careweave.dataset.nhs_number import is_valid, synthetic_numbers
from careweave.ingest import LoadReport, load_dataset
from careweave.ingest.rules import MACROS, REASONS
from ingest_fixtures import Dataset, row_count, valid_dataset, write_dataset

Quarantine = dict[tuple[str, int], tuple[str, str | None]]
TODAY = dt.date.today()


def quarantine(warehouse: Path) -> Quarantine:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, row_number, reason, field FROM _quarantine"
        ).fetchall()
    finally:
        con.close()
    return {(t, int(n)): (r, f) for t, n, r, f in rows}


def load_mutated(
    tmp_path: Path,
    mutate: Callable[[Dataset], None],
    *,
    people: int = 20,
    seed: int = 3,
    fmt: str = "parquet",
) -> tuple[LoadReport, Quarantine, Dataset]:
    data = valid_dataset(people, seed, optional=False)
    mutate(data)
    directory = write_dataset(tmp_path / "ds", data, fmt=fmt)
    warehouse = tmp_path / "w.duckdb"
    report = load_dataset(directory, warehouse)
    assert report.reconciles()
    assert report.rows_in == row_count(data)
    return report, quarantine(warehouse), data


def bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


def dead_person(data: Dataset) -> dict[str, object]:
    return next(p for p in data["people"] if p["date_of_death"] is not None)


def first_row_of(data: Dataset, table: str, nhs: object) -> int:
    return next(i for i, r in enumerate(data[table]) if r["nhs_number"] == nhs)


def cascade(data: Dataset, table: str, row: int) -> Quarantine:
    """Rows that depend on a quarantined row and so are quarantined after it."""
    bad = data[table][row - 1]
    if table == "people":
        return {
            (t, i + 1): ("unknown_person", "nhs_number")
            for t, rows in data.items()
            if t not in ("people", "organisations")
            for i, r in enumerate(rows)
            if r.get("nhs_number") == bad["nhs_number"]
        }
    if table == "hospital_spells":
        return {
            ("reablement_episodes", i + 1): ("unknown_reference", "spell_id")
            for i, r in enumerate(data["reablement_episodes"])
            if r["spell_id"] == bad["id"]
        }
    return {}


CASES: list[tuple[str, Callable[[Dataset], None], str, int, str, str]] = [
    (
        "invalid NHS number on an event",
        lambda d: d["ae_attendances"][0].update(
            nhs_number=bad_check_digit(d["ae_attendances"][0]["nhs_number"])
        ),
        "ae_attendances",
        1,
        "invalid_nhs_number",
        "nhs_number",
    ),
    (
        "NHS number with a letter",
        lambda d: d["observations"][1].update(nhs_number="999000001X"),
        "observations",
        2,
        "invalid_nhs_number",
        "nhs_number",
    ),
    (
        "missing required date",
        lambda d: d["observations"][2].update(obs_date=None),
        "observations",
        3,
        "missing_required",
        "obs_date",
    ),
    (
        "blank required text",
        lambda d: d["ae_attendances"][1].update(disposal="  "),
        "ae_attendances",
        2,
        "missing_required",
        "disposal",
    ),
    (
        "value not allowed",
        lambda d: d["outpatient_appointments"][0].update(outcome="DNA"),
        "outpatient_appointments",
        1,
        "value_not_allowed",
        "outcome",
    ),
    (
        "deprivation decile out of range",
        lambda d: d["people"][4].update(deprivation_decile=11),
        "people",
        5,
        "out_of_range",
        "deprivation_decile",
    ),
    (
        "negative cost",
        lambda d: d["hospital_spells"][0].update(cost=-1.0),
        "hospital_spells",
        1,
        "out_of_range",
        "cost",
    ),
    (
        "weekly hours above a week",
        lambda d: d["social_care_services"][0].update(weekly_hours=169.0),
        "social_care_services",
        1,
        "out_of_range",
        "weekly_hours",
    ),
    (
        "reading that is not a number",
        lambda d: d["telehealth_readings"][0].update(value=float("nan")),
        "telehealth_readings",
        1,
        "out_of_range",
        "value",
    ),
    (
        "SNOMED code with a wrong Verhoeff digit",
        lambda d: d["primary_care_events"][0].update(code="44054007"),
        "primary_care_events",
        1,
        "invalid_code",
        "code",
    ),
    (
        "SNOMED code sent as ICD-10",
        lambda d: d["primary_care_events"][1].update(code_system="icd10"),
        "primary_care_events",
        2,
        "invalid_code",
        "code",
    ),
    (
        "LOINC code with a wrong check digit",
        lambda d: d["observations"][0].update(code="4548-5"),
        "observations",
        1,
        "invalid_code",
        "code",
    ),
    (
        "malformed ICD-10 primary diagnosis",
        lambda d: d["hospital_spells"][1].update(primary_diagnosis="J4"),
        "hospital_spells",
        2,
        "invalid_code",
        "primary_diagnosis",
    ),
    (
        "malformed ICD-10 secondary diagnosis",
        lambda d: d["hospital_spells"][2].update(secondary_diagnoses=["I10", "44A"]),
        "hospital_spells",
        3,
        "invalid_code",
        "secondary_diagnoses",
    ),
    (
        "date in the future",
        lambda d: d["ae_attendances"][2].update(attendance_date=TODAY + dt.timedelta(days=10)),
        "ae_attendances",
        3,
        "date_in_future",
        "attendance_date",
    ),
    (
        "timestamp in the future",
        lambda d: d["telehealth_readings"][1].update(
            recorded_at=dt.datetime.combine(TODAY + dt.timedelta(days=2), dt.time(9))
        ),
        "telehealth_readings",
        2,
        "date_in_future",
        "recorded_at",
    ),
    (
        "discharge before admission",
        lambda d: d["hospital_spells"][3].update(
            discharge_date=d["hospital_spells"][3]["admission_date"] - dt.timedelta(days=1)
        ),
        "hospital_spells",
        4,
        "end_before_start",
        "discharge_date",
    ),
    (
        "unknown person",
        lambda d: d["medications"][0].update(nhs_number=synthetic_numbers(500)[-1]),
        "medications",
        1,
        "unknown_person",
        "nhs_number",
    ),
    (
        "unknown provider",
        lambda d: d["ae_attendances"][3].update(provider_id="NOPE"),
        "ae_attendances",
        4,
        "unknown_organisation",
        "provider_id",
    ),
    (
        "unknown practice of a person (no events depend on the practice)",
        lambda d: d["people"][0].update(practice_id="NOPE"),
        "people",
        1,
        "unknown_organisation",
        "practice_id",
    ),
    (
        "reablement after an unknown spell",
        lambda d: d["reablement_episodes"][0].update(spell_id="spell-none"),
        "reablement_episodes",
        1,
        "unknown_reference",
        "spell_id",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "table", "row", "reason", "field"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_rule_quarantines_exactly_the_bad_row(
    tmp_path: Path,
    mutate: Callable[[Dataset], None],
    table: str,
    row: int,
    reason: str,
    field: str,
) -> None:
    report, q, data = load_mutated(tmp_path, mutate)
    assert {k: v for k, v in q.items() if k[0] == table} == {(table, row): (reason, field)}
    assert {k: v for k, v in q.items() if k[0] != table} == cascade(data, table, row)
    assert report.table(table).rows_quarantined == 1
    assert [(x.table, x.reason, x.field, x.rows) for x in report.quality if x.table == table] == [
        (table, reason, field, 1)
    ]


def test_event_before_birth(tmp_path: Path) -> None:
    rows: list[int] = []

    def mutate(d: Dataset) -> None:
        person = d["people"][2]
        i = first_row_of(d, "primary_care_contacts", person["nhs_number"])
        dob = person["date_of_birth"]
        assert isinstance(dob, dt.date)
        d["primary_care_contacts"][i]["contact_date"] = dob - dt.timedelta(days=1)
        rows.append(i + 1)

    _, q, _ = load_mutated(tmp_path, mutate)
    assert q == {("primary_care_contacts", rows[0]): ("date_before_birth", "contact_date")}


def test_event_after_death(tmp_path: Path) -> None:
    rows: list[int] = []

    def mutate(d: Dataset) -> None:
        person = dead_person(d)
        i = first_row_of(d, "community_contacts", person["nhs_number"])
        dod = person["date_of_death"]
        assert isinstance(dod, dt.date)
        d["community_contacts"][i]["contact_date"] = dod + dt.timedelta(days=1)
        rows.append(i + 1)

    _, q, _ = load_mutated(tmp_path, mutate)
    assert q == {("community_contacts", rows[0]): ("date_after_death", "contact_date")}


def test_person_rules_on_people_rows(tmp_path: Path) -> None:
    bad: set[object] = set()

    def mutate(d: Dataset) -> None:
        p = d["people"]
        bad.update(p[i]["nhs_number"] for i in range(3))
        p[0]["date_of_death"] = p[0]["date_of_birth"] - dt.timedelta(days=3)
        p[1]["registered_to"] = p[1]["registered_from"] - dt.timedelta(days=3)
        p[2]["nhs_number"] = bad_check_digit(p[2]["nhs_number"])

    _, q, data = load_mutated(tmp_path, mutate)
    people = {k: v for k, v in q.items() if k[0] == "people"}
    assert people == {
        ("people", 1): ("date_before_birth", "date_of_death"),
        ("people", 2): ("end_before_start", "registered_to"),
        ("people", 3): ("invalid_nhs_number", "nhs_number"),
    }
    # Every event of those three people is quarantined as unknown_person, nothing else.
    expected = {
        (t, i + 1)
        for t, rows in data.items()
        if t not in ("people", "organisations")
        for i, r in enumerate(rows)
        if r.get("nhs_number") in bad
    }
    assert {k for k in q if k[0] != "people"} == expected
    assert {v for k, v in q.items() if k[0] != "people"} == {("unknown_person", "nhs_number")}


def test_unknown_parent_organisation_cascades_to_children(tmp_path: Path) -> None:
    def mutate(d: Dataset) -> None:
        d["organisations"][1]["parent_id"] = "NOPE"  # LOC1, parent of CL1, parent of P1, P2

    _, q, _ = load_mutated(tmp_path, mutate)
    orgs = {k: v for k, v in q.items() if k[0] == "organisations"}
    assert orgs == {
        ("organisations", 2): ("unknown_organisation", "parent_id"),
        ("organisations", 3): ("unknown_organisation", "parent_id"),
        ("organisations", 4): ("unknown_organisation", "parent_id"),
        ("organisations", 5): ("unknown_organisation", "parent_id"),
    }
    # The practices are gone, so everyone (registered at P1/P2) is quarantined too.
    assert {v for k, v in q.items() if k[0] == "people"} == {
        ("unknown_organisation", "practice_id")
    }


def test_exact_duplicate_keeps_the_first(tmp_path: Path) -> None:
    def mutate(d: Dataset) -> None:
        d["ae_attendances"].append(dict(d["ae_attendances"][0]))

    report, q, data = load_mutated(tmp_path, mutate)
    n = len(data["ae_attendances"])
    assert q == {("ae_attendances", n): ("duplicate_in_batch", "id")}
    assert report.table("ae_attendances").rows_new == n - 1


def test_conflicting_duplicates_are_all_quarantined(tmp_path: Path) -> None:
    def mutate(d: Dataset) -> None:
        d["ae_attendances"].append(dict(d["ae_attendances"][0]) | {"disposal": "left"})
        d["ae_attendances"][0]["disposal"] = "admitted"

    _, q, data = load_mutated(tmp_path, mutate)
    n = len(data["ae_attendances"])
    assert q == {
        ("ae_attendances", 1): ("conflicting_duplicate_in_batch", "id"),
        ("ae_attendances", n): ("conflicting_duplicate_in_batch", "id"),
    }


def test_key_in_warehouse_with_other_content_conflicts(tmp_path: Path) -> None:
    data = valid_dataset(10, 5, optional=False)
    warehouse = tmp_path / "w.duckdb"
    load_dataset(write_dataset(tmp_path / "a", data), warehouse)
    data["outpatient_appointments"][4]["specialty"] = "999"
    report = load_dataset(write_dataset(tmp_path / "b", data), warehouse)
    assert report.reconciles()
    assert report.rows_new == 0
    assert report.rows_quarantined == 1
    assert report.rows_unchanged == row_count(data) - 1
    q = quarantine(warehouse)
    assert q == {("outpatient_appointments", 5): ("conflicts_with_warehouse", "id")}


def test_csv_values_that_cannot_be_read(tmp_path: Path) -> None:
    def mutate(d: Dataset) -> None:
        d["ae_attendances"][0]["attendance_date"] = "31/02/2021"
        d["hospital_spells"][0]["cost"] = "lots"
        d["care_placements"][0]["permanent"] = "perhaps"

    report, q, _ = load_mutated(tmp_path, mutate, fmt="csv")
    assert q == {
        ("ae_attendances", 1): ("unreadable_value", "attendance_date"),
        ("hospital_spells", 1): ("unreadable_value", "cost"),
        ("care_placements", 1): ("unreadable_value", "permanent"),
        ("reablement_episodes", 1): ("unknown_reference", "spell_id"),  # after spell 1
    }
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    content = con.execute(
        "SELECT content FROM _quarantine WHERE table_name = 'ae_attendances'"
    ).fetchone()
    con.close()
    assert content is not None
    assert json.loads(content[0])["attendance_date"] == "31/02/2021"
    assert report.rows_quarantined == 4


def test_csv_dataset_loads_like_parquet(tmp_path: Path) -> None:
    data = valid_dataset(15, 8)
    a = load_dataset(write_dataset(tmp_path / "p", data), tmp_path / "p.duckdb")
    b = load_dataset(write_dataset(tmp_path / "c", data, fmt="csv"), tmp_path / "c.duckdb")
    assert a.rows_quarantined == b.rows_quarantined == 0
    assert a.rows_loaded == b.rows_loaded == row_count(data)
    # Loading the CSV copy into the Parquet warehouse: every row already there, unchanged.
    again = load_dataset(tmp_path / "c", tmp_path / "p.duckdb")
    assert again.rows_unchanged == row_count(data)
    assert again.rows_new == again.rows_quarantined == 0


def test_every_reason_has_a_description() -> None:
    assert all(isinstance(v, str) and v for v in REASONS.values())


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=0, max_value=9_999_999_999).map(lambda n: f"{n:010d}"),
        st.text(alphabet="0123456789 -X", min_size=0, max_size=12),
    )
)
def test_sql_modulus_11_agrees_with_is_valid(number: str) -> None:
    con = duckdb.connect()
    for macro in MACROS:
        con.execute(macro)
    row = con.execute("SELECT _cw_nhs_valid(?)", [number]).fetchone()
    con.close()
    assert row is not None
    assert row[0] == is_valid(number)


def test_sql_modulus_11_on_synthetic_range() -> None:
    numbers = synthetic_numbers(2000)
    near_misses = [bad_check_digit(n) for n in numbers]
    con = duckdb.connect()
    for macro in MACROS:
        con.execute(macro)
    result = con.execute(
        "SELECT list(_cw_nhs_valid(n) ORDER BY i) FROM "
        "(SELECT unnest(?) AS n, generate_subscripts(?, 1) AS i)",
        [numbers + near_misses, numbers + near_misses],
    ).fetchone()
    con.close()
    assert result is not None
    assert result[0] == [is_valid(n) for n in numbers + near_misses]


def test_code_checks_use_the_dataset_rules(tmp_path: Path) -> None:
    candidates = ["44054006", "44054007", "195967001", "0440546", "12345", "999791000000106"]

    def mutate(d: Dataset) -> None:
        for i, code in enumerate(candidates):
            d["medications"][i]["code"] = code

    _, q, _ = load_mutated(tmp_path, mutate)
    flagged = {row for (t, row) in q if t == "medications"}
    assert flagged == {i + 1 for i, c in enumerate(candidates) if not codes.is_snomed(c)}
