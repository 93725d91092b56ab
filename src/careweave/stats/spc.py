"""Statistical process control: the Making Data Count XmR chart.

One series in, one verdict per point out, computed the way NHS England's
Making Data Count guidance and the NHS-R ``NHSRplotthedots`` package do by
default, so a chart drawn here reads the same as the ones boards already see:

- **Mean and limits** per segment (a segment starts at the series start and at
  each rebase date): the mean of the values; moving ranges |x_i - x_(i-1)| within
  the segment; moving ranges at or above 3.267 x their mean screened out and the
  mean moving range recomputed; process limits at mean +/- 2.66 x mean moving
  range; "near" limits two-thirds of the way out (mean +/- 1.773 x mean moving
  range).
- **Special-cause rules** (every point that is part of a pattern is flagged):
  ``outside_limits`` a point strictly beyond a process limit; ``shift`` a run of 7
  or more points on one side of the mean (a point exactly on the mean breaks the
  run); ``trend`` 7 or more points each strictly higher (or lower) than the one
  before; ``two_in_three`` two of three consecutive points on the same side of the
  mean beyond the near limit (but not beyond the process limit), of which the
  points beyond the near limit are flagged. Rules are applied within a segment.
- **Point type**: a flagged point is improvement or concern from the KPI's
  improvement direction and its side of the mean, or neutral high/low when the
  KPI has no direction.
- **Variation icon** from the last point: common cause, or special cause
  improving / concerning / neutral, high or low.
- **Assurance icon** against a target, from the last segment's limits: a target
  beyond the upper limit always fails an "increase" KPI (passes a "decrease" one),
  a target beyond the lower limit always passes an "increase" KPI (fails a
  "decrease" one), anything between is hit and miss. No target or a neutral
  direction gives no assurance icon.

Decision recorded here: a segment with fewer than two points has no moving range,
so its limits are undefined (null) and no rule fires; Making Data Count advises at
least 15-20 points before limits are relied on, which the pages say in words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Improvement = Literal["increase", "decrease", "neutral"]

LIMIT = 2.66
NEAR = LIMIT * 2 / 3
MR_SCREEN = 3.267
RUN = 7

RULES = ("outside_limits", "shift", "trend", "two_in_three")


@dataclass(frozen=True)
class SpcPoint:
    date: dt.date
    value: float
    mean: float | None
    lower: float | None
    upper: float | None
    special_cause: bool
    rules: tuple[str, ...]
    point_type: str


@dataclass(frozen=True)
class SpcResult:
    points: list[SpcPoint]
    variation: str
    assurance: str | None
    improvement: Improvement
    target: float | None
    rebase_dates: tuple[dt.date, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "improvement": self.improvement,
            "target": self.target,
            "rebase": [d.isoformat() for d in self.rebase_dates],
            "points": [
                {
                    "date": p.date.isoformat(),
                    "value": p.value,
                    "mean": p.mean,
                    "lower": p.lower,
                    "upper": p.upper,
                    "special_cause": p.special_cause,
                    "rule": list(p.rules),
                    "point_type": p.point_type,
                }
                for p in self.points
            ],
            "variation": self.variation,
            "assurance": self.assurance,
        }


def _limits(values: np.ndarray) -> tuple[float, float | None]:
    """Mean and screened mean moving range of one segment (None below 2 points)."""
    mean = float(values.mean())
    if len(values) < 2:
        return mean, None
    mr = np.abs(np.diff(values))
    amr = float(mr.mean())
    kept = mr[mr < MR_SCREEN * amr]
    # If every range were screened out (impossible unless all equal zero) keep all.
    amr = float(kept.mean()) if len(kept) else amr
    return mean, amr


def _side(y: np.ndarray, mean: float, eps: float) -> np.ndarray:
    """-1, 0 or 1: below, on (within eps of) or above the mean."""
    d = y - mean
    return np.where(np.abs(d) <= eps, 0, np.sign(d)).astype(int)


def _shift(side: np.ndarray) -> np.ndarray:
    """Points belonging to a run of >= RUN points on one side of the mean."""
    flags = np.zeros(len(side), dtype=bool)
    start = 0
    for i in range(1, len(side) + 1):
        if i == len(side) or side[i] != side[start] or side[i] == 0:
            if side[start] != 0 and i - start >= RUN:
                flags[start:i] = True
            start = i
    return flags


def _trend(values: np.ndarray) -> np.ndarray:
    """Points belonging to >= RUN points each strictly above (or below) the last."""
    flags = np.zeros(len(values), dtype=bool)
    if len(values) < RUN:
        return flags
    step = np.sign(np.diff(values))
    start = 0  # index into step of the current run of equal non-zero steps
    for i in range(1, len(step) + 1):
        if i == len(step) or step[i] != step[start] or step[i] == 0:
            if step[start] != 0 and i - start >= RUN - 1:
                flags[start : i + 1] = True
            start = i
    return flags


def _two_in_three(near: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Near-limit points in a window of 3 on one side with >= 2 near the limit."""
    flags = np.zeros(len(near), dtype=bool)
    for i in range(len(near) - 2):
        window = slice(i, i + 3)
        same_side = abs(int(side[window].sum())) == 3
        if same_side and int(near[window].sum()) >= 2:
            flags[window] |= near[window]
    return flags


def _direction(improvement: Improvement) -> int:
    return {"increase": 1, "decrease": -1, "neutral": 0}[improvement]


def _point_type(flagged: bool, side: int, direction: int) -> str:
    if not flagged:
        return "common_cause"
    if direction == 0:
        return "special_cause_neutral_" + ("high" if side > 0 else "low")
    if side == direction:
        return "special_cause_improvement"
    return "special_cause_concern"


def _variation(last: SpcPoint) -> str:
    """The variation icon's name, from the last point."""
    if not last.special_cause or last.mean is None:
        return "common_cause"
    position = "high" if last.value > last.mean else "low"
    if last.point_type == "special_cause_improvement":
        return f"special_cause_improving_{position}"
    if last.point_type == "special_cause_concern":
        return f"special_cause_concerning_{position}"
    return f"special_cause_neutral_{position}"


def _assurance(last: SpcPoint, target: float | None, improvement: Improvement) -> str | None:
    if target is None or improvement == "neutral" or last.upper is None or last.lower is None:
        return None
    increasing = improvement == "increase"
    if target > last.upper:
        return "consistently_fails" if increasing else "consistently_passes"
    if target < last.lower:
        return "consistently_passes" if increasing else "consistently_fails"
    return "hit_and_miss"


def spc(
    dates: list[dt.date],
    values: list[float],
    *,
    improvement: Improvement = "neutral",
    target: float | None = None,
    rebase: tuple[dt.date, ...] = (),
) -> SpcResult:
    """The XmR chart of a series (sorted by date here); see the module docstring."""
    if len(dates) != len(values):
        raise ValueError("dates and values differ in length")
    order = sorted(range(len(dates)), key=lambda i: dates[i])
    ds = [dates[i] for i in order]
    ys = np.asarray([values[i] for i in order], dtype=float)
    direction = _direction(improvement)
    cuts = sorted({d for d in rebase if ds and ds[0] < d <= ds[-1]})
    segment = np.searchsorted(
        np.asarray(cuts, dtype="datetime64[D]"), np.asarray(ds, dtype="datetime64[D]"), side="right"
    )
    points: list[SpcPoint] = []
    for seg in range(len(cuts) + 1):
        idx = np.flatnonzero(segment == seg)
        if len(idx) == 0:
            continue
        y = ys[idx]
        mean, amr = _limits(y)
        if amr is None:
            lower = upper = None
            flags = {r: np.zeros(len(y), dtype=bool) for r in RULES}
            side = _side(y, mean, 1e-9 * max(1.0, abs(mean)))
        else:
            lower, upper = mean - LIMIT * amr, mean + LIMIT * amr
            near_lo, near_hi = mean - NEAR * amr, mean + NEAR * amr
            # Floating-point tolerance: twenty 0.05s average to 0.05000000000000001, which
            # must not put every point "below the mean" or "beyond a zero-width limit".
            eps = 1e-9 * max(1.0, abs(mean), amr)
            outside = (y > upper + eps) | (y < lower - eps)
            side = _side(y, mean, eps)
            near = ~outside & ((y < near_lo - eps) | (y > near_hi + eps))
            flags = {
                "outside_limits": outside,
                "shift": _shift(side),
                "trend": _trend(y),
                "two_in_three": _two_in_three(near, side),
            }
        for k, i in enumerate(idx):
            fired = tuple(r for r in RULES if flags[r][k])
            points.append(
                SpcPoint(
                    date=ds[i],
                    value=float(y[k]),
                    mean=mean,
                    lower=lower,
                    upper=upper,
                    special_cause=bool(fired),
                    rules=fired,
                    point_type=_point_type(bool(fired), int(side[k]), direction),
                )
            )
    if not points:
        return SpcResult([], "common_cause", None, improvement, target, tuple(cuts))
    last = points[-1]
    return SpcResult(
        points=points,
        variation=_variation(last),
        assurance=_assurance(last, target, improvement),
        improvement=improvement,
        target=target,
        rebase_dates=tuple(cuts),
    )
