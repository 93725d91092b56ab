"""The capacity and unmet-need pages in Chromium as the commissioner, and the decline
form's 'what the person needs' as the diabetes nurse, at desktop and phone width, with axe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from live_server import live_server
from test_web_browser import MRS, check, sign_in
from web_helpers import demo_store

from careweave.server import build_app
from careweave.settings import Settings
from careweave.store.db import make_engine, session_factory
from careweave.store.models import Organisation, Person, Referral

pytestmark = pytest.mark.browser


def _population(url: str) -> None:
    """A second locality with people at every level and declines with notes, so the pages
    have figures to show (the demo store has only the Joneses)."""
    now = dt.datetime.now(dt.UTC)
    with session_factory(make_engine(url))() as s:
        s.add(Organisation(org_id="VALE-LOC", org_type="locality", name="Vale locality"))
        s.add(
            Organisation(
                org_id="VALE-GP", org_type="gp_practice", name="Vale surgery", parent_id="VALE-LOC"
            )
        )
        n = 0
        for practice in ("VALE-GP", "DEMO-GP1"):
            for level, count in ((4, 60), (3, 140), (2, 300), (1, 500)):
                for _ in range(count):
                    n += 1
                    s.add(
                        Person(
                            nhs_number=f"8{n:09d}",
                            date_of_birth=dt.date(1945, 1, 1),
                            sex="female",
                            ethnic_group="A",
                            practice_id=practice,
                            ccm_level=level,
                            synced_at=now,
                        )
                    )
        s.flush()
        needs = [
            "Evening insulin visits after 6pm",
            "Night sitting for a carer's break",
            "Weekend district nurse visits",
            "Same-day falls assessment at home",
        ]
        for i in range(10):
            s.add(
                Referral(
                    nhs_number=f"8{i + 1:09d}",
                    service_id="district-nursing",
                    urgency="routine",
                    reason="x",
                    status="declined",
                    received_at=now - dt.timedelta(days=5 + i),
                    respond_by=now - dt.timedelta(days=2 + i),
                    responded_at=now - dt.timedelta(days=4 + i),
                    decline_reason="no_capacity",
                    unmet_need_note=needs[i % len(needs)],
                    history=[],
                    source="test",
                    version=1,
                )
            )
        s.commit()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("capacity-browser")
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    _population(url)
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="d" * 32))
    with live_server(app) as base:
        yield base


def _context(browser: Any, server: str, width: int) -> Any:
    ctx = browser.new_context(base_url=server, viewport={"width": width, "height": 900})
    ctx.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(server) else route.abort(),
    )
    return ctx


def _no_sideways_scroll(page: Any, what: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, (what, overflow)


@pytest.mark.parametrize("width", [1280, 390])
def test_nurse_declines_for_unmet_need(browser: Any, server: str, width: int) -> None:
    ctx = _context(browser, server, width)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, "coordinator")
        page.goto(f"/app/people/{MRS}/referrals/new")
        page.locator("#service-diabetes-specialist-nursing").check()
        page.locator("#urgency-routine").check()
        page.get_by_label("Reason for referral").fill(f"Evening insulin help ({width})")
        page.get_by_role("button", name="Send the referral").click()
        page.wait_for_load_state()
        ctx.clear_cookies()
        sign_in(page, "nurse.diabetes")
        page.goto("/app/referrals")
        page.locator("a[href^='/app/referrals/']").first.click()
        page.wait_for_url("**/app/referrals/*")
        page.locator("summary", has_text="Decline").click()
        page.get_by_label("Why is it declined?").select_option("no_capacity")
        page.get_by_role("button", name="Decline").click()
        page.wait_for_load_state()
        summary = page.locator(".nhsuk-error-summary")
        assert summary.is_visible()
        assert "Enter what the person needs that could not be provided" in summary.inner_text()
        _no_sideways_scroll(page, "decline error")
        check(page, f"capacity-decline-error-{width}")
        summary.get_by_role("link").first.click()
        assert page.evaluate("document.activeElement.id") == "unmet_need_note"
        page.locator("#unmet_need_note").fill("Insulin visits after 6pm: no evening staff")
        page.get_by_role("button", name="Decline").click()
        page.wait_for_url("**saved=1")
        assert page.get_by_text(
            "Needed: Insulin visits after 6pm: no evening staff"
        ).first.is_visible()
        _no_sideways_scroll(page, "declined")
        check(page, f"capacity-declined-{width}")
        # the refused decline's 422 is the only error the browser reports
        assert [e for e in errors if "status of 422" not in e] == [], errors
    finally:
        ctx.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_commissioner_reads_capacity_and_unmet_need(browser: Any, server: str, width: int) -> None:
    ctx = _context(browser, server, width)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, "commissioner")
        page.goto("/app/population")
        page.get_by_role("link", name="Capacity: staff needed and in post, by locality").click()
        page.wait_for_url("**/app/population/capacity")
        for i, path in enumerate(
            ["/app/population/capacity", "/app/population/capacity?area=VALE-LOC"]
        ):
            resp = page.goto(path)
            assert resp is not None and resp.status == 200, path
            charts = page.locator("svg.cw-chart:visible")
            assert charts.count() == 1, path
            assert charts.first.locator("title").count() == 1
            assert charts.first.locator("desc").count() == 1
            _no_sideways_scroll(page, path)
            check(page, f"capacity-{i}-{width}")
        vale = page.locator("#capacity-table tr[data-staff='case_manager']").inner_text()
        assert "1.2" in vale  # 60 people at level 4 / 50 per WTE
        page.get_by_role("link", name="Unmet need: what referrals say is missing").click()
        page.wait_for_url("**/app/population/unmet-need")
        assert page.get_by_text("Evening insulin visits after 6pm").first.is_visible()
        _no_sideways_scroll(page, "unmet need")
        page.locator("details summary").first.click()
        check(page, f"unmet-need-{width}")
        assert not errors, errors
    finally:
        ctx.close()
