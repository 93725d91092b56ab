"""People and registration: age and sex from the census structure (with births
during the span), ethnic group, small area and deprivation, the latent health
factors; deaths year by year; the people table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from careweave.synth import params as P
from careweave.synth.core import (
    YEAR,
    Arr,
    Ctx,
    People,
    Period,
    Span,
    choose,
    const,
    dates,
    take,
)
from careweave.synth.layout import Layout
from careweave.synth.params import records as R


@dataclass
class Demography:
    """Who the chunk's people are (before any health state)."""

    n: int
    prac: Arr
    loc: Arr
    dob: Arr
    born_later: Arr
    female: Arr
    male: Arr
    eth: Arr
    lsoa: Arr
    area_unknown: Arr
    decile: Arr
    depterm: Arr
    z: Arr
    w: Arr
    u: Arr


def female_share(age: Arr) -> Arr:
    out = np.full(age.shape, P.FEMALE_SHARE[0][1])
    for a, share in P.FEMALE_SHARE[1:]:
        out = np.where(age >= a, share, out)
    return out


def sample_ages(rng: np.random.Generator, n: int, births: float) -> Arr:
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


def sample_people(
    rng: np.random.Generator, lo: int, hi: int, layout: Layout, span: Span
) -> Demography:
    """People ``lo``..``hi - 1``: practice, birth, sex, ethnicity, area, latent factors."""
    n = hi - lo
    start, end = span.start, span.end
    span_years = (end - start + 1) / YEAR
    prac = np.searchsorted(layout.practice_end, np.arange(lo, hi), side="right")
    loc = layout.practice_locality[prac]
    age0 = sample_ages(rng, n, births=min(P.MAX_BIRTH_SHARE, P.BIRTH_RATE * span_years))
    born_later = age0 < 0
    dob = np.where(
        born_later,
        start + np.floor(rng.random(n) * (end - start + 1)).astype(np.int64),
        start - np.floor(np.maximum(age0, 0) * YEAR).astype(np.int64) - 1,
    ).astype(np.int64)
    female = rng.random(n) < female_share(np.maximum(age0, 0))
    male = (~female).astype(np.float64)
    eth = choose(rng, n, [s for _, s in P.ETHNIC_SHARES])
    lsoa = layout.lsoa_start[prac] + np.floor(rng.random(n) * layout.lsoa_count[prac]).astype(
        np.int64
    )
    area_unknown = rng.random(n) < P.UNKNOWN_AREA_SHARE
    decile = layout.lsoa_decile[lsoa]
    depterm = np.where(area_unknown, 0.0, (5.5 - decile) / 9.0)
    z = rng.normal(size=n)  # frailty / general ill health
    w = rng.normal(size=n)  # cardiometabolic
    u = rng.normal(0.0, P.PERSON_SD, size=n)  # unobserved propensity to be admitted
    return Demography(
        n=n,
        prac=prac,
        loc=loc,
        dob=dob,
        born_later=born_later,
        female=female,
        male=male,
        eth=eth,
        lsoa=lsoa,
        area_unknown=area_unknown,
        decile=decile,
        depterm=depterm,
        z=z,
        w=w,
        u=u,
    )


def deaths(
    rng: np.random.Generator, people: People, per: Period, beta_death: Arr, n_em: Arr
) -> None:
    """Draw the period's deaths (a proportional hazard on age, conditions, frailty,
    care-home residence, this period's emergency admissions, deprivation) into
    ``people.death``."""
    d = P.DEATH
    lh = (
        P.DEATH_BASE
        + P.DEATH_AGE_SLOPE * (per.age - d.centre_age)
        + per.active @ beta_death
        + d.frailty * people.z
        + d.care_home * people.in_home
        + d.emergency * np.log1p(n_em)
        + d.deprivation * people.depterm
    )
    die = per.present & (rng.random(people.n) < 1.0 - np.exp(-np.exp(lh) * per.expo))
    dday = per.es + np.floor(rng.random(people.n) * per.length).astype(np.int64)
    people.death = np.where(die, dday, people.death)
    per.die = die


def people_table(
    ctx: Ctx,
    nhs: Arr,
    eth: Arr,
    female: Arr,
    lsoa: Arr,
    area_unknown: Arr,
    decile: Arr,
    born_later: Arr,
) -> pa.Table:
    rng, n = ctx.rng, ctx.n
    reg_gap = np.floor(rng.exponential(R.REGISTRATION.mean_years, n) * YEAR).astype(np.int64)
    reg_from = np.where(
        born_later | (rng.random(n) < R.REGISTRATION.since_birth_share),
        ctx.dob,
        np.maximum(ctx.dob, ctx.start - reg_gap),
    )
    resident = ctx.in_home & (ctx.ch_start <= np.minimum(ctx.death, ctx.end))
    return pa.table(
        {
            "nhs_number": pc.cast(pa.array(nhs), pa.string()),
            "date_of_birth": dates(ctx.dob),
            "sex": take(("female", "male"), np.where(female, 0, 1)),
            "ethnic_group": take([e for e, _ in P.ETHNIC_SHARES], eth),
            "small_area": pa.array(
                take(ctx.layout.lsoa_ids, lsoa).to_numpy(zero_copy_only=False),
                pa.string(),
                mask=area_unknown,
            ),
            "deprivation_decile": pa.array(decile.astype(np.int16), pa.int16(), mask=area_unknown),
            "practice_id": ctx.practice(np.arange(n)),
            "local_authority_id": const(ctx.layout.la_id, n),
            "registered_from": dates(reg_from),
            "registered_to": dates(ctx.death),
            "care_home_resident": pa.array(resident),
            "date_of_death": dates(ctx.death),
            "source_id": const(None, n),
        }
    )
