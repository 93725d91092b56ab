"""Telecare and home monitoring (the telecare_services table): pendant alarms
(with social-care packages and arranged otherwise), falls detectors and the
telehealth monitoring periods."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from careweave.synth.core import NEVER, YEAR, Ctx, const, dates, row_ids, sig
from careweave.synth.params import care as K

#: Sub-stream of the chunk's telecare draws (seed, TELECARE_STREAM, chunk).
TELECARE_STREAM = 0x7E


def telecare_table(ctx: Ctx, services: pa.Table, telehealth: pa.Table) -> pa.Table:
    """Pendant alarms, falls detectors and telehealth monitoring for the chunk."""
    t = K.TELECARE
    rng = np.random.default_rng([ctx.seed, TELECARE_STREAM, ctx.ci])
    n = ctx.n
    # pendant alarms arranged outside social care: 75+ at home
    age0 = (ctx.start - ctx.dob) / YEAR
    at_home = ~(ctx.in_home & (ctx.ch_start <= ctx.start))
    p = sig(t.base + t.age * (age0 - 80) + t.frailty * ctx.z)
    own = np.flatnonzero((age0 >= t.min_age) & at_home & (rng.random(n) < p))
    lo = ctx.start - int(t.years_before * YEAR)
    begin = lo + np.floor(rng.random(own.shape[0]) * (ctx.end - lo + 1)).astype(np.int64)
    stop = np.minimum(ctx.death[own], np.where(ctx.ch_start[own] > begin, ctx.ch_start[own], NEVER))
    keep = (begin <= stop) & (begin <= ctx.end)
    own, begin, stop = own[keep], begin[keep], stop[keep]
    falls = (ctx.z[own] > t.falls_frailty) & (rng.random(own.shape[0]) < t.falls_share)
    parts = [
        _rows(ctx.person(own), dates(begin), dates(stop, stop > ctx.end), "pendant_alarm", None),
        _rows(
            ctx.person(own[falls]),
            dates(begin[falls]),
            dates(stop[falls], stop[falls] > ctx.end),
            "falls_detector",
            None,
        ),
    ]
    sc = services.filter(pc.equal(services.column("service_type"), "telecare"))
    parts.append(
        _rows(
            sc.column("nhs_number"),
            sc.column("start_date"),
            sc.column("end_date"),
            "pendant_alarm",
            ctx.layout.la_id,
        )
    )
    day = pc.cast(telehealth.column("recorded_at"), pa.date32())
    spans = (
        pa.table({"nhs_number": telehealth.column("nhs_number"), "day": day})
        .group_by("nhs_number")
        .aggregate([("day", "min"), ("day", "max")])
        .sort_by("nhs_number")
    )
    parts.append(
        _rows(
            spans.column("nhs_number"),
            spans.column("day_min"),
            spans.column("day_max"),
            "telehealth_monitoring",
            ctx.layout.community_id,
        )
    )
    out = pa.concat_tables(parts)
    m = out.num_rows
    ids = row_ids("TCS", ctx.ci, m)
    return out.add_column(0, "id", ids)


def _rows(
    person: pa.Array | pa.ChunkedArray,
    start: pa.Array | pa.ChunkedArray,
    end: pa.Array | pa.ChunkedArray,
    kind: str,
    org: str | None,
) -> pa.Table:
    m = len(person)
    return pa.table(
        {
            "nhs_number": person,
            "start_date": start,
            "end_date": end,
            "service_type": const(kind, m),
            "org_id": const(org, m),
        }
    )
