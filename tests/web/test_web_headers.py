"""Security headers on every page and API answer, and no inline script or style that the
Content-Security-Policy would refuse: every page reachable from each role's home page."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from careweave.api.headers import CSP

Client = Callable[[str], tuple[TestClient, str]]
USERS = ("coordinator", "gp.jones", "home.care", "commissioner", "demo.admin", "gp.elsewhere")
SKIP = re.compile(r"sign-out|\.csv$|^/docs|^/openapi|^/assets")


class Page(HTMLParser):
    """Links, and anything a strict CSP refuses: inline scripts, style elements and
    attributes, inline event handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "script" and not a.get("src"):
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        for name, value in attrs:
            if name == "style":
                self.inline.append(f"style= on <{tag}>")
            if name.startswith("on"):
                self.inline.append(f"{name}= on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.inline.append(f"javascript: URL on <{tag}>")


def assert_headers(r: object, path: str, personal: bool = True) -> None:
    h = r.headers  # type: ignore[attr-defined]
    assert h["content-security-policy"] == CSP, path
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert "'unsafe-inline'" not in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY", path
    assert h["x-content-type-options"] == "nosniff", path
    assert h["referrer-policy"] == "no-referrer", path
    if personal:
        assert h["cache-control"] == "no-store", path


@pytest.mark.parametrize("username", USERS)
def test_every_page_has_the_headers_and_no_inline_script(client_for: Client, username: str) -> None:
    c, _ = client_for(username)
    queue, seen = ["/app/"], set()
    while queue and len(seen) < 60:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        r = c.get(path)
        assert r.status_code < 500, path
        assert_headers(r, path)
        if not r.headers["content-type"].startswith("text/html"):
            continue
        page = Page()
        page.feed(r.text)
        assert page.inline == [], f"{path}: {page.inline}"
        for href in page.links:
            href = href.split("#")[0]
            if href.startswith("/") and not href.startswith("//") and not SKIP.search(href):
                queue.append(href)
    assert len(seen) >= 3, seen


def test_api_answers_errors_and_public_pages_have_the_headers(app) -> None:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    for path, status in (
        ("/health", 200),
        ("/auth/me", 401),
        ("/people/9434765919", 401),
        ("/no-such-thing", 404),
        ("/app/sign-in", 200),
        ("/app/directory", 200),
        ("/openapi.json", 200),
    ):
        r = c.get(path)
        assert r.status_code == status, path
        assert_headers(r, path)
    asset = c.get("/assets/careweave.css")
    assert_headers(asset, "/assets/careweave.css", personal=False)
    assert asset.headers.get("cache-control") != "no-store"
    # The interactive docs need Swagger UI's inline bootstrap and CDN: their own policy.
    docs = c.get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"
