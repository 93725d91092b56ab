"""Lists show what the user may see and leave out the rest; they never fail whole.

Each list endpoint gets one row about a person the user has lost the relationship
with (a care-team membership ended, a referral declined, an objection to sharing),
and must answer 200 with the other rows, audited as one entry naming the people shown.
Giving work about a person to a user with no relationship is refused in words.
"""

from __future__ import annotations

from typing import Any

import pytest
from care_world import ELSEWHERE, MR_JONES, MRS_JONES, World, join_teams
from sqlalchemy import select

from careweave.store.models import AuditEntry, CareTeamMember
from careweave.web import install


@pytest.fixture
def sqlite_world(sqlite_world: World) -> World:
    """The care world with the workbench's pages on its app (home, MDT pages)."""
    install(sqlite_world.client.app)
    return sqlite_world


def end_membership(w: World, nhs: str, username: str) -> None:
    with w.session() as s:
        member_id = s.execute(
            select(CareTeamMember.id).where(
                CareTeamMember.nhs_number == nhs,
                CareTeamMember.user_id == w.ids[username],
                CareTeamMember.ended_at.is_(None),
            )
        ).scalar_one()
    r = w.client.delete(f"/people/{nhs}/care-team/{member_id}", headers=w.h("cc"))
    assert r.status_code == 204, r.text


def list_entries(w: World, username: str, resource: str) -> list[AuditEntry]:
    with w.session() as s:
        return list(
            s.execute(
                select(AuditEntry)
                .where(
                    AuditEntry.actor == username,
                    AuditEntry.resource == resource,
                    AuditEntry.detail.like("%nhs_numbers=%"),
                )
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def meeting_with_actions(w: World, owner: str) -> dict[str, Any]:
    """An MDT about both Joneses with one action each for ``owner``."""
    r = w.post(
        "cc",
        "/mdt",
        {
            "title": "North MDT",
            "held_at": w.clock.now.isoformat(),
            "agenda": [MRS_JONES, MR_JONES],
            "attendees": [w.ids[owner]],
        },
    )
    assert r.status_code == 201, r.text
    m: dict[str, Any] = r.json()
    for nhs in (MRS_JONES, MR_JONES):
        body = {
            "nhs_number": nhs,
            "decision": f"Review {nhs}",
            "actions": [
                {"title": f"Visit {nhs}", "owner_user_id": w.ids[owner], "due_date": "2026-12-01"}
            ],
        }
        r = w.post("cc", f"/mdt/{m['id']}/decisions", body)
        assert r.status_code == 201, r.text
    return m


def test_tasks_home_and_mdt_leave_out_a_person_no_longer_seen(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES, MR_JONES))
    m = meeting_with_actions(w, "dn")  # dn: community nurse, no practice or locality access
    assert len(w.get("dn", "/tasks").json()) == 2
    end_membership(w, MR_JONES, "dn")

    r = w.get("dn", "/tasks")
    assert r.status_code == 200, r.text
    assert [t["nhs_number"] for t in r.json()] == [MRS_JONES]
    entry = list_entries(w, "dn", "task")[-1]
    assert entry.detail.endswith(f"hidden=1; nhs_numbers={MRS_JONES}")

    home = w.get("dn", "/app/")
    assert home.status_code == 200, home.text
    assert f"Visit {MRS_JONES}" in home.text and MR_JONES not in home.text

    # The attendee sees the agenda and decisions only about people they may see.
    r = w.get("dn", f"/mdt/{m['id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agenda"] == [MRS_JONES]
    assert [d["nhs_number"] for d in body["decisions"]] == [MRS_JONES]
    assert MR_JONES not in r.text
    page = w.get("dn", f"/app/mdt/{m['id']}")
    assert page.status_code == 200 and MR_JONES not in page.text
    # One audit entry per read of the meeting, naming only those shown.
    assert list_entries(w, "dn", "mdt")[-1].detail.endswith(f"nhs_numbers={MRS_JONES}")


def test_an_mdt_attendee_without_any_relationship_sees_no_one(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    r = w.post(
        "cc",
        "/mdt",
        {
            "title": "North MDT",
            "held_at": w.clock.now.isoformat(),
            "agenda": [MRS_JONES],
            "attendees": [w.ids["outsider"]],
        },
    )
    assert r.status_code == 201, r.text
    r = w.get("outsider", f"/mdt/{r.json()['id']}")
    assert r.status_code == 200
    assert r.json()["agenda"] == [] and r.json()["decisions"] == []
    assert MRS_JONES not in r.text


def test_actions_for_someone_without_a_relationship_are_refused_in_words(
    sqlite_world: World,
) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    r = w.post(
        "cc",
        "/mdt",
        {"title": "MDT", "held_at": w.clock.now.isoformat(), "agenda": [MRS_JONES]},
    )
    meeting = r.json()["id"]
    r = w.post(
        "cc",
        f"/mdt/{meeting}/decisions",
        {
            "nhs_number": MRS_JONES,
            "decision": "Review",
            "actions": [
                {"title": "Visit", "owner_user_id": w.ids["outsider"], "due_date": "2026-12-01"}
            ],
        },
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "actions[0].owner_user_id" in detail
    assert "no care relationship" in detail and "care team" in detail
    assert w.get("outsider", "/tasks").json() == []
    assert w.get("cc", f"/mdt/{meeting}").json()["decisions"] == []  # nothing half-written


def test_referrals_list_leaves_out_a_declined_referral(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES, MR_JONES))
    # The contact has no other relationship with either person: only the open referral.
    r = w.put("admin", "/services/falls-service", {"contact_user_id": w.ids["cm"]})
    assert r.status_code == 200, r.text
    ids = {}
    for nhs in (MRS_JONES, MR_JONES):
        body = {"nhs_number": nhs, "service_id": "falls-service", "urgency": "routine"}
        r = w.post("cc", "/referrals", {**body, "reason": "Falls"})
        assert r.status_code == 201, r.text
        ids[nhs] = r.json()["id"]
    for status in ("triaged", "declined"):
        why = {"decline_reason": "not_eligible"} if status == "declined" else {}
        r = w.post("cm", f"/referrals/{ids[MR_JONES]}/status", {"status": status, **why})
        assert r.status_code == 200, r.text
    r = w.get("cm", "/referrals")
    assert r.status_code == 200, r.text
    assert [x["nhs_number"] for x in r.json()] == [MRS_JONES]
    assert list_entries(w, "cm", "referral")[-1].detail.endswith(
        f"hidden=1; nhs_numbers={MRS_JONES}"
    )
    # The notifications of the two referrals: the declined one is left out too.
    r = w.get("cm", "/notifications")
    assert r.status_code == 200
    assert {n["nhs_number"] for n in r.json()} == {MRS_JONES}
    assert w.get("cm", "/app/").status_code == 200


def test_caseload_leaves_out_a_person_who_objects_after_the_lead_left_the_team(
    sqlite_world: World,
) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES, MR_JONES))
    for nhs in (MRS_JONES, MR_JONES):
        r = w.post(
            "dr_gp",
            "/register",
            {"nhs_number": nhs, "reason": "High risk", "lead_professional_id": w.ids["cc"]},
        )
        assert r.status_code == 201, r.text
    end_membership(w, MR_JONES, "cc")
    r = w.post("dr_gp", f"/people/{MR_JONES}/objections", {"kind": "sharing"})
    assert r.status_code == 201, r.text
    assert w.get("cc", f"/people/{MR_JONES}").status_code == 403

    r = w.get("cc", "/caseload")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["nhs_number"] for e in body["episodes"]] == [MRS_JONES]
    assert body["open_episodes"] == 2  # still counted against the limit
    assert w.get("cc", "/app/").status_code == 200
    # The API worklist leaves the objector out too (and lists once, not per row).
    r = w.get("cc", "/worklist?min_level=1")
    assert r.status_code == 200
    assert MR_JONES not in {p["nhs_number"] for p in r.json()}


def test_the_api_worklist_is_one_audit_entry(sqlite_world: World) -> None:
    w = sqlite_world
    r = w.get("dr_gp", "/worklist?min_level=1")
    assert r.status_code == 200
    shown = sorted(p["nhs_number"] for p in r.json())
    assert len(shown) == 3 and ELSEWHERE not in shown
    entries = list_entries(w, "dr_gp", "register")
    assert len(entries) == 1
    assert entries[0].detail.endswith("nhs_numbers=" + ",".join(shown))
