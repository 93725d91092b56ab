"""The finance page: spend by setting and funder, capitated budgets against actual, for
commissioners only, pseudonymised and suppressed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import demo_store, sign_in

from careweave.finance.capitation import run as capitation_run
from careweave.finance.spend import spend_by_setting_and_funder
from careweave.server import build_app
from careweave.settings import Settings
from risk.simdata import simulate, write_warehouse

pytestmark = pytest.mark.xdist_group("web-finance")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_warehouse(simulate(400, seed=5), tmp_path_factory.mktemp("fin") / "w.duckdb")
    spend_by_setting_and_funder(path, start=dt.date(2023, 1, 1), dims=("practice", "segment"))
    capitation_run(path, dt.date(2022, 12, 31))
    return path


@pytest.fixture(scope="module")
def clients(
    warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TestClient, TestClient]:
    tmp = tmp_path_factory.mktemp("finstore")
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="f" * 32)
    )
    analyst, other = TestClient(app), TestClient(app)
    sign_in(analyst, "commissioner")
    sign_in(other, "coordinator")
    return analyst, other


def test_the_commissioner_sees_spend_and_capitation(
    clients: tuple[TestClient, TestClient],
) -> None:
    analyst, _ = clients
    page = analyst.get("/app/population/finance")
    assert page.status_code == 200
    t = page.text
    for words in (
        "Spend by setting, whole health board",
        "Acute hospital",
        "Social care",
        "Who pays",
        "Local authority",
        "Pooled budget",
        "Spend per head by segment",
        "Capitated budgets against actual spend",
        "Budgets for 1 January 2023 to 31 December 2023",
        'id="chart-setting"',
        'id="chart-capitation"',
    ):
        assert words in t, words
    # every chart has a title for assistive technology, and a table beside it
    assert t.count("<title id=") >= 3 and t.count("<table") >= 5
    # pseudonymised: nothing like an NHS number
    assert not re.search(r"\b\d{3} ?\d{3} ?\d{4}\b", t)
    # disclosure: no count of people from 1 to 7 appears in the people columns
    people = re.findall(r"People </span>([^<]+)<", t)
    assert people and all(p == "&lt;8" or int(p.replace(",", "")) % 5 == 0 for p in people)
    by_practice = analyst.get("/app/population/finance?by=practice")
    assert "Spend per head by practice" in by_practice.text
    none = analyst.get("/app/population/finance?by=locality")
    assert "careweave finance spend --by locality" in none.text
    pop = analyst.get("/app/population")
    assert 'href="/app/population/finance"' in pop.text


def test_bad_choice_and_other_roles_are_refused_in_words(
    clients: tuple[TestClient, TestClient],
) -> None:
    analyst, coordinator = clients
    bad = analyst.get("/app/population/finance?by=postcode")
    assert 400 <= bad.status_code < 500 and "Traceback" not in bad.text
    refused = coordinator.get("/app/population/finance")
    assert refused.status_code == 403 and "cannot see population figures" in refused.text


def test_without_a_warehouse_the_page_says_what_to_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="n" * 32))
    with TestClient(app) as c:
        sign_in(c, "commissioner")
        r = c.get("/app/population/finance")
        assert r.status_code == 200
        assert "careweave finance spend --warehouse W" in r.text
        assert "careweave finance capitation --warehouse W --as-of D" in r.text


def test_the_pdf_pack_has_a_finance_section(warehouse: Path, tmp_path: Path) -> None:
    import io

    import pypdf

    from careweave.cli.main import main

    out = tmp_path / "board.pdf"
    args = ["report", "--warehouse", str(warehouse), "--area", "board"]
    assert main([*args, "--period", "2023-01..2023-12", "--out", str(out)]) == 0
    reader = pypdf.PdfReader(io.BytesIO(out.read_bytes()))
    flat = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Finance" in flat and "Paid by: Pooled budget" in flat
    assert "Capitated against actual, Whole health board" in flat
    assert "Budget Jan 2023 to Dec 2023" in flat
