"""The maturity pages in Chromium, with axe: a commissioner and a care co-ordinator walk the
list, the grid (with evidence from a planted warehouse), the history, the comparison and
(the commissioner) the forms, at 1280 and 390 px; then a commissioner rates an element,
attaches a document, and meets the 409 page when someone saved first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server
from test_maturity_evidence import make_warehouse
from test_web_browser import check, new_page, sign_in
from web_helpers import demo_store

from careweave.server import build_app
from careweave.settings import Settings

pytestmark = pytest.mark.browser
__all__ = ["new_page"]  # the fixtures, used by name

DRAFT = "/app/maturity/2"
WALKS = {
    "commissioner": [
        "/app/maturity",
        DRAFT,
        f"{DRAFT}/history",
        "/app/maturity/compare/ccm-wales",
        "/app/maturity/compare/integration-nine-areas",
        f"{DRAFT}/elements/needs-assessment",
        "/app/maturity/new",
    ],
    "coordinator": ["/app/maturity", DRAFT, f"{DRAFT}/history", "/app/maturity/compare/ccm-wales"],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("maturity-browser")
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    warehouse = make_warehouse(tmp / "warehouse.duckdb", locality="DEMO-LOC")
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="m" * 32)
    )
    with live_server(app) as base:
        yield base


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("username", list(WALKS))
def test_maturity_walk(new_page: Any, username: str, width: int) -> None:
    page = new_page(width=width)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, username)
    for i, path in enumerate(WALKS[username]):
        resp = page.goto(path)
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        assert not errors, (path, errors)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, width, overflow)
        check(page, f"maturity-{username}-{i}-{width}")
    page.goto("/app/maturity/compare/integration-nine-areas")
    heads = page.locator("table").first.locator("thead th").all_inner_texts()
    assert [h.split(",")[0] for h in heads[1:]] == ["DEMO-LOC", "DEMO-LOC-NORTH", "DEMO-LOC-SOUTH"]
    page.goto(DRAFT)
    needs = page.locator("tr#needs-assessment")
    assert "Suggests" in needs.inner_text()  # the planted warehouse speaks to it
    assert (page.get_by_role("link", name="Rate Needs assessment").count() == 1) == (
        username == "commissioner"
    )


def test_a_commissioner_rates_attaches_and_meets_a_conflict(new_page: Any, tmp_path: Path) -> None:
    page = new_page()
    sign_in(page, "commissioner")
    other = new_page()
    sign_in(other, "commissioner")
    page.goto(DRAFT)
    page.get_by_role("link", name="Rate Partnership arrangements").click()
    page.wait_for_url("**/elements/partnership-arrangements")
    other.goto(f"{DRAFT}/elements/partnership-arrangements")  # the same version, in another tab
    page.get_by_label("Progress in development").check()
    page.get_by_label("Narrative").fill("Accountability agreed by the board and councils")
    doc = tmp_path / "Board minutes.pdf"
    doc.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("Document", exact=True).set_input_files(str(doc))
    page.get_by_label("What the document shows (optional)").fill("Board minutes, March")
    page.get_by_role("button", name="Save a new version").click()
    page.wait_for_url("**/app/maturity/2?saved=partnership-arrangements*")
    banner = page.locator(".nhsuk-notification-banner")
    assert "Partnership arrangements saved as version" in banner.inner_text()
    row = page.locator("tr#partnership-arrangements")
    assert "Progress in development" in row.inner_text()
    assert "Board minutes, March (Board minutes.pdf" in row.inner_text()
    check(page, "maturity-rated-1280")
    other.get_by_label("Initial development").check()
    other.get_by_role("button", name="Save a new version").click()
    summary = other.locator(".nhsuk-error-summary")
    summary.wait_for()
    assert summary.is_visible() and "Reload it" in summary.inner_text()
    check(other, "maturity-conflict-1280")
