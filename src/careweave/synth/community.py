"""Community health (district nursing, therapies, palliative care, ...) and
secondary mental-health contacts, year by year, and their tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from careweave.dataset import tables as T
from careweave.synth import params as P
from careweave.synth.core import (
    YEAR,
    Arr,
    Ctx,
    People,
    Period,
    Rows,
    choose,
    const,
    dates,
    row_ids,
    spread,
    take,
)
from careweave.synth.params import records as R


def community_contacts(rng: np.random.Generator, people: People, per: Period, rows: Rows) -> None:
    """Community health contacts of adults: older, frailer, with more conditions,
    in a care home or lately admitted means more."""
    c = P.COMMUNITY
    age = per.age
    frail_now = (
        c.age * np.clip(age - c.centre_age, -c.age_clip, c.age_clip)
        + c.frailty * people.z
        + c.conditions * per.ncond
    )
    lam_co = np.exp(
        P.COMMUNITY_BASE
        + frail_now
        + c.care_home * people.in_home
        + c.prior_admissions * np.log1p(people.prev_em)
    )
    lam_co = np.where(age >= c.adult_age, lam_co, c.child_rate)
    k_idx, k_day = spread(rng, rng.poisson(lam_co * per.alive_expo), per.es, per.win_end)
    rows.add(person=k_idx, day=k_day)


def mental_health_contacts(
    rng: np.random.Generator, people: People, per: Period, rows: Rows
) -> None:
    """Secondary mental-health contacts: serious mental illness (mostly the community
    team), recent dementia (memory clinic), depression (talking therapies), a few others."""
    m = P.MENTAL_HEALTH
    names = P.CONDITION_NAMES
    active, onset = per.active, people.onset
    dem = names.index("dementia")
    smi = active[:, names.index("smi")]
    depn = active[:, names.index("depression")]
    recent_dem = active[:, dem] & (onset[:, dem] >= per.p0 - int(m.recent_dementia_years * YEAR))
    lam_mh = smi * m.smi + recent_dem * m.recent_dementia + depn * m.depression + m.base
    h_idx, h_day = spread(rng, rng.poisson(lam_mh * per.alive_expo), per.es, per.win_end)
    svc_mh = np.where(
        smi[h_idx],
        choose(rng, h_idx.shape[0], m.smi_services),
        np.where(recent_dem[h_idx], 2, np.where(depn[h_idx], 3, 1)),
    )
    rows.add(person=h_idx, day=h_day, service=svc_mh)


def community_table(ctx: Ctx, rows: Rows) -> pa.Table:
    rng = ctx.rng
    person, day = rows.get("person"), rows.get("day")
    m = person.shape[0]
    c = R.CONTACTS
    service = choose(rng, m, c.community_services)
    pall = ctx.future_death[person] - day < c.palliative_days
    service = np.where(pall & (rng.random(m) < c.palliative_share), 6, service)
    mode = choose(rng, m, c.community_modes)
    return _contacts(
        ctx, "COM", ctx.layout.community_id, T.COMMUNITY_SERVICE, person, day, service, mode
    )


def mh_table(ctx: Ctx, rows: Rows) -> pa.Table:
    person, day, service = rows.get("person"), rows.get("day"), rows.get("service")
    mode = choose(ctx.rng, person.shape[0], R.CONTACTS.mental_health_modes)
    return _contacts(
        ctx, "MHC", ctx.layout.mental_health_id, T.MENTAL_HEALTH_SERVICE, person, day, service, mode
    )


def _contacts(
    ctx: Ctx,
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
            "id": row_ids(prefix, ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": const(provider_id, m),
            "contact_date": dates(day),
            "service": take(services, service),
            "mode": take(T.CONTACT_MODE, mode),
            "cost": pa.nulls(m, pa.float64()),
        }
    )
