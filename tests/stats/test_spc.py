"""XmR charts against hand-worked series: limits, screening, each rule alone, rebasing, icons."""

from __future__ import annotations

import datetime as dt

import pytest

from careweave.stats import spc

DATES = [dt.date(2024, 1, 1) + dt.timedelta(days=31 * i) for i in range(20)]


def flagged(result):
    return {i: p.rules for i, p in enumerate(result.points) if p.special_cause}


def test_limits_are_mean_plus_minus_2_66_mean_moving_range():
    # mean 9/5 = 1.8; moving ranges 1, 1, 1, 1 -> 1; limits 1.8 -/+ 2.66
    r = spc(DATES[:5], [1, 2, 3, 2, 1])
    p = r.points[0]
    assert p.mean == pytest.approx(1.8)
    assert p.lower == pytest.approx(1.8 - 2.66)
    assert p.upper == pytest.approx(1.8 + 2.66)
    assert flagged(r) == {}


def test_large_moving_ranges_are_screened_before_the_limits():
    # ranges: 1,1,1,1,30,30,1,1,1 -> mean 67/9 = 7.44; 3.267 x 7.44 = 24.3, so both 30s go;
    # the mean range is then 1; mean 134/10 = 13.4; limits 10.74 and 16.06.
    r = spc(DATES[:10], [10, 11, 10, 11, 10, 40, 10, 11, 10, 11])
    p = r.points[0]
    assert p.mean == pytest.approx(13.4)
    assert p.lower == pytest.approx(10.74)
    assert p.upper == pytest.approx(16.06)


def test_a_point_beyond_a_limit_fires_alone():
    # 7/13 alternating with 45 at index 10: mean 238/20 = 11.9; ranges 6 (x17) and 32 (x2):
    # mean 166/19 = 8.74, screen at 28.5 drops the 32s; limits 11.9 -/+ 2.66 x 6.
    values = [7 if i % 2 == 0 else 13 for i in range(20)]
    values[10] = 45
    r = spc(DATES, values)
    assert r.points[0].mean == pytest.approx(11.9)
    assert r.points[0].upper == pytest.approx(11.9 + 15.96)
    assert flagged(r) == {10: ("outside_limits",)}


def test_a_run_of_seven_on_one_side_flags_every_point_in_the_run():
    values = [9 if i % 2 == 0 else 11 for i in range(20)]
    values[6:13] = [11, 10.6, 11, 10.6, 11, 10.6, 11]
    r = spc(DATES, values)
    # mean 206.8/20 = 10.34: the run's neighbours (11 at 5 and 13) are above it too,
    # so the run is indices 5..13 (nine points), and nothing else fires.
    assert r.points[0].mean == pytest.approx(10.34)
    assert flagged(r) == {i: ("shift",) for i in range(5, 14)}


def test_a_point_on_the_mean_breaks_a_run():
    # sum 12 + 17 + 12 - 1 = 40 over 20 points: the mean is exactly 2.0, the 4th point of the run
    values = [1.0, 3.0] * 3 + [2.5, 2.5, 2.5, 2.0, 2.5, 2.5, 2.5] + [1.0, 3.0] * 3 + [-1.0]
    r = spc(DATES, values)
    assert r.points[0].mean == pytest.approx(2.0)
    assert all("shift" not in p.rules for p in r.points)


def test_seven_points_each_higher_than_the_last_is_a_trend():
    values = [9 if i % 2 == 0 else 11 for i in range(20)]
    values[6:13] = [8.5, 9, 9.5, 10, 10.5, 11, 11.5]
    r = spc(DATES, values)
    assert flagged(r) == {i: ("trend",) for i in range(6, 13)}


def test_six_rising_points_are_not_a_trend_and_a_tie_breaks_one():
    values = [9 if i % 2 == 0 else 11 for i in range(20)]
    values[6:13] = [8.5, 9, 9.5, 10, 10, 11, 11.5]
    assert all("trend" not in p.rules for p in spc(DATES, values).points)


def test_two_of_three_beyond_two_thirds_of_the_way_to_a_limit():
    values = [9 if i % 2 == 0 else 11 for i in range(20)]
    values[8:11] = [15.5, 11, 15.5]
    r = spc(DATES, values)
    p = r.points[0]
    near = p.mean + (p.upper - p.mean) * 2 / 3
    assert near < 15.5 < p.upper
    # only the two points beyond the near limit are flagged, not the 11 between them
    assert flagged(r) == {8: ("two_in_three",), 10: ("two_in_three",)}


def test_rebasing_recalculates_the_limits_from_the_date():
    values = [10, 11] * 5 + [20, 21] * 5
    unrebased = spc(DATES, values)
    assert unrebased.points[0].special_cause
    r = spc(DATES, values, rebase=(DATES[10],))
    assert flagged(r) == {}
    assert r.points[0].mean == pytest.approx(10.5)
    assert r.points[15].mean == pytest.approx(20.5)
    assert r.points[15].upper == pytest.approx(20.5 + 2.66)
    assert r.rebase_dates == (DATES[10],)


def test_variation_and_assurance_icons():
    values = [10, 11] * 5 + [20, 21] * 5
    up = spc(DATES, values, improvement="increase", target=5)
    assert up.variation == "special_cause_improving_high"
    assert up.assurance == "consistently_passes"
    down = spc(DATES, values, improvement="decrease", target=5)
    assert down.variation == "special_cause_concerning_high"
    assert down.assurance == "consistently_fails"
    neutral = spc(DATES, values, improvement="neutral", target=5)
    assert neutral.variation == "special_cause_neutral_high"
    assert neutral.assurance is None
    steady = spc(DATES[:5], [1, 2, 3, 2, 1], improvement="increase", target=2)
    assert steady.variation == "common_cause"
    assert steady.assurance == "hit_and_miss"
    assert spc(DATES[:5], [1, 2, 3, 2, 1], improvement="increase").assurance is None


def test_points_come_back_in_date_order_and_one_point_has_no_limits():
    r = spc([DATES[2], DATES[0], DATES[1]], [3.0, 1.0, 2.0])
    assert [p.value for p in r.points] == [1.0, 2.0, 3.0]
    lone = spc(DATES[:1], [4.0])
    assert lone.points[0].upper is None and not lone.points[0].special_cause


def test_a_constant_series_is_common_cause_despite_rounding():
    # the mean of twenty 0.05s is 0.05000000000000001 in floating point
    r = spc(DATES, [0.05] * 20, improvement="decrease", target=0.1)
    assert flagged(r) == {}
    assert r.variation == "common_cause"
    assert r.points[0].lower == pytest.approx(0.05) and r.points[0].upper == pytest.approx(0.05)
