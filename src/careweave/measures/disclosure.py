"""Small-number disclosure control: the one rule every output applies (web, CSV, JSON, PDF, API).

Rule (applied to every count shown, before any percentage or rate is worked out):

- 0 is shown as 0;
- 1 to 7 is suppressed (shown as "<8") and takes no part in percentages or rates;
- 8 and over is rounded to the nearest 5.

Percentages, rates and means are computed from the rounded figures, so no
suppressed value can be recovered by subtracting a shown figure from a shown
total. Figures that are not counts of people or events: person-time and bed
days are rounded to the nearest 5 (not suppressed, but a measure resting on
fewer than 8 is not shown); money is shown as it is. A measure whose count is
suppressed shows no value and no interval; a shown proportion's or rate's
95% interval is worked out again from the shown (rounded) figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from careweave.measures import stats

THRESHOLD = 8
ROUND_TO = 5
SUPPRESSED = f"<{THRESHOLD}"


@dataclass(frozen=True)
class Cell:
    """A count as shown: ``value`` is None when suppressed."""

    value: int | None

    @property
    def text(self) -> str:
        return SUPPRESSED if self.value is None else f"{self.value:,}"


def round_count(n: float) -> int | None:
    """The shown value of a count: 0, None (suppressed, 1-7) or a multiple of 5."""
    if n <= 0:
        return 0
    if n < THRESHOLD:
        return None
    return int(ROUND_TO * round(n / ROUND_TO))


def count(n: int) -> Cell:
    return Cell(round_count(n))


def share(part: Cell, whole: Cell) -> str:
    """A percentage of two shown counts, to one decimal place ("–" when either is hidden)."""
    if part.value is None or not whole.value:
        return "–"
    return f"{100 * part.value / whole.value:.1f}%"


def round_counts(values: Any) -> Any:
    """Vectorised :func:`round_count`: NaN where suppressed (1-7), else 0 or a multiple of 5."""
    v = np.asarray(values, dtype=np.float64)
    rounded = ROUND_TO * np.round(v / ROUND_TO)
    out = np.where(v <= 0, 0.0, np.where(v < THRESHOLD, np.nan, rounded))
    return np.where(np.isnan(v), np.nan, out)


def safe_frame(frame: pd.DataFrame, kpis: Mapping[str, Any]) -> pd.DataFrame:
    """Measures results made safe to show (CSV, JSON, pages, PDF, API).

    ``frame`` has measure, numerator, denominator, value, ci_lower, ci_upper; ``kpis``
    maps a measure name to its :class:`careweave.measures.catalogue.Kpi`. Counts are
    rounded or suppressed; person-time and bed days are rounded to 5 (a row resting on fewer
    than 8 is hidden); money is shown as it is;
    the value is recomputed from the shown figures (age-standardised rates keep theirs:
    a weighted sum of band rates is not a count); a row whose count is suppressed shows
    no value and no interval, and says so in ``suppressed``.
    """
    out = frame.copy()
    if out.empty:
        out["suppressed"] = pd.Series(dtype=bool)
        return out
    meta = [kpis[m] for m in out["measure"]]
    num_count = np.asarray([k.numerator[0].is_count and k.numerator_scale == 1.0 for k in meta])
    den_count = np.asarray([bool(k.denominator) and k.denominator[0].is_count for k in meta])
    kind = np.asarray([k.kind for k in meta], dtype=object)
    per = np.asarray([k.per for k in meta], dtype=np.float64)
    standardised = np.asarray([k.standardise for k in meta])
    num = out["numerator"].to_numpy(dtype=np.float64)
    den = out["denominator"].to_numpy(dtype=np.float64)
    shown_num = np.where(num_count, round_counts(num), num)
    shown_den = np.where(den_count, round_counts(den), ROUND_TO * np.round(den / ROUND_TO))
    hidden = (
        (num_count & ~np.isnan(num) & np.isnan(shown_num))
        | (den_count & ~np.isnan(den) & np.isnan(shown_den))
        | (~den_count & (den > 0) & (den < THRESHOLD))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        recomputed = np.where(
            kind == "count",
            shown_num,
            np.where(
                shown_den > 0, shown_num / shown_den * np.where(kind == "rate", per, 1.0), np.nan
            ),
        )
    value = out["value"].to_numpy(dtype=np.float64)
    value = np.where(standardised, value, recomputed)
    value = np.where(np.isnan(out["value"].to_numpy(dtype=np.float64)), np.nan, value)
    # intervals from the shown figures too, so they cannot give the true count away
    lo = out["ci_lower"].to_numpy(dtype=np.float64)
    hi = out["ci_upper"].to_numpy(dtype=np.float64)
    prop = (kind == "proportion") & num_count & den_count
    wlo, whi = stats.wilson_v(shown_num, shown_den)
    lo, hi = np.where(prop, wlo, lo), np.where(prop, whi, hi)
    rate = (kind == "rate") & num_count & ~standardised
    plo, phi = stats.poisson_limits_v(shown_num)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(rate & (shown_den > 0), plo * per / shown_den, lo)
        hi = np.where(rate & (shown_den > 0), phi * per / shown_den, hi)
    out["ci_lower"], out["ci_upper"] = lo, hi
    out["numerator"], out["denominator"] = shown_num, shown_den
    out["value"] = np.where(hidden, np.nan, value)
    for c in ("ci_lower", "ci_upper"):
        out[c] = np.where(hidden, np.nan, out[c].to_numpy(dtype=np.float64))
    out["suppressed"] = hidden
    return out
