"""Fixtures for the workbench: a demo store and a signed-in TestClient per role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from careweave.api import create_app
from careweave.web import demo_setup
from careweave.web.demo import DEMO_PASSWORD


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("web") / "store.db"
    url = f"sqlite:///{path}"
    demo_setup(url, Path("/nonexistent/warehouse.duckdb"))
    return url


@pytest.fixture(scope="module")
def app(demo_db: str):  # type: ignore[no-untyped-def]
    return create_app(demo_db, cookie_secure=False, pseudonym_key=b"k" * 32)


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


@pytest.fixture
def client_for(app) -> Iterator[Callable[[str], tuple[TestClient, str]]]:  # type: ignore[no-untyped-def]
    clients: list[TestClient] = []

    def make(username: str) -> tuple[TestClient, str]:
        c = TestClient(app)
        clients.append(c)
        return c, sign_in(c, username)

    yield make
    for c in clients:
        c.close()
