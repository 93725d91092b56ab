"""Case management: who is enrolled, how, when and by whom; the effect of being
enrolled on the person's emergency admissions (``--case-management-effect``).

Enrolment follows the person state year by year (last period's risk and
admissions) but draws from a random stream of its own, so with no effect the
rest of the dataset is exactly as without case management.

Two decisions make the planted effect one an honest evaluation can recover
(docs/evaluation.md, docs/synthetic-population.md):

- **Selection on the record.** A risk-stratification list ranks people by a
  score computed from their records: age, recorded conditions, deprivation,
  care-home residence and the latest year's admissions. The generator enrols
  on that observable part of the risk (:func:`listed_risk`), not on the
  latent propensity ``u`` or frailty ``z`` that no record holds. Selection
  is still strongly towards the people just admitted and at high risk, so
  the naive before/after shows regression to the mean.
- **The effect acts on the days enrolled.** The admissions placed on a day
  inside the episode are thinned (a negative effect: each kept with
  probability 1 + effect) or joined by extra ones drawn at ``effect`` times
  the person's rate over those days (a positive effect), from a random stream
  of its own; days outside the episode are untouched. Readmissions follow
  from the admissions they follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from careweave.synth import params as P
from careweave.synth.core import (
    NEVER,
    YEAR,
    Arr,
    Ctx,
    People,
    Period,
    choose,
    const,
    dates,
    row_ids,
    spread,
    take,
)
from careweave.synth.params import care as K

#: Sub-stream of the chunk's case-management draws (seed, CM_STREAM, chunk); the
#: planted effect's draws are (seed, CM_STREAM, chunk, EFFECT_STREAM).
CM_STREAM = 0xCA
EFFECT_STREAM = 1
REASONS = ("risk_stratification", "other", "clinical_judgement")  # codes 0, 1, 2


@dataclass
class Enrolment:
    """One episode at most per person: start and planned end (NEVER: none), reason
    code (0 risk stratification, 1 after an admission, 2 clinical judgement)."""

    rng: np.random.Generator
    effect_rng: np.random.Generator
    start: Arr
    end: Arr
    reason: Arr

    @classmethod
    def empty(cls, seed: int, ci: int, n: int) -> Enrolment:
        return cls(
            rng=np.random.default_rng([seed, CM_STREAM, ci]),
            effect_rng=np.random.default_rng([seed, CM_STREAM, ci, EFFECT_STREAM]),
            start=np.full(n, NEVER, dtype=np.int64),
            end=np.full(n, NEVER, dtype=np.int64),
            reason=np.full(n, -1, dtype=np.int64),
        )


def enrol(cm: Enrolment, people: People, per: Period, first: bool) -> None:
    """Enrol this period's new cases (none in the first period: no history yet)."""
    c = K.CASE_MANAGEMENT
    rng, n = cm.rng, people.n
    u = rng.random((3, n))
    when = rng.random(n)
    if first:
        return
    age, risk = per.age, listed_risk(people)
    free = (
        per.present
        & (age >= c.min_age)
        & (cm.start == NEVER)
        & ~people.in_home
        & (people.death > per.p0)
    )
    if not free.any():
        return
    top = risk >= np.quantile(risk[free], 1 - c.top_share)
    high = risk >= np.quantile(risk[free], 1 - c.post_admission_top)
    rs = free & top & (u[0] < c.uptake)
    post = free & ~rs & high & (people.prev_em > 0) & (age >= c.older_age)
    post = post & (u[1] < c.post_admission_uptake)
    cj = free & ~rs & ~post & (age >= c.older_age) & (per.ncond >= 3) & (u[2] < c.judgement_rate)
    new = rs | post | cj
    # risk lists are run early in the year; post-admission and clinical cases any time
    window = np.where(rs, 120, np.where(post, 90, per.p1 - per.p0 + 1))
    day = per.p0 + np.floor(when * window).astype(np.int64)
    new = new & (day <= np.minimum(per.p1, people.death - 1))
    lo, hi = c.days
    length = lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
    cm.start = np.where(new, day, cm.start)
    cm.end = np.where(new, np.minimum(day + length, people.death), cm.end)
    cm.reason = np.where(new, np.where(rs, 0, np.where(post, 1, 2)), cm.reason)


def listed_risk(people: People) -> Arr:
    """The emergency log rate (less its base) as a risk tool sees it when the list is
    run: last period's age, conditions, deprivation and care home, with the
    admissions of the year just ended; not the latent propensity and frailty,
    which no record holds."""
    return np.asarray(people.record_risk + P.PRIOR_ADMISSION_EFFECT * np.log1p(people.prev_em))


def effect_on(
    cm: Enrolment, people: People, per: Period, effect: float
) -> Callable[[Arr, Arr], tuple[Arr, Arr]] | None:
    """The planted effect on a period's emergency admissions (person index, day), or
    None for no effect: thinned on the days enrolled when ``effect`` < 0; extra
    admissions on those days at ``effect`` times the person's rate when > 0."""
    if effect == 0:
        return None
    rng = cm.effect_rng

    def apply(idx: Arr, adm: Arr) -> tuple[Arr, Arr]:
        on = (adm >= cm.start[idx]) & (adm < cm.end[idx])
        if effect < 0:
            keep = ~on | (rng.random(idx.shape[0]) < 1 + effect)
            return idx[keep], adm[keep]
        lo = np.maximum(cm.start, per.es)
        hi = np.minimum(np.minimum(cm.end, NEVER) - 1, per.win_end)
        enrolled = np.where(per.present & (hi >= lo), hi - lo + 1, 0)
        extra = rng.poisson(effect * people.em_rate * enrolled / YEAR)
        x_idx, x_day = spread(rng, extra, lo, hi)
        return np.concatenate([idx, x_idx]), np.concatenate([adm, x_day])

    return apply


def case_management_table(ctx: Ctx, cm: Enrolment) -> pa.Table:
    """The episodes that started in the span before the person's death (end and care
    plan null when after the span)."""
    c = K.CASE_MANAGEMENT
    rng = cm.rng
    # a death drawn after the enrolment (later the same year, or later on) ends it
    person = np.flatnonzero((cm.start <= ctx.end) & (cm.start < ctx.future_death))
    m = person.shape[0]
    start, reason = cm.start[person], cm.reason[person]
    stop = np.minimum(cm.end[person], ctx.future_death[person])
    level4 = np.array(c.level4_share)[reason]
    level = np.where(rng.random(m) < level4, 4, 3).astype(np.int16)
    role = choose(rng, m, [w for _, w in c.roles])
    plan = start + rng.integers(*c.care_plan_days, m)
    no_plan = (rng.random(m) >= c.care_plan_share) | (plan > np.minimum(stop, ctx.end))
    return pa.table(
        {
            "id": row_ids("CME", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "start_date": dates(start),
            "end_date": dates(stop, stop > ctx.end),
            "ccm_level_at_enrolment": pa.array(level, pa.int16()),
            "lead_professional_role": take([r for r, _ in c.roles], role),
            "care_plan_date": dates(plan, no_plan),
            "enrolment_reason": take(REASONS, reason),
            "org_id": const(ctx.layout.community_id, m),
        }
    )
