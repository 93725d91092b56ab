"""The decline form's 'what the person needs' field (NHS.UK error pattern), the note on
the referral page for staff, and the commissioner's unmet-need and capacity pages."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory
from careweave.store.models import Referral

MRS = "9990000018"
Client = Callable[[str], tuple[TestClient, str]]


def _refer(client_for: Client, reason: str = "Evening insulin") -> tuple[TestClient, str, str]:
    c, csrf = client_for("coordinator")
    data = {"csrf_token": csrf, "service_id": "diabetes-specialist-nursing"}
    data |= {"urgency": "routine", "reason": reason}
    r = c.post(f"/app/people/{MRS}/referrals/new", data=data, follow_redirects=False)
    assert r.status_code == 303
    nurse, n_csrf = client_for("nurse.diabetes")
    inbox = nurse.get("/app/referrals").text
    rid = max(int(x) for x in re.findall(r'href="/app/referrals/(\d+)"', inbox))
    return nurse, n_csrf, f"/app/referrals/{rid}"


def _version(page: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', page)
    assert m
    return m[1]


def test_declining_for_unmet_need_asks_what_was_needed(client_for: Client, demo_db: str) -> None:
    nurse, csrf, url = _refer(client_for)
    page = nurse.get(url).text
    assert 'id="unmet_need_note"' in page
    assert "no names or NHS numbers" in page
    data = {"csrf_token": csrf, "version": _version(page), "status": "declined"}
    data |= {"decline_reason": "no_capacity"}
    r = nurse.post(url, data=data, follow_redirects=False)
    assert r.status_code == 422
    # the NHS.UK pattern: the summary links to the field, which carries the same message
    message = "Enter what the person needs that could not be provided"
    assert f'<li><a href="#unmet_need_note">{message}</a></li>' in r.text
    assert (
        f'id="unmet_need_note-error"><span class="nhsuk-u-visually-hidden">Error:</span> {message}'
        in r.text
    )
    assert 'aria-describedby="unmet_need_note-hint unmet_need_note-error"' in r.text
    # what was typed stays, in the open decline form
    assert '<option value="no_capacity" selected>' in r.text
    data["unmet_need_note"] = "x" * 1001
    r = nurse.post(url, data=data, follow_redirects=False)
    assert r.status_code == 422
    assert "What the person needs must be 1,000 characters or fewer" in r.text
    data["unmet_need_note"] = "Insulin visits after 6pm: the team has no evening staff"
    r = nurse.post(url, data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = nurse.get(url).text
    assert "Needed: Insulin visits after 6pm: the team has no evening staff" in page
    with session_factory(make_engine(demo_db))() as s:
        ref = s.get(Referral, int(url.rsplit("/", 1)[1]))
        assert ref is not None
        assert ref.decline_reason == "no_capacity"
        assert ref.unmet_need_note == "Insulin visits after 6pm: the team has no evening staff"


def test_other_decline_reasons_need_no_note(client_for: Client, demo_db: str) -> None:
    nurse, csrf, url = _refer(client_for, "Duplicate check")
    page = nurse.get(url).text
    data = {"csrf_token": csrf, "version": _version(page), "status": "declined"}
    data |= {"decline_reason": "duplicate"}
    assert nurse.post(url, data=data, follow_redirects=False).status_code == 303
    with session_factory(make_engine(demo_db))() as s:
        ref = s.execute(select(Referral).where(Referral.reason == "Duplicate check")).scalar_one()
        assert ref.status == "declined" and ref.unmet_need_note is None
