"""Family and friends to keep informed, in the browser: the co-ordinator adds the daughter with
her consented channels and topics (errors in the NHS.UK pattern), she is shown on the person's
page, a stale change is refused (409), the home carer sees her but cannot change her, and a
member of staff opts in to alerts by text."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from test_web_carer import joneses

from careweave.store.db import make_engine, session_factory
from careweave.store.models import Contact, StaffChannel, User

Client = Callable[[str], tuple[TestClient, str]]


def test_coordinator_keeps_the_daughter_informed(demo_db: str, client_for: Client) -> None:
    mrs, _, _ = joneses(demo_db)
    cc, csrf = client_for("coordinator")
    record = cc.get(f"/app/people/{mrs}")
    assert "Family and friends to keep informed (1)" in record.text  # the demo's daughter
    assert f"/app/people/{mrs}/contacts/new" in record.text
    form = {
        "csrf_token": csrf,
        "name": "Siân Jones",
        "relationship": "daughter",
        "phone": "0770 090",
        "by_sms": "yes",
        "topics": ["admission", "fall_alarm"],
    }
    bad = cc.post(f"/app/people/{mrs}/contacts/new", data=form)
    assert bad.status_code == 422
    assert '<a href="#phone">Enter a UK mobile number, like 07700 900123</a>' in bad.text
    assert 'value="Siân Jones"' in bad.text  # what was typed is kept
    r = cc.post(f"/app/people/{mrs}/contacts/new", data={**form, "phone": "07700 900123"})
    assert r.status_code == 200 and "Family and friends to keep informed (2)" in r.text
    assert "Agreed to be told by text to +447700900123" in r.text
    assert "admitted to hospital; a fall alarm" in r.text
    with session_factory(make_engine(demo_db))() as s:
        c = s.execute(
            select(Contact).where(Contact.nhs_number == mrs, Contact.name == "Siân Jones")
        ).scalar_one()
        cid, version = c.id, c.version
    page = cc.get(f"/app/people/{mrs}/contacts/{cid}")
    assert page.status_code == 200 and 'name="version" value="1"' in page.text
    ok = cc.post(
        f"/app/people/{mrs}/contacts/{cid}",
        data={**form, "phone": "07700 900123", "version": version, "email": "sian@example.org"},
    )
    assert ok.status_code == 200
    stale = cc.post(
        f"/app/people/{mrs}/contacts/{cid}",
        data={**form, "phone": "07700 900123", "version": version},
    )
    assert stale.status_code == 409 and "changed since you opened them" in stale.text
    # Her home carer sees who to keep informed but cannot change it.
    hc, _ = client_for("home.care")
    seen = hc.get(f"/app/people/{mrs}")
    assert "Siân Jones" in seen.text and f"/contacts/{cid}" not in seen.text
    assert hc.get(f"/app/people/{mrs}/contacts/{cid}").status_code == 403


def test_staff_opt_in_to_alerts_by_text(demo_db: str, client_for: Client) -> None:
    rr, csrf = client_for("rapid.response")
    assert 'href="/app/account/alerts"' in rr.get("/app/").text
    page = rr.get("/app/account/alerts")
    assert page.status_code == 200 and "Fall alarm raised" in page.text
    bad = rr.post("/app/account/alerts", data={"csrf_token": csrf, "by_sms": "yes", "phone": ""})
    assert bad.status_code == 422 and '<a href="#phone">' in bad.text
    r = rr.post(
        "/app/account/alerts",
        data={
            "csrf_token": csrf,
            "by_sms": "yes",
            "phone": "07700 900456",
            "kinds": ["event:fall_alarm", "incident_breach"],
        },
    )
    assert r.status_code == 200 and "Your alert choices are saved" in r.text
    assert re.search(r'id="kind-1"[^>]*checked', r.text)
    with session_factory(make_engine(demo_db))() as s:
        uid = s.execute(select(User.id).where(User.username == "rapid.response")).scalar_one()
        ch = s.get(StaffChannel, uid)
        assert ch is not None and ch.by_sms and ch.phone == "+447700900456"
        assert ch.kinds == ["event:fall_alarm", "incident_breach"]
