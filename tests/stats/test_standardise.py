"""Indirect standardisation against a hand-worked example (careweave.stats.standardise)."""

from __future__ import annotations

import pytest

from careweave.stats.standardise import compare, expected, indirect


def test_hand_worked_example() -> None:
    # Three strata: 1,000 people at a reference prevalence of 1%, 500 at 5%, 200 at 20%.
    # E = 1000 x 0.01 + 500 x 0.05 + 200 x 0.20 = 10 + 25 + 40 = 75 people expected.
    # 60 recorded: ratio 60 / 75 = 0.8, gap 75 - 60 = 15 people.
    # Byar's limits for O = 60 (Z = 1.96):
    #   lower = 60 (1 - 1/540 - 1.96/(3 sqrt 60))^3 = 60 x 0.913801^3 = 45.784
    #   upper = 61 (1 - 1/549 + 1.96/(3 sqrt 61))^3 = 61 x 1.081830^3 = 77.233
    # so the gap's interval is 75 - 77.233 = -2.233 to 75 - 45.784 = 29.216 people,
    # and the ratio's 45.784 / 75 = 0.610 to 77.233 / 75 = 1.030.
    r = indirect(60, [1000, 500, 200], [0.01, 0.05, 0.20])
    assert r.expected == pytest.approx(75.0)
    assert r.observed == 60
    assert r.ratio == pytest.approx(0.8)
    assert r.gap == pytest.approx(15.0)
    assert r.gap_lower == pytest.approx(-2.233, abs=1e-3)
    assert r.gap_upper == pytest.approx(29.216, abs=1e-3)
    assert r.ratio_lower == pytest.approx(0.6105, abs=1e-4)
    assert r.ratio_upper == pytest.approx(1.0298, abs=1e-4)


def test_small_counts_use_the_exact_poisson_limits() -> None:
    # O = 4 (< 10): Garwood's exact limits chi2(0.025, 8)/2 = 1.0899, chi2(0.975, 10)/2 = 10.2416
    r = compare(4, 12.0)
    assert r.gap == pytest.approx(8.0)
    assert r.gap_lower == pytest.approx(12.0 - 10.2416, abs=1e-4)
    assert r.gap_upper == pytest.approx(12.0 - 1.0899, abs=1e-4)


def test_nothing_expected_has_no_ratio() -> None:
    r = compare(3, 0.0)
    assert r.ratio is None and r.ratio_lower is None
    assert r.gap == -3.0


def test_expected_needs_one_rate_per_stratum() -> None:
    with pytest.raises(ValueError, match="one value per stratum"):
        expected([1, 2], [0.1])
