"""Helpers shared by the workbench tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from careweave.web.demo import DEMO_PASSWORD


def sign_in(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the HTML form; returns the page's CSRF token."""
    page = client.get("/app/sign-in")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/app/sign-in",
        data={"username": username, "password": password, "login_csrf": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    home = client.get("/app/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None
    return csrf.group(1)
