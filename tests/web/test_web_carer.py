"""The "today" story's failure point, caught: the carer is admitted, the cared-for is alone.

Mrs Jones (the demo's carer for Mr Jones, who has dementia) is admitted, as the
hospital's feed reports it; Mr Jones's social worker finds the check on her home
page and the alert on his record; her home carer, in her team only, still cannot
open his record; the link is edited on the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.security import auth
from careweave.store.db import make_engine, session_factory
from careweave.store.models import Person, PersonLink, User


def joneses(url: str) -> tuple[str, str, str]:
    """(Mrs Jones, Mr Jones, a bearer token for a hospital feed)."""
    engine = make_engine(url)
    with session_factory(engine)() as s, s.begin():
        link = s.execute(
            select(PersonLink).where(PersonLink.relationship == "carer_of")
        ).scalar_one()
        feed = s.execute(select(User).where(User.username == "pas.feed")).scalar_one_or_none()
        now = dt.datetime.now(dt.UTC)
        if feed is None:
            feed = auth.create_user(
                s,
                username="pas.feed",
                display_name="Hospital PAS",
                role="integration",
                password=None,
                now=now,
            )
        token = auth.issue_token(s, feed, "test", now)
        out = (link.nhs_number, link.related_nhs_number, token)
    engine.dispose()
    return out


def test_carer_admitted_cared_for_alone_is_caught(
    demo_db: str, client_for: Callable[[str], tuple[TestClient, str]]
) -> None:
    mrs, mr, token = joneses(demo_db)
    sw, _ = client_for("social.worker")
    page = sw.get(f"/app/people/{mrs}")
    assert "cares for" in page.text and "Carers and family (1)" in page.text
    r = sw.post(
        "/events",
        json={
            "nhs_number": mrs,
            "type": "admission",
            "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
            "payload": {"method": "emergency"},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    home = sw.get("/app/")
    assert "Mr Jones, who has dementia, may be without his carer" in home.text
    record = sw.get(f"/app/people/{mr}")
    assert record.status_code == 200
    assert "may be without his carer" in record.text.split('id="details"')[0]  # in the alerts
    # Her home carer is told of her admission, but his record stays closed to them.
    hc, _ = client_for("home.care")
    assert "Admitted to hospital" in hc.get("/app/").text
    assert hc.get(f"/app/people/{mr}").status_code == 403


def test_relationships_are_edited_on_the_page(
    demo_db: str, client_for: Callable[[str], tuple[TestClient, str]]
) -> None:
    mrs, mr, _ = joneses(demo_db)
    c, csrf = client_for("coordinator")
    r = c.post(
        f"/app/people/{mrs}/relationships",
        data={"csrf_token": csrf, "relationship": "spouse", "related_nhs_number": mr},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "<strong>is the spouse of</strong>" in c.get(f"/app/people/{mrs}").text
    bad = c.post(
        f"/app/people/{mrs}/relationships",
        data={"csrf_token": csrf, "relationship": "spouse", "related_nhs_number": "12"},
    )
    assert bad.status_code == 422
    assert (
        '<a href="#related_nhs_number">NHS number of the other person must be 10 digits' in bad.text
    )
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        spouse = s.execute(
            select(PersonLink).where(PersonLink.relationship == "spouse")
        ).scalar_one()
        assert s.get(Person, mr) is not None
    engine.dispose()
    r = c.post(
        f"/app/people/{mrs}/relationships/{spouse.id}/end",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "<strong>is the spouse of</strong>" not in c.get(f"/app/people/{mrs}").text
