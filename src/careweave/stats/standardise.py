"""Indirect standardisation: recorded against expected counts, and the gap between them.

A local population is cut into strata ``i`` (age band x sex, and deprivation
where the reference has it) with ``n_i`` people. A reference table gives the
prevalence ``p_i`` expected in each stratum, so the **expected** count is
``E = sum(n_i p_i)``. The **observed** (recorded) count ``O`` is compared
with it as

- the **standardised ratio** ``O / E`` (an "SMR" for prevalence: 1 means as
  many people recorded as the reference predicts for this age and sex mix);
- the **gap** ``E - O``: people the reference expects who are not recorded
  (likely undiagnosed, or diagnosed and not coded); negative when more are
  recorded than expected.

**Intervals (95%).** ``E`` is treated as fixed (the reference rates come from
populations far larger than the local one, as in the PHE/APHO prevalence
models and SMRs generally); ``O`` is Poisson, with Byar's approximation to
the exact limits for ``O >= 10`` and the exact (Garwood) limits below
(:func:`careweave.measures.stats.poisson_limits`, the measures' own rule).
So the ratio's limits are ``O_lower / E`` and ``O_upper / E``, and the gap's
are ``E - O_upper`` to ``E - O_lower``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from careweave.measures.stats import poisson_limits


@dataclass(frozen=True)
class Indirect:
    observed: float
    expected: float
    ratio: float | None  # O / E (None when nothing is expected)
    ratio_lower: float | None
    ratio_upper: float | None
    gap: float  # E - O
    gap_lower: float
    gap_upper: float


def expected(population: np.ndarray | list[float], rates: np.ndarray | list[float]) -> float:
    """``sum(n_i p_i)``: the count the reference rates predict for these strata."""
    n = np.asarray(population, dtype=np.float64)
    p = np.asarray(rates, dtype=np.float64)
    if n.shape != p.shape:
        raise ValueError("population and rates must have one value per stratum")
    return float((n * p).sum())


def compare(observed: float, expected_count: float) -> Indirect:
    """Observed against expected: ratio and gap with their 95% intervals."""
    lo, hi = poisson_limits(observed)
    if expected_count > 0:
        ratio: float | None = observed / expected_count
        r_lo: float | None = lo / expected_count
        r_hi: float | None = hi / expected_count
    else:
        ratio = r_lo = r_hi = None
    return Indirect(
        observed=float(observed),
        expected=float(expected_count),
        ratio=ratio,
        ratio_lower=r_lo,
        ratio_upper=r_hi,
        gap=float(expected_count - observed),
        gap_lower=float(expected_count - hi),
        gap_upper=float(expected_count - lo),
    )


def indirect(
    observed: float, population: np.ndarray | list[float], rates: np.ndarray | list[float]
) -> Indirect:
    """Indirect standardisation of one area: :func:`expected` then :func:`compare`."""
    return compare(observed, expected(population, rates))
