"""SMART-style scopes on /fhir: per resource type and interaction, on top of the
relationship rule; refusals are 403 OperationOutcomes, audited; scoped tokens are FHIR
clients' only; system/ scopes are for system accounts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from care_world import MRS_JONES, World, join_teams
from sqlalchemy import select
from test_fhir_api import audit, fhir, outcome
from test_fhir_writes import bundle, counts, reading, referral

from careweave.cli.main import main
from careweave.security import auth, scopes
from careweave.security.errors import Invalid
from careweave.store.db import make_engine, session_factory
from careweave.store.models import User

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def scoped(w: World, username: str, *granted: str) -> dict[str, str]:
    with w.session() as s, s.begin():
        u = s.execute(select(User).where(User.username == username)).scalar_one()
        token = auth.issue_token(s, u, "fhir app", w.clock(), fhir_scopes=list(granted))
    return {"Authorization": f"Bearer {token}"}


def test_scopes_narrow_reads_per_resource_type(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    h = scoped(w, "dr_gp", "user/Patient.read")
    fhir(w.client.get(f"/fhir/Patient/{MRS_JONES}", headers=h), kind="Patient")
    fhir(w.client.get("/fhir/Patient", headers=h), kind="Bundle")
    fhir(w.client.get("/fhir/metadata", headers=h), kind="CapabilityStatement")
    for path in (f"CarePlan?patient={MRS_JONES}", "ServiceRequest", f"CareTeam/{MRS_JONES}"):
        text = outcome(w.client.get(f"/fhir/{path}", headers=h), 403)
        assert "do not allow" in text and "user/Patient.read" in text
        last = audit(w, "dr_gp")[-1]
        assert last.action == "refused" and "token scope" in last.detail
    # A FHIR client's token is refused on the JSON API.
    r = w.client.get(f"/people/{MRS_JONES}", headers=h)
    assert r.status_code == 403 and "FHIR scopes" in r.json()["detail"]
    # _include of the patient needs Patient.read too.
    h2 = scoped(w, "cc", "user/ServiceRequest.read")
    assert (
        w.post(
            "cc",
            "/referrals",
            {
                "nhs_number": MRS_JONES,
                "service_id": "falls-service",
                "urgency": "routine",
                "reason": "x",
            },
        ).status_code
        == 201
    )
    fhir(w.client.get("/fhir/ServiceRequest", headers=h2), kind="Bundle")
    r = w.client.get("/fhir/ServiceRequest?_include=ServiceRequest:patient", headers=h2)
    assert "Patient.read" in outcome(r, 403)


def test_scopes_never_widen_the_relationship_rule(sqlite_world: World) -> None:
    w = sqlite_world
    h = scoped(w, "outsider", "user/*.read")
    assert "no legitimate relationship" in outcome(
        w.client.get(f"/fhir/Patient/{MRS_JONES}", headers=h), 403
    )
    analyst = scoped(w, "analyst", "user/*.*")
    outcome(w.client.get(f"/fhir/Patient/{MRS_JONES}", headers=analyst), 403)


def test_write_scopes_per_type_and_in_transactions(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    h = {**scoped(w, "cc", "user/ServiceRequest.write", "user/*.rs"), **FHIR_JSON}
    fhir(w.client.post("/fhir/ServiceRequest", headers=h, json=referral()), 201, "ServiceRequest")
    fhir(w.client.get("/fhir/Task", headers=h), kind="Bundle")
    now = w.clock.now
    assert "Observation.write" in outcome(
        w.client.post("/fhir/Observation", headers=h, json=reading(now, 6.0)), 403
    )
    before = counts(w)
    r = w.client.post("/fhir", headers=h, json=bundle(referral(), reading(now, 6.0)))
    assert "Observation.write" in outcome(r, 403)
    assert counts(w) == before
    assert audit(w, "cc")[-1].action == "refused"


def test_system_scopes_for_system_accounts(sqlite_world: World) -> None:
    w = sqlite_world
    hub = {**scoped(w, "feed", "system/Observation.write"), **FHIR_JSON}
    at = w.clock.now - dt.timedelta(minutes=1)
    fhir(w.client.post("/fhir/Observation", headers=hub, json=reading(at, 6.0)), 201, "Observation")
    outcome(w.client.get(f"/fhir/Patient/{MRS_JONES}", headers=hub), 403)


@pytest.mark.parametrize(
    ("granted", "role", "words"),
    [
        (["system/*.read"], "clinician", "system/ scopes are for system accounts"),
        (["user/Patient.read"], "integration", "takes system/ scopes"),
        (["patient/Patient.read"], "clinician", "patient/ scopes are not served"),
        (["Patient.read"], "clinician", "not a scope like"),
        (["user/Patient.delete"], "clinician", "not a scope like"),
        ([], "clinician", "give 1-50 scopes"),
    ],
)
def test_bad_scopes_are_refused_in_words(granted: list[str], role: str, words: str) -> None:
    with pytest.raises(Invalid, match=words):
        scopes.check(granted, role)


def test_scopes_grammar() -> None:
    assert scopes.allows(["user/*.read"], "Task", "read")
    assert not scopes.allows(["user/*.read"], "Task", "write")
    assert scopes.allows(["user/Task.cu"], "Task", "write")
    assert not scopes.allows(["user/Task.cu"], "Flag", "write")
    assert scopes.allows(["system/*.*"], "Flag", "write")


def test_tokens_with_scopes_through_the_api(sqlite_world: World) -> None:
    w = sqlite_world
    r = w.post("dr_gp", "/auth/tokens", {"name": "app", "fhir_scopes": ["user/Patient.read"]})
    assert r.status_code == 201, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    fhir(w.client.get(f"/fhir/Patient/{MRS_JONES}", headers=h), kind="Patient")
    outcome(w.client.get("/fhir/CarePlan", headers=h), 403)
    r = w.post("dr_gp", "/auth/tokens", {"name": "app", "fhir_scopes": ["system/*.read"]})
    assert r.status_code == 422 and "system accounts" in r.text


def test_the_cli_issues_fhir_scoped_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["db", "upgrade", "--db", db]) == 0
    add = ["users", "add", "hub", "--role", "integration", "--name", "Hub", "--no-password"]
    assert main([*add, "--db", db]) == 0
    capsys.readouterr()
    args = ["users", "token", "hub", "--name", "hub", "--db", db]
    assert main([*args, "--fhir-scope", "system/Observation.write"]) == 0
    token = capsys.readouterr().out.strip()
    with session_factory(make_engine(db))() as s:
        scope = auth.token_scope(s, token)
    assert scope is not None and scope.fhir == ("system/Observation.write",)
    assert main([*args, "--fhir-scope", "user/Patient.read"]) == 2
    assert "takes system/ scopes" in capsys.readouterr().err
