"""The needs assessment's counts, defined once in Ibis (DuckDB and Spark alike).

One row per stratum of the registered population at a date ``D`` (the
definitions' :func:`~careweave.definitions.population.registered_at`): practice,
sex, age in whole years at ``D`` (exact birthdays; 100 and over as 100, as the
reference bands do not split there), deprivation quintile (decile 1-2 -> 1 ...
9-10 -> 5; 0 when unknown) and CCM level at the latest ``risk_scores`` run on
or before ``D`` (0 when not scored), with

- ``population``: people in the stratum;
- ``reg_<name>``: people on each register at ``D``
  (:func:`~careweave.definitions.registers.registers_at`), counting only those
  at least the register's minimum age, as the ``prevalence_<name>`` measures do;
- ``multimorbid``: people on two or more registers.

No registers, ages or costs are worked out here: they are the definitions'.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from careweave.dataset.registers import load_registers
from careweave.definitions.dates import lit
from careweave.definitions.population import age_on, registered_at
from careweave.definitions.registers import registers_at

AGE_CAP = 100


def _has(engine: Any, name: str) -> bool:
    present = getattr(engine, "has_table", None)
    return bool(present(name)) if present is not None else False


def strata(engine: Any, as_of: dt.date) -> Any:
    """The strata table described above (an Ibis expression)."""
    regs = load_registers()
    p = registered_at(engine.table("people"), as_of)
    age = age_on(p, as_of)
    p = p.select(
        nhs_number=p.nhs_number.cast("string"),
        practice=p.practice_id.cast("string").fill_null("unknown"),
        sex=p.sex.cast("string").fill_null("unknown"),
        age=ibis.least(age, AGE_CAP).cast("int64"),
        quintile=((p.deprivation_decile.cast("int64") + 1) // 2).fill_null(0).cast("int64"),
    )
    if _has(engine, "risk_scores"):
        r = engine.table("risk_scores")
        r = r.filter(r.as_of <= lit(as_of))
        latest = r.aggregate(last=r.as_of.max())
        r = r.cross_join(latest).filter(lambda x: x.as_of == x.last)
        r = r.select(nhs_number=r.nhs_number.cast("string"), s_level=r.ccm_level.cast("int64"))
        p = p.left_join(r, "nhs_number").drop("nhs_number_right")
        p = p.mutate(ccm_level=p.s_level.fill_null(0).cast("int64")).drop("s_level")
    else:
        p = p.mutate(ccm_level=ibis.literal(0, "int64"))
    on = registers_at(engine, as_of)
    j = p.left_join(on, "nhs_number").drop("nhs_number_right")
    flags = {
        f"reg_{r.name}": (
            (j[f"reg_{r.name}"].fill_null(0) > 0) & (j.age >= r.register_min_age)
        ).cast("int64")
        for r in regs
    }
    j = j.mutate(**flags)
    j = j.mutate(conditions=sum((j[k] for k in flags), ibis.literal(0, "int64")))
    keys = ["practice", "sex", "age", "quintile", "ccm_level"]
    return j.group_by(keys).aggregate(
        population=j.count().cast("int64"),
        multimorbid=(j.conditions >= 2).cast("int64").sum().cast("int64"),
        **{k: j[k].sum().cast("int64") for k in flags},
    )


def practice_areas(engine: Any) -> Any:
    """practice, cluster, locality (the practice's parent and grandparent in
    ``organisations``, as the measures group them)."""
    orgs = engine.table("organisations").select("org_id", "parent_id")
    c = orgs.select(practice=orgs.org_id.cast("string"), cluster=orgs.parent_id.cast("string"))
    loc = orgs.select(cluster=orgs.org_id.cast("string"), locality=orgs.parent_id.cast("string"))
    return c.left_join(loc, "cluster").drop("cluster_right")
