"""The alarm pathway in Chromium at 1280 and 390 px: the control centre dispatches from its
queue, rapid response records arrival and the outcome, the co-ordinator sees the outcome on the
timeline and keeps the daughter informed; axe on every new page (queue, incident, contact,
alerts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from live_server import live_server
from sqlalchemy import select
from test_web_browser import MRS, check, new_page, sign_in, sign_out
from web_helpers import demo_store

from careweave.security import auth
from careweave.server import build_app
from careweave.settings import Settings
from careweave.store.db import make_engine, session_factory
from careweave.store.models import User

__all__ = ["new_page"]  # fixtures, used by name
pytestmark = pytest.mark.browser
STORE: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo over uvicorn in a thread (as test_web_browser), remembering its store."""
    url = f"sqlite:///{tmp_path_factory.mktemp('alarm-browser') / 'store.db'}"
    demo_store(url)
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="b" * 32))
    with live_server(app) as base:
        STORE[base] = url
        yield base


def alarm(base: str, db_url: str, minutes_ago: int) -> int:
    engine = make_engine(db_url)
    with session_factory(engine)() as s, s.begin():
        now = dt.datetime.now(dt.UTC)
        feed = s.execute(select(User).where(User.username == "telecare.feed")).scalar_one_or_none()
        if feed is None:
            feed = auth.create_user(
                s,
                username="telecare.feed",
                display_name="Telecare platform",
                role="integration",
                password=None,
                now=now,
            )
        token = auth.issue_token(s, feed, "browser test", now)
    engine.dispose()
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    r = httpx.post(
        f"{base}/events",
        json={
            "nhs_number": MRS,
            "type": "fall_alarm",
            "occurred_at": at.isoformat(),
            "payload": {"device": "pendant"},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["incident_id"])


@pytest.mark.parametrize("width", [1280, 390])
def test_alarm_pathway_in_the_browser(new_page: Any, server: str, width: int) -> None:
    inc = alarm(server, STORE[server], 20)
    page = new_page(width=width)
    sign_in(page, "control.centre")
    page.goto("/app/incidents")
    assert page.get_by_role("link", name=f"A{inc:06d}").is_visible()
    check(page, f"incidents-queue-{width}")
    page.get_by_role("link", name=f"A{inc:06d}").click()
    check(page, f"incident-open-{width}")
    page.get_by_label("Who from rapid response is going (optional)").select_option(
        label="Owain Jenkins (rapid response)"
    )
    page.get_by_role("button", name="Dispatch rapid response").click()
    page.locator("#told").wait_for(state="visible")
    check(page, f"incident-dispatched-{width}")
    sign_out(page)
    sign_in(page, "rapid.response")
    page.goto("/app/incidents")
    page.get_by_role("link", name=f"A{inc:06d}").click()
    page.get_by_role("button", name="Record arrival").click()
    page.get_by_role("button", name="Record the outcome and close").click()
    page.locator(".nhsuk-error-summary").wait_for(state="visible")  # no outcome chosen
    check(page, f"incident-outcome-error-{width}")
    page.get_by_label("Treated at home").check()
    page.get_by_role("button", name="Record the outcome and close").click()
    assert "treated at home" in page.locator("main").inner_text()
    check(page, f"incident-closed-{width}")
    sign_out(page)
    sign_in(page, "coordinator")
    page.goto(f"/app/people/{MRS}")
    assert f"Fall alarm A{inc:06d}: closed, treated at home" in page.content()
    page.goto(f"/app/people/{MRS}/contacts/new")
    check(page, f"contact-new-{width}")
    page.goto("/app/account/alerts")
    check(page, f"account-alerts-{width}")
