"""Social care and reablement: care-home residents at the start and permanent
admissions (often straight from a hospital discharge), reablement after an
emergency discharge home, home care and other community services,
assessments and reviews; the social-care tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from careweave.dataset import tables as T
from careweave.synth import params as P
from careweave.synth.core import (
    NEVER,
    YEAR,
    Arr,
    Ctx,
    People,
    Period,
    Rows,
    Span,
    choose,
    const,
    dates,
    row_ids,
    sig,
    spread,
    take,
)
from careweave.synth.hospital import Stays
from careweave.synth.layout import Layout
from careweave.synth.params import records as R


@dataclass
class CareHomes:
    """Care-home residence at the start of the span and each person's local home."""

    in_home: Arr
    ch_start: Arr
    care_home: Arr
    ch_nursing: Arr
    ch_funded: Arr


def care_homes_at_start(
    rng: np.random.Generator,
    span: Span,
    layout: Layout,
    loc: Arr,
    dob: Arr,
    z: Arr,
    dementia_onset: Arr,
) -> CareHomes:
    """Who lives in a care home on the first day (65+), which home, since when, how funded."""
    n, start = dob.shape[0], span.start
    h = P.CARE_HOME_RESIDENT
    age_start = (start - dob) / YEAR
    old = age_start >= h.min_age
    dem0 = dementia_onset <= start
    p_res = sig(
        P.CARE_HOME_RESIDENT_BASE
        + h.age * (age_start - h.centre_age)
        + h.dementia * dem0
        + h.frailty * z
    )
    in_home = old & (rng.random(n) < p_res)
    home_of_loc = [
        np.flatnonzero(layout.care_home_locality == li)
        for li in range(len(layout.locality_hospital))
    ]
    ch_first = np.array([x[0] for x in home_of_loc])
    ch_count = np.array([len(x) for x in home_of_loc])
    care_home = ch_first[loc] + np.floor(rng.random(n) * ch_count[loc]).astype(np.int64)
    ch_start = np.where(
        in_home,
        start - 1 - np.floor(rng.random(n) * P.CARE_HOME_STAY_YEARS * YEAR).astype(np.int64),
        NEVER,
    )
    ch_start = np.where(in_home, np.maximum(ch_start, dob + int(h.min_age * YEAR)), NEVER)
    ch_nursing = np.asarray(rng.random(n) < P.NURSING_HOME_SHARE)
    ch_funded = np.asarray(rng.random(n) < P.LA_FUNDED_SHARE)
    return CareHomes(in_home, ch_start, care_home, ch_nursing, ch_funded)


def _older_starts(
    rng: np.random.Generator, h: P.OlderPersonHazard, base: float, people: People, per: Period
) -> tuple[Arr, Arr]:
    """Who starts something this period (``h.min_age``+, not in a care home) on the
    hazard ``base`` + ``h``'s terms (added in ``h.terms`` order), and on what day."""
    age = per.age
    terms = {
        "age": h.age * (age - h.centre_age),
        "dementia": h.dementia * per.active[:, P.CONDITION_NAMES.index("dementia")],
        "frailty": h.frailty * people.z,
        "prior_admissions": h.prior_admissions * np.log1p(people.prev_em),
    }
    lp: Arr | float = base
    for name in h.terms:
        lp = lp + terms[name]
    p = 1.0 - np.exp(-np.exp(lp) * per.alive_expo)
    n = people.n
    start = per.present & (age >= h.min_age) & ~people.in_home & (rng.random(n) < p)
    day = per.es + np.floor(rng.random(n) * (per.win_end - per.es + 1)).astype(np.int64)
    return start, day


def care_home_admissions(
    rng: np.random.Generator, people: People, per: Period, em: Stays, end: int
) -> None:
    """Permanent care-home admissions this period (65+ at home), often the day of the
    last discharge alive from an emergency spell, whose destination becomes care_home."""
    n = people.n
    enter, enter_day = _older_starts(
        rng, P.CARE_HOME_ADMISSION, P.CARE_HOME_ADMISSION_BASE, people, per
    )
    # from hospital: the last discharge alive this period
    alive_dis = (em.dest == 0) & (em.dis <= end)
    order = np.lexsort((em.dis, em.idx))
    last_of = np.full(n, -1)
    cand = order[alive_dis[order]]
    last_of[em.idx[cand]] = cand
    via_spell = enter & (last_of >= 0)
    enter_day = np.where(via_spell, em.dis[np.maximum(last_of, 0)], enter_day)
    em.dest[last_of[via_spell]] = 1
    people.in_home = people.in_home | enter
    people.ch_start = np.where(enter, enter_day, people.ch_start)


def reablement_offers(
    rng: np.random.Generator, people: People, per: Period, em: Stays, end: int, rows: Rows
) -> None:
    """Reablement offered after an emergency discharge home (65+), more to the frail."""
    r = P.REABLEMENT
    home_dis = (em.dest == 0) & (em.dis < end) & (per.age[em.idx] >= r.min_age)
    offer = home_dis & (
        rng.random(em.idx.shape[0])
        < np.clip(P.REABLEMENT_OFFER * np.exp(r.frailty * people.z[em.idx]), 0, r.max_offer)
    )
    rows.add(person=em.idx[offer], day=em.dis[offer])


def new_home_care(rng: np.random.Generator, people: People, per: Period, rows: Rows) -> None:
    """Home-care packages (and other community services) starting this period, 65+ at home."""
    new_hc, hc_day = _older_starts(rng, P.HOME_CARE, P.HOME_CARE_BASE, people, per)
    rows.add(person=np.flatnonzero(new_hc), day=hc_day[new_hc])


def other_assessments(rng: np.random.Generator, people: People, per: Period, rows: Rows) -> None:
    """Assessments that lead to no service (needs or carer's; no services or signposted)."""
    a = P.ASSESSMENTS
    lam_as = np.where(
        per.age >= a.older_age, a.older_rate * np.exp(a.frailty * people.z), a.younger_rate
    )
    x_idx, x_day = spread(rng, rng.poisson(lam_as * per.alive_expo), per.es, per.win_end)
    rows.add(
        person=x_idx,
        day=x_day,
        kind=np.where(rng.random(x_idx.shape[0]) < a.needs_share, 0, 1),  # needs, carer
        outcome=1 + choose(rng, x_idx.shape[0], a.outcomes),  # no_services, signposted
    )


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


def social_tables(
    ctx: Ctx,
    reab: Rows,
    svc: Rows,
    assess: Rows,
    spells_tbl: pa.Table,
    spells: Rows,
) -> dict[str, pa.Table]:
    """The four social-care tables, built in the fixed order of their random draws."""
    out: dict[str, pa.Table] = {}
    out["reablement_episodes"], r_p, r_d = _reablement(ctx, reab, spells_tbl, spells)
    out["social_care_services"], home_care = _services(ctx, svc)
    out["care_placements"], pl_p, pl_s = _placements(ctx)
    out["social_care_assessments"] = _assessments(ctx, assess, home_care, (pl_p, pl_s), (r_p, r_d))
    return out


def _reablement(
    ctx: Ctx, reab: Rows, spells_tbl: pa.Table, spells: Rows
) -> tuple[pa.Table, Arr, Arr]:
    """Reablement episodes, linked to the spell they follow, with the 91-day outcome."""
    rng, end, death = ctx.rng, ctx.end, ctx.death
    sc = R.SOCIAL_CARE
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
    happens, r_end = reablement_after_discharge(
        r_d, r_d + rng.integers(*sc.reablement_days, nr), death[r_p]
    )
    age = ctx.age_at(r_p, r_d)
    p_home = sig(
        P.REABLEMENT_HOME_BASE
        - sc.home_frailty * ctx.z[r_p]
        - sc.home_age * (age - sc.home_centre_age)
    )
    home = rng.random(nr) < p_home
    day91 = r_d + sc.outcome_days
    died91 = death[r_p] <= day91
    to_home = (ctx.ch_start[r_p] > r_d) & (ctx.ch_start[r_p] <= day91)
    at_home = home & ~died91 & ~to_home
    unknown = day91 > end
    table = pa.table(
        {
            "id": row_ids("REA", ctx.ci, nr),
            "nhs_number": ctx.person(r_p),
            "local_authority_id": const(ctx.layout.la_id, nr),
            "spell_id": s_ids.take(pa.array(spell_row.astype(np.int64))),
            "start_date": dates(r_d),
            "end_date": dates(r_end, r_end > end),
            "at_home_91d": pa.array(at_home, pa.bool_(), mask=unknown),
        }
    ).filter(pa.array(happens))
    return table, r_p, r_d


def _services(ctx: Ctx, svc: Rows) -> tuple[pa.Table, tuple[Arr, Arr, Arr]]:
    """Home care (stock at the start and new packages) and the services that go with it.

    Returns the table and the home-care packages (person, start, end) for reviews."""
    rng, end, death = ctx.rng, ctx.end, ctx.death
    sc = R.SOCIAL_CARE
    # home-care packages: those present at the start and those started in the span
    n = ctx.n
    age0 = (ctx.start - ctx.dob) / YEAR
    dem0 = ctx.onset[:, P.CONDITION_NAMES.index("dementia")] <= ctx.start
    stock = (
        (age0 >= 65)
        & ~(ctx.in_home & (ctx.ch_start <= ctx.start))
        & (
            rng.random(n)
            < sig(
                P.HOME_CARE_BASE
                + sc.stock_offset
                + sc.stock_age * (age0 - sc.stock_centre_age)
                + sc.stock_frailty * ctx.z
                + sc.stock_dementia * dem0
            )
        )
    )
    st_p = np.flatnonzero(stock)
    st_d = (
        ctx.start - 1 - np.floor(rng.random(st_p.shape[0]) * sc.stock_years * YEAR).astype(np.int64)
    )
    st_d = np.maximum(st_d, ctx.dob[st_p])
    h_p = np.concatenate([st_p, svc.get("person")])
    h_d = np.concatenate([st_d, svc.get("day")])
    dur = (
        np.floor(rng.exponential(sc.mean_years, h_p.shape[0]) * YEAR).astype(np.int64) + sc.min_days
    )
    h_end = np.minimum(h_d + dur, death[h_p])
    h_end = np.minimum(h_end, np.where(ctx.ch_start[h_p] > h_d, ctx.ch_start[h_p], NEVER))
    keep = h_end >= ctx.start - 1
    h_p, h_d, h_end = h_p[keep], h_d[keep], h_end[keep]
    nh = h_p.shape[0]
    hours = np.clip(
        np.rint(np.exp(rng.normal(np.log(P.HOME_CARE_HOURS_MEDIAN), sc.hours_sd, nh))),
        *sc.hours_range,
    )
    kind = np.where(
        rng.random(nh) < sc.direct_payment_share, 2, 0
    )  # some take a direct payment instead
    extras_p: list[Arr] = []
    extras_d: list[Arr] = []
    extras_e: list[Arr] = []
    extras_k: list[Arr] = []
    for code, prob in sc.alongside:
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
    with_cost = (sp_k == 0) & (rng.random(ns) < sc.costed_share)
    wk_cost = np.round(sp_h * sc.hourly_cost * rng.uniform(*sc.cost_spread, ns), 2)
    table = pa.table(
        {
            "id": row_ids("SCS", ctx.ci, ns),
            "nhs_number": ctx.person(sp_p),
            "local_authority_id": const(ctx.layout.la_id, ns),
            "service_type": take(T.SOCIAL_CARE_SERVICE, sp_k),
            "start_date": dates(sp_d),
            "end_date": dates(sp_e, sp_e > end),
            "weekly_hours": pa.array(sp_h, pa.float64(), from_pandas=True),
            "weekly_cost": pa.array(
                np.where(with_cost, wk_cost, np.nan), pa.float64(), from_pandas=True
            ),
        }
    )
    return table, (h_p, h_d, h_end)


def _placements(ctx: Ctx) -> tuple[pa.Table, Arr, Arr]:
    """Care placements: LA-funded residents (from before the span and new), respite."""
    rng, end, death, n = ctx.rng, ctx.end, ctx.death, ctx.n
    sc = R.SOCIAL_CARE
    # care placements: LA-funded residents (from before the span and new) and respite stays
    res = np.flatnonzero(ctx.in_home & ctx.ch_funded & (ctx.ch_start <= np.minimum(death, end)))
    c_start = ctx.ch_start[res]
    c_end = death[res]
    nursing = ctx.ch_nursing[res]
    old_frail = np.flatnonzero(
        ((end - ctx.dob) / YEAR >= sc.respite_age)
        & (
            rng.random(n)
            < sc.respite_rate * (end - ctx.start + 1) / YEAR * np.exp(sc.respite_frailty * ctx.z)
        )
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
    rs_end = np.minimum(
        rs_start + rng.integers(*sc.respite_days, rs_start.shape[0]), death[old_frail]
    )
    pl_p = np.concatenate([res, old_frail])
    pl_s = np.concatenate([c_start, rs_start])
    pl_e = np.concatenate([c_end, rs_end])
    pl_nurs = np.concatenate([nursing, np.zeros(old_frail.shape[0], dtype=bool)])
    perm = np.concatenate([np.ones(res.shape[0], bool), np.zeros(old_frail.shape[0], bool)])
    npl = pl_p.shape[0]
    base_cost = np.where(pl_nurs, sc.nursing_weekly, sc.residential_weekly) * rng.uniform(
        *sc.cost_spread, npl
    )
    pl_cost = np.round(base_cost * P.NET_OF_CONTRIBUTIONS, 2)
    table = pa.table(
        {
            "id": row_ids("CPL", ctx.ci, npl),
            "nhs_number": ctx.person(pl_p),
            "local_authority_id": const(ctx.layout.la_id, npl),
            "care_home_id": take(ctx.layout.care_home_ids, ctx.care_home[pl_p]),
            "placement_type": take(("residential", "nursing"), pl_nurs.astype(np.int64)),
            "permanent": pa.array(perm),
            "start_date": dates(pl_s),
            "end_date": dates(pl_e, pl_e > end),
            "weekly_cost": pa.array(pl_cost, pa.float64(), from_pandas=True),
        }
    )
    return table, pl_p, pl_s


def _assessments(
    ctx: Ctx,
    assess: Rows,
    home_care: tuple[Arr, Arr, Arr],
    placements: tuple[Arr, Arr],
    reablement: tuple[Arr, Arr],
) -> pa.Table:
    """Assessments before each new service, placement or reablement; yearly reviews
    of home care; the others drawn year by year."""
    rng, end, death = ctx.rng, ctx.end, ctx.death
    sc = R.SOCIAL_CARE
    h_p, h_d, h_end = home_care
    pl_p, pl_s = placements
    r_p, r_d = reablement
    nh = h_p.shape[0]
    # assessments: before each new service, placement or reablement; yearly reviews; others
    new_svc = h_d >= ctx.start
    a_p = [h_p[new_svc], pl_p[pl_s >= ctx.start], r_p]
    a_d = [h_d[new_svc], pl_s[pl_s >= ctx.start], r_d]
    a_p_all = np.concatenate(a_p)
    a_d_all = np.concatenate(a_d) - rng.integers(0, sc.assessment_lead_days, a_p_all.shape[0])
    a_d_all = np.maximum(a_d_all, np.maximum(ctx.start, ctx.dob[a_p_all]))
    kinds = [np.zeros(a_p_all.shape[0], np.int64)]
    outcomes = [np.zeros(a_p_all.shape[0], np.int64)]
    # yearly reviews of home care
    rv_count = np.maximum(
        (np.minimum(h_end, end) - np.maximum(h_d, ctx.start)) // sc.review_days, 0
    )
    rv_rep = np.repeat(np.arange(nh), rv_count)
    rv_k = np.arange(rv_rep.shape[0]) - np.repeat(np.cumsum(rv_count) - rv_count, rv_count)
    rv_day = np.maximum(h_d[rv_rep], ctx.start) + sc.review_days * (rv_k + 1)
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
    return pa.table(
        {
            "id": row_ids("SCA", ctx.ci, na),
            "nhs_number": ctx.person(person),
            "local_authority_id": const(ctx.layout.la_id, na),
            "assessment_date": dates(day),
            "assessment_type": take(T.SOCIAL_CARE_ASSESSMENT, kind_all),
            "outcome": take(T.SOCIAL_CARE_OUTCOME, outcome_all),
        }
    )
