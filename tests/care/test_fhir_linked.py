"""The linked record from the warehouse over FHIR: Encounter (every setting: hospital,
A&E, outpatient, community, mental health, primary care, social care), Condition,
Observation (GP, telehealth and social-care assessments: test_fhir_social.py), MedicationRequest and AllergyIntolerance read and
searched for one person, with the
Patient read's relationship check and audit; every body validated with fhir.resources R4B."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from fhir_warehouse import Demo, client
from sqlalchemy import select

from careweave import duck
from careweave.store.db import make_engine, session_factory
from careweave.store.models import AuditEntry, User

FHIR_JSON = "application/fhir+json"
#: resource type -> (warehouse tables, date column per table)
TABLES = {
    "Encounter": (
        "hospital_spells",
        "ae_attendances",
        "outpatient_appointments",
        "community_contacts",
        "mental_health_contacts",
        "primary_care_contacts",
        "social_care_services",
    ),
    "Condition": ("primary_care_events",),
    "Observation": ("observations", "telehealth_readings", "social_care_assessments"),
    "MedicationRequest": ("medications",),
    "AllergyIntolerance": ("allergies",),
}


def fhir(r: Any, status: int = 200, kind: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = r.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    if kind is not None:
        assert body["resourceType"] == kind
    return body


@pytest.fixture(scope="module")
def api(fhir_demo: Demo) -> Iterator[TestClient]:
    with client(fhir_demo) as c:
        yield c


def wh(demo: Demo, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """``sql`` over the dataset that was loaded into the warehouse (its Parquet files: the
    server holds the warehouse file open)."""
    with duck.connect() as con:
        for table in demo.dataset.glob("*.parquet"):
            con.execute(f"CREATE VIEW {table.stem} AS SELECT * FROM '{table}'")
        return con.execute(sql, list(params)).fetchall()


def busiest(demo: Demo) -> str:
    """The person with the most hospital spells (and an allergy, where anyone has one)."""
    rows = wh(
        demo,
        "SELECT nhs_number FROM hospital_spells GROUP BY 1 "
        "ORDER BY (nhs_number IN (SELECT nhs_number FROM allergies)) DESC, count(*) DESC LIMIT 1",
    )
    return str(rows[0][0])


def every_page(api: TestClient, demo: Demo, who: str, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while url:
        page = fhir(api.get(url, headers=demo.h(who)), kind="Bundle")
        found += [e["resource"] for e in page.get("entry", [])]
        nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else ""
    return found


def audits(demo: Demo, actor: str) -> list[AuditEntry]:
    with session_factory(make_engine(demo.db))() as s:
        return list(
            s.execute(select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.seq))
            .scalars()
            .all()
        )


@pytest.mark.parametrize("kind", list(TABLES))
def test_search_by_patient_pages_through_the_whole_record(
    api: TestClient, fhir_demo: Demo, kind: str
) -> None:
    nhs = busiest(fhir_demo)
    want = {
        str(r[0])
        for t in TABLES[kind]
        for r in wh(fhir_demo, f"SELECT id FROM {t} WHERE nhs_number = ?", nhs)
    }
    assert want, f"the demo person has no {kind}"
    found = every_page(api, fhir_demo, "gp.jones", f"/fhir/{kind}?patient=Patient/{nhs}&_count=7")
    assert sorted(r["id"] for r in found) == sorted(want)
    for r in found:
        assert r["resourceType"] == kind
        assert r["meta"]["profile"][0].endswith(f"UKCore-{kind}")
        assert r["meta"]["lastUpdated"].endswith("Z")
        ref = r.get("subject") or r.get("patient")
        assert ref == {"reference": f"Patient/{nhs}"}
    # Read each kind's first one, audited as a read of the person's record.
    one = fhir(
        api.get(f"/fhir/{kind}/{found[0]['id']}", headers=fhir_demo.h("gp.jones")), kind=kind
    )
    assert one == found[0]
    last = audits(fhir_demo, "gp.jones")[-1]
    assert last.nhs_number == nhs and "basis=" in last.detail and last.action == "read"


def test_encounter_carries_what_the_warehouse_says(api: TestClient, fhir_demo: Demo) -> None:
    nhs = busiest(fhir_demo)
    sid, adm, dis, method, specialty, dx = wh(
        fhir_demo,
        "SELECT id, admission_date, discharge_date, admission_method, specialty, "
        "primary_diagnosis FROM hospital_spells WHERE nhs_number = ? "
        "AND discharge_date IS NOT NULL AND primary_diagnosis IS NOT NULL ORDER BY id LIMIT 1",
        nhs,
    )[0]
    e = fhir(api.get(f"/fhir/Encounter/{sid}", headers=fhir_demo.h("gp.jones")), kind="Encounter")
    assert e["class"]["code"] == "IMP" and e["status"] == "finished"
    assert e["period"] == {"start": adm.isoformat(), "end": dis.isoformat()}
    assert e["reasonCode"][0]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": dx,
    }
    if specialty:
        assert e["serviceType"]["text"] == specialty
    method_ext = [x for x in e["extension"] if x["url"].endswith("UKCore-AdmissionMethod")]
    code = method_ext[0]["valueCodeableConcept"]["coding"][0]["code"]
    assert code[0] == {"elective": "1", "emergency": "2", "maternity": "3", "other": "8"}[method]


def test_search_parameters_date_code_class(api: TestClient, fhir_demo: Demo) -> None:
    nhs = busiest(fhir_demo)
    h = fhir_demo.h("gp.jones")
    spells = every_page(api, fhir_demo, "gp.jones", f"/fhir/Encounter?patient={nhs}&class=IMP")
    assert {e["class"]["code"] for e in spells} == {"IMP"}
    # Spells, and contacts of a mental-health inpatient service.
    assert len(spells) == len(
        wh(
            fhir_demo,
            "SELECT id FROM hospital_spells WHERE nhs_number = $1 UNION ALL "
            "SELECT id FROM mental_health_contacts WHERE nhs_number = $1 AND service = 'inpatient'",
            nhs,
        )
    )
    since = wh(
        fhir_demo,
        "SELECT count(*) FROM observations WHERE nhs_number = ? AND obs_date >= DATE '2021-01-01'",
        nhs,
    )[0][0]
    found = every_page(api, fhir_demo, "gp.jones", f"/fhir/Observation?subject={nhs}&date=ge2021")
    assert len(found) == since
    assert all(o["effectiveDateTime"] >= "2021" for o in found)
    code = found[0]["code"]["coding"][0] if found else {"system": "http://loinc.org", "code": "x"}
    same = every_page(
        api,
        fhir_demo,
        "gp.jones",
        f"/fhir/Observation?patient={nhs}&code={code['system']}|{code['code']}",
    )
    assert same and {o["code"]["coding"][0]["code"] for o in same} == {code["code"]}
    # A code in a system Careweave never holds matches nothing.
    none = fhir(api.get(f"/fhir/Observation?patient={nhs}&code=urn:x|{code['code']}", headers=h))
    assert "entry" not in none
    # Condition's date parameter is onset-date; MedicationRequest's is authoredon.
    fhir(api.get(f"/fhir/Condition?patient={nhs}&onset-date=le2030-01-01", headers=h))
    fhir(api.get(f"/fhir/MedicationRequest?patient={nhs}&authoredon=2021", headers=h))


def test_errors_are_operation_outcomes(api: TestClient, fhir_demo: Demo) -> None:
    nhs = busiest(fhir_demo)
    h = fhir_demo.h("gp.jones")
    text = fhir(api.get(f"/fhir/Encounter?patient={nhs}&colour=red", headers=h), 400)
    assert "colour: not a supported search parameter" in text["issue"][0]["diagnostics"]
    assert text["issue"][0]["code"] == "not-supported"
    # The date parameter of another resource type is not silently ignored either.
    fhir(api.get(f"/fhir/Condition?patient={nhs}&date=2020", headers=h), 400)
    need = fhir(api.get("/fhir/Condition", headers=h), 400, "OperationOutcome")
    assert "patient: required" in need["issue"][0]["diagnostics"]
    fhir(api.get(f"/fhir/Observation?patient={nhs}&date=yesterday", headers=h), 400)
    fhir(api.get("/fhir/Encounter/NOSUCH0001", headers=h), 404, "OperationOutcome")
    fhir(api.get("/fhir/Encounter/bad$id", headers=h), 404, "OperationOutcome")


def test_no_relationship_no_record(api: TestClient, fhir_demo: Demo) -> None:
    """gp.elsewhere (another practice) and the analyst get no one's record; each refusal
    is audited."""
    nhs = busiest(fhir_demo)
    sid = wh(fhir_demo, "SELECT id FROM hospital_spells WHERE nhs_number = ? LIMIT 1", nhs)[0][0]
    for who in ("gp.elsewhere", "commissioner"):
        for kind in TABLES:
            fhir(api.get(f"/fhir/{kind}?patient={nhs}", headers=fhir_demo.h(who)), 403)
        fhir(api.get(f"/fhir/Encounter/{sid}", headers=fhir_demo.h(who)), 403)
        assert audits(fhir_demo, who)[-1].action == "refused"


def test_capability_statement_lists_the_linked_record(api: TestClient) -> None:
    cs = fhir(api.get("/fhir/metadata"), kind="CapabilityStatement")
    served = {r["type"]: r for r in cs["rest"][0]["resource"]}
    for kind in TABLES:
        assert served[kind]["profile"].endswith(f"UKCore-{kind}")
        # (Observation also has create: telehealth readings, api/fhir/writes.py.)
        assert {"read", "search-type"} <= {i["code"] for i in served[kind]["interaction"]}
        assert {"patient", "_count"} <= {p["name"] for p in served[kind]["searchParam"]}
    assert {p["name"] for p in served["Condition"]["searchParam"]} >= {"onset-date", "code"}
    assert {p["name"] for p in served["Encounter"]["searchParam"]} >= {"type", "class", "date"}
    assert {p["name"] for p in served["Observation"]["searchParam"]} >= {"category", "date"}
    for kind in TABLES:
        assert "_lastUpdated" in {p["name"] for p in served[kind]["searchParam"]}


def seen_by_gp(demo: Demo, table: str) -> str:
    """Of the people gp.jones's practice holds, the one with the most rows of ``table``."""
    with session_factory(make_engine(demo.db))() as s:
        practice = s.execute(select(User.org_id).where(User.username == "gp.jones")).scalar_one()
    rows = wh(
        demo,
        f"SELECT t.nhs_number FROM {table} t JOIN people p USING (nhs_number) "
        "WHERE p.practice_id = ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        practice,
    )
    assert rows, f"no one at gp.jones's practice has a row of {table}"
    return str(rows[0][0])


#: setting (Encounter.type) -> (its table, the class a row of each mode gets)
SETTINGS = {
    "mental-health": "mental_health_contacts",
    "primary-care": "primary_care_contacts",
    "community": "community_contacts",
    "social-care": "social_care_services",
}
MODE_CLASS = {"face_to_face": "AMB", "home_visit": "HH", "telephone": "VR", "video": "VR"}
CODES = "https://careweave.org/fhir/CodeSystem/"


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_contacts_of_every_setting_are_encounters(
    api: TestClient, fhir_demo: Demo, setting: str
) -> None:
    """Mental-health, primary-care and community contacts and social-care services: the
    setting as type, the class by mode, the service, the provider (the practice, the
    local authority), searchable by type, class, date and _lastUpdated."""
    table = SETTINGS[setting]
    nhs = seen_by_gp(fhir_demo, table)
    cols = {
        "mental_health_contacts": "id, contact_date, NULL, service, mode, provider_id",
        "community_contacts": "id, contact_date, NULL, service, mode, provider_id",
        "primary_care_contacts": "id, contact_date, NULL, staff_role, mode, org_id",
        "social_care_services": "id, start_date, end_date, service_type, weekly_hours, "
        "local_authority_id",
    }[table]
    want = {
        str(r[0]): r for r in wh(fhir_demo, f"SELECT {cols} FROM {table} WHERE nhs_number = ?", nhs)
    }
    found = every_page(
        api, fhir_demo, "gp.jones", f"/fhir/Encounter?patient={nhs}&type={setting}&_count=50"
    )
    assert sorted(e["id"] for e in found) == sorted(want)
    for e in found:
        _, start, end, service, mode_or_hours, provider = want[e["id"]]
        assert e["type"][0]["coding"][0] == {
            "system": CODES + "encounter-setting",
            "code": setting,
        }
        assert e["meta"]["profile"] == [
            "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Encounter"
        ]
        assert e["period"]["start"] == start.isoformat()
        assert e["serviceProvider"] == {"reference": f"Organization/{provider}"}
        detail = {
            x["url"]: x.get("valueCode", x.get("valueDecimal"))
            for x in next(x for x in e["extension"] if x["url"].endswith("encounter-detail"))[
                "extension"
            ]
        }
        assert detail["table"] == table
        if setting == "social-care":
            assert e["class"]["code"] == ("AMB" if service == "day_care" else "HH")
            assert e["serviceType"]["coding"][0] == {
                "system": CODES + "social-care-service",
                "code": service,
            }
            assert e["status"] == ("finished" if end else "in-progress")
            if end:
                assert e["period"]["end"] == end.isoformat()
            if mode_or_hours is not None:
                assert detail["weekly_hours"] == mode_or_hours
        elif setting == "primary-care":
            assert e["class"]["code"] == MODE_CLASS.get(mode_or_hours, "AMB")
            assert e["participant"][0]["type"][0]["coding"][0] == {
                "system": CODES + "primary-care-role",
                "code": service,
            }
        else:
            inpatient = setting == "mental-health" and service == "inpatient"
            assert e["class"]["code"] == (
                "IMP" if inpatient else MODE_CLASS.get(mode_or_hours, "AMB")
            )
            system = "mental-health-service" if setting == "mental-health" else "community-service"
            assert e["serviceType"]["coding"][0] == {"system": CODES + system, "code": service}
    # class= finds the same rows by the class each was given.
    cls = found[0]["class"]["code"]
    same = every_page(
        api, fhir_demo, "gp.jones", f"/fhir/Encounter?patient={nhs}&type={setting}&class={cls}"
    )
    assert {e["id"] for e in same} == {e["id"] for e in found if e["class"]["code"] == cls}
    # Each found Encounter reads back the same.
    one = fhir(api.get(f"/fhir/Encounter/{found[-1]['id']}", headers=fhir_demo.h("gp.jones")))
    assert one == found[-1]
    # _lastUpdated: everything was loaded by one `careweave load` before now.
    loaded = found[0]["meta"]["lastUpdated"][:10]
    assert len(
        every_page(
            api,
            fhir_demo,
            "gp.jones",
            f"/fhir/Encounter?patient={nhs}&type={setting}&_lastUpdated=ge{loaded}",
        )
    ) == len(found)
    assert not every_page(
        api,
        fhir_demo,
        "gp.jones",
        f"/fhir/Encounter?patient={nhs}&type={setting}&_lastUpdated=lt{loaded}",
    )


def test_telehealth_readings_are_vital_signs_observations(api: TestClient, fhir_demo: Demo) -> None:
    nhs = seen_by_gp(fhir_demo, "telehealth_readings")
    readings = {
        str(r[0]): r
        for r in wh(
            fhir_demo,
            "SELECT id, measure, value, unit, recorded_at, device FROM telehealth_readings "
            "WHERE nhs_number = ?",
            nhs,
        )
    }
    found = every_page(
        api, fhir_demo, "gp.jones", f"/fhir/Observation?patient={nhs}&category=vital-signs"
    )
    assert sorted(o["id"] for o in found) == sorted(readings)
    loinc = {"blood_glucose": "15074-8", "systolic_bp": "8480-6", "weight": "29463-7"}
    for o in found:
        _, measure, value, unit, at, device = readings[o["id"]]
        assert o["category"][0]["coding"][0]["code"] == "vital-signs"
        if measure in loinc:
            assert o["code"]["coding"][0]["system"] == "http://loinc.org"
            assert o["code"]["coding"][0]["code"] == loinc[measure]
        assert o["valueQuantity"]["value"] == value and o["valueQuantity"]["code"] == unit
        assert o["effectiveDateTime"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert o["device"] == {"display": device}
    # code= finds readings by the measure's LOINC code; date= by the day of the instant.
    measure = next(iter(readings.values()))[1]
    by_code = every_page(
        api,
        fhir_demo,
        "gp.jones",
        f"/fhir/Observation?patient={nhs}&code=http://loinc.org|{loinc[measure]}",
    )
    assert {o["id"] for o in found if o["code"]["coding"][0]["code"] == loinc[measure]} <= {
        o["id"] for o in by_code
    }
    day = found[0]["effectiveDateTime"][:10]
    on_day = every_page(
        api,
        fhir_demo,
        "gp.jones",
        f"/fhir/Observation?patient={nhs}&category=vital-signs&date={day}",
    )
    assert on_day and all(o["effectiveDateTime"].startswith(day) for o in on_day)
    assert {o["id"] for o in on_day} == {
        o["id"] for o in found if o["effectiveDateTime"][:10] == day
    }
