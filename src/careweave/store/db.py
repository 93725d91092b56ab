"""Engines, sessions and schema upgrades for the operational store.

SQLite (a file, the default) and PostgreSQL are both first-class. On SQLite a
transaction starts with ``BEGIN IMMEDIATE`` (it takes the single-writer lock at
once), so concurrent writers queue instead of failing half-way, except a
session put in read mode by :func:`read_only` (every GET, HEAD and OPTIONS
request of the API and workbench): it begins with a plain ``BEGIN`` and takes no
lock, so a long read (a CSV export) never delays anyone. A read-mode session may
not write: a flush with changes raises (a read transaction cannot safely become
a writer under WAL); its audit entries are chained in afterwards, in their own
short ``BEGIN IMMEDIATE`` transaction (careweave.security.audit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from careweave.errors import InputError

DEFAULT_DB_URL = "sqlite:///careweave.db"
MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "careweave_read_only"  # the execution option and session.info key of read mode


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
                connect_args={"timeout": 60, "check_same_thread": False},
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


def _sqlite_immediate(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
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
        read = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


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
        raise RuntimeError(
            "a read-only request tried to write to the store; make it a POST (store/db.py)"
        )


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
