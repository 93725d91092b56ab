"""The outbox page in Chromium at 1280 and 390 px as the administrator: failed and retrying
messages, "Send again now", the banner; axe on each, no sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from live_server import live_server
from test_web_browser import check, new_page, sign_in
from test_web_outbox import seed_failures
from web_helpers import demo_store

from careweave.server import build_app
from careweave.settings import Settings

__all__ = ["new_page"]  # fixtures, used by name
pytestmark = pytest.mark.browser
IDS: dict[str, tuple[int, int]] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('outbox-browser') / 'store.db'}"
    demo_store(url)
    IDS["seeded"] = seed_failures(url)
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="b" * 32))
    with live_server(app) as base:
        yield base


@pytest.mark.parametrize("width", [1280, 390])
def test_outbox_page_in_the_browser(new_page: Any, server: str, width: int) -> None:
    text_id, _ = IDS["seeded"]
    page = new_page(width=width)
    sign_in(page, "demo.admin")
    page.get_by_role("link", name="Outbox").first.click()
    page.wait_for_url("**/app/outbox")
    assert page.locator("#outbox-problems").is_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow
    check(page, f"outbox-{width}")
    page.get_by_role("button", name=f"Send again now message {text_id}").click()
    page.locator("#retried").wait_for(state="visible")
    assert f"Message {text_id} will be sent again" in page.locator("#retried").inner_text()
    check(page, f"outbox-retried-{width}")
