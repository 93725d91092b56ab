"""Confidence intervals and direct age standardisation (95%, two-sided).

- **Proportions**: Wilson score interval (Wilson 1927; as used by the PHE/OHID
  Fingertips tools and NHS Digital).
- **Rates and counts** (Poisson): Byar's approximation to the exact interval
  for O >= 10 events (Breslow & Day 1987), and the exact interval from the
  chi-squared distribution (Garwood 1936) below 10 events; a rate's limits are
  the count's limits x multiplier / person-time.
- **Directly age-standardised rates** (DSR): the European Standard Population
  2013 weights w_i over the 5-year bands; DSR = sum(w_i r_i) / sum(w_i); the
  95% interval by Dobson's method (Dobson et al. 1991): the total count's
  Poisson limits, scaled by sqrt(var(DSR) / var(O)) with
  var(DSR) = sum(w_i^2 O_i / n_i^2) / (sum w_i)^2.
- **Means** and other kinds carry no interval (null).
"""

from __future__ import annotations

import csv
import io
import math
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from scipy import special  # not scipy.stats: over a second to import, for chi2.ppf

Z = 1.959963984540054  # the standard normal's 97.5th percentile


def wilson(k: float, n: float) -> tuple[float | None, float | None]:
    """95% Wilson score interval for ``k`` successes out of ``n``."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denom
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _chi2_ppf(p: float, df: Any) -> Any:
    """``scipy.stats.chi2.ppf(p, df)`` for p in (0, 1) and df > 0: chi2_gen._ppf's formula."""
    return 2 * special.gammaincinv(df / 2, p)


def poisson_exact(o: float) -> tuple[float, float]:
    """Exact (Garwood) 95% limits for a Poisson count ``o``."""
    lower = 0.0 if o <= 0 else float(_chi2_ppf(0.025, 2 * o) / 2)
    upper = float(_chi2_ppf(0.975, 2 * (o + 1)) / 2)
    return lower, upper


def byar(o: float) -> tuple[float, float]:
    """Byar's approximation to the exact 95% Poisson limits for a count ``o`` > 0."""
    lower = o * (1 - 1 / (9 * o) - Z / (3 * math.sqrt(o))) ** 3
    o1 = o + 1
    upper = o1 * (1 - 1 / (9 * o1) + Z / (3 * math.sqrt(o1))) ** 3
    return lower, upper


def poisson_limits(o: float) -> tuple[float, float]:
    """Byar for 10 or more events, exact below (Byar is poor for small counts)."""
    return byar(o) if o >= 10 else poisson_exact(o)


def rate_ci(o: float, exposure: float, per: float) -> tuple[float | None, float | None]:
    """95% limits of the rate ``o / exposure x per``."""
    if exposure <= 0:
        return None, None
    lo, hi = poisson_limits(o)
    return lo * per / exposure, hi * per / exposure


@cache
def esp2013() -> tuple[tuple[str, int, int], ...]:
    """(band label, first age, weight) of the European Standard Population 2013."""
    text = resources.files("careweave.measures").joinpath("data/esp2013.csv").read_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    return tuple((r["age_band"], int(r["age_from"]), int(r["weight"])) for r in rows)


def dsr(
    events: list[float], exposure: list[float], weights: list[float], per: float
) -> tuple[float | None, float | None, float | None]:
    """Directly standardised rate and its 95% limits (Dobson), band by band.

    Bands with no person-time take no part (their weight is dropped), so a group
    with nobody in a band is standardised over the bands it has.
    """
    used = [(o, n, w) for o, n, w in zip(events, exposure, weights, strict=True) if n > 0]
    if not used:
        return None, None, None
    wsum = sum(w for _, _, w in used)
    value = sum(w * o / n for o, n, w in used) / wsum
    total = sum(o for o, _, _ in used)
    var = sum(w * w * o / (n * n) for o, n, w in used) / (wsum * wsum)
    if total <= 0:
        return value * per, 0.0, None
    lo, hi = poisson_limits(total)
    scale = math.sqrt(var / total)
    return value * per, (value + (lo - total) * scale) * per, (value + (hi - total) * scale) * per


def wilson_v(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wilson` over arrays (NaN where ``n`` is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + Z * Z / n
        centre = (p + Z * Z / (2 * n)) / denom
        half = Z * np.sqrt(np.maximum(p * (1 - p) / n + Z * Z / (4 * n * n), 0.0)) / denom
        lo = np.where(n > 0, np.maximum(0.0, centre - half), np.nan)
        hi = np.where(n > 0, np.minimum(1.0, centre + half), np.nan)
    return lo, hi


def poisson_limits_v(o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`poisson_limits` over arrays: Byar for 10 or more, exact below."""
    with np.errstate(divide="ignore", invalid="ignore"):
        o1 = o + 1
        byar_lo = o * (1 - 1 / (9 * o) - Z / (3 * np.sqrt(o))) ** 3
        byar_hi = o1 * (1 - 1 / (9 * o1) + Z / (3 * np.sqrt(o1))) ** 3
        ex_lo = np.where(o > 0, _chi2_ppf(0.025, np.maximum(2 * o, 1e-300)) / 2, 0.0)
        ex_hi = _chi2_ppf(0.975, 2 * o1) / 2
    big = o >= 10
    return np.where(big, byar_lo, ex_lo), np.where(big, byar_hi, ex_hi)
