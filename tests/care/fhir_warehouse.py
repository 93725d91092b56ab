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

    def app(self, **kw: Any) -> Any:
        return build_app(
            Settings(
                db=self.db,
                warehouse=self.warehouse,
                insecure_cookies=True,
                pseudonym_key=KEY,
                **kw,
            )
        )

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_demo(tmp: Path) -> Demo:
    dataset, warehouse = tmp / "dataset", tmp / "warehouse.duckdb"
    assert main(["synth", "--people", str(PEOPLE), "--out", str(dataset), "--no-progress"]) == 0
    assert main(["load", str(dataset), "-w", str(warehouse), "-q"]) == 0
    db = f"sqlite:///{tmp / 'store.db'}"
    demo_setup(db, warehouse)
    tokens = {}
    now = dt.datetime.now(dt.UTC)
    with transaction(session_factory(make_engine(db))) as s:
        for user in s.execute(select(User)).scalars():
            if user.password_hash is not None:
                tokens[user.username] = auth.issue_token(s, user, "fhir tests", now)
    return Demo(dataset, warehouse, db, tmp, tokens)


def client(demo: Demo, **kw: Any) -> TestClient:
    return TestClient(demo.app(**kw))
