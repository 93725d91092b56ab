"""Telehealth: home monitoring of people with heart failure, COPD or diabetes
(weight, blood pressure, pulse, oxygen saturation, glucose), readings every
other day while monitored."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from careweave.synth import params as P
from careweave.synth.core import YEAR, Arr, Ctx, row_ids, take
from careweave.synth.params import records as R


def telehealth_table(ctx: Ctx) -> pa.Table:
    rng = ctx.rng
    th = R.TELEHEALTH
    conds = P.CONDITION_NAMES
    end = ctx.end
    stop = np.minimum(ctx.death, end)
    hf = ctx.onset[:, conds.index("heart_failure")]
    copd = ctx.onset[:, conds.index("copd")]
    dm = ctx.onset[:, conds.index("diabetes")]
    first = np.minimum(np.minimum(hf, copd), dm)
    eligible = (first <= stop) & ((stop - ctx.dob) / YEAR >= th.min_age)
    idx = np.flatnonzero(eligible & (rng.random(ctx.n) < P.TELEHEALTH_SHARE))
    lo = np.maximum(np.maximum(first[idx], ctx.start), ctx.dob[idx] + int(th.min_age * YEAR))
    hi = stop[idx]
    keep = hi >= lo
    idx, lo, hi = idx[keep], lo[keep], hi[keep]
    t0 = lo + np.floor(rng.random(idx.shape[0]) * (hi - lo + 1)).astype(np.int64)
    t1 = np.minimum(t0 + rng.integers(*th.days, idx.shape[0]), hi)
    group = np.where(hf[idx] <= t0, 0, np.where(copd[idx] <= t0, 1, 2))
    # measures per group: (measure index, device index, unit, mean, sd)
    measures = th.measures
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
    value = np.where(mix == 4, np.clip(value, *th.spo2_range), value)
    value = np.round(value, 1)
    secs = day.astype(np.int64) * 86400 + rng.integers(7 * 3600, 21 * 3600, m)
    person = idx[r]
    return pa.table(
        {
            "id": row_ids("TEL", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "device": take([x[1] for x in measures], mix),
            "measure": take([x[0] for x in measures], mix),
            "value": pa.array(value, pa.float64()),
            "unit": take([x[2] for x in measures], mix),
            "recorded_at": pa.array(secs * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
        }
    )
