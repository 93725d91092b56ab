"""Scheme trajectories, baselines, targets and forecasts against hand-worked examples."""

from __future__ import annotations

import datetime as dt

import pytest

from careweave.budgets import trajectory as traj
from careweave.budgets.file import SchemeKpi
from careweave.budgets.forecast import kpi_year_end, spend_year_end

APRIL = dt.date(2025, 4, 1)


def test_linear_from_baseline_to_target() -> None:
    # 1% -> 2% over twelve months: 1/12 of a point a month
    t = traj.trajectory(APRIL, 0.01, 0.02)
    assert t is not None and len(t) == 12
    assert t[0] == pytest.approx(0.01 + 0.01 / 12)  # April 0.010833
    assert t[5] == pytest.approx(0.015)  # September
    assert t[11] == pytest.approx(0.02)  # March


def test_a_falling_target() -> None:
    # 82 -> 70: a point a month
    t = traj.trajectory(APRIL, 82.0, 70.0)
    assert t == pytest.approx([81.0 - i for i in range(12)])


def test_given_months_are_anchors_and_the_months_between_are_linear() -> None:
    t = traj.trajectory(APRIL, 0.01, 0.02, {"2025-09": 0.012})
    assert t is not None
    assert t[4] == pytest.approx(0.01 + 0.002 * 5 / 6)  # August 0.011667
    assert t[5] == pytest.approx(0.012)  # September as given
    assert t[8] == pytest.approx(0.012 + 0.008 * 3 / 6)  # December 0.016
    assert t[11] == pytest.approx(0.02)


def test_a_given_last_month_wins_over_the_target() -> None:
    t = traj.trajectory(APRIL, 10.0, 22.0, {"2026-03": 16.0})
    assert t is not None
    assert t[11] == pytest.approx(16.0)
    assert t[5] == pytest.approx(13.0)


def test_no_trajectory_without_a_baseline_or_a_target() -> None:
    assert traj.trajectory(APRIL, None, 0.02) is None
    assert traj.trajectory(APRIL, 0.01, None) is None


def test_baseline_is_the_mean_of_the_shown_months_unless_given() -> None:
    k = SchemeKpi(id="case_management_register_share", target=0.02)
    series = {
        dt.date(2024, 4, 1): 0.010,
        dt.date(2024, 5, 1): None,  # suppressed: left out
        dt.date(2024, 6, 1): 0.014,
        dt.date(2025, 4, 1): 0.5,  # outside the baseline period
    }
    b = traj.baseline_value(k, series, dt.date(2024, 4, 1), dt.date(2025, 3, 1))
    assert b == pytest.approx(0.012)
    given = SchemeKpi(id="case_management_register_share", target=0.02, baseline_value=0.01)
    assert traj.baseline_value(given, series, dt.date(2024, 4, 1), dt.date(2025, 3, 1)) == 0.01
    assert traj.baseline_value(k, {}, dt.date(2024, 4, 1), dt.date(2025, 3, 1)) is None


def test_target_change_is_relative_to_the_baseline() -> None:
    up = SchemeKpi(id="people_with_care_plan", target_change=0.30)
    assert traj.target_value(up, 4000.0) == pytest.approx(5200.0)  # care plans up 30%
    assert traj.target_value(up, None) is None
    fixed = SchemeKpi(id="care_home_residents_with_care_plan_share", target=0.95)
    assert traj.target_value(fixed, 0.6) == 0.95


def test_kpi_forecast_is_the_linear_trend_at_the_last_month() -> None:
    # 1.15%, 1.30%, ... rising 0.15 points a month from month 1: month 12 is 2.80%
    points = [(i, 0.0100 + 0.0015 * i) for i in range(1, 7)]
    f = kpi_year_end(points)
    assert f.method == "linear_trend" and f.months_used == 6
    assert f.value == pytest.approx(0.028)
    # a perfect line: no spread
    assert f.lower == pytest.approx(0.028) and f.upper == pytest.approx(0.028)
    # y = 1, 3, 2 at months 1-3: slope 0.5, intercept 1 -> 7 at month 12, with an interval
    g = kpi_year_end([(1, 1.0), (2, 3.0), (3, 2.0)])
    assert g.value == pytest.approx(7.0)
    assert g.lower is not None and g.upper is not None and g.lower < 7.0 < g.upper


def test_kpi_forecast_needs_three_months_and_a_measured_last_month_is_the_outcome() -> None:
    f = kpi_year_end([(1, 0.5), (2, 0.6)])
    assert f.value is None and f.reason and "3 months" in f.reason
    done = kpi_year_end([(i, float(i)) for i in range(1, 13)])
    assert done.method == "outcome" and done.value == 12.0


def test_spend_forecast_is_the_run_rate() -> None:
    # £100k, £120k, £110k in three months: £330k so far + £110k x 9 = £1,320k
    f = spend_year_end([100_000.0, 120_000.0, 110_000.0])
    assert f.method == "run_rate" and f.value == pytest.approx(1_320_000.0)
    assert spend_year_end([]).value is None
    whole = spend_year_end([10.0] * 12)
    assert whole.method == "outcome" and whole.value == 120.0
