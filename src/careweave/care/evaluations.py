"""Stored evaluation results (``careweave evaluate --store``; docs/evaluation.md).

The evaluation runs on the analytics side and hands its summary over as plain data;
this module only keeps it in the operational store (``evaluation_results``) and
reads it back for the evaluation page, the PDF pack and the maturity evidence
("Impact"). Aggregates only: the summary has no person-level row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.errors import InputError
from careweave.store.models import EvaluationResult

#: The outcome whose degree and verdict head a stored result, when it was evaluated.
PRIMARY = "emergency_admissions"


def save(
    session: Session, result: dict[str, Any], inputs: dict[str, Any], run_at: dt.datetime
) -> EvaluationResult:
    """Keep one evaluation's summary (the dict ``careweave.evaluation.run.evaluate``
    returns) with what it was asked; returns the new row."""
    outcomes = result["outcomes"]
    if not outcomes:
        raise InputError("an evaluation with no outcomes cannot be stored")
    primary = PRIMARY if PRIMARY in outcomes else next(iter(outcomes))
    row = EvaluationResult(
        intervention=result["intervention"],
        run_at=run_at,
        definition_version=result["definition_version"],
        inputs=inputs,
        treated=int(result["treated"]),
        matched=int(result["matched"]),
        controls=int(result["controls"]),
        balance_max_smd=float(result["balance_max_smd"]),
        balance={k: float(v) for k, v in result["balance"].items()},
        outcomes=outcomes,
        primary_outcome=primary,
        degree=outcomes[primary]["degree"],
        verdict=outcomes[primary]["verdict"],
    )
    session.add(row)
    session.flush()
    return row


def latest(session: Session, intervention: str | None = None) -> EvaluationResult | None:
    """The newest stored result (of ``intervention`` when given)."""
    q = select(EvaluationResult)
    if intervention is not None:
        q = q.where(EvaluationResult.intervention == intervention)
    q = q.order_by(EvaluationResult.run_at.desc(), EvaluationResult.id.desc()).limit(1)
    return session.execute(q).scalar_one_or_none()


def interventions(session: Session) -> list[str]:
    """The interventions with a stored result, by name."""
    q = select(EvaluationResult.intervention).distinct().order_by(EvaluationResult.intervention)
    return list(session.execute(q).scalars())


#: Outcomes in words (the evaluation's names; the operational side does not import it).
WORDS = {
    "emergency_admissions": "emergency admissions",
    "bed_days": "emergency bed days",
    "ae_attendances": "A&E attendances",
    "spend": "spend on activity",
    "deaths": "deaths",
}
