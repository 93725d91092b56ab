"""Fixtures for the care co-ordination tests: a store on SQLite and on PostgreSQL, a
fixed clock, and the world of care_world.py built over it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from care_world import Clock, World, build_world
from fhir_warehouse import Demo, make_demo
from sqlalchemy import create_engine, text


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a new database on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = request.getfixturevalue("pg_url")
    name = f"cw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(store_url: str, clock: Clock) -> Iterator[World]:
    w = build_world(store_url, clock)
    try:
        yield w
    finally:
        w.client.close()


@pytest.fixture
def sqlite_world(tmp_path: Path, clock: Clock) -> Iterator[World]:
    w = build_world(f"sqlite:///{tmp_path / 'store.db'}", clock)
    try:
        yield w
    finally:
        w.client.close()


@pytest.fixture(scope="session")
def fhir_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A 200-person synthetic population in a warehouse, the demo store synced from it."""
    return make_demo(tmp_path_factory.mktemp("fhir-demo"))
