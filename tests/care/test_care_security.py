"""Security: the role x resource x action matrix, authentication, relationships, pseudonyms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from care_world import ELSEWHERE, KEY, MRS_JONES, NEIGHBOUR, World, join_teams
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from careweave.security import auth
from careweave.security.pseudonyms import pseudonym
from careweave.security.roles import PERMISSIONS, RELATIONSHIP_EXEMPT
from careweave.store.models import AuditEntry, Base, BreakGlass

ROLE_USERS = {
    "clinician": "dr_gp",
    "care_coordinator": "cc",
    "case_manager": "cm",
    "social_worker": "sw",
    "care_provider": "homecare",
    "analyst": "analyst",
    "administrator": "admin",
    "integration": "feed",
}

PLAN = {
    "goals": [{"text": "Stay at home"}],
    "interventions": [],
    "crisis_contacts": [],
    "crisis_plan": "",
    "step_status": "stable",
    "review_date": "2027-01-01",
}

Body = Callable[[World, str, str], Any]
# Objects made before the matrix runs, by kind and person: e.g. IDS["mdt", nhs].
IDS: dict[tuple[str, str], int] = {}
# (resource, action, method, path(nhs), body(world, nhs, username), about a person?)
ENDPOINTS: list[tuple[str, str, str, Callable[[str], str], Body | None, bool]] = [
    ("person", "read", "GET", lambda x: f"/people/{x}", None, True),
    ("register", "read", "GET", lambda x: f"/people/{x}/episodes", None, True),
    (
        "register",
        "write",
        "POST",
        lambda x: "/register",
        lambda w, x, u: {
            "nhs_number": x,
            "reason": "High risk",
            "lead_professional_id": w.ids["cc"],
        },
        True,
    ),
    ("care_team", "read", "GET", lambda x: f"/people/{x}/care-team", None, True),
    (
        "care_team",
        "write",
        "POST",
        lambda x: f"/people/{x}/care-team",
        lambda w, x, u: {"user_id": w.ids["dn"], "team_role": "district_nurse"},
        True,
    ),
    (
        "assessment",
        "write",
        "POST",
        lambda x: f"/people/{x}/assessments",
        lambda w, x, u: {
            "template_id": "home_environment_falls",
            "answers": {"falls_last_year": 1, "home_hazards": "some", "falls_risk": "medium"},
        },
        True,
    ),
    ("assessment", "read", "GET", lambda x: f"/people/{x}/assessments", None, True),
    (
        "care_plan",
        "write",
        "PUT",
        lambda x: f"/people/{x}/care-plan",
        lambda w, x, u: {"base_version": None, "content": PLAN},
        True,
    ),
    ("care_plan", "read", "GET", lambda x: f"/people/{x}/care-plan/versions", None, True),
    (
        "referral",
        "write",
        "POST",
        lambda x: "/referrals",
        lambda w, x, u: {
            "nhs_number": x,
            "service_id": "falls-service",
            "urgency": "routine",
            "reason": "Falls",
        },
        True,
    ),
    ("referral", "read", "GET", lambda x: f"/people/{x}/referrals", None, True),
    (
        "event",
        "write",
        "POST",
        lambda x: "/events",
        lambda w, x, u: {
            "nhs_number": x,
            "type": "ae_attendance",
            "occurred_at": w.clock.now.isoformat(),
        },
        True,
    ),
    (
        "telehealth",
        "write",
        "PUT",
        lambda x: f"/people/{x}/telehealth",
        lambda w, x, u: {"conditions": ["heart_failure"]},
        True,
    ),
    (
        "objection",
        "write",
        "POST",
        lambda x: f"/people/{x}/objections",
        lambda w, x, u: {"kind": "secondary_use"},
        True,
    ),
    ("objection", "read", "GET", lambda x: f"/people/{x}/objections", None, True),
    ("contact", "read", "GET", lambda x: f"/people/{x}/contacts", None, True),
    (
        "contact",
        "write",
        "POST",
        lambda x: f"/people/{x}/contacts",
        lambda w, x, u: {"name": "Sian Jones", "relationship": "daughter"},
        True,
    ),
    (
        "mdt",
        "write",
        "POST",
        lambda x: "/mdt",
        lambda w, x, u: {"title": "Weekly MDT", "held_at": w.clock.now.isoformat(), "agenda": [x]},
        True,
    ),
    # Moving a referral on also needs a place on the service's staff: tested in
    # tests/care/test_care_referrals.py (who may make each transition).
    ("referral", "read", "GET", lambda x: f"/referrals/{IDS['referral', x]}", None, True),
    ("referral", "read", "GET", lambda x: "/referrals", None, False),
    ("incident", "read", "GET", lambda x: f"/people/{x}/incidents", None, True),
    ("incident", "read", "GET", lambda x: f"/incidents/{IDS['incident', x]}", None, True),
    ("incident", "read", "GET", lambda x: "/incidents", None, False),
    # An illegal move (409) once permission and relationship pass; who among them may
    # move it on (the services' staff) is tested in tests/care/test_care_incidents.py.
    (
        "incident",
        "write",
        "POST",
        lambda x: f"/incidents/{IDS['incident', x]}/status",
        lambda w, x, u: {"status": "open"},
        True,
    ),
    # Attending the meeting is what entitles one to open it.
    ("mdt", "read", "GET", lambda x: f"/mdt/{IDS['mdt', x]}", None, False),
    (
        "task",
        "write",
        "PATCH",
        lambda x: f"/tasks/{IDS['task', x]}",
        lambda w, x, u: {"status": "in_progress"},
        True,
    ),
    ("service", "read", "GET", lambda x: "/services", None, False),
    (
        "service",
        "write",
        "PUT",
        lambda x: "/services/falls-service",
        lambda w, x, u: {"description": "Falls prevention"},
        False,
    ),
    ("user", "read", "GET", lambda x: "/users", None, False),
    (
        "user",
        "write",
        "POST",
        lambda x: "/users",
        lambda w, x, u: {"username": f"new-{u}-{x}", "display_name": "New", "role": "clinician"},
        False,
    ),
    ("audit", "read", "GET", lambda x: "/audit/verify", None, False),
    ("outbox", "read", "GET", lambda x: "/outbox/problems", None, False),
    ("outbox", "write", "POST", lambda x: "/outbox/retry", lambda w, x, u: {"ids": []}, False),
    ("pseudonymised", "read", "GET", lambda x: "/analytics/people", None, False),
    (
        "referral",
        "check_breaches",
        "POST",
        lambda x: "/referrals/check-breaches",
        lambda w, x, u: {},
        False,
    ),
    # Maturity self-assessments: not about a person. The first write allowed (analyst)
    # creates assessment 1 for the date; a repeat is a stale base_version (409).
    (
        "maturity",
        "write",
        "POST",
        lambda x: "/maturity/assessments",
        lambda w, x, u: {
            "matrix": "ccm-wales",
            "org_id": "L1",
            "assessed_on": "2026-11-30",
            "ratings": {"needs-assessment": {"stage": "a", "narrative": "x"}},
        },
        False,
    ),
    ("maturity", "read", "GET", lambda x: "/maturity/assessments/1", None, False),
    ("break_glass", "review", "GET", lambda x: "/break-glass", None, False),
    ("caseload", "read", "GET", lambda x: "/caseload", None, False),
    ("notification", "read", "GET", lambda x: "/notifications", None, False),
    ("task", "read", "GET", lambda x: "/tasks", None, False),
    # Last: a granted break-glass gives the user a relationship from then on.
    (
        "break_glass",
        "write",
        "POST",
        lambda x: f"/people/{x}/break-glass",
        lambda w, x, u: {"reason": "Unconscious in A&E, no other history available"},
        False,  # break-glass is the way in without a relationship
    ),
]


def test_matrix_covers_every_permission() -> None:
    assert {(r, a) for r, a, *_ in ENDPOINTS} == set(PERMISSIONS)


AUDIT_TABLES = ("audit_log", "audit_head")


def snapshot(w: World) -> dict[str, int]:
    """Row counts of every table but the audit log (a refusal is audited, see below)."""
    with w.session() as s:
        return {
            t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
            if t.name not in AUDIT_TABLES
        }


def refusals(w: World) -> list[AuditEntry]:
    with w.session() as s:
        return list(
            s.execute(
                select(AuditEntry).where(AuditEntry.action == "refused").order_by(AuditEntry.seq)
            ).scalars()
        )


def test_role_resource_action_matrix(world: World) -> None:
    """Every role against every resource and action, for a person in their care team and a
    stranger: allowed requests are not refused; refused ones are 403, write nothing but
    exactly one audit entry of the refusal (who, what, why), in its own transaction."""
    w = world
    join_teams(w, (MRS_JONES,))
    r = w.post(
        "cc",
        f"/people/{MRS_JONES}/care-team",
        {"user_id": w.ids["cm"], "team_role": "case_manager"},
    )
    assert r.status_code == 201
    team = {"dr_gp", "cc", "cm", "sw", "homecare"}
    everyone = [w.ids[u] for u in ROLE_USERS.values()]
    # Made by someone with a relationship: cc for Mrs Jones, "outsider" (her practice) for ELSEWHERE.
    for nhs, maker in ((MRS_JONES, "cc"), (ELSEWHERE, "outsider")):
        referral = {
            "nhs_number": nhs,
            "service_id": "falls-service",
            "urgency": "routine",
            "reason": "x",
        }
        IDS["referral", nhs] = w.post(maker, "/referrals", referral).json()["id"]
        IDS["incident", nhs] = w.event(nhs, "fall_alarm", w.clock.now)["incident_id"]
        meeting = {
            "title": "MDT",
            "held_at": w.clock.now.isoformat(),
            "agenda": [nhs],
            "attendees": everyone,
        }
        IDS["mdt", nhs] = w.post(maker, "/mdt", meeting).json()["id"]
        decision = {
            "nhs_number": nhs,
            "decision": "Review",
            "actions": [
                {"title": "Visit", "owner_user_id": w.ids[maker], "due_date": "2026-12-01"}
            ],
        }
        r = w.post(maker, f"/mdt/{IDS['mdt', nhs]}/decisions", decision)
        assert r.status_code == 201, r.text
        IDS["task", nhs] = r.json()[0]["id"]
    checked = 0
    for resource, action, method, path, body, personal in ENDPOINTS:
        for role, username in ROLE_USERS.items():
            for nhs in (MRS_JONES, ELSEWHERE):
                related = username in team and nhs == MRS_JONES
                expected = role in PERMISSIONS.get((resource, action), frozenset()) and (
                    not personal or related or role in RELATIONSHIP_EXEMPT
                )
                before = None if expected else snapshot(w)
                refused_before = None if expected else len(refusals(w))
                payload = body(w, nhs, username) if body else None
                resp = w.client.request(method, path(nhs), headers=w.h(username), json=payload)
                label = f"{role} {method} {path(nhs)} ({resource}:{action})"
                assert resp.status_code < 500, label + resp.text
                if expected:
                    # 409: a repeat of a write another role already made (e.g. enrolment).
                    assert resp.status_code in (200, 201, 204, 409), label + resp.text
                else:
                    assert resp.status_code == 403, label + resp.text
                    assert set(resp.json()) == {"detail"}, label
                    assert snapshot(w) == before, f"{label}: a refused request wrote data"
                    new = refusals(w)[refused_before:]
                    assert len(new) == 1, f"{label}: refusal audited {len(new)} times"
                    assert new[0].actor == username, label
                    assert new[0].detail.startswith("attempted="), label
                    assert "why=" in new[0].detail, label
                checked += 1
    assert checked == len(ENDPOINTS) * len(ROLE_USERS) * 2


def test_unauthenticated_and_bad_tokens_get_401(sqlite_world: World) -> None:
    w = sqlite_world
    assert w.client.get(f"/people/{MRS_JONES}").status_code == 401
    r = w.client.get(f"/people/{MRS_JONES}", headers={"Authorization": "Bearer cw_nope"})
    assert r.status_code == 401
    assert w.client.get("/health").status_code == 200


def _with_password(w: World, username: str, role: str, password: str, **kw: Any) -> None:
    with w.session() as s, s.begin():
        auth.create_user(
            s,
            username=username,
            display_name=username,
            role=role,
            password=password,
            now=w.clock(),
            **kw,
        )


def test_login_sets_secure_cookies_and_cookie_writes_need_csrf(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    _with_password(w, "nurse", "clinician", "correct horse battery", org_id="P1")
    c = TestClient(w.client.app, base_url="https://testserver")
    r = c.post("/auth/login", json={"username": "nurse", "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    cookies = r.headers.get_list("set-cookie")
    session_cookie = next(x for x in cookies if x.startswith("cw_session="))
    assert "HttpOnly" in session_cookie
    assert "Secure" in session_cookie
    assert "SameSite=strict" in session_cookie
    csrf = r.json()["csrf_token"]
    # Reads need no CSRF token; the practice relationship allows this one.
    assert c.get(f"/people/{MRS_JONES}").status_code == 200
    body = {"kind": "secondary_use"}
    r = c.post(f"/people/{MRS_JONES}/objections", json=body)
    assert r.status_code == 403
    assert "csrf" in r.json()["detail"]
    r = c.post(f"/people/{MRS_JONES}/objections", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = c.post(f"/people/{MRS_JONES}/objections", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    # A form post carries the token as a field.
    r = c.post("/auth/tokens", data={"csrf_token": csrf, "name": "x"})
    assert r.status_code != 403
    assert c.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert c.get("/auth/me").status_code == 401


def test_lockout_after_repeated_failures(sqlite_world: World) -> None:
    w = sqlite_world
    _with_password(w, "locky", "clinician", "the right password")
    c = w.client
    for _ in range(auth.MAX_FAILURES):
        r = c.post("/auth/login", json={"username": "locky", "password": "wrong password!"})
        assert r.status_code == 401
    r = c.post("/auth/login", json={"username": "locky", "password": "the right password"})
    assert r.status_code == 401
    assert r.json()["detail"] == auth.FAILED_LOGIN  # no more than a wrong password says
    w.clock.advance(minutes=16)
    r = c.post("/auth/login", json={"username": "locky", "password": "the right password"})
    assert r.status_code == 200, r.text
    from careweave.store.models import AuditEntry

    with w.session() as s:
        actions = s.execute(
            select(AuditEntry.action).where(AuditEntry.actor == "locky").order_by(AuditEntry.seq)
        ).scalars()
        assert list(actions) == ["login_failed"] * (auth.MAX_FAILURES + 1) + ["login"]


def test_passwords_are_argon2_hashed(sqlite_world: World) -> None:
    w = sqlite_world
    _with_password(w, "hashme", "clinician", "a long enough password")
    from careweave.store.models import User

    with w.session() as s:
        u = s.execute(select(User).where(User.username == "hashme")).scalar_one()
        assert u.password_hash is not None and u.password_hash.startswith("$argon2id$")


def test_relationships_locality_practice_and_objection_to_sharing(world: World) -> None:
    w = world
    # Locality team (cc, L1) and practice staff (dr_gp, P1) may see the neighbour; others not.
    assert w.get("cc", f"/people/{NEIGHBOUR}").status_code == 200
    assert w.get("dr_gp", f"/people/{NEIGHBOUR}").status_code == 200
    assert w.get("sw", f"/people/{NEIGHBOUR}").status_code == 403
    assert w.get("outsider", f"/people/{NEIGHBOUR}").status_code == 403
    # An objection to sharing withdraws locality-wide access; the practice keeps it.
    r = w.post("dr_gp", f"/people/{NEIGHBOUR}/objections", {"kind": "sharing"})
    assert r.status_code == 201
    assert w.get("cc", f"/people/{NEIGHBOUR}").status_code == 403
    assert w.get("dr_gp", f"/people/{NEIGHBOUR}").status_code == 200
    # Withdrawn, locality access returns.
    oid = r.json()["id"]
    r = w.post("dr_gp", f"/people/{NEIGHBOUR}/objections/{oid}/withdraw")
    assert r.status_code == 200 and r.json()["withdrawn_at"] is not None
    assert w.get("cc", f"/people/{NEIGHBOUR}").status_code == 200


def test_break_glass_needs_reason_is_audited_and_flagged(world: World) -> None:
    w = world
    assert w.get("outsider", f"/people/{MRS_JONES}").status_code == 403
    r = w.post("outsider", f"/people/{MRS_JONES}/break-glass", {"reason": "urgent"})
    assert r.status_code == 422
    r = w.post(
        "outsider",
        f"/people/{MRS_JONES}/break-glass",
        {"reason": "Attending collapse at home, no records available"},
    )
    assert r.status_code == 201, r.text
    assert w.get("outsider", f"/people/{MRS_JONES}").status_code == 200
    pending = w.get("admin", "/break-glass").json()
    assert [p["nhs_number"] for p in pending] == [MRS_JONES]
    r = w.post("admin", f"/break-glass/{pending[0]['id']}/review", {"note": "Appropriate"})
    assert r.status_code == 200
    assert w.get("admin", "/break-glass").json() == []
    w.clock.advance(hours=5)  # grants expire
    assert w.get("outsider", f"/people/{MRS_JONES}").status_code == 403
    with w.session() as s:
        g = s.execute(select(BreakGlass)).scalar_one()
        assert g.reviewed_at is not None


def test_analysts_see_keyed_pseudonyms_only_and_objectors_are_left_out(world: World) -> None:
    w = world
    r = w.get("analyst", "/analytics/people")
    assert r.status_code == 200
    rows = r.json()
    assert len(rows) == 4
    text = r.text
    for nhs in (MRS_JONES, NEIGHBOUR, ELSEWHERE):
        assert nhs not in text
    assert {x["pseudonym"] for x in rows} == {
        pseudonym(KEY, n) for n in (MRS_JONES, NEIGHBOUR, ELSEWHERE, "9434765870")
    }
    assert pseudonym(b"another-key-entirely-0123456789abcdef", MRS_JONES) != pseudonym(
        KEY, MRS_JONES
    )
    assert "date_of_birth" not in rows[0]
    r = w.post("dr_gp", f"/people/{MRS_JONES}/objections", {"kind": "secondary_use"})
    assert r.status_code == 201
    rows = w.get("analyst", "/analytics/people").json()
    assert pseudonym(KEY, MRS_JONES) not in {x["pseudonym"] for x in rows}
    assert len(rows) == 3
    # The key is not in the store.
    with w.session() as s:
        for t in Base.metadata.sorted_tables:
            for row in s.execute(select(t)).all():
                assert KEY.decode() not in repr(row)


def test_every_personal_read_and_write_is_audited(sqlite_world: World) -> None:
    from careweave.store.models import AuditEntry

    w = sqlite_world
    assert w.get("dr_gp", f"/people/{MRS_JONES}").status_code == 200
    r = w.post("dr_gp", f"/people/{MRS_JONES}/telehealth", None)
    assert r.status_code == 405
    assert (
        w.put("dr_gp", f"/people/{MRS_JONES}/telehealth", {"conditions": ["copd"]}).status_code
        == 204
    )
    with w.session() as s:
        rows = s.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.resource).where(
                AuditEntry.nhs_number == MRS_JONES
            )
        ).all()
    assert ("dr_gp", "read", "person") in rows
    assert ("dr_gp", "write", "telehealth") in rows


def _reading(w: World, x: str, u: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "15074-8"}]},
        "subject": {"reference": f"Patient/{x}"},
        "effectiveDateTime": (w.clock.now - dt.timedelta(minutes=1)).isoformat(),
        "valueQuantity": {"value": 6.0, "unit": "mmol/L"},
    }


def _referral(w: World, x: str, u: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{x}"},
        "performer": [{"reference": "HealthcareService/falls-service"}],
        "reasonCode": [{"text": "Falls"}],
    }


# The FHIR paths: (resource, action, method, path(nhs), body, about a person?). A search
# with patient= is a read of that person's record, as the JSON API's per-person lists.
FHIR_ENDPOINTS: list[tuple[str, str, str, Callable[[str], str], Body | None, bool]] = [
    ("person", "read", "GET", lambda x: f"/fhir/Patient/{x}", None, True),
    ("person", "read", "GET", lambda x: "/fhir/Patient", None, False),
    ("person", "read", "GET", lambda x: f"/fhir/RiskAssessment?patient={x}", None, True),
    ("care_plan", "read", "GET", lambda x: f"/fhir/CarePlan?patient={x}", None, True),
    ("register", "read", "GET", lambda x: f"/fhir/EpisodeOfCare?patient={x}", None, True),
    ("care_team", "read", "GET", lambda x: f"/fhir/CareTeam?patient={x}", None, True),
    ("referral", "read", "GET", lambda x: f"/fhir/ServiceRequest?patient={x}", None, True),
    ("referral", "read", "GET", lambda x: "/fhir/ServiceRequest", None, False),
    ("task", "read", "GET", lambda x: f"/fhir/Task?patient={x}", None, True),
    ("notification", "read", "GET", lambda x: f"/fhir/Flag?patient={x}", None, True),
    ("notification", "read", "GET", lambda x: f"/fhir/Communication?patient={x}", None, True),
    ("assessment", "read", "GET", lambda x: f"/fhir/QuestionnaireResponse?patient={x}", None, True),
    ("service", "read", "GET", lambda x: "/fhir/HealthcareService", None, False),
    ("service", "read", "GET", lambda x: "/fhir/Practitioner", None, False),
    ("service", "read", "GET", lambda x: "/fhir/PractitionerRole", None, False),
    ("event", "write", "POST", lambda x: "/fhir/Observation", _reading, True),
    ("referral", "write", "POST", lambda x: "/fhir/ServiceRequest", _referral, True),
]


def test_matrix_on_the_fhir_paths(world: World) -> None:
    """Every role against every FHIR resource type served from the store, for a person in
    their care team and a stranger: allowed requests succeed; refused ones are a 403
    OperationOutcome that writes nothing but one audit entry of the refusal."""
    from careweave.api.fhir.care_store import KINDS

    assert {k.permission for k in KINDS} <= {r for r, *_ in FHIR_ENDPOINTS}
    w = world
    join_teams(w, (MRS_JONES,))
    team = {"dr_gp", "cc", "sw", "homecare"}
    checked = 0
    for resource, action, method, path, body, personal in FHIR_ENDPOINTS:
        for role, username in ROLE_USERS.items():
            for nhs in (MRS_JONES, ELSEWHERE):
                related = username in team and nhs == MRS_JONES
                expected = role in PERMISSIONS.get((resource, action), frozenset()) and (
                    not personal or related or role in RELATIONSHIP_EXEMPT
                )
                before = None if expected else snapshot(w)
                refused_before = None if expected else len(refusals(w))
                headers = {**w.h(username), "Content-Type": "application/fhir+json"}
                payload = body(w, nhs, username) if body else None
                resp = w.client.request(method, path(nhs), headers=headers, json=payload)
                label = f"{role} {method} {path(nhs)} ({resource}:{action})"
                assert resp.status_code < 500, label + resp.text
                assert resp.json()["resourceType"] != "OperationOutcome" or not expected, (
                    label + resp.text
                )
                if expected:
                    assert resp.status_code in (200, 201), label + resp.text
                else:
                    assert resp.status_code == 403, label + resp.text
                    assert resp.json()["resourceType"] == "OperationOutcome", label
                    assert snapshot(w) == before, f"{label}: a refused request wrote data"
                    new = refusals(w)[refused_before:]
                    assert len(new) == 1, f"{label}: refusal audited {len(new)} times"
                    assert new[0].actor == username, label
                checked += 1
    assert checked == len(FHIR_ENDPOINTS) * len(ROLE_USERS) * 2
