"""What the store-facing commands share: the ``--db`` option, the clock, opening the store.

Not a command module (no ``register``): :mod:`careweave.cli.main` skips it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from careweave.errors import CareweaveError, InputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from careweave.store.models import User


class AuditChainBroken(CareweaveError):
    """Not a usage error: the store's audit log has been tampered with."""

    exit_code = 1


DB_HELP = "Store URL (sqlite:///file.db or postgresql+psycopg://...); default $CAREWEAVE_DB or sqlite:///careweave.db"

#: The ``--db`` option of every store command (None: :func:`store_url` decides).
Db = Annotated[str | None, typer.Option("--db", help=DB_HELP)]


def store_url(url: str | None) -> str:
    """``--db`` if given, else the settings' (``$CAREWEAVE_DB``, else ``sqlite:///careweave.db``)."""
    from careweave.settings import Settings

    return Settings.load(db=url).db


def config_dir(flag: Path | None = None) -> Path | None:
    """The care rules' override directory: ``flag``, else the settings' (``$CAREWEAVE_CONFIG_DIR``)."""
    from careweave.settings import Settings

    return Settings.load(config_dir=flag).config_dir


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(value: str, where: str) -> dt.datetime:
    """An ISO 8601 time with a time zone, or InputError naming ``where``."""
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"{where}: {value!r} is not an ISO 8601 time") from e
    if t.tzinfo is None:
        raise InputError(f"{where}: give a time zone (e.g. {value}Z)")
    return t


def open_store(url: str | None) -> sessionmaker[Session]:
    """Sessions on the store at ``url`` (migrated to the newest schema first)."""
    from careweave.store.db import make_engine, session_factory, upgrade

    engine = make_engine(store_url(url))
    upgrade(engine)
    return session_factory(engine)


def user_named(session: Session, username: str) -> User:
    """The user called ``username``, or InputError."""
    from sqlalchemy import select

    from careweave.store.models import User

    u = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if u is None:
        raise InputError(f"username: no user {username!r}")
    return u
