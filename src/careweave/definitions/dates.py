"""Date literals, windows, birthdays and age in whole years, as Ibis expressions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

#: The far future: stands for an open end (``to`` null) where a date is needed.
OPEN_END = dt.date(9999, 12, 31)


def lit(day: dt.date) -> Any:
    """An Ibis date literal."""
    return ibis.literal(day, type="date")


def in_window(col: Any, lo: dt.date, hi: dt.date) -> Any:
    """``col`` in the window (lo, hi]: after ``lo``, up to and including ``hi``."""
    return (col > lit(lo)) & (col <= lit(hi))


def days_back(col: Any, as_of: dt.date, days: int) -> Any:
    """``col`` in the ``days`` days to ``as_of``: (as_of - days, as_of]."""
    return in_window(col, as_of - dt.timedelta(days=days), as_of)


def covers(start: Any, end: Any, day: Any) -> Any:
    """The half-open interval [start, end) contains ``day`` (null ``end``: open)."""
    return (start <= day) & (end.isnull() | (end > day))


def age_at(dob: Any, day: Any) -> Any:
    """Whole years from ``dob`` to ``day`` (a date column or literal), exact birthdays."""
    if isinstance(day, dt.date):
        before = (dob.month() > day.month) | ((dob.month() == day.month) & (dob.day() > day.day))
        return (ibis.literal(day.year) - dob.year() - before.cast("int64")).cast("int64")
    before = (dob.month() > day.month()) | ((dob.month() == day.month()) & (dob.day() > day.day()))
    return (day.year() - dob.year() - before.cast("int64")).cast("int64")


def birthday(dob: Any, years: int) -> Any:
    """The date a person born on ``dob`` turns ``years`` (29 February -> 1 March in
    a year that is not a leap year), matching :func:`age_at`."""
    y = dob.year() + years
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    feb29 = (dob.month() == 2) & (dob.day() == 29)
    month = ibis.ifelse(feb29 & ~leap, 3, dob.month())
    day = ibis.ifelse(feb29 & ~leap, 1, dob.day())
    return ibis.date(y, month, day)
