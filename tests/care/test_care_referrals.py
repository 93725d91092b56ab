"""Service inboxes and the referral lifecycle; routing to teams, services and leads.

Every transition through the API, who may make it, 409 on a stale change, and
tasks that always have an owner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from care_world import MR_JONES, MRS_JONES, World, join_teams
from sqlalchemy import select

from careweave.care.notify import UnownedTask
from careweave.care.referrals import TRANSITIONS
from careweave.store.models import Notification, Task, User

DSN = "diabetes-specialist-nursing"


def staff(w: World, service: str, *users: str) -> None:
    for u in users:
        r = w.put("admin", f"/services/{service}/members/{w.ids[u]}")
        assert r.status_code == 204, r.text


def refer(w: World, service: str = DSN, urgency: str = "urgent", who: str = "cc") -> Any:
    r = w.post(
        who,
        "/referrals",
        {"nhs_number": MRS_JONES, "service_id": service, "urgency": urgency, "reason": "Glucose"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def move(w: World, who: str, ref: Any, status: str, **body: Any) -> Any:
    return w.post(
        who,
        f"/referrals/{ref['id']}/status",
        {"status": status, "version": ref["version"], **body},
    )


def told(w: World, referral_id: int) -> dict[str, list[str]]:
    """username -> subjects of referral notifications about ``referral_id``."""
    with w.session() as s:
        out: dict[str, list[str]] = {}
        for n, name in s.execute(
            select(Notification, User.username)
            .join(User, User.id == Notification.recipient_user_id)
            .where(Notification.referral_id == referral_id, Notification.kind == "referral")
            .order_by(Notification.id)
        ).tuples():
            out.setdefault(name, []).append(n.subject)
        return out


BODIES: dict[str, dict[str, Any]] = {
    "declined": {"decline_reason": "no_capacity"},
    "redirected": {"redirect_to": "district-nursing"},
    "scheduled": {"scheduled_for": "2026-11-03T14:00:00+00:00", "booked_with": "Rhys Owen"},
}


def path_to(status: str) -> list[str]:
    """The shortest legal path from received to ``status``."""
    paths = {"received": ["received"]}
    frontier = ["received"]
    while frontier:
        nxt = []
        for a in frontier:
            for b in TRANSITIONS[a]:
                if b not in paths:
                    paths[b] = [*paths[a], b]
                    nxt.append(b)
        frontier = nxt
    return paths[status]


def test_every_transition_through_the_api(sqlite_world: World) -> None:
    """Each legal (from, to) pair succeeds from a referral brought to ``from``; every illegal
    one is 409 and changes nothing."""
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    staff(w, DSN, "dsn")
    for a, targets in TRANSITIONS.items():
        for b in TRANSITIONS:
            ref = refer(w)
            for step in path_to(a)[1:]:
                r = move(w, "dsn", ref, step, **BODIES.get(step, {}))
                assert r.status_code == 200, (step, r.text)
                ref = r.json()
            r = move(w, "dsn", ref, b, **BODIES.get(b, {}))
            if b in targets:
                assert r.status_code == 200, (a, b, r.text)
                got = r.json()
                assert got["status"] == b and got["version"] == ref["version"] + 1
                assert got["history"][-1]["status"] == b
            else:
                assert r.status_code == 409, (a, b, r.text)
                again = w.get("dsn", f"/referrals/{ref['id']}").json()
                assert again == ref


def test_who_may_move_a_referral_and_stale_changes(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    staff(w, DSN, "dsn")
    ref = refer(w)
    assert ref["reference"] == f"R{ref['id']:06d}"
    # The referrer, other team members and strangers cannot act for the service.
    for who in ("cc", "dr_gp", "sw"):
        r = move(w, who, ref, "accepted")
        assert r.status_code == 403, who
        assert "only the staff of Specialist diabetes nursing" in r.json()["detail"]
    assert move(w, "outsider", ref, "accepted").status_code == 403
    # A member of another service's staff is not staff here either.
    staff(w, "rapid-response", "rr")
    assert move(w, "rr", ref, "accepted").status_code == 403
    # Staff can; a second change made against the version they both opened is refused.
    ok = move(w, "dsn", ref, "accepted")
    assert ok.status_code == 200
    staff(w, DSN, "cm")
    stale = move(w, "cm", ref, "scheduled", **BODIES["scheduled"])
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["detail"]
    assert w.get("cm", f"/referrals/{ref['id']}").json()["status"] == "accepted"
    # A member who leaves the service loses the right at once.
    assert (
        w.client.delete(f"/services/{DSN}/members/{w.ids['cm']}", headers=w.h("admin")).status_code
        == 204
    )
    assert move(w, "cm", ok.json(), "scheduled", **BODIES["scheduled"]).status_code == 403
    # Membership is for administrators.
    assert w.put("cc", f"/services/{DSN}/members/{w.ids['cc']}").status_code == 403
    names = {m["username"] for m in w.get("cc", f"/services/{DSN}/members").json()}
    assert names == {"dsn"}


def test_lifecycle_tells_referrer_team_and_staff_in_plain_english(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    staff(w, DSN, "dsn", "cm")
    ref = refer(w)
    # The whole service's staff sees the new referral in its duty inbox, with its clock.
    for who in ("dsn", "cm"):
        inbox = w.get(who, "/referrals?status=received").json()
        assert [x["id"] for x in inbox] == [ref["id"]]
    first = told(w, ref["id"])
    assert "cc" not in first  # the referrer made it
    assert {"dsn", "cm", "dr_gp", "sw", "homecare"} <= set(first)
    assert first["cm"][0].startswith("CC referred NHS 943 476 5919 to Specialist diabetes nursing")
    # cm is not in Mrs Jones's team: service staff may read the referral while it is open.
    assert w.get("cm", f"/people/{MRS_JONES}/referrals").status_code == 200
    r = move(w, "dsn", ref, "scheduled", **BODIES["scheduled"])
    assert r.status_code == 409  # must accept first
    ref = move(w, "dsn", ref, "accepted").json()
    ref = move(w, "dsn", ref, "scheduled", **BODIES["scheduled"]).json()
    assert ref["booked_with"] == "Rhys Owen"
    assert ref["scheduled_for"].startswith("2026-11-03T14:00")
    ref = move(w, "dsn", ref, "attended").json()
    ref = move(w, "dsn", ref, "completed", note="Insulin adjusted").json()
    after = told(w, ref["id"])
    assert len(after["cc"]) == 4  # the referrer hears each step
    assert after["cc"][0] == (
        "DSN accepted the referral of NHS 943 476 5919 to Specialist diabetes nursing "
        f"({ref['reference']})."
    )
    booked = "booked NHS 943 476 5919's visit from Specialist diabetes nursing for 3 Nov 2026 "
    assert booked + "14:00 with Rhys Owen" in after["cc"][1]
    assert after["cc"][3].endswith("Note: Insulin adjusted")
    assert len(after["dsn"]) == 1  # told of the new referral, never of their own actions
    history = ref["history"]
    assert [h["status"] for h in history] == [
        "received",
        "accepted",
        "scheduled",
        "attended",
        "completed",
    ]
    assert "CC" in history[1]["told"] and "DR_GP" in history[1]["told"]
    assert history[1]["by_name"] == "DSN"
    # Closed: the staff who are not in her team still see the referral, not her record.
    assert w.get("cm", f"/referrals/{ref['id']}").status_code == 200
    assert w.get("cm", f"/people/{MRS_JONES}/referrals").status_code == 403


def test_decline_needs_a_reason_that_feeds_unmet_need(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    staff(w, DSN, "dsn")
    ref = refer(w)
    r = move(w, "dsn", ref, "declined")
    assert r.status_code == 422
    assert "decline_reason" in r.json()["detail"]
    r = move(w, "dsn", ref, "declined", decline_reason="no_capacity")
    assert r.status_code == 200
    assert r.json()["decline_reason"] == "no_capacity"
    assert "declined the referral" in told(w, ref["id"])["cc"][-1]
    assert "no capacity in the service" in told(w, ref["id"])["cc"][-1]
    need = w.get("analyst", "/analytics/unmet-need").json()
    assert need["threshold"] == 8
    (row,) = [r for r in need["rows"] if r["kind"] == "declined"]
    assert (row["service_id"], row["decline_reason"]) == (DSN, "no_capacity")
    # one decline: a count of 1-7 is suppressed for analysts, never shown as 1
    assert row["count"] is None
    assert {"service_id", "locality", "need_level"} <= row.keys()
    assert {s["service_id"]: s["at_capacity"] for s in need["services"]}[DSN] is True
    assert w.get("analyst", "/analytics/unmet-need?months=0").status_code == 422
    assert w.get("cc", "/analytics/unmet-need").status_code == 403


def test_decline_keeps_what_the_person_needed(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    staff(w, DSN, "dsn")
    ref = refer(w)
    r = move(w, "dsn", ref, "declined", decline_reason="no_capacity", unmet_need_note="x" * 1001)
    assert r.status_code == 422
    assert "unmet_need_note" in r.json()["detail"]
    r = move(
        w,
        "dsn",
        ref,
        "declined",
        decline_reason="no_capacity",
        unmet_need_note="  Evening insulin visits  ",
    )
    assert r.status_code == 200, r.text
    assert r.json()["unmet_need_note"] == "Evening insulin visits"
    assert r.json()["history"][-1]["unmet_need"] == "Evening insulin visits"
    assert "(needed: Evening insulin visits)" in told(w, ref["id"])["cc"][-1]


def test_redirect_opens_a_referral_at_the_other_service(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    staff(w, DSN, "dsn")
    staff(w, "district-nursing", "dn")
    ref = refer(w)
    w.clock.advance(hours=1)
    assert move(w, "dsn", ref, "redirected").status_code == 422
    assert move(w, "dsn", ref, "redirected", redirect_to=DSN).status_code == 422
    r = move(w, "dsn", ref, "redirected", redirect_to="district-nursing", note="Needs a DN")
    assert r.status_code == 200, r.text
    old = r.json()
    new = w.get("dn", f"/referrals/{old['redirected_to_id']}").json()
    assert new["service_id"] == "district-nursing" and new["status"] == "received"
    assert new["referrer_id"] == w.ids["cc"] and new["urgency"] == "urgent"
    assert new["source"] == f"redirect:{old['reference']}"
    received = dt.datetime.fromisoformat(new["received_at"])
    assert dt.datetime.fromisoformat(new["respond_by"]) - received == dt.timedelta(hours=4)
    assert "Needs a DN" in new["reason"]
    assert [x["id"] for x in w.get("dn", "/referrals?status=received").json()] == [new["id"]]


def test_no_task_is_ever_unowned(sqlite_world: World) -> None:
    """A fall alarm for someone with no team at all: the visit goes to rapid response's
    duty queue; a discharge task with no co-ordinator and no lead goes to the single point
    of access; and the store refuses a task with no owner whoever writes it."""
    w = sqlite_world
    staff(w, "rapid-response", "rr")
    staff(w, "single-point-of-access", "cm")
    out = w.event(MR_JONES, "fall_alarm", w.clock.now, device="pendant")
    out2 = w.event(MR_JONES, "discharge", w.clock.now)
    with w.session() as s:
        tasks = {t.id: t for t in s.execute(select(Task)).scalars()}
    (visit,) = out["task_ids"]
    (follow,) = out2["task_ids"]
    assert tasks[visit].owner_service_id == "rapid-response" and tasks[visit].owner_user_id is None
    assert tasks[follow].owner_service_id == "single-point-of-access"
    assert all(t.owner_user_id or t.owner_service_id for t in tasks.values())
    # The queue's staff see the task and may open the person's record for it.
    assert [t["id"] for t in w.get("rr", "/tasks").json()] == [visit]
    assert w.get("rr", f"/people/{MR_JONES}").status_code == 200
    # Taking it makes it theirs.
    r = w.client.patch(f"/tasks/{visit}", headers=w.h("rr"), json={"status": "in_progress"})
    assert r.status_code == 200 and r.json()["owner_user_id"] == w.ids["rr"]
    # With a lead professional the follow-up goes to the lead rather than the hub.
    r = w.post(
        "cc",
        "/register",
        {"nhs_number": MRS_JONES, "reason": "Level 4", "lead_professional_id": w.ids["cm"]},
    )
    assert r.status_code == 201, r.text
    out3 = w.event(MRS_JONES, "discharge", w.clock.now)
    with w.session() as s:
        t = s.get(Task, out3["task_ids"][0])
        assert t is not None and t.owner_user_id == w.ids["cm"]
        s.add(
            Task(
                nhs_number=MRS_JONES,
                title="nobody's",
                due_at=w.clock.now,
                status="open",
                source="test",
                created_at=w.clock.now,
            )
        )
        with pytest.raises(UnownedTask):
            s.flush()


def test_fall_alarm_reaches_every_responder(sqlite_world: World) -> None:
    """Control centre and rapid response by their duty queues, support worker, district
    nursing, GP and the co-ordinator by team role, and the lead professional."""
    w = sqlite_world
    for u in ("dr_gp", "cc", "support", "homecare"):
        team_role = {
            "dr_gp": "gp",
            "cc": "care_coordinator",
            "support": "support_worker",
            "homecare": "home_care_provider",
        }[u]
        r = w.post(
            "cc", f"/people/{MRS_JONES}/care-team", {"user_id": w.ids[u], "team_role": team_role}
        )
        assert r.status_code == 201
    staff(w, "telecare", "control")
    staff(w, "rapid-response", "rr")
    staff(w, "district-nursing", "dn")
    w.post(
        "cc",
        "/register",
        {"nhs_number": MRS_JONES, "reason": "x", "lead_professional_id": w.ids["cm"]},
    )
    w.event(MRS_JONES, "fall_alarm", w.clock.now, device="pendant")
    with w.session() as s:
        got = {
            name: (n.team_role, n.service_id)
            for n, name in s.execute(
                select(Notification, User.username)
                .join(User, User.id == Notification.recipient_user_id)
                .where(Notification.kind == "event:fall_alarm")
            ).tuples()
        }
    assert got == {
        "control": (None, "telecare"),
        "rr": (None, "rapid-response"),
        "dn": (None, "district-nursing"),
        "support": ("support_worker", None),
        "dr_gp": ("gp", None),
        "cc": ("care_coordinator", None),
        "cm": ("lead_professional", None),
    }
