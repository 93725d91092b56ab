"""Funnel plots: is a unit (practice, locality) different from the whole, given its size?

Following Spiegelhalter (2005), "Funnel plots for comparing institutional
performance", Statistics in Medicine 24:1185-1202, and the choices the NHS-R
``FunnelPlotR`` package makes:

- **Target** is the pooled value: sum of numerators over sum of denominators.
- **Limits without over-dispersion** are exact: binomial for proportions
  (numerator of n), Poisson for rates (count over person-time or exposure), at
  95% (two-sided, p = 0.025 / 0.975) and 99.8% (p = 0.001 / 0.999), with
  Spiegelhalter's interpolation between the discrete quantiles (appendix A.1).
- **Over-dispersion** (``overdispersion=True``): z-scores on a variance-stabilised
  scale (proportions: y = asin(sqrt(p)), rates: y = sqrt(rate); both with
  s = 1 / (2 sqrt(n))), winsorised at the 10th and 90th centiles; phi is the mean
  squared winsorised z-score. With ``method="additive"`` (the default, like
  FunnelPlotR) a between-unit variance tau^2 = max(0, (k phi - (k - 1)) /
  (sum w - sum w^2 / sum w)), w = 1 / s^2, widens the limits to
  y0 +/- z sqrt(s^2 + tau^2); with ``method="multiplicative"`` they are
  y0 +/- z s sqrt(phi). Either is back-transformed to the data's scale. When phi
  is at most 1 (no over-dispersion) the exact limits are kept, as FunnelPlotR does.
- **Position** against the 99.8% limits: ``above``, ``below`` or ``inside``
  (a value on a limit is inside).

Rates are per unit of the denominator; ``multiplier`` scales values, targets and
limits together (e.g. 1000 for "per 1,000 person-years").

The quantiles and CDFs come from ``scipy.special``'s ufuncs, the very ones
``scipy.stats.binom`` and ``scipy.stats.poisson`` call (binomial: Boost's
``_binom_ppf`` / ``_binom_cdf``; Poisson: ``pdtrik`` / ``pdtr``), with the same
support and argument checks, so the limits are those ``scipy.stats`` gives to the
last bit (tests/stats/test_funnel.py compares them on a grid). ``scipy.stats``
itself takes over a second to import, most of a PDF pack's start-up; this module
is imported by every page and report that draws a funnel or an SPC chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special
from scipy.special import _ufuncs  # Boost's binomial ufuncs, which scipy.stats.binom calls

Method = Literal["additive", "multiplicative"]
Z95 = special.ndtri(0.975)  # scipy.stats.norm.ppf is ndtri
Z998 = special.ndtri(0.999)


@dataclass(frozen=True)
class FunnelUnit:
    unit: str
    numerator: float
    denominator: float
    value: float
    lower_95: float
    upper_95: float
    lower_998: float
    upper_998: float
    position: str


@dataclass(frozen=True)
class FunnelResult:
    kind: Literal["proportion", "rate"]
    target: float
    units: list[FunnelUnit]
    overdispersion: bool
    method: Method | None
    phi: float | None
    tau2: float | None
    multiplier: float = 1.0
    scale: float = 0.0  # phi (multiplicative) or tau^2 (additive) when over-dispersed

    def limits_at(self, sizes: np.ndarray | list[float]) -> np.ndarray:
        """The four limits (rows: lower/upper 95%, lower/upper 99.8%) at each size, on
        the values' scale: the funnel's curves, in one vectorised computation."""
        return (
            limits(
                self.kind,
                self.target / self.multiplier,
                np.asarray(sizes, dtype=float),
                method=self.method,
                scale=self.scale,
            )
            * self.multiplier
        )

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "target": self.target,
            "overdispersion": self.overdispersion,
            "method": self.method,
            "phi": self.phi,
            "tau2": self.tau2,
            "units": [
                {
                    "unit": u.unit,
                    "numerator": u.numerator,
                    "denominator": u.denominator,
                    "value": u.value,
                    "lower_95": u.lower_95,
                    "upper_95": u.upper_95,
                    "lower_998": u.lower_998,
                    "upper_998": u.upper_998,
                    "position": u.position,
                }
                for u in self.units
            ],
        }


#: The four limits' probabilities, in the order of :meth:`FunnelResult.limits_at`'s rows:
#: lower 95%, upper 95%, lower 99.8%, upper 99.8%.
PROBABILITIES = (0.025, 0.975, 0.001, 0.999)
Z = (-Z95, Z95, -Z998, Z998)


def _ppf(kind: str, p: np.ndarray, args: tuple[np.ndarray, ...]) -> np.ndarray:
    """``scipy.stats.binom.ppf(p, n, t)`` or ``scipy.stats.poisson.ppf(p, mu)`` for p in
    (0, 1): NaN where the arguments are invalid, as ``rv_discrete.ppf`` returns."""
    if kind == "proportion":
        n, t = args
        ok = (n >= 0) & (n == np.round(n)) & (t >= 0) & (t <= 1)
        q = _ufuncs._binom_ppf(p, n, t)
    else:
        (mu,) = args
        ok = mu >= 0
        vals = np.ceil(special.pdtrik(p, mu))  # poisson_gen._ppf
        vals1 = np.maximum(vals - 1, 0)
        q = np.where(special.pdtr(vals1, mu) >= p, vals1, vals)
    return np.asarray(np.where(ok & (p > 0) & (p < 1), q, np.nan), dtype=float)


def _cdf(kind: str, k: np.ndarray, args: tuple[np.ndarray, ...]) -> np.ndarray:
    """``scipy.stats.binom.cdf(k, n, t)`` or ``scipy.stats.poisson.cdf(k, mu)``: 0 below
    the support, 1 at or above its top (n), NaN for invalid arguments or k."""
    if kind == "proportion":
        n, t = args
        ok = (n >= 0) & (n == np.round(n)) & (t >= 0) & (t <= 1)
        top: np.ndarray | float = n
        value = _ufuncs._binom_cdf(np.floor(k), n, t)
    else:
        (mu,) = args
        ok = mu >= 0
        top = np.inf
        value = special.pdtr(np.floor(k), mu)
    inside = (k >= 0) & (k < top) & np.isfinite(k)
    out = np.where(k >= top, 1.0, np.where(inside, np.clip(value, 0, 1), 0.0))
    return np.asarray(np.where(ok & ~np.isnan(k), out, np.nan), dtype=float)


def exact_limits_array(kind: str, target: float, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Exact limits at probabilities ``p`` for units of sizes ``n`` (broadcast together).

    Spiegelhalter's continuous quantile of the discrete distribution (appendix
    A.1): r = the p-quantile, then r - (F(r) - p) / (F(r) - F(r - 1)), never below
    0, over the unit's size. One vectorised ufunc call each for the quantile and
    the two CDFs, whatever the number of units and probabilities (a page draws
    hundreds of limit points).
    """
    n = np.asarray(n, dtype=float)
    p = np.asarray(p, dtype=float)
    args: tuple[np.ndarray, ...]
    if kind == "proportion":
        count = np.round(n)
        args = (count, np.full_like(count, target))
        size = count
    else:
        args = (target * n,)
        size = n
    with np.errstate(invalid="ignore"):
        r = _ppf(kind, p, args)
        at = _cdf(kind, r, args)
        below = np.where(r > 0, _cdf(kind, r - 1, args), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (at - p) / (at - below)
    q = np.where(at == below, r, np.maximum(r - alpha, 0.0))
    return np.asarray(q / size, dtype=float)


def exact_limits(kind: str, target: float, n: float, p: float) -> float:
    """Exact limit at probability p for a unit of size n around the target."""
    return float(exact_limits_array(kind, target, np.asarray(n), np.asarray(p)))


def _transform(kind: str, value: float) -> float:
    """The variance-stabilising scale: asin(sqrt(p)) for proportions, sqrt for rates."""
    if kind == "proportion":
        return math.asin(math.sqrt(min(max(value, 0.0), 1.0)))
    return math.sqrt(max(value, 0.0))


def _back(kind: str, y: np.ndarray) -> np.ndarray:
    if kind == "proportion":
        return np.asarray(np.sin(np.clip(y, 0.0, math.pi / 2)) ** 2)
    return np.asarray(np.maximum(y, 0.0) ** 2)


def limits(
    kind: str,
    target: float,
    n: np.ndarray,
    *,
    method: Method | None = None,
    scale: float = 0.0,
) -> np.ndarray:
    """The four limits (rows as :data:`PROBABILITIES`) for sizes ``n``, unscaled.

    Exact when ``method`` is None; else over-dispersed on the variance-stabilised
    scale with ``scale`` = phi (multiplicative) or tau^2 (additive).
    """
    n = np.atleast_1d(np.asarray(n, dtype=float))
    if method is None:
        return exact_limits_array(kind, target, n[None, :], np.array(PROBABILITIES)[:, None])
    s = 1 / (2 * np.sqrt(n))
    sd = s * math.sqrt(scale) if method == "multiplicative" else np.sqrt(s**2 + scale)
    y0 = _transform(kind, target)
    return _back(kind, y0 + np.array(Z)[:, None] * sd[None, :])


def _dispersion(kind: str, target: float, values: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """phi (mean squared winsorised z) and tau^2 (additive between-unit variance)."""
    s = 1 / (2 * np.sqrt(n))
    y = np.array([_transform(kind, v) for v in values])
    z = (y - _transform(kind, target)) / s
    lo, hi = np.quantile(z, [0.1, 0.9])
    zw = np.clip(z, lo, hi)
    k = len(z)
    phi = float(np.mean(zw**2))
    w = 1 / s**2
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return phi, float(tau2)


def funnel(
    units: list[str],
    numerators: list[float],
    denominators: list[float],
    *,
    kind: Literal["proportion", "rate"] = "proportion",
    overdispersion: bool = False,
    method: Method = "additive",
    multiplier: float = 1.0,
) -> FunnelResult:
    """Funnel-plot limits and positions of each unit; see the module docstring."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    if len(units) == 0:
        raise ValueError("a funnel plot needs at least one unit")
    if (den <= 0).any():
        raise ValueError("every denominator must be positive")
    if (num < 0).any():
        raise ValueError("numerators cannot be negative")
    if kind == "proportion" and (num > den).any():
        raise ValueError("a proportion's numerator cannot exceed its denominator")
    target = float(num.sum() / den.sum())
    values = num / den
    phi: float | None = None
    tau2: float | None = None
    scale = 0.0  # the adjusted limits' extra term: tau^2 (additive) or phi (multiplicative)
    adjust = False
    if overdispersion and len(units) >= 2:
        phi, tau2 = _dispersion(kind, target, values, den)
        scale = phi if method == "multiplicative" else tau2
        adjust = phi > 1 and scale > 0
    used: Method | None = method if adjust else None
    lim = limits(kind, target, den, method=used, scale=scale)
    out: list[FunnelUnit] = []
    for i, (name, o, n, v) in enumerate(zip(units, num, den, values, strict=True)):
        lo95, hi95, lo998, hi998 = (float(x) for x in lim[:, i])
        position = "above" if v > hi998 else "below" if v < lo998 else "inside"
        out.append(
            FunnelUnit(
                unit=name,
                numerator=float(o),
                denominator=float(n),
                value=float(v) * multiplier,
                lower_95=lo95 * multiplier,
                upper_95=hi95 * multiplier,
                lower_998=lo998 * multiplier,
                upper_998=hi998 * multiplier,
                position=position,
            )
        )
    return FunnelResult(
        kind=kind,
        target=target * multiplier,
        units=out,
        overdispersion=adjust,
        method=method if adjust else None,
        phi=phi,
        tau2=tau2 if adjust and method == "additive" else None,
        multiplier=multiplier,
        scale=scale if adjust else 0.0,
    )
