"""The FHIR R4 endpoint at /fhir: UK Core resources, search with paging, CarePlan versions
with If-Match, OperationOutcome errors, and the JSON API's relationship rule and audit.

Every body is validated as its resource type with fhir.resources R4B (``fhir``)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from care_world import ELSEWHERE, MR_JONES, MRS_JONES, NEIGHBOUR, World, join_teams
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from careweave.store.models import AuditEntry

FHIR_JSON = "application/fhir+json"
PLAN: dict[str, Any] = {
    "goals": [{"text": "Stay well at home", "target_date": "2027-03-01"}],
    "interventions": [
        {
            "description": "Insulin review",
            "owner_organisation": "CP1",
            "owner_role": "specialist_nurse",
            "due_date": "2026-12-01",
            "status": "planned",
        }
    ],
    "crisis_contacts": [{"name": "Daughter", "relationship": "daughter", "phone": "07700900123"}],
    "crisis_plan": "Call rapid response.",
    "step_status": "stable",
    "review_date": "2027-01-15",
}


def fhir(r: Any, status: int = 200, kind: str | None = None) -> dict[str, Any]:
    """The response body, checked: status, media type and its R4B resource model."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = r.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    if kind is not None:
        assert body["resourceType"] == kind
    return body


def outcome(r: Any, status: int) -> str:
    body = fhir(r, status, "OperationOutcome")
    text: str = body["issue"][0]["diagnostics"]
    return text


def audit(w: World, actor: str) -> list[AuditEntry]:
    with w.session() as s:
        return list(
            s.execute(select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.seq))
            .scalars()
            .all()
        )


def plan_id(w: World) -> str:
    r = w.put("cc", f"/people/{MRS_JONES}/care-plan", {"base_version": None, "content": PLAN})
    assert r.status_code == 200, r.text
    found = fhir(w.get("cc", f"/fhir/CarePlan?patient=Patient/{MRS_JONES}"), kind="Bundle")
    assert len(found["entry"]) == 1
    pid: str = found["entry"][0]["resource"]["id"]
    return pid


def test_metadata_is_true_to_the_routes(sqlite_world: World) -> None:
    w = sqlite_world
    cs = fhir(w.client.get("/fhir/metadata"), kind="CapabilityStatement")
    declared = {(r["type"], i["code"]) for r in cs["rest"][0]["resource"] for i in r["interaction"]}
    served = set()
    paths = w.client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        m = re.fullmatch(r"/fhir/([A-Z][A-Za-z]+)(/\{[a-z_]+\})?(/_history)?(/\{[a-z_]+\})?", path)
        if m is None:
            continue
        kind, has_id, history, vid = m.groups()
        for method in operations:
            interaction = {
                ("get", False, False, False): "search-type",
                ("get", True, False, False): "read",
                ("get", True, True, False): "history-instance",
                ("get", True, True, True): "vread",
                ("put", True, False, False): "update",
                ("post", False, False, False): "create",
            }[(method, bool(has_id), bool(history), bool(vid))]
            served.add((kind, interaction))
    assert declared == served
    patient = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Patient")
    assert patient["profile"].endswith("UKCore-Patient")
    assert {p["name"] for p in patient["searchParam"]} >= {"identifier", "name", "birthdate"}


def test_patient_read_is_uk_core_and_needs_a_relationship(sqlite_world: World) -> None:
    w = sqlite_world
    p = fhir(w.get("dr_gp", f"/fhir/Patient/{MRS_JONES}"), kind="Patient")
    assert p["identifier"] == [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": MRS_JONES}]
    assert p["birthDate"] == "1941-05-01"
    assert p["generalPractitioner"] == [{"reference": "Organization/P1"}]
    assert "basis=practice" in audit(w, "dr_gp")[-1].detail
    # No relationship: 403 OperationOutcome, audited as a refusal.
    assert "no legitimate relationship" in outcome(
        w.get("outsider", f"/fhir/Patient/{MRS_JONES}"), 403
    )
    assert audit(w, "outsider")[-1].action == "refused"
    # Roles without person access (analyst) are refused too; unknown people are 404.
    outcome(w.get("analyst", f"/fhir/Patient/{MRS_JONES}"), 403)
    outcome(w.get("dr_gp", "/fhir/Patient/9999999999"), 404)
    outcome(w.get("dr_gp", "/fhir/Patient/abc"), 404)
    # Break-glass gives the outsider emergency access, as in the JSON API.
    r = w.post("outsider", f"/people/{MRS_JONES}/break-glass", {"reason": "unconscious in A&E"})
    assert r.status_code == 201, r.text
    fhir(w.get("outsider", f"/fhir/Patient/{MRS_JONES}"), kind="Patient")
    assert "basis=break_glass" in audit(w, "outsider")[-1].detail


def test_objection_to_sharing_closes_locality_access(sqlite_world: World) -> None:
    w = sqlite_world
    fhir(w.get("cc", f"/fhir/Patient/{NEIGHBOUR}"), kind="Patient")  # locality basis
    r = w.post("dr_gp", f"/people/{NEIGHBOUR}/objections", {"kind": "sharing", "note": None})
    assert r.status_code == 201, r.text
    outcome(w.get("cc", f"/fhir/Patient/{NEIGHBOUR}"), 403)
    found = fhir(w.get("cc", "/fhir/Patient?_count=100"), kind="Bundle")
    assert NEIGHBOUR not in {e["resource"]["id"] for e in found.get("entry", [])}


def test_patient_search_pages_and_leaves_out_unseen_people(sqlite_world: World) -> None:
    w = sqlite_world
    b = fhir(w.get("dr_gp", "/fhir/Patient?_count=2"), kind="Bundle")
    assert b["type"] == "searchset"
    ids = [e["resource"]["id"] for e in b["entry"]]
    nxt = next(link["url"] for link in b["link"] if link["relation"] == "next")
    b2 = fhir(w.get("dr_gp", nxt.replace("https://testserver", "")), kind="Bundle")
    ids += [e["resource"]["id"] for e in b2["entry"]]
    assert not any(link["relation"] == "next" for link in b2["link"])
    assert sorted(ids) == sorted([MRS_JONES, MR_JONES, NEIGHBOUR])  # not ELSEWHERE
    assert "hidden" in audit(w, "dr_gp")[-1].detail
    # identifier with and without the NHS-number system; a foreign system matches nothing.
    for q in (f"https://fhir.nhs.uk/Id/nhs-number|{MR_JONES}", MR_JONES):
        b = fhir(w.get("dr_gp", "/fhir/Patient", params={"identifier": q}), kind="Bundle")
        assert [e["resource"]["id"] for e in b["entry"]] == [MR_JONES]
    b = fhir(w.get("dr_gp", "/fhir/Patient", params={"identifier": f"urn:x|{MR_JONES}"}))
    assert "entry" not in b
    # Someone else's patient is not found by identifier either.
    b = fhir(w.get("dr_gp", "/fhir/Patient", params={"identifier": ELSEWHERE}))
    assert "entry" not in b
    b = fhir(w.get("dr_gp", "/fhir/Patient", params={"birthdate": "1938"}))
    assert [e["resource"]["id"] for e in b["entry"]] == [MR_JONES]
    b = fhir(w.get("dr_gp", "/fhir/Patient", params={"birthdate": "ge1941-05-01"}))
    assert {e["resource"]["id"] for e in b["entry"]} == {MRS_JONES, NEIGHBOUR}


def test_patient_search_by_name(sqlite_world: World) -> None:
    w = sqlite_world
    from careweave.store.models import Person

    with w.session() as s, s.begin():
        person = s.get(Person, MRS_JONES)
        assert person is not None
        person.set_names("Gwen", "O'Brien-Jones")
    b = fhir(w.get("dr_gp", "/fhir/Patient", params={"name": "obrien"}), kind="Bundle")
    assert [e["resource"]["id"] for e in b["entry"]] == [MRS_JONES]
    assert b["entry"][0]["resource"]["name"][0]["family"] == "O'Brien-Jones"
    b = fhir(w.get("dr_gp", "/fhir/Patient", params={"name": "gw"}), kind="Bundle")
    assert [e["resource"]["id"] for e in b["entry"]] == [MRS_JONES]


@pytest.mark.parametrize(
    "query",
    [
        "/fhir/Patient?colour=blue",
        "/fhir/Patient?_count=0",
        "/fhir/Patient?birthdate=ne1941",
        "/fhir/CarePlan?category=x",
        "/fhir/Organization?_sort=name",
        "/fhir/CarePlan?status=nope",
    ],
)
def test_unknown_or_bad_search_parameters_are_400(sqlite_world: World, query: str) -> None:
    assert outcome(sqlite_world.get("dr_gp", query), 400)


def test_errors_are_operation_outcomes(sqlite_world: World) -> None:
    w = sqlite_world
    assert outcome(w.client.get(f"/fhir/Patient/{MRS_JONES}"), 401)
    assert outcome(w.get("dr_gp", "/fhir/Goal/1"), 404)
    assert outcome(w.client.delete(f"/fhir/Patient/{MRS_JONES}", headers=w.h("dr_gp")), 405)
    assert outcome(w.get("dr_gp", "/fhir/Patient?_format=xml"), 406)
    # The JSON API keeps its own error shape.
    assert w.get("outsider", f"/people/{MRS_JONES}").json()["detail"]


def test_organization_read_and_search(sqlite_world: World) -> None:
    w = sqlite_world
    o = fhir(w.get("dr_gp", "/fhir/Organization/P1"), kind="Organization")
    assert o["identifier"][0] == {
        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
        "value": "P1",
    }
    assert o["partOf"] == {"reference": "Organization/L1"}
    b = fhir(w.get("analyst", "/fhir/Organization", params={"name": "river"}), kind="Bundle")
    assert [e["resource"]["id"] for e in b["entry"]] == ["P1"]
    b = fhir(w.get("dr_gp", "/fhir/Organization", params={"identifier": "L9"}))
    assert [e["resource"]["id"] for e in b["entry"]] == ["L9"]
    outcome(w.get("dr_gp", "/fhir/Organization/NOPE"), 404)


def test_care_plan_read_history_vread_and_update_with_if_match(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    pid = plan_id(w)
    r = w.get("dsn", f"/fhir/CarePlan/{pid}")
    cp = fhir(r, kind="CarePlan")
    assert r.headers["etag"] == 'W/"1"' and cp["meta"]["versionId"] == "1"
    assert cp["subject"] == {"reference": f"Patient/{MRS_JONES}"}
    assert cp["contained"][0]["description"]["text"] == "Stay well at home"
    assert cp["activity"][0]["detail"]["status"] == "not-started"
    # Change an intervention to done and move the review date; If-Match names version 1.
    cp["activity"][0]["detail"]["status"] = "completed"
    for e in cp["extension"]:
        if e["url"].endswith("review-date"):
            e["valueDate"] = "2027-02-01"
    w.clock.advance(days=1)
    url = f"/fhir/CarePlan/{pid}"
    h = {**w.h("dsn"), "Content-Type": FHIR_JSON}
    r = w.client.put(url, json=cp, headers={**h, "If-Match": 'W/"1"'})
    new = fhir(r, kind="CarePlan")
    assert new["meta"]["versionId"] == "2" and r.headers["etag"] == 'W/"2"'
    # The JSON API sees the same change, with who made it.
    v = w.get("cc", f"/people/{MRS_JONES}/care-plan").json()
    assert v["version"] == 2 and v["content"]["interventions"][0]["status"] == "done"
    assert v["content"]["review_date"] == "2027-02-01" and v["changed_by"] == w.ids["dsn"]
    assert v["content"]["crisis_contacts"] == PLAN["crisis_contacts"]
    # Stale and missing If-Match: 412, nothing saved.
    assert "version 2, not 1" in outcome(
        w.client.put(url, json=cp, headers={**h, "If-Match": 'W/"1"'}), 412
    )
    outcome(w.client.put(url, json=cp, headers=h), 412)
    assert w.get("cc", f"/people/{MRS_JONES}/care-plan").json()["version"] == 2
    # vread and _history.
    old = fhir(w.get("dsn", f"/fhir/CarePlan/{pid}/_history/1"), kind="CarePlan")
    assert old["activity"][0]["detail"]["status"] == "not-started"
    outcome(w.get("dsn", f"/fhir/CarePlan/{pid}/_history/9"), 404)
    hist = fhir(w.get("dsn", f"/fhir/CarePlan/{pid}/_history"), kind="Bundle")
    assert hist["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["2", "1"]
    # Bad bodies: not a CarePlan (400), id disagreeing with the URL (400), bad content (422).
    bad = w.client.put(url, json={"resourceType": "CarePlan"}, headers={**h, "If-Match": 'W/"2"'})
    outcome(bad, 400)
    outcome(w.client.put(url, json={**cp, "id": "99"}, headers={**h, "If-Match": 'W/"2"'}), 400)
    broken = {
        **cp,
        "extension": [e for e in cp["extension"] if not e["url"].endswith("review-date")],
    }
    outcome(w.client.put(url, json=broken, headers={**h, "If-Match": 'W/"2"'}), 422)
    outcome(
        w.client.put(
            url,
            content=b"{}",
            headers={**w.h("dsn"), "Content-Type": "text/plain", "If-Match": "2"},
        ),
        415,
    )


def test_care_plan_relationships_on_the_fhir_paths(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    pid = plan_id(w)
    for who in ("outsider", "analyst", "admin"):
        outcome(w.get(who, f"/fhir/CarePlan/{pid}"), 403)
        outcome(w.get(who, f"/fhir/CarePlan/{pid}/_history"), 403)
        outcome(w.get(who, f"/fhir/CarePlan?patient={MRS_JONES}"), 403)
    # A search without a patient lists only plans of people the caller may see.
    b = fhir(w.get("outsider", "/fhir/CarePlan"), kind="Bundle")
    assert "entry" not in b
    b = fhir(w.get("dr_gp", "/fhir/CarePlan?status=active"), kind="Bundle")
    assert [e["resource"]["id"] for e in b["entry"]] == [pid]
    b = fhir(w.get("dr_gp", "/fhir/CarePlan?status=completed"), kind="Bundle")
    assert "entry" not in b
    # Care providers may read the plan but not change it (role permission, as the JSON API).
    cp = fhir(w.get("homecare", f"/fhir/CarePlan/{pid}"), kind="CarePlan")
    r = w.client.put(
        f"/fhir/CarePlan/{pid}",
        json=cp,
        headers={**w.h("homecare"), "Content-Type": FHIR_JSON, "If-Match": 'W/"1"'},
    )
    outcome(r, 403)
    reads = [e for e in audit(w, "homecare") if e.resource == "care_plan"]
    assert [e.action for e in reads] == ["read", "refused"]
