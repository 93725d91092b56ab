"""More electronic Frailty Index deficits as primary-care events, so that the
eFI distribution of older people is realistic (see ``params.care.FRAILTY``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from careweave.synth.core import YEAR, Ctx, coded_columns, sig
from careweave.synth.params import care as K

#: Sub-stream of the chunk's deficit draws (seed, FRAILTY_STREAM, chunk).
FRAILTY_STREAM = 0xEF


def deficit_events(ctx: Ctx) -> pa.Table:
    """Rows of primary_care_events (ids ``PCF...``) for the extra eFI deficits."""
    f = K.FRAILTY
    rng = np.random.default_rng([ctx.seed, FRAILTY_STREAM, ctx.ci])
    last = np.minimum(ctx.death, ctx.end)
    age = (last - ctx.dob) / YEAR
    ncond = (ctx.onset <= last[:, None]).sum(axis=1)
    score = f.age * (age - 75) + f.frailty * ctx.z + f.conditions * ncond
    persons, days, kinds = [], [], []
    for k, (_, _, base) in enumerate(f.deficits):
        p = np.where(age >= f.min_age, sig(base + f.scale * score), 0.0)
        who = np.flatnonzero(rng.random(ctx.n) < p)
        back = np.minimum(f.years, age[who] - f.min_age) * YEAR
        day = last[who] - np.floor(rng.random(who.shape[0]) * back).astype(np.int64)
        persons.append(who)
        days.append(day)
        kinds.append(np.full(who.shape[0], k, dtype=np.int64))
    person = np.concatenate(persons)
    cols = coded_columns(
        ctx,
        "PCF",
        person,
        "event_date",
        np.concatenate(days),
        "snomed",
        ([c for c, _, _ in f.deficits], [t for _, t, _ in f.deficits]),
        np.concatenate(kinds),
    )
    cols["resolved_date"] = pa.nulls(person.shape[0], pa.date32())
    cols["org_id"] = ctx.practice(person)
    return pa.table(cols)
