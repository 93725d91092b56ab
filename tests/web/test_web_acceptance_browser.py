"""The acceptance test of issue 12: seed 000's two Jones stories, through the pages alone, in
Chromium.

*Integrated* (1280 px): only the devices speak through the events API (the telehealth hub's
glucose readings, the telecare platform's pendant alarm, each with its own integration
token); everything else is done by signing in as each agency in turn: the co-ordinator sees
the telehealth alert and refers to specialist diabetes nursing; the diabetes nurse accepts
and books the visit; the control centre dispatches rapid response from its queue; rapid
response records arrival and the outcome; the support worker and the district nurse have
been told; the district nurse refers for a local X-ray; the GP adjusts the care plan and is
shown who was told; the social worker and home care see the change. It ends with no
admission (no hospital entry on her timeline, no discharge plan) and every one of the nine
agencies informed about her fall.

*Today* (the failure points, on the same store afterwards): the hospital PAS admits Mrs
Jones with a Friday expected date; the social worker's home has "Mr Jones, who has
dementia, may be without his carer" and his record's alert; the co-ordinator's discharge
list flags the Friday discharge without a package; the plan page refuses a discharge without
the package decision and clears the flag once it is made, naming who was told.

axe on every page checked; the pages the story touches also at 390 px (no sideways scroll).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from live_server import live_server
from sqlalchemy import select
from test_web_browser import MRS, check, new_page, sign_in
from web_helpers import demo_store

from careweave.security import auth
from careweave.server import build_app
from careweave.settings import Settings
from careweave.store.db import make_engine, session_factory
from careweave.store.models import DischargePlan, PersonLink, User

__all__ = ["new_page"]  # fixtures, used by name
pytestmark = pytest.mark.browser
STORE: dict[str, str] = {}
AGENCIES = (
    "coordinator",
    "nurse.diabetes",
    "control.centre",
    "rapid.response",
    "support.worker",
    "district.nurse",
    "gp.jones",
    "social.worker",
    "home.care",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo without its glucose readings (they come through the events API here)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('acceptance') / 'store.db'}"
    demo_store(url, readings=False)
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="b" * 32))
    with live_server(app) as base:
        STORE[base] = url
        yield base


def device_token(db_url: str, username: str, name: str) -> str:
    """A bearer token for a device platform's integration account (created once)."""
    engine = make_engine(db_url)
    with session_factory(engine)() as s, s.begin():
        now = dt.datetime.now(dt.UTC)
        feed = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if feed is None:
            feed = auth.create_user(
                s, username=username, display_name=name, role="integration", password=None, now=now
            )
        token = auth.issue_token(s, feed, "acceptance test", now)
    engine.dispose()
    return token


def post_event(base: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(
        f"{base}/events", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def notes(page: Any) -> str:
    """The text of Home's unread notifications (empty when there are none)."""
    page.goto("/app/")
    table = page.locator("table", has=page.locator("caption", has_text="Unread notifications"))
    return str(table.first.inner_text()) if table.count() else ""


def told(page: Any) -> str:
    page.locator("#told, #who-was-told").first.wait_for(state="visible")
    return str(page.locator("#told, #who-was-told").first.inner_text())


def no_sideways_scroll(page: Any, path: str) -> None:
    page.goto(path)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, (path, overflow)


class Agencies:
    """One browser context per agency, each signed in once when it first acts (so the last
    round of checks does not sign everyone in again)."""

    def __init__(self, new_page: Any) -> None:
        self.new_page = new_page
        self.pages: dict[str, Any] = {}

    def __call__(self, username: str) -> Any:
        if username not in self.pages:
            self.pages[username] = self.new_page()
            sign_in(self.pages[username], username)
        return self.pages[username]


def integrated_story(as_: Agencies, base: str) -> None:
    url = STORE[base]
    now = dt.datetime.now(dt.UTC)
    # The telehealth hub sends a week of her glucose readings, the last days out of range.
    hub = device_token(url, "telehealth.hub", "Telehealth hub")
    for i, value in enumerate((7.2, 6.8, 8.1, 13.5, 3.4, 14.2, 12.8)):
        post_event(
            base,
            hub,
            {
                "nhs_number": MRS,
                "type": "telehealth_reading",
                "occurred_at": (now - dt.timedelta(days=6 - i, hours=2)).isoformat(),
                "external_id": f"hub-glucose-{i}",
                "payload": {"measure": "glucose", "value": value, "unit": "mmol/L"},
            },
        )
    # 1. The co-ordinator sees her blood sugar unstable and books a specialist nurse visit.
    page = as_("coordinator")
    assert "Blood glucose out of range on 3 of the last 5 days" in notes(page)
    page.goto(f"/app/people/{MRS}")
    assert "Level 4" in page.locator("main").inner_text()  # the risk tool's level
    page.goto(f"/app/people/{MRS}/referrals/new")
    page.get_by_label("Specialist diabetes nursing").check()
    page.get_by_label("Urgent").check()
    page.get_by_label("Reason for referral").fill("Blood glucose unstable on telehealth")
    page.get_by_role("button", name="Send the referral").click()
    page.wait_for_url(f"**/app/people/{MRS}**")
    page.goto("/app/referrals")
    made = page.locator("#made + table")
    reference = made.get_by_role("link", name=re.compile(r"^R\d{6}$")).first.inner_text()

    # 2. The diabetes nurse finds it in the service's inbox, accepts it and books the visit.
    page = as_("nurse.diabetes")
    assert "Blood glucose out of range" in notes(page)  # the specialist nurse was alerted too
    page.goto("/app/referrals")
    page.locator("#inbox-diabetes-specialist-nursing + table").get_by_role(
        "link", name=reference
    ).click()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url("**saved=1")
    visit = dt.date.today() + dt.timedelta(days=1)
    page.get_by_label("Visit date").fill(visit.isoformat())
    page.get_by_label("Time (UK)").fill("10:00")
    page.get_by_label("Who will see the person").fill("Rhys Owen")
    page.get_by_role("button", name="Book a visit").click()
    page.wait_for_url("**saved=1")
    assert "Carys Evans" in told(page)  # the referrer is told of the booking

    # 3. She trips: the pendant alerts the control centre (the telecare platform's event).
    telecare = device_token(url, "telecare.platform", "Telecare platform")
    alarm = post_event(
        base,
        telecare,
        {
            "nhs_number": MRS,
            "type": "fall_alarm",
            "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
            "external_id": "pendant-alarm-1",
            "payload": {"device": "pendant"},
        },
    )
    inc = f"A{alarm['incident_id']:06d}"
    page = as_("control.centre")
    page.goto("/app/")
    assert "Alarm incidents in your queue (1)" in page.locator("main").inner_text()
    page.goto("/app/incidents")
    page.get_by_role("link", name=inc).click()
    page.get_by_label("Who from rapid response is going (optional)").select_option(
        label="Owain Jenkins (rapid response)"
    )
    page.get_by_role("button", name="Dispatch rapid response").click()
    shown = told(page)
    for name in ("Owain Jenkins", "Megan Roberts", "Elin Thomas", "Dr Gwen Price", "Carys Evans"):
        assert name in shown, (name, shown)

    # 4. Rapid response goes at once: the home visit is theirs; arrival, then the outcome.
    page = as_("rapid.response")
    page.goto("/app/")
    assert "Urgent home visit after fall alarm" in page.locator("#tasks ~ table").inner_text()
    page.goto("/app/incidents")
    page.get_by_role("link", name=inc).click()
    page.get_by_role("button", name="Record arrival").click()
    page.get_by_label("Referred").check()
    page.get_by_label("Note (optional)").fill("Sore left wrist: district nurse to refer for X-ray")
    page.get_by_role("button", name="Record the outcome and close").click()
    assert "referred" in page.locator("main").inner_text()
    assert "Nobody there" not in page.locator("main").inner_text()

    # 5. Her support worker has been told, at each step.
    seen = notes(as_("support.worker"))
    assert "fall alarm" in seen.lower() and inc in seen, seen

    # 6. Community nursing has been told, and refers directly for a local X-ray.
    page = as_("district.nurse")
    assert inc in notes(page)
    page.goto(f"/app/people/{MRS}/referrals/new")
    page.get_by_label("Community hospital X-ray").check()
    page.get_by_label("Urgent").check()
    page.get_by_label("Reason for referral").fill("Fall at home: sore left wrist, X-ray today")
    page.get_by_role("button", name="Send the referral").click()
    page.wait_for_url(f"**/app/people/{MRS}**")

    # 7. The GP has been told, and adjusts the care plan: every agency is informed.
    page = as_("gp.jones")
    assert inc in notes(page)
    page.goto(f"/app/people/{MRS}/care-plan/edit")
    blank = page.locator("input[id^=int_desc_]").last
    assert blank.input_value() == ""
    i = blank.get_attribute("id").removeprefix("int_desc_")
    blank.fill("Falls review after the pendant alarm, with the wrist X-ray result")
    page.locator(f"#int_org_{i}").fill("District nursing")
    page.locator(f"#int_role_{i}").select_option("district_nurse")
    page.locator(f"#int_due_{i}").fill((dt.date.today() + dt.timedelta(days=7)).isoformat())
    page.get_by_label("Step up").check()
    page.get_by_role("button", name="Save the care plan").click()
    page.wait_for_url(f"**/app/people/{MRS}**")
    shown = told(page)
    for name in ("Carys Evans", "Rhys Owen", "Sian Davies", "Bethan Hughes", "Megan Roberts"):
        assert name in shown, (name, shown)
    check(page, "acceptance-plan-saved-1280")

    # 8. Social care and home care see what changed, in words.
    for who in ("social.worker", "home.care"):
        seen = notes(as_(who))
        assert "stepped up Mrs Jones's care plan" in seen, (who, seen)
        assert "Falls review after the pendant alarm" in seen, (who, seen)

    # 9. No admission, and every agency informed about her fall.
    for who in AGENCIES:
        seen = notes(as_(who))
        fall = inc in seen or "Falls review after the pendant alarm" in seen
        assert fall, (who, seen)
    # ... and nobody outside her care: a GP at another practice was told nothing.
    assert "Jones" not in as_("gp.elsewhere").locator("main").inner_text()
    page = as_("coordinator")
    page.goto(f"/app/people/{MRS}")
    timeline = page.locator("#timeline-table").inner_text()
    assert f"Fall alarm {inc}: closed, referred" in timeline
    assert "dmission" not in timeline  # no hospital admission on her record
    check(page, "acceptance-patient-1280")
    page.goto("/app/discharges")
    assert "JONES, Margaret" not in page.locator("main").inner_text()
    engine = make_engine(url)
    with session_factory(engine)() as s:
        assert (
            s.execute(select(DischargePlan).where(DischargePlan.nhs_number == MRS)).first() is None
        )
    engine.dispose()


def admit(base: str, db_url: str, due: dt.date) -> str:
    """The hospital PAS posts Mrs Jones's admission; returns Mr Jones's NHS number."""
    token = device_token(db_url, "pas.feed", "Hospital PAS")
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        mr = s.execute(
            select(PersonLink.related_nhs_number).where(PersonLink.nhs_number == MRS)
        ).scalar_one()
    engine.dispose()
    post_event(
        base,
        token,
        {
            "nhs_number": MRS,
            "type": "admission",
            "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(),
            "external_id": f"pas-admission-{due.isoformat()}",
            "payload": {"ward": "Ward 3", "expected_discharge_date": due.isoformat()},
        },
    )
    return str(mr)


def today_failure_points(as_: Agencies, base: str) -> None:
    width = 1280
    today = dt.date.today()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 or 7)
    mr = admit(base, STORE[base], friday)
    # Carer admitted: the cared-for man is flagged, and the social worker has the task.
    page = as_("social.worker")
    page.goto("/app/")
    tasks = page.locator("#tasks + table")
    assert tasks.get_by_text("who has dementia, may be without his carer").count() >= 1
    assert tasks.get_by_text("confirm the package of care").count() >= 1
    page.goto(f"/app/people/{mr}")
    assert "may be without his carer" in page.locator("#alerts").inner_text()
    # Discharge before a weekend without its package: flagged on the co-ordinator's list.
    page = as_("coordinator")
    page.goto("/app/discharges")
    flags = page.locator("#discharge-flags")
    assert f"Due home {friday:%A %-d %B} without a confirmed package of care" in (
        flags.inner_text()
    )
    check(page, f"today-discharges-{width}")
    phone = as_.new_page(width=390)  # the same pages on a phone, before anything is fixed
    sign_in(phone, "coordinator")
    for path, name in (("/app/discharges", "discharges"), (f"/app/people/{MRS}/discharge", "plan")):
        no_sideways_scroll(phone, path)
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


def test_jones_stories_integrated_then_today(new_page: Any, server: str) -> None:
    as_ = Agencies(new_page)
    integrated_story(as_, server)
    today_failure_points(as_, server)
