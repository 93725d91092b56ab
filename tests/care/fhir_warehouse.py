"""A small demo population served over FHIR: ``careweave synth`` of 200 people loaded into
a warehouse, the demo store synced from it, and bearer tokens for the demo users."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.cli.main import main
from careweave.security import auth
from careweave.server import build_app
from careweave.settings import Settings
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import User
from careweave.web import demo_setup

PEOPLE = 200
KEY = "test-pseudonym-key-0123456789abcdef"


@dataclass
class Demo:
    dataset: Path
    warehouse: Path
    db: str
    tmp: Path
    tokens: dict[str, str]

    def settings(self, **kw: Any) -> Settings:
        """The demo's settings; Bulk Data export files under its own directory."""
        kw.setdefault("bulk_dir", self.tmp / "bulk")
        return Settings(
            db=self.db, warehouse=self.warehouse, insecure_cookies=True, pseudonym_key=KEY, **kw
        )

    def app(self, *, clock: Any = None, **kw: Any) -> Any:
        if clock is not None:
            return build_app(self.settings(**kw), clock=clock)
        return build_app(self.settings(**kw))

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_demo(tmp: Path) -> Demo:
    dataset, warehouse = tmp / "dataset", tmp / "warehouse.duckdb"
    assert main(["synth", "--people", str(PEOPLE), "--out", str(dataset), "--no-progress"]) == 0
    assert main(["load", str(dataset), "-w", str(warehouse), "-q"]) == 0
    return on_store(Demo(dataset, warehouse, f"sqlite:///{tmp / 'store.db'}", tmp, {}))


def on_store(demo: Demo, db: str | None = None, tmp: Path | None = None) -> Demo:
    """The demo store set up at ``db`` (default the demo's) from the demo's warehouse,
    with a bearer token for each demo user."""
    db = db or demo.db
    demo_setup(db, demo.warehouse)
    tokens = {}
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        for user in s.execute(select(User)).scalars():
            if user.password_hash is not None:
                tokens[user.username] = auth.issue_token(s, user, "fhir tests", now)
    engine.dispose()
    return Demo(demo.dataset, demo.warehouse, db, tmp or demo.tmp, tokens)


def client(demo: Demo, **kw: Any) -> TestClient:
    return TestClient(demo.app(**kw))
