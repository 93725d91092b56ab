"""The KPI dashboard (SPC) and funnel pages, over a small planted ``population_measures``."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from web_helpers import demo_store, sign_in

from careweave.measures.results import write
from careweave.server import build_app
from careweave.settings import Settings
from careweave.web import intelligence as intel

pytestmark = pytest.mark.xdist_group("web-intelligence")

RISING = "emergency_admissions_per_1000"  # a rate, lower is better
DNA = "outpatient_dna_rate"  # a proportion, lower is better
MONTHS = [dt.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(20)]
FLAT = [100, 104, 98, 101, 97, 103, 99, 102, 100, 98, 101, 99]
# 8 months each higher than the last: a trend (7+ rising) and beyond the upper limit.
UP = [106, 112, 118, 124, 131, 138, 146, 155]
PRACTICES = {
    "DEMO-GP1": (100, 1000),
    "DEMO-GP2": (45, 400),
    "GP3": (205, 2000),
    "GP4": (210, 1000),  # the planted outlier: twice the others
    "GP5": (148, 1500),
    "GP6": (5, 40),  # a count below 8: suppressed, not plotted
}


def _month_end(d: dt.date) -> dt.date:
    nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _row(
    measure: str,
    interval: str,
    start: dt.date,
    end: dt.date,
    by: str,
    value: str,
    num: float,
    den: float,
    per: float,
) -> dict[str, object]:
    return {
        "measure": measure,
        "interval": interval,
        "interval_start": start,
        "interval_end": end,
        "group_by": by,
        "group_value": value,
        "numerator": float(num),
        "denominator": float(den),
        "value": num / den * per,
        "ci_lower": None,
        "ci_upper": None,
        "unit": "test",
        "engine": "duckdb",
        "definition_version": "test",
        "computed_at": pd.Timestamp("2026-01-01"),
    }


def make_measures(path: Path) -> Path:
    rows = []
    for i, (d, n) in enumerate(zip(MONTHS, FLAT + UP, strict=True)):
        # 1,000 person-years a month: the value per 1,000 is the count
        rows.append(_row(RISING, "month", d, _month_end(d), "all", "all", n, 1000.0, 1000))
        rows.append(
            _row(DNA, "month", d, _month_end(d), "all", "all", (50, 55, 45)[i % 3], 1000.0, 1)
        )
        # one practice's months: counts of 3 (suppressed) and 40
        n_gp = 3 if d.month % 2 else 40
        rows.append(
            _row(RISING, "month", d, _month_end(d), "practice", "DEMO-GP1", n_gp, 100.0, 1000)
        )
    start, end = MONTHS[-12], _month_end(MONTHS[-1])
    for unit, (num, den) in PRACTICES.items():
        rows.append(_row(DNA, "rolling_12_months", start, end, "practice", unit, num, den, 1))
    rows.append(_row(DNA, "rolling_12_months", start, end, "locality", "DEMO-LOC", 613, 6040, 1))
    frame = pd.DataFrame(rows)
    write(path, frame, [RISING, DNA], ("all", "practice", "locality"))
    con = duckdb.connect(str(path))
    # names the store does not know come from the warehouse's organisations
    con.execute("CREATE TABLE organisations (org_id VARCHAR, org_type VARCHAR, name VARCHAR)")
    con.execute("INSERT INTO organisations VALUES ('GP4', 'gp_practice', 'Valley Surgery')")
    con.execute("INSERT INTO organisations VALUES ('DEMO-GP1', 'gp_practice', 'Old name')")
    con.close()
    return path


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, TestClient]:
    tmp = tmp_path_factory.mktemp("intel")
    warehouse = make_measures(tmp / "warehouse.duckdb")
    url = f"sqlite:///{tmp / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="i" * 32)
    )
    analyst, other = TestClient(app), TestClient(app)
    sign_in(analyst, "commissioner")
    sign_in(other, "coordinator")
    return analyst, other


def _card(page: str, title: str) -> str:
    """The dashboard card of one KPI (from its heading to the next card)."""
    start = page.index(f">{title}</h3>")
    nxt = page.find('<li class="nhsuk-grid-column-one-half', start)
    return page[start : nxt if nxt != -1 else len(page)]


def test_rising_series_of_a_lower_is_better_kpi_is_special_cause_concerning(
    app_client: tuple[TestClient, TestClient],
) -> None:
    analyst, _ = app_client
    r = analyst.get("/app/population/kpis")
    assert r.status_code == 200
    card = _card(r.text, "Emergency admissions per 1,000")
    assert 'data-variation="special_cause_concerning_high"' in card
    assert "Special cause: concerning (high)" in card  # in words, not colour alone
    # the chart is an accessible SVG with a title and a description in words
    assert 'role="img"' in card and "<title id=" in card
    assert re.search(r"<desc id=[^>]+>20 months from Jan 2024 to Aug 2025; latest 155", card)
    # the trend's points above the mean are concerns (diamonds) in the chart, named in the table
    # (shown counts are rounded to 5: 120, 125, ... 155 are above the mean)
    assert card.count('class="cw-spc-concern"') == 6
    assert "Special cause: concern (beyond a process limit; 7 rising or falling)" in card
    # a flat series is common cause
    dna = _card(r.text, "Outpatient did-not-attend rate")
    assert 'data-variation="common_cause"' in dna and "5.0%" in dna


def test_dashboard_filters_by_practice_and_period_with_disclosure_control(
    app_client: tuple[TestClient, TestClient],
) -> None:
    analyst, _ = app_client
    r = analyst.get(
        "/app/population/kpis",
        params={"area": "practice:DEMO-GP1", "from": "2025-01", "to": "2025-08"},
    )
    assert r.status_code == 200
    assert "Demo surgery (practice), Jan 2025 to Aug 2025" in r.text
    card = _card(r.text, "Emergency admissions per 1,000")
    # Jan, Mar, May, Jul 2025 had 3 admissions: not shown, and left out of the chart
    assert card.count("Not shown (count &lt;8)") == 4
    assert re.search(r"<desc id=[^>]+>4 months from Feb 2025 to Aug 2025", card)
    assert "Dec 2024" not in card
    # 40 admissions over 100 person-years = 400.0; 3 over 100 (30.0) appears nowhere
    assert ">400.0<" in card and ">30.0<" not in card
    assert "Outpatient did-not-attend rate" not in r.text  # not measured for the practice


def test_funnel_lists_the_planted_outlier_as_above(
    app_client: tuple[TestClient, TestClient],
) -> None:
    analyst, _ = app_client
    r = analyst.get("/app/population/funnel", params={"kpi": DNA, "by": "practice"})
    assert r.status_code == 200
    outliers = r.text[r.text.index('id="outliers"') :]
    outliers = outliers[: outliers.index("</ul>")]
    assert '<span data-above="GP4">Valley Surgery</span> (21.0%)' in outliers
    assert "Below the 99.8% limit: none." in outliers
    assert '<td class="nhsuk-table__cell" data-position="GP4">Above</td>' in r.text
    assert '<td class="nhsuk-table__cell" data-position="DEMO-GP2">Inside</td>' in r.text
    # practices by name: the store's where it knows them, else the warehouse's
    assert "Demo surgery" in r.text and "Old name" not in r.text
    # The suppressed practice is listed, not plotted, and its count of 5 appears nowhere.
    assert re.search(r'id="suppressed">Not plotted \(count below 8\): GP6\.', r.text)
    assert 'data-position="GP6"' not in r.text
    assert "above the 99.8% limit: Valley Surgery" in r.text  # the chart's description
    assert "12 months from 1 Sep 2024 to 31 Aug 2025" in r.text


def test_funnel_rounds_counts_before_the_limits(
    app_client: tuple[TestClient, TestClient],
) -> None:
    analyst, _ = app_client
    r = analyst.get("/app/population/funnel", params={"kpi": DNA, "by": "practice"})
    row = r.text[r.text.index(">Other demo surgery</th>") :]
    row = row[: row.index("</tr>")]
    assert ">45<" in row and ">400<" in row and ">11.2%<" in row  # 45 of 400
    gp5 = r.text[r.text.index(">GP5</th>") :]
    gp5 = gp5[: gp5.index("</tr>")]
    assert ">150<" in gp5 and ">10.0%<" in gp5  # 148 shown as 150: 150 / 1,500


def test_funnel_by_locality_and_bad_choices_in_words(
    app_client: tuple[TestClient, TestClient],
) -> None:
    analyst, _ = app_client
    r = analyst.get("/app/population/funnel", params={"kpi": DNA, "by": "locality"})
    assert r.status_code == 200 and "Demo locality" in r.text
    bad = analyst.get("/app/population/funnel", params={"kpi": "no_such_kpi"})
    assert bad.status_code == 422 and "choose a measure from the list" in bad.text
    # a count-based mean cannot be funnelled
    mean = analyst.get("/app/population/funnel", params={"kpi": "mean_length_of_stay_days"})
    assert mean.status_code == 422
    area = analyst.get("/app/population/kpis", params={"area": "practice:NOPE"})
    assert (
        area.status_code == 422 and "choose the whole board, a locality or a practice" in area.text
    )
    month = analyst.get("/app/population/kpis", params={"from": "2025-13"})
    assert month.status_code == 422 and "choose a month like 2026-03" in month.text
    order = analyst.get("/app/population/kpis", params={"from": "2025-05", "to": "2025-01"})
    assert order.status_code == 422 and "must not be after" in order.text


def test_care_roles_may_not_see_the_commissioner_pages(
    app_client: tuple[TestClient, TestClient],
) -> None:
    analyst, coordinator = app_client
    for path in ("/app/population/kpis", "/app/population/funnel"):
        refused = coordinator.get(path)
        assert refused.status_code == 403, path
        assert "cannot see population figures" in refused.text
        page = analyst.get(path)
        # pseudonymised: no NHS number (or anything like one) on the analyst's page
        assert not re.search(r"\b\d{3} ?\d{3} ?\d{4}\b", page.text), path
    home = analyst.get("/app/")
    assert 'href="/app/population/kpis"' in home.text
    assert 'href="/app/population/funnel"' in home.text


def test_pages_without_measures_say_how_to_make_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="n" * 32))
    with TestClient(app) as c:
        sign_in(c, "commissioner")
        for path in ("/app/population/kpis", "/app/population/funnel"):
            r = c.get(path)
            assert r.status_code == 200 and "careweave measures --warehouse W" in r.text, path


def test_funnel_adjusts_for_overdispersion_on_request(
    app_client: tuple[TestClient, TestClient],
) -> None:
    analyst, _ = app_client
    exact = analyst.get("/app/population/funnel", params={"kpi": DNA, "by": "practice"})
    assert "Exact limits (binomial), no adjustment" in exact.text
    r = analyst.get(
        "/app/population/funnel",
        params={"kpi": DNA, "by": "practice", "overdispersion": "additive"},
    )
    assert r.status_code == 200
    assert '<option value="additive" selected>' in r.text
    # the planted outlier makes the practices over-dispersed: the limits widen, so
    # Valley Surgery (21.0%, twice the others) is no longer beyond them
    used = r.text[r.text.index('id="limits-used"') :]
    assert used.startswith('id="limits-used">Limits adjusted for over-dispersion (random effects)')
    assert "phi is" in used[:200]
    assert '<td class="nhsuk-table__cell" data-position="GP4">Above</td>' in exact.text
    assert '<td class="nhsuk-table__cell" data-position="GP4">Inside</td>' in r.text
    # both charts (wide and narrow) draw all four adjusted limit curves
    assert r.text.count('class="cw-funnel-998"') == 4 and r.text.count('class="cw-funnel-95"') == 4
    mult = analyst.get(
        "/app/population/funnel",
        params={"kpi": DNA, "by": "practice", "overdispersion": "multiplicative"},
    )
    assert "Limits adjusted for over-dispersion (multiplicative)" in mult.text
    assert mult.status_code == 200
    bad = analyst.get("/app/population/funnel", params={"kpi": DNA, "overdispersion": "lots"})
    assert bad.status_code == 422 and "choose none, additive or multiplicative" in bad.text


def test_pages_are_kept_per_warehouse_version(tmp_path: Path) -> None:
    """A repeat opens no warehouse connection; a rewritten warehouse is read afresh."""
    from careweave.web import warehouse as wh

    warehouse = make_measures(tmp_path / "warehouse.duckdb")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="v" * 32)
    )
    opened = []
    real = wh.connect

    def counting(path):  # type: ignore[no-untyped-def]
        opened.append(path)
        return real(path)

    with TestClient(app) as c, pytest.MonkeyPatch.context() as mp:
        mp.setattr(wh, "connect", counting)
        sign_in(c, "commissioner")
        first = c.get("/app/population/funnel", params={"kpi": DNA})
        assert first.status_code == 200 and opened
        n = len(opened)
        again = c.get("/app/population/funnel", params={"kpi": DNA})
        assert again.text.count("Valley Surgery") == first.text.count("Valley Surgery")
        assert len(opened) == n  # served from the cache
        board = c.get("/app/population/kpis")
        assert board.status_code == 200 and "Valley Surgery" in board.text
        n = len(opened)
        assert c.get("/app/population/kpis").text == board.text
        assert len(opened) == n  # the dashboard's content is kept too
        # a writer (careweave load) can take the file once the pages' shared reader has
        # let it go, IDLE_SECONDS after the last request
        time.sleep(wh.IDLE_SECONDS + 0.5)
        con = duckdb.connect(str(warehouse))
        con.execute("UPDATE organisations SET name = 'Hill Surgery' WHERE org_id = 'GP4'")
        con.close()
        after = c.get("/app/population/funnel", params={"kpi": DNA})
        assert len(opened) > n
        assert "Hill Surgery" in after.text and "Valley Surgery" not in after.text
        dashboard = c.get("/app/population/kpis")
        assert "Hill Surgery" in dashboard.text and "Valley Surgery" not in dashboard.text


def test_the_server_warms_the_first_views_and_again_after_a_measures_run(
    tmp_path: Path,
) -> None:
    """careweave serve's warmer makes every whole-period dashboard and every funnel before
    anyone asks (their first view opens no connection), and again once the warehouse
    changes; the views it keeps are the pages' own (the store's names included)."""
    from careweave.server import _warm_commissioner_pages
    from careweave.web import warehouse as wh

    warehouse = make_measures(tmp_path / "warehouse.duckdb")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="v" * 32)
    )
    warmer = _warm_commissioner_pages(app, warehouse, every=0.1)
    try:
        assert warmer.warmed.wait(120) and warmer.rounds == 1
        n_kpis = len(intel.funnel_kpis())
        # the board, its locality and practices; each funnel KPI by 2 units, 3 limits
        assert warmer.views == 1 + 1 + len(PRACTICES) + n_kpis * 2 * 3
        opened = []
        real = wh.connect

        def counting(path):  # type: ignore[no-untyped-def]
            opened.append(path)
            return real(path)

        with TestClient(app) as c, pytest.MonkeyPatch.context() as mp:
            mp.setattr(wh, "connect", counting)
            sign_in(c, "commissioner")
            for path, params in (
                ("/app/population/kpis", {"area": "practice:GP4"}),
                ("/app/population/kpis", {}),
                ("/app/population/funnel", {"kpi": DNA, "overdispersion": "additive"}),
                ("/app/population/funnel", {"kpi": DNA, "by": "locality"}),
            ):
                r = c.get(path, params=params)
                assert r.status_code == 200, (path, params)
                assert ("Valley Surgery" in r.text) == (params.get("by") != "locality")
            assert opened == []
            time.sleep(wh.IDLE_SECONDS + 0.5)  # the pages' shared reader lets the file go
            warmer.warmed.clear()
            # a new version at once (written beside it, then moved over it), so the
            # warmer never sees the file half-written
            fresh = tmp_path / "fresh.duckdb"
            shutil.copy(warehouse, fresh)
            con = duckdb.connect(str(fresh))
            con.execute("UPDATE organisations SET name = 'Hill Surgery' WHERE org_id = 'GP4'")
            con.close()
            os.replace(fresh, warehouse)
            assert warmer.warmed.wait(120) and warmer.rounds == 2
            n = len(opened)  # the warmer's own connection
            after = c.get("/app/population/kpis", params={"area": "practice:GP4"})
            assert "Hill Surgery" in after.text and "Valley Surgery" not in after.text
            assert len(opened) == n
    finally:
        warmer.stop()


def test_the_warmer_gives_way_to_requests_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """careweave serve's warmer makes no view while a request is in progress: it waits for
    a moment with none (and then warms), or, if requests never stop, makes one view
    after waiting GIVE_WAY_SECONDS (so a busy server still warms, a view at a time)."""
    from careweave import server
    from careweave.web.pages import intelligence as pages

    warehouse = make_measures(tmp_path / "warehouse.duckdb")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="w" * 32)
    )
    made: list[tuple[str, ...]] = []
    real = pages._dashboard_body

    def dashboard(*a, **k):  # type: ignore[no-untyped-def]
        made.append(("dashboard", a[1], a[2]))
        return real(*a, **k)

    monkeypatch.setattr(pages, "_dashboard_body", dashboard)
    activity = app.state.careweave_activity
    monkeypatch.setattr(server, "GIVE_WAY_SECONDS", 60.0)
    activity.started()  # a request in progress
    warmer = server._warm_commissioner_pages(app, warehouse, every=0.1)
    try:
        time.sleep(1.5)
        assert made == [] and warmer.rounds == 0  # waiting for the request to finish
        activity.finished()
        assert warmer.warmed.wait(120) and warmer.rounds == 1
        assert ("dashboard", "all", "all") in made
    finally:
        warmer.stop()
    intel._CACHE.clear()
    made.clear()
    # never idle: one view after each GIVE_WAY_SECONDS of waiting
    monkeypatch.setattr(server, "GIVE_WAY_SECONDS", 0.5)
    activity.started()
    warmer = server._warm_commissioner_pages(app, warehouse, every=0.1)
    try:
        time.sleep(1.2)
        assert 1 <= len(made) <= 3 and warmer.rounds == 0
    finally:
        warmer.stop()
        activity.finished()


def test_warm_pages_pauses_before_each_view(tmp_path: Path) -> None:
    from careweave.web.pages.intelligence import warm_pages

    warehouse = make_measures(tmp_path / "warehouse.duckdb")
    intel._CACHE.clear()
    pauses: list[int] = []
    views = warm_pages(warehouse, {}, pause=lambda: pauses.append(1))
    assert views > 0 and len(pauses) == views
