"""A scheme KPI's baseline, target and monthly trajectory.

- **Baseline**: the file's ``baseline_value`` when it gives one, else the mean
  of the KPI's monthly values (as shown, after disclosure control) over the
  baseline period; months with no shown value are left out, and with none at
  all there is no baseline (and so no trajectory from a ``target_change``).
- **Target**: ``target``, or ``baseline x (1 + target_change)`` (0.30: up 30%).
- **Trajectory**: one value per month of the 12-month budget year. It runs
  through anchors: the baseline at month 0 (the month before the year starts),
  each month the file's ``trajectory`` fixes, and the target at month 12 (the
  year's last month) unless the file fixes that month itself; between two
  anchors it is a straight line. With no months given it is linear from the
  baseline to the target: month k (1 = the first month) is
  ``baseline + (target - baseline) x k / 12``, so a register share going from
  1% to 2% is 1.5% in the sixth month and 2% in the twelfth.

Worked (tests/budgets/test_trajectory.py): baseline 0.01, target 0.02 ->
April 0.010833, September 0.015, March 0.02; with September fixed at 0.012,
August is 0.01 + 0.002 x 5/6 = 0.011667 and December 0.012 + 0.008 x 3/6 = 0.016.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping

from careweave.budgets.file import MONTHS, SchemeKpi, _month, add_months


def baseline_value(
    kpi: SchemeKpi, series: Mapping[dt.date, float | None], start: dt.date, end: dt.date
) -> float | None:
    """The file's baseline value, else the mean of the shown monthly values in [start, end]."""
    if kpi.baseline_value is not None:
        return kpi.baseline_value
    values = [v for m, v in series.items() if start <= m <= end and v is not None]
    return sum(values) / len(values) if values else None


def target_value(kpi: SchemeKpi, baseline: float | None) -> float | None:
    """The year-end target (None when only monitored, or a change without a baseline)."""
    if kpi.target is not None:
        return kpi.target
    if kpi.target_change is not None and baseline is not None:
        return baseline * (1 + kpi.target_change)
    return None


def trajectory(
    year_start: dt.date,
    baseline: float | None,
    target: float | None,
    given: Mapping[str, float] | None = None,
) -> list[float] | None:
    """The 12 monthly trajectory values (None without a baseline or a target)."""
    if baseline is None or target is None:
        return None
    anchors: dict[int, float] = {0: baseline, MONTHS: target}
    for text, v in (given or {}).items():
        month = _month(text)
        k = (month.year - year_start.year) * 12 + month.month - year_start.month + 1
        anchors[k] = float(v)
    return interpolate(sorted(anchors.items()), range(1, MONTHS + 1))


def interpolate(anchors: list[tuple[int, float]], at: Iterable[int]) -> list[float]:
    """Piecewise-linear values through ``(month index, value)`` anchors (sorted)."""
    out = []
    for k in at:
        for (k0, v0), (k1, v1) in itertools.pairwise(anchors):
            if k0 <= k <= k1:
                out.append(v0 + (v1 - v0) * (k - k0) / (k1 - k0))
                break
    return out


def months_of(year_start: dt.date) -> list[dt.date]:
    return [add_months(year_start, i) for i in range(MONTHS)]
