"""Fixtures for the workbench: a demo store, a signed-in TestClient per role, and headless
Chromium for the browser tests (one per test process: each test and module has its own
browser contexts, so nothing is shared between them but the browser process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_helpers import demo_store, sign_in

from careweave.server import build_app
from careweave.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright, launched once (the driver and the browser
    take a few seconds of CPU to start, and a dozen modules use them)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("web") / "store.db"
    url = f"sqlite:///{path}"
    demo_store(url)
    return url


@pytest.fixture(scope="module")
def app(demo_db: str):  # type: ignore[no-untyped-def]
    return build_app(Settings(db=demo_db, insecure_cookies=True, pseudonym_key="k" * 32))


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
