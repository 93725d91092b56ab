"""Reads do not take SQLite's write lock; their audit entries are chained afterwards in a
short transaction of their own; a read-mode session refuses to write."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from careweave.api import create_app
from careweave.security import audit
from careweave.store.db import make_engine, read_only, session_factory
from careweave.store.models import AuditEntry, Organisation

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    u = f"sqlite:///{tmp_path / 'store.db'}"
    create_app(u, pseudonym_key=b"k" * 32)
    return u


def test_a_read_proceeds_while_a_writer_holds_the_lock(url: str) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    writer = engine.connect()
    writer.begin()  # BEGIN IMMEDIATE: holds the write lock
    writer.execute(text("UPDATE audit_head SET last_seq = last_seq"))
    try:
        with sessions() as s:
            read_only(s)
            t = time.perf_counter()
            assert s.execute(select(func.count()).select_from(Organisation)).scalar_one() == 0
            s.commit()
            assert time.perf_counter() - t < 1.0  # a writer-mode session would wait 60 s
    finally:
        writer.rollback()
        writer.close()
    engine.dispose()


def test_read_audit_is_chained_after_commit_and_dropped_on_rollback(url: str) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as s:
        read_only(s)
        audit.record(s, actor="a", action="read", resource="person", now=NOW)
        s.commit()
    with sessions() as s:
        read_only(s)
        audit.record(s, actor="b", action="read", resource="person", now=NOW)
        s.rollback()
    with sessions() as s:
        actors = list(s.execute(select(AuditEntry.actor)).scalars())
        assert actors == ["a"]
        assert audit.verify(s).intact
    engine.dispose()


def test_a_read_mode_session_refuses_to_write(url: str) -> None:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        read_only(s)
        s.add(Organisation(org_id="X", org_type="gp_practice", name="X"))
        with pytest.raises(RuntimeError, match="read-only request tried to write"):
            s.flush()
    engine.dispose()
