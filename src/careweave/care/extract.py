"""Extract: the operational store's care co-ordination records as a canonical dataset directory.

The store is a source like any other: analytics never read it. ``careweave
extract`` writes what the population measures need from it as a dataset
directory (``manifest.json`` and one Parquet file per table, the declarations
of :mod:`careweave.dataset.tables`) that ``careweave load`` validates and
loads like any other extract. It is the mirror of :mod:`careweave.care.sync`
(warehouse -> store); together they are the only crossings between the two
sides.

What is written (docs/loading.md, "The operational store as a source"):

- ``case_management_episodes``: every spell on the case-management register
  (``episodes``) that started on or before the as-of date. Key
  ``careweave-episode-<id>``. An end after the as-of date is left open. The
  lead professional's role is their role in the person's care team
  (``care_team_members``) when that is one of the dataset's lead-professional
  roles, else their user role's (``case_manager``, ``care_coordinator``,
  ``social_worker``; a clinician without a team role is ``other``). The care
  plan date is the day the person's shared care plan was first written, or
  the episode's start when the plan is older; null when there is no plan by
  the episode's end and the as-of date. Enrolment reason: ``risk_stratification``
  for an enrolment from the worklist (the risk-stratified list),
  ``clinical_judgement`` otherwise. The store keeps no CCM level at
  enrolment, so that column is null.
- ``care_plans``: each person's shared care plan (``care_plans``), from the
  day its first version was written (on or before the as-of date), open
  ended (a shared plan is revised, never closed), SNOMED CT 734163000 "Care
  plan (record artifact)", status ``active``. Key ``careweave-plan-<id>``.
- every required table of the dataset, empty (a dataset directory has them all).

The manifest's span runs from the earliest date written to the as-of date.
Keys are stable, so a re-extract loads as a no-op where nothing changed; an
episode closed since the last load is a correction (``careweave load
--apply-corrections``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.dataset import tables as T
from careweave.dataset.io import Manifest, write_manifest, write_table
from careweave.dataset.vocabulary import LEAD_PROFESSIONAL_ROLE
from careweave.errors import InputError
from careweave.store.models import CarePlan, CarePlanVersion, CareTeamMember, Episode, User

SOURCE = "careweave-store"
#: A user's role -> the dataset's lead-professional role, when their care-team role is not one.
USER_ROLE_AS_LEAD = {
    "case_manager": "case_manager",
    "care_coordinator": "care_coordinator",
    "social_worker": "social_worker",
}
CARE_PLAN_CODE = ("snomed", "734163000", "Care plan (record artifact)")
#: The tables written with rows (the rest of the required ones are written empty).
TABLES = (T.CASE_MANAGEMENT_EPISODES, T.CARE_PLANS)


@dataclass(frozen=True)
class ExtractResult:
    directory: Path
    episodes: int
    care_plans: int
    span_start: dt.date
    span_end: dt.date


def _day(value: dt.datetime | dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _plan_dates(session: Session, as_of: dt.date) -> dict[str, tuple[int, dt.date]]:
    """nhs_number -> (plan id, day its first version was written), for plans written by as_of."""
    rows = session.execute(
        select(CarePlan.id, CarePlan.nhs_number, CarePlanVersion.changed_at)
        .join(CarePlanVersion, CarePlanVersion.care_plan_id == CarePlan.id)
        .order_by(CarePlan.id, CarePlanVersion.version)
    ).all()
    out: dict[str, tuple[int, dt.date]] = {}
    for plan_id, nhs, changed_at in rows:
        day = _day(changed_at)
        if day <= as_of and nhs not in out:
            out[nhs] = (plan_id, day)
    return out


def _lead_roles(session: Session) -> dict[tuple[str, int], str]:
    """(nhs_number, user id) -> the user's role in that person's care team."""
    rows = session.execute(
        select(CareTeamMember.nhs_number, CareTeamMember.user_id, CareTeamMember.team_role)
    ).all()
    return {(nhs, uid): role for nhs, uid, role in rows}


def episode_rows(session: Session, as_of: dt.date) -> list[dict[str, Any]]:
    """The case_management_episodes rows of every episode started by ``as_of``."""
    plans = _plan_dates(session, as_of)
    team = _lead_roles(session)
    rows = session.execute(
        select(Episode, User.role)
        .join(User, User.id == Episode.lead_professional_id)
        .where(Episode.start_date <= as_of)
        .order_by(Episode.id)
    ).all()
    out = []
    for ep, user_role in rows:
        end = ep.end_date if ep.end_date is not None and ep.end_date <= as_of else None
        team_role = team.get((ep.nhs_number, ep.lead_professional_id))
        if team_role in LEAD_PROFESSIONAL_ROLE:
            lead = team_role
        else:
            lead = USER_ROLE_AS_LEAD.get(user_role, "other")
        plan = plans.get(ep.nhs_number)
        plan_date = None
        if plan is not None and (end is None or plan[1] < end):
            plan_date = max(plan[1], ep.start_date)
        out.append(
            {
                "id": f"careweave-episode-{ep.id}",
                "nhs_number": ep.nhs_number,
                "start_date": ep.start_date,
                "end_date": end,
                "ccm_level_at_enrolment": None,
                "lead_professional_role": lead,
                "care_plan_date": plan_date,
                "enrolment_reason": (
                    "risk_stratification" if ep.source == "worklist" else "clinical_judgement"
                ),
                "org_id": None,
            }
        )
    return out


def care_plan_rows(session: Session, as_of: dt.date) -> list[dict[str, Any]]:
    """The care_plans rows: each shared plan from the day its first version was written."""
    system, code, term = CARE_PLAN_CODE
    return [
        {
            "id": f"careweave-plan-{plan_id}",
            "nhs_number": nhs,
            "start_date": day,
            "end_date": None,
            "code_system": system,
            "code": code,
            "term": term,
            "status": "active",
        }
        for nhs, (plan_id, day) in sorted(_plan_dates(session, as_of).items(), key=lambda x: x[1])
    ]


def extract(session: Session, out: Path, as_of: dt.date) -> ExtractResult:
    """Write the store's care co-ordination records as a dataset directory at ``out``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise InputError(f"--out {out}: not empty (extract writes a new dataset directory)")
    episodes = episode_rows(session, as_of)
    plans = care_plan_rows(session, as_of)
    data = {T.CASE_MANAGEMENT_EPISODES.name: episodes, T.CARE_PLANS.name: plans}
    out.mkdir(parents=True, exist_ok=True)
    written = {t.name for t in TABLES}
    for table in T.TABLES:
        if table.name in written:
            rows = data[table.name]
            write_table(out, table, pa.Table.from_pylist(rows, schema=table.arrow_schema))
        elif table.required:
            write_table(out, table, table.arrow_schema.empty_table())
    days = [r["start_date"] for r in (*episodes, *plans)]
    start = min(days, default=as_of)
    write_manifest(
        out,
        Manifest(
            SOURCE, start, as_of, {"as_of": as_of.isoformat(), "extract": "care co-ordination"}
        ),
    )
    return ExtractResult(out, len(episodes), len(plans), start, as_of)
