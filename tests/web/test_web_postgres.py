"""The workbench on PostgreSQL: demo data, worklist (indexes, two-step page), patient page, CSV."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import sign_in

from careweave.server import build_app
from careweave.settings import Settings
from careweave.web import demo_setup

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("web-postgres")]
MRS = "9990000018"


@pytest.fixture(scope="module")
def pg_store(pg_url: str) -> Iterator[str]:
    """A fresh database on the throwaway server, dropped afterwards."""
    name = f"web_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    demo_setup(url, Path("/nonexistent/warehouse.duckdb"))
    yield url
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_worklist_and_patient_page_on_postgres(pg_store: str) -> None:
    app = build_app(Settings(db=pg_store, insecure_cookies=True, pseudonym_key="p" * 32))
    c = TestClient(app)
    sign_in(c, "coordinator")
    r = c.get("/app/worklist", params={"applied": 1, "level": [4, 3], "sort": "age"})
    assert r.status_code == 200 and "999 000 0018" in r.text and "999 000 0026" in r.text
    rows = list(csv.DictReader(io.StringIO(c.get("/app/worklist.csv", params={"level": 4}).text)))
    assert [row["nhs_number"] for row in rows] == [MRS]
    page = c.get(f"/app/people/{MRS}")
    assert page.status_code == 200 and 'id="chart-glucose"' in page.text
    other = TestClient(app)
    sign_in(other, "gp.elsewhere")
    assert other.get(f"/app/people/{MRS}").status_code == 403


def test_search_by_name_on_postgres(pg_store: str) -> None:
    """Name keys compare in byte order (revision 0006), so the prefix range finds every
    name that starts with what was typed whatever the database's collation."""
    import datetime as dt

    from careweave.dataset.nhs_number import synthetic_numbers
    from careweave.store.db import make_engine, session_factory, transaction
    from careweave.store.models import Person

    extra = synthetic_numbers(3)[2]
    with transaction(session_factory(make_engine(pg_store))) as s:
        p = Person(
            nhs_number=extra,
            date_of_birth=dt.date(1950, 1, 1),
            sex="female",
            ethnic_group="white_british",
            practice_id="DEMO-GP1",
            locality_id="DEMO-LOC",
            care_home_resident=False,
            risk_explanation=[],
            conditions=[],
            synced_at=dt.datetime.now(dt.UTC),
        )
        p.set_names("Zoë", "Jones-Zwick")
        s.add(p)
    app = build_app(Settings(db=pg_store, insecure_cookies=True, pseudonym_key="p" * 32))
    c = TestClient(app)
    sign_in(c, "coordinator")
    for q, expected in (
        ("jones", {MRS, "9990000026", extra}),
        ("JONESZ", {extra}),
        ("zoe jones", {extra}),  # accents are dropped from the keys
        ("Zoë Jones", {extra}),
        ("Margaret Jones", {MRS}),
    ):
        r = c.get("/app/search", params={"q": q})
        listing = r.text.split('id="search-results"')[1].split("</ul>")[0] if expected else ""
        found = set(re.findall(r'href="/app/people/([0-9]{10})"', listing))
        assert found == expected, q
