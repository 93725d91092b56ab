"""Reads do not take SQLite's write lock; their audit entries are chained afterwards in a
short transaction of their own; a read-mode session refuses to write; one process's
writers queue at its gate, not in SQLite's sleeping busy handler."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

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


def test_writers_of_one_process_queue_at_its_gate_not_in_sqlite(url: str) -> None:
    """With SQLite's own busy wait switched off, any two writers meeting at SQLite would
    fail at once ("database is locked"); the process's gate queues them instead, and the
    next one starts as the last commits (two engines on one file share the gate)."""
    engines = [make_engine(url), make_engine(url)]
    for engine in engines:

        @event.listens_for(engine, "connect")
        def _no_busy_wait(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA busy_timeout=0")

    errors: list[BaseException] = []
    go = threading.Barrier(8)

    def write(k: int) -> None:
        sessions = session_factory(engines[k % 2])
        go.wait()
        for _ in range(10):
            try:
                with sessions() as s, s.begin():
                    s.execute(text("UPDATE audit_head SET last_seq = last_seq + 1"))
                    time.sleep(0.001)  # hold the lock while others arrive
            except BaseException as e:
                errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with session_factory(engines[0])() as s:
        assert s.execute(text("SELECT last_seq FROM audit_head")).scalar_one() == 80
    for engine in engines:
        engine.dispose()
