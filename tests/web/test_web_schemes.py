"""The schemes page (/app/population/schemes) over a planted population_measures: schemes
with allocation and spend, each KPI's SPC chart against its trajectory with the assurance
icon, suppression, the roles that may see it, and a broken budget file in words."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import demo_store, sign_in

from budgets.helpers import BUDGET, budget_file, plant
from careweave.server import build_app
from careweave.settings import Settings

pytestmark = pytest.mark.xdist_group("web-schemes")


def _app(tmp: Path, budget: Path | None) -> TestClient:
    url = f"sqlite:///{tmp / 'store.db'}"
    if not (tmp / "store.db").exists():
        demo_store(url)
    warehouse = tmp / "w.duckdb"
    if not warehouse.exists():
        plant(warehouse)
    app = build_app(
        Settings(
            db=url,
            warehouse=warehouse,
            budget_file=budget,
            insecure_cookies=True,
            pseudonym_key="s" * 32,
        )
    )
    return TestClient(app)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("schemes")


@pytest.fixture(scope="module")
def page(tmp: Path) -> str:
    c = _app(tmp, budget_file(tmp))
    sign_in(c, "commissioner")
    r = c.get("/app/population/schemes")
    assert r.status_code == 200
    return r.text


def _section(page: str, heading: str) -> str:
    start = page.index(heading)
    nxt = page.find('<section class="nhsuk-u-margin-top-7"', start)
    return page[start : nxt if nxt > 0 else len(page)]


def test_schemes_with_allocation_and_spend(page: str) -> None:
    assert "Schemes and pooled budget" in page
    s1 = _section(page, "S1: Case management</h2>")
    assert "£1,200,000" in s1 and "£600,000" in s1  # allocation; six months of £100k
    # run rate: £600k in six months -> £1.2m for the year, the allocation exactly
    assert "£1,200,000 at the months' average so far: the allocation exactly" in s1
    assert "Partners' contributions" in page and "£1,500,000" in page
    s3 = _section(page, "S3: Care packages</h2>")
    assert "in social care" in s3 and "£180,000" in s3
    assert "£360,000 at the months' average so far: £260,000 over the allocation" in s3


def test_each_kpi_is_an_spc_chart_against_its_trajectory_with_the_assurance_icon(page: str) -> None:
    s1 = _section(page, "S1: Case management</h2>")
    card = s1[s1.index(">Share of the practice list") :]
    card = card[: card.index("</section>")]
    assert 'data-assurance="consistently_fails"' in card
    assert "Consistently fails the target (2.0%)" in card
    assert 'data-variation="common_cause"' in card
    svg = re.search(r"<svg class=\"cw-chart cw-spc\".*?</svg>", card, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0) and "<title" in svg.group(0) and "<desc" in svg.group(0)
    assert 'class="cw-spc-trajectory"' in svg.group(0)
    assert "trajectory 1.5% in Sep 2025" in svg.group(0)
    # the data table beside it: each month's value and trajectory, on or off
    assert "<caption" in card and "Sep 2025" in card and "1.9%" in card and "1.5% (on)" in card
    assert "Forecast for Mar 2026 (the trend of 6 months): 2.8%" in card
    assert "meets the target" in card
    # a monitored KPI: chart, no trajectory, no assurance icon
    monitored = s1[s1.index(">Emergency admissions per 1,000") :]
    monitored = monitored[: monitored.index("</section>")]
    assert "Monitored: no numeric target." in monitored
    assert "data-assurance" not in monitored and "cw-spc-trajectory" not in monitored


def test_small_counts_are_suppressed(page: str) -> None:
    s2 = _section(page, "S2: A small practice</h2>")
    # GP9's 3 people a month: every month shown as suppressed, no value, chart or forecast
    assert s2.count("Not shown (count &lt;8)") == 18
    assert "No month can be shown" in s2
    assert "cw-spc-trajectory" not in s2 and "data-assurance" not in s2
    assert ">0.8%<" not in s2  # 3 of 400 is never shown


def test_only_analysts_see_it(tmp: Path) -> None:
    c = _app(tmp, budget_file(tmp))
    sign_in(c, "coordinator")
    assert c.get("/app/population/schemes").status_code == 403


def test_a_broken_budget_file_is_an_error_in_words(tmp: Path) -> None:
    bad = tmp / "bad.toml"
    bad.write_text(BUDGET.replace("target = 0.02", "target = 2", 1))
    c = _app(tmp, bad)
    sign_in(c, "commissioner")
    r = c.get("/app/population/schemes")
    assert r.status_code == 422
    assert "nhsuk-error-summary" in r.text
    assert "scheme[S1].kpi[case_management_register_share].target" in r.text
    assert "a proportion is a fraction from 0 to 1" in r.text


def test_without_a_budget_setting_the_shipped_example_is_shown(tmp: Path) -> None:
    c = _app(tmp, None)
    sign_in(c, "commissioner")
    r = c.get("/app/population/schemes")
    assert r.status_code == 200
    assert "LTC1: Integrated, proactive care" in r.text
    assert "ltc_example.toml" in r.text
    # the planted warehouse has no CCM-level measures: said, with the command that makes them
    assert "careweave measures --warehouse W --by ccm_level" in r.text


def test_the_maturity_evidence_counts_the_schemes_targets(tmp: Path) -> None:
    import duckdb

    from careweave.web import maturity_evidence as ev

    plant_path = tmp / "w.duckdb"
    if not plant_path.exists():
        plant(plant_path)
    con = duckdb.connect(str(plant_path), read_only=True)
    try:
        fact = ev.schemes(con, budget_file(tmp))
    finally:
        con.close()
    assert fact.available
    # two numeric targets (S1's and S2's register share); S2's months are all suppressed
    assert fact.data == {
        "schemes": 3,
        "targets": 2,
        "on_trajectory": 1,
        "measured": 1,
        "forecast_meets": 1,
        "forecast": 1,
    }
    assert "3 schemes in budget.toml, £1,400,000 of £1,500,000 allocated" in fact.summary
    assert ev.schemes(None).available  # the shipped example, no warehouse


def test_the_pdf_pack_has_a_schemes_section(tmp: Path) -> None:
    import io

    import duckdb
    from pypdf import PdfReader

    from careweave.web import report

    plant_path = tmp / "w.duckdb"
    if not plant_path.exists():
        plant(plant_path)
    con = duckdb.connect(str(plant_path), read_only=True)
    try:
        board = report.build(
            con,
            area=("all", "all"),
            period=(dt.date(2025, 4, 1), dt.date(2025, 9, 1)),
            names={},
            source="w.duckdb",
            budget=budget_file(tmp),
        )
        practice = report.build(
            con,
            area=("practice", "GP9"),
            period=(dt.date(2025, 4, 1), dt.date(2025, 9, 1)),
            names={},
            source="w.duckdb",
            budget=budget_file(tmp),
        )
    finally:
        con.close()
    assert [s.scheme.id for s in board.schemes.schemes] == ["S1", "S2", "S3"]
    assert [s.scheme.id for s in practice.schemes.schemes] == ["S2"]  # reported on GP9
    text = " ".join(
        (page.extract_text() or "")
        for page in PdfReader(io.BytesIO(report.render(board, {}))).pages
    )
    text = " ".join(text.split())
    assert "Schemes" in text and "Allocation and spend" in text
    assert "£1,200,000 £600,000 £1,200,000" in text  # S1: allocation, so far, forecast
    assert "Consistently fails the target" in text
    # GP9's suppressed months: no value, baseline or forecast for S2's KPI
    html = report.html(practice, {})
    row = html[html.index('data-kpi="S2:case_management_register_share"') :]
    row = row[: row.index("</tr>")]
    assert "%" not in row.replace("2.0%", "")  # only the target is shown
