"""Confidence intervals and direct age standardisation against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from careweave.measures import stats
from careweave.measures.catalogue import load_catalogue
from careweave.measures.compute import _standardised


def test_wilson_10_of_100() -> None:
    # p = 0.1, z = 1.96: centre 0.11480, half-width 0.05957
    lo, hi = stats.wilson(10, 100)
    assert lo == pytest.approx(0.05523, abs=5e-5)
    assert hi == pytest.approx(0.17437, abs=5e-5)
    vlo, vhi = stats.wilson_v(np.array([10.0]), np.array([100.0]))
    assert (vlo[0], vhi[0]) == pytest.approx((lo, hi))


def test_wilson_edges() -> None:
    assert stats.wilson(0, 0) == (None, None)
    lo, hi = stats.wilson(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.16113, abs=5e-5)
    lo, hi = stats.wilson(20, 20)
    assert hi == 1.0 and lo == pytest.approx(0.83887, abs=5e-5)


def test_exact_poisson_small_counts() -> None:
    assert stats.poisson_exact(0) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert stats.poisson_exact(5) == pytest.approx((1.6235, 11.6683), abs=1e-4)
    # below 10 events the exact limits are used
    assert stats.poisson_limits(5) == stats.poisson_exact(5)


def test_byar_20_events() -> None:
    # 20 (1 - 1/180 - 1.96/(3 sqrt 20))^3 and 21 (1 - 1/189 + 1.96/(3 sqrt 21))^3
    assert stats.byar(20) == pytest.approx((12.2115, 30.8899), abs=1e-3)
    lo, hi = stats.poisson_limits_v(np.array([20.0, 5.0, 0.0]))
    assert lo == pytest.approx([12.2115, 1.6235, 0.0], abs=1e-3)
    assert hi == pytest.approx([30.8899, 11.6683, 3.6889], abs=1e-3)


def test_rate_ci_scales_the_count_limits() -> None:
    lo, hi = stats.rate_ci(20, 500.0, 1000)
    assert lo == pytest.approx(12.2115 * 2, abs=1e-2) and hi == pytest.approx(30.8899 * 2, abs=1e-2)


def test_esp2013_weights() -> None:
    esp = stats.esp2013()
    assert len(esp) == 19 and sum(w for _, _, w in esp) == 100_000
    assert esp[0] == ("0-4", 0, 5000) and esp[-1] == ("90+", 90, 1000)


def test_dsr_hand_worked() -> None:
    # bands weighted 6,000 and 4,000: 10 events in 1,000 and 30 in 500 person-years
    # DSR = (6000 x 0.01 + 4000 x 0.06) / 10000 = 0.03 -> 30 per 1,000
    # var = (6000^2 x 10 / 1000^2 + 4000^2 x 30 / 500^2) / 10000^2 = 2.28e-5; O = 40
    # Byar(40) = (28.573, 54.470); limits 0.03 + (L - 40) sqrt(var / 40)
    value, lo, hi = stats.dsr([10, 30], [1000, 500], [6000, 4000], 1000)
    assert value == pytest.approx(30.0)
    assert lo == pytest.approx(21.373, abs=5e-3)
    assert hi == pytest.approx(40.925, abs=5e-3)


def test_dsr_drops_empty_bands_and_handles_no_events() -> None:
    value, _lo, _hi = stats.dsr([2, 0], [100, 0], [6000, 4000], 1000)
    assert value == pytest.approx(20.0)  # only the band with person-time
    assert stats.dsr([0], [0], [1], 1000) == (None, None, None)
    value, _lo, hi = stats.dsr([0, 0], [10, 10], [1, 1], 1000)
    assert value == 0.0 and hi is None


def test_engine_standardisation_matches_the_scalar_one() -> None:
    kpi = load_catalogue().kpis["emergency_admissions_per_1000_age_standardised"]
    esp_index = np.arange(19)
    num = np.zeros((1, 19, 1))
    den = np.zeros((1, 19, 1))
    num[0, 6, 0], den[0, 6, 0] = 10, 1000  # 30-34, weight 6,500
    num[0, 16, 0], den[0, 16, 0] = 30, 500  # 80-84, weight 2,500
    value, lo, hi = _standardised(kpi, num, den, esp_index)
    want = stats.dsr([10, 30], [1000, 500], [6500, 2500], 1000)
    assert (value[0, 0], lo[0, 0], hi[0, 0]) == pytest.approx(want)
