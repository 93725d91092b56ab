"""The store: migrations match the models, upgrades are idempotent, times stay UTC."""

from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from careweave.store.db import is_current, make_engine, session_factory, transaction, upgrade
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
