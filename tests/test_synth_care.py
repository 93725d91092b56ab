"""Allergies, discharge ready dates (and, as they come, case management,
telecare, carers) in the synthetic population: rates, codes and dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from careweave.dataset import tables as T
from careweave.dataset.codes import is_snomed
from careweave.synth import generate
from careweave.synth.params import care as K

START, END = dt.date(2020, 1, 1), dt.date(2024, 12, 31)
PEOPLE = 12_000


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-care") / "ds"
    generate(PEOPLE, 31, START, END, out)
    return out


def _sql(ds: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    for t in T.TABLES:
        path = ds / f"{t.name}.parquet"
        if path.exists():
            con.execute(f"CREATE VIEW {t.name} AS SELECT * FROM read_parquet('{path}')")
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_allergies_at_realistic_rates_with_valid_codes(ds: Path) -> None:
    rows = _sql(
        ds,
        "SELECT code, term, category, count(DISTINCT nhs_number) FROM allergies GROUP BY ALL",
    )
    by_code = {r[0]: r for r in rows}
    assert all(is_snomed(str(c)) for c in by_code)
    penicillin = by_code["91936005"]
    assert penicillin[1] == "Allergy to penicillin"
    assert 0.05 < int(penicillin[3]) / PEOPLE < 0.10  # ~6-10% recorded
    cats = {str(r[2]) for r in rows}
    assert cats == {"medication", "food", "environment"}
    children, adults = _sql(
        ds,
        "SELECT count(*) FILTER (WHERE date_diff('year', p.date_of_birth, DATE '2024-12-31') < 18),"
        " count(*) FILTER (WHERE date_diff('year', p.date_of_birth, DATE '2024-12-31') >= 18)"
        " FROM allergies a JOIN people p USING (nhs_number) WHERE a.code = '91935009'",
    )[0]
    assert int(str(children)) > 0 and int(str(adults)) > 0


def test_allergy_dates_lie_in_the_person_s_life(ds: Path) -> None:
    bad = _sql(
        ds,
        "SELECT count(*) FROM allergies a JOIN people p USING (nhs_number) "
        "WHERE a.recorded_date < p.date_of_birth OR a.recorded_date > DATE '2024-12-31' "
        "OR a.recorded_date > coalesce(p.date_of_death, DATE '9999-12-31')",
    )[0][0]
    assert bad == 0
    statuses = {r[0] for r in _sql(ds, "SELECT DISTINCT status FROM allergies")}
    assert statuses <= set(T.ALLERGY_STATUS)
    crit = {r[0] for r in _sql(ds, "SELECT DISTINCT criticality FROM allergies")}
    assert crit <= set(T.ALLERGY_CRITICALITY)


def test_discharge_ready_dates(ds: Path) -> None:
    rows = _sql(
        ds,
        "SELECT count(*) FILTER (WHERE discharge_ready_date < admission_date "
        "  OR discharge_ready_date > discharge_date), "
        " count(*) FILTER (WHERE discharge_destination = 'died' "
        "  AND discharge_ready_date IS NOT NULL), "
        " count(*) FILTER (WHERE admission_method <> 'emergency' "
        "  AND discharge_ready_date <> discharge_date), "
        " count(*) FILTER (WHERE discharge_date IS NOT NULL AND discharge_destination <> 'died' "
        "  AND discharge_ready_date IS NULL) "
        "FROM hospital_spells",
    )[0]
    assert rows == (0, 0, 0, 0)
    older = _sql(
        ds,
        "SELECT avg((discharge_ready_date < discharge_date)::INT), "
        " sum(discharge_date - discharge_ready_date) / sum(discharge_date - admission_date) "
        "FROM hospital_spells s JOIN people p USING (nhs_number) "
        "WHERE admission_method = 'emergency' AND discharge_destination <> 'died' "
        " AND date_diff('year', p.date_of_birth, admission_date) >= 65 "
        " AND discharge_date - admission_date >= 1",
    )[0]
    share, bed_days = float(str(older[0])), float(str(older[1]))
    assert 0.12 < share < 0.35  # most are ready on the day they leave
    assert 0.06 < bed_days < 0.2  # NHS England: ~13% of acute bed days
    young = _sql(
        ds,
        "SELECT count(*) FROM hospital_spells s JOIN people p USING (nhs_number) "
        "WHERE date_diff('year', p.date_of_birth, admission_date) < 64 "
        " AND discharge_ready_date < discharge_date",
    )[0][0]
    assert young == 0
    assert K.DISCHARGE_DELAY.min_age == 65
