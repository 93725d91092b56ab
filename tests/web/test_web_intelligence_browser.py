"""The KPI dashboard, funnel and benchmarking pages in Chromium at desktop and phone width, with axe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from live_server import live_server
from test_web_browser import check, sign_in
from test_web_intelligence import DNA, make_measures
from web_helpers import demo_store

from careweave.server import build_app
from careweave.settings import Settings

pytestmark = pytest.mark.browser

PAGES = [
    "/app/population/kpis",
    "/app/population/kpis?area=practice:DEMO-GP1&from=2025-01&to=2025-08",
    f"/app/population/benchmark?kpi={DNA}&by=practice&unit=GP4",
    f"/app/population/funnel?kpi={DNA}&by=practice&overdispersion=additive",
    f"/app/population/funnel?kpi={DNA}&by=practice",  # last: its outliers are checked below
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("intel-browser")
    warehouse = make_measures(tmp / "warehouse.duckdb")
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="c" * 32)
    )
    with live_server(app) as base:
        yield base


@pytest.mark.parametrize("width", [1280, 390])
def test_commissioner_walks_the_dashboard_and_funnel(browser: Any, server: str, width: int) -> None:
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
        page.get_by_role("link", name="KPI dashboard").first.click()
        page.wait_for_url("**/app/population/kpis")
        for i, path in enumerate(PAGES):
            resp = page.goto(path)
            assert resp is not None and resp.status == 200, path
            assert not errors, (path, errors)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, width, overflow)
            # every chart is visible at this width, with its title and description
            charts = page.locator("svg.cw-chart:visible")
            assert charts.count() >= 1, path
            assert charts.first.locator("title").count() == 1
            assert charts.first.locator("desc").count() == 1
            if "kpis" in path or "benchmark" in path:
                page.locator("details summary").first.click()  # open a data table
            check(page, f"intelligence-{i}-{width}")
        assert (
            page.locator("#outliers")
            .get_by_text("Above the 99.8% limit: Valley Surgery")
            .is_visible()
        )
    finally:
        ctx.close()
