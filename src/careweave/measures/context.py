"""What every measure is computed over: the engine, the months, the people and their groups.

**Intervals.** The span is cut into calendar months (only whole months inside
the span). A measure is computed for every month and for every rolling
12-month interval ending at a month end (the first one ends at the 12th
month). Event counts, person-time and bed days of a rolling interval are the
sums of its months; a "stock" (people on a register, population at a date) is
taken at the interval's last day.

**Groups.** Each person's ``practice`` (``people.practice_id``), ``cluster``
and ``locality`` (the practice's parent and grandparent in ``organisations``),
``sex``, ``ethnic_group``, ``deprivation_quintile`` (deprivation decile 1-2 ->
1 most deprived ... 9-10 -> 5; unknown when null) and, from the latest
``risk_scores`` run, ``ccm_level`` and ``segment``; ``all`` is the whole board.
``age_band`` (the profile bands 0-17, 18-64, 65-74, 75-84, 85+) is age on the
day of an event, or on each day of person-time, or on the last day of the
interval for a stock; a person moves band at a birthday. A value missing from
the data is ``unknown``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from careweave.dataset.tariff import Funding, Tariff, default_funding
from careweave.definitions.dates import OPEN_END, age_at, birthday, lit
from careweave.definitions.population import NHS_FIVE_YEAR, PROFILE, SEGMENT, population_interval

#: Group-by dimensions, in the order the CLI lists them.
DIMENSIONS = (
    "all",
    "locality",
    "cluster",
    "practice",
    "age_band",
    "sex",
    "deprivation_quintile",
    "ethnic_group",
    "ccm_level",
    "segment",
)
#: Dimensions that are a person's attribute (not derived from age).
PERSON_DIMENSIONS = tuple(d for d in DIMENSIONS if d not in ("all", "age_band"))
EPOCH = dt.date(1970, 1, 1)
MAX_AGE = 130


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    k = day.year * 12 + day.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


@dataclass(frozen=True)
class Months:
    """Whole calendar months ``first`` .. ``first + n - 1``."""

    first: dt.date
    n: int

    @classmethod
    def inside(cls, start: dt.date, end: dt.date) -> Months:
        first = start if start.day == 1 else add_months(month_start(start), 1)
        after = add_months(month_start(end), 1)
        if (after - end).days != 1:  # end is not a month's last day
            after = month_start(end)
        n = (after.year - first.year) * 12 + after.month - first.month
        return cls(first, max(n, 0))

    def start(self, i: int) -> dt.date:
        return add_months(self.first, i)

    def end(self, i: int) -> dt.date:
        return add_months(self.first, i + 1) - dt.timedelta(days=1)

    @property
    def last_day(self) -> dt.date:
        return self.end(self.n - 1)

    def boundaries(self) -> list[int]:
        """Day numbers (since 1970-01-01) of each month's first day, and the day after the last."""
        return [(self.start(i) - EPOCH).days for i in range(self.n + 1)]

    def bucket(self, day: Any) -> Any:
        """Ibis: month index of ``day`` (-1 before the first month, n after the last)."""
        idx = (day.year() - self.first.year) * 12 + day.month() - self.first.month
        return ibis.least(ibis.greatest(idx, -1), self.n).cast("int64")


def fine_bands(extra: tuple[int, ...] = ()) -> tuple[int, ...]:
    """Lower ages of the finest bands every scheme and age restriction can be built from."""
    ages = set(NHS_FIVE_YEAR.lower_bounds) | set(PROFILE.lower_bounds) | set(SEGMENT.lower_bounds)
    ages |= {65, 75, *extra}
    return tuple(sorted(a for a in ages if 0 <= a < MAX_AGE))


class TableMemo:
    """An engine whose tables are looked up once (a lookup asks the database for the table's
    schema; one computation's definitions name the same tables dozens of times)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._tables: dict[str, Any] = {}

    def table(self, name: str) -> Any:
        if name not in self._tables:
            self._tables[name] = self._engine.table(name)
        return self._tables[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


@dataclass
class Context:
    """One computation: engine, months, tariff (and its settings and funders), the requested
    dimensions."""

    engine: Any
    months: Months
    tariff: Tariff
    dims: tuple[str, ...]
    bands: tuple[int, ...]
    span_end: dt.date
    funding: Funding = field(default_factory=default_funding)
    _groups: Any = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def person_dims(self) -> tuple[str, ...]:
        return tuple(d for d in self.dims if d in PERSON_DIMENSIONS)

    def has_table(self, name: str) -> bool:
        present = getattr(self.engine, "has_table", None)
        return bool(present(name)) if present is not None else False

    def has_rows(self, name: str, column: str | None = None) -> bool:
        """The table exists, has the column (when given) and a row (with it not null)."""
        return (name, column) in self.with_rows([(name, column)])

    def with_rows(self, wanted: list[tuple[str, str | None]]) -> set[tuple[str, str | None]]:
        """Those of the (table, column or None) that :meth:`has_rows`, asked in one query
        (and remembered for the computation)."""
        known: dict[tuple[str, str | None], bool] = self._memo.setdefault("with_rows", {})
        asks = []
        for name, column in dict.fromkeys(wanted):
            if (name, column) in known:
                continue
            known[(name, column)] = False
            if not self.has_table(name):
                continue
            t = self.engine.table(name)
            if column is not None:
                if column not in t.columns:
                    continue
                t = t.filter(t[column].notnull())
            asks.append(((name, column), t))
        if asks:
            parts = [t.limit(1).select(k=ibis.literal(i, "int64")) for i, (_, t) in enumerate(asks)]
            one = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
            for i in set(self.engine.to_arrow(one).column("k").to_pylist()):
                known[asks[i][0]] = True
        return {w for w in wanted if known[w]}

    def people(self) -> Any:
        """nhs_number, date_of_birth, pop_from, pop_to (open: OPEN_END) and the dim_* columns
        (an expression, not cached: :meth:`persons` is the cached form)."""
        p = population_interval(self.engine.table("people"))
        cols: dict[str, Any] = {
            "nhs_number": p.nhs_number.cast("string"),
            "date_of_birth": p.date_of_birth,
            "pop_from": p.pop_from,
            "pop_to": p.pop_to,
        }
        dims = self.person_dims
        if "sex" in dims:
            cols["dim_sex"] = p.sex.cast("string").fill_null("unknown")
        if "ethnic_group" in dims:
            cols["dim_ethnic_group"] = p.ethnic_group.cast("string").fill_null("unknown")
        if "deprivation_quintile" in dims:
            q = ((p.deprivation_decile.cast("int64") + 1) // 2).cast("string")
            cols["dim_deprivation_quintile"] = q.fill_null("unknown")
        if {"practice", "cluster", "locality"} & set(dims):
            cols["practice_id"] = p.practice_id.cast("string")
        t = p.select(**cols)
        if {"cluster", "locality"} & set(dims):
            orgs = self.engine.table("organisations").select("org_id", "parent_id")
            c = orgs.select(practice_id=orgs.org_id, cluster_id=orgs.parent_id)
            t = t.left_join(c, "practice_id").drop("practice_id_right")
            loc = orgs.select(cluster_id=orgs.org_id, locality_id=orgs.parent_id)
            t = t.left_join(loc, "cluster_id").drop("cluster_id_right")
            if "cluster" in dims:
                t = t.mutate(dim_cluster=t.cluster_id.cast("string").fill_null("unknown"))
            if "locality" in dims:
                t = t.mutate(dim_locality=t.locality_id.cast("string").fill_null("unknown"))
            t = t.drop("cluster_id", "locality_id")
        if "practice_id" in t.columns:
            if "practice" in dims:
                t = t.mutate(dim_practice=t.practice_id.fill_null("unknown"))
            t = t.drop("practice_id")
        if {"ccm_level", "segment"} & set(dims):
            t = self._join_latest_scores(t, dims)
        return t

    def persons(self) -> Any:
        """The people with time in the population inside the months, one row each (cached):
        nhs_number, date_of_birth, pop_from, pop_to, ``f`` and ``t`` (their population
        interval clipped to the months, f < t), ``t_end`` (the day after the last on which an
        event counts: t + 1 when t is the day of death or leaving, else t), ``gid`` (an integer standing for the
        combination of their dim_* values: every group-by is a function of gid, so the
        engine groups by one integer instead of several strings) and the dim_* columns."""
        return self.cached("persons", self._persons)

    def _persons(self) -> Any:
        p = self.people()
        first, after = lit(self.months.first), lit(self.months.last_day + dt.timedelta(days=1))
        p = p.mutate(f=ibis.greatest(p.pop_from, first), t=ibis.least(p.pop_to, after))
        p = p.filter(p.f < p.t)
        # an event counts on days f <= day < t_end: t itself too when t is the day of death
        # or leaving (pop_to), not when it is only the end of the months
        p = p.mutate(t_end=ibis.ifelse(p.t == p.pop_to, p.t + ibis.interval(days=1), p.t))
        dims = self.dim_columns
        if dims:
            # gid: the combination's rank among the distinct combinations (as a dense_rank
            # over the people ordered by them, without sorting a million people: the few
            # hundred combinations are sorted and joined back)
            combos = p.select(*dims).distinct()
            combos = combos.mutate(gid=(ibis.row_number().over(order_by=dims)).cast("int64"))
            p = p.join(combos, dims)
        else:
            p = p.mutate(gid=ibis.literal(0, "int64"))
        p = p.mutate(b0=self._band_of_age(age_at(p.date_of_birth, p.f)))
        # the birthdays on which the person moves up a band, before t (OPEN_END: never)
        ks = range(1, self.max_crossings() + 1)
        p = p.mutate(**{f"lo{k}": self._band_low(p.b0 + k) for k in ks})
        p = p.mutate(**{f"c{k}": birthday(p.date_of_birth, p[f"lo{k}"]) for k in ks})
        p = p.mutate(
            **{
                f"c{k}": ibis.ifelse(
                    (p[f"lo{k}"] < MAX_AGE) & (p[f"c{k}"] < p.t), p[f"c{k}"], lit(OPEN_END)
                )
                for k in ks
            }
        )
        return p.drop(*(f"lo{k}" for k in ks))

    def max_crossings(self) -> int:
        """The most band boundaries a person can cross inside the months."""
        years = -(-(self.months.n) // 12) + 1
        bounds = self.bands[1:]
        return max((sum(1 for b in bounds if a <= b < a + years) for a in bounds), default=0)

    def band_at(self, p: Any, day: Any) -> Any:
        """Band index on ``day`` (f <= day <= t) of a :meth:`persons` row; on day t, the band
        of the day before (t is where the population interval stops)."""
        band = p.b0
        for k in range(1, self.max_crossings() + 1):
            band = band + (day >= p[f"c{k}"]).cast("int64")
        return band

    def groups(self) -> pa.Table:
        """gid and the dim_* values it stands for (one row per gid; fetched once)."""
        if self._groups is None:
            p = self.persons()
            self._groups = self.engine.to_arrow(p.select("gid", *self.dim_columns).distinct())
        return self._groups

    def _join_latest_scores(self, t: Any, dims: tuple[str, ...]) -> Any:
        if not self.has_table("risk_scores"):
            for d in ("ccm_level", "segment"):
                if d in dims:
                    t = t.mutate(**{f"dim_{d}": ibis.literal("unknown", "string")})
            return t
        r = self.engine.table("risk_scores")
        latest = r.aggregate(last=r.as_of.max())
        r = r.cross_join(latest).filter(lambda x: x.as_of == x.last)
        cols = {"nhs_number": r.nhs_number.cast("string")}
        if "ccm_level" in dims:
            cols["s_ccm_level"] = r.ccm_level.cast("string")
        if "segment" in dims:
            cols["s_segment"] = r.segment.cast("string")
        r = r.select(**cols)
        t = t.left_join(r, "nhs_number").drop("nhs_number_right")
        for d in ("ccm_level", "segment"):
            if d in dims:
                t = t.mutate(**{f"dim_{d}": t[f"s_{d}"].fill_null("unknown")}).drop(f"s_{d}")
        return t

    @property
    def dim_columns(self) -> list[str]:
        return [f"dim_{d}" for d in self.person_dims]

    def cached(self, key: str, build: Any) -> Any:
        """``build()`` materialised once on the engine (Ibis ``cache``), shared by every user."""
        if key not in self._cache:
            expr = build()
            cache = getattr(self.engine, "cache", None)
            if cache is not None:  # DuckDB: a table every connection of the database sees
                self._cache[key] = cache(expr)
                return self._cache[key]
            # register the expression's in-memory tables first: PySpark's cache does not
            hooks = getattr(getattr(self.engine, "con", None), "_run_pre_execute_hooks", None)
            if hooks is not None:
                hooks(expr)
            self._cache[key] = expr.cache()
        return self._cache[key]

    def memo(self, key: str, build: Any) -> Any:
        """``build()`` once per computation (an expression, not materialised): definitions
        several sources share are built once, not once per source."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def release(self) -> None:
        uncache = getattr(self.engine, "uncache", None)
        for t in self._cache.values():
            with contextlib.suppress(Exception):
                uncache(t) if uncache is not None else t.release()
        self._cache.clear()

    def bands_table(self) -> Any:
        lows = list(self.bands)
        highs = [*lows[1:], MAX_AGE]
        return ibis.memtable(
            pa.table(
                {
                    "band": pa.array(range(len(lows)), pa.int64()),
                    "age_lo": pa.array(lows, pa.int64()),
                    "age_hi": pa.array(highs, pa.int64()),
                }
            )
        )

    def pieces(self) -> Any:
        """The registered population cut into pieces: per person and age band, the days
        [b_from, b_to) in the population, in the band and inside the months, with the
        person's gid. Cached."""
        return self.cached("pieces", self._pieces)

    def _pieces(self) -> Any:
        p = self.persons()
        p = p.select(
            "nhs_number",
            "gid",
            "date_of_birth",
            "f",
            "t",
            b_lo=self._band_of_age(age_at(p.date_of_birth, p.f)),
            b_hi=self._band_of_age(age_at(p.date_of_birth, p.t)),
        )
        bands = self.bands_table()
        x = p.join(bands, (p.b_lo <= bands.band) & (p.b_hi >= bands.band))
        lo = birthday(x.date_of_birth, x.age_lo)
        hi = ibis.ifelse(x.age_hi >= MAX_AGE, lit(OPEN_END), birthday(x.date_of_birth, x.age_hi))
        x = x.mutate(b_from=ibis.greatest(x.f, lo), b_to=ibis.least(x.t, hi))
        x = x.filter(x.b_from < x.b_to)
        return x.select("nhs_number", "gid", "band", "b_from", "b_to")

    def _band_of_age(self, age: Any) -> Any:
        cases = [(age < lo, i - 1) for i, lo in enumerate(self.bands) if i > 0]
        return ibis.cases(*cases, else_=len(self.bands) - 1).cast("int64")

    def _band_low(self, index: Any) -> Any:
        """The first age of band ``index`` (MAX_AGE past the last band)."""
        cases = [(index == i, lo) for i, lo in enumerate(self.bands)]
        return ibis.cases(*cases, else_=MAX_AGE).cast("int64")

    # --- the two shapes every source reduces to
    def events(self, rows: Any, values: tuple[str, ...] = ("value",)) -> Any:
        """``rows``: [src (int),] nhs_number, day and the ``values`` (int). Sum of each value
        per gid x band x month, over rows dated in the months, of people in the population
        on the day (its last day, the day of death or leaving, included; counted in the age
        band the person was in the day before). One row per person joined (:meth:`persons`),
        the band found from the birthdays on which the person changes band, so the rows are
        not multiplied by the age bands. Several values (a lane's sources) ride on one row,
        so an activity row is joined to the people once for all of them."""
        src = ["src"] if "src" in rows.columns else []
        rows = rows.select(
            *src,
            nhs_number=rows.nhs_number.cast("string"),
            day=rows.day.cast("date"),
            **{v: rows[v].cast("int64") for v in values},
        )
        cross = [f"c{k}" for k in range(1, self.max_crossings() + 1)]
        p = self.persons().select("nhs_number", "f", "t_end", "gid", "b0", *cross)
        j = rows.join(p, "nhs_number")
        j = j.filter(j.f <= j.day, j.day < j.t_end)
        j = j.mutate(band=self.band_at(j, j.day), bucket=self.months.bucket(j.day))
        keys = [*src, "gid", "band", "bucket"]
        return j.group_by(keys).aggregate(**{v: j[v].sum().cast("int64") for v in values})

    def intervals(self, rows: Any, *, weighted: bool = False, whole: tuple[int, ...] = ()) -> Any:
        """``rows``: [src (int),] nhs_number, s_from, s_to (exclusive; null = open)[, weight
        (int)], disjoint per person. Cut by the population pieces (so clipped to the
        population, the months and the age bands) and reduced to endpoint sums per gid x
        band x month: ``n`` (how many), ``w`` (sum of weights) and ``wd`` (sum of weight x
        day number), for starts (sign +1) and ends (sign -1). ``whole``: the src of sources
        whose intervals are the population itself (``registered``): their cut pieces are the
        pieces, taken as they are (``rows`` holds none of theirs; None when it holds
        nothing)."""
        x = self.pieces()
        cut = []
        src = ["src"] if whole or (rows is not None and "src" in rows.columns) else []
        if rows is not None:
            sel = {
                **{c: rows[c] for c in src},
                "nhs_number": rows.nhs_number.cast("string"),
                "s_from": rows.s_from.cast("date"),
                "s_to": rows.s_to.cast("date").fill_null(lit(OPEN_END)),
                "weight": (rows.weight if weighted else ibis.literal(1)).cast("int64"),
            }
            rows = rows.select(**sel)
            rows = rows.filter(rows.s_from < lit(self.months.last_day + dt.timedelta(days=1)))
            rows = rows.filter(rows.s_to > lit(self.months.first))
            j = rows.join(x, "nhs_number")
            j = j.mutate(f2=ibis.greatest(j.s_from, j.b_from), t2=ibis.least(j.s_to, j.b_to))
            j = j.filter(j.f2 < j.t2)
            cut.append(j.select(*src, "gid", "band", "f2", "t2", "weight"))
        for i in whole:
            cut.append(
                x.select(
                    src=ibis.literal(i, "int64"),
                    gid=x.gid,
                    band=x.band,
                    f2=x.b_from,
                    t2=x.b_to,
                    weight=ibis.literal(1, "int64"),
                )
            )
        j = ibis.union(*cut, distinct=False) if len(cut) > 1 else cut[0]
        keys = [*src, "gid", "band"]
        epoch = lit(EPOCH)
        ends = []
        for col, sign in (("f2", 1), ("t2", -1)):
            day = j[col]
            ends.append(
                j.select(
                    *keys,
                    bucket=self.months.bucket(day),
                    sign=ibis.literal(sign, "int64"),
                    weight=j.weight,
                    dayno=day.delta(epoch, unit="day").cast("int64"),
                )
            )
        e = ibis.union(*ends, distinct=False)
        return e.group_by([*keys, "bucket", "sign"]).aggregate(
            n=e.count().cast("int64"),
            w=e.weight.sum().cast("int64"),
            wd=(e.weight * e.dayno).sum().cast("int64"),
        )


def merge_intervals(rows: Any, keys: tuple[str, ...] = ("nhs_number",)) -> Any:
    """Union of overlapping or touching [s_from, s_to) intervals per ``keys`` (null s_to: open).

    Gaps and islands: an interval starts a new island when it starts after every
    earlier one (ordered by start) has ended.
    """
    t = rows.select(
        *keys, s_from=rows.s_from.cast("date"), s_to=rows.s_to.cast("date").fill_null(lit(OPEN_END))
    )
    t = t.filter(t.s_from.notnull(), t.s_from < t.s_to)
    order = ["s_from", "s_to"]
    w = ibis.window(group_by=list(keys), order_by=order, rows=(None, -1))
    t = t.mutate(prev_end=t.s_to.max().over(w))
    t = t.mutate(new=(t.prev_end.isnull() | (t.s_from > t.prev_end)).cast("int64"))
    t = t.mutate(island=t.new.cumsum(group_by=list(keys), order_by=order))
    return (
        t.group_by([*keys, "island"])
        .aggregate(s_from=t.s_from.min(), s_to=t.s_to.max())
        .drop("island")
    )


def intersect(a: Any, b: Any) -> Any:
    """Per person, the intersection of two families of disjoint intervals (both disjoint)."""
    b = b.select(nhs_number=b.nhs_number, b_from=b.s_from, b_to=b.s_to.fill_null(lit(OPEN_END)))
    a = a.select(nhs_number=a.nhs_number, s_from=a.s_from, s_to=a.s_to.fill_null(lit(OPEN_END)))
    j = a.join(b, "nhs_number")
    j = j.select(
        "nhs_number", s_from=ibis.greatest(j.s_from, j.b_from), s_to=ibis.least(j.s_to, j.b_to)
    )
    return j.filter(j.s_from < j.s_to)
