"""The synthetic population generator behind ``careweave synth``.

People are generated in fixed-size chunks, each from its own random stream
(seeded by the seed and the chunk number), so a seed always gives the same
dataset whatever the machine, and memory stays bounded. Within a chunk
everything is vectorised with numpy; string columns are built with pyarrow.

The model, in order (docs/synthetic-population.md has every figure):

1. organisations: one health board, localities of 30,000-50,000 people,
   clusters, practices of 3,000-15,000, small areas with deprivation deciles,
   one local authority, hospitals, community and mental-health providers,
   care homes;
2. people: age and sex from the census structure (plus births during the
   span), ethnic group, small area and deprivation, two latent health factors
   (frailty, cardiometabolic) and an unobserved personal propensity to be
   admitted;
3. chronic conditions (the 19 registers) with age-, sex- and
   deprivation-dependent prevalence and shared latent factors
   (multimorbidity), each with an onset date; frailty deficits;
4. year by year: emergency admissions from each person's latent risk (age,
   conditions, frailty, deprivation, care-home residence, last year's
   admissions, personal propensity, yearly noise); deaths; readmissions;
   elective and maternity spells; A&E; outpatients; primary care; community
   and mental-health contacts; care-home admissions; reablement; home care;
5. per person over the span: medicines, observations, telehealth.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from careweave.dataset import tables as T
from careweave.dataset.io import Manifest, conform, write_manifest, write_table
from careweave.dataset.nhs_number import SYNTHETIC_RANGES, capacity, synthetic_number_ints
from careweave.dataset.registers import load_registers
from careweave.errors import InputError
from careweave.synth import codes as C
from careweave.synth import params as P

Arr = npt.NDArray[Any]

EPOCH = dt.date(1970, 1, 1)
NEVER = 1 << 30
YEAR = 365.25
#: People per chunk: fixed, so the output for a seed never depends on parallelism.
CHUNK = 50_000
#: Most people one dataset can hold: the valid NHS numbers in the synthetic ranges
#: (a stem has a valid check digit 10 times in 11), less a margin.
MAX_PEOPLE = capacity(SYNTHETIC_RANGES)
#: Row-number space per chunk in ids (ids are prefix + chunk * 10**9 + row).
ID_SPACE = 10**9

OUTPUT_TABLES = T.PERSON_TABLES


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


def _sig(x: Arr) -> Arr:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def _curve(age: Arr, knots: tuple[tuple[float, float], ...]) -> Arr:
    xs = np.array([k[0] for k in knots], dtype=np.float64)
    ys = np.array([k[1] for k in knots], dtype=np.float64)
    return np.asarray(np.interp(age, xs, ys))


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def span_periods(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """Consecutive periods of one year from ``start`` (the last cut at ``end``), as day numbers."""
    out: list[tuple[int, int]] = []
    k = 0
    while True:
        p0 = _add_years(start, k)
        if p0 > end:
            break
        p1 = min(_add_years(start, k + 1) - dt.timedelta(days=1), end)
        out.append((_days(p0), _days(p1)))
        k += 1
    return out


# --- String columns -----------------------------------------------------------


def _take(vocab: list[str] | tuple[str, ...], idx: Arr) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(idx, dtype=np.int32)), pa.array(list(vocab), pa.string())
    ).dictionary_decode()


def _ids(prefix: str, chunk: int, n: int) -> pa.Array:
    # 10**13 + ...: every number has 14 digits, so no padding is needed; drop the leading 1
    nums = pa.array(np.arange(n, dtype=np.int64) + chunk * ID_SPACE + 10**13)
    text = pc.utf8_slice_codeunits(pc.cast(nums, pa.string()), 1)
    return pc.binary_join_element_wise(prefix, text, "")


def _dates(days: Arr, null: Arr | None = None) -> pa.Array:
    arr = np.asarray(days, dtype=np.int64)
    mask = (arr >= NEVER) if null is None else (np.asarray(null) | (arr >= NEVER))
    return pa.array(np.where(mask, 0, arr).astype(np.int32), pa.int32(), mask=mask).cast(
        pa.date32()
    )


def _rep(value: str | None, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, pa.string())
    return pa.repeat(pa.scalar(value, pa.string()), n)


# --- Organisations ------------------------------------------------------------


@dataclass
class Layout:
    practice_ids: list[str]
    practice_end: Arr  # cumulative list sizes: person g is in practice searchsorted(end, g, right)
    practice_locality: Arr
    lsoa_start: Arr
    lsoa_count: Arr
    lsoa_decile: Arr
    lsoa_ids: list[str]
    locality_hospital: Arr
    hospital_ids: list[str]
    care_home_ids: list[str]
    care_home_locality: Arr
    la_id: str = "SYNLA1"
    community_id: str = "SYNCOM1"
    mental_health_id: str = "SYNMH1"
    social_care_provider_id: str = "SYNSCP1"
    organisations: pa.Table = field(default_factory=lambda: pa.table({}))


def _split_sizes(total: int, k: int, rng: np.random.Generator, lo: int, hi: int) -> list[int]:
    w = np.exp(rng.normal(0.0, P.PRACTICE_SIGMA, size=k))
    sizes = w / w.sum() * total
    for _ in range(20):
        sizes = np.clip(sizes, lo, hi)
        sizes = sizes / sizes.sum() * total
    out = [int(s) for s in np.floor(sizes)]
    out[int(np.argmin(out))] += total - sum(out)
    return out


def build_layout(people: int, seed: int) -> Layout:
    """The organisations and small areas for ``people`` people (deterministic for ``seed``)."""
    rng = np.random.default_rng([seed, 0x0E6])
    n_loc = max(1, round(people / P.LOCALITY_TARGET))
    loc_sizes = _split_sizes(people, n_loc, rng, 1, people)
    loc_sizes = [people // n_loc + (1 if i < people % n_loc else 0) for i in range(n_loc)]
    practice_sizes: list[int] = []
    practice_locality: list[int] = []
    for li, size in enumerate(loc_sizes):
        k = max(1, round(size / P.PRACTICE_MEDIAN))
        lo = min(P.PRACTICE_MIN, size // k)
        hi = max(P.PRACTICE_MAX, -(-size // k))
        for s in _split_sizes(size, k, rng, lo, hi):
            practice_sizes.append(s)
            practice_locality.append(li)
    n_prac = len(practice_sizes)
    # Small areas: each practice draws on its own areas, around a practice-level deprivation.
    lsoa_count = np.array([max(1, round(s / P.LSOA_SIZE)) for s in practice_sizes])
    lsoa_start = np.concatenate([[0], np.cumsum(lsoa_count)[:-1]])
    # deprivation: a practice-level centre plus area noise, ranked into national-style
    # deciles (each decile ~10% of areas) so practices differ but deciles stay even
    centre = rng.normal(0.0, 1.0, size=n_prac)
    score = np.repeat(centre, lsoa_count) + rng.normal(0.0, 0.8, size=int(lsoa_count.sum()))
    rank = np.argsort(np.argsort(score, kind="stable"), kind="stable")
    lsoa_decile = (1 + rank * 10 // max(1, rank.shape[0])).astype(np.int64)
    lsoa_ids = [f"SYN{i + 1:07d}" for i in range(int(lsoa_count.sum()))]
    n_hosp = max(1, round(people / P.PEOPLE_PER_HOSPITAL))
    locality_hospital = np.arange(n_loc) % n_hosp
    ch_per_loc = [max(1, round(s * 0.21 * 0.045 / P.CARE_HOME_BEDS)) for s in loc_sizes]
    care_home_locality = np.repeat(np.arange(n_loc), ch_per_loc)

    rows: list[tuple[str, str, str, str | None]] = [
        ("SYNHB", "health_board", "Careweave Synthetic Health Board", None)
    ]
    loc_ids = [f"SYNL{i + 1:02d}" for i in range(n_loc)]
    rows += [(lid, "locality", f"Locality {i + 1}", "SYNHB") for i, lid in enumerate(loc_ids)]
    practice_ids = [f"SYNP{i + 1:05d}" for i in range(n_prac)]
    cluster_of: list[str] = []
    ci = 0
    for li in range(n_loc):
        members = [p for p in range(n_prac) if practice_locality[p] == li]
        for j in range(0, len(members), P.CLUSTER_PRACTICES):
            cid = f"SYNC{ci + 1:03d}"
            rows.append((cid, "cluster", f"Cluster {ci + 1} ({loc_ids[li]})", loc_ids[li]))
            cluster_of.extend([cid] * len(members[j : j + P.CLUSTER_PRACTICES]))
            ci += 1
    rows += [
        (pid, "gp_practice", f"Practice {i + 1}", cluster_of[i])
        for i, pid in enumerate(practice_ids)
    ]
    rows.append(("SYNLA1", "local_authority", "Synthetic County Council", None))
    hospital_ids = [f"SYNH{i + 1:02d}" for i in range(n_hosp)]
    rows += [(h, "hospital", f"General Hospital {i + 1}", None) for i, h in enumerate(hospital_ids)]
    rows.append(("SYNCOM1", "community_provider", "Community Health Services", None))
    rows.append(("SYNMH1", "mental_health_provider", "Mental Health Services", None))
    rows.append(("SYNSCP1", "social_care_provider", "Home Care Services", None))
    care_home_ids = [f"SYNCH{i + 1:04d}" for i in range(len(care_home_locality))]
    rows += [(c, "care_home", f"Care Home {i + 1}", None) for i, c in enumerate(care_home_ids)]
    orgs = pa.table(
        {
            "org_id": [r[0] for r in rows],
            "org_type": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "parent_id": [r[3] for r in rows],
        }
    )
    return Layout(
        practice_ids=practice_ids,
        practice_end=np.cumsum(practice_sizes),
        practice_locality=np.array(practice_locality),
        lsoa_start=lsoa_start,
        lsoa_count=lsoa_count,
        lsoa_decile=lsoa_decile,
        lsoa_ids=lsoa_ids,
        locality_hospital=locality_hospital,
        hospital_ids=hospital_ids,
        care_home_ids=care_home_ids,
        care_home_locality=care_home_locality,
        organisations=orgs,
    )


# --- Condition calibration ----------------------------------------------------


def _condition_lp(age: Arr, male: Arr, depterm: Arr, z: Arr, w: Arr) -> Arr:
    """Log-odds of each condition without its constant: shape (n, conditions)."""
    knots = np.array(P.AGE_KNOTS)
    out = np.empty((age.shape[0], len(P.CONDITIONS)), dtype=np.float64)
    for j, c in enumerate(P.CONDITIONS):
        out[:, j] = (
            np.interp(age, knots, np.array(c.shape, dtype=np.float64))
            + c.male * male
            + c.deprivation * depterm
            + c.load_frail * z
            + c.load_cardio * w
        )
    return out


def _age_rules() -> tuple[Arr, Arr]:
    regs = {r.name: r for r in load_registers()}
    reg_min = np.array([regs[c.name].register_min_age for c in P.CONDITIONS], dtype=np.float64)
    den_min = np.array([regs[c.name].denominator_min_age for c in P.CONDITIONS], dtype=np.float64)
    return reg_min, den_min


@cache
def condition_intercepts() -> tuple[float, ...]:
    """Constants that make each condition's prevalence meet its register reference.

    Solved by bisection on a fixed reference sample of the census age
    structure (independent of the seed and of the number of people).
    """
    rng = np.random.default_rng(20240601)
    m = 200_000
    age = _sample_ages(rng, m, births=0.0)
    male = (rng.random(m) >= _female_share(age)).astype(np.float64)
    depterm = (5.5 - rng.integers(1, 11, size=m)) / 9.0
    base = _condition_lp(age, male, depterm, rng.normal(size=m), rng.normal(size=m))
    reg_min, den_min = _age_rules()
    regs = {r.name: r for r in load_registers()}
    target = np.array(
        [
            regs[c.name].reference_prevalence * P.PREVALENCE_ADJUST.get(c.name, 1.0)
            for c in P.CONDITIONS
        ]
    )
    eligible = age[:, None] >= reg_min[None, :]
    denom = (age[:, None] >= den_min[None, :]).sum(axis=0)
    lo = np.full(len(P.CONDITIONS), -15.0)
    hi = np.full(len(P.CONDITIONS), 15.0)
    for _ in range(32):
        mid = (lo + hi) / 2
        prev = (_sig(base + mid[None, :]) * eligible).sum(axis=0) / denom
        too_high = prev > target
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return tuple(float(x) for x in (lo + hi) / 2)


def _female_share(age: Arr) -> Arr:
    out = np.full(age.shape, P.FEMALE_SHARE[0][1])
    for a, share in P.FEMALE_SHARE[1:]:
        out = np.where(age >= a, share, out)
    return out


def _sample_ages(rng: np.random.Generator, n: int, births: float) -> Arr:
    """Ages (years, fractional) from the census structure; ``births`` share negative (born later)."""
    w = np.array([b[2] for b in P.AGE_BANDS], dtype=np.float64)
    w = w / w.sum() * (1.0 - births)
    probs = np.concatenate([w, [births]])
    band = rng.choice(len(probs), size=n, p=probs)
    lo = np.array([b[0] for b in P.AGE_BANDS] + [0], dtype=np.float64)
    hi = np.array([b[1] for b in P.AGE_BANDS] + [0], dtype=np.float64)
    u = rng.random(n)
    age = lo[band] + u * (hi[band] - lo[band])
    return np.where(band == len(P.AGE_BANDS), -1.0, age)


# --- One chunk ----------------------------------------------------------------


@dataclass
class Span:
    start: int
    end: int
    periods: list[tuple[int, int]]


class _Rows:
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


def _spread(rng: np.random.Generator, counts: Arr, lo: Arr, hi: Arr) -> tuple[Arr, Arr]:
    """Person index and a uniform day in [lo, hi] for each of ``counts`` events per person."""
    counts = np.where(hi >= lo, counts, 0)
    idx = np.repeat(np.arange(counts.shape[0]), counts)
    span = (hi - lo + 1)[idx]
    day = lo[idx] + np.floor(rng.random(idx.shape[0]) * span).astype(np.int64)
    return idx, day


def _pick(rng: np.random.Generator, n: int, probs: list[float] | tuple[float, ...]) -> Arr:
    p = np.asarray(probs, dtype=np.float64)
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1)


def generate_chunk(
    ci: int, lo: int, hi: int, nhs: Arr, layout: Layout, span: Span, seed: int
) -> dict[str, pa.Table]:
    """Every table's rows for people ``lo``..``hi - 1`` (chunk number ``ci``)."""
    rng = np.random.default_rng([seed, 1, ci])
    n = hi - lo
    start, end = span.start, span.end
    span_years = (end - start + 1) / YEAR
    cond_names = P.CONDITION_NAMES
    ci_of = {c: j for j, c in enumerate(cond_names)}
    nc = len(cond_names)

    # --- people
    prac = np.searchsorted(layout.practice_end, np.arange(lo, hi), side="right")
    loc = layout.practice_locality[prac]
    age0 = _sample_ages(rng, n, births=min(0.2, P.BIRTH_RATE * span_years))
    born_later = age0 < 0
    dob = np.where(
        born_later,
        start + np.floor(rng.random(n) * (end - start + 1)).astype(np.int64),
        start - np.floor(np.maximum(age0, 0) * YEAR).astype(np.int64) - 1,
    ).astype(np.int64)
    female = rng.random(n) < _female_share(np.maximum(age0, 0))
    male = (~female).astype(np.float64)
    eth = _pick(rng, n, [s for _, s in P.ETHNIC_SHARES])
    lsoa = layout.lsoa_start[prac] + np.floor(rng.random(n) * layout.lsoa_count[prac]).astype(
        np.int64
    )
    area_unknown = rng.random(n) < P.UNKNOWN_AREA_SHARE
    decile = layout.lsoa_decile[lsoa]
    depterm = np.where(area_unknown, 0.0, (5.5 - decile) / 9.0)
    z = rng.normal(size=n)  # frailty / general ill health
    w = rng.normal(size=n)  # cardiometabolic
    u = rng.normal(0.0, P.PERSON_SD, size=n)  # unobserved propensity to be admitted

    # --- chronic conditions (state at span end), with onset dates
    age_end = (end - dob) / YEAR
    a = np.array(condition_intercepts())
    lp = _condition_lp(age_end, male, depterm, z, w) + a[None, :]
    reg_min, _ = _age_rules()
    min_onset = np.maximum(reg_min, [c.onset_min_age for c in P.CONDITIONS])
    has = (rng.random((n, nc)) < _sig(lp)) & (age_end[:, None] >= reg_min[None, :])
    dur_cap = np.array([2.0 * c.duration for c in P.CONDITIONS])
    dur_max = np.clip(
        np.minimum(dur_cap[None, :], age_end[:, None] - min_onset[None, :]), 0.0, None
    )
    onset = end - np.floor(rng.random((n, nc)) * dur_max * YEAR).astype(np.int64)
    onset = np.maximum(onset, dob[:, None])
    onset = np.where(has, onset, NEVER)
    ckd_stage = _pick(rng, n, [s[2] for s in C.CKD_STAGES])

    beta_em = np.array([c.emergency for c in P.CONDITIONS])
    beta_death = np.array([c.death for c in P.CONDITIONS])
    dem = ci_of["dementia"]

    # --- care homes and home care at the start
    age_start = (start - dob) / YEAR
    old = age_start >= 65
    dem0 = onset[:, dem] <= start
    p_res = _sig(P.CARE_HOME_RESIDENT_BASE + 0.12 * (age_start - 85) + 1.7 * dem0 + 0.7 * z)
    in_home = old & (rng.random(n) < p_res)
    home_of_loc = [
        np.flatnonzero(layout.care_home_locality == li)
        for li in range(len(layout.locality_hospital))
    ]
    ch_first = np.array([h[0] for h in home_of_loc])
    ch_count = np.array([len(h) for h in home_of_loc])
    care_home = ch_first[loc] + np.floor(rng.random(n) * ch_count[loc]).astype(np.int64)
    ch_start = np.where(
        in_home, start - 1 - np.floor(rng.random(n) * 3 * YEAR).astype(np.int64), NEVER
    )
    ch_start = np.where(in_home, np.maximum(ch_start, dob + int(65 * YEAR)), NEVER)
    ch_nursing = rng.random(n) < 0.4
    ch_funded = rng.random(n) < P.LA_FUNDED_SHARE

    death = np.full(n, NEVER, dtype=np.int64)
    prev_em = np.zeros(n, dtype=np.int64)
    last_dis = np.full(n, -NEVER, dtype=np.int64)  # latest emergency discharge so far
    risk_rel = np.zeros(n)

    spells = _Rows()  # person, adm, dis, method(0 em,1 el,2 mat), dest, kind
    ae = _Rows()
    op = _Rows()
    pcc = _Rows()
    comm = _Rows()
    mh = _Rows()
    obs = _Rows()
    reab = _Rows()
    svc = _Rows()
    assess = _Rows()
    acute_meds = _Rows()

    periods = [*span.periods, (end + 1, end + 365)]
    for k, (p0, p1) in enumerate(periods):
        beyond = k == len(periods) - 1
        es = np.maximum(p0, dob)
        present = (dob <= p1) & (death >= p0)
        length = p1 - es + 1
        expo = np.where(present, length / YEAR, 0.0)
        age = np.maximum((p0 - dob) / YEAR, 0.0)
        mid = p0 + (p1 - p0) // 2
        active = onset <= mid
        ncond = active.sum(axis=1)
        lp_core = (
            P.EMERGENCY_BASE
            + _curve(age, P.EMERGENCY_AGE)
            + active @ beta_em
            + P.FRAILTY_EFFECT * z
            + P.DEPRIVATION_EFFECT * 2 * depterm
            + P.CARE_HOME_EFFECT * in_home
            + P.PRIOR_ADMISSION_EFFECT * np.log1p(prev_em)
            + u
        )
        risk_rel = lp_core - P.EMERGENCY_BASE
        lp_em = lp_core + rng.normal(0.0, P.YEAR_SD, size=n)
        n_em = rng.poisson(np.exp(lp_em) * expo)
        lh = (
            P.DEATH_BASE
            + P.DEATH_AGE_SLOPE * (age - 80)
            + active @ beta_death
            + 0.3 * z
            + 0.8 * in_home
            + 0.5 * np.log1p(n_em)
            + 0.2 * depterm
        )
        die = present & (rng.random(n) < 1.0 - np.exp(-np.exp(lh) * expo))
        dday = es + np.floor(rng.random(n) * length).astype(np.int64)
        death = np.where(die, dday, death)
        if beyond:
            break
        win_end = np.minimum(p1, death)
        alive_expo = np.where(present, (win_end - es + 1) / YEAR, 0.0)

        # emergency spells, terminal spells, readmissions
        idx, adm = _spread(rng, np.where(present, n_em, 0), es, win_end)
        term = die & (rng.random(n) < P.DEATH_IN_HOSPITAL_SHARE)
        t_idx = np.flatnonzero(term)
        t_los = np.minimum(rng.geometric(1 / 9.0, size=t_idx.shape[0]) - 1, 60)
        t_adm = np.maximum(death[t_idx] - t_los, es[t_idx])
        e_idx = np.concatenate([idx, t_idx])
        e_adm = np.concatenate([adm, t_adm])
        e_dis = np.concatenate([e_adm[: idx.shape[0]] + _los(rng, age[idx]), death[t_idx]])
        rounds = [(e_idx, e_adm, e_dis)]
        cur_idx, cur_dis = e_idx, e_dis
        for _ in range(2):
            ok = (cur_dis < death[cur_idx]) & (cur_dis < end)
            p_r = np.clip(P.READMIT_BASE * np.exp(0.3 * risk_rel[cur_idx]), 0.0, 0.4)
            hit = ok & (rng.random(cur_idx.shape[0]) < p_r)
            r_idx = cur_idx[hit]
            r_adm = (
                cur_dis[hit] + 1 + np.floor(29 * rng.random(r_idx.shape[0]) ** 2).astype(np.int64)
            )
            keep = r_adm <= win_end[r_idx]
            r_idx, r_adm = r_idx[keep], r_adm[keep]
            r_dis = r_adm + _los(rng, age[r_idx])
            rounds.append((r_idx, r_adm, r_dis))
            cur_idx, cur_dis = r_idx, r_dis
        s_idx = np.concatenate([r[0] for r in rounds])
        s_adm = np.concatenate([r[1] for r in rounds])
        s_dis = np.concatenate([r[2] for r in rounds])
        s_dis = np.minimum(s_dis, death[s_idx])
        # a person is in one bed at a time: drop spells that start inside an earlier one
        ix = _no_overlap(s_idx, s_adm, s_dis, last_dis)
        s_idx, s_adm, s_dis = s_idx[ix], s_adm[ix], s_dis[ix]
        np.maximum.at(last_dis, s_idx, s_dis)
        died_in = s_dis >= death[s_idx]
        # 0 home, 1 care_home, 2 other_hospital, 3 died, 4 other
        other = np.array([0, 2, 4])[_pick(rng, s_idx.shape[0], [0.95, 0.035, 0.015])]
        dest = np.where(died_in, 3, np.where(in_home[s_idx], 1, other))
        prev_em = np.bincount(s_idx, minlength=n)

        # care-home admissions (permanent), often straight from a hospital discharge
        p_ch = 1.0 - np.exp(
            -np.exp(
                P.CARE_HOME_ADMISSION_BASE
                + 0.11 * (age - 85)
                + 1.5 * active[:, dem]
                + 0.7 * z
                + 0.8 * np.log1p(prev_em)
            )
            * alive_expo
        )
        enter = present & (age >= 65) & ~in_home & (rng.random(n) < p_ch)
        enter_day = es + np.floor(rng.random(n) * (win_end - es + 1)).astype(np.int64)
        # from hospital: the last discharge alive this period
        alive_dis = (dest == 0) & (s_dis <= end)
        order = np.lexsort((s_dis, s_idx))
        last_of = np.full(n, -1)
        cand = order[alive_dis[order]]
        last_of[s_idx[cand]] = cand
        via_spell = enter & (last_of >= 0)
        enter_day = np.where(via_spell, s_dis[np.maximum(last_of, 0)], enter_day)
        dest[last_of[via_spell]] = 1
        in_home = in_home | enter
        ch_start = np.where(enter, enter_day, ch_start)

        spells.add(
            person=s_idx,
            adm=s_adm,
            dis=s_dis,
            method=np.zeros(s_idx.shape[0], dtype=np.int64),
            dest=dest,
        )

        # A&E: admitted via A&E, plus attendances not admitted
        via = rng.random(s_idx.shape[0]) < P.ADMITTED_VIA_AE
        ae.add(person=s_idx[via], day=s_adm[via], disposal=np.zeros(int(via.sum()), np.int64))
        lam_ae = np.exp(P.AE_BASE + _curve(age, P.AE_AGE) + 0.5 * (risk_rel - u) + 0.4 * u)
        a_idx, a_day = _spread(rng, rng.poisson(lam_ae * alive_expo), es, win_end)
        ae.add(
            person=a_idx,
            day=a_day,
            disposal=1 + _pick(rng, a_idx.shape[0], [0.76, 0.14, 0.07, 0.03]),
        )

        # elective and maternity spells
        cancer = active[:, ci_of["cancer"]]
        lam_el = np.exp(
            P.ELECTIVE_BASE + _curve(age, P.ELECTIVE_AGE) + 0.12 * ncond + 1.3 * cancer + 0.2 * u
        )
        l_idx, l_adm = _spread(rng, rng.poisson(lam_el * alive_expo), es, win_end)
        l_los = np.where(rng.random(l_idx.shape[0]) < 0.75, 0, rng.geometric(0.35, l_idx.shape[0]))
        l_dis = np.minimum(l_adm + l_los, win_end[l_idx])
        fert = np.where(
            female & (age >= 16) & (age < 46), 0.1 * np.exp(-(((age - 31) / 6.5) ** 2)), 0
        )
        m_idx, m_adm = _spread(rng, rng.poisson(fert * alive_expo), es, win_end)
        m_dis = np.minimum(m_adm + rng.integers(0, 4, m_idx.shape[0]), win_end[m_idx])
        # planned spells: none inside another spell of the same person
        pl_p = np.concatenate([l_idx, m_idx])
        pl_a = np.concatenate([l_adm, m_adm])
        pl_d = np.concatenate([l_dis, m_dis])
        pl_m = np.concatenate([np.ones(l_idx.shape[0], np.int64), np.full(m_idx.shape[0], 2)])
        ix = _no_overlap(pl_p, pl_a, pl_d, last_dis)
        ix = ix[_outside(s_idx, s_adm, s_dis, pl_p[ix], pl_a[ix], pl_d[ix])]
        pl_p, pl_a, pl_d, pl_m = pl_p[ix], pl_a[ix], pl_d[ix], pl_m[ix]
        np.maximum.at(last_dis, pl_p, pl_d)
        spells.add(
            person=pl_p,
            adm=pl_a,
            dis=pl_d,
            method=pl_m,
            dest=np.where((pl_m == 1) & in_home[pl_p], 1, 0),
        )

        # outpatients
        lam_op = np.exp(
            P.OUTPATIENT_BASE + _curve(age, P.OUTPATIENT_AGE) + 0.2 * ncond + 0.6 * cancer + 0.3 * u
        )
        o_idx, o_day = _spread(rng, rng.poisson(lam_op * alive_expo), es, win_end)
        p_dna = _sig(
            np.log(P.DNA_BASE / (1 - P.DNA_BASE)) + 1.2 * depterm[o_idx] - 0.012 * (age[o_idx] - 45)
        )
        r = rng.random(o_idx.shape[0])
        outcome = np.where(r < p_dna, 1, np.where(r < p_dna + P.CANCELLED_SHARE, 2, 0))
        op.add(person=o_idx, day=o_day, outcome=outcome)

        # primary care
        lam_pc = np.exp(
            P.PRIMARY_CARE_BASE
            + _curve(age, P.PRIMARY_CARE_AGE)
            + 0.12 * ncond
            + 0.25 * z
            + 0.1 * u
        )
        c_idx, c_day = _spread(rng, rng.poisson(lam_pc * alive_expo), es, win_end)
        pcc.add(person=c_idx, day=c_day)

        # community health
        frail_now = 0.07 * np.clip(age - 70, -30, 30) + 0.8 * z + 0.15 * ncond
        lam_co = np.exp(P.COMMUNITY_BASE + frail_now + 0.5 * in_home + 0.5 * np.log1p(prev_em))
        lam_co = np.where(age >= 18, lam_co, 0.02)
        k_idx, k_day = _spread(rng, rng.poisson(lam_co * alive_expo), es, win_end)
        comm.add(person=k_idx, day=k_day)

        # mental health
        smi = active[:, ci_of["smi"]]
        depn = active[:, ci_of["depression"]]
        recent_dem = active[:, dem] & (onset[:, dem] >= p0 - int(2 * YEAR))
        lam_mh = smi * 12.0 + recent_dem * 2.0 + depn * 1.6 + 0.02
        h_idx, h_day = _spread(rng, rng.poisson(lam_mh * alive_expo), es, win_end)
        svc_mh = np.where(
            smi[h_idx],
            _pick(rng, h_idx.shape[0], [0.85, 0.1, 0, 0, 0.03, 0.02]),
            np.where(recent_dem[h_idx], 2, np.where(depn[h_idx], 3, 1)),
        )
        mh.add(person=h_idx, day=h_day, service=svc_mh)

        # observations (measurement events; values at the end)
        chronic = active[
            :,
            [
                ci_of[c]
                for c in ("hypertension", "diabetes", "chd", "ckd", "stroke_tia", "heart_failure")
            ],
        ].any(axis=1)
        lam_bp = np.where(chronic, 1.3, np.where(age >= 40, 0.35, np.where(age >= 18, 0.1, 0.0)))
        diab = active[:, ci_of["diabetes"]]
        ckd = active[:, ci_of["ckd"]]
        obese = active[:, ci_of["obesity"]]
        lam_a1c = np.where(diab, 1.8, np.where(age >= 40, 0.12, 0.0))
        lam_bmi = np.where(obese, 1.2, np.where(age >= 18, 0.25, 0.0))
        lam_egfr = np.where(
            ckd,
            2.0,
            np.where(chronic, 0.9, np.where(age >= 65, 0.3, np.where(age >= 18, 0.05, 0.0))),
        )
        for kind_code, lam in ((0, lam_bp), (1, lam_a1c), (2, lam_bmi), (3, lam_egfr)):
            b_idx, b_day = _spread(rng, rng.poisson(lam * alive_expo), es, win_end)
            obs.add(person=b_idx, day=b_day, kind=np.full(b_idx.shape[0], kind_code, np.int64))

        # acute prescriptions
        q_idx, q_day = _spread(rng, rng.poisson((0.5 + 0.1 * ncond) * alive_expo), es, win_end)
        acute_meds.add(person=q_idx, day=q_day)

        # reablement after an emergency discharge home (65+)
        home_dis = (dest == 0) & (s_dis < end) & (age[s_idx] >= 65)
        offer = home_dis & (
            rng.random(s_idx.shape[0])
            < np.clip(P.REABLEMENT_OFFER * np.exp(0.4 * z[s_idx]), 0, 0.6)
        )
        reab.add(person=s_idx[offer], day=s_dis[offer])

        # home care and other community social care, starting this period (65+ at home)
        p_hc = 1.0 - np.exp(
            -np.exp(
                P.HOME_CARE_BASE
                + 0.1 * (age - 85)
                + 0.8 * z
                + 0.8 * active[:, dem]
                + 0.7 * np.log1p(prev_em)
            )
            * alive_expo
        )
        new_hc = present & (age >= 65) & ~in_home & (rng.random(n) < p_hc)
        hc_day = es + np.floor(rng.random(n) * (win_end - es + 1)).astype(np.int64)
        svc.add(person=np.flatnonzero(new_hc), day=hc_day[new_hc])

        # assessments not leading to services
        lam_as = np.where(age >= 65, 0.012 * np.exp(0.5 * z), 0.002)
        x_idx, x_day = _spread(rng, rng.poisson(lam_as * alive_expo), es, win_end)
        assess.add(
            person=x_idx,
            day=x_day,
            kind=np.where(rng.random(x_idx.shape[0]) < 0.7, 0, 1),  # needs, carer
            outcome=1 + _pick(rng, x_idx.shape[0], [0.6, 0.4]),  # no_services, signposted
        )

    rec_death = np.where(death <= end, death, NEVER)
    ctx = _Ctx(
        ci=ci,
        rng=rng,
        n=n,
        start=start,
        end=end,
        dob=dob,
        death=rec_death,
        future_death=death,
        onset=onset,
        ckd_stage=ckd_stage,
        z=z,
        female=female,
        prac=prac,
        loc=loc,
        layout=layout,
        in_home=in_home,
        ch_start=ch_start,
        care_home=care_home,
        ch_nursing=ch_nursing,
        ch_funded=ch_funded,
    )
    out: dict[str, pa.Table] = {}
    out["people"] = _people_table(ctx, nhs, eth, female, lsoa, area_unknown, decile, born_later)
    ctx.nhs = out["people"].column("nhs_number").combine_chunks()
    out["primary_care_events"] = _events_table(ctx)
    out["hospital_spells"] = _spells_table(ctx, spells)
    out["ae_attendances"] = _ae_table(ctx, ae)
    out["outpatient_appointments"] = _op_table(ctx, op)
    out["primary_care_contacts"] = _pcc_table(ctx, pcc)
    out["community_contacts"] = _community_table(ctx, comm)
    out["mental_health_contacts"] = _mh_table(ctx, mh)
    out["observations"] = _obs_table(ctx, obs)
    out["medications"] = _meds_table(ctx, acute_meds)
    social = _social_tables(ctx, reab, svc, assess, out["hospital_spells"], spells)
    out.update(social)
    out["telehealth_readings"] = _telehealth_table(ctx)
    return out


def _no_overlap(person: Arr, adm: Arr, dis: Arr, before: Arr) -> Arr:
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


def _outside(e_person: Arr, e_adm: Arr, e_dis: Arr, person: Arr, adm: Arr, dis: Arr) -> Arr:
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


def _los(rng: np.random.Generator, age: Arr) -> Arr:
    zero = rng.random(age.shape[0]) < np.where(
        age >= 65, P.ZERO_DAY_SHARE_OLD, P.ZERO_DAY_SHARE_YOUNG
    )
    mu = np.log(2.6 + 0.09 * np.clip(age - 50, 0, 45))
    los = np.ceil(np.exp(rng.normal(mu, 0.75)))
    return np.where(zero, 0, np.clip(los, 1, 90)).astype(np.int64)


@dataclass
class _Ctx:
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

    def person(self, idx: Arr) -> pa.Array:
        return self.nhs.take(pa.array(np.asarray(idx, dtype=np.int64)))

    def practice(self, idx: Arr) -> pa.Array:
        return _take(self.layout.practice_ids, self.prac[idx])

    def hospital(self, idx: Arr) -> pa.Array:
        return _take(self.layout.hospital_ids, self.layout.locality_hospital[self.loc[idx]])

    def age_at(self, idx: Arr, day: Arr) -> Arr:
        return np.asarray((day - self.dob[idx]) / YEAR)


def _people_table(
    ctx: _Ctx,
    nhs: Arr,
    eth: Arr,
    female: Arr,
    lsoa: Arr,
    area_unknown: Arr,
    decile: Arr,
    born_later: Arr,
) -> pa.Table:
    rng, n = ctx.rng, ctx.n
    reg_gap = np.floor(rng.exponential(12.0, n) * YEAR).astype(np.int64)
    reg_from = np.where(
        born_later | (rng.random(n) < 0.3), ctx.dob, np.maximum(ctx.dob, ctx.start - reg_gap)
    )
    resident = ctx.in_home & (ctx.ch_start <= np.minimum(ctx.death, ctx.end))
    return pa.table(
        {
            "nhs_number": pc.cast(pa.array(nhs), pa.string()),
            "date_of_birth": _dates(ctx.dob),
            "sex": _take(("female", "male"), np.where(female, 0, 1)),
            "ethnic_group": _take([e for e, _ in P.ETHNIC_SHARES], eth),
            "small_area": pa.array(
                _take(ctx.layout.lsoa_ids, lsoa).to_numpy(zero_copy_only=False),
                pa.string(),
                mask=area_unknown,
            ),
            "deprivation_decile": pa.array(decile.astype(np.int16), pa.int16(), mask=area_unknown),
            "practice_id": ctx.practice(np.arange(n)),
            "local_authority_id": _rep(ctx.layout.la_id, n),
            "registered_from": _dates(reg_from),
            "registered_to": _dates(ctx.death),
            "care_home_resident": pa.array(resident),
            "date_of_death": _dates(ctx.death),
            "source_id": _rep(None, n),
        }
    )


def _events_table(ctx: _Ctx) -> pa.Table:
    rng, n = ctx.rng, ctx.n
    regs = {r.name: r for r in load_registers()}
    vocab: list[str] = []
    terms: list[str] = []

    def code_index(code: str, term: str) -> int:
        if code not in vocab:
            vocab.append(code)
            terms.append(term)
        return vocab.index(code)

    persons: list[Arr] = []
    days: list[Arr] = []
    codes: list[Arr] = []
    for j, name in enumerate(P.CONDITION_NAMES):
        idx = np.flatnonzero((ctx.onset[:, j] < NEVER) & (ctx.onset[:, j] <= ctx.death))
        day = ctx.onset[idx, j]
        reg_codes = regs[name].snomed_codes
        if name == "ckd":
            cidx = np.array([code_index(c, t) for c, t, _ in C.CKD_STAGES])[ctx.ckd_stage[idx]]
        elif name == "diabetes":
            pick = _pick(rng, idx.shape[0], [0.89, 0.08, 0.03])
            cidx = np.array([code_index(c, C.TERMS[c]) for c in reg_codes])[pick]
        else:
            weights = [0.7] + [0.3 / max(1, len(reg_codes) - 1)] * (len(reg_codes) - 1)
            pick = _pick(rng, idx.shape[0], weights[: len(reg_codes)])
            cidx = np.array([code_index(c, C.TERMS[c]) for c in reg_codes])[pick]
        persons.append(idx)
        days.append(day)
        codes.append(cidx)
    # frailty deficits, more often in older and frailer people
    age_end = (ctx.end - ctx.dob) / YEAR
    ncond = (ctx.onset <= ctx.end).sum(axis=1)
    frail = 0.06 * (age_end - 75) + 0.8 * ctx.z + 0.2 * ncond
    for code, term, base in P.FRAILTY_DEFICITS:
        p = np.where(age_end >= 40, _sig(base + frail), 0.0)
        idx = np.flatnonzero(rng.random(n) < p)
        back = np.minimum(10.0, age_end[idx] - 40) * YEAR
        day = ctx.end - np.floor(rng.random(idx.shape[0]) * back).astype(np.int64)
        keep = day <= ctx.death[idx]
        persons.append(idx[keep])
        days.append(day[keep])
        codes.append(np.full(int(keep.sum()), code_index(code, term)))
    # palliative care: in the months before death (including deaths just after the span)
    fd = ctx.future_death
    dying = np.flatnonzero((fd < NEVER) & (rng.random(n) < P.PALLIATIVE_SHARE_OF_DEATHS))
    lo_d, hi_d = P.PALLIATIVE_LEAD_DAYS
    day = fd[dying] - rng.integers(lo_d, hi_d, dying.shape[0])
    keep = (day <= ctx.end) & (day >= ctx.dob[dying])
    persons.append(dying[keep])
    days.append(day[keep])
    codes.append(np.full(int(keep.sum()), code_index("103735009", "Palliative care")))
    person = np.concatenate(persons)
    day = np.concatenate(days)
    code_ix = np.concatenate(codes)
    m = person.shape[0]
    return pa.table(
        {
            "id": _ids("PCE", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "event_date": _dates(day),
            "code_system": _rep("snomed", m),
            "code": _take(vocab, code_ix),
            "term": _take(terms, code_ix),
            "resolved_date": pa.nulls(m, pa.date32()),
            "org_id": ctx.practice(person),
        }
    )


_DEST = ("home", "care_home", "other_hospital", "died", "other")
_METHOD = ("emergency", "elective", "maternity")


def end_stays_at_death(adm: Arr, dis: Arr, dest: Arr, death: Arr) -> tuple[Arr, Arr]:
    """Discharge days and destinations with every stay ended by a death during it.

    A stay never outlives the patient: when the person dies between admission and
    the planned discharge, the spell ends on the day of death, destination "died".
    (Found by the loader's date_after_death rule on spells crossing a year end.)
    """
    died_in = (dis > death) & (adm <= death)
    return np.where(died_in, death, dis), np.where(died_in, _DEST.index("died"), dest)


def reablement_after_discharge(start: Arr, planned_end: Arr, death: Arr) -> tuple[Arr, Arr]:
    """Which reablement episodes happen, and when they end.

    An episode starts on the day of a discharge home. It is recorded when the discharge is
    simulated, but a death found later may end that stay in hospital first
    (:func:`end_stays_at_death`): there is then no discharge home and no episode. A person
    who dies during an episode ends it that day. (Found by the loader's end_before_start
    rule at 1,000,000 people.)
    """
    happens = death > start
    return happens, np.minimum(planned_end, death)


def _spells_table(ctx: _Ctx, rows: _Rows) -> pa.Table:
    rng = ctx.rng
    person = rows.get("person")
    adm = rows.get("adm")
    dis = rows.get("dis")
    method = rows.get("method")
    dest = rows.get("dest")
    dis, dest = end_stays_at_death(adm, dis, dest, ctx.death[person])
    m = person.shape[0]
    age = ctx.age_at(person, adm)
    # primary diagnosis
    vocab: list[str] = []

    def vidx(codes: tuple[str, ...] | list[str]) -> Arr:
        out = []
        for c in codes:
            if c not in vocab:
                vocab.append(c)
            out.append(vocab.index(c))
        return np.array(out, dtype=np.int64)

    conds = P.CONDITION_NAMES
    acute_tables = [vidx(C.ACUTE_ICD10.get(c, ())) for c in conds]
    has_acute = np.array([t.shape[0] > 0 for t in acute_tables])
    active = ctx.onset[person] <= adm[:, None]
    weights = active & has_acute[None, :]
    gumbel = np.log(np.where(weights, 1.0, 1e-300)) - np.log(-np.log(rng.random(weights.shape)))
    chosen = np.argmax(gumbel, axis=1)
    any_cond = weights.any(axis=1)
    use_cond = any_cond & (rng.random(m) < 0.6)
    maxlen = max(t.shape[0] for t in acute_tables)
    acute_pad = np.zeros((len(conds), maxlen), dtype=np.int64)
    acute_len = np.ones(len(conds), dtype=np.int64)
    for j, t in enumerate(acute_tables):
        if t.shape[0]:
            acute_pad[j, : t.shape[0]] = t
            acute_len[j] = t.shape[0]
    cond_code = acute_pad[chosen, np.floor(rng.random(m) * acute_len[chosen]).astype(np.int64)]
    groups = ("child", "adult", "older")
    gen_tables = [vidx(C.GENERIC_ICD10[g]) for g in groups]
    grp = np.where(age < 16, 0, np.where(age < 65, 1, 2))
    gen_len = np.array([t.shape[0] for t in gen_tables])
    gen_pad = np.zeros((3, gen_len.max()), dtype=np.int64)
    for j, t in enumerate(gen_tables):
        gen_pad[j, : t.shape[0]] = t
    gen_code = gen_pad[grp, np.floor(rng.random(m) * gen_len[grp]).astype(np.int64)]
    el_codes = vidx([c for c, _ in C.ELECTIVE_ICD10])
    el_pick = np.floor(rng.random(m) * len(C.ELECTIVE_ICD10)).astype(np.int64)
    chemo = vidx(["Z51.1"])[0]
    cancer_j = conds.index("cancer")
    el_code = np.where(active[:, cancer_j] & (rng.random(m) < 0.6), chemo, el_codes[el_pick])
    mat_code = vidx(["O80.0"])[0]
    primary = np.where(
        method == 0,
        np.where(use_cond, cond_code, gen_code),
        np.where(method == 1, el_code, mat_code),
    )
    # specialty
    spec_vocab = [
        "Paediatrics",
        "General Internal Medicine",
        "Geriatric Medicine",
        "Cardiology",
        "Respiratory Medicine",
        "Trauma and Orthopaedics",
        "General Surgery",
        "Psychiatry",
        "Obstetrics",
        "Clinical Oncology",
        *sorted({s for _, s in C.ELECTIVE_ICD10}),
    ]
    letter_spec = np.array(
        [
            {"I": 3, "J": 4, "S": 5, "K": 6, "F": 7}.get(c[0], 1) if c != "R10.4" else 6
            for c in vocab
        ]
    )
    spec = letter_spec[primary]
    spec = np.where((method == 0) & (age >= 75) & ((spec == 1) | (rng.random(m) < 0.3)), 2, spec)
    spec = np.where((method == 0) & (age < 16), 0, spec)
    el_spec = np.array([spec_vocab.index(s) for _, s in C.ELECTIVE_ICD10])[el_pick]
    spec = np.where(method == 1, np.where(el_code == chemo, 9, el_spec), spec)
    spec = np.where(method == 2, 8, spec)
    # secondary diagnoses: active chronic conditions, HFRS codes for frail older people
    chronic_codes = [C.CHRONIC_ICD10[c] for c in conds]
    chronic_idx = vidx(chronic_codes)
    ckd_codes = vidx(["N18.3", "N18.4", "N18.5"])
    sec_mask = active & (rng.random(active.shape) < 0.85) & (method != 2)[:, None]
    s_spell, s_cond = np.nonzero(sec_mask)
    s_code = chronic_idx[s_cond]
    ckd_j = conds.index("ckd")
    s_code = np.where(s_cond == ckd_j, ckd_codes[ctx.ckd_stage[person[s_spell]]], s_code)
    hfrs_codes = vidx([c for c, _ in C.HFRS_ICD10])
    hfrs_w = [wt for _, wt in C.HFRS_ICD10]
    ncond = active.sum(axis=1)
    frail = 0.06 * (age - 80) + 0.8 * ctx.z[person] + 0.15 * ncond
    k_hfrs = np.where(
        (age >= 65) & (method == 0), np.minimum(rng.poisson(np.exp(-0.3 + frail)), 6), 0
    )
    h_spell = np.repeat(np.arange(m), k_hfrs)
    h_code = hfrs_codes[_pick(rng, h_spell.shape[0], hfrs_w)]
    mat_sec = np.flatnonzero(method == 2)
    all_spell = np.concatenate([s_spell, h_spell, mat_sec])
    all_code = np.concatenate([s_code, h_code, np.full(mat_sec.shape[0], vidx(["Z37.0"])[0])])
    key = np.unique(all_spell.astype(np.int64) * 4096 + all_code)
    u_spell, u_code = key // 4096, key % 4096
    keep = u_code != primary[u_spell]
    u_spell, u_code = u_spell[keep], u_code[keep]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(u_spell, minlength=m))]).astype(np.int32)
    secondary = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), _take(vocab, u_code))
    open_spell = dis > ctx.end
    return pa.table(
        {
            "id": _ids("APC", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": ctx.hospital(person),
            "admission_date": _dates(adm),
            "discharge_date": _dates(dis, open_spell),
            "admission_method": _take(_METHOD, method),
            "primary_diagnosis": _take(vocab, primary),
            "secondary_diagnoses": secondary,
            "specialty": _take(spec_vocab, spec),
            "discharge_destination": pa.array(
                _take(_DEST, dest).to_numpy(zero_copy_only=False), pa.string(), mask=open_spell
            ),
            "cost": pa.nulls(m, pa.float64()),
        }
    )


def _ae_table(ctx: _Ctx, rows: _Rows) -> pa.Table:
    person, day, disp = rows.get("person"), rows.get("day"), rows.get("disposal")
    m = person.shape[0]
    return pa.table(
        {
            "id": _ids("AE", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": ctx.hospital(person),
            "attendance_date": _dates(day),
            "disposal": _take(("admitted", "discharged", "referred", "left", "other"), disp),
            "cost": pa.nulls(m, pa.float64()),
        }
    )


def _op_table(ctx: _Ctx, rows: _Rows) -> pa.Table:
    rng = ctx.rng
    person, day, outcome = rows.get("person"), rows.get("day"), rows.get("outcome")
    m = person.shape[0]
    conds = P.CONDITION_NAMES
    spec_vocab = sorted({*C.CONDITION_SPECIALTY.values(), *C.GENERAL_OUTPATIENT, "Paediatrics"})
    cond_spec = np.array(
        [spec_vocab.index(C.CONDITION_SPECIALTY.get(c, "General Internal Medicine")) for c in conds]
    )
    with_spec = np.array([c in C.CONDITION_SPECIALTY for c in conds])
    # each person's main condition for outpatients: a random one of theirs with a specialty
    has = (ctx.onset < NEVER) & with_spec[None, :]
    key = np.where(has, rng.random(has.shape), -1.0)
    main = np.argmax(key, axis=1)
    main_onset = np.where(has.any(axis=1), ctx.onset[np.arange(ctx.n), main], NEVER)
    general = np.array([spec_vocab.index(s) for s in C.GENERAL_OUTPATIENT])[
        np.floor(rng.random(m) * len(C.GENERAL_OUTPATIENT)).astype(np.int64)
    ]
    use_cond = (main_onset[person] <= day) & (rng.random(m) < 0.55)
    spec = np.where(use_cond, cond_spec[main[person]], general)
    spec = np.where(ctx.age_at(person, day) < 16, spec_vocab.index("Paediatrics"), spec)
    return pa.table(
        {
            "id": _ids("OPA", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": ctx.hospital(person),
            "appointment_date": _dates(day),
            "specialty": _take(spec_vocab, spec),
            "outcome": _take(("attended", "did_not_attend", "cancelled"), outcome),
            "cost": pa.nulls(m, pa.float64()),
        }
    )


def _pcc_table(ctx: _Ctx, rows: _Rows) -> pa.Table:
    rng = ctx.rng
    person, day = rows.get("person"), rows.get("day")
    m = person.shape[0]
    role = _pick(rng, m, [0.5, 0.32, 0.06, 0.12])
    housebound = ctx.in_home[person] | ((ctx.age_at(person, day) >= 85) & (ctx.z[person] > 1.0))
    mode = np.where(
        housebound & (rng.random(m) < 0.35), 1, _pick(rng, m, [0.62, 0.01, 0.33, 0.02, 0.02])
    )
    return pa.table(
        {
            "id": _ids("PCC", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "contact_date": _dates(day),
            "staff_role": _take(("gp", "nurse", "pharmacist", "other"), role),
            "mode": _take(T.CONTACT_MODE, mode),
            "org_id": ctx.practice(person),
            "cost": pa.nulls(m, pa.float64()),
        }
    )


def _community_table(ctx: _Ctx, rows: _Rows) -> pa.Table:
    rng = ctx.rng
    person, day = rows.get("person"), rows.get("day")
    m = person.shape[0]
    service = _pick(rng, m, [0.45, 0.06, 0.12, 0.12, 0.1, 0.05, 0.0, 0.1])
    pall = ctx.future_death[person] - day < 180
    service = np.where(pall & (rng.random(m) < 0.4), 6, service)
    mode = _pick(rng, m, [0.3, 0.6, 0.1, 0.0, 0.0])
    return _contacts(
        ctx, "COM", ctx.layout.community_id, T.COMMUNITY_SERVICE, person, day, service, mode
    )


def _mh_table(ctx: _Ctx, rows: _Rows) -> pa.Table:
    person, day, service = rows.get("person"), rows.get("day"), rows.get("service")
    mode = _pick(ctx.rng, person.shape[0], [0.6, 0.15, 0.2, 0.05, 0.0])
    return _contacts(
        ctx, "MHC", ctx.layout.mental_health_id, T.MENTAL_HEALTH_SERVICE, person, day, service, mode
    )


def _contacts(
    ctx: _Ctx,
    prefix: str,
    provider_id: str,
    services: tuple[str, ...],
    person: Arr,
    day: Arr,
    service: Arr,
    mode: Arr,
) -> pa.Table:
    """A community or mental-health contacts table (the two share one shape, unpriced)."""
    m = person.shape[0]
    return pa.table(
        {
            "id": _ids(prefix, ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": _rep(provider_id, m),
            "contact_date": _dates(day),
            "service": _take(services, service),
            "mode": _take(T.CONTACT_MODE, mode),
            "cost": pa.nulls(m, pa.float64()),
        }
    )


def _obs_table(ctx: _Ctx, rows: _Rows) -> pa.Table:
    rng = ctx.rng
    person, day, kind = rows.get("person"), rows.get("day"), rows.get("kind")
    conds = P.CONDITION_NAMES
    on = ctx.onset[person] <= day[:, None]
    age = ctx.age_at(person, day)
    htn = on[:, conds.index("hypertension")]
    diab = on[:, conds.index("diabetes")]
    ckd = on[:, conds.index("ckd")]
    obese = on[:, conds.index("obesity")]
    # blood pressure: two rows (systolic, diastolic)
    bp = kind == 0
    b_p, b_d = person[bp], day[bp]
    sbp = np.rint(
        np.where(
            htn[bp],
            rng.normal(139, 14, b_p.shape[0]),
            rng.normal(118 + 0.35 * np.clip(age[bp] - 30, 0, 60), 13, b_p.shape[0]),
        )
    )
    dbp = np.rint(np.clip(sbp * 0.58 + rng.normal(0, 6, b_p.shape[0]), 40, 130))
    # HbA1c (mmol/mol)
    a1 = kind == 1
    a1v = np.where(diab[a1], rng.normal(58, 13, int(a1.sum())), rng.normal(37, 4, int(a1.sum())))
    a1v = np.rint(np.clip(a1v, 20, 150))
    # BMI and weight
    bm = kind == 2
    nb = int(bm.sum())
    bmi = np.where(
        obese[bm],
        30.0 + rng.gamma(2.0, 2.3, nb),
        np.clip(rng.normal(25.3, 2.6, nb), 15.0, 29.8),
    )
    bmi = np.where(age[bm] < 18, np.clip(rng.normal(19, 3, nb), 12, 29.8), bmi)
    height = np.where(ctx.female[person[bm]], 1.62, 1.76) + rng.normal(0, 0.06, nb)
    weight = np.round(bmi * height**2, 1)
    bmi = np.round(bmi, 1)
    # eGFR
    eg = kind == 3
    ne = int(eg.sum())
    stage = ctx.ckd_stage[person[eg]]
    ckd_v = np.where(
        stage == 0,
        rng.uniform(30, 59, ne),
        np.where(stage == 1, rng.uniform(15, 29, ne), rng.uniform(5, 14, ne)),
    )
    egfr = np.where(
        ckd[eg],
        ckd_v,
        np.clip(rng.normal(100 - 0.6 * np.clip(age[eg] - 30, 0, 70), 10, ne), 60, 140),
    )
    egfr = np.rint(egfr)
    persons = np.concatenate([b_p, b_p, person[a1], person[bm], person[bm], person[eg]])
    days = np.concatenate([b_d, b_d, day[a1], day[bm], day[bm], day[eg]])
    measure = np.concatenate(
        [
            np.full(b_p.shape[0], 0),
            np.full(b_p.shape[0], 1),
            np.full(int(a1.sum()), 2),
            np.full(nb, 3),
            np.full(nb, 4),
            np.full(ne, 5),
        ]
    )
    values = np.concatenate([sbp, dbp, a1v, bmi, weight, egfr])
    names = ("systolic_bp", "diastolic_bp", "hba1c", "bmi", "weight", "egfr")
    m = persons.shape[0]
    return pa.table(
        {
            "id": _ids("OBS", ctx.ci, m),
            "nhs_number": ctx.person(persons),
            "obs_date": _dates(days),
            "code_system": _rep("loinc", m),
            "code": _take([C.OBSERVATIONS[x][0] for x in names], measure),
            "term": _take([C.OBSERVATIONS[x][1] for x in names], measure),
            "measure": _take(names, measure),
            "value": pa.array(values, pa.float64()),
            "unit": _take([C.OBSERVATIONS[x][2] for x in names], measure),
            "org_id": ctx.practice(persons),
        }
    )


def _meds_table(ctx: _Ctx, acute: _Rows) -> pa.Table:
    rng = ctx.rng
    vocab: list[str] = []
    terms: list[str] = []

    def vi(code: str, term: str) -> int:
        if code not in vocab:
            vocab.append(code)
            terms.append(term)
        return vocab.index(code)

    persons: list[Arr] = []
    days: list[Arr] = []
    codes: list[Arr] = []
    qtys: list[Arr] = []
    period = 84
    stop = np.minimum(ctx.death, ctx.end)
    for j, cname in enumerate(P.CONDITION_NAMES):
        for code, term, prob, qty in C.MEDICINES.get(cname, ()):
            on = ctx.onset[:, j]
            idx = np.flatnonzero((on <= stop) & (rng.random(ctx.n) < prob))
            first = np.maximum(on[idx], ctx.start) + rng.integers(0, period, idx.shape[0])
            count = np.where(first <= stop[idx], (stop[idx] - first) // period + 1, 0)
            rep = np.repeat(np.arange(idx.shape[0]), count)
            k = np.arange(rep.shape[0]) - np.repeat(np.cumsum(count) - count, count)
            persons.append(idx[rep])
            days.append(first[rep] + k * period)
            codes.append(np.full(rep.shape[0], vi(code, term)))
            qtys.append(np.full(rep.shape[0], qty, dtype=np.float64))
    a_p, a_d = acute.get("person"), acute.get("day")
    pick = _pick(rng, a_p.shape[0], [0.5, 0.2, 0.2, 0.1])
    amap = np.array([vi(c, t) for c, t, _ in C.ACUTE_MEDICINES])
    persons.append(a_p)
    days.append(a_d)
    codes.append(amap[pick])
    qtys.append(np.array([q for _, _, q in C.ACUTE_MEDICINES], dtype=np.float64)[pick])
    # morphine for people in their last months
    fd = ctx.future_death
    dying = np.flatnonzero((fd <= ctx.end) & (rng.random(ctx.n) < 0.4))
    first = np.maximum(fd[dying] - rng.integers(7, 120, dying.shape[0]), ctx.start)
    first = np.maximum(first, ctx.dob[dying])
    count = np.where(first <= fd[dying], (fd[dying] - first) // 28 + 1, 0)
    rep = np.repeat(np.arange(dying.shape[0]), count)
    k = np.arange(rep.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    persons.append(dying[rep])
    days.append(first[rep] + k * 28)
    codes.append(np.full(rep.shape[0], vi(MORPHINE_CODE, "Morphine")))
    qtys.append(np.full(rep.shape[0], 60.0))
    person = np.concatenate(persons)
    day = np.concatenate(days)
    code_ix = np.concatenate(codes)
    qty_arr = np.concatenate(qtys)
    m = person.shape[0]
    return pa.table(
        {
            "id": _ids("MED", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "issue_date": _dates(day),
            "code_system": _rep("snomed", m),
            "code": _take(vocab, code_ix),
            "term": _take(terms, code_ix),
            "quantity": pa.array(qty_arr, pa.float64()),
            "org_id": ctx.practice(person),
        }
    )


MORPHINE_CODE = C.MORPHINE[0]


def _social_tables(
    ctx: _Ctx,
    reab: _Rows,
    svc: _Rows,
    assess: _Rows,
    spells_tbl: pa.Table,
    spells: _Rows,
) -> dict[str, pa.Table]:
    rng = ctx.rng
    end = ctx.end
    death = ctx.death
    out: dict[str, pa.Table] = {}
    # reablement
    r_p, r_d = reab.get("person"), reab.get("day")
    nr = r_p.shape[0]
    # spell id of the discharge: find the spell with that person and discharge date
    s_person = spells.get("person")
    s_dis = spells.get("dis")
    s_ids = spells_tbl.column("id").combine_chunks()
    key_s = s_person * 100000 + np.minimum(s_dis, 99999 - 1)
    key_r = r_p * 100000 + np.minimum(r_d, 99999 - 1)
    order = np.argsort(key_s, kind="stable")
    pos = np.searchsorted(key_s[order], key_r)
    pos = np.minimum(pos, max(key_s.shape[0] - 1, 0))
    spell_row = order[pos] if key_s.shape[0] else np.zeros(0, dtype=np.int64)
    happens, r_end = reablement_after_discharge(r_d, r_d + rng.integers(10, 43, nr), death[r_p])
    age = ctx.age_at(r_p, r_d)
    p_home = _sig(P.REABLEMENT_HOME_BASE - 0.5 * ctx.z[r_p] - 0.04 * (age - 80))
    home = rng.random(nr) < p_home
    day91 = r_d + 91
    died91 = death[r_p] <= day91
    to_home = (ctx.ch_start[r_p] > r_d) & (ctx.ch_start[r_p] <= day91)
    at_home = home & ~died91 & ~to_home
    unknown = day91 > end
    out["reablement_episodes"] = pa.table(
        {
            "id": _ids("REA", ctx.ci, nr),
            "nhs_number": ctx.person(r_p),
            "local_authority_id": _rep(ctx.layout.la_id, nr),
            "spell_id": s_ids.take(pa.array(spell_row.astype(np.int64))),
            "start_date": _dates(r_d),
            "end_date": _dates(r_end, r_end > end),
            "at_home_91d": pa.array(at_home, pa.bool_(), mask=unknown),
        }
    ).filter(pa.array(happens))
    # home-care packages: those present at the start and those started in the span
    n = ctx.n
    age0 = (ctx.start - ctx.dob) / YEAR
    dem0 = ctx.onset[:, P.CONDITION_NAMES.index("dementia")] <= ctx.start
    stock = (
        (age0 >= 65)
        & ~(ctx.in_home & (ctx.ch_start <= ctx.start))
        & (
            rng.random(n)
            < _sig(P.HOME_CARE_BASE + 2.2 + 0.1 * (age0 - 85) + 0.8 * ctx.z + 0.8 * dem0)
        )
    )
    st_p = np.flatnonzero(stock)
    st_d = ctx.start - 1 - np.floor(rng.random(st_p.shape[0]) * 2 * YEAR).astype(np.int64)
    st_d = np.maximum(st_d, ctx.dob[st_p])
    h_p = np.concatenate([st_p, svc.get("person")])
    h_d = np.concatenate([st_d, svc.get("day")])
    dur = np.floor(rng.exponential(2.0, h_p.shape[0]) * YEAR).astype(np.int64) + 14
    h_end = np.minimum(h_d + dur, death[h_p])
    h_end = np.minimum(h_end, np.where(ctx.ch_start[h_p] > h_d, ctx.ch_start[h_p], NEVER))
    keep = h_end >= ctx.start - 1
    h_p, h_d, h_end = h_p[keep], h_d[keep], h_end[keep]
    nh = h_p.shape[0]
    hours = np.clip(np.rint(np.exp(rng.normal(np.log(P.HOME_CARE_HOURS_MEDIAN), 0.6, nh))), 1, 60)
    kind = np.where(rng.random(nh) < 0.12, 2, 0)  # some take a direct payment instead
    extras_p: list[Arr] = []
    extras_d: list[Arr] = []
    extras_e: list[Arr] = []
    extras_k: list[Arr] = []
    for code, prob in ((4, 0.45), (3, 0.5), (1, 0.1), (5, 0.1)):
        sel = rng.random(nh) < prob
        extras_p.append(h_p[sel])
        extras_d.append(h_d[sel])
        extras_e.append(h_end[sel])
        extras_k.append(np.full(int(sel.sum()), code))
    # respite: short stays in a care home for frail people at home
    sp_p = np.concatenate([h_p, *extras_p])
    sp_d = np.concatenate([h_d, *extras_d])
    sp_e = np.concatenate([h_end, *extras_e])
    sp_k = np.concatenate([kind, *extras_k])
    sp_h = np.concatenate([hours, np.full(sp_p.shape[0] - nh, np.nan)])
    sp_h = np.where(sp_k == 0, sp_h, np.nan)
    ns = sp_p.shape[0]
    with_cost = (sp_k == 0) & (rng.random(ns) < 0.5)
    wk_cost = np.round(sp_h * 27.0 * rng.uniform(0.9, 1.15, ns), 2)
    out["social_care_services"] = pa.table(
        {
            "id": _ids("SCS", ctx.ci, ns),
            "nhs_number": ctx.person(sp_p),
            "local_authority_id": _rep(ctx.layout.la_id, ns),
            "service_type": _take(T.SOCIAL_CARE_SERVICE, sp_k),
            "start_date": _dates(sp_d),
            "end_date": _dates(sp_e, sp_e > end),
            "weekly_hours": pa.array(sp_h, pa.float64(), from_pandas=True),
            "weekly_cost": pa.array(
                np.where(with_cost, wk_cost, np.nan), pa.float64(), from_pandas=True
            ),
        }
    )
    # care placements: LA-funded residents (from before the span and new) and respite stays
    res = np.flatnonzero(ctx.in_home & ctx.ch_funded & (ctx.ch_start <= np.minimum(death, end)))
    c_start = ctx.ch_start[res]
    c_end = death[res]
    nursing = ctx.ch_nursing[res]
    old_frail = np.flatnonzero(
        ((end - ctx.dob) / YEAR >= 75)
        & (rng.random(n) < 0.004 * (end - ctx.start + 1) / YEAR * np.exp(0.6 * ctx.z))
    )
    rs_start = ctx.start + np.floor(rng.random(old_frail.shape[0]) * (end - ctx.start + 1)).astype(
        np.int64
    )
    ok = (
        (rs_start <= death[old_frail])
        & (rs_start >= ctx.dob[old_frail])
        & (rs_start < ctx.ch_start[old_frail])
    )
    old_frail, rs_start = old_frail[ok], rs_start[ok]
    rs_end = np.minimum(rs_start + rng.integers(7, 28, rs_start.shape[0]), death[old_frail])
    pl_p = np.concatenate([res, old_frail])
    pl_s = np.concatenate([c_start, rs_start])
    pl_e = np.concatenate([c_end, rs_end])
    pl_nurs = np.concatenate([nursing, np.zeros(old_frail.shape[0], dtype=bool)])
    perm = np.concatenate([np.ones(res.shape[0], bool), np.zeros(old_frail.shape[0], bool)])
    npl = pl_p.shape[0]
    base_cost = np.where(pl_nurs, 1200.0, 950.0) * rng.uniform(0.9, 1.15, npl)
    pl_cost = np.round(base_cost * P.NET_OF_CONTRIBUTIONS, 2)
    out["care_placements"] = pa.table(
        {
            "id": _ids("CPL", ctx.ci, npl),
            "nhs_number": ctx.person(pl_p),
            "local_authority_id": _rep(ctx.layout.la_id, npl),
            "care_home_id": _take(ctx.layout.care_home_ids, ctx.care_home[pl_p]),
            "placement_type": _take(("residential", "nursing"), pl_nurs.astype(np.int64)),
            "permanent": pa.array(perm),
            "start_date": _dates(pl_s),
            "end_date": _dates(pl_e, pl_e > end),
            "weekly_cost": pa.array(pl_cost, pa.float64(), from_pandas=True),
        }
    )
    # assessments: before each new service, placement or reablement; yearly reviews; others
    new_svc = h_d >= ctx.start
    a_p = [h_p[new_svc], pl_p[pl_s >= ctx.start], r_p]
    a_d = [h_d[new_svc], pl_s[pl_s >= ctx.start], r_d]
    a_p_all = np.concatenate(a_p)
    a_d_all = np.concatenate(a_d) - rng.integers(0, 21, a_p_all.shape[0])
    a_d_all = np.maximum(a_d_all, np.maximum(ctx.start, ctx.dob[a_p_all]))
    kinds = [np.zeros(a_p_all.shape[0], np.int64)]
    outcomes = [np.zeros(a_p_all.shape[0], np.int64)]
    # yearly reviews of home care
    rv_count = np.maximum((np.minimum(h_end, end) - np.maximum(h_d, ctx.start)) // 365, 0)
    rv_rep = np.repeat(np.arange(nh), rv_count)
    rv_k = np.arange(rv_rep.shape[0]) - np.repeat(np.cumsum(rv_count) - rv_count, rv_count)
    rv_day = np.maximum(h_d[rv_rep], ctx.start) + 365 * (rv_k + 1)
    ex_p, ex_d = assess.get("person"), assess.get("day")
    person = np.concatenate([a_p_all, h_p[rv_rep], ex_p])
    day = np.concatenate([a_d_all, rv_day, ex_d])
    kind_all = np.concatenate([*kinds, np.full(rv_rep.shape[0], 2), assess.get("kind")])
    outcome_all = np.concatenate(
        [*outcomes, np.zeros(rv_rep.shape[0], np.int64), assess.get("outcome")]
    )
    ok = (day <= np.minimum(death[person], end)) & (day >= ctx.dob[person])
    person, day, kind_all, outcome_all = person[ok], day[ok], kind_all[ok], outcome_all[ok]
    na = person.shape[0]
    out["social_care_assessments"] = pa.table(
        {
            "id": _ids("SCA", ctx.ci, na),
            "nhs_number": ctx.person(person),
            "local_authority_id": _rep(ctx.layout.la_id, na),
            "assessment_date": _dates(day),
            "assessment_type": _take(T.SOCIAL_CARE_ASSESSMENT, kind_all),
            "outcome": _take(T.SOCIAL_CARE_OUTCOME, outcome_all),
        }
    )
    return out


def _telehealth_table(ctx: _Ctx) -> pa.Table:
    rng = ctx.rng
    conds = P.CONDITION_NAMES
    end = ctx.end
    stop = np.minimum(ctx.death, end)
    hf = ctx.onset[:, conds.index("heart_failure")]
    copd = ctx.onset[:, conds.index("copd")]
    dm = ctx.onset[:, conds.index("diabetes")]
    first = np.minimum(np.minimum(hf, copd), dm)
    eligible = (first <= stop) & ((stop - ctx.dob) / YEAR >= 40)
    idx = np.flatnonzero(eligible & (rng.random(ctx.n) < P.TELEHEALTH_SHARE))
    lo = np.maximum(np.maximum(first[idx], ctx.start), ctx.dob[idx] + int(40 * YEAR))
    hi = stop[idx]
    keep = hi >= lo
    idx, lo, hi = idx[keep], lo[keep], hi[keep]
    t0 = lo + np.floor(rng.random(idx.shape[0]) * (hi - lo + 1)).astype(np.int64)
    t1 = np.minimum(t0 + rng.integers(90, 366, idx.shape[0]), hi)
    group = np.where(hf[idx] <= t0, 0, np.where(copd[idx] <= t0, 1, 2))
    # measures per group: (measure index, device index, unit, mean, sd)
    measures = (
        ("weight", "weighing_scale", "kg", 82.0, 0.8),
        ("systolic_bp", "blood_pressure_monitor", "mm[Hg]", 132.0, 9.0),
        ("diastolic_bp", "blood_pressure_monitor", "mm[Hg]", 76.0, 6.0),
        ("heart_rate", "pulse_oximeter", "/min", 74.0, 7.0),
        ("spo2", "pulse_oximeter", "%", 94.0, 1.5),
        ("blood_glucose", "glucometer", "mmol/L", 8.0, 1.8),
    )
    sets = {0: (0, 1, 2, 3), 1: (4, 3), 2: (5,)}
    persons: list[Arr] = []
    days: list[Arr] = []
    meas: list[Arr] = []
    n_read = (t1 - t0) // 2 + 1
    rep = np.repeat(np.arange(idx.shape[0]), n_read)
    k = np.arange(rep.shape[0]) - np.repeat(np.cumsum(n_read) - n_read, n_read)
    r_day = t0[rep] + 2 * k
    for g, ms in sets.items():
        sel = group[rep] == g
        for m_i in ms:
            persons.append(rep[sel])
            days.append(r_day[sel])
            meas.append(np.full(int(sel.sum()), m_i))
    r = np.concatenate(persons)
    day = np.concatenate(days)
    mix = np.concatenate(meas)
    m = r.shape[0]
    means = np.array([x[3] for x in measures])
    sds = np.array([x[4] for x in measures])
    offset = rng.normal(0, 1, (idx.shape[0], len(measures))) * sds[None, :] * 2
    value = means[mix] + offset[r, mix] + rng.normal(0, 1, m) * sds[mix]
    value = np.where(mix == 4, np.clip(value, 80, 100), value)
    value = np.round(value, 1)
    secs = day.astype(np.int64) * 86400 + rng.integers(7 * 3600, 21 * 3600, m)
    person = idx[r]
    return pa.table(
        {
            "id": _ids("TEL", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "device": _take([x[1] for x in measures], mix),
            "measure": _take([x[0] for x in measures], mix),
            "value": pa.array(value, pa.float64()),
            "unit": _take([x[2] for x in measures], mix),
            "recorded_at": pa.array(secs * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
        }
    )


# --- Driver -------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _workers(n_chunks: int, wanted: int | None) -> int:
    """Worker processes: ``wanted``, else one per core (at most 2); never more than chunks."""
    if wanted is None:
        wanted = min(2, os.cpu_count() or 1)
    return max(1, min(wanted, n_chunks))


def _chunk_job(
    ci: int, people: int, numbers: Arr, layout: Layout, span: Span, seed: int
) -> dict[str, pa.Table]:
    lo, hi = ci * CHUNK, min(people, (ci + 1) * CHUNK)
    parts = generate_chunk(ci, lo, hi, numbers[lo:hi], layout, span, seed)
    return {t.name: conform(t, parts[t.name]) for t in OUTPUT_TABLES}


def _init_worker(
    people: int, numbers: Arr, layout: Layout, span: Span, seed: int, spool: str
) -> None:
    _WORKER.update(people=people, numbers=numbers, layout=layout, span=span, seed=seed, spool=spool)


def _worker_chunk(ci: int) -> dict[str, str]:
    """Generate chunk ``ci`` and hand it over as uncompressed Arrow IPC files in the spool
    directory (a memory copy; much cheaper than pickling through a pipe)."""
    w = _WORKER
    parts = _chunk_job(ci, w["people"], w["numbers"], w["layout"], w["span"], w["seed"])
    paths: dict[str, str] = {}
    for name, table in parts.items():
        path = os.path.join(w["spool"], f"chunk-{ci:05d}-{name}.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        paths[name] = path
    return paths


def _write_parts(writers: dict[str, pq.ParquetWriter], parts: dict[str, pa.Table]) -> None:
    for name, table in parts.items():
        writers[name].write_table(table)


def _write_spooled(writers: dict[str, pq.ParquetWriter], paths: dict[str, str]) -> None:
    for name, path in paths.items():
        with pa.memory_map(path) as source:
            writers[name].write_table(pa.ipc.open_file(source).read_all())
        os.remove(path)


def _spool_dir(out: Path) -> str:
    """A scratch directory for chunk hand-over: in shared memory when there is room."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 4 * 1024**3:
        return tempfile.mkdtemp(prefix="careweave-synth-", dir=shm)
    return tempfile.mkdtemp(prefix=".careweave-synth-", dir=out)


def generate(
    people: int,
    seed: int,
    start: dt.date,
    end: dt.date,
    out: Path,
    *,
    progress: bool = False,
    workers: int | None = None,
) -> Manifest:
    """Write a synthetic dataset of ``people`` people over ``start``..``end`` to ``out``.

    Deterministic for ``seed``, whatever the number of ``workers`` (processes; default
    one per core, at most 2; the CLI passes CAREWEAVE_SYNTH_WORKERS from the settings). Every required canonical table is written as
    ``<table>.parquet`` (row groups of ``CHUNK`` people), then ``manifest.json``
    (source ``synth``). Returns the manifest.
    """
    if people < 1:
        raise InputError(f"--people: must be at least 1, got {people}")
    if end < start:
        raise InputError(f"--end: {end} is before --start {start}")
    if people > MAX_PEOPLE:
        raise InputError(
            f"--people: at most {MAX_PEOPLE:,} people (the synthetic NHS-number ranges "
            f"hold no more), got {people:,}"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    layout = build_layout(people, seed)
    span = Span(_days(start), _days(end), span_periods(start, end))
    numbers = synthetic_number_ints(people)
    condition_intercepts()
    n_chunks = -(-people // CHUNK)
    writers: dict[str, pq.ParquetWriter] = {}
    tmp_paths: dict[str, Path] = {}
    for t in OUTPUT_TABLES:
        tmp = out / f".{t.name}.parquet.tmp"
        tmp_paths[t.name] = tmp
        writers[t.name] = pq.ParquetWriter(
            tmp, t.arrow_schema.remove_metadata(), compression="zstd"
        )

    advance: Callable[[], None] = lambda: None  # noqa: E731
    bar: Any = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("synth"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            TimeElapsedColumn(),
        )
        bar.start()
        task = bar.add_task("synth", total=n_chunks)

        def advance() -> None:
            bar.advance(task)

    workers = _workers(n_chunks, workers)
    try:
        if workers <= 1:
            for ci in range(n_chunks):
                _write_parts(writers, _chunk_job(ci, people, numbers, layout, span, seed))
                advance()
        else:
            import concurrent.futures as cf
            import multiprocessing as mp
            import shutil

            spool = _spool_dir(out)
            try:
                with cf.ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=mp.get_context("fork"),
                    initializer=_init_worker,
                    initargs=(people, numbers, layout, span, seed, spool),
                ) as pool:
                    pending: list[cf.Future[dict[str, str]]] = []
                    next_ci = 0
                    while next_ci < n_chunks or pending:
                        while next_ci < n_chunks and len(pending) < workers + 1:
                            pending.append(pool.submit(_worker_chunk, next_ci))
                            next_ci += 1
                        _write_spooled(writers, pending.pop(0).result())
                        advance()
            finally:
                shutil.rmtree(spool, ignore_errors=True)
    finally:
        for wr in writers.values():
            wr.close()
        if bar is not None:
            bar.stop()
    for t in OUTPUT_TABLES:
        os.replace(tmp_paths[t.name], out / f"{t.name}.parquet")
    write_table(out, T.ORGANISATIONS, layout.organisations)
    manifest = Manifest(
        source="synth",
        span_start=start,
        span_end=end,
        parameters={
            "people": people,
            "seed": seed,
            "generator": "careweave.synth/1",
            "chunk": CHUNK,
        },
    )
    write_manifest(out, manifest)
    return manifest
