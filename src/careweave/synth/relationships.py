"""Couples and carers among older people (the person_relationships table), the
shared home of a couple, and the Mr and Mrs Jones of the demo scenario.

Couples are formed within a small area (so within a practice) from a random
stream of their own; a couple shares the husband's address and telephone.
In the first chunk one couple becomes Mr and Mrs Jones: she 80+ (with
diabetes where there is such a couple), he with dementia, both at home at the
end of the span, she his carer (the scenario of product.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from careweave.synth import params as P
from careweave.synth.core import NEVER, YEAR, Arr, Ctx, dates, row_ids
from careweave.synth.params import care as K

#: Sub-stream of the chunk's couple draws (seed, COUPLE_STREAM, chunk).
COUPLE_STREAM = 0x5B


@dataclass(frozen=True)
class Couples:
    wife: Arr
    husband: Arr


def form_couples(ctx: Ctx, lsoa: Arr) -> Couples:
    """Pairs (wife, husband) of people 60+ at home at the start, by small area and age."""
    c = K.COUPLES
    rng = np.random.default_rng([ctx.seed, COUPLE_STREAM, ctx.ci])
    age0 = (ctx.start - ctx.dob) / YEAR
    at_home = ~(ctx.in_home & (ctx.ch_start <= ctx.start))
    ok = (age0 >= c.min_age) & at_home & (ctx.death > ctx.start)
    key = rng.random(ctx.n)
    wives: list[Arr] = []
    husbands: list[Arr] = []
    order = np.lexsort((ctx.dob, lsoa))
    order = order[ok[order]]
    for area in np.unique(lsoa[order]):
        here = order[lsoa[order] == area]
        women, men = here[ctx.female[here]], here[~ctx.female[here]]
        k = int(min(women.shape[0], men.shape[0]) * c.share)
        if k == 0:
            continue
        # a random k of each, paired in order of age (similar ages)
        w = np.sort(women[np.argsort(key[women])[:k]])
        h = np.sort(men[np.argsort(key[men])[:k]])
        w = w[np.argsort(ctx.dob[w], kind="stable")]
        h = h[np.argsort(ctx.dob[h], kind="stable")]
        wives.append(w)
        husbands.append(h)
    if not wives:
        return Couples(np.zeros(0, np.int64), np.zeros(0, np.int64))
    return Couples(np.concatenate(wives), np.concatenate(husbands))


def _cared_for(ctx: Ctx, idx: Arr) -> Arr:
    """Whether each person needs a carer by the end: dementia, or 80+ and frail."""
    c = K.COUPLES
    dem = ctx.onset[idx, P.CONDITION_NAMES.index("dementia")] <= ctx.end
    age_end = (ctx.end - ctx.dob[idx]) / YEAR
    return np.asarray(dem | ((age_end >= c.frail_age) & (ctx.z[idx] > c.frail_z)))


def pick_joneses(ctx: Ctx, couples: Couples) -> int | None:
    """Index in ``couples`` of Mr and Mrs Jones (first chunk only), None if no couple fits."""
    if ctx.ci != 0 or couples.wife.shape[0] == 0:
        return None
    w, h = couples.wife, couples.husband
    alive = (ctx.death[w] > ctx.end) & (ctx.death[h] > ctx.end)
    home = ~(ctx.in_home[w] & (ctx.ch_start[w] <= ctx.end)) & ~(
        ctx.in_home[h] & (ctx.ch_start[h] <= ctx.end)
    )
    old = (ctx.end - ctx.dob[w]) / YEAR >= 80
    dementia = ctx.onset[h, P.CONDITION_NAMES.index("dementia")] <= ctx.end
    no_dementia = ctx.onset[w, P.CONDITION_NAMES.index("dementia")] > ctx.end
    diabetes = ctx.onset[w, P.CONDITION_NAMES.index("diabetes")] <= ctx.end
    base = alive & home & old & dementia & no_dementia
    for want in (base & diabetes, base):
        hit = np.flatnonzero(want)
        if hit.shape[0]:
            return int(hit[0])
    return None


def household_columns(ctx: Ctx, people: pa.Table, couples: Couples, jones: int | None) -> pa.Table:
    """The people table with each wife at her husband's address and telephone, most
    with his family name, and the Joneses named."""
    rng = np.random.default_rng([ctx.seed, COUPLE_STREAM + 1, ctx.ci])
    src = np.arange(ctx.n)
    src[couples.wife] = couples.husband
    name_src = np.arange(ctx.n)
    takes = rng.random(couples.wife.shape[0]) < K.COUPLES.shared_surname
    name_src[couples.wife[takes]] = couples.husband[takes]
    index = pa.array(src)
    for col in ("address_line_1", "address_line_2", "town", "postcode", "telephone"):
        people = people.set_column(
            people.schema.get_field_index(col), col, people.column(col).take(index)
        )
    family = people.column("family_name").take(pa.array(name_src)).to_numpy(zero_copy_only=False)
    title = people.column("title").to_numpy(zero_copy_only=False)
    if jones is not None:
        w, h = int(couples.wife[jones]), int(couples.husband[jones])
        family[[w, h]] = "Jones"
        title[w], title[h] = "Mrs", "Mr"
    people = people.set_column(
        people.schema.get_field_index("family_name"), "family_name", pa.array(family, pa.string())
    )
    return people.set_column(
        people.schema.get_field_index("title"), "title", pa.array(title, pa.string())
    )


def relationships_table(ctx: Ctx, couples: Couples, jones: int | None) -> pa.Table:
    """Spouse rows both ways; carer_of / cared_for_by where one spouse needs care
    (from dementia onset, or the span start, until a death or a care-home move)."""
    w, h = couples.wife, couples.husband
    needs_w, needs_h = _cared_for(ctx, w), _cared_for(ctx, h)
    if jones is not None:
        needs_w[jones], needs_h[jones] = False, True
    carer = np.concatenate([h[needs_w & ~needs_h], w[needs_h & ~needs_w]])
    cared = np.concatenate([w[needs_w & ~needs_h], h[needs_h & ~needs_w]])
    dem = ctx.onset[cared, P.CONDITION_NAMES.index("dementia")]
    since = np.where(dem <= ctx.end, np.maximum(dem, ctx.start), ctx.start)
    gone = np.minimum(np.minimum(ctx.death[carer], ctx.death[cared]), ctx.ch_start[cared])
    # No caring that would start after one of them died or the cared-for person moved
    # into a care home (found by the loader: a row dated after a death).
    live = gone > since
    carer, cared, since, until = carer[live], cared[live], since[live], gone[live]
    person = np.concatenate([w, h, carer, cared])
    other = np.concatenate([h, w, cared, carer])
    kind = np.concatenate(
        [
            np.full(w.shape[0] * 2, 3),  # spouse
            np.full(carer.shape[0], 0),  # carer_of
            np.full(cared.shape[0], 1),  # cared_for_by
        ]
    )
    start = np.concatenate([np.full(w.shape[0] * 2, NEVER), since, since])
    end = np.concatenate([np.full(w.shape[0] * 2, NEVER), until, until])
    m = person.shape[0]
    return pa.table(
        {
            "id": row_ids("REL", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "related_nhs_number": ctx.person(other),
            "relationship": pa.array(
                np.array(["carer_of", "cared_for_by", "next_of_kin", "spouse"])[kind], pa.string()
            ),
            "start_date": dates(start),
            "end_date": dates(end, end > ctx.end),
        }
    )
