"""Fixtures for the workbench: a demo store and a signed-in TestClient per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from web_helpers import demo_store, sign_in

from careweave.server import build_app
from careweave.settings import Settings


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
