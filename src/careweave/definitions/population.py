"""The registered population, person-time and the named age-band schemes.

A person is in the **registered population** at date ``D`` when born on or
before ``D``, alive at ``D`` (no death on or before ``D``) and registered at
``D`` (``registered_from`` null or on or before ``D``; ``registered_to`` null
or after ``D``). Equivalently, ``D`` lies in the person's population interval
``[pop_from, pop_to)`` with ``pop_from`` = the later of birth and
``registered_from``, ``pop_to`` = the earlier of death and ``registered_to``.

**Person-time** in a window (lo, hi] is the number of days ``d`` in the window
with the person in the population, in days (divide by 365.25 for
person-years); the sum over consecutive windows is the whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np

from careweave.definitions.dates import OPEN_END, age_at, lit


def population_interval(people: Any) -> Any:
    """nhs_number, pop_from, pop_to (exclusive; OPEN_END when open), and the people's columns.

    Rows whose interval is empty (e.g. registered_to before birth) are kept with
    pop_to <= pop_from; every user filters on the interval, so they never count.
    """
    p = people
    start = ibis.greatest(p.date_of_birth, p.registered_from.fill_null(p.date_of_birth))
    end = ibis.least(
        p.date_of_death.fill_null(lit(OPEN_END)), p.registered_to.fill_null(lit(OPEN_END))
    )
    return p.mutate(pop_from=start, pop_to=end)


def registered_at(people: Any, as_of: dt.date) -> Any:
    """The people in the registered population at ``as_of`` (a filter of ``people``)."""
    p = people
    d = lit(as_of)
    alive = p.date_of_death.isnull() | (p.date_of_death > d)
    registered = (p.registered_from.isnull() | (p.registered_from <= d)) & (
        p.registered_to.isnull() | (p.registered_to > d)
    )
    return p.filter(p.date_of_birth <= d, alive, registered)


def person_days(people: Any, lo: dt.date, hi: dt.date) -> Any:
    """nhs_number, days: days in the window (lo, hi] spent in the registered population."""
    p = population_interval(people)
    first = ibis.greatest(p.pop_from, lit(lo + dt.timedelta(days=1)))
    stop = ibis.least(p.pop_to, lit(hi + dt.timedelta(days=1)))
    days = stop.delta(first, unit="day")
    p = p.mutate(days=days.cast("int64"))
    return p.filter(p.days > 0).select("nhs_number", "days")


def age_on(people: Any, as_of: dt.date) -> Any:
    """Age at ``as_of`` in whole years (exact birthdays), an Ibis column of ``people``."""
    return age_at(people.date_of_birth, as_of)


@dataclass(frozen=True)
class AgeScheme:
    """Named age bands: (label, first age, last age or None for 'and over')."""

    name: str
    description: str
    bands: tuple[tuple[str, int, int | None], ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(b[0] for b in self.bands)

    @property
    def lower_bounds(self) -> tuple[int, ...]:
        return tuple(b[1] for b in self.bands)

    def index(self, age: Any) -> Any:
        """Band index of each age (numpy)."""
        return np.searchsorted(np.asarray(self.lower_bounds), np.asarray(age), side="right") - 1

    def label(self, age: Any) -> Any:
        """Band label of each age (numpy object array)."""
        return np.asarray(self.labels, dtype=object)[self.index(age)]

    def expr(self, age: Any) -> Any:
        """Band label of an Ibis age column."""
        cases = [(age <= hi, label) for label, _, hi in self.bands if hi is not None]
        return ibis.cases(*cases, else_=self.bands[-1][0])


def _five_year() -> tuple[tuple[str, int, int | None], ...]:
    bands: list[tuple[str, int, int | None]] = [(f"{a}-{a + 4}", a, a + 4) for a in range(0, 90, 5)]
    return (*bands, ("90+", 90, None))


#: The NHS / ONS 5-year bands of the European Standard Population 2013 (0-4 ... 85-89, 90+).
NHS_FIVE_YEAR = AgeScheme(
    "nhs_5_year",
    "5-year bands 0-4 to 85-89 and 90+, as in the European Standard Population 2013 "
    "(used for direct age standardisation)",
    _five_year(),
)
#: The profile's bands.
PROFILE = AgeScheme(
    "profile",
    "0-17, 18-64, 65-74, 75-84, 85+ (the data profile and the measures' age_band)",
    (("0-17", 0, 17), ("18-64", 18, 64), ("65-74", 65, 74), ("75-84", 75, 84), ("85+", 85, None)),
)
#: The segment bands (seed 001's segmentation: children, adults, 70+).
SEGMENT = AgeScheme(
    "segment",
    "children 0-17, adults 18-69, 70+ (population segments, careweave.risk.segments)",
    (("children", 0, 17), ("adults", 18, 69), ("70+", 70, None)),
)
SCHEMES = {s.name: s for s in (NHS_FIVE_YEAR, PROFILE, SEGMENT)}
