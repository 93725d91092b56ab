"""The operational store on /fhir: Practitioner(Role), EpisodeOfCare, CareTeam,
ServiceRequest, Task, Flag, Communication, HealthcareService, RiskAssessment and
QuestionnaireResponse — read, search with the standard parameters, the JSON API's
relationship rule and audit. Every body is validated with fhir.resources R4B."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from care_world import ELSEWHERE, MRS_JONES, NEIGHBOUR, World, join_teams
from sqlalchemy import select
from test_fhir_api import audit, fhir, outcome

from careweave.store.models import Person

UKCORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"


def entries(body: dict[str, Any], mode: str = "match") -> list[dict[str, Any]]:
    return [e["resource"] for e in body.get("entry", []) if e["search"]["mode"] == mode]


def search(w: World, who: str, query: str, kind: str) -> list[dict[str, Any]]:
    body = fhir(w.get(who, f"/fhir/{query}"), kind="Bundle")
    found = entries(body)
    assert all(r["resourceType"] == kind for r in found), query
    return found


def populate(w: World) -> dict[str, Any]:
    """Mrs Jones with a care team, a register episode, a referral, an assessment, a
    telehealth alert (with its tasks and notifications) and a risk score."""
    join_teams(w, (MRS_JONES,))
    with w.session() as s, s.begin():  # the risk run's scores, as the warehouse sync writes them
        for p in s.execute(select(Person)).scalars():
            p.risk_as_of, p.model_version = dt.date(2026, 11, 1), "risk-v1"
    r = w.post(
        "cc",
        "/register",
        {"nhs_number": MRS_JONES, "reason": "High risk", "lead_professional_id": w.ids["cc"]},
    )
    assert r.status_code == 201, r.text
    ref = {
        "nhs_number": MRS_JONES,
        "service_id": "falls-service",
        "urgency": "routine",
        "reason": "Two falls",
    }
    r = w.post("cc", "/referrals", ref)
    assert r.status_code == 201, r.text
    referral = r.json()
    r = w.post(
        "cc",
        f"/people/{MRS_JONES}/assessments",
        {
            "template_id": "home_environment_falls",
            "answers": {"falls_last_year": 1, "home_hazards": "some", "falls_risk": "medium"},
        },
    )
    assert r.status_code == 201, r.text
    start = w.clock.now.replace(hour=8)
    for day, value in enumerate([6.5, 14.2, 15.1, 7.0, 16.3]):
        w.clock.now = start + dt.timedelta(days=day)
        w.event(MRS_JONES, "telehealth_reading", w.clock.now, measure="glucose", value=value)
    meeting = {"title": "MDT", "held_at": w.clock.now.isoformat(), "agenda": [MRS_JONES]}
    mdt = w.post("cc", "/mdt", meeting).json()["id"]
    decision = {
        "nhs_number": MRS_JONES,
        "decision": "Review",
        "actions": [{"title": "Visit", "owner_user_id": w.ids["cc"], "due_date": "2026-12-20"}],
    }
    r = w.post("cc", f"/mdt/{mdt}/decisions", decision)
    assert r.status_code == 201, r.text
    return {"referral": referral, "task": r.json()[0]}


def test_each_resource_reads_and_searches_as_fhir(sqlite_world: World) -> None:
    w = sqlite_world
    made = populate(w)
    cc = str(w.ids["cc"])

    # Practitioner and PractitionerRole: staff in their roles, never the system feeds.
    staff = search(w, "cc", "Practitioner?_count=100", "Practitioner")
    assert {p["id"] for p in staff} == {str(i) for u, i in w.ids.items() if u != "feed"}
    me = fhir(w.get("dr_gp", f"/fhir/Practitioner/{cc}"), kind="Practitioner")
    assert me["meta"]["profile"] == [UKCORE + "Practitioner"]
    assert me["identifier"][0]["value"] == "cc"
    roles = search(w, "cc", "PractitionerRole?organization=Organization/P1", "PractitionerRole")
    assert [r["code"][0]["coding"][0]["code"] for r in roles] == ["clinician"]
    outcome(w.get("cc", f"/fhir/Practitioner/{w.ids['feed']}"), 404)

    # EpisodeOfCare: the register, with the lead professional.
    (ep,) = search(w, "cc", f"EpisodeOfCare?patient={MRS_JONES}&status=active", "EpisodeOfCare")
    assert ep["careManager"]["reference"] == f"Practitioner/{cc}"
    assert ep["patient"]["reference"] == f"Patient/{MRS_JONES}"
    assert search(w, "cc", "EpisodeOfCare?status=finished", "EpisodeOfCare") == []
    fhir(w.get("cc", f"/fhir/EpisodeOfCare/{ep['id']}"), kind="EpisodeOfCare")

    # CareTeam: one per person, its current members.
    team = fhir(w.get("dn", f"/fhir/CareTeam/{MRS_JONES}"), kind="CareTeam")
    codes = {p["role"][0]["coding"][0]["code"] for p in team["participant"]}
    assert {"gp", "care_coordinator", "district_nurse"} <= codes

    # ServiceRequest: the referral, its status and service.
    (sr,) = search(w, "cc", f"ServiceRequest?subject=Patient/{MRS_JONES}", "ServiceRequest")
    assert sr["id"] == str(made["referral"]["id"])
    assert sr["status"] == "active" and sr["intent"] == "order"
    assert sr["performer"] == [{"reference": "HealthcareService/falls-service"}]
    assert sr["meta"]["profile"] == [UKCORE + "ServiceRequest"]
    by_ref = search(
        w, "cc", f"ServiceRequest?identifier={made['referral']['reference']}", "ServiceRequest"
    )
    assert [r["id"] for r in by_ref] == [sr["id"]]
    read = fhir(w.get("cc", f"/fhir/ServiceRequest/{sr['id']}"), kind="ServiceRequest")
    assert w.get("cc", f"/fhir/ServiceRequest/{sr['id']}").headers["etag"] == 'W/"1"'
    assert read["reasonCode"] == [{"text": "Two falls"}]
    assert search(w, "cc", "ServiceRequest?status=completed", "ServiceRequest") == []

    # Task: the tasks the events raised.
    (task,) = search(w, "cc", f"Task?patient={MRS_JONES}&status=requested", "Task")
    assert task["id"] == str(made["task"]["id"]) and task["description"] == "Visit"
    assert task["owner"]["reference"] == f"Practitioner/{cc}"
    assert task["for"]["reference"] == f"Patient/{MRS_JONES}"
    fhir(w.get("cc", f"/fhir/Task/{task['id']}"), kind="Task")
    assert search(w, "cc", "Task?status=completed", "Task") == []

    # Flag: the telehealth alert, one for the whole team.
    (flag,) = search(w, "dsn", f"Flag?patient={MRS_JONES}", "Flag")
    assert flag["code"]["coding"][0]["code"] == "glucose-unstable"
    assert search(w, "cc", f"Flag?patient={MRS_JONES}", "Flag") == [flag]

    # Communication: only the recipient's own notifications.
    mine = search(w, "dsn", "Communication?_count=100", "Communication")
    assert mine and all(
        c["recipient"][0]["reference"] == f"Practitioner/{w.ids['dsn']}" for c in mine
    )
    r = w.get("cc", f"/fhir/Communication/{mine[0]['id']}")
    assert "not yours" in outcome(r, 403)
    assert audit(w, "cc")[-1].action == "refused"

    # HealthcareService: the directory.
    falls = fhir(
        w.get("homecare", "/fhir/HealthcareService/falls-service"), kind="HealthcareService"
    )
    assert falls["active"] is True and falls["meta"]["profile"] == [UKCORE + "HealthcareService"]
    assert [
        s["id"]
        for s in search(
            w, "cc", f"HealthcareService?name={falls['name'].lower()}", "HealthcareService"
        )
    ] == ["falls-service"]
    assert search(w, "cc", "HealthcareService?identifier=falls-service", "HealthcareService")

    # RiskAssessment: the latest score, probability, CCM level and the explanation as basis.
    risk = fhir(w.get("cc", f"/fhir/RiskAssessment/{MRS_JONES}"), kind="RiskAssessment")
    assert risk["prediction"][0]["probabilityDecimal"] == 0.4
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "very high"
    assert {"url": cr_ext("ccm-level"), "valueInteger": 4} in risk["extension"]
    assert [b["display"] for b in risk["basis"]] == ["emergency admissions", "age"]

    # QuestionnaireResponse: the assessment, answer by answer.
    (qr,) = search(w, "cc", f"QuestionnaireResponse?patient={MRS_JONES}", "QuestionnaireResponse")
    assert qr["questionnaire"].endswith("/home_environment_falls|1")
    answers = {i["linkId"]: i["answer"][0] for i in qr["item"]}
    assert answers["falls_last_year"] == {"valueInteger": 1}
    assert qr["author"]["reference"] == f"Practitioner/{cc}"


def cr_ext(name: str) -> str:
    return "https://careweave.org/fhir/StructureDefinition/" + name


def test_relationships_objections_and_audit(sqlite_world: World) -> None:
    w = sqlite_world
    made = populate(w)
    sr = made["referral"]["id"]
    # No relationship: reads are 403 (audited), searches leave the person out.
    for path in (
        f"ServiceRequest/{sr}",
        f"CareTeam/{MRS_JONES}",
        f"RiskAssessment/{MRS_JONES}",
    ):
        assert "no legitimate relationship" in outcome(w.get("outsider", f"/fhir/{path}"), 403)
        assert audit(w, "outsider")[-1].action == "refused"
    outcome(w.get("outsider", f"/fhir/ServiceRequest?patient={MRS_JONES}"), 403)
    assert search(w, "outsider", "ServiceRequest", "ServiceRequest") == []
    assert {r["id"] for r in search(w, "outsider", "RiskAssessment", "RiskAssessment")} == {
        ELSEWHERE
    }
    # Roles without the permission: the analyst may not read referrals at all.
    outcome(w.get("analyst", "/fhir/ServiceRequest"), 403)
    # A read is audited with its basis; a search as one entry naming the people shown.
    fhir(w.get("cc", f"/fhir/ServiceRequest/{sr}"), kind="ServiceRequest")
    assert "basis=care_team" in audit(w, "cc")[-1].detail
    search(w, "cc", "RiskAssessment", "RiskAssessment")
    last = audit(w, "cc")[-1]
    assert "fhir RiskAssessment search" in last.detail and MRS_JONES in last.detail
    # Locality access closes when the person objects to sharing.
    assert NEIGHBOUR in {r["id"] for r in search(w, "cc", "RiskAssessment", "RiskAssessment")}
    r = w.post("dr_gp", f"/people/{NEIGHBOUR}/objections", {"kind": "sharing", "note": None})
    assert r.status_code == 201, r.text
    assert NEIGHBOUR not in {r["id"] for r in search(w, "cc", "RiskAssessment", "RiskAssessment")}
    outcome(w.get("cc", f"/fhir/RiskAssessment/{NEIGHBOUR}"), 403)
    # Break-glass opens the record, as in the JSON API.
    r = w.post("outsider", f"/people/{MRS_JONES}/break-glass", {"reason": "unconscious in A&E"})
    assert r.status_code == 201, r.text
    fhir(w.get("outsider", f"/fhir/ServiceRequest/{sr}"), kind="ServiceRequest")
    assert "basis=break_glass" in audit(w, "outsider")[-1].detail


def test_paging_dates_last_updated_and_include(sqlite_world: World) -> None:
    w = sqlite_world
    populate(w)
    # _count with next links, followed to the end.
    body = fhir(w.get("cc", "/fhir/Practitioner?_count=5"), kind="Bundle")
    seen = [r["id"] for r in entries(body)]
    while nxt := next((x["url"] for x in body["link"] if x["relation"] == "next"), None):
        body = fhir(w.get("cc", nxt.replace("https://testserver", "")), kind="Bundle")
        seen += [r["id"] for r in entries(body)]
    assert len(seen) == len(set(seen)) == len(w.ids) - 1
    # date and _lastUpdated with prefixes.
    today = w.clock.now.date().isoformat()
    assert search(w, "cc", f"Flag?date={today}", "Flag")
    assert search(w, "cc", f"Flag?date=lt{today}", "Flag") == []
    assert search(
        w, "cc", f"QuestionnaireResponse?_lastUpdated=ge{today[:4]}", "QuestionnaireResponse"
    )
    assert (
        search(w, "cc", "QuestionnaireResponse?_lastUpdated=gt2030", "QuestionnaireResponse") == []
    )
    assert len(search(w, "cc", "EpisodeOfCare?date=ge2026-01", "EpisodeOfCare")) == 1
    assert search(w, "cc", "EpisodeOfCare?date=lt2020", "EpisodeOfCare") == []
    # _include of the patient: the Patient as an include entry, carried on the next link.
    body = fhir(
        w.get("cc", "/fhir/ServiceRequest?_include=ServiceRequest:patient&_count=1"), kind="Bundle"
    )
    (patient,) = entries(body, "include")
    assert patient["resourceType"] == "Patient" and patient["id"] == MRS_JONES
    assert "_include=ServiceRequest%3Apatient" in body["link"][0]["url"]
    assert audit(w, "cc")[-1].detail.startswith("fhir _include Patient")


@pytest.mark.parametrize(
    "query",
    [
        "ServiceRequest?colour=blue",
        "ServiceRequest?status=pending",
        "ServiceRequest?_include=ServiceRequest:requester",
        "Flag?date=yesterday",
        "EpisodeOfCare?status=planned",
        "HealthcareService?active=maybe",
        "Task?_count=0",
    ],
)
def test_unknown_or_bad_parameters_are_400(sqlite_world: World, query: str) -> None:
    outcome(sqlite_world.get("cc", f"/fhir/{query}"), 400)


def test_unknown_ids_are_404(sqlite_world: World) -> None:
    w = sqlite_world
    for path in (
        "ServiceRequest/999",
        "Task/x",
        "CareTeam/9999999999",
        "Flag/1",
        "RiskAssessment/a_b",
    ):
        outcome(w.get("cc", f"/fhir/{path}"), 404)


def test_last_updated_on_patient_and_care_plan(sqlite_world: World) -> None:
    from test_fhir_api import plan_id

    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    pid = plan_id(w)
    synced = fhir(w.get("cc", f"/fhir/Patient/{MRS_JONES}"), kind="Patient")["meta"]["lastUpdated"]
    day = synced[:10]
    assert MRS_JONES in {p["id"] for p in search(w, "cc", f"Patient?_lastUpdated={day}", "Patient")}
    assert search(w, "cc", f"Patient?_lastUpdated=gt{day}", "Patient") == []
    saved = fhir(w.get("cc", f"/fhir/CarePlan/{pid}"), kind="CarePlan")["meta"]["lastUpdated"]
    q = f"CarePlan?patient={MRS_JONES}&_lastUpdated=ge{saved[:10]}"
    assert [p["id"] for p in search(w, "cc", q, "CarePlan")] == [pid]
    assert search(w, "cc", f"CarePlan?_lastUpdated=lt{saved[:10]}", "CarePlan") == []
