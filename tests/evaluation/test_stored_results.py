"""Stored evaluation results (careweave.care.evaluations) and what the maturity evidence
makes of the latest: the nine areas' degree of impact from the stored degree and CI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from careweave.care import evaluations
from careweave.store.db import make_engine, session_factory, transaction, upgrade
from careweave.web import maturity_evidence as ev

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def result(effect: float, lo: float, hi: float, degree: str, **extra: Any) -> dict[str, Any]:
    """A summary shaped as careweave.evaluation.run.evaluate returns it."""
    o = {
        "effect": effect,
        "ci_low": lo,
        "ci_high": hi,
        "naive_before_after": -0.2,
        "degree": degree,
        "verdict": f"verdict {effect}",
    }
    return {
        "intervention": "case_management",
        "definition_version": "test.1",
        "treated": 120,
        "matched": 117,
        "controls": 300,
        "balance_max_smd": 0.04,
        "balance": {"age": 0.01, "prognostic_score": -0.04},
        "outcomes": {"bed_days": {**o, "verdict": "beds"}, "emergency_admissions": o},
        "follow_up_days": 365,
        **extra,
    }


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    return session_factory(engine)


def test_save_and_latest(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        evaluations.save(s, result(-0.02, -0.08, 0.04, "1-5%"), {"warehouse": "w"}, T0)
        evaluations.save(
            s, result(-0.12, -0.17, -0.07, "10%+"), {"warehouse": "w"}, T0 + dt.timedelta(1)
        )
        evaluations.save(
            s,
            result(0.3, 0.1, 0.5, "10%+", intervention="telehealth"),
            {},
            T0 + dt.timedelta(2),
        )
    with sessions() as s:
        cm = evaluations.latest(s, "case_management")
        assert cm is not None and cm.degree == "10%+" and cm.verdict == "verdict -0.12"
        assert cm.primary_outcome == "emergency_admissions"  # not the first listed
        assert cm.inputs == {"warehouse": "w"} and cm.definition_version == "test.1"
        assert cm.balance == {"age": 0.01, "prognostic_score": -0.04}
        newest = evaluations.latest(s)
        assert newest is not None and newest.intervention == "telehealth"
        assert evaluations.interventions(s) == ["case_management", "telehealth"]


@pytest.mark.parametrize(
    ("stored", "stage"),
    [
        (None, None),
        (result(-0.03, -0.08, 0.02, "1-5%"), "small-start"),  # CI includes no change
        (result(0.12, 0.05, 0.2, "10%+"), "small-start"),  # more admissions: no benefit
        (result(-0.03, -0.05, -0.01, "1-5%"), "implementing"),
        (result(-0.07, -0.1, -0.04, "5-9%"), "well-developed"),
        (result(-0.15, -0.2, -0.1, "10%+"), "embedded"),
    ],
)
def test_impact_evidence_from_the_latest_stored_result(
    sessions: sessionmaker[Session], stored: dict[str, Any] | None, stage: str | None
) -> None:
    if stored is not None:
        with transaction(sessions) as s:
            evaluations.save(s, stored, {}, T0)
    with sessions() as s:
        fact = ev.evaluation(s)
    assert fact.available is (stored is not None)
    got = ev.suggestions("integration-nine-areas", ev.Facts(_all(fact)))["degree-of-impact"]
    assert got.stage == stage, got.reason
    if stored is not None:
        shown = dict(fact.figures)
        assert shown["Matched"] == "115 of 120 enrolled"  # disclosure: rounded to 5
        assert shown["Outcome"] == "emergency admissions"
        assert fact.summary == stored["outcomes"]["emergency_admissions"]["verdict"]


def _all(evaluation: ev.Fact) -> dict[str, ev.Fact]:
    """Every fact the nine areas' rules read: the evaluation, the rest unavailable."""
    keys = ("stratification", "segments", "settings", "information-governance")
    keys += ("measures-refresh", "schemes")
    blank = {k: ev.Fact(k, k, False, "n/a", data={"intact": None}) for k in keys}
    return blank | {"evaluation": evaluation}
