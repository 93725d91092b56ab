"""Register membership (QOF-style), as evidence intervals and at a date.

Evidence that puts a person on register ``r`` (definitions in
``careweave/dataset/data/registers.csv`` and ``careweave/risk/codelists``):

- a primary-care event with ``code_system = 'snomed'`` and one of the register's
  SNOMED CT codes: on the register from ``event_date`` until ``resolved_date``
  (exclusive; open when null);
- for registers with an observation rule (obesity: BMI >= 30 within 365 days),
  an observation meeting it: on the register from ``obs_date`` for
  ``within_days`` days (so at ``D`` when the observation is in (D - days, D]).

A person is on the register at ``D`` when some evidence interval contains ``D``
and they are at least the register's minimum age (``register_min_age``;
applied by the caller, who knows the age). Only SNOMED CT events count: the
profile once also matched ``dmd`` (medicine) codes against the register code
lists; a dm+d code is never a register code, so that made no difference but
is gone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from careweave.definitions.dates import lit
from careweave.risk import codelists

#: Code systems whose primary-care events count as register evidence.
REGISTER_CODE_SYSTEMS = ("snomed",)


def register_evidence(engine: Any) -> Any:
    """Long table: nhs_number (string), reg_name, ev_from (date), ev_to (date, null = open)."""
    ev = engine.table("primary_care_events")
    ev = ev.filter(ev.code_system.isin(REGISTER_CODE_SYSTEMS))
    regs = ibis.memtable(codelists.register_table())
    hits = ev.join(regs, ev.code == regs.reg_code).select(
        nhs_number=ev.nhs_number.cast("string"),
        reg_name=regs.reg_name.cast("string"),
        ev_from=ev.event_date.cast("date"),
        ev_to=ev.resolved_date.cast("date"),
    )
    obs = engine.table("observations")
    for name, rule in codelists.register_observation_rules().items():
        value = obs.value
        meets = {
            ">=": value >= rule.value,
            "<=": value <= rule.value,
            ">": value > rule.value,
            "<": value < rule.value,
        }[rule.op]
        o = obs.filter(obs.measure == rule.measure, meets)
        hits = hits.union(
            o.select(
                nhs_number=o.nhs_number.cast("string"),
                reg_name=ibis.literal(name, "string"),
                ev_from=o.obs_date.cast("date"),
                ev_to=(o.obs_date + ibis.interval(days=rule.within_days)).cast("date"),
            ),
            distinct=False,
        )
    return hits


def registers_at(engine: Any, as_of: dt.date) -> Any:
    """nhs_number, reg_<name> (0/1) for everyone with evidence covering ``as_of``
    (before minimum ages, which :func:`careweave.risk.features.features` applies)."""
    ev = register_evidence(engine)
    d = lit(as_of)
    hits = ev.filter(ev.ev_from <= d, ev.ev_to.isnull() | (ev.ev_to > d))
    hits = hits.select("nhs_number", "reg_name").distinct()
    aggs = {f"reg_{r}": (hits.reg_name == r).cast("int64").max() for r in codelists.registers()}
    return hits.group_by("nhs_number").aggregate(**aggs)
