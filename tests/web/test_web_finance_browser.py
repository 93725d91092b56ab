"""The finance page in Chromium as the commissioner, at desktop and phone width, with axe:
reached from the population pages, charts and tables, no sideways scroll."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server
from test_web_browser import check, sign_in
from test_web_finance import warehouse
from web_helpers import demo_store

from careweave.server import build_app
from careweave.settings import Settings

__all__ = ["warehouse"]  # the fixture, used by name
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('finance-browser') / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="g" * 32)
    )
    with live_server(app) as base:
        yield base


@pytest.mark.parametrize("width", [1280, 390])
def test_commissioner_reads_the_finance_page(browser: Any, server: str, width: int) -> None:
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
        page.get_by_role(
            "link", name="Finance: spend by setting and funder, capitated budgets against actual"
        ).click()
        page.wait_for_url("**/app/population/finance")
        charts = page.locator("svg.cw-chart:visible")
        assert charts.count() == 3
        for i in range(3):
            assert charts.nth(i).locator("title").count() == 1
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, overflow
        check(page, f"finance-{width}")
        page.get_by_label("Group by").select_option("practice")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**by=practice**")
        assert page.get_by_role("heading", name="Spend per head by practice").is_visible()
        check(page, f"finance-practice-{width}")
        assert not errors, errors
    finally:
        ctx.close()
