"""Benchmarking: quartiles, quarters and peers against hand-worked values, and the page."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from test_web_intelligence import DNA, make_measures
from web_helpers import demo_store, sign_in

from careweave.server import build_app
from careweave.settings import Settings
from careweave.web import benchmark

pytestmark = pytest.mark.xdist_group("web-intelligence")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return add_people(make_measures(tmp_path_factory.mktemp("bench") / "warehouse.duckdb"))


def add_people(path: Path) -> Path:
    """People for the practices' age and deprivation profiles (so GP4 has peers)."""
    con = duckdb.connect(str(path))
    # people for the age/deprivation profiles: practice -> cluster -> locality
    con.execute(
        "CREATE TABLE people (nhs_number VARCHAR, date_of_birth DATE, deprivation_decile "
        "SMALLINT, practice_id VARCHAR, registered_to DATE, date_of_death DATE)"
    )
    rows = []
    plan = {  # practice: (people, aged 65+, decile)
        "DEMO-GP1": (10, 1, 5),
        "DEMO-GP2": (10, 2, 5),
        "GP3": (10, 3, 2),
        "GP4": (10, 1, 9),
        "GP5": (7, 7, 1),  # fewer than 8 people: no profile
    }
    for practice, (n, old, decile) in plan.items():
        for i in range(n):
            born = dt.date(1940, 1, 1) if i < old else dt.date(1990, 1, 1)
            rows.append((f"{practice}-{i}", born, decile, practice, None, None))
    rows.append(("dead", dt.date(1930, 1, 1), 1, "GP4", None, dt.date(2020, 1, 1)))
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return path


def test_quartiles_quarters_and_verdicts_by_hand(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    b = benchmark.benches(con, "practice")[DNA]
    con.close()
    # shown (rounded) DNA rates: GP4 210/1000, DEMO-GP2 45/400, GP3 205/2000,
    # DEMO-GP1 100/1000, GP5 150/1500 (148 rounded); GP6 (5 of 40) suppressed
    assert [u.unit for u in b.units] == ["GP4", "DEMO-GP2", "GP3", "DEMO-GP1", "GP5"]
    assert b.suppressed == ["GP6"]
    # [0.10, 0.10, 0.1025, 0.1125, 0.21]: linear quartiles at positions 1, 2 and 3
    assert (b.q1, b.median, b.q3) == pytest.approx((0.10, 0.1025, 0.1125))
    assert benchmark.quarter(b, 0.21) == "highest quarter"
    assert benchmark.quarter(b, 0.1125) == "above the median"  # on Q3 is not above it
    assert benchmark.quarter(b, 0.10) == "below the median"
    assert benchmark.quarter(b, 0.05) == "lowest quarter"
    assert benchmark.quarter(b, 0.1025) == "at the median"
    assert benchmark.verdict(b, 0.21) == "worse than the median"  # lower is better
    assert benchmark.verdict(b, 0.10) == "better than the median"
    assert b.rank("GP4") == 1 and b.rank("GP6") is None


def test_peers_are_nearest_in_standardised_age_and_deprivation() -> None:
    # By hand: shares 0.10, 0.12, 0.30, 0.11 (sd 0.0826) and deciles 5, 5, 2, 9 (sd 2.487):
    # from A, B is 0.24 away, D 1.61, C 2.71 on the z-scores.
    p = {
        "A": benchmark.Profile("A", 0.10, 5),
        "B": benchmark.Profile("B", 0.12, 5),
        "C": benchmark.Profile("C", 0.30, 2),
        "D": benchmark.Profile("D", 0.11, 9),
    }
    assert benchmark.peers(p, "A", k=2) == ["B", "D"]
    assert benchmark.peers(p, "A") == ["B", "D", "C"]  # at most units - 1
    assert benchmark.peers(p, "Z") == []


def test_profiles_of_living_registered_people(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    prof = benchmark.profiles(con, "practice", dt.date(2026, 1, 1))
    con.close()
    assert set(prof) == {"DEMO-GP1", "DEMO-GP2", "GP3", "GP4"}  # GP5 has 7 people
    assert prof["GP3"].share_65 == pytest.approx(0.3)
    assert prof["GP4"].share_65 == pytest.approx(0.1)  # the dead are left out
    assert prof["GP4"].mean_decile == pytest.approx(9)


def test_the_benchmark_page(warehouse: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="b" * 32)
    )
    with TestClient(app) as analyst, TestClient(app) as coordinator:
        sign_in(analyst, "commissioner")
        sign_in(coordinator, "coordinator")
        r = analyst.get(
            "/app/population/benchmark", params={"kpi": DNA, "by": "practice", "unit": "GP4"}
        )
        assert r.status_code == 200
        assert re.search(
            r'id="board-line">12 months from 1 Sep 2024 to 31 Aug 2025: median 10.2%', r.text
        )
        # ranked bars: an accessible SVG with the unit named in its description
        assert 'role="img"' in r.text and "Valley Surgery is 1 of 5 at 21.0%" in r.text
        assert '<td class="nhsuk-table__cell" data-quarter="GP4">Highest quarter</td>' in r.text
        assert "Not shown (count below 8): GP6." in r.text
        assert "12.5%" not in r.text  # GP6's 5 of 40
        row = r.text[r.text.index(f'data-kpi="{DNA}"') :]
        row = row[: row.index("</tr>")]
        assert ">21.0%<" in row and ">1 of 5<" in row
        assert "Highest quarter: worse than the median" in row
        # peers: the 3 other practices with a profile, nearest first; their median
        peers = re.search(r"Peers \(3\): ([^.]+)\.", r.text)
        assert peers is not None
        assert peers.group(1) == "Demo surgery, Other demo surgery, GP3"
        # the peers' median is drawn on the ranked bars: a dotted line labelled Peers,
        # named in the chart's description, the same figure as the profile's peer median
        peer = re.search(r'<span id="peer-median">([^<]+)</span>', r.text)
        assert peer is not None
        assert f"peer median {peer.group(1)}" in r.text
        assert 'class="cw-bench-peer-median"' in r.text and ">Peers</text>" in r.text
        assert row.endswith(f">{peer.group(1)}</td>")
        plain = analyst.get("/app/population/benchmark", params={"kpi": DNA, "by": "practice"})
        assert "cw-bench-peer-median" not in plain.text and "peer-median" not in plain.text
        bad = analyst.get("/app/population/benchmark", params={"by": "practice", "unit": "NOPE"})
        assert bad.status_code == 422 and "choose a practice from the list" in bad.text
        assert coordinator.get("/app/population/benchmark").status_code == 403
