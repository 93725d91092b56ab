"""Chronic conditions: the 19 registers with age-, sex- and deprivation-dependent
prevalence and shared latent factors (multimorbidity), each with an onset date;
frailty deficits and palliative care; the primary-care events table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from careweave.dataset.registers import load_registers
from careweave.synth import codes as C
from careweave.synth import params as P
from careweave.synth.core import (
    NEVER,
    YEAR,
    Arr,
    Ctx,
    Span,
    Vocab,
    choose,
    coded_columns,
    sig,
)
from careweave.synth.params import records as R
from careweave.synth.people import Demography, female_share, sample_ages


def condition_lp(age: Arr, male: Arr, depterm: Arr, z: Arr, w: Arr) -> Arr:
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


def age_rules() -> tuple[Arr, Arr]:
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
    age = sample_ages(rng, m, births=0.0)
    male = (rng.random(m) >= female_share(age)).astype(np.float64)
    depterm = (5.5 - rng.integers(1, 11, size=m)) / 9.0
    base = condition_lp(age, male, depterm, rng.normal(size=m), rng.normal(size=m))
    reg_min, den_min = age_rules()
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
        prev = (sig(base + mid[None, :]) * eligible).sum(axis=0) / denom
        too_high = prev > target
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return tuple(float(x) for x in (lo + hi) / 2)


@dataclass
class Conditions:
    """Each person's condition onsets (day, NEVER when never) and CKD stage."""

    onset: Arr
    ckd_stage: Arr


def sample_conditions(rng: np.random.Generator, d: Demography, span: Span) -> Conditions:
    """Who has each condition by the end of the span, and since when."""
    n, end = d.n, span.end
    nc = len(P.CONDITION_NAMES)
    age_end = (end - d.dob) / YEAR
    a = np.array(condition_intercepts())
    lp = condition_lp(age_end, d.male, d.depterm, d.z, d.w) + a[None, :]
    reg_min, _ = age_rules()
    min_onset = np.maximum(reg_min, [c.onset_min_age for c in P.CONDITIONS])
    has = (rng.random((n, nc)) < sig(lp)) & (age_end[:, None] >= reg_min[None, :])
    dur_cap = np.array([P.DURATION_CAP * c.duration for c in P.CONDITIONS])
    dur_max = np.clip(
        np.minimum(dur_cap[None, :], age_end[:, None] - min_onset[None, :]), 0.0, None
    )
    onset = end - np.floor(rng.random((n, nc)) * dur_max * YEAR).astype(np.int64)
    onset = np.maximum(onset, d.dob[:, None])
    onset = np.where(has, onset, NEVER)
    ckd_stage = choose(rng, n, [s[2] for s in C.CKD_STAGES])
    return Conditions(onset=onset, ckd_stage=ckd_stage)


def events_table(ctx: Ctx) -> pa.Table:
    rng, n = ctx.rng, ctx.n
    ec = R.EVENT_CODING
    regs = {r.name: r for r in load_registers()}
    vocab = Vocab()
    code_index = vocab.index
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
            pick = choose(rng, idx.shape[0], ec.diabetes_types)
            cidx = np.array([code_index(c, C.TERMS[c]) for c in reg_codes])[pick]
        else:
            others = [ec.other_codes_share / max(1, len(reg_codes) - 1)] * (len(reg_codes) - 1)
            weights = [ec.main_code_share, *others]
            pick = choose(rng, idx.shape[0], weights[: len(reg_codes)])
            cidx = np.array([code_index(c, C.TERMS[c]) for c in reg_codes])[pick]
        persons.append(idx)
        days.append(day)
        codes.append(cidx)
    # frailty deficits, more often in older and frailer people
    age_end = (ctx.end - ctx.dob) / YEAR
    ncond = (ctx.onset <= ctx.end).sum(axis=1)
    frail = (
        ec.deficit_age * (age_end - ec.deficit_centre_age)
        + ec.deficit_frailty * ctx.z
        + ec.deficit_conditions * ncond
    )
    for code, term, base in P.FRAILTY_DEFICITS:
        p = np.where(age_end >= ec.deficit_min_age, sig(base + frail), 0.0)
        idx = np.flatnonzero(rng.random(n) < p)
        back = np.minimum(ec.deficit_years, age_end[idx] - ec.deficit_min_age) * YEAR
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
    cols = coded_columns(
        ctx,
        "PCE",
        person,
        "event_date",
        np.concatenate(days),
        "snomed",
        (vocab.codes, vocab.terms),
        np.concatenate(codes),
    )
    cols["resolved_date"] = pa.nulls(person.shape[0], pa.date32())
    cols["org_id"] = ctx.practice(person)
    return pa.table(cols)
