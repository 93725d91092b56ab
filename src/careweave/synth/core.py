"""The generator's shared core: day numbers, random-draw helpers, row buffers,
the no-overlap rules for hospital stays, and the person state the care-setting
steps read and update.

Everything works on numpy arrays indexed by a person's position in the chunk.
Dates are day numbers since 1970-01-01; ``NEVER`` stands for "no such date".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from careweave.synth.layout import Layout

Arr = npt.NDArray[Any]

EPOCH = dt.date(1970, 1, 1)
NEVER = 1 << 30
YEAR = 365.25
#: Row-number space per chunk in ids (ids are prefix + chunk * 10**9 + row).
ID_SPACE = 10**9


def day_number(d: dt.date) -> int:
    return (d - EPOCH).days


def sig(x: Arr) -> Arr:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def curve(age: Arr, knots: tuple[tuple[float, float], ...]) -> Arr:
    xs = np.array([k[0] for k in knots], dtype=np.float64)
    ys = np.array([k[1] for k in knots], dtype=np.float64)
    return np.asarray(np.interp(age, xs, ys))


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def span_periods(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """Consecutive periods of one year from ``start`` (the last cut at ``end``), as day numbers."""
    out: list[tuple[int, int]] = []
    k = 0
    while True:
        p0 = add_years(start, k)
        if p0 > end:
            break
        p1 = min(add_years(start, k + 1) - dt.timedelta(days=1), end)
        out.append((day_number(p0), day_number(p1)))
        k += 1
    return out


# --- String columns -----------------------------------------------------------


def take(vocab: list[str] | tuple[str, ...], idx: Arr) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(idx, dtype=np.int32)), pa.array(list(vocab), pa.string())
    ).dictionary_decode()


def row_ids(prefix: str, chunk: int, n: int) -> pa.Array:
    # 10**13 + ...: every number has 14 digits, so no padding is needed; drop the leading 1
    nums = pa.array(np.arange(n, dtype=np.int64) + chunk * ID_SPACE + 10**13)
    text = pc.utf8_slice_codeunits(pc.cast(nums, pa.string()), 1)
    return pc.binary_join_element_wise(prefix, text, "")


def dates(days: Arr, null: Arr | None = None) -> pa.Array:
    arr = np.asarray(days, dtype=np.int64)
    mask = (arr >= NEVER) if null is None else (np.asarray(null) | (arr >= NEVER))
    return pa.array(np.where(mask, 0, arr).astype(np.int32), pa.int32(), mask=mask).cast(
        pa.date32()
    )


def const(value: str | None, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, pa.string())
    return pa.repeat(pa.scalar(value, pa.string()), n)


class Vocab:
    """Codes (and their terms) numbered in order of first use; the order is part of
    the output, so a table's codes are always added in the same order."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.terms: list[str] = []

    def index(self, code: str, term: str = "") -> int:
        if code not in self.codes:
            self.codes.append(code)
            self.terms.append(term)
        return self.codes.index(code)

    def indices(self, codes: tuple[str, ...] | list[str]) -> Arr:
        return np.array([self.index(c) for c in codes], dtype=np.int64)


# --- Random draws and row buffers ---------------------------------------------


@dataclass
class Span:
    """The simulated span (day numbers, one-year periods) and its scenario:
    ``case_management_effect`` is the relative change of an enrolled person's
    emergency-admission rate while enrolled (0: none)."""

    start: int
    end: int
    periods: list[tuple[int, int]]
    case_management_effect: float = 0.0


class Rows:
    """Column arrays of one table, accumulated in parts and joined at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[Arr]] = {}

    def add(self, **cols: Arr) -> None:
        for k, v in cols.items():
            self.parts.setdefault(k, []).append(np.asarray(v))

    def get(self, name: str, dtype: Any = np.int64) -> Arr:
        parts = self.parts.get(name)
        if not parts:
            return np.zeros(0, dtype=dtype)
        return np.concatenate(parts)


def spread(rng: np.random.Generator, counts: Arr, lo: Arr, hi: Arr) -> tuple[Arr, Arr]:
    """Person index and a uniform day in [lo, hi] for each of ``counts`` events per person."""
    counts = np.where(hi >= lo, counts, 0)
    idx = np.repeat(np.arange(counts.shape[0]), counts)
    span = (hi - lo + 1)[idx]
    day = lo[idx] + np.floor(rng.random(idx.shape[0]) * span).astype(np.int64)
    return idx, day


def choose(rng: np.random.Generator, n: int, probs: list[float] | tuple[float, ...]) -> Arr:
    p = np.asarray(probs, dtype=np.float64)
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1)


# --- A person is in one bed at a time -----------------------------------------


def no_overlap(person: Arr, adm: Arr, dis: Arr, before: Arr) -> Arr:
    """Indices, in (person, admission) order, of the spells not admitted before an earlier
    spell of the same person (among these, or ``before[person]``) was discharged."""
    order = np.lexsort((adm, person))
    p, a, d = person[order], adm[order], dis[order]
    if p.shape[0] == 0:
        return np.asarray(order)
    # running maximum of discharge within each person (groups are contiguous)
    first = np.concatenate([[True], p[1:] != p[:-1]])
    shift = np.cumsum(first).astype(np.int64) * (4 * NEVER)
    run = np.maximum.accumulate(d + shift) - shift
    prev = np.where(first, -NEVER, np.concatenate([[-NEVER], run[:-1]]))
    keep = a >= np.maximum(prev, before[p])
    return np.asarray(order[keep])


def outside(e_person: Arr, e_adm: Arr, e_dis: Arr, person: Arr, adm: Arr, dis: Arr) -> Arr:
    """Mask of spells [adm, dis] that meet none of the (disjoint) spells [e_adm, e_dis]."""
    if e_person.shape[0] == 0 or person.shape[0] == 0:
        return np.ones(person.shape[0], dtype=bool)
    big = 4 * NEVER
    order = np.lexsort((e_adm, e_person))
    key = e_person[order] * big + e_adm[order]
    pos = np.searchsorted(key, person * big + dis, side="right") - 1
    cand = np.maximum(pos, 0)
    same = (pos >= 0) & (e_person[order][cand] == person)
    return np.asarray(~(same & (e_dis[order][cand] >= adm)))


# --- Person state -------------------------------------------------------------


@dataclass
class Ctx:
    ci: int
    rng: np.random.Generator
    n: int
    start: int
    end: int
    dob: Arr
    death: Arr
    future_death: Arr
    onset: Arr
    ckd_stage: Arr
    z: Arr
    female: Arr
    prac: Arr
    loc: Arr
    layout: Layout
    in_home: Arr
    ch_start: Arr
    care_home: Arr
    ch_nursing: Arr
    ch_funded: Arr
    nhs: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    #: The dataset's seed (for the sub-streams of draws added after the main one).
    seed: int = 0

    def person(self, idx: Arr) -> pa.Array:
        return self.nhs.take(pa.array(np.asarray(idx, dtype=np.int64)))

    def practice(self, idx: Arr) -> pa.Array:
        return take(self.layout.practice_ids, self.prac[idx])

    def hospital(self, idx: Arr) -> pa.Array:
        return take(self.layout.hospital_ids, self.layout.locality_hospital[self.loc[idx]])

    def age_at(self, idx: Arr, day: Arr) -> Arr:
        return np.asarray((day - self.dob[idx]) / YEAR)


@dataclass
class People:
    """The chunk's people as the year loop sees them.

    Fixed traits (birth, sex, deprivation, the latent factors ``z`` frailty,
    ``w`` cardiometabolic and ``u`` propensity to be admitted, condition onsets)
    and the state the care-setting steps update: care-home residence,
    ``death`` (day, NEVER while alive), ``prev_em`` (emergency spells in the
    last period), ``last_dis`` (latest discharge so far, for the no-overlap
    rule), ``risk_rel`` (this period's emergency log rate less its base),
    ``record_risk`` (the part of it a record shows, prior admissions aside: age,
    conditions, deprivation, care home) and ``em_rate`` (this period's yearly
    emergency rate, yearly noise included).
    """

    n: int
    dob: Arr
    female: Arr
    male: Arr
    depterm: Arr
    z: Arr
    w: Arr
    u: Arr
    onset: Arr
    in_home: Arr
    ch_start: Arr
    care_home: Arr
    ch_nursing: Arr
    ch_funded: Arr
    death: Arr
    prev_em: Arr
    last_dis: Arr
    risk_rel: Arr
    record_risk: Arr
    em_rate: Arr


@dataclass
class Buffers:
    """Rows gathered year by year, turned into tables once the span is done."""

    spells: Rows = field(default_factory=lambda: Rows())
    ae: Rows = field(default_factory=lambda: Rows())
    op: Rows = field(default_factory=lambda: Rows())
    pcc: Rows = field(default_factory=lambda: Rows())
    comm: Rows = field(default_factory=lambda: Rows())
    mh: Rows = field(default_factory=lambda: Rows())
    obs: Rows = field(default_factory=lambda: Rows())
    reab: Rows = field(default_factory=lambda: Rows())
    svc: Rows = field(default_factory=lambda: Rows())
    assess: Rows = field(default_factory=lambda: Rows())
    acute_meds: Rows = field(default_factory=lambda: Rows())


@dataclass
class Period:
    """One year of the loop: who is present, for how long, at what age, with what.

    ``es`` is each person's first day in the period (birth for the newborn);
    ``die``, ``win_end`` and ``alive_expo`` are known once the period's deaths
    are drawn (:meth:`close`).
    """

    p0: int
    p1: int
    beyond: bool
    es: Arr
    present: Arr
    length: Arr
    expo: Arr
    age: Arr
    mid: int
    active: Arr
    ncond: Arr
    win_end: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    alive_expo: Arr = field(default_factory=lambda: np.zeros(0))
    #: Who dies in the period (set by :func:`careweave.synth.people.deaths`).
    die: Arr = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def of(cls, p0: int, p1: int, people: People, beyond: bool) -> Period:
        es = np.maximum(p0, people.dob)
        present = (people.dob <= p1) & (people.death >= p0)
        length = p1 - es + 1
        mid = p0 + (p1 - p0) // 2
        active = people.onset <= mid
        return cls(
            p0=p0,
            p1=p1,
            beyond=beyond,
            es=es,
            present=present,
            length=length,
            expo=np.where(present, length / YEAR, 0.0),
            age=np.maximum((p0 - people.dob) / YEAR, 0.0),
            mid=mid,
            active=active,
            ncond=active.sum(axis=1),
        )

    def close(self, death: Arr) -> None:
        """Cut the period at each death (known after the period's deaths are drawn)."""
        self.win_end = np.minimum(self.p1, death)
        self.alive_expo = np.where(self.present, (self.win_end - self.es + 1) / YEAR, 0.0)


def coded_columns(
    ctx: Ctx,
    prefix: str,
    person: Arr,
    date_name: str,
    day: Arr,
    system: str,
    vocab: tuple[list[str], list[str]],
    code_ix: Arr,
) -> dict[str, pa.Array]:
    """The leading columns of a coded table (events, observations, medications): id,
    person, date, code system, code and term (``vocab``: codes and terms by index)."""
    m = person.shape[0]
    codes, terms = vocab
    return {
        "id": row_ids(prefix, ctx.ci, m),
        "nhs_number": ctx.person(person),
        date_name: dates(day),
        "code_system": const(system, m),
        "code": take(codes, code_ix),
        "term": take(terms, code_ix),
    }
