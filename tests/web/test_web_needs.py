"""The health needs assessment page over planted needs tables: disclosure control, the
figures worked out from the shown counts, errors in words, commissioners only."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from web_helpers import demo_store, sign_in

from careweave.measures.needs.assess import write
from careweave.server import build_app
from careweave.settings import Settings

pytestmark = pytest.mark.xdist_group("web-needs")

AS_OF = dt.date(2025, 12, 31)
AT = dt.datetime(2026, 1, 2, 9, 0)


def _p(
    register: str, label: str, by: str, value: str, pop: int, rec: int, exp: float | None
) -> dict[str, object]:
    return {
        "as_of": AS_OF,
        "register": register,
        "label": label,
        "group_by": by,
        "group_value": value,
        "population": pop,
        "recorded": rec,
        "expected": exp,
        "computed_at": pd.Timestamp(AT),
    }


def _l(level: int, kind: str, item: str, label: str, value: float) -> dict[str, object]:
    return {
        "as_of": AS_OF,
        "period_start": dt.date(2025, 1, 1),
        "period_end": AS_OF,
        "ccm_level": level,
        "kind": kind,
        "item": item,
        "label": label,
        "value": value,
        "computed_at": pd.Timestamp(AT),
    }


def make_needs(path: Path) -> Path:
    duckdb.connect(str(path)).close()
    prevalence = pd.DataFrame(
        [
            _p("diabetes", "Diabetes mellitus", "all", "all", 10_003, 601, 750.0),
            _p("diabetes", "Diabetes mellitus", "practice", "DEMO-GP1", 9_000, 596, 700.4),
            _p("diabetes", "Diabetes mellitus", "practice", "GP2", 1_003, 5, 49.6),  # 5: <8
            _p("diabetes", "Diabetes mellitus", "locality", "L1", 10_003, 601, 750.0),
            _p("depression", "Depression", "all", "all", 8_001, 1_042, None),
            _p("depression", "Depression", "practice", "DEMO-GP1", 7_000, 1_000, None),
            _p("depression", "Depression", "practice", "GP2", 1_001, 42, None),
            _p("depression", "Depression", "locality", "L1", 8_001, 1_042, None),
        ]
    )
    levels = pd.DataFrame(
        [
            _l(4, "people", "people", "People", 96),
            _l(4, "people", "multimorbid", "People with two or more conditions", 3),
            _l(4, "activity", "emergency_admissions", "Emergency admissions", 301),
            _l(4, "spend", "spend", "Health and social care spend (£)", 1_900_000.0),
            _l(4, "exposure", "person_years", "Person-years", 95.2),
            _l(1, "people", "people", "People", 9_000),
            _l(1, "people", "multimorbid", "People with two or more conditions", 0),
            _l(1, "activity", "emergency_admissions", "Emergency admissions", 523),
            _l(1, "spend", "spend", "Health and social care spend (£)", 6_600_000.0),
            _l(1, "exposure", "person_years", "Person-years", 9_001.0),
        ]
    )
    run = {
        "computed_at": AT,
        "as_of": AS_OF,
        "reference_file": "reference.csv",
        "reference_source": "A planted test table",
        "reference_year": "2023",
        "engine": "duckdb",
    }
    write(path, prevalence, levels, run)
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("needs")
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    warehouse = make_needs(tmp / "warehouse.duckdb")
    return build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="n" * 32)
    )


def test_the_needs_page(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as analyst, TestClient(app) as coordinator:
        sign_in(analyst, "commissioner")
        sign_in(coordinator, "coordinator")
        r = analyst.get("/app/population/needs")
        assert r.status_code == 200
        assert "A planted test table (2023)" in r.text and "31 December 2025" in r.text
        board = r.text[r.text.index('data-register="diabetes"') :]
        board = board[: board.index("</tr>")]
        # 10,003 -> 10,005 people; 601 -> 600 recorded (6.0%); 750 expected (7.5%);
        # ratio 600/750 = 0.80; gap 150 with Byar's limits on the shown 600
        assert ">10,005<" in board and ">600<" in board and ">6.0%<" in board
        assert ">750<" in board and ">7.5%<" in board
        assert '>0.80 <span class="cw-ci">(0.74 to 0.87)</span><' in board
        assert '>150 <span class="cw-ci">(100 to 197)</span><' in board
        dep = r.text[r.text.index('data-register="depression"') :]
        assert "No reference prevalence" in dep[: dep.index("</tr>")]
        # the ratio chart: an accessible SVG with the figures in words
        assert 'id="needs-ratio"' in r.text and "Diabetes mellitus 0.80" in r.text
        # its ratio axis, wide and narrow: ticks labelled at round values from 0 past 1,
        # and the axis's title
        for chart in ('id="needs-ratio"', 'id="needs-ratio-narrow"'):
            svg = r.text[r.text.index(chart) :]
            svg = svg[: svg.index("</svg>")]
            labels = re.findall(r'<line class="cw-axis cw-tick"[^>]*/><text[^>]*>([^<]+)<', svg)
            assert labels[0] == "0" and "1" in labels and len(labels) >= 4, labels
            assert "Recorded ÷ expected (1: as expected)" in svg
        # across practices: GP2's 5 recorded is not shown, nor any ratio or gap from it
        gp2 = r.text[r.text.index('data-unit="GP2"') :]
        gp2 = gp2[: gp2.index("</tr>")]
        assert "&lt;8" in gp2 and ">5<" not in gp2 and ">50<" in gp2  # expected 49.6 -> 50
        assert gp2.count(">–<") == 2
        # levels: people and activity rounded, 3 suppressed, spend per person-year from
        # the rounded person-years (1,900,000 / 95)
        lv = r.text[r.text.index('id="needs-levels"') :]
        assert ">95<" in lv and ">300<" in lv and "&lt;8" in lv and "£20,000" in lv
        assert ">9,000<" in lv and ">523<" not in lv and ">525<" in lv
        for true in (">601<", ">596<", ">1,042<", ">301<", ">96<"):
            assert true not in r.text, true
        one = analyst.get("/app/population/needs", params={"area": "practice:DEMO-GP1"})
        assert one.status_code == 200 and "Demo surgery (practice)" in one.text
        assert analyst.get("/app/population/needs", params={"by": "locality"}).status_code == 200
        bad = analyst.get("/app/population/needs", params={"area": "practice:NOPE"})
        assert (
            bad.status_code == 422
            and "choose the whole board, a locality or a practice" in bad.text
        )
        bad = analyst.get("/app/population/needs", params={"register": "depression"})
        assert bad.status_code == 422 and "choose a register from the list" in bad.text
        assert coordinator.get("/app/population/needs").status_code == 403
        pop = analyst.get("/app/population")
        assert 'href="/app/population/needs"' in pop.text


def test_no_needs_assessment_yet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    w = tmp_path / "w.duckdb"
    duckdb.connect(str(w)).close()
    app = build_app(Settings(db=url, warehouse=w, insecure_cookies=True, pseudonym_key="m" * 32))
    with TestClient(app) as analyst:
        sign_in(analyst, "commissioner")
        r = analyst.get("/app/population/needs")
        assert r.status_code == 200 and "There is no needs assessment yet" in r.text


def _pdf_text(data: bytes) -> str:
    import io

    import pypdf

    return " ".join(
        " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages).split()
    )


def test_the_pack_has_the_needs_section(tmp_path: Path) -> None:
    from test_web_intelligence import make_measures

    from careweave.cli.main import main

    w = make_needs(make_measures(tmp_path / "warehouse.duckdb"))
    out = tmp_path / "board.pdf"
    args = ["report", "--warehouse", str(w), "--period", "2024-01..2025-08", "--out", str(out)]
    assert main([*args[:3], "--area", "board", *args[3:]]) == 0
    board = _pdf_text(out.read_bytes())
    assert "Health needs assessment" in board
    assert "reference.csv: A planted test table (2023)" in board and "31 Dec 2025" in board
    # the same shown figures as the page: 600 of 750 expected, gap 150 (100 to 197)
    assert "Diabetes mellitus 600 750 0.80 (0.74 to 0.87) 150 (100 to 197)" in board
    assert "Depression" not in board[board.index("Health needs assessment") :]  # no reference
    assert main([*args[:3], "--area", "practice", "DEMO-GP1", *args[3:]]) == 0
    gp1 = _pdf_text(out.read_bytes())
    # 596 -> 595 recorded, 700.4 expected; ratio 595 / 700.4 = 0.85, gap 105 people
    assert re.search(r"Diabetes mellitus 595 700 0\.85 \(\S+ to \S+\) 105 \(", gp1), gp1[-1500:]
    assert " 596 " not in gp1


def test_the_maturity_evidence_names_the_latest_needs_assessment(tmp_path: Path) -> None:
    from careweave.web import maturity_evidence as ev

    w = make_needs(tmp_path / "w.duckdb")
    con = duckdb.connect(str(w), read_only=True)
    try:
        f = ev.needs_report(con, ev.Scope(None, "whole population"))
        local = ev.needs_report(con, ev.Scope("L1", "Locality 1"))
    finally:
        con.close()
    assert f.available and "Needs assessed on 31 Dec 2025" in f.summary
    assert "1 register against expected prevalence" in f.summary
    shown = dict(f.figures)
    assert shown["Reference"] == "A planted test table (2023)"
    assert shown["Largest gaps (people expected, not recorded)"] == "Diabetes mellitus 150"
    assert local.available and "Locality 1" in local.source
    empty = tmp_path / "e.duckdb"
    duckdb.connect(str(empty)).close()
    con = duckdb.connect(str(empty), read_only=True)
    try:
        none = ev.needs_report(con, ev.Scope(None, "whole population"))
    finally:
        con.close()
    assert not none.available and "Not available" in none.summary
