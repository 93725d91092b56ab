"""Fixtures for the workbench: a demo store, a signed-in TestClient per role, and headless
Chromium for the browser tests (one per test process: each test and module has its own
browser contexts, so nothing is shared between them but the browser process).

Under ``pytest -n 2 --dist loadgroup`` (scripts/run-tests.sh) each browser module is its own
xdist group (``browser:<module>``, added below to every ``@pytest.mark.browser`` test that
names no group of its own): a module's tests share one live server and one store (module
fixtures, and some tests read what an earlier one left), so they run in order on one
worker, while different modules run on both workers at once. That is at most one Chromium
per worker, each server on its own port (``live_server``), each store a copy in the
module's own temporary directory. (One ``browser`` group for all modules, as they were
marked before, would run every browser test on one worker in series; under pytest 9.2 no
group was honoured until tests/xdist_groups.py, so each test went out on its own.)
"""

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


@pytest.hookimpl(tryfirst=True)  # before the groups go into the node ids (xdist_groups.py)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each browser module its own xdist group, and browser tests first in the run.

    xdist hands out groups with more tests first, then single tests in collection order;
    a browser module of one long test (the acceptance walk) collected last would start
    last and keep one worker busy after the other had finished. The order within each
    module, and of everything else, is unchanged.
    """
    browser = [item for item in items if item.get_closest_marker("browser")]
    for item in browser:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(f"browser:{item.path.stem}"))
    chosen = set(browser)
    items[:] = browser + [item for item in items if item not in chosen]


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
