"""Hospital activity: emergency admissions (with deaths in hospital and
readmissions), elective and maternity spells, A&E attendances and outpatient
appointments, year by year; the A&E and outpatient tables (spells:
:mod:`careweave.synth.spells`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from careweave.synth import codes as C
from careweave.synth import params as P
from careweave.synth.core import (
    NEVER,
    Arr,
    Ctx,
    People,
    Period,
    Rows,
    choose,
    curve,
    dates,
    no_overlap,
    outside,
    row_ids,
    sig,
    spread,
    take,
)
from careweave.synth.params import records as R


@dataclass
class Stays:
    """The period's emergency spells: person, admission, discharge, destination code
    (0 home, 1 care_home, 2 other_hospital, 3 died, 4 other)."""

    idx: Arr
    adm: Arr
    dis: Arr
    dest: Arr


def stay_length(rng: np.random.Generator, age: Arr) -> Arr:
    zero = rng.random(age.shape[0]) < np.where(
        age >= 65, P.ZERO_DAY_SHARE_OLD, P.ZERO_DAY_SHARE_YOUNG
    )
    s = R.STAY_LENGTH
    mu = np.log(s.base + s.slope * np.clip(age - s.from_age, 0, s.age_span))
    los = np.ceil(np.exp(rng.normal(mu, s.sd)))
    return np.where(zero, 0, np.clip(los, 1, s.max_days)).astype(np.int64)


def emergency_count(
    rng: np.random.Generator,
    people: People,
    per: Period,
    beta_em: Arr,
) -> Arr:
    """Each person's emergency admissions this period: Poisson on a log rate of age,
    conditions, frailty, deprivation, care-home residence, last period's admissions,
    personal propensity and yearly noise. Case management's effect is applied to
    the admissions on the days a person is enrolled, once they are placed in the
    period (:func:`emergency_spells`). Sets ``people.risk_rel``, ``people.record_risk`` and ``people.em_rate``."""
    lp_core = (
        P.EMERGENCY_BASE
        + curve(per.age, P.EMERGENCY_AGE)
        + per.active @ beta_em
        + P.FRAILTY_EFFECT * people.z
        + P.DEPRIVATION_EFFECT * 2 * people.depterm
        + P.CARE_HOME_EFFECT * people.in_home
        + P.PRIOR_ADMISSION_EFFECT * np.log1p(people.prev_em)
        + people.u
    )
    people.risk_rel = lp_core - P.EMERGENCY_BASE
    people.record_risk = (
        people.risk_rel
        - people.u
        - P.FRAILTY_EFFECT * people.z
        - P.PRIOR_ADMISSION_EFFECT * np.log1p(people.prev_em)
    )
    people.em_rate = np.exp(lp_core + rng.normal(0.0, P.YEAR_SD, size=people.n))
    return np.asarray(rng.poisson(people.em_rate * per.expo))


def emergency_spells(
    rng: np.random.Generator,
    people: People,
    per: Period,
    n_em: Arr,
    end: int,
    effect: Callable[[Arr, Arr], tuple[Arr, Arr]] | None = None,
) -> Stays:
    """The period's emergency spells: the admissions drawn (changed by ``effect``,
    case management's planted effect on the days enrolled), a last stay for those
    who die in hospital, and up to two rounds of readmissions; none inside another
    stay."""
    n, death, age = people.n, people.death, per.age
    idx, adm = spread(rng, np.where(per.present, n_em, 0), per.es, per.win_end)
    if effect is not None:
        idx, adm = effect(idx, adm)
    term = per.die & (rng.random(n) < P.DEATH_IN_HOSPITAL_SHARE)
    t_idx = np.flatnonzero(term)
    t_los = np.minimum(
        rng.geometric(1 / P.TERMINAL_STAY_MEAN_DAYS, size=t_idx.shape[0]) - 1,
        P.TERMINAL_STAY_MAX_DAYS,
    )
    t_adm = np.maximum(death[t_idx] - t_los, per.es[t_idx])
    e_idx = np.concatenate([idx, t_idx])
    e_adm = np.concatenate([adm, t_adm])
    e_dis = np.concatenate([e_adm[: idx.shape[0]] + stay_length(rng, age[idx]), death[t_idx]])
    rounds = [(e_idx, e_adm, e_dis)]
    cur_idx, cur_dis = e_idx, e_dis
    r = P.READMISSION
    for _ in range(r.rounds):
        ok = (cur_dis < death[cur_idx]) & (cur_dis < end)
        p_r = np.clip(
            P.READMIT_BASE * np.exp(r.risk * people.risk_rel[cur_idx]), 0.0, r.max_probability
        )
        hit = ok & (rng.random(cur_idx.shape[0]) < p_r)
        r_idx = cur_idx[hit]
        r_adm = (
            cur_dis[hit]
            + 1
            + np.floor(r.window_days * rng.random(r_idx.shape[0]) ** 2).astype(np.int64)
        )
        keep = r_adm <= per.win_end[r_idx]
        r_idx, r_adm = r_idx[keep], r_adm[keep]
        r_dis = r_adm + stay_length(rng, age[r_idx])
        rounds.append((r_idx, r_adm, r_dis))
        cur_idx, cur_dis = r_idx, r_dis
    s_idx = np.concatenate([x[0] for x in rounds])
    s_adm = np.concatenate([x[1] for x in rounds])
    s_dis = np.concatenate([x[2] for x in rounds])
    s_dis = np.minimum(s_dis, death[s_idx])
    # a person is in one bed at a time: drop spells that start inside an earlier one
    ix = no_overlap(s_idx, s_adm, s_dis, people.last_dis)
    s_idx, s_adm, s_dis = s_idx[ix], s_adm[ix], s_dis[ix]
    np.maximum.at(people.last_dis, s_idx, s_dis)
    died_in = s_dis >= death[s_idx]
    # 0 home, 1 care_home, 2 other_hospital, 3 died, 4 other
    other = np.array([0, 2, 4])[choose(rng, s_idx.shape[0], P.EMERGENCY_DESTINATIONS)]
    dest = np.where(died_in, 3, np.where(people.in_home[s_idx], 1, other))
    people.prev_em = np.bincount(s_idx, minlength=n)
    return Stays(s_idx, s_adm, s_dis, dest)


def ae_attendances(
    rng: np.random.Generator, people: People, per: Period, em: Stays, rows: Rows
) -> None:
    """A&E: most emergency admissions arrive through it, plus attendances not admitted."""
    a = P.AE
    via = np.asarray(rng.random(em.idx.shape[0]) < P.ADMITTED_VIA_AE)
    rows.add(person=em.idx[via], day=em.adm[via], disposal=np.zeros(int(via.sum()), np.int64))
    lam_ae = np.exp(
        P.AE_BASE
        + curve(per.age, P.AE_AGE)
        + a.risk * (people.risk_rel - people.u)
        + a.person * people.u
    )
    a_idx, a_day = spread(rng, rng.poisson(lam_ae * per.alive_expo), per.es, per.win_end)
    rows.add(
        person=a_idx,
        day=a_day,
        disposal=1 + choose(rng, a_idx.shape[0], a.disposals),
    )


def _planned_rate(
    base: float,
    knots: tuple[tuple[float, float], ...],
    e: P.ElectiveEffects | P.OutpatientEffects,
    people: People,
    per: Period,
) -> Arr:
    """Yearly rate of planned care: an age curve, conditions, cancer, propensity."""
    cancer = per.active[:, P.CONDITION_NAMES.index("cancer")]
    return np.asarray(
        np.exp(
            base
            + curve(per.age, knots)
            + e.conditions * per.ncond
            + e.cancer * cancer
            + e.person * people.u
        )
    )


def planned_spells(
    rng: np.random.Generator, people: People, per: Period, em: Stays, rows: Rows
) -> None:
    """Elective (day cases and stays) and maternity spells, none inside another stay."""
    e, m = P.ELECTIVE, P.MATERNITY
    age, es, win_end = per.age, per.es, per.win_end
    lam_el = _planned_rate(P.ELECTIVE_BASE, P.ELECTIVE_AGE, e, people, per)
    l_idx, l_adm = spread(rng, rng.poisson(lam_el * per.alive_expo), es, win_end)
    l_los = np.where(
        rng.random(l_idx.shape[0]) < e.day_case_share, 0, rng.geometric(e.stay_p, l_idx.shape[0])
    )
    l_dis = np.minimum(l_adm + l_los, win_end[l_idx])
    fert = np.where(
        people.female & (age >= m.min_age) & (age < m.max_age),
        m.peak_rate * np.exp(-(((age - m.peak_age) / m.width) ** 2)),
        0,
    )
    m_idx, m_adm = spread(rng, rng.poisson(fert * per.alive_expo), es, win_end)
    m_dis = np.minimum(m_adm + rng.integers(0, m.max_stay_days, m_idx.shape[0]), win_end[m_idx])
    # planned spells: none inside another spell of the same person
    pl_p = np.concatenate([l_idx, m_idx])
    pl_a = np.concatenate([l_adm, m_adm])
    pl_d = np.concatenate([l_dis, m_dis])
    pl_m = np.concatenate([np.ones(l_idx.shape[0], np.int64), np.full(m_idx.shape[0], 2)])
    ix = no_overlap(pl_p, pl_a, pl_d, people.last_dis)
    ix = ix[outside(em.idx, em.adm, em.dis, pl_p[ix], pl_a[ix], pl_d[ix])]
    pl_p, pl_a, pl_d, pl_m = pl_p[ix], pl_a[ix], pl_d[ix], pl_m[ix]
    np.maximum.at(people.last_dis, pl_p, pl_d)
    rows.add(
        person=pl_p,
        adm=pl_a,
        dis=pl_d,
        method=pl_m,
        dest=np.where((pl_m == 1) & people.in_home[pl_p], 1, 0),
    )


def outpatients(rng: np.random.Generator, people: People, per: Period, rows: Rows) -> None:
    """Outpatient appointments, with did-not-attends (more in deprived areas, fewer with age)."""
    o = P.OUTPATIENT
    age = per.age
    lam_op = _planned_rate(P.OUTPATIENT_BASE, P.OUTPATIENT_AGE, o, people, per)
    o_idx, o_day = spread(rng, rng.poisson(lam_op * per.alive_expo), per.es, per.win_end)
    p_dna = sig(
        np.log(P.DNA_BASE / (1 - P.DNA_BASE))
        + o.dna_deprivation * people.depterm[o_idx]
        - o.dna_age * (age[o_idx] - o.dna_centre_age)
    )
    r = rng.random(o_idx.shape[0])
    outcome = np.where(r < p_dna, 1, np.where(r < p_dna + P.CANCELLED_SHARE, 2, 0))
    rows.add(person=o_idx, day=o_day, outcome=outcome)


def ae_table(ctx: Ctx, rows: Rows) -> pa.Table:
    person, day, disp = rows.get("person"), rows.get("day"), rows.get("disposal")
    m = person.shape[0]
    return pa.table(
        {
            "id": row_ids("AE", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": ctx.hospital(person),
            "attendance_date": dates(day),
            "disposal": take(("admitted", "discharged", "referred", "left", "other"), disp),
            "cost": pa.nulls(m, pa.float64()),
        }
    )


def op_table(ctx: Ctx, rows: Rows) -> pa.Table:
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
    use_cond = (main_onset[person] <= day) & (rng.random(m) < R.OUTPATIENT_CONDITION_SHARE)
    spec = np.where(use_cond, cond_spec[main[person]], general)
    spec = np.where(ctx.age_at(person, day) < R.CHILD_AGE, spec_vocab.index("Paediatrics"), spec)
    return pa.table(
        {
            "id": row_ids("OPA", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": ctx.hospital(person),
            "appointment_date": dates(day),
            "specialty": take(spec_vocab, spec),
            "outcome": take(("attended", "did_not_attend", "cancelled"), outcome),
            "cost": pa.nulls(m, pa.float64()),
        }
    )
