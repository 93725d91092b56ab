"""The two Mr & Mrs Jones scenarios (product brief, seed 000), end to end through the API.

Each notification must reach each role the rules name, and no one else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from care_world import MR_JONES, MRS_JONES, STAFF, World, join_teams
from sqlalchemy import select

from careweave.store.models import Notification, User

EVERYONE = [u for u in STAFF if u != "feed"]


def recipients(w: World, predicate: Any) -> set[str]:
    """Who (by username, any user in the store) has a notification matching ``predicate``.

    Read from the store so users who cannot open an inbox (analyst, administrator) count too.
    """
    with w.session() as s:
        rows = s.execute(
            select(Notification, User.username).join(
                User, User.id == Notification.recipient_user_id
            )
        ).all()
        return {
            name
            for n, name in rows
            if predicate({"nhs_number": n.nhs_number, "kind": n.kind, "subject": n.subject})
        }


def about(nhs: str, kind: str) -> Any:
    return lambda n: n["nhs_number"] == nhs and n["kind"] == kind


def test_today_scenario_everyone_who_should_know_is_told(world: World) -> None:
    w = world
    join_teams(w)
    fall_day = w.clock.advance(days=1)
    # The daughter calls 999; both are admitted.
    for nhs in (MRS_JONES, MR_JONES):
        w.event(nhs, "admission", fall_day, site="RXX01", method="emergency")
    told = {"dr_gp", "cc", "sw", "homecare"}
    for nhs in (MRS_JONES, MR_JONES):
        assert recipients(w, about(nhs, "event:admission")) == told
    # Home care knows: no visit to an empty house.
    subjects = [n["subject"] for n in w.inbox("homecare")]
    assert subjects.count("Admitted to hospital") == 2

    # Discharge ten days later: the same people are told, and the care co-ordinator gets
    # a follow-up task due within 48 hours of discharge.
    discharge = w.clock.advance(days=10)
    out = w.event(MRS_JONES, "discharge", discharge)
    assert set(out["notified_user_ids"]) == {w.ids[u] for u in told}
    assert recipients(w, about(MRS_JONES, "event:discharge")) == told
    tasks = w.get("cc", "/tasks").json()
    follow = [t for t in tasks if t["source"] == "event:discharge"]
    assert len(follow) == 1
    due = dt.datetime.fromisoformat(follow[0]["due_at"])
    assert due - discharge == dt.timedelta(hours=48)
    assert follow[0]["nhs_number"] == MRS_JONES
    # The package is reviewed before she goes home: social work, home care and the care
    # co-ordinator hear of the change.
    w.event(MRS_JONES, "social_care_package_change", discharge, change="double-up calls x4")
    assert recipients(w, about(MRS_JONES, "event:social_care_package_change")) == {
        "sw",
        "homecare",
        "cc",
    }
    for other in EVERYONE:
        r = w.get(other, "/tasks")
        if other != "cc" and r.status_code == 200:
            assert not [t for t in r.json() if t["source"] == "event:discharge"]


def test_integrated_scenario_no_admission(world: World) -> None:
    w = world
    join_teams(w)

    # 1. A carer's assessment (Mrs Jones cares for her husband) leads to telecare.
    r = w.post(
        "sw",
        f"/people/{MRS_JONES}/assessments",
        {
            "template_id": "carer",
            "answers": {
                "caring_hours_per_week": 70,
                "carer_strain": "moderate",
                "telecare_wanted": True,
            },
        },
    )
    assert r.status_code == 201, r.text
    fired = r.json()["triggered"]
    assert [f["service"] for f in fired if f["action"] == "referral"] == ["telecare"]

    # 2. Telehealth: blood glucose out of range on 3 of the last 5 days -> one alert to the
    #    care co-ordinator, the specialist nurse and the GP only.
    alerts: list[list[str]] = []
    start = w.clock.now.replace(hour=8)
    for day, value in enumerate([6.5, 14.2, 15.1, 7.0, 16.3, 17.0]):
        w.clock.now = start + dt.timedelta(days=day)
        out = w.event(MRS_JONES, "telehealth_reading", w.clock.now, measure="glucose", value=value)
        alerts.append(out["alerts"])
    assert alerts == [[], [], [], [], ["glucose-unstable"], []]
    assert recipients(w, about(MRS_JONES, "telehealth:glucose-unstable")) == {"cc", "dsn", "dr_gp"}

    # 3. The care co-ordinator books a specialist diabetic nurse visit.
    r = w.post(
        "cc",
        "/referrals",
        {
            "nhs_number": MRS_JONES,
            "service_id": "diabetes-specialist-nursing",
            "urgency": "urgent",
            "reason": "Glucose unstable on telehealth for several days",
        },
    )
    assert r.status_code == 201, r.text

    # 4. She trips; the pendant alerts the control centre: rapid response goes at once, her
    #    support worker and community nursing are told, and her GP.
    trip = w.clock.advance(hours=1)
    out = w.event(MRS_JONES, "fall_alarm", trip, device="pendant")
    expected = {"control", "rr", "support", "dn", "dr_gp", "cc"}
    assert recipients(w, about(MRS_JONES, "event:fall_alarm")) == expected
    rr_tasks = [t for t in w.get("rr", "/tasks").json() if t["source"] == "event:fall_alarm"]
    assert len(rr_tasks) == 1
    assert dt.datetime.fromisoformat(rr_tasks[0]["due_at"]) - trip == dt.timedelta(hours=2)

    # 5. The nurse refers directly for a local X-ray.
    r = w.post(
        "dn",
        "/referrals",
        {
            "nhs_number": MRS_JONES,
            "service_id": "community-xray",
            "urgency": "urgent",
            "reason": "Painful wrist after a fall at home",
        },
    )
    assert r.status_code == 201, r.text

    # 6. The care plan is adjusted and every agency in the team is informed.
    plan: dict[str, Any] = {
        "goals": [{"text": "Stay safely at home with Mr Jones"}],
        "interventions": [
            {
                "description": "Telecare pendant and falls sensor",
                "owner_organisation": "TC1",
                "owner_role": "telecare_control_centre",
                "due_date": "2026-11-20",
            }
        ],
        "crisis_contacts": [
            {"name": "Daughter", "relationship": "daughter", "phone": "07700900123"}
        ],
        "crisis_plan": "Pendant alarm to control centre; rapid response attends within 2 hours.",
        "step_status": "stable",
        "review_date": "2026-12-15",
    }
    r = w.put("cc", f"/people/{MRS_JONES}/care-plan", {"base_version": None, "content": plan})
    assert r.status_code == 200, r.text
    plan["step_status"] = "step_up"
    plan["interventions"].append(
        {
            "description": "Falls service assessment and strength and balance",
            "owner_organisation": "CP1",
            "owner_role": "district_nurse",
            "due_date": "2026-11-30",
        }
    )
    r = w.put("cc", f"/people/{MRS_JONES}/care-plan", {"base_version": 1, "content": plan})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    team = {u for u, (_, _, _, role) in STAFF.items() if role is not None}
    plan_told = recipients(w, lambda n: n["kind"] == "care_plan" and n["nhs_number"] == MRS_JONES)
    assert plan_told == team - {"cc"}
    for u in team - {"cc"}:
        assert len([n for n in w.inbox(u) if n["kind"] == "care_plan"]) == 2

    # 7. No admission, and the data shows it happened: referrals, alerts, plan versions.
    assert recipients(w, lambda n: n["kind"] == "event:admission") == set()
    refs = w.get("cc", f"/people/{MRS_JONES}/referrals").json()
    assert [x["service_id"] for x in refs] == [
        "telecare",
        "diabetes-specialist-nursing",
        "community-xray",
    ]
    assert len(w.get("dr_gp", f"/people/{MRS_JONES}/care-plan/versions").json()) == 2
    # Mr Jones's team heard nothing about Mrs Jones's events beyond their own membership.
    assert w.inbox("outsider") == []


def test_ae_attendance_tells_gp_and_care_coordinator_only(world: World) -> None:
    w = world
    join_teams(w, (MR_JONES,))
    w.event(MR_JONES, "ae_attendance", w.clock.now, disposal="discharged")
    assert recipients(w, about(MR_JONES, "event:ae_attendance")) == {"dr_gp", "cc"}
    assert recipients(w, about(MRS_JONES, "event:ae_attendance")) == set()
