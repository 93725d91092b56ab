"""Pages that read the warehouse: timeline across settings, risk history, spend, movement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from web_helpers import sign_in

from careweave.dataset.derived import RISK_SCORES
from careweave.server import build_app
from careweave.settings import Settings
from careweave.warehouse.schema import BATCH_COLUMN, create_table_sql, ensure_schema
from careweave.web import demo_setup

pytestmark = pytest.mark.xdist_group("web-warehouse")

TODAY = dt.date.today()
MRS = "9990000018"
MR = "9990000026"


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, object]]) -> None:
    for row in rows:
        cols = [*row, BATCH_COLUMN]
        marks = ", ".join("?" for _ in cols)
        con.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", [*row.values(), "b1"]
        )


def make_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    ensure_schema(con)
    con.execute(create_table_sql(RISK_SCORES))
    _insert(
        con,
        "organisations",
        [
            {"org_id": "LOC1", "org_type": "locality", "name": "North locality", "parent_id": None},
            {"org_id": "CL1", "org_type": "cluster", "name": "North cluster", "parent_id": "LOC1"},
            {
                "org_id": "GP1",
                "org_type": "gp_practice",
                "name": "Bridge Surgery",
                "parent_id": "CL1",
            },
            {
                "org_id": "GP2",
                "org_type": "gp_practice",
                "name": "Hill Surgery",
                "parent_id": "CL1",
            },
        ],
    )
    people = [(MRS, "female", 85), (MR, "male", 87)] + [
        (f"99900001{i:02d}", "female" if i % 2 else "male", 72 + i) for i in range(18)
    ]
    _insert(
        con,
        "people",
        [
            {
                "nhs_number": nhs,
                "date_of_birth": TODAY.replace(year=TODAY.year - age, day=1),
                "sex": sex,
                "ethnic_group": "white_british",
                "practice_id": "GP1" if i < 12 else "GP2",
                "care_home_resident": False,
            }
            for i, (nhs, sex, age) in enumerate(people)
        ],
    )
    recent, earlier = TODAY - dt.timedelta(days=10), TODAY - dt.timedelta(days=100)
    scores = []
    for i, (nhs, _, _) in enumerate(people):
        for as_of, level in ((earlier, 4 if i < 3 else 2), (recent, 4 if i == 0 else 2)):
            scores.append(
                {
                    "nhs_number": nhs,
                    "as_of": as_of,
                    "probability": 0.5 if nhs == MRS else 0.1,
                    "percentile": 99.9 if nhs == MRS else 50.0,
                    "risk_band": "very high" if level == 4 else "moderate",
                    "ccm_level": level,
                    "segment": "70+: frail",
                    "frailty_category": "moderate",
                    "readmitter": False,
                    "explanation": ["2 emergency admissions in the last 12 months", "aged 85+"],
                    "model_version": "test",
                    # As careweave stratify keeps them: spend priced once, with its tariff.
                    "spend_12m": 7250.5 if nhs == MRS else 120.0,
                    "tariff": "default:0123456789ab",
                }
            )
    _insert(con, "risk_scores", scores)
    day = TODAY - dt.timedelta(days=40)
    _insert(
        con,
        "hospital_spells",
        [
            {
                "id": "s1",
                "nhs_number": MRS,
                "provider_id": None,
                "admission_date": day,
                "discharge_date": day + dt.timedelta(days=10),
                "admission_method": "emergency",
                "primary_diagnosis": "S72.0",
                "discharge_destination": "home",
                "cost": 5000.0,
            }
        ],
    )
    _insert(
        con,
        "ae_attendances",
        [{"id": "a1", "nhs_number": MRS, "attendance_date": day, "disposal": "admitted"}],
    )
    _insert(
        con,
        "primary_care_contacts",
        [
            {
                "id": "p1",
                "nhs_number": MRS,
                "contact_date": day - dt.timedelta(days=5),
                "staff_role": "gp",
                "mode": "home_visit",
            }
        ],
    )
    _insert(
        con,
        "community_contacts",
        [
            {
                "id": "c1",
                "nhs_number": MRS,
                "contact_date": day + dt.timedelta(days=12),
                "service": "district_nursing",
                "mode": "home_visit",
            }
        ],
    )
    _insert(
        con,
        "mental_health_contacts",
        [
            {
                "id": "m1",
                "nhs_number": MR,
                "contact_date": day,
                "service": "memory_clinic",
                "mode": "face_to_face",
            }
        ],
    )
    _insert(
        con,
        "social_care_assessments",
        [
            {
                "id": "sa1",
                "nhs_number": MRS,
                "assessment_date": day + dt.timedelta(days=9),
                "assessment_type": "carer",
                "outcome": "services_provided",
            }
        ],
    )
    _insert(
        con,
        "telehealth_readings",
        [
            {
                "id": f"t{i}",
                "nhs_number": MRS,
                "device": "glucometer",
                "measure": "blood_glucose",
                "value": v,
                "unit": "mmol/L",
                "recorded_at": dt.datetime.combine(TODAY - dt.timedelta(days=20 - i), dt.time(8)),
            }
            for i, v in enumerate((6.0, 7.5, 12.5, 5.5))
        ],
    )
    _insert(
        con,
        "primary_care_events",
        [
            {
                "id": "e1",
                "nhs_number": MRS,
                "event_date": dt.date(2015, 3, 2),
                "code_system": "snomed",
                "code": "44054006",
                "term": None,  # described from the shipped code list
                "org_id": "GP1",
            },
            {
                "id": "e2",
                "nhs_number": MRS,
                "event_date": dt.date(2020, 1, 5),
                "code_system": "snomed",
                "code": "195967001",
                "term": "Asthma",
                "resolved_date": dt.date(2021, 1, 1),  # resolved: not active
                "org_id": "GP1",
            },
        ],
    )
    _insert(
        con,
        "medications",
        [
            {
                "id": "med1",
                "nhs_number": MRS,
                "issue_date": TODAY - dt.timedelta(days=20),
                "code_system": "snomed",
                "code": "372567009",
                "org_id": "GP1",
            },
            {
                "id": "med2",
                "nhs_number": MRS,
                "issue_date": TODAY - dt.timedelta(days=400),
                "code_system": "snomed",
                "code": "387458008",
                "org_id": "GP1",
            },
        ],
    )
    _insert(
        con,
        "observations",
        [
            {
                "id": f"o{i}",
                "nhs_number": MRS,
                "obs_date": TODAY - dt.timedelta(days=days),
                "code_system": "loinc",
                "code": "59261-8",
                "measure": "hba1c",
                "value": value,
                "unit": "mmol/mol",
                "org_id": "GP1",
            }
            for i, (days, value) in enumerate(((300, 45.0), (30, 62.0)))
        ]
        + [
            {
                "id": "o9",
                "nhs_number": MRS,
                "obs_date": TODAY - dt.timedelta(days=30),
                "code_system": "loinc",
                "code": "33914-3",
                "measure": "egfr",
                "value": 52.0,
                "unit": "mL/min/{1.73_m2}",
                "org_id": "GP1",
            }
        ],
    )
    _insert(
        con,
        "allergies",
        [
            {
                "id": "al1",
                "nhs_number": MRS,
                "recorded_date": dt.date(2019, 6, 1),
                "code_system": "snomed",
                "code": "91936005",
                "term": "Allergy to penicillin",
                "category": "medication",
                "criticality": "high",
                "status": "active",
            }
        ],
    )
    con.close()
    return path


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    tmp = tmp_path_factory.mktemp("webwh")
    warehouse = make_warehouse(tmp / "warehouse.duckdb")
    url = f"sqlite:///{tmp / 'store.db'}"
    users = demo_setup(url, warehouse)
    assert ("coordinator", users[0][1], "care_coordinator") in users
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="w" * 32)
    )
    return TestClient(app)


def test_demo_picks_the_joneses_from_the_synced_warehouse(client: TestClient) -> None:
    sign_in(client, "coordinator")
    home = client.get("/app/")
    assert "Telehealth alert" in home.text and "999 000 0018" in home.text


def test_patient_timeline_spans_settings(client: TestClient) -> None:
    sign_in(client, "coordinator")
    r = client.get(f"/app/people/{MRS}")
    assert r.status_code == 200
    for setting in ("Hospital", "Primary care", "Community", "Social care", "Care plan"):
        assert f'aria-hidden="true">Setting </span>{setting}</td>' in r.text, setting
    assert (
        "Emergency admission: Fracture of neck of femur (hip fracture) (S72.0), discharged "
        in r.text
    )
    assert "A&amp;E attendance, admitted" in r.text
    assert "no linked record is connected" not in r.text
    # Risk history from both score dates, device readings in the chart.
    assert r.text.count("2 emergency admissions in the last 12 months; aged 85+") >= 2
    assert "12.5" in r.text


def test_population_spend_and_movement(client: TestClient) -> None:
    sign_in(client, "commissioner")
    seg = client.get("/app/population/segments")
    assert seg.status_code == 200 and "70+: frail" in seg.text
    assert "£" in seg.text and "100.0%" in seg.text
    assert "at the default tariff (fingerprint 0123456789ab)" in seg.text
    mov = client.get("/app/population/movement")
    assert mov.status_code == 200 and "Moved to a lower level" in mov.text
    assert "&lt;8" in mov.text  # 2 people moved from level 4 to 2: suppressed
    pyr = client.get("/app/population?by=practice")
    assert "Bridge Surgery" in pyr.text and "Hill Surgery" in pyr.text


def test_patient_summary_is_the_shared_record(client: TestClient) -> None:
    sign_in(client, "coordinator")
    r = client.get(f"/app/people/{MRS}")
    summary = r.text.split('id="summary-list"')[1].split("</dl>")[0]
    # Why flagged, with the score's date; problems described; resolved ones left out.
    assert f"in the 12 months from {(TODAY - dt.timedelta(days=10)).strftime('%-d %b %Y')}" in (
        summary
    )
    assert "among the highest 0.1% of people" in summary
    assert "Diabetes mellitus type 2 (44054006)" in summary and "Asthma" not in summary
    # Medicines: current ones first, older ones said to be older.
    assert "Metformin (372567009)" in summary.split("Issued before then")[0]
    assert "Aspirin (387458008), last issued" in summary.split("Issued before then")[1]
    # Allergies, high risk flagged and repeated in the alerts.
    assert "High risk</strong> Allergy to penicillin" in summary
    assert "High-risk allergy: Allergy to penicillin" in r.text.split('id="summary"')[0]
    # The latest result only, against its range, in words.
    assert "HbA1c: <strong>62 mmol/mol</strong>" in summary and "45 mmol/mol" not in summary
    assert 'nhsuk-tag--red">High</strong>' in summary and "normal up to 47 mmol/mol" in summary
    assert "eGFR: <strong>52 mL/min/1.73m²</strong>" in summary
    for heading in ("Care team", "Care plan", "Open referrals", "Case management"):
        assert f'summary-list__key">{heading}</dt>' in summary, heading
    # Telehealth readings say low or high.
    assert 'nhsuk-tag--red">High</strong>' in r.text.split('id="telehealth"')[1]


def test_timeline_filters_by_setting_and_period(client: TestClient) -> None:
    sign_in(client, "coordinator")
    r = client.get(f"/app/people/{MRS}", params={"setting": "Hospital", "period": "365"})
    table = r.text.split('id="timeline-table"')[1].split("</table>")[0]
    assert "Primary care" not in table and "Emergency admission" in table
    assert "in hospital, last 12 months" in r.text
    r = client.get(f"/app/people/{MRS}", params={"period": "30"})
    table = r.text.split('id="timeline-table"')[1].split("</table>")[0]
    assert "Emergency admission" not in table  # 40 days ago
    r = client.get(f"/app/people/{MRS}", params={"setting": "Nowhere", "period": "7; DROP"})
    assert r.status_code == 200
    assert "That period is not one of the choices: showing the last 2 years." in r.text
    assert "Nothing is recorded in that setting: showing all settings." in r.text
    assert "pattern" not in r.text


def test_segment_spend_is_read_not_recomputed(tmp_path: Path) -> None:
    """The page reads spend_12m from risk_scores; scores from before it was kept have none."""
    from careweave.web import warehouse as wh

    path = make_warehouse(tmp_path / "w.duckdb")
    with wh.connect(path) as con:
        got = wh.segment_spend(con)
    assert got is not None and got.tariff == "default:0123456789ab"
    assert got.by_segment == {"70+: frail": pytest.approx(7250.5 + 19 * 120.0)}
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE risk_scores DROP COLUMN spend_12m")  # an older stratify's table
    con.close()
    with wh.connect(path) as con:
        assert wh.segment_spend(con) is None


def test_one_off_readers_open_the_warehouse_while_the_shared_reader_holds_it(
    tmp_path: Path,
) -> None:
    """DuckDB refuses a second connection to a file in one process with another
    configuration: the schemes page's own reader failed ("cannot open the warehouse")
    while the shared reader was open with a different one."""
    from careweave.web import warehouse as wh

    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    reader = wh.Reader(path)
    with reader.cursor() as cur:
        assert cur is not None
        with wh.connect(path) as other:
            assert other is not None
            assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
        assert cur.execute("SELECT x FROM t").fetchall() == [(1,)]
    reader.close()
