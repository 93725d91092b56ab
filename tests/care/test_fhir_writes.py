"""Creates on /fhir: a telehealth Observation runs the telehealth rules (as POST /events),
a ServiceRequest is a referral through the single point of access, and a transaction
Bundle of these is all or nothing. Every body is validated with fhir.resources R4B."""

from __future__ import annotations

import datetime as dt
from typing import Any

from care_world import ELSEWHERE, MRS_JONES, World, join_teams
from sqlalchemy import func, select
from test_fhir_api import audit, fhir, outcome

from careweave.store.models import Event, Notification, Referral

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def post(w: World, who: str, path: str, body: dict[str, Any]) -> Any:
    return w.client.post(path, headers={**w.h(who), **FHIR_JSON}, json=body)


def reading(at: dt.datetime, value: float, nhs: str = MRS_JONES, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "15074-8"}]},
        "subject": {"reference": f"Patient/{nhs}"},
        "effectiveDateTime": at.isoformat(),
        "valueQuantity": {"value": value, "unit": "mmol/L", "code": "mmol/L"},
        **extra,
    }


def referral(nhs: str = MRS_JONES, service: str = "falls-service") -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "subject": {"reference": f"Patient/{nhs}"},
        "performer": [{"reference": f"HealthcareService/{service}"}],
        "reasonCode": [{"text": "Two falls this week"}],
    }


def counts(w: World) -> tuple[int, int, int]:
    with w.session() as s:
        return (
            s.execute(select(func.count()).select_from(Event)).scalar_one(),
            s.execute(select(func.count()).select_from(Referral)).scalar_one(),
            s.execute(select(func.count()).select_from(Notification)).scalar_one(),
        )


def test_observation_create_runs_the_telehealth_rules(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    start = w.clock.now.replace(hour=8)
    alerts = []
    for day, value in enumerate([6.5, 14.2, 15.1, 7.0, 16.3]):
        w.clock.now = start + dt.timedelta(days=day)
        r = post(w, "dsn", "/fhir/Observation", reading(w.clock.now, value))
        obs = fhir(r, 201, "Observation")
        assert r.headers["location"].endswith(f"/fhir/Observation/{obs['id']}")
        alerts.append([c["coding"][0]["code"] for c in obs.get("interpretation", [])])
    assert alerts == [[], [], [], [], ["glucose-unstable"]]
    # The care team is told, exactly as for the events API.
    assert any(n["kind"] == "telehealth:glucose-unstable" for n in w.inbox("cc"))
    assert audit(w, "dsn")[-1].resource == "event"
    # identifier is the event's external id: a resend records nothing new.
    once = reading(w.clock.now, 7.0, identifier=[{"value": "hub-123"}])
    first = fhir(post(w, "dsn", "/fhir/Observation", once), 201, "Observation")
    before = counts(w)
    again = fhir(post(w, "dsn", "/fhir/Observation", once), 201, "Observation")
    assert again["id"] == first["id"] and counts(w) == before
    # Bad readings are refused in words; no relationship is 403.
    bad_code = reading(w.clock.now, 7.0, code={"coding": [{"system": "x", "code": "mood"}]})
    assert "not a telehealth measure" in outcome(post(w, "dsn", "/fhir/Observation", bad_code), 422)
    bad_unit = reading(w.clock.now, 7.0)
    bad_unit["valueQuantity"]["code"] = "mg/dL"
    assert "mmol/L" in outcome(post(w, "dsn", "/fhir/Observation", bad_unit), 422)
    no_subject = {k: v for k, v in reading(w.clock.now, 7.0).items() if k != "subject"}
    outcome(post(w, "dsn", "/fhir/Observation", no_subject), 422)
    outcome(post(w, "dsn", "/fhir/Observation", {"resourceType": "Observation"}), 400)
    outcome(post(w, "outsider", "/fhir/Observation", reading(w.clock.now, 7.0)), 403)
    r = w.client.post("/fhir/Observation", headers=w.h("dsn"), content=b"x")
    outcome(r, 415)


def test_a_created_reading_reads_back_at_its_location(sqlite_world: World) -> None:
    """The Location a create answers is readable: Observation/telehealth-<id> is read from
    the store (the warehouse has it only after the next extract), relationship-checked."""
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    at = w.clock.now.replace(hour=8)
    body = reading(at, 6.8, identifier=[{"value": "hub-9"}])
    created = fhir(post(w, "dsn", "/fhir/Observation", body), 201, "Observation")
    r = w.client.get(f"/fhir/Observation/{created['id']}", headers=w.h("dsn"))
    back = fhir(r, 200, "Observation")
    assert back["id"] == created["id"]
    assert back["subject"] == {"reference": f"Patient/{MRS_JONES}"}
    assert back["valueQuantity"]["value"] == 6.8 and back["valueQuantity"]["code"] == "mmol/L"
    assert back["identifier"] == [{"value": "hub-9"}]
    assert back["effectiveDateTime"] == created["effectiveDateTime"]
    assert audit(w, "dsn")[-1].resource == "person"
    outcome(w.client.get(f"/fhir/Observation/{created['id']}", headers=w.h("outsider")), 403)
    outcome(w.client.get("/fhir/Observation/telehealth-999999", headers=w.h("dsn")), 404)


def test_service_request_create_is_a_referral(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    r = post(w, "cc", "/fhir/ServiceRequest", referral())
    sr = fhir(r, 201, "ServiceRequest")
    assert sr["status"] == "active" and sr["priority"] == "urgent"
    assert sr["identifier"][0]["value"].startswith("R")
    found = fhir(w.get("cc", f"/fhir/ServiceRequest/{sr['id']}"), kind="ServiceRequest")
    assert found["reasonCode"] == [{"text": "Two falls this week"}]
    r = w.get("cc", f"/referrals/{sr['id']}")
    assert r.status_code == 200 and r.json()["urgency"] == "urgent"
    outcome(post(w, "cc", "/fhir/ServiceRequest", referral(service="nope")), 404)
    no_reason = {**referral(), "reasonCode": []}
    assert "why" in outcome(post(w, "cc", "/fhir/ServiceRequest", no_reason), 422)
    outcome(post(w, "cc", "/fhir/ServiceRequest", referral(nhs=ELSEWHERE)), 403)
    outcome(post(w, "analyst", "/fhir/ServiceRequest", referral()), 403)


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in resources
        ],
    }


def test_transaction_is_all_or_nothing(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    now = w.clock.now
    r = post(w, "cc", "/fhir", bundle(reading(now, 6.0), referral()))
    out = fhir(r, 200, "Bundle")
    assert out["type"] == "transaction-response"
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created", "201 Created"]
    assert [e["resource"]["resourceType"] for e in out["entry"]] == [
        "Observation",
        "ServiceRequest",
    ]
    # Any entry refused: nothing from any entry is stored, and the answer names the entry.
    before = counts(w)
    for broken, status, words in (
        (bundle(reading(now, 6.0), referral(service="nope")), 404, "Bundle.entry[1]"),
        (bundle(referral(), reading(now, 6.0, nhs=ELSEWHERE)), 403, "Bundle.entry[1]"),
        (bundle(reading(now, 6.0), {"resourceType": "Patient"}), 400, "Bundle.entry[1]"),
    ):
        assert words in outcome(post(w, "cc", "/fhir", broken), status)
        assert counts(w) == before
    assert audit(w, "cc")[-1].action == "refused"
    outcome(post(w, "cc", "/fhir", {**bundle(), "type": "batch"}), 400)
    outcome(post(w, "cc", "/fhir", {"resourceType": "Patient"}), 400)


def test_capability_declares_the_creates_and_the_transaction(sqlite_world: World) -> None:
    cs = fhir(sqlite_world.client.get("/fhir/metadata"), kind="CapabilityStatement")
    rest = cs["rest"][0]
    assert rest["interaction"] == [{"code": "transaction"}]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {i["code"] for i in by_type["ServiceRequest"]["interaction"]} == {
        "read",
        "vread",
        "history-instance",
        "search-type",
        "create",
    }
    assert "create" in {i["code"] for i in by_type["Observation"]["interaction"]}
