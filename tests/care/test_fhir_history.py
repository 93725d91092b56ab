"""vread and _history on /fhir where the store versions the thing (CarePlan: whole versions;
ServiceRequest: a referral's versions rebuilt from its history), one version number in
``meta.versionId``, ``ETag``, history ``etag`` and ``If-Match``; and a 405 in words, with no
vread or history in the CapabilityStatement, for the types the store does not version."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from care_world import MRS_JONES, World, join_teams
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import MultipleResourcesFound
from test_fhir_api import fhir, outcome, plan_id
from test_fhir_client import served  # noqa: F401  (the uvicorn server fixture)
from test_fhir_writes import post, referral

VERSIONED = {"CarePlan", "ServiceRequest"}


def _client(url: str, token: str, **headers: str) -> SyncFHIRClient:
    return SyncFHIRClient(url, authorization=f"Bearer {token}", extra_headers=headers or None)


def test_fhirpy_care_plan_vread_and_history_after_two_updates(
    served: tuple[World, str],  # noqa: F811
) -> None:
    w, url = served
    join_teams(w, (MRS_JONES,))
    pid = plan_id(w)
    reader = _client(url, w.tokens["dsn"])
    statuses = ["in-progress", "completed"]
    for version, status in enumerate(statuses, start=1):
        current = reader.reference("CarePlan", pid).to_resource()
        assert current["meta"]["versionId"] == str(version)
        writer = _client(url, w.tokens["dsn"], **{"If-Match": f'W/"{version}"'})
        plan = writer.resource("CarePlan", **current.serialize())
        plan["activity"][0]["detail"]["status"] = status
        plan.save()
        assert plan["meta"]["versionId"] == str(version + 1)
    # A stale If-Match (version 2 of 3) is a 412 and saves nothing.
    stale = _client(url, w.tokens["dsn"], **{"If-Match": 'W/"2"'})
    late = stale.resource("CarePlan", **reader.reference("CarePlan", pid).to_resource().serialize())
    late["activity"][0]["detail"]["status"] = "cancelled"
    with pytest.raises(MultipleResourcesFound, match="at version 3, not 2"):  # fhirpy's 412
        late.save()
    # History: three versions, newest first, each one's etag its versionId.
    history = reader.execute(f"CarePlan/{pid}/_history", method="get")
    Bundle.model_validate(dict(history))
    assert history["type"] == "history" and history["total"] == 3
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["3", "2", "1"]
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "PUT", "POST"]
    assert [e["resource"]["activity"][0]["detail"]["status"] for e in history["entry"]] == [
        "completed",
        "in-progress",
        "not-started",
    ]
    # vread of each version is that history entry; of the current one, the read.
    for entry in history["entry"]:
        version = entry["resource"]["meta"]["versionId"]
        old = reader.execute(f"CarePlan/{pid}/_history/{version}", method="get")
        CarePlan.model_validate(dict(old))
        assert dict(old) == entry["resource"]
    assert dict(reader.execute(f"CarePlan/{pid}/_history/3", method="get")) == dict(
        reader.reference("CarePlan", pid).to_resource().serialize()
    )


def test_etag_agrees_with_version_id_on_read_vread_and_update(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    pid = plan_id(w)
    r = w.get("dsn", f"/fhir/CarePlan/{pid}")
    assert r.headers["etag"] == 'W/"1"' == f'W/"{fhir(r)["meta"]["versionId"]}"'
    r = w.get("dsn", f"/fhir/CarePlan/{pid}/_history/1")
    assert r.headers["etag"] == 'W/"1"'
    body = fhir(r, kind="CarePlan")
    body["activity"][0]["detail"]["status"] = "in-progress"
    h = {**w.h("dsn"), "Content-Type": "application/fhir+json", "If-Match": r.headers["etag"]}
    r = w.client.put(f"/fhir/CarePlan/{pid}", json=body, headers=h)
    new = fhir(r, kind="CarePlan")
    assert r.headers["etag"] == 'W/"2"' == f'W/"{new["meta"]["versionId"]}"'
    assert r.headers["content-location"].endswith(f"/fhir/CarePlan/{pid}/_history/2")
    # The same ETag again is stale now.
    assert "at version 2, not 1" in outcome(
        w.client.put(f"/fhir/CarePlan/{pid}", json=body, headers=h), 412
    )


def _status(w: World, ref: str, status: str, **extra: Any) -> None:
    r = w.post("rr", f"/referrals/{ref}/status", {"status": status, **extra})
    assert r.status_code == 200, r.text


def test_service_request_vread_and_history_are_the_referrals_versions(
    sqlite_world: World,
) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    r = w.put("admin", "/services/rapid-response", {"contact_user_id": w.ids["rr"]})
    assert r.status_code == 200, r.text
    made = fhir(post(w, "cc", "/fhir/ServiceRequest", referral(service="rapid-response")), 201)
    sid = made["id"]
    assert made["meta"]["versionId"] == "1"
    w.clock.advance(minutes=20)
    _status(w, sid, "accepted")
    w.clock.advance(minutes=20)
    at = w.clock.now + dt.timedelta(hours=3)
    _status(w, sid, "scheduled", scheduled_for=at.isoformat(), booked_with="Nurse Patel")
    w.clock.advance(hours=4)
    _status(w, sid, "completed")

    r = w.get("cc", f"/fhir/ServiceRequest/{sid}")
    now = fhir(r, kind="ServiceRequest")
    assert now["meta"]["versionId"] == "4" and r.headers["etag"] == 'W/"4"'
    hist = fhir(w.get("cc", f"/fhir/ServiceRequest/{sid}/_history"), kind="Bundle")
    assert hist["type"] == "history" and hist["total"] == 4
    entries = hist["entry"]
    assert [e["resource"]["meta"]["versionId"] for e in entries] == ["4", "3", "2", "1"]
    assert [e["response"]["etag"] for e in entries] == ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']
    states = [
        (
            e["resource"]["extension"][0]["valueCoding"]["code"],
            e["resource"]["status"],
            "occurrenceDateTime" in e["resource"],
        )
        for e in reversed(entries)
    ]
    assert states == [
        ("received", "active", False),
        ("accepted", "active", False),
        ("scheduled", "active", True),
        ("completed", "completed", True),
    ]
    # lastModified is when each change was made; the current version is the read.
    stamps = [dt.datetime.fromisoformat(e["response"]["lastModified"]) for e in reversed(entries)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert entries[0]["resource"] == now
    for e in entries:
        v = e["resource"]["meta"]["versionId"]
        r = w.get("cc", f"/fhir/ServiceRequest/{sid}/_history/{v}")
        assert fhir(r, kind="ServiceRequest") == e["resource"]
        assert r.headers["etag"] == f'W/"{v}"'
    assert "no such version (kept: 1-4)" in outcome(
        w.get("cc", f"/fhir/ServiceRequest/{sid}/_history/5"), 404
    )
    outcome(w.get("cc", f"/fhir/ServiceRequest/{sid}/_history/x"), 404)
    # The relationship rule holds on vread and history as on read.
    assert "relationship" in outcome(w.get("outsider", f"/fhir/ServiceRequest/{sid}/_history"), 403)
    outcome(w.get("outsider", f"/fhir/ServiceRequest/{sid}/_history/1"), 403)


@pytest.mark.parametrize(
    "path",
    [
        f"/fhir/Patient/{MRS_JONES}/_history",
        f"/fhir/Patient/{MRS_JONES}/_history/1",
        f"/fhir/CareTeam/{MRS_JONES}/_history",
        "/fhir/EpisodeOfCare/1/_history/1",
        "/fhir/Task/1/_history",
        "/fhir/Flag/1/_history",
        "/fhir/QuestionnaireResponse/1/_history",
        "/fhir/Encounter/1/_history",
    ],
)
def test_types_not_versioned_refuse_history_in_words(sqlite_world: World, path: str) -> None:
    kind = path.split("/")[2]
    text = outcome(sqlite_world.get("dr_gp", path), 405)
    assert f"{kind} is not versioned here" in text and "GET /fhir/" in text


def test_capability_lists_history_only_for_versioned_types(sqlite_world: World) -> None:
    w = sqlite_world
    outcome(w.get("dr_gp", "/fhir/Nonsense/1/_history"), 404)
    cs = fhir(w.client.get("/fhir/metadata"), kind="CapabilityStatement")
    for r in cs["rest"][0]["resource"]:
        codes = {i["code"] for i in r["interaction"]}
        if r["type"] in VERSIONED:
            assert {"vread", "history-instance"} <= codes, r["type"]
            assert r["readHistory"] is True and r["versioning"] != "no-version"
        else:
            assert not codes & {"vread", "history-instance"}, r["type"]
            assert r["readHistory"] is False and r["versioning"] == "no-version"
    care_plan = next(r for r in cs["rest"][0]["resource"] if r["type"] == "CarePlan")
    assert care_plan["versioning"] == "versioned-update"
