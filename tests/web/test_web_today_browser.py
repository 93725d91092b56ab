"""The seed's "today" story's failure points, caught, in Chromium (1280 px; the new pages also at 390).

The hospital's system (through the events API, with its own token) admits Mrs Jones,
due home on a Friday. Then: the social worker's home page has the task "Mr Jones, who
has dementia, may be without his carer" and his record shows it first among the
alerts; the co-ordinator's discharge list flags the Friday discharge without a
confirmed package, and the plan page takes the package decision that clears it.
axe on every page visited (discharge list, plan page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from test_web_browser import MRS, browser, check, new_page, sign_in, sign_out
from test_web_incidents_browser import STORE, server

from careweave.security import auth
from careweave.store.db import make_engine, session_factory
from careweave.store.models import PersonLink, User

__all__ = ["browser", "new_page", "server"]  # fixtures, used by name
pytestmark = pytest.mark.browser


def admit(base: str, db_url: str, due: dt.date) -> str:
    """The hospital PAS posts Mrs Jones's admission; returns Mr Jones's NHS number."""
    engine = make_engine(db_url)
    with session_factory(engine)() as s, s.begin():
        now = dt.datetime.now(dt.UTC)
        feed = s.execute(select(User).where(User.username == "pas.feed")).scalar_one_or_none()
        if feed is None:
            feed = auth.create_user(
                s,
                username="pas.feed",
                display_name="Hospital PAS",
                role="integration",
                password=None,
                now=now,
            )
        token = auth.issue_token(s, feed, "browser test", now)
        mr = s.execute(
            select(PersonLink.related_nhs_number).where(PersonLink.nhs_number == MRS)
        ).scalar_one()
    engine.dispose()
    r = httpx.post(
        f"{base}/events",
        json={
            "nhs_number": MRS,
            "type": "admission",
            "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(),
            "external_id": f"pas-admission-{due.isoformat()}",
            "payload": {"ward": "Ward 3", "expected_discharge_date": due.isoformat()},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return str(mr)


def test_today_failure_points_are_caught(new_page: Any, server: str) -> None:
    width = 1280
    today = dt.date.today()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 or 7)
    mr = admit(server, STORE[server], friday)
    page = new_page(width=width)
    # Carer admitted: the cared-for man is flagged, and the social worker has the task.
    sign_in(page, "social.worker")
    page.goto("/app/")
    tasks = page.locator("#tasks + table")
    assert tasks.get_by_text("who has dementia, may be without his carer").count() >= 1
    assert tasks.get_by_text("confirm the package of care").count() >= 1
    page.goto(f"/app/people/{mr}")
    assert "may be without his carer" in page.locator("#alerts").inner_text()
    sign_out(page)
    # Discharge before a weekend without its package: flagged on the co-ordinator's list.
    sign_in(page, "coordinator")
    page.goto("/app/discharges")
    flags = page.locator("#discharge-flags")
    assert f"Due home {friday:%A %-d %B} without a confirmed package of care" in (
        flags.inner_text()
    )
    check(page, f"today-discharges-{width}")
    phone = new_page(width=390)  # the same pages on a phone, before anything is fixed
    sign_in(phone, "coordinator")
    for path, name in (("/app/discharges", "discharges"), (f"/app/people/{MRS}/discharge", "plan")):
        phone.goto(path)
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
        check(phone, f"today-{name}-390")
    page.get_by_role("link", name="Discharge plan for", exact=False).first.click()
    page.wait_for_url(f"**/app/people/{MRS}/discharge")
    assert page.locator("#discharge-alerts").is_visible()
    check(page, f"today-discharge-plan-{width}")
    page.get_by_role("button", name="Record the discharge now").click()
    page.locator(".nhsuk-error-summary").wait_for(state="visible")  # no package decision
    check(page, f"today-discharge-refused-{width}")
    page.get_by_label("Restart the package as it was").check()
    page.locator("#item-package-done").check()
    page.get_by_role("button", name="Save the discharge plan").click()
    page.locator("#told").wait_for(state="visible")
    assert "Bethan Hughes" in page.locator("#told").inner_text()
    assert page.locator("#discharge-alerts").count() == 0
    check(page, f"today-discharge-saved-{width}")
