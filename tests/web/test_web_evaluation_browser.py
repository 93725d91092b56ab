"""The evaluation page in Chromium as the commissioner, at desktop and phone width, with
axe: the forest plot visible with its title and description, its labels inside it and
legible, no sideways scrolling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from live_server import live_server
from test_web_browser import check, sign_in
from test_web_evaluation import stored
from web_helpers import demo_store

from careweave.care import evaluations
from careweave.server import build_app
from careweave.settings import Settings
from careweave.store.db import make_engine, session_factory, transaction

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("evaluation-browser")
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    with transaction(session_factory(make_engine(url))) as s:
        evaluations.save(
            s,
            stored(),
            {"follow_up_days": 365, "prognostic": "fallback", "data_from": "2019-01-01"},
            dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        )
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="e" * 32))
    with live_server(app) as base:
        yield base


@pytest.mark.parametrize("width", [1280, 390])
def test_commissioner_reads_the_evaluation(browser: Any, server: str, width: int) -> None:
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
            "link", name="Evaluation: case management against matched controls"
        ).click()
        page.wait_for_url("**/app/population/evaluation")
        assert not errors, errors
        assert page.get_by_role("heading", name="Evaluation: case management").is_visible()
        assert page.locator("#verdict").get_by_text("12% fewer emergency admissions").is_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (width, overflow)
        chart = page.locator("svg.cw-chart:visible")
        assert chart.count() == 1
        assert chart.locator("title").count() == 1 and chart.locator("desc").count() == 1
        # every label inside the drawing and at least 10 px high as shown
        box = chart.bounding_box()
        assert box is not None
        for t in chart.locator("text").all():
            b = t.bounding_box()
            assert b is not None and b["height"] >= 10, (width, t.text_content())
            assert box["x"] - 1 <= b["x"] and b["x"] + b["width"] <= box["x"] + box["width"] + 1, (
                width,
                t.text_content(),
            )
        check(page, f"evaluation-{width}")
    finally:
        ctx.close()
