"""Domain rules: caseloads, referrals, care-plan versions, assessments, routing, telehealth, MDT."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from care_world import (
    ELSEWHERE,
    MR_JONES,
    MRS_JONES,
    NEIGHBOUR,
    Clock,
    World,
    build_world,
    join_teams,
)
from sqlalchemy import func, select

from careweave.care import config
from careweave.care.events import out_of_range_days, rise_within
from careweave.care.plans import diff
from careweave.care.referrals import STATUSES, TRANSITIONS, check_transition
from careweave.care.register import caseload_level
from careweave.errors import InputError
from careweave.security import audit
from careweave.security.errors import Conflict, Invalid
from careweave.store.models import CarePlanVersion, Referral


def test_caseload_levels() -> None:
    assert caseload_level(0, 10, 0.9) == "ok"
    assert caseload_level(8, 10, 0.9) == "ok"
    assert caseload_level(9, 10, 0.9) == "approaching"
    assert caseload_level(10, 10, 0.9) == "at_limit"
    assert caseload_level(11, 10, 0.9) == "over_limit"


def test_enrolment_warns_at_the_caseload_limit(tmp_path: Path, clock: Clock) -> None:
    (tmp_path / "caseload.toml").write_text(
        "warn_fraction = 0.5\ndefault = 10\n[limits]\ncare_coordinator = 2\n"
    )
    w = build_world(f"sqlite:///{tmp_path / 's.db'}", clock, config_dir=tmp_path)
    levels = []
    for nhs in (MRS_JONES, MR_JONES, NEIGHBOUR):
        r = w.post(
            "cc",
            "/register",
            {"nhs_number": nhs, "reason": "CCM level 4", "lead_professional_id": w.ids["cc"]},
        )
        assert r.status_code == 201, r.text
        levels.append((r.json()["caseload"]["level"], r.json()["caseload"]["warning"]))
    assert [lv for lv, _ in levels] == ["approaching", "at_limit", "over_limit"]
    assert levels[1][1] is not None and "2 open episodes against a limit of 2" in levels[1][1]
    # The lead is put in the care team, enrolment twice is refused, episodes close with an outcome.
    team = w.get("cc", f"/people/{MRS_JONES}/care-team").json()
    assert [(m["user_id"], m["team_role"]) for m in team] == [(w.ids["cc"], "care_coordinator")]
    r = w.post(
        "cc",
        "/register",
        {"nhs_number": MRS_JONES, "reason": "again", "lead_professional_id": w.ids["cc"]},
    )
    assert r.status_code == 409
    ep = w.get("cc", f"/people/{MRS_JONES}/episodes").json()[0]
    r = w.post(
        "cc",
        f"/register/{ep['id']}/close",
        {"end_date": "2026-12-01", "outcome": "Stable, stepped down"},
    )
    assert r.status_code == 200
    assert r.json()["outcome"] == "Stable, stepped down"
    assert w.get("cc", "/caseload").json()["open_episodes"] == 2
    # The worklist offers people not on the register, in the user's locality.
    wl = [p["nhs_number"] for p in w.get("cc", "/worklist").json()]
    assert wl == [MRS_JONES]
    w.client.close()


def test_config_overrides_are_validated_with_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "routing.toml").write_text(
        '[[rules]]\nevent = "admission"\nsubject = "x"\nnotify = ["gpp"]\n'
    )
    with pytest.raises(InputError, match=r"routing.toml: rules.0.notify|routing.toml: rules.0"):
        config.load(tmp_path)
    (tmp_path / "routing.toml").unlink()
    (tmp_path / "assessments").mkdir()
    (tmp_path / "assessments" / "bad.toml").write_text(
        'id = "x"\nversion = 1\ntitle = "X"\nkind = "health"\n[[questions]]\nid = "q"\ntext = "Q"\n'
        'type = "boolean"\n[[triggers]]\nquestion = "nope"\nop = "eq"\nvalue = true\naction = "notify"\n'
        'roles = ["gp"]\ntitle = "t"\n'
    )
    with pytest.raises(InputError, match=r"bad.toml: .*unknown question 'nope'"):
        config.load(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        config.load(tmp_path / "missing")


def test_routing_rules_from_data() -> None:
    routing = config.load().routing
    (adm,) = routing.for_event("admission")
    assert set(adm.notify) == {"gp", "care_coordinator", "social_worker", "home_care_provider"}
    (dis,) = routing.for_event("discharge")
    assert [(t.role, t.due_hours) for t in dis.tasks] == [("care_coordinator", 48)]


def test_referral_transitions() -> None:
    legal = {(a, b) for a, bs in TRANSITIONS.items() for b in bs}
    assert legal == {
        ("received", "triaged"),
        ("received", "accepted"),
        ("received", "declined"),
        ("received", "redirected"),
        ("triaged", "accepted"),
        ("triaged", "declined"),
        ("triaged", "redirected"),
        ("accepted", "scheduled"),
        ("accepted", "completed"),
        ("scheduled", "scheduled"),
        ("scheduled", "attended"),
        ("scheduled", "completed"),
        ("attended", "completed"),
    }
    for a in STATUSES:
        for b in STATUSES:
            if (a, b) in legal:
                check_transition(a, b)
            else:
                with pytest.raises(Conflict):
                    check_transition(a, b)
    with pytest.raises(Invalid):
        check_transition("received", "lost")


def test_referral_lifecycle_and_breach_alerts(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    # The service has a named contact (the rapid response lead) who receives breach alerts.
    r = w.put("admin", "/services/rapid-response", {"contact_user_id": w.ids["rr"]})
    assert r.status_code == 200
    assert r.json()["response_standards"]["urgent"] == 2
    body = {
        "nhs_number": MRS_JONES,
        "service_id": "rapid-response",
        "urgency": "urgent",
        "reason": "Fall",
    }
    late = w.post("cc", "/referrals", body).json()
    prompt = w.post("cc", "/referrals", body).json()
    assert late["status"] == "received"
    assert dt.datetime.fromisoformat(late["respond_by"]) - w.clock.now == dt.timedelta(hours=2)
    # Illegal transitions are refused and change nothing.
    r = w.post("rr", f"/referrals/{late['id']}/status", {"status": "completed"})
    assert r.status_code == 409
    assert "received referral can move to triaged, accepted" in r.json()["detail"]
    w.clock.advance(minutes=30)
    for status in ("triaged", "accepted"):
        r = w.post("rr", f"/referrals/{prompt['id']}/status", {"status": status})
        assert r.status_code == 200, r.text
    r = w.post("rr", f"/referrals/{prompt['id']}/status", {"status": "scheduled"})
    assert r.status_code == 422  # needs a time
    at = (w.clock.now + dt.timedelta(hours=1)).isoformat()
    r = w.post(
        "rr", f"/referrals/{prompt['id']}/status", {"status": "scheduled", "scheduled_for": at}
    )
    assert r.status_code == 200
    r = w.post("rr", f"/referrals/{prompt['id']}/status", {"status": "completed"})
    assert [h["status"] for h in r.json()["history"]] == [
        "received",
        "triaged",
        "accepted",
        "scheduled",
        "completed",
    ]
    # At 1h59 nothing is in breach; at 2h01 the unanswered one is, once.
    check = w.post(
        "cc",
        "/referrals/check-breaches",
        {"at": (w.clock.now + dt.timedelta(minutes=89)).isoformat()},
    )
    assert check.json() == []
    when = (
        dt.datetime.fromisoformat(late["received_at"]) + dt.timedelta(hours=2, minutes=1)
    ).isoformat()
    check = w.post("cc", "/referrals/check-breaches", {"at": when})
    assert [x["id"] for x in check.json()] == [late["id"]]
    assert w.post("cc", "/referrals/check-breaches", {"at": when}).json() == []
    assert len([n for n in w.inbox("rr") if n["kind"] == "referral"]) == 2
    inbox = w.get("rr", "/referrals?status=received").json()
    assert [x["id"] for x in inbox] == [late["id"]]
    assert len(w.get("cc", "/referrals").json()) == 2
    for who in ("cc", "rr"):
        alerts = [n for n in w.inbox(who) if n["kind"] == "referral_breach"]
        assert len(alerts) == 1, who
        assert "Response standard breached" in alerts[0]["subject"]
        assert "standard 2 h" in alerts[0]["subject"]
    for who in ("dr_gp", "sw", "dn", "homecare"):
        assert not [n for n in w.inbox(who) if n["kind"] == "referral_breach"]


def test_service_directory_is_editable_by_admin(world: World) -> None:
    w = world
    svc = {
        "name": "Memory clinic",
        "description": "Assessment and support for memory problems.",
        "eligibility": "Adults with suspected dementia.",
        "referral_route": "GP referral.",
        "localities": ["L1"],
        "response_hours": {"routine": 504},
    }
    r = w.put("admin", "/services/memory-clinic", svc)
    assert r.status_code == 200, r.text
    assert {s["id"] for s in w.get("cc", "/services?locality=L1").json()} >= {
        "memory-clinic",
        "falls-service",
    }
    assert "memory-clinic" not in {s["id"] for s in w.get("cc", "/services?locality=L9").json()}
    r = w.put("admin", "/services/another", {"name": "Half a service"})
    assert r.status_code == 422
    r = w.put("admin", "/services/memory-clinic", {"response_hours": {"urgent": -1}})
    assert r.status_code == 422
    r = w.post(
        "cc",
        "/referrals",
        {
            "nhs_number": MRS_JONES,
            "service_id": "memory-clinic",
            "urgency": "urgent",
            "reason": "x",
        },
    )
    assert r.status_code == 422 and "routine" in r.json()["detail"]


PLAN: dict[str, Any] = {
    "goals": [{"text": "Walk to the shop weekly", "target_date": "2027-03-01"}],
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


def test_care_plan_versions_keep_who_changed_what(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    url = f"/people/{MRS_JONES}/care-plan"
    assert w.get("cc", url).status_code == 404
    assert w.put("cc", url, {"base_version": None, "content": PLAN}).json()["version"] == 1
    second = {
        **PLAN,
        "interventions": [{**PLAN["interventions"][0], "status": "done"}],
        "review_date": "2027-02-01",
    }
    w.clock.advance(days=3)
    r = w.put("dsn", url, {"base_version": 1, "content": second})
    assert r.status_code == 200, r.text
    assert r.json()["changes"] == [
        "interventions[0].status: 'planned' -> 'done'",
        "review_date: '2027-01-15' -> '2027-02-01'",
    ]
    assert r.json()["changed_by"] == w.ids["dsn"]
    # A stale base is refused; so is an unchanged plan; invalid content writes nothing.
    assert w.put("cc", url, {"base_version": 1, "content": PLAN}).status_code == 409
    assert w.put("cc", url, {"base_version": 2, "content": second}).status_code == 409
    bad = {**second, "interventions": [{**second["interventions"][0], "owner_role": "wizard"}]}
    assert w.put("cc", url, {"base_version": 2, "content": bad}).status_code == 422
    versions = w.get("dr_gp", f"{url}/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content"]["interventions"][0]["status"] == "planned"
    assert w.get("dr_gp", f"{url}?version=1").json()["content"] == versions[0]["content"]
    with w.session() as s:
        assert s.execute(select(func.count()).select_from(CarePlanVersion)).scalar_one() == 2
    # Every change notified the rest of the team (not the author).
    assert len([n for n in w.inbox("dr_gp") if n["kind"] == "care_plan"]) == 2
    assert len([n for n in w.inbox("dsn") if n["kind"] == "care_plan"]) == 1


def test_diff_is_readable() -> None:
    assert diff({"a": [1, 2]}, {"a": [1], "b": 3}) == ["a[1]: removed", "b: added"]


def test_assessment_triggers_and_validation(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    url = f"/people/{MRS_JONES}/assessments"
    tpl = {t["id"]: t for t in w.get("dn", "/assessment-templates").json()}
    assert set(tpl) == {"health", "social_care", "carer", "home_environment_falls"}
    r = w.post(
        "dn",
        url,
        {
            "template_id": "home_environment_falls",
            "answers": {"falls_last_year": 3, "home_hazards": "many", "falls_risk": "high"},
        },
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["recorded_by"] == w.ids["dn"] and a["template_version"] == 1
    assert [f["action"] for f in a["triggered"]] == ["referral", "notify"]
    refs = w.get("dn", f"/people/{MRS_JONES}/referrals").json()
    assert [(x["service_id"], x["source"]) for x in refs] == [
        ("falls-service", f"assessment:{a['id']}")
    ]
    # Bad answers: 422 naming the question, and nothing written.
    for answers, msg in [
        ({"falls_last_year": 3, "home_hazards": "many"}, "answers.falls_risk: required"),
        (
            {"falls_last_year": -1, "home_hazards": "many", "falls_risk": "high"},
            "answers.falls_last_year",
        ),
        (
            {"falls_last_year": 1, "home_hazards": "lots", "falls_risk": "high"},
            "answers.home_hazards",
        ),
        ({"falls_last_year": 1, "home_hazards": "none", "falls_risk": "low", "x": 1}, "answers.x"),
    ]:
        r = w.post("dn", url, {"template_id": "home_environment_falls", "answers": answers})
        assert r.status_code == 422 and msg in r.json()["detail"], r.text
    assert w.post("dn", url, {"template_id": "nope", "answers": {}}).status_code == 422
    assert len(w.get("dn", url).json()) == 1
    with w.session() as s:
        assert s.execute(select(func.count()).select_from(Referral)).scalar_one() == 1


def test_telehealth_rules_pure() -> None:
    d = dt.datetime(2026, 11, 10, 8, tzinfo=dt.UTC)
    readings = [(d - dt.timedelta(days=i), v) for i, v in enumerate([15, 5, 14, 13, 3, 20])]
    # Days 0, 2, 3 and 4 are out of range 4-11; the 5-day window ending today holds 4 of them.
    assert out_of_range_days(readings, 4, 11, d.date(), 5) == 4
    assert out_of_range_days(readings, 4, 11, d.date(), 2) == 1
    w = [(d - dt.timedelta(days=3), 80.0), (d - dt.timedelta(days=1), 81.0), (d, 82.5)]
    assert rise_within(w, d, 3) == pytest.approx(2.5)
    assert rise_within(w, d, 1) == pytest.approx(1.5)


def test_heart_failure_weight_gain_and_per_person_thresholds(world: World) -> None:
    w = world
    join_teams(w, (MR_JONES,))
    t0 = w.clock.now

    def weigh(days: float, kg: float) -> list[str]:
        w.clock.now = t0 + dt.timedelta(days=days)
        return list(
            w.event(MR_JONES, "telehealth_reading", w.clock.now, measure="weight", value=kg)[
                "alerts"
            ]
        )

    # Without heart failure recorded the weight rule does not apply.
    assert [weigh(0, 80.0), weigh(1, 81.0), weigh(2, 82.5)] == [[], [], []]
    r = w.put("dr_gp", f"/people/{MR_JONES}/telehealth", {"conditions": ["heart_failure"]})
    assert r.status_code == 204
    assert weigh(2.5, 82.6) == ["hf-weight-gain"]
    assert weigh(2.6, 82.7) == []  # one alert per episode
    told = {
        u
        for u in ("cc", "dr_gp", "dn", "dsn", "sw", "homecare")
        if any(n["kind"] == "telehealth:hf-weight-gain" for n in w.inbox(u))
    }
    assert told == {"cc", "dr_gp", "dn"}
    # A personal glucose range: 9.0 is normal by default, out of range for him.
    r = w.put("dr_gp", f"/people/{MR_JONES}/telehealth", {"thresholds": {"glucose": [4.0, 8.0]}})
    assert r.status_code == 204
    alerts = []
    for day in range(3):
        w.clock.now = t0 + dt.timedelta(days=10 + day)
        alerts.append(
            w.event(MR_JONES, "telehealth_reading", w.clock.now, measure="glucose", value=9.0)[
                "alerts"
            ]
        )
    assert alerts == [[], [], ["glucose-unstable"]]
    r = w.put("dr_gp", f"/people/{MR_JONES}/telehealth", {"thresholds": {"glucose": [9.0, 8.0]}})
    assert r.status_code == 422


def test_events_validation_idempotency_and_death(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    base = {
        "nhs_number": MRS_JONES,
        "type": "admission",
        "occurred_at": w.clock.now.isoformat(),
        "external_id": "PAS-1",
    }
    first = w.post("feed", "/events", base).json()
    again = w.post("feed", "/events", base).json()
    assert again["id"] == first["id"] and again["duplicate"] is True
    assert len([n for n in w.inbox("dr_gp") if n["kind"] == "event:admission"]) == 1
    for bad, msg in [
        ({**base, "type": "party"}, "type"),
        ({**base, "external_id": None, "occurred_at": "2026-11-02T09:00:00"}, "time zone"),
        ({**base, "external_id": None, "occurred_at": "2030-01-01T00:00:00Z"}, "future"),
        (
            {
                **base,
                "external_id": None,
                "type": "telehealth_reading",
                "payload": {"measure": "mood", "value": 1},
            },
            "payload.measure",
        ),
        ({**base, "external_id": None, "nhs_number": "123"}, "nhs_number"),
    ]:
        r = w.post("feed", "/events", bad)
        assert r.status_code == 422 and msg in r.json()["detail"], (bad, r.text)
    assert (
        w.post(
            "feed", "/events", {**base, "external_id": None, "nhs_number": "9999999999"}
        ).status_code
        == 404
    )
    # Death: the team is told, open episodes close with outcome "died".
    r = w.post(
        "cc",
        "/register",
        {"nhs_number": MRS_JONES, "reason": "Level 4", "lead_professional_id": w.ids["cc"]},
    )
    assert r.status_code == 201
    w.event(MRS_JONES, "death", w.clock.now)
    ep = w.get("cc", f"/people/{MRS_JONES}/episodes").json()[0]
    assert ep["outcome"] == "died" and ep["end_date"] == w.clock.now.date().isoformat()
    assert any(n["kind"] == "event:death" for n in w.inbox("support"))
    assert (
        w.get("cc", f"/people/{MRS_JONES}").json()["date_of_death"]
        == w.clock.now.date().isoformat()
    )


def test_mdt_decisions_become_tasks(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES, MR_JONES))
    held = w.clock.now.isoformat()
    r = w.post(
        "cc",
        "/mdt",
        {
            "title": "North locality MDT",
            "held_at": held,
            "agenda": [MRS_JONES, MR_JONES],
            "attendees": [w.ids["dr_gp"], w.ids["sw"]],
        },
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert set(m["attendees"]) == {w.ids["cc"], w.ids["dr_gp"], w.ids["sw"]}
    r = w.post(
        "dr_gp",
        f"/mdt/{m['id']}/decisions",
        {
            "nhs_number": MR_JONES,
            "decision": "Respite care while Mrs Jones recovers",
            "actions": [
                {
                    "title": "Arrange respite placement",
                    "owner_user_id": w.ids["sw"],
                    "due_date": "2026-11-06",
                },
                {
                    "title": "Memory review",
                    "owner_user_id": w.ids["dr_gp"],
                    "due_date": "2026-11-20",
                },
            ],
        },
    )
    assert r.status_code == 201, r.text
    tasks = r.json()
    assert [(t["owner_user_id"], t["due_at"][:10]) for t in tasks] == [
        (w.ids["sw"], "2026-11-06"),
        (w.ids["dr_gp"], "2026-11-20"),
    ]
    sw_tasks = w.get("sw", "/tasks").json()
    assert [t["title"] for t in sw_tasks] == ["Arrange respite placement"]
    r = w.client.patch(f"/tasks/{sw_tasks[0]['id']}", headers=w.h("sw"), json={"status": "done"})
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert w.get("sw", "/tasks?status=open").json() == []
    decisions = w.get("sw", f"/mdt/{m['id']}").json()["decisions"]
    assert decisions[0]["task_ids"] == [t["id"] for t in tasks]
    # Not an attendee, not on the agenda, or no relationship: refused.
    assert w.get("dn", f"/mdt/{m['id']}").status_code == 403
    r = w.post("dr_gp", f"/mdt/{m['id']}/decisions", {"nhs_number": ELSEWHERE, "decision": "x"})
    assert r.status_code == 422
    r = w.post("cc", "/mdt", {"title": "x", "held_at": held, "agenda": [ELSEWHERE]})
    assert r.status_code == 403


def test_a_request_that_fails_half_way_writes_nothing(world: World) -> None:
    """The falls trigger's referral fails after the assessment row was written: the whole
    request rolls back, audit entries included."""
    w = world
    join_teams(w, (MRS_JONES,))
    assert w.put("admin", "/services/falls-service", {"active": False}).status_code == 200
    before = w.get("admin", "/audit/verify").json()["count"]
    answers = {"falls_last_year": 1, "home_hazards": "many", "falls_risk": "high"}
    r = w.post(
        "dn",
        f"/people/{MRS_JONES}/assessments",
        {"template_id": "home_environment_falls", "answers": answers},
    )
    assert r.status_code == 404 and "falls-service" in r.json()["detail"]
    assert w.get("dn", f"/people/{MRS_JONES}/assessments").json() == []
    with w.session() as s:
        assert s.execute(select(func.count()).select_from(Referral)).scalar_one() == 0
    # The failed request left no audit entry: only the list read above was added.
    after = w.get("admin", "/audit/verify").json()
    assert after["intact"] and after["count"] == before + 1


def test_audit_head_over_the_api_is_an_anchor_verify_accepts(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    assert w.get("dn", f"/people/{MRS_JONES}/assessments").status_code == 200  # audited read
    v = w.get("admin", "/audit/verify").json()
    tip = w.get("admin", "/audit/head").json()
    assert v["intact"] and tip["seq"] == v["count"] > 0 and len(tip["hash"]) == 64
    assert w.get("cc", "/audit/head").status_code == 403
    with w.session() as s:
        anchor = audit.Anchor(tip["seq"], tip["hash"], tip["at"])
        assert audit.verify(s, [anchor]).intact
        forged = audit.Anchor(tip["seq"], "f" * 64, tip["at"])
        assert "no longer has its anchored hash" in str(audit.verify(s, [forged]).problem)
