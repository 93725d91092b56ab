"""Allergies and intolerances recorded in primary care (the allergies table)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from careweave.synth.core import YEAR, Ctx, choose, const, row_ids, take
from careweave.synth.params import care as K

#: Sub-stream of the chunk's allergy draws (seed, ALLERGY_STREAM, chunk).
ALLERGY_STREAM = 0xA1


def allergies_table(ctx: Ctx, seed: int) -> pa.Table:
    """Each allergen recorded for a share of people by age (at the span end or death),
    on a day between birth (or the lookback) and then."""
    rng = np.random.default_rng([seed, ALLERGY_STREAM, ctx.ci])
    n = ctx.n
    last = np.minimum(ctx.death, ctx.end)
    age = (last - ctx.dob) / YEAR
    alive_in_span = (ctx.dob <= ctx.end) & (last >= ctx.dob)
    persons, kinds = [], []
    for k, a in enumerate(K.ALLERGENS):
        share = np.where(age < 18, a.child, np.where(age < 65, a.adult, a.older))
        who = np.flatnonzero(alive_in_span & (rng.random(n) < share))
        persons.append(who)
        kinds.append(np.full(who.shape[0], k, dtype=np.int64))
    person = np.concatenate(persons)
    kind = np.concatenate(kinds)
    m = person.shape[0]
    lo = np.maximum(ctx.dob[person], ctx.end - int(K.ALLERGY_LOOKBACK_YEARS * YEAR))
    hi = last[person]
    day = lo + np.floor(rng.random(m) * (hi - lo + 1)).astype(np.int64)
    high = np.array([a.high for a in K.ALLERGENS])[kind]
    r = rng.random(m)
    criticality = np.where(
        r < K.UNABLE_TO_ASSESS_SHARE, 2, np.where(r < K.UNABLE_TO_ASSESS_SHARE + high, 1, 0)
    )
    status = choose(rng, m, [w for _, w in K.ALLERGY_STATUS])
    return pa.table(
        {
            "id": row_ids("ALG", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "recorded_date": pa.array(day.astype(np.int32), pa.int32()).cast(pa.date32()),
            "code_system": const("snomed", m),
            "code": take([a.code for a in K.ALLERGENS], kind),
            "term": take([a.term for a in K.ALLERGENS], kind),
            "category": take([a.category for a in K.ALLERGENS], kind),
            "criticality": take(["low", "high", "unable_to_assess"], criticality),
            "status": take([s for s, _ in K.ALLERGY_STATUS], status),
            "org_id": ctx.practice(person),
        }
    )
