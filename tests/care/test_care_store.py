"""The store: migrations match the models, upgrades are idempotent, times stay UTC."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from careweave.store.db import (
    alembic_config,
    is_current,
    make_engine,
    session_factory,
    transaction,
    upgrade,
)
from careweave.store.models import Base, Organisation, Person


def test_migrations_match_models_and_are_idempotent(store_url: str) -> None:
    engine = make_engine(store_url)
    assert not is_current(engine)
    upgrade(engine)
    upgrade(engine)
    assert is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


WEB_INDEXES = {
    "people": {"ix_web_people_locality_cover", "ix_web_people_practice_cover"},
    "episodes": {"ix_web_episodes_open"},
    "notifications": {"ix_web_notifications_person_kind"},
    "referrals": {"ix_web_referrals_breach"},
}


def _web_indexes(engine: object) -> dict[str, set[str]]:
    insp = inspect(engine)
    return {
        t: {i["name"] for i in insp.get_indexes(t) if str(i["name"]).startswith("ix_web_")}
        for t in WEB_INDEXES
    }


def test_worklist_indexes_come_from_a_migration_even_where_the_web_made_them(
    store_url: str,
) -> None:
    """A store at 0002 whose indexes the web app created itself (before 0003) upgrades
    cleanly, keeps one of each, and downgrading to 0002 removes them again."""
    engine = make_engine(store_url)
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0002")
    assert _web_indexes(engine) == {t: set() for t in WEB_INDEXES}
    with engine.begin() as conn:  # what careweave.web.install used to run
        conn.execute(
            text(
                "CREATE INDEX IF NOT EXISTS ix_web_episodes_open ON episodes (nhs_number, end_date)"
            )
        )
    upgrade(engine)
    assert is_current(engine)
    assert _web_indexes(engine) == WEB_INDEXES
    command.downgrade(cfg, "0002")
    assert _web_indexes(engine) == {t: set() for t in WEB_INDEXES}
    engine.dispose()


def test_times_round_trip_as_utc(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine)
    sessions = session_factory(engine)
    local = dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with transaction(sessions) as s:
        s.add(Organisation(org_id="P1", org_type="gp_practice", name="P"))
        s.add(
            Person(
                nhs_number="9434765919",
                date_of_birth=dt.date(1941, 5, 1),
                sex="female",
                ethnic_group="white",
                care_home_resident=False,
                risk_explanation=["a"],
                conditions=[],
                synced_at=local,
            )
        )
    with sessions() as s:
        p = s.get(Person, "9434765919")
        assert p is not None
        assert p.synced_at == local
        assert p.synced_at.utcoffset() == dt.timedelta(0)
    engine.dispose()


def test_at_most_one_open_episode_per_person(store_url: str) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    from careweave.security import auth
    from careweave.store.models import Episode

    engine = make_engine(store_url)
    upgrade(engine)
    sessions = session_factory(engine)
    now = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    with transaction(sessions) as s:
        s.add(
            Person(
                nhs_number="9434765919",
                date_of_birth=dt.date(1941, 5, 1),
                sex="female",
                ethnic_group="white",
                care_home_resident=False,
                risk_explanation=[],
                conditions=[],
                synced_at=now,
            )
        )
        uid = auth.create_user(
            s, username="cc", display_name="CC", role="care_coordinator", now=now
        ).id

    def episode(end: dt.date | None) -> Episode:
        return Episode(
            nhs_number="9434765919",
            start_date=dt.date(2026, 1, 1),
            end_date=end,
            reason="r",
            lead_professional_id=uid,
            created_by=uid,
            created_at=now,
        )

    with transaction(sessions) as s:
        s.add_all([episode(dt.date(2026, 2, 1)), episode(dt.date(2026, 3, 1)), episode(None)])
    with pytest.raises(IntegrityError), transaction(sessions) as s:
        s.add(episode(None))
    engine.dispose()


def test_revision_files_form_one_chain_numbered_as_named() -> None:
    """Each migration file NNNN_name.py declares revision NNNN, revising the one before:
    two files landing with the same number (Alembic silently keeps one) fail here."""
    import itertools
    import re
    from pathlib import Path

    import careweave.store.migrations.versions as versions

    folder = Path(versions.__file__).parent
    chain: dict[str, str | None] = {}
    for f in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.py")):
        text = f.read_text()
        rev = re.search(r'^revision = "([^"]+)"', text, re.M)
        down = re.search(r"^down_revision = (None|\"([^\"]+)\")", text, re.M)
        assert rev and down, f.name
        assert rev[1] == f.name[:4], f"{f.name}: revision {rev[1]!r} is not its number"
        assert rev[1] not in chain, f"{f.name}: revision {rev[1]} declared twice"
        chain[rev[1]] = down[2]
    numbers = sorted(chain)
    assert chain[numbers[0]] is None
    for before, after in itertools.pairwise(numbers):
        assert chain[after] == before, f"{after} revises {chain[after]}, not {before}"
