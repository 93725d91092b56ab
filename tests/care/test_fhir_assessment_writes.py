"""A unified assessment posted as a QuestionnaireResponse (a council system's social-care
assessment): recorded as ``POST /people/{nhs}/assessments`` records it (template checked,
triggers fired, audited), read back the same (round trip), alone or in a transaction;
bad input is a 4xx OperationOutcome naming the field, with nothing written; no
relationship, no write. Every body validated with fhir.resources R4B; a real FHIR client
(fhirpy) on a live server too."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from care_world import ELSEWHERE, MRS_JONES, World, join_teams
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome
from sqlalchemy import func, select
from test_fhir_api import audit, fhir, outcome
from test_fhir_writes import bundle, post, reading

from careweave.store.models import Assessment, Notification, Referral

Q = "https://careweave.org/fhir/Questionnaire/"


def assessment(
    nhs: str = MRS_JONES, template: str = "social_care|1", **answers: dict[str, Any]
) -> dict[str, Any]:
    items = {
        "personal_care_needs": {"valueCoding": {"code": "substantial"}},
        "lives_alone": {"valueBoolean": True},
        "cares_for_someone": {"valueBoolean": False},
        "notes": {"valueString": "Struggling with stairs since the fall"},
        **answers,
    }
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": Q + template,
        "status": "completed",
        "subject": {"reference": f"Patient/{nhs}"},
        "authored": "2026-11-30T10:00:00Z",
        "item": [{"linkId": k, "answer": [v]} for k, v in items.items() if v is not None],
    }


def counts(w: World) -> tuple[int, int, int]:
    with w.session() as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Assessment, Referral, Notification)
        )


def test_questionnaire_response_create_is_an_assessment(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    before = counts(w)
    r = post(w, "sw", "/fhir/QuestionnaireResponse", assessment())
    qr = fhir(r, 201, "QuestionnaireResponse")
    assert r.headers["location"].endswith(f"/fhir/QuestionnaireResponse/{qr['id']}")
    assert qr["questionnaire"] == Q + "social_care|1"
    assert qr["subject"] == {"reference": f"Patient/{MRS_JONES}"}
    assert qr["author"]["reference"] == f"Practitioner/{w.ids['sw']}"
    answers = {i["linkId"]: i["answer"][0] for i in qr["item"]}
    assert answers == {
        "personal_care_needs": {"valueString": "substantial"},
        "lives_alone": {"valueBoolean": True},
        "cares_for_someone": {"valueBoolean": False},
        "notes": {"valueString": "Struggling with stairs since the fall"},
    }
    # Recorded as the JSON API records it: the trigger's referral made, audited.
    assert counts(w)[0] == before[0] + 1 and counts(w)[1] == before[1] + 1
    with w.session() as s:
        made = s.get(Assessment, int(qr["id"]))
        assert made is not None and made.template_id == "social_care"
        assert made.triggered[0]["action"] == "referral"
        assert made.triggered[0]["service"] == "social-care-assessment"
    assert audit(w, "sw")[-1].resource == "assessment"
    # Read back, and found by search: the same resource.
    again = fhir(
        w.get("cc", f"/fhir/QuestionnaireResponse/{qr['id']}"), kind="QuestionnaireResponse"
    )
    assert again == qr
    page = fhir(w.get("cc", f"/fhir/QuestionnaireResponse?patient={MRS_JONES}"), kind="Bundle")
    assert qr in [e["resource"] for e in page["entry"]]
    # Round trip: what was read, posted again, records the same answers.
    copy = {k: v for k, v in again.items() if k not in ("id", "meta")}
    second = fhir(post(w, "sw", "/fhir/QuestionnaireResponse", copy), 201, "QuestionnaireResponse")
    assert second["item"] == qr["item"] and second["id"] != qr["id"]
    # No version: the newest template.
    newest = fhir(
        post(w, "sw", "/fhir/QuestionnaireResponse", assessment(template="social_care")), 201
    )
    assert newest["questionnaire"] == Q + "social_care|1"


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"status": "in-progress"}, 422, "QuestionnaireResponse.status"),
        ({"questionnaire": "https://example.org/Questionnaire/x"}, 422, ".questionnaire"),
        ({"questionnaire": Q + "no_such_template"}, 422, "no assessment template"),
        ({"questionnaire": Q + "social_care|9"}, 422, "has no version 9"),
        ({"subject": {"reference": "Patient/123"}}, 422, "QuestionnaireResponse.subject"),
        ({"status": "finished"}, 422, "completed, not 'finished'"),
        ({"authored": "yesterday"}, 400, "QuestionnaireResponse.authored"),  # not R4B
        ({"item": [{"answer": [{"valueBoolean": True}]}]}, 400, "QuestionnaireResponse.item"),
    ],
)
def test_bad_questionnaire_response_names_the_field(
    sqlite_world: World, change: dict[str, Any], status: int, words: str
) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    before = counts(w)
    assert words in outcome(
        post(w, "sw", "/fhir/QuestionnaireResponse", assessment() | change), status
    )
    assert counts(w) == before


def test_bad_answers_name_the_item(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    before = counts(w)
    for answers, words in (
        ({"personal_care_needs": {"valueString": "lots"}}, "item[0] (personal_care_needs)"),
        ({"lives_alone": {"valueString": "yes"}}, "item[1] (lives_alone): must be true or false"),
        (
            {"favourite_colour": {"valueString": "red"}},
            "item[4] (favourite_colour): not a question",
        ),
        ({"cares_for_someone": None}, "item: cares_for_someone: required"),
        ({"notes": {"valueAttachment": {"title": "x"}}}, "item[3].answer[0]"),
    ):
        body = assessment(**answers)
        assert words in outcome(post(w, "sw", "/fhir/QuestionnaireResponse", body), 422)
    twice = assessment()
    twice["item"].append(twice["item"][0])
    assert "answered twice" in outcome(post(w, "sw", "/fhir/QuestionnaireResponse", twice), 422)
    assert counts(w) == before


def test_no_relationship_no_assessment(sqlite_world: World) -> None:
    """Someone with no relationship (another area's person), a role that may not assess
    (the analyst, a telehealth feed) and a token without the write scope write nothing."""
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    before = counts(w)
    outcome(post(w, "sw", "/fhir/QuestionnaireResponse", assessment(nhs=ELSEWHERE)), 403)
    assert audit(w, "sw")[-1].action == "refused"
    outcome(post(w, "outsider", "/fhir/QuestionnaireResponse", assessment()), 403)
    outcome(post(w, "analyst", "/fhir/QuestionnaireResponse", assessment()), 403)
    outcome(post(w, "feed", "/fhir/QuestionnaireResponse", assessment()), 403)
    r = w.post("sw", "/auth/tokens", {"name": "reader", "fhir_scopes": ["user/*.read"]})
    assert r.status_code in (200, 201), r.text
    scoped = {
        "Authorization": f"Bearer {r.json()['token']}",
        "Content-Type": "application/fhir+json",
    }
    r = w.client.post("/fhir/QuestionnaireResponse", headers=scoped, json=assessment())
    assert "QuestionnaireResponse.write" in outcome(r, 403)
    assert counts(w) == before


def test_transaction_with_an_assessment_is_all_or_nothing(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    out = fhir(post(w, "sw", "/fhir", bundle(assessment(), reading(w.clock.now, 6.0))), 200)
    assert [e["resource"]["resourceType"] for e in out["entry"]] == [
        "QuestionnaireResponse",
        "Observation",
    ]
    assert out["entry"][0]["response"]["location"].startswith("QuestionnaireResponse/")
    before = counts(w)
    broken = bundle(reading(w.clock.now, 6.0), assessment(lives_alone={"valueString": "y"}))
    assert "Bundle.entry[1].resource.item[1]" in outcome(post(w, "sw", "/fhir", broken), 422)
    assert counts(w) == before


def test_capability_declares_the_assessment_create(sqlite_world: World) -> None:
    cs = fhir(sqlite_world.client.get("/fhir/metadata"), kind="CapabilityStatement")
    by_type = {r["type"]: r for r in cs["rest"][0]["resource"]}
    codes = {i["code"] for i in by_type["QuestionnaireResponse"]["interaction"]}
    assert codes == {"read", "search-type", "create"}


def test_fhirpy_posts_an_assessment(sqlite_world: World) -> None:
    """A real FHIR client on a live server: create, read back, and a refusal in words."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
    from live_server import live_server

    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    with live_server(w.client.app) as url:
        c = SyncFHIRClient(f"{url}/fhir", authorization=f"Bearer {w.tokens['sw']}")
        made = c.resource("QuestionnaireResponse", **assessment())
        made.save()
        assert made.id is not None
        QuestionnaireResponse.model_validate(made.serialize())
        back = c.reference("QuestionnaireResponse", made.id).to_resource()
        assert back.serialize() == made.serialize()
        found = c.resources("QuestionnaireResponse").search(patient=MRS_JONES).fetch_all()
        assert made.id in [f.id for f in found]
        bad = c.resource("QuestionnaireResponse", **assessment(lives_alone={"valueString": "y"}))
        with pytest.raises(OperationOutcome, match="lives_alone"):
            bad.save()
