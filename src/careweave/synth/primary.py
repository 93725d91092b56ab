"""Primary care: consultations, measurements (blood pressure, HbA1c, BMI and
weight, eGFR) and acute prescriptions year by year; repeat medicines over the
span; the contacts, observations and medications tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from careweave.dataset import tables as T
from careweave.synth import codes as C
from careweave.synth import params as P
from careweave.synth.core import (
    Arr,
    Ctx,
    People,
    Period,
    Rows,
    Vocab,
    choose,
    coded_columns,
    curve,
    dates,
    row_ids,
    spread,
    take,
)
from careweave.synth.params import records as R


def consultations(rng: np.random.Generator, people: People, per: Period, rows: Rows) -> None:
    """Contacts with the practice team: age curve, conditions, frailty, propensity."""
    c = P.PRIMARY_CARE
    lam_pc = np.exp(
        P.PRIMARY_CARE_BASE
        + curve(per.age, P.PRIMARY_CARE_AGE)
        + c.conditions * per.ncond
        + c.frailty * people.z
        + c.person * people.u
    )
    c_idx, c_day = spread(rng, rng.poisson(lam_pc * per.alive_expo), per.es, per.win_end)
    rows.add(person=c_idx, day=c_day)


def measurements(rng: np.random.Generator, per: Period, rows: Rows) -> None:
    """Measurement events (values are drawn when the table is built): more often
    with the conditions each measure monitors, by age otherwise."""
    age, active = per.age, per.active
    ci_of = {c: j for j, c in enumerate(P.CONDITION_NAMES)}
    r = P.MEASUREMENT_RATES
    chronic = active[:, [ci_of[c] for c in P.MONITORED_CONDITIONS]].any(axis=1)
    lam_bp = np.where(
        chronic,
        r.bp_chronic,
        np.where(age >= 40, r.bp_40, np.where(age >= 18, r.bp_18, 0.0)),
    )
    diab = active[:, ci_of["diabetes"]]
    ckd = active[:, ci_of["ckd"]]
    obese = active[:, ci_of["obesity"]]
    lam_a1c = np.where(diab, r.hba1c_diabetes, np.where(age >= 40, r.hba1c_40, 0.0))
    lam_bmi = np.where(obese, r.bmi_obese, np.where(age >= 18, r.bmi_18, 0.0))
    lam_egfr = np.where(
        ckd,
        r.egfr_ckd,
        np.where(
            chronic,
            r.egfr_chronic,
            np.where(age >= 65, r.egfr_65, np.where(age >= 18, r.egfr_18, 0.0)),
        ),
    )
    for kind_code, lam in ((0, lam_bp), (1, lam_a1c), (2, lam_bmi), (3, lam_egfr)):
        b_idx, b_day = spread(rng, rng.poisson(lam * per.alive_expo), per.es, per.win_end)
        rows.add(person=b_idx, day=b_day, kind=np.full(b_idx.shape[0], kind_code, np.int64))


def acute_prescriptions(rng: np.random.Generator, per: Period, rows: Rows) -> None:
    """Acute (one-off) prescriptions, more with more conditions."""
    base, per_condition = P.ACUTE_PRESCRIPTIONS
    q_idx, q_day = spread(
        rng, rng.poisson((base + per_condition * per.ncond) * per.alive_expo), per.es, per.win_end
    )
    rows.add(person=q_idx, day=q_day)


def pcc_table(ctx: Ctx, rows: Rows) -> pa.Table:
    rng = ctx.rng
    person, day = rows.get("person"), rows.get("day")
    m = person.shape[0]
    c = R.CONTACTS
    role = choose(rng, m, c.roles)
    housebound = ctx.in_home[person] | (
        (ctx.age_at(person, day) >= c.housebound_age) & (ctx.z[person] > c.housebound_frailty)
    )
    mode = np.where(housebound & (rng.random(m) < c.home_visit_share), 1, choose(rng, m, c.modes))
    return pa.table(
        {
            "id": row_ids("PCC", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "contact_date": dates(day),
            "staff_role": take(("gp", "nurse", "pharmacist", "other"), role),
            "mode": take(T.CONTACT_MODE, mode),
            "org_id": ctx.practice(person),
            "cost": pa.nulls(m, pa.float64()),
        }
    )


def obs_table(ctx: Ctx, rows: Rows) -> pa.Table:
    rng = ctx.rng
    v = R.MEASUREMENT_VALUES
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
            rng.normal(*v.sbp_hypertension, b_p.shape[0]),
            rng.normal(
                v.sbp_base + v.sbp_age * np.clip(age[bp] - 30, 0, 60), v.sbp_sd, b_p.shape[0]
            ),
        )
    )
    dbp = np.rint(np.clip(sbp * v.dbp_ratio + rng.normal(0, v.dbp_sd, b_p.shape[0]), 40, 130))
    # HbA1c (mmol/mol)
    a1 = kind == 1
    a1v = np.where(
        diab[a1],
        rng.normal(*v.hba1c_diabetes, int(a1.sum())),
        rng.normal(*v.hba1c_other, int(a1.sum())),
    )
    a1v = np.rint(np.clip(a1v, 20, 150))
    # BMI and weight
    bm = kind == 2
    nb = int(bm.sum())
    bmi = np.where(
        obese[bm],
        30.0 + rng.gamma(*v.bmi_obese_gamma, nb),
        np.clip(rng.normal(*v.bmi_other, nb), 15.0, 29.8),
    )
    bmi = np.where(age[bm] < 18, np.clip(rng.normal(*v.bmi_child, nb), 12, 29.8), bmi)
    height = np.where(ctx.female[person[bm]], v.height_female, v.height_male) + rng.normal(
        0, v.height_sd, nb
    )
    weight = np.round(bmi * height**2, 1)
    bmi = np.round(bmi, 1)
    # eGFR
    eg = kind == 3
    ne = int(eg.sum())
    stage = ctx.ckd_stage[person[eg]]
    ckd_v = np.where(
        stage == 0,
        rng.uniform(*v.egfr_stages[0], ne),
        np.where(
            stage == 1, rng.uniform(*v.egfr_stages[1], ne), rng.uniform(*v.egfr_stages[2], ne)
        ),
    )
    egfr = np.where(
        ckd[eg],
        ckd_v,
        np.clip(
            rng.normal(v.egfr_base - v.egfr_age * np.clip(age[eg] - 30, 0, 70), v.egfr_sd, ne),
            60,
            140,
        ),
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
    cols = coded_columns(
        ctx,
        "OBS",
        persons,
        "obs_date",
        days,
        "loinc",
        ([C.OBSERVATIONS[x][0] for x in names], [C.OBSERVATIONS[x][1] for x in names]),
        measure,
    )
    cols["measure"] = take(names, measure)
    cols["value"] = pa.array(values, pa.float64())
    cols["unit"] = take([C.OBSERVATIONS[x][2] for x in names], measure)
    cols["org_id"] = ctx.practice(persons)
    return pa.table(cols)


def meds_table(ctx: Ctx, acute: Rows) -> pa.Table:
    rng = ctx.rng
    vocab = Vocab()
    vi = vocab.index
    persons: list[Arr] = []
    days: list[Arr] = []
    codes: list[Arr] = []
    qtys: list[Arr] = []
    mi = R.MEDICINES
    period = mi.repeat_days
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
    pick = choose(rng, a_p.shape[0], mi.acute_mix)
    amap = np.array([vi(c, t) for c, t, _ in C.ACUTE_MEDICINES])
    persons.append(a_p)
    days.append(a_d)
    codes.append(amap[pick])
    qtys.append(np.array([q for _, _, q in C.ACUTE_MEDICINES], dtype=np.float64)[pick])
    # morphine for people in their last months
    fd = ctx.future_death
    dying = np.flatnonzero((fd <= ctx.end) & (rng.random(ctx.n) < mi.end_of_life_share))
    first = np.maximum(
        fd[dying] - rng.integers(*mi.end_of_life_lead_days, dying.shape[0]), ctx.start
    )
    first = np.maximum(first, ctx.dob[dying])
    count = np.where(first <= fd[dying], (fd[dying] - first) // mi.end_of_life_interval_days + 1, 0)
    rep = np.repeat(np.arange(dying.shape[0]), count)
    k = np.arange(rep.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    persons.append(dying[rep])
    days.append(first[rep] + k * mi.end_of_life_interval_days)
    codes.append(np.full(rep.shape[0], vi(MORPHINE_CODE, "Morphine")))
    qtys.append(np.full(rep.shape[0], mi.end_of_life_quantity))
    person = np.concatenate(persons)
    cols = coded_columns(
        ctx,
        "MED",
        person,
        "issue_date",
        np.concatenate(days),
        "snomed",
        (vocab.codes, vocab.terms),
        np.concatenate(codes),
    )
    cols["quantity"] = pa.array(np.concatenate(qtys), pa.float64())
    cols["org_id"] = ctx.practice(person)
    return pa.table(cols)


MORPHINE_CODE = C.MORPHINE[0]
