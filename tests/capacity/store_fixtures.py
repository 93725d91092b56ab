"""A small store for the capacity and unmet-need tests: two localities with practices,
people at each CCM level, staff, and services (inserted directly, no API)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from careweave.store.db import make_engine, session_factory, upgrade
from careweave.store.models import Organisation, Person, User

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
_seq = iter(range(1, 10**6))


@contextmanager
def store(tmp_path: Path, url: str | None = None) -> Iterator[tuple[str, Session]]:
    """A migrated store: a SQLite file under ``tmp_path``, or the database at ``url``."""
    url = url or f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s:
        yield url, s
    engine.dispose()


def orgs(s: Session) -> None:
    s.add_all(
        [
            Organisation(org_id="LOC-N", org_type="locality", name="North", parent_id=None),
            Organisation(org_id="LOC-S", org_type="locality", name="South", parent_id=None),
            Organisation(
                org_id="CL-N", org_type="cluster", name="North cluster", parent_id="LOC-N"
            ),
            Organisation(org_id="P-N1", org_type="gp_practice", name="N1", parent_id="CL-N"),
            Organisation(org_id="P-S1", org_type="gp_practice", name="S1", parent_id="LOC-S"),
        ]
    )
    s.flush()


def people(s: Session, practice: str, level: int | None, n: int, **extra: object) -> list[str]:
    out = []
    for _ in range(n):
        nhs = f"9{next(_seq):09d}"
        s.add(
            Person(
                nhs_number=nhs,
                date_of_birth=dt.date(1940, 1, 1),
                sex="female",
                ethnic_group="A",
                practice_id=practice,
                locality_id=None,
                ccm_level=level,
                synced_at=NOW,
                **extra,
            )
        )
        out.append(nhs)
    s.flush()
    return out


def user(
    s: Session, username: str, role: str, *, org: str | None = None, loc: str | None = None
) -> User:
    u = User(
        username=username,
        display_name=username,
        role=role,
        org_id=org,
        locality_id=loc,
        created_at=NOW,
    )
    s.add(u)
    s.flush()
    return u
