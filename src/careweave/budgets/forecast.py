"""Forecasts to the budget year's end: a KPI's value in the last month, and the year's spend.

- **KPI**: an ordinary least-squares line through the year's months so far
  (value on month number, statsmodels OLS), read at the year's last month, with
  its 95% prediction interval. At least :data:`MIN_MONTHS` months with a shown
  value are needed (fewer: no forecast, and the report says why). When the
  year's last month is measured, its value is the outcome, not a forecast.
- **Spend**: the run rate: spend so far plus the mean monthly spend of the
  months measured times the months still to come. Money per month is steady
  enough for this; a straight line through three months of spend would swing
  with one month's outlier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_MONTHS = 3


@dataclass(frozen=True)
class Forecast:
    value: float | None
    lower: float | None
    upper: float | None
    method: str  # "linear_trend" | "outcome" | "none"
    months_used: int
    reason: str | None = None


def kpi_year_end(points: list[tuple[int, float]], months: int = 12) -> Forecast:
    """``points`` are (month number 1..months, value) of the year so far."""
    points = sorted(points)
    if points and points[-1][0] == months:
        v = points[-1][1]
        return Forecast(v, v, v, "outcome", len(points))
    if len(points) < MIN_MONTHS:
        return Forecast(
            None,
            None,
            None,
            "none",
            len(points),
            f"fewer than {MIN_MONTHS} months of the year are measured",
        )
    import statsmodels.api as sm

    x = np.asarray([p[0] for p in points], dtype=float)
    y = np.asarray([p[1] for p in points], dtype=float)
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    pred = fit.get_prediction(np.asarray([[1.0, float(months)]])).summary_frame(alpha=0.05)
    mean = float(pred["mean"].iloc[0])
    lo, hi = float(pred["obs_ci_lower"].iloc[0]), float(pred["obs_ci_upper"].iloc[0])
    if not np.isfinite(lo) or not np.isfinite(hi):  # a perfect fit has no residual spread
        lo = hi = mean
    return Forecast(mean, lo, hi, "linear_trend", len(points))


def spend_year_end(monthly: list[float], months: int = 12) -> Forecast:
    """The run-rate forecast of the year's spend from the months measured so far."""
    if not monthly:
        return Forecast(None, None, None, "none", 0, "no month of the year is measured")
    so_far = float(sum(monthly))
    if len(monthly) >= months:
        return Forecast(so_far, so_far, so_far, "outcome", len(monthly))
    value = so_far + so_far / len(monthly) * (months - len(monthly))
    return Forecast(value, None, None, "run_rate", len(monthly))
