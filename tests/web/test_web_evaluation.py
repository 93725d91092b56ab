"""The evaluation page (/app/population/evaluation): the latest stored result with its
verdict, forest plot, effects beside the naive before/after and the balance table,
counts through disclosure control; analysts only; and its section in the PDF pack."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from careweave.care import evaluations
from careweave.store.db import make_engine, session_factory, transaction

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def stored(intervention: str = "case_management", treated: int = 3927) -> dict[str, object]:
    return {
        "intervention": intervention,
        "definition_version": "2026-12-01.1",
        "treated": treated,
        "matched": 3829,
        "controls": 9012,
        "balance_max_smd": 0.049,
        "balance": {"age": 0.012, "reg_copd": -0.049, "prognostic_score": 0.03},
        "outcomes": {
            "emergency_admissions": {
                "effect": -0.124,
                "ci_low": -0.174,
                "ci_high": -0.071,
                "naive_before_after": -0.142,
                "degree": "10%+",
                "verdict": "Enrolment was followed by 12% fewer emergency admissions.",
            },
            "deaths": {
                "effect": 0.02,
                "ci_low": -0.1,
                "ci_high": 0.15,
                "naive_before_after": None,
                "degree": "1-5%",
                "verdict": "The evidence is too weak to claim any effect on deaths.",
            },
        },
    }


def test_before_any_result_says_how_to_make_one(
    client_for: Callable[[str], tuple[TestClient, str]],
) -> None:
    """First in the module: the demo store has no stored result yet."""
    c, _ = client_for("commissioner")
    r = c.get("/app/population/evaluation")
    assert r.status_code == 200
    assert "No evaluation result is stored yet" in r.text and "--store URL" in r.text
    assert "/app/population/evaluation" in c.get("/app/population").text


@pytest.fixture(scope="module")
def with_results(demo_db: str) -> str:
    sessions = session_factory(make_engine(demo_db))
    with transaction(sessions) as s:
        evaluations.save(s, stored(treated=5), {"follow_up_days": 365}, T0)  # older
        evaluations.save(
            s,
            stored(),
            {"follow_up_days": 365, "prognostic": "fallback", "data_from": "2019-01-01"},
            T0 + dt.timedelta(days=1),
        )
        evaluations.save(s, stored("telehealth"), {}, T0)
    return demo_db


def test_the_page_shows_the_latest_result(
    with_results: str, client_for: Callable[[str], tuple[TestClient, str]]
) -> None:
    c, _ = client_for("commissioner")
    r = c.get("/app/population/evaluation")
    assert r.status_code == 200
    html = r.text
    assert "Evaluation: case management" in html
    assert "Enrolment was followed by 12% fewer emergency admissions." in html
    assert "Degree of impact: <strong>10%+</strong>" in html
    # disclosure: counts rounded to 5 (3927 -> 3925, 3829 -> 3830, 9012 -> 9010)
    assert ">3,925<" in html and "3,830, to 9,010 controls" in html
    effects = html[html.index('id="effects"') :]
    row = re.search(r'data-outcome="emergency_admissions">(.*?)</tr>', effects, re.S)
    assert row is not None
    assert "−12.4%" in row.group(1) and "−17.4% to −7.1%" in row.group(1)
    assert "−14.2%" in row.group(1)  # the naive before/after beside it
    assert "Not applicable" in effects  # deaths have no before/after
    assert "On the COPD register" in html and "Prognostic score" in html
    # the forest plot: accessible SVG, wide and narrow, both scores described
    assert html.count('role="img"') >= 2 and 'id="chart-forest-d"' in html
    assert "naive before/after −14.2%" in html
    # the other intervention is a choice
    assert '<option value="telehealth">Telehealth monitoring</option>' in html
    assert "The evidence is too weak to claim any effect on deaths." in html


def test_choose_another_intervention_and_a_bad_one(
    with_results: str, client_for: Callable[[str], tuple[TestClient, str]]
) -> None:
    c, _ = client_for("commissioner")
    r = c.get("/app/population/evaluation?intervention=telehealth")
    assert r.status_code == 200 and "Evaluation: telehealth monitoring" in r.text
    bad = c.get("/app/population/evaluation?intervention=astrology")
    assert bad.status_code == 422
    assert "choose one of the evaluated interventions" in bad.text


def test_only_analysts(
    with_results: str, client_for: Callable[[str], tuple[TestClient, str]]
) -> None:
    c, _ = client_for("district.nurse")
    assert c.get("/app/population/evaluation").status_code == 403
