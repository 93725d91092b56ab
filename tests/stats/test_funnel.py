"""Funnel-plot limits against hand-worked values (Spiegelhalter 2005)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from careweave.stats import funnel
from careweave.stats.funnel import PROBABILITIES, exact_limits, exact_limits_array

# the module (careweave.stats.funnel the attribute is the function)
funnel_module = sys.modules["careweave.stats.funnel"]


def binom_cdf(r: int, n: int, p: float) -> float:
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(r + 1))


def poisson_cdf(r: int, mu: float) -> float:
    return sum(math.exp(-mu) * mu**k / math.factorial(k) for k in range(r + 1))


def interpolated(cdf, p: float) -> float:
    """Spiegelhalter (2005) appendix A.1: smallest r with F(r) >= p, less alpha."""
    r = 0
    while cdf(r) < p:
        r += 1
    below = cdf(r - 1) if r else 0.0
    return r - (cdf(r) - p) / (cdf(r) - below)


@pytest.mark.parametrize("p", [0.001, 0.025, 0.975, 0.999])
def test_binomial_limits_are_interpolated_exact_quantiles(p):
    expected = interpolated(lambda r: binom_cdf(r, 200, 0.15), p) / 200
    assert exact_limits("proportion", 0.15, 200, p) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("p", [0.001, 0.025, 0.975, 0.999])
def test_poisson_limits_are_interpolated_exact_quantiles(p):
    # rate 0.012 per person-year over 2,500 person-years: 30 expected
    expected = interpolated(lambda r: poisson_cdf(r, 30.0), p) / 2500
    assert exact_limits("rate", 0.012, 2500, p) == pytest.approx(expected, rel=1e-9)


def test_target_is_the_pooled_value_and_positions_use_the_998_limits():
    r = funnel(["A", "B", "C"], [2, 30, 60], [100, 200, 300])
    assert r.target == pytest.approx(92 / 600)
    by = {u.unit: u for u in r.units}
    assert by["A"].value == pytest.approx(0.02)
    assert by["A"].position == "below"  # 2/100 against a 15.3% target
    assert by["B"].position == "inside"
    assert by["A"].lower_998 < by["A"].lower_95 < by["A"].upper_95 < by["A"].upper_998


def test_rates_scale_with_the_multiplier():
    r = funnel(["A", "B"], [5, 50], [1000, 2000], kind="rate", multiplier=1000)
    assert r.target == pytest.approx(55 / 3000 * 1000)
    a = r.units[0]
    assert a.value == pytest.approx(5.0)
    assert a.position == "below"
    assert a.upper_998 == pytest.approx(exact_limits("rate", 55 / 3000, 1000, 0.999) * 1000)


UNITS = list("ABCDEFGHIJ")
NUM = [10, 30, 5, 60, 12, 40, 3, 80, 20, 25]
DEN = [100, 200, 80, 300, 90, 150, 60, 310, 150, 100]


def hand_dispersion():
    target = sum(NUM) / sum(DEN)
    y0 = math.asin(math.sqrt(target))
    s = [1 / (2 * math.sqrt(n)) for n in DEN]
    z = [(math.asin(math.sqrt(o / n)) - y0) / si for o, n, si in zip(NUM, DEN, s, strict=True)]
    zs = sorted(z)
    # numpy's default (linear) quantiles at 10% and 90% of 10 values: positions 0.9 and 8.1
    lo = zs[0] + 0.9 * (zs[1] - zs[0])
    hi = zs[8] + 0.1 * (zs[9] - zs[8])
    zw = [min(max(v, lo), hi) for v in z]
    phi = sum(v * v for v in zw) / len(zw)
    w = [1 / si**2 for si in s]
    tau2 = max(0.0, (len(z) * phi - (len(z) - 1)) / (sum(w) - sum(x * x for x in w) / sum(w)))
    return target, y0, s, phi, tau2


def test_additive_overdispersion_widens_limits_by_tau2():
    _, y0, s, phi, tau2 = hand_dispersion()
    r = funnel(UNITS, NUM, DEN, overdispersion=True)
    assert r.overdispersion and r.method == "additive"
    assert r.phi == pytest.approx(phi)
    assert r.tau2 == pytest.approx(tau2)
    sd = math.sqrt(s[0] ** 2 + tau2)
    assert r.units[0].upper_998 == pytest.approx(math.sin(y0 + 3.090232 * sd) ** 2, rel=1e-6)
    assert r.units[0].lower_95 == pytest.approx(math.sin(y0 - 1.959964 * sd) ** 2, rel=1e-6)


def test_multiplicative_overdispersion_scales_by_root_phi():
    _, y0, s, phi, _ = hand_dispersion()
    r = funnel(UNITS, NUM, DEN, overdispersion=True, method="multiplicative")
    sd = s[3] * math.sqrt(phi)
    assert r.units[3].upper_95 == pytest.approx(math.sin(y0 + 1.959964 * sd) ** 2, rel=1e-6)


def test_no_overdispersion_keeps_the_exact_limits():
    # every unit exactly on target: phi = 0, so the exact limits stand
    r = funnel(["A", "B", "C"], [10, 20, 30], [100, 200, 300], overdispersion=True)
    assert not r.overdispersion and r.tau2 is None
    assert r.units[0].upper_95 == pytest.approx(exact_limits("proportion", 0.1, 100, 0.975))


def test_bad_input_is_refused_in_words():
    with pytest.raises(ValueError, match="denominator"):
        funnel(["A"], [1], [0])
    with pytest.raises(ValueError, match="exceed"):
        funnel(["A"], [5], [4])


def test_vectorised_exact_limits_match_the_scalar_ones():
    sizes = np.array([1.0, 7.0, 55.0, 400.0, 12_345.0])
    probs = np.array(PROBABILITIES)[:, None]
    for kind, target in (("proportion", 0.13), ("rate", 0.021)):
        grid = exact_limits_array(kind, target, sizes[None, :], probs)
        for i, p in enumerate(PROBABILITIES):
            for j, n in enumerate(sizes):
                assert grid[i, j] == pytest.approx(exact_limits(kind, target, n, p), rel=1e-12)


@pytest.mark.parametrize("od", [(False, "additive"), (True, "additive"), (True, "multiplicative")])
def test_limit_curves_pass_through_every_units_limits(od):
    overdispersion, method = od
    r = funnel(UNITS, NUM, DEN, overdispersion=overdispersion, method=method, multiplier=100)
    assert r.overdispersion is overdispersion
    curve = r.limits_at([u.denominator for u in r.units])
    for j, u in enumerate(r.units):
        assert curve[:, j] == pytest.approx(
            [u.lower_95, u.upper_95, u.lower_998, u.upper_998], rel=1e-12
        )


# The exact limits come from scipy.special's ufuncs (scipy.stats is too slow to import
# for a PDF pack): they must be the limits scipy.stats.binom / poisson give, bit for bit.
SIZES = np.array([0.3, 1, 2, 7, 19.6, 50, 200, 1000, 12_345, 250_000])


def _scipy_stats_limits(kind: str, target: float, n: np.ndarray) -> np.ndarray:
    """The exact limits as this module computed them with scipy.stats (before 2026-12)."""
    from scipy import stats

    p = np.array(PROBABILITIES)[:, None]
    n = np.asarray(n, dtype=float)[None, :]
    if kind == "proportion":
        count = np.round(n)
        dist, args, size = stats.binom, (count, np.full_like(count, target)), count
    else:
        dist, args, size = stats.poisson, (target * n,), n
    r = dist.ppf(p, *args)
    at = dist.cdf(r, *args)
    below = np.where(r > 0, dist.cdf(r - 1, *args), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (at - p) / (at - below)
        q = np.where(at == below, r, np.maximum(r - alpha, 0.0))
        return q / size


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide")  # 0.3 -> 0 of 0
@pytest.mark.parametrize("target", [0.0, 0.0007, 0.03, 0.12, 0.5, 0.93, 1.0])
def test_binomial_limits_match_scipy_stats(target):
    ours = funnel_module.limits("proportion", target, SIZES)
    np.testing.assert_array_equal(ours, _scipy_stats_limits("proportion", target, SIZES))


@pytest.mark.parametrize("target", [0.0, 0.0021, 0.03, 1.5, 40.0])
def test_poisson_limits_match_scipy_stats(target):
    ours = funnel_module.limits("rate", target, SIZES)
    np.testing.assert_array_equal(ours, _scipy_stats_limits("rate", target, SIZES))


def test_normal_quantiles_match_scipy_stats():
    from scipy import stats

    assert stats.norm.ppf(0.975) == funnel_module.Z95
    assert stats.norm.ppf(0.999) == funnel_module.Z998


# Limits pinned to the values the scipy.stats implementation gave (lower 95%, upper 95%,
# lower 99.8%, upper 99.8%), so any change of method shows here.
PINNED = [
    ("proportion", 0.12, 50, (0.0262365621040781, 0.2079035454591254, 0.0, 0.2726449902114248)),
    (
        "proportion",
        0.12,
        1000,
        (0.09971339016430214, 0.13998873651137683, 0.0888631406704433, 0.15232080694958094),
    ),
    ("proportion", 0.5, 7, (0.044897959183673466, 0.8122448979591835, 0.0, 0.9817142857142857)),
    ("proportion", 0.0, 40, (0.0, 0.0, 0.0, 0.0)),
    (
        "rate",
        0.03,
        400.0,
        (0.012957097430480262, 0.046923638981103855, 0.005674954786623297, 0.05900168814377068),
    ),
    (
        "rate",
        0.0021,
        25000.0,
        (
            0.0015306557843061802,
            0.0026672910377177287,
            0.0012435604009791285,
            0.0030315154664702754,
        ),
    ),
    ("rate", 1.5, 3.0, (0.09262431722318853, 2.886216121868223, 0.0, 3.9593820374302697)),
]


@pytest.mark.parametrize(("kind", "target", "n", "expected"), PINNED)
def test_limits_are_pinned(kind, target, n, expected):
    got = funnel_module.limits(kind, target, np.array([float(n)]))[:, 0]
    assert got == pytest.approx(expected, abs=1e-9, rel=1e-9)


def test_funnel_module_does_not_import_scipy_stats():
    import subprocess

    code = (
        "import sys, careweave.stats.funnel, careweave.measures.stats; "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
