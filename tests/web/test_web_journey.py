"""The integrated Jones story through the pages, in Chromium, signing in as each agency.

Referral lifecycle: the co-ordinator refers Mrs Jones to specialist diabetes
nursing; the diabetes nurse finds it in the service's duty inbox, accepts and
books it; the co-ordinator and the team see each step; every new page passes axe.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from test_web_browser import MRS, check, new_page, server, sign_in, sign_out

__all__ = ["new_page", "server"]  # fixtures used by name below
pytestmark = pytest.mark.browser


def test_referral_lifecycle_across_agencies(new_page: Any) -> None:
    page = new_page()
    # 1. The co-ordinator books a specialist diabetic nurse visit: a referral.
    sign_in(page, "coordinator")
    page.goto(f"/app/people/{MRS}/referrals/new")
    page.get_by_label("Specialist diabetes nursing").check()
    page.get_by_label("Urgent").check()
    page.get_by_label("Reason for referral").fill("Glucose unstable on telehealth for 3 days")
    page.get_by_role("button", name="Send the referral").click()
    page.wait_for_url(f"**/app/people/{MRS}**")
    page.goto("/app/referrals")
    check(page, "journey-referrals-coordinator")
    made = page.locator("#made + table")
    link = made.get_by_role("link", name=re.compile(r"^R\d{6}$")).first
    reference = link.inner_text()
    row = made.locator("tr", has_text=reference)
    assert "Received" in row.inner_text()
    sign_out(page)

    # 2. The diabetes nurse sees it in the duty inbox with the response clock and accepts.
    sign_in(page, "nurse.diabetes")
    assert page.url.endswith("/app/referrals")  # a service's staff land on its inbox
    page.goto("/app/")
    home = page.locator("#notifications + p + table, #notifications + table")
    assert home.get_by_text("referred", exact=False).count() >= 1
    page.goto("/app/referrals")
    inbox = page.locator("#inbox-diabetes-specialist-nursing + table")
    assert inbox.get_by_role("link", name=reference).is_visible()
    assert "left" in inbox.locator("tr", has_text=reference).inner_text()
    check(page, "journey-inbox-diabetes-nurse")
    inbox.get_by_role("link", name=reference).click()
    page.wait_for_url("**/app/referrals/*")
    assert page.get_by_role(
        "heading", name=f"Referral {reference} to Specialist diabetes nursing"
    ).is_visible()
    check(page, "journey-referral-diabetes-nurse")
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url("**saved=1")
    banner = page.locator("#who-was-told")
    assert "Carys Evans" in banner.inner_text()
    check(page, "journey-referral-accepted")
    # 3. Book the visit: date, UK time and who.
    # (the booking form is open once the referral is accepted)
    # Two days from now (a visit cannot be booked in the past).
    visit = dt.date.today() + dt.timedelta(days=2)
    shown = f"{visit:%-d %b %Y} 14:00"
    page.get_by_label("Visit date").fill(visit.isoformat())
    page.get_by_label("Time (UK)").fill("14:00")
    page.get_by_label("Who will see the person").fill("Rhys Owen")
    page.get_by_role("button", name="Book a visit").click()
    page.wait_for_url("**saved=1")
    assert "Carys Evans" in page.locator("#who-was-told").inner_text()
    assert page.get_by_text(f"{shown} with Rhys Owen").count() >= 1
    sign_out(page)

    # 4. The co-ordinator (referrer) and the GP (her team) see it was booked.
    for who in ("coordinator", "gp.jones"):
        sign_in(page, who)
        notes = page.locator("#notifications + p + table, #notifications + table")
        assert notes.get_by_text("booked", exact=False).count() >= 1, who
        assert notes.get_by_text(shown, exact=False).count() >= 1, who
        sign_out(page)
    # 5. The GP is not on the service's staff: no actions, and a forged post is refused.
    sign_in(page, "gp.jones")
    page.goto(f"/app/people/{MRS}")
    page.get_by_role("link", name=reference).click()
    page.wait_for_url("**/app/referrals/*")
    assert page.get_by_role("heading", name="Respond for Specialist diabetes nursing").count() == 0
    check(page, "journey-referral-gp-readonly")
    sign_out(page)
