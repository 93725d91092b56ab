"""Helpers shared by the workbench tests."""

from __future__ import annotations

import atexit
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from careweave.web import demo_setup
from careweave.web.demo import DEMO_PASSWORD

NO_WAREHOUSE = Path("/nonexistent/warehouse.duckdb")
_DEMO_TEMPLATES: dict[bool, Path] = {}


def demo_store(url: str, *, readings: bool = True) -> None:
    """``demo_setup(url, NO_WAREHOUSE, readings=...)`` on a new SQLite store, by copying a
    demo store built once per test process (per xdist worker).

    A demo build is about 5 s of CPU (13 users, each an Argon2 hash of the demo password,
    and the store's migrations), and about twenty modules each want one; the copy (SQLite's
    backup API) is the same store, with the demo's times as of the first build in this
    process. The template is built by the product's own ``demo_setup``, and each copy is
    the test's own to change.
    """
    assert url.startswith("sqlite:///"), url
    target = Path(url.removeprefix("sqlite:///"))
    assert not target.exists(), f"{target}: demo_store makes a new store"
    template = _DEMO_TEMPLATES.get(readings)
    if template is None:
        home = Path(tempfile.mkdtemp(prefix="careweave-demo-template-"))
        atexit.register(shutil.rmtree, home, True)
        template = home / "store.db"
        demo_setup(f"sqlite:///{template}", NO_WAREHOUSE, readings=readings)
        _DEMO_TEMPLATES[readings] = template
    source, copy = sqlite3.connect(template), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()


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
