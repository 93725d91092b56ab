"""The linked record from the warehouse over FHIR: Encounter, Condition, Observation,
MedicationRequest and AllergyIntolerance read and searched for one person, with the
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
from careweave.store.models import AuditEntry

FHIR_JSON = "application/fhir+json"
#: resource type -> (warehouse tables, date column per table)
TABLES = {
    "Encounter": (
        "hospital_spells",
        "ae_attendances",
        "outpatient_appointments",
        "community_contacts",
    ),
    "Condition": ("primary_care_events",),
    "Observation": ("observations",),
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
    assert len(spells) == len(
        wh(fhir_demo, "SELECT id FROM hospital_spells WHERE nhs_number = ?", nhs)
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
