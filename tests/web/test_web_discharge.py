"""Discharge planning pages: the discharge list flags a Friday discharge without its
package, the plan page refuses a stale save (409) and a discharge without a package
decision (the error summary), and names who was told after a save."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.care import config as care_config
from careweave.care import events
from careweave.care.context import Ctx, system_user
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import DischargePlan, Event

MRS = "9990000018"
Client = Callable[[str], tuple[TestClient, str]]


def next_friday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=(4 - today.weekday()) % 7 or 7)


def admit(db: str, expected: dt.date) -> None:
    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        now = dt.datetime.now(dt.UTC)
        feed = Ctx(session=s, user=system_user(s, now), now=now, config=care_config.load(None))
        events.ingest(
            feed,
            MRS,
            "admission",
            now - dt.timedelta(hours=1),
            {"ward": "Ward 3", "expected_discharge_date": expected.isoformat()},
            source="hospital PAS",
        )
    engine.dispose()


def version(page: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', page)
    assert m is not None
    return m.group(1)


def test_discharge_pages(demo_db: str, client_for: Client) -> None:
    friday = next_friday(dt.date.today())
    admit(demo_db, friday)
    c, csrf = client_for("coordinator")
    listing = c.get("/app/discharges")
    assert listing.status_code == 200
    assert "Before a weekend" in listing.text
    assert f"Due home {friday:%A %-d %B} without a confirmed package of care" in listing.text
    assert "Discharges that need attention (1)" in c.get("/app/").text
    assert "Due home" in c.get(f"/app/people/{MRS}").text  # the patient page's alerts

    page = c.get(f"/app/people/{MRS}/discharge").text
    assert "Expected date of discharge" in page and "Transport home" in page
    v = version(page)
    url = f"/app/people/{MRS}/discharge"
    # Recording the discharge without a package decision: refused, in words, nothing kept.
    r = c.post(url, data={"csrf_token": csrf, "version": v, "action": "discharge"})
    assert r.status_code == 422
    assert "nhsuk-error-summary" in r.text and 'href="#package_decision-restart"' in r.text
    # A save on a page someone else changed since: 409.
    r = c.post(url, data={"csrf_token": csrf, "version": "99", "item-transport": "done"})
    assert r.status_code == 409 and "changed since you opened it" in r.text
    r = c.post(
        url,
        data={
            "csrf_token": csrf,
            "version": v,
            "item-package": "done",
            "package_decision": "restart",
            "discharge_ready_date": dt.date.today().isoformat(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:3000]
    saved = c.get(r.headers["location"]).text
    told = re.search(r'id="told".*?Told: ([^<]+)', saved, re.S)
    assert told is not None and "Bethan Hughes" in told.group(1)
    assert "Before a weekend" not in c.get("/app/discharges").text
    # Then the discharge itself, with the decision made: the event is routed as usual.
    r = c.post(
        url,
        data={
            "csrf_token": csrf,
            "version": version(saved),
            "package_decision": "restart",
            "item-package": "done",
            "action": "discharge",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:3000]
    done = c.get(r.headers["location"]).text
    assert "Discharge recorded" in done and "Dr Gwen Price" in done
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        plan = s.execute(select(DischargePlan)).scalar_one()
        assert plan.discharged_at is not None and plan.delayed_days == 0
        assert s.execute(select(Event).where(Event.type == "discharge")).scalar_one()
    engine.dispose()
    # A person in no care relationship with the user: refused.
    other, _ = client_for("gp.elsewhere")
    assert other.get(url).status_code == 403
