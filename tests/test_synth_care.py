"""Allergies, discharge ready dates, case management, care plans in care homes,
telecare, carers in the synthetic population: rates, codes and dates."""

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


def test_case_management_enrols_high_risk_people_mostly_by_risk(ds: Path) -> None:
    reasons = dict(
        (str(r[0]), int(str(r[1])))
        for r in _sql(
            ds, "SELECT enrolment_reason, count(*) FROM case_management_episodes GROUP BY 1"
        )
    )
    total = sum(reasons.values())
    assert 0.005 < total / PEOPLE < 0.05
    assert reasons["risk_stratification"] / total > 0.5
    assert reasons.get("clinical_judgement", 0) > 0 and reasons.get("other", 0) > 0
    bad = _sql(
        ds,
        "SELECT count(*) FROM case_management_episodes WHERE end_date < start_date "
        "OR care_plan_date < start_date OR ccm_level_at_enrolment NOT IN (3, 4) "
        "OR lead_professional_role IS NULL",
    )[0][0]
    assert bad == 0
    # enrolled people were admitted far more often than others before enrolment
    rates = _sql(
        ds,
        "WITH em AS (SELECT nhs_number, admission_date FROM hospital_spells "
        "  WHERE admission_method = 'emergency'), "
        "enrolled AS (SELECT nhs_number, min(start_date) AS s FROM case_management_episodes "
        "  GROUP BY 1) "
        "SELECT (SELECT count(*) FROM em JOIN enrolled e USING (nhs_number) "
        "   WHERE em.admission_date < e.s AND em.admission_date >= DATE '2020-01-01') "
        "   / (SELECT count(*) FROM enrolled), "
        " (SELECT count(*) FROM em WHERE admission_date < DATE '2021-01-01') / "
        "   (SELECT count(*) FROM people)",
    )[0]
    assert float(str(rates[0])) > 4 * float(str(rates[1]))


def test_case_management_effect_lowers_admissions_while_enrolled(tmp_path: Path) -> None:
    def while_enrolled(effect: float) -> float:
        out = tmp_path / f"e{effect}"
        generate(6000, 5, START, END, out, case_management_effect=effect)
        row = _sql(
            out,
            "SELECT (SELECT count(*) FROM hospital_spells s JOIN case_management_episodes c "
            "  USING (nhs_number) WHERE s.admission_method = 'emergency' "
            "  AND s.admission_date BETWEEN c.start_date AND coalesce(c.end_date, DATE '2024-12-31'))"
            " / (SELECT sum(coalesce(end_date, DATE '2024-12-31') - start_date) / 365.25 "
            "  FROM case_management_episodes)",
        )[0]
        return float(str(row[0]))

    none, half = while_enrolled(0.0), while_enrolled(-0.5)
    assert half < 0.85 * none


def test_case_management_effect_must_be_a_relative_change(tmp_path: Path) -> None:
    from careweave.cli.main import main

    code = main(
        ["synth", "--out", str(tmp_path / "x"), "--people", "10", "--case-management-effect", "-1"]
    )
    assert code == 2
    assert not (tmp_path / "x" / "manifest.json").exists()


def test_case_management_ends_by_death(ds: Path) -> None:
    bad = _sql(
        ds,
        "SELECT count(*) FROM case_management_episodes c JOIN people p USING (nhs_number) "
        "WHERE p.date_of_death IS NOT NULL AND (c.start_date >= p.date_of_death "
        "OR c.end_date > p.date_of_death OR c.end_date IS NULL OR c.care_plan_date > p.date_of_death)",
    )[0][0]
    assert bad == 0


def test_care_home_residents_have_care_plans_at_the_baseline_share(ds: Path) -> None:
    """About 65% of permanent care-home residents have a care plan from the GP record,
    agreed after the move and never after death, SNOMED CT coded."""
    ((residents, with_plan),) = _sql(
        ds,
        """SELECT count(DISTINCT p.nhs_number), count(DISTINCT c.nhs_number)
           FROM care_placements p LEFT JOIN care_plans c USING (nhs_number)
           WHERE p.permanent""",
    )
    assert isinstance(residents, int) and isinstance(with_plan, int)
    assert residents > 50
    assert 0.5 < with_plan / residents < 0.8
    ((bad_dates, bad_codes, total),) = _sql(
        ds,
        """SELECT count(*) FILTER (WHERE c.start_date > coalesce(p.date_of_death, DATE '9999-01-01')
                                   OR c.end_date < c.start_date),
                  count(*) FILTER (WHERE c.code_system <> 'snomed' OR NOT c.code = ?),
                  count(*)
           FROM care_plans c JOIN people p USING (nhs_number)""".replace(
            "?", f"'{K.CARE_HOME_PLANS.code}'"
        ),
    )
    assert total >= with_plan  # self-funded residents have no council placement
    assert bad_dates == 0 and bad_codes == 0
    assert is_snomed(K.CARE_HOME_PLANS.code)


def test_telecare_pendant_alarms_among_older_people_at_home(ds: Path) -> None:
    kinds = dict(
        (str(r[0]), int(str(r[1])))
        for r in _sql(ds, "SELECT service_type, count(*) FROM telecare_services GROUP BY 1")
    )
    assert set(kinds) == {"pendant_alarm", "falls_detector", "telehealth_monitoring"}
    share_75 = _sql(
        ds,
        "SELECT count(DISTINCT t.nhs_number) FILTER (WHERE t.service_type = 'pendant_alarm') "
        " / (SELECT count(*) FROM people "
        "    WHERE date_diff('year', date_of_birth, DATE '2020-01-01') >= 75) "
        "FROM telecare_services t JOIN people p USING (nhs_number) "
        "WHERE date_diff('year', p.date_of_birth, DATE '2020-01-01') >= 75",
    )[0][0]
    assert 0.08 < float(str(share_75)) < 0.3
    young = _sql(
        ds,
        "SELECT count(*) FROM telecare_services t JOIN people p USING (nhs_number) "
        "WHERE t.service_type = 'pendant_alarm' "
        "AND date_diff('year', p.date_of_birth, t.start_date) < 50",
    )[0][0]
    assert int(str(young)) < kinds["pendant_alarm"] * 0.1
    monitored = _sql(
        ds,
        "SELECT (SELECT count(DISTINCT nhs_number) FROM telehealth_readings), "
        "(SELECT count(*) FROM telecare_services WHERE service_type = 'telehealth_monitoring')",
    )[0]
    assert monitored[0] == monitored[1]
    bad = _sql(
        ds,
        "SELECT count(*) FROM telecare_services t JOIN people p USING (nhs_number) "
        "WHERE t.end_date < t.start_date OR t.start_date < p.date_of_birth "
        "OR t.end_date > p.date_of_death OR t.start_date > DATE '2024-12-31'",
    )[0][0]
    assert bad == 0


def test_efi_deficits_make_a_realistic_frail_segment(tmp_path: Path) -> None:
    """Clegg 2016: among people 65+ ~35% mild, 12% moderate, 3% severe; seed 001: the
    frail elderly are ~4% of the population (frail segment: moderate or severe at 65+,
    or living in a care home; risk/segments.py)."""
    import csv

    from careweave.synth.params import care

    efi = Path(__file__).parents[1] / "src" / "careweave" / "risk" / "codelists" / "efi.csv"
    with efi.open() as fh:
        codelist = {r["code"]: r["deficit"] for r in csv.DictReader(fh)}
    assert all(code in codelist for code, _, _ in care.FRAILTY.deficits)
    out = tmp_path / "ds"
    generate(20_000, 5, START, END, out)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE e AS SELECT * FROM (VALUES "
        + ", ".join(f"('{c}', '{d}')" for c, d in codelist.items())
        + ") AS t(code, deficit)"
    )
    row = con.execute(
        f"WITH p AS (SELECT * FROM read_parquet('{out}/people.parquet') "
        "  WHERE date_of_death IS NULL), "
        "ev AS (SELECT DISTINCT x.nhs_number, e.deficit FROM "
        f"read_parquet('{out}/primary_care_events.parquet') x JOIN e USING (code)), "
        "f AS (SELECT p.nhs_number, date_diff('year', date_of_birth, DATE '2024-12-31') AS age, "
        "  care_home_resident, count(ev.deficit) / 36.0 AS efi "
        "  FROM p LEFT JOIN ev USING (nhs_number) GROUP BY ALL) "
        "SELECT avg((efi > 0.12 AND efi <= 0.24)::INT) FILTER (WHERE age >= 65), "
        " avg((efi > 0.24 AND efi <= 0.36)::INT) FILTER (WHERE age >= 65), "
        " avg((efi > 0.36)::INT) FILTER (WHERE age >= 65), "
        " count(*) FILTER (WHERE age >= 65 AND (efi > 0.24 OR care_home_resident)) / count(*) "
        "FROM f"
    ).fetchone()
    con.close()
    assert row is not None
    mild, moderate, severe, segment = (float(x) for x in row)
    assert 0.25 < mild < 0.45
    assert 0.08 < moderate < 0.16
    assert 0.015 < severe < 0.06
    assert 0.025 < segment < 0.055


def test_couples_share_a_home_and_some_care_for_a_spouse(ds: Path) -> None:
    rows = _sql(
        ds,
        "SELECT r.relationship, a.postcode = b.postcode AND a.address_line_1 = b.address_line_1, "
        " a.practice_id = b.practice_id, a.sex <> b.sex "
        "FROM person_relationships r JOIN people a USING (nhs_number) "
        "JOIN people b ON b.nhs_number = r.related_nhs_number",
    )
    kinds = [str(r[0]) for r in rows]
    assert kinds.count("carer_of") == kinds.count("cared_for_by") > 0
    assert kinds.count("spouse") % 2 == 0
    assert all(r[1] and r[2] and r[3] for r in rows)
    share = _sql(
        ds,
        "SELECT count(DISTINCT r.nhs_number) / (SELECT count(*) FROM people "
        "  WHERE date_diff('year', date_of_birth, DATE '2020-01-01') >= 65) "
        "FROM person_relationships r JOIN people p USING (nhs_number) "
        "WHERE r.relationship = 'spouse' AND date_diff('year', p.date_of_birth, DATE '2020-01-01') >= 65",
    )[0][0]
    assert 0.35 < float(str(share)) < 0.75
    carers = _sql(
        ds,
        "SELECT count(*) FROM person_relationships r JOIN people p ON "
        "p.nhs_number = r.related_nhs_number WHERE r.relationship = 'carer_of'",
    )[0][0]
    assert int(str(carers)) > 20


def test_the_joneses_for_the_demo(ds: Path) -> None:
    """Mrs Jones (80+, at home, her husband's carer) and Mr Jones (dementia) exist."""
    rows = _sql(
        ds,
        "SELECT w.nhs_number, h.nhs_number, w.title, h.title, w.postcode = h.postcode "
        "FROM person_relationships r JOIN people w USING (nhs_number) "
        "JOIN people h ON h.nhs_number = r.related_nhs_number "
        "WHERE r.relationship = 'carer_of' AND w.family_name = 'Jones' AND h.family_name = 'Jones' "
        " AND w.sex = 'female' AND h.sex = 'male' AND w.date_of_death IS NULL "
        " AND h.date_of_death IS NULL AND NOT w.care_home_resident "
        " AND date_diff('year', w.date_of_birth, DATE '2024-12-31') >= 80 "
        " AND EXISTS (SELECT 1 FROM primary_care_events e WHERE e.nhs_number = h.nhs_number "
        "   AND e.code IN ('52448006', '26929004', '429998004'))",
    )
    assert rows
    assert rows[0][2:] == ("Mrs", "Mr", True)
