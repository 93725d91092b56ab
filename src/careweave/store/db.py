"""Engines, sessions and schema upgrades for the operational store.

SQLite (a file, the default) and PostgreSQL are both first-class. On SQLite a
transaction starts with ``BEGIN IMMEDIATE`` (it takes the single-writer lock at
once), so concurrent writers queue instead of failing half-way, except a
session put in read mode by :func:`read_only` (every GET, HEAD and OPTIONS
request of the API and workbench): it begins with a plain ``BEGIN`` and takes no
lock, so a long read (a CSV export) never delays anyone. Within one process,
writers queue at a per-file gate before ``BEGIN IMMEDIATE`` (:class:`GatedConnection`),
so the next one starts the moment the last commits. A read-mode session may
not write: a flush with changes raises (a read transaction cannot safely become
a writer under WAL); its audit entries are chained in afterwards, in their own
short ``BEGIN IMMEDIATE`` transaction (careweave.security.audit).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, create_engine, event, insert, inspect
from sqlalchemy.engine import Engine, Result
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, UOWTransaction, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql.expression import Executable

from careweave.errors import CareweaveError, InputError

DEFAULT_DB_URL = "sqlite:///careweave.db"
MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "careweave_read_only"  # the execution option and session.info key of read mode
WRITE_REFUSED = "a read-only request tried to write to the store; make it a POST (store/db.py)"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a plain file path is taken as a SQLite file.

    Statement parameters (NHS numbers, answers) are kept out of error messages and
    logs (``hide_parameters``).
    """
    if "://" not in url:
        url = f"sqlite:///{url}"
    try:
        if url.startswith("sqlite"):
            engine = create_engine(
                url,
                connect_args={
                    "timeout": BUSY_TIMEOUT,
                    "check_same_thread": False,
                    "factory": GatedConnection,
                },
                pool_size=10,
                hide_parameters=True,
            )
            _sqlite_immediate(engine)
        else:
            engine = create_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True
            )
    except (ArgumentError, ImportError) as e:
        raise InputError(f"--db {url!r}: not a database URL this build supports ({e})") from e
    return engine


BUSY_TIMEOUT = 60  # seconds a SQLite writer waits for the lock before giving up

_GATES: dict[str, threading.Lock] = {}
_GATES_LOCK = threading.Lock()


def _gate(database: str | None) -> threading.Lock | None:
    """This process's writer gate for one SQLite file (None for an in-memory database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = os.path.realpath(database)
    with _GATES_LOCK:
        return _GATES.setdefault(key, threading.Lock())


class GatedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions pass this process's writer gate.

    SQLite has one writer at a time. A writer that finds the lock taken waits in SQLite's
    busy handler, which polls with sleeps growing to 100 ms: under load the lock sits free
    while the next writer sleeps, and whoever polls at the right moment wins, so the
    wait of a request is unbounded in practice (the p99 of bench_events) and the
    outbox's drainer, one thread among many, starves. So every write transaction of
    this process first takes the file's gate (a plain lock: the next writer is woken the
    moment the last one commits), then ``BEGIN IMMEDIATE``; commit, rollback and close
    release it. Only writers in other processes (a CLI job, a second server) still meet
    the busy handler. A transaction may end in another thread than it began (FastAPI
    runs a request's dependencies in different worker threads), hence a plain lock."""

    _cw_gate: threading.Lock | None = None
    _cw_held = False

    def _cw_release(self) -> None:
        if self._cw_held:
            self._cw_held = False
            assert self._cw_gate is not None
            self._cw_gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._cw_release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._cw_release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._cw_release()


def _begin_write(conn: Any) -> None:
    raw = conn.connection.dbapi_connection
    gate = getattr(raw, "_cw_gate", None)
    if gate is None or raw._cw_held:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    if not gate.acquire(timeout=BUSY_TIMEOUT):
        raise sqlite3.OperationalError("database is locked (waited for this process's writers)")
    raw._cw_held = True
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        raw._cw_release()
        raise


def _sqlite_immediate(engine: Engine) -> None:
    gate = _gate(engine.url.database)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, GatedConnection):
            dbapi_conn._cw_gate = gate
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: always consistent; a power cut may lose the last commits, never
        # corrupt. Production deployments use PostgreSQL.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql("BEGIN")
        else:
            _begin_write(conn)


def read_only(session: Session) -> None:
    """Put a fresh session's first transaction in read mode (see the module docstring).
    Only SQLite needs it (PostgreSQL readers never block writers); elsewhere it does
    nothing. Call it before the session has run any statement."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.info[READ_ONLY] = True
    session.connection(execution_options={READ_ONLY: True})


def is_read_only(session: Session) -> bool:
    return bool(session.info.get(READ_ONLY))


@event.listens_for(Session, "before_flush")
def _refuse_writes_when_reading(session: Session, _flush: UOWTransaction, _i: Any) -> None:
    if is_read_only(session) and (session.new or session.dirty or session.deleted):
        raise RuntimeError(WRITE_REFUSED)


def core(session: Session, statement: Executable, params: Any = None) -> Result[Any]:
    """Run a Core statement (one built once at import, over ``models.table_of`` columns)
    in the session's transaction, flushing first exactly when the ORM would autoflush.

    For the per-event hot paths: a Core statement is not re-compiled by the ORM, nor
    re-keyed for the compiled cache when built once, and its rows are plain tuples, so
    it costs a fraction of the same ``select(Model)``; but ``session.execute`` of a Core
    statement never autoflushes, so this does, to read what the transaction wrote."""
    if session.autoflush:
        session.flush()
    return session.execute(statement, params)


_INSERTS: dict[Any, Any] = {}  # by table: INSERT ... RETURNING every column, built once

T = TypeVar("T")


def insert_now(session: Session, obj: T) -> T:
    """Write a new ORM object's row now with one Core ``INSERT ... RETURNING`` and keep the
    object in the session as persistent, as if just loaded (every column set, nothing
    pending): its id at once, without a unit-of-work flush (and its listeners). For the
    rows each event writes (a task, an incident, a discharge plan); later changes to the
    object are flushed as usual. Column defaults apply as in a flush; what was pending is
    flushed first when autoflush is on. Refused in a read-only session, as a flush would
    be."""
    if is_read_only(session):
        raise RuntimeError(WRITE_REFUSED)
    if session.autoflush:  # what was pending first, as the unit of work would order it
        session.flush()
    state = instance_state(obj)
    mapper = state.mapper
    table = mapper.local_table
    assert isinstance(table, Table)
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table).returning(*table.c)
    columns = [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]
    held = state.dict
    row = session.execute(stmt, {col.key: held[key] for key, col in columns if key in held}).one()
    for key, col in columns:
        set_committed_value(obj, key, row._mapping[col])
    return attach_inserted(session, obj)


_INSERTED = "careweave_inserted_now"  # session.info: objects attached by attach_inserted


def attach_inserted(session: Session, obj: T) -> T:
    """Keep ``obj``, whose row was just inserted with a Core statement (its primary key
    and columns set on it), in the session as persistent, as if just loaded; a rollback
    of the transaction expunges it, as the ORM expunges the objects a transaction added
    (else a retry in the same session, as the events writer does after a failed event,
    could meet the stale object under a reused id)."""
    make_transient_to_detached(obj)
    session.add(obj)
    session.info.setdefault(_INSERTED, []).append(obj)
    return obj


@event.listens_for(Session, "after_rollback")
def _expunge_inserted(session: Session) -> None:
    for obj in session.info.pop(_INSERTED, ()):
        if obj in session:
            session.expunge(obj)


@event.listens_for(Session, "after_commit")
def _keep_inserted(session: Session) -> None:
    session.info.pop(_INSERTED, None)


# ---------------------------------------------------------------- conflicts and retries

#: PostgreSQL SQLSTATEs of a transaction refused because of another one at the same
#: moment, which the same work tried again may get past: deadlock detected (40P01),
#: serialization failure (40001), lock not available (55P03).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
#: Tries after the first, and the backoff before each: ``BACKOFF`` seconds doubled each
#: time, at most ``BACKOFF_MAX``, each a random 50-100% of that (two workers that
#: deadlocked do not retry in step). At most about 0.35 s of waiting in all.
RETRIES = 3
BACKOFF = 0.05
BACKOFF_MAX = 0.4
#: Seconds a client is told to wait (``Retry-After``) when the store stayed busy.
RETRY_AFTER = 1


class StoreBusy(CareweaveError):
    """The store refused a change because of others made at the same moment (a deadlock,
    a serialization failure, a lock wait given up), tried again and still refused: nothing
    of it was saved. The API answers 503 with ``Retry-After``."""

    retry_after = RETRY_AFTER


BUSY_TEXT = (
    "the store was busy with other changes made at the same moment (a deadlock or a lock "
    "wait) and trying again did not get past it: nothing was saved; send it again in "
    f"{RETRY_AFTER} second"
)


def retryable(e: BaseException) -> bool:
    """A store error another transaction caused, which a retry may get past."""
    if not isinstance(e, OperationalError):
        return False
    code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


def busy(e: BaseException) -> bool:
    """A store error that means "busy, try later": a :func:`retryable` one, or SQLite's
    "database is locked" after its busy wait (``BUSY_TIMEOUT``: already waited, so not
    retried)."""
    if retryable(e):
        return True
    return isinstance(e, OperationalError) and "database is locked" in str(e.orig)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...)."""
    ceiling: float = min(BACKOFF_MAX, BACKOFF * float(2 ** (attempt - 1)))
    return ceiling * random.uniform(0.5, 1.0)  # jitter, not a secret


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as e:
        raise InputError(f"--db: cannot open the store ({_one_line(e)})") from e


def _one_line(e: OperationalError) -> str:
    return " ".join(str(e.orig).split())


def open_existing(url: str) -> Engine:
    """An engine on a store that must already exist and be migrated (for read-only jobs)."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise InputError(f"--db {url}: no such store file")
    engine = make_engine(url)
    try:
        current = is_current(engine)
    except OperationalError as e:
        raise InputError(f"--db: cannot open the store ({_one_line(e)})") from e
    if not current:
        raise InputError(
            f"--db {url}: not a Careweave store at the newest schema; run `careweave db upgrade`"
        )
    return engine


def is_current(engine: Engine) -> bool:
    """True when the store has been migrated to the newest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        return MigrationContext.configure(conn).get_current_revision() == script.get_current_head()
