"""The health needs assessment page in Chromium as the commissioner, at 1280, 390 and 320 px,
with axe: reached from the population page, no sideways scrolling, every chart legible
with its title, description and data table; the benchmark chart's peer-median line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from live_server import live_server
from test_web_benchmark import add_people
from test_web_browser import CHART_TEXT, WIDEST, check, sign_in
from test_web_intelligence import DNA, make_measures
from test_web_needs import make_needs
from web_helpers import demo_store

from careweave.server import build_app
from careweave.settings import Settings

pytestmark = pytest.mark.browser

PAGES = [
    "/app/population/needs?area=practice:DEMO-GP1&register=diabetes&by=locality",
    f"/app/population/benchmark?kpi={DNA}&by=practice&unit=GP4",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("needs-browser")
    warehouse = make_needs(add_people(make_measures(tmp / "warehouse.duckdb")))
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="d" * 32)
    )
    with live_server(app) as base:
        yield base


def _ok(page: Any, path: str, width: int, errors: list[str]) -> None:
    assert not errors, (path, errors)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, (path, width, overflow, page.evaluate(WIDEST))
    assert page.evaluate(CHART_TEXT) == [], (path, width)
    charts = page.locator("svg.cw-chart:visible")
    assert charts.count() >= 1, path
    for i in range(charts.count()):
        assert charts.nth(i).locator("title").count() == 1


@pytest.mark.parametrize("width", [1280, 390, 320])
def test_commissioner_reads_the_needs_assessment(browser: Any, server: str, width: int) -> None:
    ctx = browser.new_context(base_url=server, viewport={"width": width, "height": 900})
    ctx.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(server) else route.abort(),
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, "commissioner")
        page.goto("/app/population")
        page.get_by_role("link", name="Health needs assessment", exact=False).first.click()
        page.wait_for_url("**/app/population/needs")
        _ok(page, "/app/population/needs", width, errors)
        row = page.locator('#area-registers tr[data-register="diabetes"]')
        assert "0.80" in row.inner_text() and "(0.74 to 0.87)" in row.inner_text()
        assert page.locator("#needs-levels").is_visible()
        # the ratio chart shown at this width has its axis: ticks labelled 0 and 1
        ticks = page.locator("svg.cw-ratio:visible .cw-tick + text").all_text_contents()
        assert ticks[0] == "0" and "1" in ticks, ticks
        check(page, f"needs-0-{width}")
        # choose an area and a register with the form, as a commissioner would
        page.get_by_label("Area").select_option("practice:DEMO-GP1")
        page.get_by_label("Compare", exact=True).select_option("locality")
        page.get_by_role("button", name="Show", exact=True).click()
        page.wait_for_url("**area=practice*")
        assert page.get_by_role(
            "heading", name="Recorded against expected: Demo surgery (practice)"
        ).is_visible()
        assert page.get_by_role("heading", name="Diabetes mellitus by locality").is_visible()
        for i, path in enumerate(PAGES, start=1):
            resp = page.goto(path)
            assert resp is not None and resp.status == 200, path
            _ok(page, path, width, errors)
            check(page, f"needs-{i}-{width}")
        peer = page.locator("svg#bench .cw-bench-peer-median")
        assert peer.count() == 1
    finally:
        ctx.close()
