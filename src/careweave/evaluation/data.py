"""The person-level events an evaluation needs, read once from the warehouse.

Everything is turned into integer day numbers (days since 1970-01-01) and an
integer person index, so that counts in a window at any date are two binary
searches (:class:`Events`). Definitions are the shared ones: the registered
population interval (:func:`careweave.definitions.population.population_interval`),
emergency spells and their bed days (:mod:`careweave.definitions.spells`) and
the cost of dated activity (:func:`careweave.definitions.costs.dated_costs`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from careweave.dataset.tariff import load_tariff
from careweave.dataset.vocabulary import COMMUNITY_SERVICE
from careweave.definitions.costs import dated_costs
from careweave.definitions.population import population_interval
from careweave.definitions.registers import register_evidence
from careweave.definitions.spells import emergency
from careweave.errors import InputError

Arr = np.ndarray
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Intervention:
    """Where an intervention's enrolment dates are: a table's date column, optionally
    only the rows whose ``column`` equals ``value``. A person's enrolment is their
    earliest such date."""

    table: str
    date: str
    column: str | None = None
    value: str | None = None
    words: str = ""


#: The interventions with enrolment dates that can be evaluated (``--intervention``).
#: The canonical data has no table of referrals (referrals are operational-store
#: data): a referral to a service is evaluated by the service's start, as the
#: warehouse records it (reablement; a first contact with a community service,
#: ``community:<service>``).
INTERVENTIONS = {
    "case_management": Intervention(
        "case_management_episodes", "start_date", words="case management"
    ),
    "telehealth": Intervention(
        "telecare_services",
        "start_date",
        "service_type",
        "telehealth_monitoring",
        "telehealth monitoring",
    ),
    "telecare": Intervention("telecare_services", "start_date", words="telecare (any service)"),
    "reablement": Intervention("reablement_episodes", "start_date", words="reablement"),
    **{
        f"community:{service}": Intervention(
            "community_contacts",
            "contact_date",
            "service",
            service,
            f"community {service.replace('_', ' ')} (first contact)",
        )
        for service in COMMUNITY_SERVICE
    },
}


def days(col: Any) -> Arr:
    """A date column (Arrow) as int64 day numbers; null -> a far-future day."""
    a = pc.fill_null(pc.cast(col, pa.date32()), dt.date(9999, 12, 31))
    return np.asarray(a.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)


def day_of(d: dt.date) -> int:
    return (d - EPOCH).days


def date_of(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


@dataclass
class Events:
    """Dated events of one kind (``value`` per event: 1 for a count, else e.g. a cost),
    sorted by person then day, with the cumulative sum for window totals."""

    key: Arr  # person * STRIDE + day, sorted
    cum: Arr  # cumulative value, cum[0] = 0
    #: has[p]: person index p has at least one event (length: the largest index + 1).
    #: Most people have no events of a kind (no emergency admission, not on a given
    #: register), so :meth:`total` searches only for the people who have some.
    has: Arr

    STRIDE = 1 << 20  # more days than any date range

    @classmethod
    def of(cls, person: Arr, day: Arr, value: Arr | None = None) -> Events:
        person = np.asarray(person, dtype=np.int64)
        key = person * cls.STRIDE + day
        order = np.argsort(key, kind="stable")
        v = np.ones(len(key)) if value is None else np.asarray(value, dtype=float)
        has = np.zeros(int(person.max()) + 1 if len(person) else 0, dtype=bool)
        has[person] = True
        return cls(key=key[order], cum=np.concatenate([[0.0], np.cumsum(v[order])]), has=has)

    def total(self, person: Arr, lo: Arr, hi: Arr) -> Arr:
        """Sum of the values of each person's events on days lo <= day < hi."""
        person = np.asarray(person, dtype=np.int64)
        out = np.zeros(len(person))
        n = len(self.has)
        if not n or not len(person):
            return out
        some = np.flatnonzero(self.has[np.minimum(person, n - 1)] & (person < n))
        if not len(some):
            return out
        lo_, hi_ = np.broadcast_to(lo, person.shape)[some], np.broadcast_to(hi, person.shape)[some]
        base = person[some] * self.STRIDE
        a = np.searchsorted(self.key, base + lo_, side="left")
        b = np.searchsorted(self.key, base + np.maximum(hi_, lo_), side="left")
        out[some] = self.cum[b] - self.cum[a]
        return out


@dataclass
class Population:
    """Everyone, by person index: day of birth, female, in the population from/to
    (to exclusive), death day, enrolment day (far future: never)."""

    ids: Arr
    dob: Arr
    female: Arr
    pop_from: Arr
    pop_to: Arr
    death: Arr
    enrol: Arr
    first_day: int
    last_day: int
    emergency: Events
    bed_days: Events  # one event per bed day of an emergency spell (the night's day)
    ae: Events
    spend: Events | None
    deprivation: Arr  # decile, 1 (most deprived) .. 10; 5.5 when unknown
    reg_start: Events  # register evidence starting (count of intervals covering a day:
    reg_end: Events  # starts before it minus ends before it)
    #: The same, register by register (name -> (starts, ends)), for matching on each.
    registers: dict[str, tuple[Events, Events]]


def _index(ids: Any, of: Any) -> Arr:
    """Person index of each NHS number in the Arrow column ``of`` (-1 when not in
    ``ids``, the people's NHS numbers as an Arrow array): a hash lookup in Arrow,
    rather than binary searches over Python strings."""
    found = pc.fill_null(pc.index_in(pc.cast(of, ids.type), value_set=ids), -1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def index_of(ids: Arr, values: Arr) -> Arr:
    """Person index of each NHS number in ``values`` (-1 when not in ``ids``, sorted)."""
    pos = np.searchsorted(ids, values)
    pos = np.clip(pos, 0, max(len(ids) - 1, 0))
    ok = (ids[pos] == values) if len(ids) else np.zeros(len(values), bool)
    return np.where(ok, pos, -1)


def read(engine: Any, intervention: str, *, with_spend: bool) -> Population:
    """Read the people, their events and the intervention's enrolment dates."""
    if intervention not in INTERVENTIONS:
        raise InputError(
            f"--intervention: {intervention!r} is not one of {', '.join(INTERVENTIONS)}"
        )
    iv = INTERVENTIONS[intervention]
    table, column = iv.table, iv.date
    if not engine.has_table(table):
        raise InputError(f"the warehouse has no {table} table: nothing to evaluate")
    p = population_interval(engine.table("people"))
    people = engine.to_arrow(
        p.select(
            "nhs_number",
            "date_of_birth",
            "sex",
            "pop_from",
            "pop_to",
            "date_of_death",
            "deprivation_decile",
        ).order_by("nhs_number")
    )
    ids_arrow = people["nhs_number"].combine_chunks()
    ids = np.asarray(ids_arrow.to_numpy(zero_copy_only=False), dtype=object)
    ep = engine.table(table)
    if iv.column is not None:
        ep = ep.filter(ep[iv.column] == iv.value)
    ep = engine.to_arrow(ep.group_by("nhs_number").aggregate(first=ep[column].min()))
    enrol = np.full(len(ids), days(pa.array([None], pa.date32()))[0], dtype=np.int64)
    who = _index(ids_arrow, ep["nhs_number"])
    ok = who >= 0
    enrol[who[ok]] = days(ep["first"])[ok]

    s = emergency(engine.table("hospital_spells"))
    s = engine.to_arrow(s.select("nhs_number", "admission_date", "discharge_date"))
    sp, adm, dis = (
        _index(ids_arrow, s["nhs_number"]),
        days(s["admission_date"]),
        days(s["discharge_date"]),
    )
    keep = sp >= 0
    sp, adm, dis = sp[keep], adm[keep], dis[keep]
    a = engine.to_arrow(engine.table("ae_attendances").select("nhs_number", "attendance_date"))
    ap, ad = _index(ids_arrow, a["nhs_number"]), days(a["attendance_date"])
    pop_from, pop_to = days(people["pop_from"]), days(people["pop_to"])
    first_day = int(adm.min()) if len(adm) else 0
    last_day = int(np.max(np.concatenate([adm, ad[ap >= 0], [first_day]])))
    # bed days: one event a night, admission day .. discharge day - 1 (open: to the data's end)
    stop = np.minimum(dis, last_day + 1)
    nights = np.maximum(stop - adm, 0)
    night_person = np.repeat(sp, nights)
    night_day = np.repeat(adm, nights) + (
        np.arange(int(nights.sum())) - np.repeat(np.cumsum(nights) - nights, nights)
    )
    spend = None
    if with_spend:
        lo, hi = date_of(first_day - 1), date_of(last_day)
        parts = dated_costs(engine, load_tariff(), lo, hi)
        cp, cd, cv = [], [], []
        for part in parts:
            t = engine.to_arrow(part.select("nhs_number", "day", "cost"))
            idx = _index(ids_arrow, t["nhs_number"])
            k = idx >= 0
            cp.append(idx[k])
            cd.append(days(t["day"])[k])
            cv.append(np.nan_to_num(np.asarray(t["cost"].to_numpy(zero_copy_only=False), float))[k])
        spend = Events.of(np.concatenate(cp), np.concatenate(cd), np.concatenate(cv))
    r = engine.to_arrow(
        register_evidence(engine).select("nhs_number", "reg_name", "ev_from", "ev_to")
    )
    rp = _index(ids_arrow, r["nhs_number"])
    rk = rp >= 0
    r_from, r_to = days(r["ev_from"]), days(r["ev_to"])
    coded = pc.dictionary_encode(r["reg_name"].combine_chunks())
    code = np.asarray(pc.fill_null(coded.indices, -1).to_numpy(zero_copy_only=False))
    names = [str(v) for v in coded.dictionary.to_pylist()]
    registers = {
        names[c]: (Events.of(rp[k], r_from[k]), Events.of(rp[k], r_to[k]))
        for c in sorted(set(code[rk].tolist()) - {-1}, key=lambda c: names[c])
        for k in [rk & (code == c)]
    }
    dep = people["deprivation_decile"].to_numpy(zero_copy_only=False)
    return Population(
        deprivation=np.nan_to_num(np.asarray(dep, dtype=float), nan=5.5),
        reg_start=Events.of(rp[rk], r_from[rk]),
        reg_end=Events.of(rp[rk], r_to[rk]),
        registers=registers,
        ids=ids,
        dob=days(people["date_of_birth"]),
        female=np.asarray(
            pc.fill_null(pc.equal(people["sex"], "female"), False).to_numpy(zero_copy_only=False)
        ),
        pop_from=pop_from,
        pop_to=pop_to,
        death=days(people["date_of_death"]),
        enrol=enrol,
        first_day=first_day,
        last_day=last_day,
        emergency=Events.of(sp, adm),
        bed_days=Events.of(night_person, night_day),
        ae=Events.of(ap[ap >= 0], ad[ap >= 0]),
        spend=spend,
    )
