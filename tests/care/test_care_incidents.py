"""The alarm pathway: a fall alarm opens an incident in the control centre's queue; the
state machine, who may move it, the 2-hour standard and everyone told each step."""

from __future__ import annotations

from typing import Any

from care_world import MRS_JONES, World
from sqlalchemy import select

from careweave.care.incidents import incident_text
from careweave.store.models import AuditEntry, Incident, Notification, User


def staff(w: World, service: str, *users: str) -> None:
    for u in users:
        r = w.put("admin", f"/services/{service}/members/{w.ids[u]}")
        assert r.status_code == 204, r.text


def setup(w: World) -> dict[str, Any]:
    for u, role in (("dr_gp", "gp"), ("cc", "care_coordinator"), ("support", "support_worker")):
        r = w.post("cc", f"/people/{MRS_JONES}/care-team", {"user_id": w.ids[u], "team_role": role})
        assert r.status_code == 201, r.text
    staff(w, "telecare", "control")
    staff(w, "rapid-response", "rr")
    staff(w, "district-nursing", "dn")
    out = w.event(MRS_JONES, "fall_alarm", w.clock.now, device="pendant")
    assert out["incident_id"] is not None
    r = w.get("control", f"/incidents/{out['incident_id']}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def move(w: World, who: str, inc: dict[str, Any], status: str, **body: Any) -> Any:
    return w.post(
        who, f"/incidents/{inc['id']}/status", {"status": status, "version": inc["version"], **body}
    )


def told(w: World) -> dict[str, list[str]]:
    with w.session() as s:
        out: dict[str, list[str]] = {}
        for n, name in s.execute(
            select(Notification, User.username)
            .join(User, User.id == Notification.recipient_user_id)
            .where(Notification.kind == "incident")
            .order_by(Notification.id)
        ).tuples():
            out.setdefault(name, []).append(n.subject)
        return out


def test_alarm_opens_incident_in_control_centre_queue(sqlite_world: World) -> None:
    w = sqlite_world
    inc = setup(w)
    assert inc["status"] == "open"
    assert inc["service_id"] == "telecare"
    assert inc["reference"] == f"A{inc['id']:06d}"
    assert inc["breached"] is False
    queue = w.get("control", "/incidents").json()
    assert [i["id"] for i in queue] == [inc["id"]]
    assert w.get("outsider", "/incidents").json() == []
    assert w.get("outsider", f"/incidents/{inc['id']}").status_code == 403


def test_pathway_tells_every_agency_each_step_within_standard(sqlite_world: World) -> None:
    w = sqlite_world
    inc = setup(w)
    r = move(w, "control", inc, "dispatched", responder_user_id=w.ids["rr"])
    assert r.status_code == 200, r.text
    inc = r.json()
    assert inc["responder_service_id"] == "rapid-response"
    w.clock.advance(minutes=95)
    r = move(w, "rr", inc, "arrived")
    assert r.status_code == 200, r.text
    inc = r.json()
    assert inc["minutes_to_arrival"] == 95
    assert inc["breached"] is False
    r = move(w, "rr", inc, "closed", outcome="treated_at_home")
    assert r.status_code == 200, r.text
    inc = r.json()
    assert (inc["status"], inc["outcome"]) == ("closed", "treated_at_home")
    got = told(w)
    # Everyone the fall-alarm rule reaches is told each step, except the one acting.
    agencies = {"control", "rr", "dn", "support", "dr_gp", "cc"}
    assert set(got) == agencies
    for who in agencies - {"control"}:
        assert any("CONTROL dispatched" in s and "arrive by" in s for s in got[who]), who
    for who in agencies - {"rr"}:
        assert len(got[who]) == 3 - (who == "control"), (who, got[who])
    assert any("1 h 35 min after the alarm: within the 2-hour standard" in s for s in got["cc"])
    assert any("treated at home" in s for s in got["dr_gp"])
    assert set(inc["history"][-1]["told"]) >= {"CC", "DR_GP", "SUPPORT", "DN", "CONTROL"}
    with w.session() as s:
        row = s.get(Incident, inc["id"])
        assert row is not None
        assert incident_text(row) == (
            f"Fall alarm {inc['reference']}: closed, treated at home; "
            "arrived 1 h 35 min after the alarm"
        )
    mine = w.get("dr_gp", f"/people/{MRS_JONES}/incidents").json()
    assert [i["outcome"] for i in mine] == ["treated_at_home"]
    with w.session() as s:
        steps = s.execute(
            select(AuditEntry.detail).where(AuditEntry.resource == "incident")
        ).scalars()
        assert {"status dispatched", "status arrived", "status closed"} <= set(steps)


def test_late_arrival_breaches_the_standard(sqlite_world: World) -> None:
    w = sqlite_world
    inc = setup(w)
    inc = move(w, "control", inc, "dispatched").json()
    w.clock.advance(hours=2, minutes=10)
    inc = move(w, "rr", inc, "arrived").json()
    assert inc["breached"] is True
    assert inc["minutes_to_arrival"] == 130
    assert any("outside the 2-hour standard" in s for s in told(w)["cc"])


def test_illegal_and_stale_moves_are_409(sqlite_world: World) -> None:
    w = sqlite_world
    inc = setup(w)
    assert move(w, "control", inc, "arrived").status_code == 409
    assert move(w, "control", inc, "closed", outcome="admitted").status_code == 409
    moved = move(w, "control", inc, "dispatched").json()
    stale = move(w, "rr", inc, "arrived")  # made against version 1
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["detail"]
    arrived = move(w, "rr", moved, "arrived").json()
    no_outcome = move(w, "rr", arrived, "closed")
    assert no_outcome.status_code == 422
    closed = move(w, "rr", arrived, "closed", outcome="admitted").json()
    assert move(w, "rr", closed, "open").status_code == 409


def test_only_control_centre_and_rapid_response_staff_move_it(sqlite_world: World) -> None:
    w = sqlite_world
    inc = setup(w)
    # The GP and co-ordinator see it (their patient) but may not move it on.
    assert w.get("cc", f"/incidents/{inc['id']}").status_code == 200
    for who in ("dr_gp", "cc", "dn", "outsider"):
        assert move(w, who, inc, "dispatched").status_code == 403, who
    assert move(w, "analyst", inc, "dispatched").status_code == 403
    r = move(w, "control", inc, "dispatched", responder_user_id=w.ids["dn"])
    assert r.status_code == 422, "the responder must be on the responder service's staff"


def test_commissioners_count_incidents_by_month_and_outcome(sqlite_world: World) -> None:
    w = sqlite_world
    inc = setup(w)
    inc = move(w, "control", inc, "dispatched").json()
    w.clock.advance(minutes=150)
    inc = move(w, "rr", inc, "arrived").json()
    move(w, "rr", inc, "closed", outcome="conveyed_to_hospital")
    w.event(MRS_JONES, "fall_alarm", w.clock.now)  # a second, still open
    assert w.get("control", "/analytics/incidents").status_code == 403
    r = w.get("analyst", "/analytics/incidents")
    assert r.status_code == 200, r.text
    rows = {x["outcome"]: x for x in r.json()}
    assert rows["conveyed_to_hospital"] == {
        "month": "2026-11",
        "outcome": "conveyed_to_hospital",
        "incidents": 1,
        "arrived_within_standard": 0,
        "breached": 1,
        "median_minutes_to_arrival": 150,
    }
    assert rows["open"]["incidents"] == 1 and rows["open"]["median_minutes_to_arrival"] is None
    assert MRS_JONES not in r.text
