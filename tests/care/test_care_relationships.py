"""People linked to people: the carer admitted leaves the cared-for person alone.

The heart of seed 000's "today" story: when Mrs Jones is admitted, Mr Jones (who has
dementia) is flagged, his team and social care's duty queue are told, and a task is
raised; and a link gives no access to the other person's record.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from care_world import MR_JONES, MRS_JONES, World
from sqlalchemy import select

from careweave.care.sync import sync
from careweave.store.db import make_engine, session_factory
from careweave.store.models import Notification, Person, PersonLink, Task, User


def setup(w: World) -> None:
    """Mrs Jones's team: GP, co-ordinator, home care. Mr Jones's: GP and social worker.
    The social care duty queue is staffed by the case manager."""
    for nhs, who, role in (
        (MRS_JONES, "dr_gp", "gp"),
        (MRS_JONES, "cc", "care_coordinator"),
        (MRS_JONES, "homecare", "home_care_provider"),
        (MR_JONES, "dr_gp", "gp"),
        (MR_JONES, "sw", "social_worker"),
    ):
        r = w.post("dr_gp", f"/people/{nhs}/care-team", {"user_id": w.ids[who], "team_role": role})
        assert r.status_code == 201, r.text
    assert (
        w.put("admin", f"/services/social-care-assessment/members/{w.ids['cm']}").status_code == 204
    )
    with w.session() as s, s.begin():
        mr = s.get(Person, MR_JONES)
        assert mr is not None
        mr.title, mr.family_name, mr.sex = "Mr", "Jones", "male"
        mr.conditions = ["dementia"]
        mrs = s.get(Person, MRS_JONES)
        assert mrs is not None
        mrs.title, mrs.family_name = "Mrs", "Jones"


def told(w: World, kind: str) -> dict[str, str]:
    with w.session() as s:
        return {
            name: n.subject
            for n, name in s.execute(
                select(Notification, User.username)
                .join(User, User.id == Notification.recipient_user_id)
                .where(Notification.kind == kind)
            ).tuples()
        }


def test_carer_admitted_flags_the_person_she_cares_for(sqlite_world: World) -> None:
    w = sqlite_world
    setup(w)
    r = w.post(
        "cc",
        f"/people/{MRS_JONES}/relationships",
        {"related_nhs_number": MR_JONES, "relationship": "carer_of"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["reads"] == "cares for" and r.json()["other_name"] == "Mr Jones"
    # Seen from his side it reads the other way (his GP has a relationship with him).
    (his,) = w.get("dr_gp", f"/people/{MR_JONES}/relationships").json()
    assert (his["reads"], his["other_name"]) == ("is cared for by", "Mrs Jones")
    out = w.event(MRS_JONES, "admission", w.clock.now, method="emergency")
    alerts = told(w, "carer_at_risk")
    # His team and the social care duty queue; not her home carer or co-ordinator.
    assert set(alerts) == {"dr_gp", "sw", "cm"}
    assert alerts["sw"].startswith("Mrs Jones, who cares for Mr Jones, was admitted to hospital")
    assert alerts["sw"].endswith(
        "Mr Jones, who has dementia, may be without his carer: check he is safe today."
    )
    with w.session() as s:
        tasks = [s.get(Task, t) for t in out["task_ids"]]
        (task,) = [t for t in tasks if t is not None and t.source.startswith("carer:")]
        assert task.nhs_number == MR_JONES
        assert task.title == "Mr Jones, who has dementia, may be without his carer"
        assert task.owner_user_id == w.ids["sw"]  # his social worker
    assert any(t["id"] == task.id for t in w.get("sw", "/tasks").json())
    # A fall alarm from her raises it again; a person she does not care for hears nothing.
    w.event(MRS_JONES, "fall_alarm", w.clock.now, device="pendant")
    with w.session() as s:
        n = s.execute(select(Task).where(Task.source.like("carer:%"))).scalars().all()
        assert len(n) == 2 and {t.nhs_number for t in n} == {MR_JONES}


def test_no_social_worker_goes_to_the_social_care_queue(sqlite_world: World) -> None:
    w = sqlite_world
    setup(w)
    w.post(
        "dr_gp",
        f"/people/{MR_JONES}/relationships",
        {"related_nhs_number": MRS_JONES, "relationship": "cared_for_by"},
    )
    # His social worker leaves his team: the check goes to social care's duty queue.
    (sw,) = [
        m
        for m in w.get("dr_gp", f"/people/{MR_JONES}/care-team").json()
        if m["team_role"] == "social_worker"
    ]
    r = w.client.delete(f"/people/{MR_JONES}/care-team/{sw['id']}", headers=w.h("dr_gp"))
    assert r.status_code == 204, r.text
    out = w.event(MRS_JONES, "death", w.clock.now)
    with w.session() as s:
        (task,) = [
            t
            for t in (s.get(Task, i) for i in out["task_ids"])
            if t is not None and t.source.startswith("carer:")
        ]
        assert task.owner_service_id == "social-care-assessment" and task.owner_user_id is None
    assert "has died" in told(w, "carer_at_risk")["cm"]


def test_a_link_does_not_open_the_other_record(sqlite_world: World) -> None:
    w = sqlite_world
    setup(w)
    w.post(
        "cc",
        f"/people/{MRS_JONES}/relationships",
        {"related_nhs_number": MR_JONES, "relationship": "carer_of"},
    )
    # Home care is in her team only: it sees the link, not his record or his links.
    (link,) = w.get("homecare", f"/people/{MRS_JONES}/relationships").json()
    assert link["other_nhs_number"] == MR_JONES
    assert w.get("homecare", f"/people/{MR_JONES}").status_code == 403
    assert w.get("homecare", f"/people/{MR_JONES}/relationships").status_code == 403
    # Nor can a stranger list or add links.
    assert w.get("outsider", f"/people/{MRS_JONES}/relationships").status_code == 403
    r = w.post(
        "outsider",
        f"/people/{MRS_JONES}/relationships",
        {"related_nhs_number": MR_JONES, "relationship": "spouse"},
    )
    assert r.status_code == 403
    # Recording it twice is a conflict; ending it stops the alerts.
    r = w.post(
        "cc",
        f"/people/{MRS_JONES}/relationships",
        {"related_nhs_number": MR_JONES, "relationship": "carer_of"},
    )
    assert r.status_code == 409
    assert (
        w.client.delete(
            f"/people/{MRS_JONES}/relationships/{link['id']}", headers=w.h("cc")
        ).status_code
        == 204
    )
    w.clock.advance(days=1)
    w.event(MRS_JONES, "admission", w.clock.now)
    assert told(w, "carer_at_risk") == {}


def test_sync_brings_relationships_from_the_warehouse(sqlite_world: World, tmp_path: Path) -> None:
    w = sqlite_world
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE people (nhs_number VARCHAR, date_of_birth DATE, sex VARCHAR, "
        "ethnic_group VARCHAR, small_area VARCHAR, deprivation_decile SMALLINT, "
        "practice_id VARCHAR, local_authority_id VARCHAR, care_home_resident BOOLEAN, "
        "date_of_death DATE)"
    )
    con.execute(
        f"INSERT INTO people VALUES ('{MRS_JONES}','1941-05-01','female','white',NULL,3,'P1',"
        f"'LA1',false,NULL),('{MR_JONES}','1938-02-01','male','white',NULL,3,'P1','LA1',false,NULL)"
    )
    con.execute(
        "CREATE TABLE person_relationships (id VARCHAR, nhs_number VARCHAR, "
        "related_nhs_number VARCHAR, relationship VARCHAR, start_date DATE, end_date DATE)"
    )
    con.execute(
        f"INSERT INTO person_relationships VALUES ('1','{MRS_JONES}','{MR_JONES}','carer_of',"
        "'2020-01-01',NULL),('2','{MRS_JONES}',NULL,'next_of_kin',NULL,NULL),"
        f"('3','{MRS_JONES}','9999999999','spouse',NULL,NULL)"
    )
    con.close()
    engine = make_engine(w.url)
    for expected in (1, 0):  # a re-sync changes nothing
        with session_factory(engine)() as s, s.begin():
            assert sync(s, path, w.clock.now).relationships == expected
    with session_factory(engine)() as s:
        (link,) = s.execute(select(PersonLink)).scalars()
        assert (link.nhs_number, link.related_nhs_number, link.relationship, link.source) == (
            MRS_JONES,
            MR_JONES,
            "carer_of",
            "warehouse",
        )
    engine.dispose()


def test_a_relationship_answer_is_kept_only_until_the_transaction_writes(
    sqlite_world: World,
) -> None:
    """access.relationship keeps its answer for the transaction (the patient page asks six
    times), but a change made in the same transaction is seen at once."""
    import datetime as dt

    from careweave.security import access
    from careweave.store.models import CareTeamMember

    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with sqlite_world.session() as s, s.begin():
        outsider = s.execute(select(User).where(User.username == "outsider")).scalar_one()
        mrs = s.get(Person, MRS_JONES)
        assert mrs is not None
        assert access.relationship(s, outsider, mrs, now) is None
        assert access.relationship(s, outsider, mrs, now) is None  # kept
        s.add(
            CareTeamMember(
                nhs_number=MRS_JONES,
                user_id=outsider.id,
                team_role="gp",
                organisation="Hillside",
                added_by=outsider.id,
                added_at=now,
            )
        )
        assert access.relationship(s, outsider, mrs, now) == "care_team"  # pending: asked anew
        s.flush()
        assert access.relationship(s, outsider, mrs, now) == "care_team"
        s.rollback()
