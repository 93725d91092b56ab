"""Small-number disclosure control: the one rule, on every output path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careweave.measures import disclosure
from careweave.measures.catalogue import load_catalogue


def test_the_rule() -> None:
    assert disclosure.round_count(0) == 0
    assert [disclosure.round_count(n) for n in range(1, 8)] == [None] * 7
    assert disclosure.round_count(8) == 10
    assert disclosure.round_count(12) == 10
    assert disclosure.round_count(13) == 15
    assert disclosure.count(3).text == "<8" and disclosure.count(1234).text == "1,235"
    assert disclosure.share(disclosure.count(12), disclosure.count(103)) == "9.5%"
    assert disclosure.share(disclosure.count(5), disclosure.count(103)) == "–"
    rounded = disclosure.round_counts([0, 3, 8, 12, np.nan])
    assert rounded[0] == 0 and np.isnan(rounded[1]) and list(rounded[2:4]) == [10, 10]
    assert np.isnan(rounded[4])


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    cols = ("numerator", "denominator", "value", "ci_lower", "ci_upper")
    return pd.DataFrame(rows).astype({c: "float64" for c in cols})


KPIS = load_catalogue().kpis


def test_safe_frame_recomputes_from_rounded_figures() -> None:
    f = _frame(
        [
            # proportion 12/103: shown 10/105
            {
                "measure": "readmission_30d_rate",
                "numerator": 12,
                "denominator": 103,
                "value": 12 / 103,
                "ci_lower": 0.06,
                "ci_upper": 0.19,
            },
            # 5 readmissions: suppressed with its interval
            {
                "measure": "readmission_30d_rate",
                "numerator": 5,
                "denominator": 103,
                "value": 5 / 103,
                "ci_lower": 0.02,
                "ci_upper": 0.1,
            },
            # a rate per 1,000 person-years: 23 events, 1,001.3 person-years -> 25 / 1,000
            {
                "measure": "emergency_admissions_per_1000",
                "numerator": 23,
                "denominator": 1001.3,
                "value": 22.97,
                "ci_lower": 14.6,
                "ci_upper": 34.5,
            },
            # money is not a count: kept; person-years rounded
            {
                "measure": "spend_per_head",
                "numerator": 123456.78,
                "denominator": 101.2,
                "value": 1219.9,
                "ci_lower": None,
                "ci_upper": None,
            },
            # an age-standardised rate keeps its value while its count is shown
            {
                "measure": "emergency_admissions_per_1000_age_standardised",
                "numerator": 23,
                "denominator": 1001.3,
                "value": 19.5,
                "ci_lower": 12.0,
                "ci_upper": 29.0,
            },
            # a count measure
            {
                "measure": "registered_population",
                "numerator": 4,
                "denominator": None,
                "value": 4,
                "ci_lower": None,
                "ci_upper": None,
            },
        ]
    )
    safe = disclosure.safe_frame(f, KPIS)
    r = safe.to_dict("records")
    assert (r[0]["numerator"], r[0]["denominator"]) == (10, 105)
    assert r[0]["value"] == pytest.approx(10 / 105)
    lo, hi = disclosure.stats.wilson(10, 105)  # the interval from the shown figures
    assert (r[0]["ci_lower"], r[0]["ci_upper"]) == pytest.approx((lo, hi))
    assert r[1]["suppressed"] and np.isnan(r[1]["numerator"]) and np.isnan(r[1]["value"])
    assert np.isnan(r[1]["ci_lower"]) and np.isnan(r[1]["ci_upper"])
    assert r[1]["denominator"] == 105
    assert (r[2]["numerator"], r[2]["denominator"]) == (25, 1000)
    assert r[2]["value"] == pytest.approx(25.0)
    assert r[3]["numerator"] == pytest.approx(123456.78) and r[3]["denominator"] == 100
    assert r[3]["value"] == pytest.approx(1234.5678)
    assert r[4]["value"] == 19.5 and r[4]["numerator"] == 25
    assert r[5]["suppressed"] and np.isnan(r[5]["value"])


def test_tiny_person_time_hides_the_row() -> None:
    f = _frame(
        [
            {
                "measure": "spend_per_head",
                "numerator": 900.0,
                "denominator": 0.5,
                "value": 1800.0,
                "ci_lower": None,
                "ci_upper": None,
            }
        ]
    )
    assert disclosure.safe_frame(f, KPIS)["suppressed"].tolist() == [True]


def test_web_pages_use_the_shared_rule() -> None:
    from careweave.web.pages import population

    assert population.count is disclosure.count and population.share is disclosure.share
