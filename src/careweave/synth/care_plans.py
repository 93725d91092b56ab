"""Care plans from the source systems (``care_plans``): the personalised care plan
a care-home resident's GP practice records (params ``CARE_HOME_PLANS``).

Drawn from a random stream of its own (seed, CARE_PLAN_STREAM, chunk), so adding
it changed no other table. Case-management care plans are not repeated here:
they are ``case_management_episodes.care_plan_date``, and the measures take the
union of both (``careweave.measures.sources``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from careweave.synth.core import Ctx, const, dates, row_ids
from careweave.synth.params import care as K

CARE_PLAN_STREAM = 0xC9


def care_plans_table(ctx: Ctx, seed: int) -> pa.Table:
    """One plan for ``share`` of the people who lived in a care home in the span,
    agreed some days after the move (dropped when that is after death or the span
    end), ended by death."""
    p = K.CARE_HOME_PLANS
    rng = np.random.default_rng([seed, CARE_PLAN_STREAM, ctx.ci])
    last = np.minimum(ctx.death, ctx.end)
    draw = rng.random(ctx.n)
    lag = rng.integers(*p.days, ctx.n)
    start = ctx.ch_start + lag
    who = np.flatnonzero(ctx.in_home & (ctx.ch_start <= last) & (draw < p.share) & (start <= last))
    m = who.shape[0]
    start = start[who]
    stop = ctx.death[who]
    ended = stop <= ctx.end
    return pa.table(
        {
            "id": row_ids("CPN", ctx.ci, m),
            "nhs_number": ctx.person(who),
            "start_date": dates(start),
            "end_date": dates(stop, ~ended),
            "code_system": const("snomed", m),
            "code": const(p.code, m),
            "term": const(p.term, m),
            "status": pa.array(np.where(ended, "completed", "active"), pa.string()),
        }
    )
