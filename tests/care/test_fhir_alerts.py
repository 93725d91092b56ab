"""Flag create on /fhir: an alert staff raise on a person, told to the person's care team
(care/alerts.py), relationship-checked, scoped (``user/Flag.write``), audited, validated
with fhir.resources R4B, and refused in words naming the element."""

from __future__ import annotations

from typing import Any

import pytest
from care_world import ELSEWHERE, MRS_JONES, NEIGHBOUR, World, join_teams
from fhir.resources.R4B.flag import Flag
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError
from sqlalchemy import func, select
from test_fhir_api import audit, fhir, outcome
from test_fhir_client import served  # noqa: F401  (the uvicorn server fixture)
from test_fhir_scopes import scoped
from test_fhir_writes import post, reading, referral

from careweave.store.models import Notification

CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def alert(
    nhs: str = MRS_JONES, text: str | None = "Aggressive dog: visit in pairs", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "status": "active",
        "category": [{"coding": [{"system": CATEGORY, "code": "safety"}]}],
        "code": {"text": text} if text is not None else {"coding": [{"code": "x"}]},
        "subject": {"reference": f"Patient/{nhs}"},
        **extra,
    }


def notifications(w: World) -> int:
    with w.session() as s:
        return s.execute(select(func.count()).select_from(Notification)).scalar_one()


def test_fhirpy_flag_create_tells_the_care_team(served: tuple[World, str]) -> None:  # noqa: F811
    w, url = served
    join_teams(w, (MRS_JONES,))
    client = SyncFHIRClient(url, authorization=f"Bearer {w.tokens['homecare']}")
    made = client.resource("Flag", **alert())
    made.save()
    assert made.id is not None
    Flag.model_validate(made.serialize())
    assert made["category"][0]["coding"][0]["code"] == "safety"
    assert "raised an alert" in made["code"]["text"] and "visit in pairs" in made["code"]["text"]
    # One Flag, read and searched like the telehealth ones; the whole team was told.
    back = client.reference("Flag", made.id).to_resource()
    assert back.serialize() == made.serialize()
    found = client.resources("Flag").search(patient=MRS_JONES).fetch_all()
    assert [f.id for f in found] == [made.id]
    kinds = [n["kind"] for n in w.inbox("dr_gp")]
    assert "alert:safety" in kinds and "alert:safety" in [n["kind"] for n in w.inbox("sw")]
    written = [a for a in audit(w, "homecare") if a.action == "write"]
    assert written[-1].resource == "alert" and written[-1].nhs_number == MRS_JONES
    # Without a relationship: 403, nothing told.
    before = notifications(w)
    outsider = SyncFHIRClient(url, authorization=f"Bearer {w.tokens['outsider']}")
    with pytest.raises(ForbiddenError, match="no legitimate relationship"):
        outsider.resource("Flag", **alert()).save()
    assert notifications(w) == before
    assert audit(w, "outsider")[-1].action == "refused"


def test_flag_create_needs_the_write_scope(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    read_only = {**scoped(w, "cc", "user/Flag.read", "user/Patient.read"), **FHIR_JSON}
    before = notifications(w)
    text = outcome(w.client.post("/fhir/Flag", headers=read_only, json=alert()), 403)
    assert "Flag.write" in text
    assert notifications(w) == before and audit(w, "cc")[-1].action == "refused"
    writer = {**scoped(w, "cc", "user/Flag.write"), **FHIR_JSON}
    fhir(w.client.post("/fhir/Flag", headers=writer, json=alert()), 201, "Flag")
    # A telehealth hub (integration role) has no permission to raise alerts.
    hub = {**scoped(w, "feed", "system/Flag.write"), **FHIR_JSON}
    outcome(w.client.post("/fhir/Flag", headers=hub, json=alert()), 403)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (alert(text=None), 422, "Flag.code.text: say what the alert is"),
        (alert(text="   "), 422, "Flag.code.text"),
        (alert(status="inactive"), 422, "Flag.status: a new alert is active"),
        (
            alert(category=[{"coding": [{"system": CATEGORY, "code": "gossip"}]}]),
            422,
            "Flag.category: 'gossip' is not a code",
        ),
        (alert(text="x" * 501), 422, "Flag.code.text: 500 characters at most"),
        (alert(status=5), 400, "Flag.status"),
        (alert(subject={"reference": "Group/1"}), 422, "Flag.subject: must reference Patient"),
        (alert(nhs=NEIGHBOUR), 422, "Flag.subject: "),
        (alert(nhs=ELSEWHERE), 403, "no legitimate relationship"),
        ({"resourceType": "Patient"}, 400, "expected a Flag"),
    ],
)
def test_bad_flags_are_refused_naming_the_element(
    sqlite_world: World, body: dict[str, Any], status: int, words: str
) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    before = notifications(w)
    assert words in outcome(post(w, "cc", "/fhir/Flag", body), status)
    assert notifications(w) == before


def test_neighbour_without_a_care_team_has_nobody_to_alert(sqlite_world: World) -> None:
    text = outcome(post(sqlite_world, "cc", "/fhir/Flag", alert(nhs=NEIGHBOUR)), 422)
    assert "has no care team to alert" in text


def test_capability_declares_flag_create(sqlite_world: World) -> None:
    cs = fhir(sqlite_world.client.get("/fhir/metadata"), kind="CapabilityStatement")
    flag = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Flag")
    assert {i["code"] for i in flag["interaction"]} == {"read", "search-type", "create"}


def test_flags_and_a_referencing_transaction_on_both_stores(world: World) -> None:
    """SQLite and PostgreSQL: one Flag per alert (the same words raised twice are two),
    and a transaction's urn:uuid reference resolved, then a failing one rolled back."""
    w = world
    join_teams(w, (MRS_JONES,))
    first = fhir(post(w, "cc", "/fhir/Flag", alert()), 201, "Flag")
    w.clock.advance(minutes=5)
    second = fhir(post(w, "dn", "/fhir/Flag", alert()), 201, "Flag")
    found = fhir(w.get("dr_gp", f"/fhir/Flag?patient={MRS_JONES}"), kind="Bundle")
    assert [e["resource"]["id"] for e in found["entry"]] == [first["id"], second["id"]]
    assert fhir(w.get("sw", f"/fhir/Flag/{second['id']}"), kind="Flag") == second
    ref = "urn:uuid:0b7a4a4e-8f7e-4a53-9d0e-2a3c5e6f7a8b"
    reading_entry = {
        "fullUrl": ref,
        "resource": reading(w.clock.now, 16.3),
        "request": {"method": "POST", "url": "Observation"},
    }
    sr = {**referral(), "supportingInfo": [{"reference": ref}]}
    sr_entry = {"resource": sr, "request": {"method": "POST", "url": "ServiceRequest"}}
    ok = {"resourceType": "Bundle", "type": "transaction", "entry": [sr_entry, reading_entry]}
    out = fhir(post(w, "cc", "/fhir", ok), 200, "Bundle")
    obs_id = out["entry"][1]["resource"]["id"]
    assert out["entry"][0]["resource"]["supportingInfo"] == [{"reference": f"Observation/{obs_id}"}]
    before = notifications(w)
    bad_flag = {"resource": alert(nhs=ELSEWHERE), "request": {"method": "POST", "url": "Flag"}}
    broken = {**ok, "entry": [sr_entry, reading_entry, bad_flag]}
    assert "Bundle.entry[2]" in outcome(post(w, "cc", "/fhir", broken), 403)
    assert notifications(w) == before
