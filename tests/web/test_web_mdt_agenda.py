"""MDT meetings across agencies: people added from the worklist or their page (no typed
NHS numbers), attendees picked from the agenda's care teams and the services involved,
each invitee told, and the relationship rule kept for what an attendee sees."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory
from careweave.store.models import MdtMeeting, Notification, PersonLink, User

Client = Callable[[str], tuple[TestClient, str]]


def joneses(db: str) -> tuple[str, str]:
    engine = make_engine(db)
    with session_factory(engine)() as s:
        link = s.execute(
            select(PersonLink).where(PersonLink.relationship == "carer_of")
        ).scalar_one()
        out = (link.nhs_number, link.related_nhs_number)
    engine.dispose()
    return out


def user_id(db: str, username: str) -> int:
    engine = make_engine(db)
    with session_factory(engine)() as s:
        uid = s.execute(select(User.id).where(User.username == username)).scalar_one()
    engine.dispose()
    return int(uid)


def test_agenda_from_pages_and_attendees_from_care_teams(demo_db: str, client_for: Client) -> None:
    mrs, mr = joneses(demo_db)
    c, csrf = client_for("coordinator")
    # From her page: no meeting yet, so arrange one with her on the agenda.
    assert f"/app/mdt/add?nhs_number={mrs}" in c.get(f"/app/people/{mrs}").text
    assert "/app/mdt/add?nhs_number=" in c.get("/app/worklist").text
    add = c.get(f"/app/mdt/add?nhs_number={mrs}").text
    assert "You are not attending any MDT meeting" in add
    form = c.get(f"/app/mdt?nhs_number={mrs}").text
    assert "Agenda: NHS numbers" not in form and "<textarea" not in form
    assert f'name="agenda" value="{mrs}"' in form
    r = c.post(
        "/app/mdt",
        data={
            "csrf_token": csrf,
            "title": "Jones family MDT",
            "held_at": "2027-01-12T10:00",
            "agenda": mrs,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:2000]
    meeting_id = int(r.headers["location"].rsplit("/", 1)[1])
    # From the worklist or Mr Jones's page: add him to that meeting.
    add = c.get(f"/app/mdt/add?nhs_number={mr}").text
    assert "Jones family MDT, 12 Jan 2027 10:00" in add
    r = c.post("/app/mdt/add", data={"csrf_token": csrf, "nhs_number": mr})
    assert r.status_code == 422 and 'href="#meeting-0"' in r.text
    r = c.post(
        "/app/mdt/add",
        data={"csrf_token": csrf, "nhs_number": mr, "meeting": str(meeting_id)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(f"/app/mdt/{meeting_id}").text
    # Candidates: everyone in their care teams (other agencies too), by their place.
    assert "Bethan Hughes (home care) – home care provider in Mrs Jones&#39;s team" in page
    assert "Megan Roberts (support worker) – support worker in Mrs Jones&#39;s team" in page
    assert "Dr Tom Rees" not in page  # not in anyone's team
    ids = dict(
        re.findall(r'name="invite" type="checkbox" value="(\d+)">\s*<label[^>]*>([^<]+)', page)
    )
    home = [i for i, label in ids.items() if label.startswith("Bethan")]
    support = [i for i, label in ids.items() if label.startswith("Megan")]
    r = c.post(
        f"/app/mdt/{meeting_id}/attendees",
        data={"csrf_token": csrf, "invite": home + support},
        follow_redirects=False,
    )
    assert r.status_code == 303
    told = c.get(r.headers["location"]).text
    banner = re.search(r'id="told".*?Told: ([^<]+)', told, re.S)
    assert banner is not None
    assert "Bethan Hughes" in banner.group(1) and "Megan Roberts" in banner.group(1)
    # Nobody outside the teams and services can be invited, even by a forged post.
    r = c.post(
        f"/app/mdt/{meeting_id}/attendees",
        data={"csrf_token": csrf, "invite": str(user_id(demo_db, "gp.elsewhere"))},
    )
    assert r.status_code == 422 and "not in the care teams or services" in r.text
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        m = s.get(MdtMeeting, meeting_id)
        assert m is not None and m.agenda == [mrs, mr]
        invited = s.execute(
            select(Notification.subject).where(
                Notification.kind == "mdt",
                Notification.recipient_user_id == int(home[0]),
            )
        ).scalar_one()
        assert "invited you to the MDT meeting 'Jones family MDT' on 12 Jan 2027 10:00" in invited
    engine.dispose()
    # Home care attends, but sees only Mrs Jones (her client), not Mr Jones.
    h, _ = client_for("home.care")
    page = h.get(f"/app/mdt/{meeting_id}").text
    assert "JONES, Margaret" in page or "Margaret" in page
    assert "Thomas" not in page
    assert "1 more person on the agenda you have no care relationship with" in page
