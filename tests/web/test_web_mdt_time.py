"""MDT meetings on the page: UK local time, attendees across agencies, decisions by name."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory
from careweave.store.models import MdtMeeting, PersonLink, Task


def test_mdt_in_uk_time_with_every_agency(
    demo_db: str, client_for: Callable[[str], tuple[TestClient, str]]
) -> None:
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        link = s.execute(
            select(PersonLink).where(PersonLink.relationship == "carer_of")
        ).scalar_one()
        mrs = link.nhs_number
    c, csrf = client_for("coordinator")
    form = c.get("/app/mdt").text
    assert "When (UK time)" in form
    # The control centre and rapid response are other agencies, invitable by their service.
    for name in ("Ffion Lloyd", "Owain Jenkins", "Bethan Hughes"):
        assert name in form, name
    ids = dict(re.findall(r'value="(\d+)"[^>]*>\s*<label[^>]*>([^<(]+)', form))
    attendees = [i for i, n in ids.items() if n.strip().startswith(("Ffion", "Owain"))]
    r = c.post(
        "/app/mdt",
        data={
            "csrf_token": csrf,
            "title": "Locality MDT",
            "held_at": "2026-07-01T10:00",  # BST: 09:00 UTC
            "agenda": mrs,
            "attendees": attendees,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:2000]
    page = c.get(r.headers["location"]).text
    assert "1 Jul 2026 10:00" in page
    with session_factory(engine)() as s:
        m = s.execute(select(MdtMeeting).order_by(MdtMeeting.id.desc())).scalars().first()
        assert m is not None
        assert m.held_at == dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)
        assert len(m.attendees) == 3
        meeting_id = m.id
        me = m.created_by
    r = c.post(
        f"/app/mdt/{meeting_id}/decisions",
        data={
            "csrf_token": csrf,
            "nhs_number": mrs,
            "decision": "Falls sensor and a carer's break",
            "action_title": "Arrange respite",
            "action_owner": str(me),
            "action_due": "2027-07-03",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:2000]
    page = c.get(f"/app/mdt/{meeting_id}").text
    assert "(Carys Evans (care co-ordinator))" in page
    with session_factory(engine)() as s:
        t = s.execute(select(Task).where(Task.title == "Arrange respite")).scalar_one()
        assert t.due_at == dt.datetime(2027, 7, 3, 16, 0, tzinfo=dt.UTC)  # 17:00 BST
    engine.dispose()
