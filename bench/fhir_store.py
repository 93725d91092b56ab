"""The FHIR benchmark's store additions (bench_fhir.py, profile_fhir.py): care plans
written straight into bench_web's search store, and a bearer token per client."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from bench_web import LOCALITIES, _nhs

PLANS_PER_LOCALITY = 100
PLAN = {
    "goals": [{"text": "Stay well at home", "target_date": "2027-03-01"}],
    "interventions": [
        {
            "description": "Medication review",
            "owner_organisation": "Community nursing",
            "owner_role": "district_nurse",
            "due_date": "2027-01-10",
            "status": "planned",
        }
    ],
    "crisis_contacts": [{"name": "Daughter", "relationship": "daughter", "phone": "07700900123"}],
    "crisis_plan": "Call the rapid response team.",
    "step_status": "stable",
    "review_date": "2027-02-01",
}


def add_plans(db: Path, people: int) -> None:
    """One current care-plan version each for the first people of every locality."""
    con = sqlite3.connect(db)
    users = dict(con.execute("SELECT locality_id, id FROM users").fetchall())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    plan_id = 0
    plans, versions = [], []
    for loc in range(LOCALITIES):
        for k in range(PLANS_PER_LOCALITY):
            i = k * LOCALITIES + loc
            if i >= people:
                break
            plan_id += 1
            plans.append((plan_id, _nhs(i), 1))
            versions.append(
                (plan_id, plan_id, 1, json.dumps(PLAN), "[]", users[f"L{loc:02d}"], now)
            )
    con.executemany(
        "INSERT INTO care_plans (id, nhs_number, current_version) VALUES (?, ?, ?)", plans
    )
    con.executemany(
        "INSERT INTO care_plan_versions (id, care_plan_id, version, content, changes, "
        "changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        versions,
    )
    con.commit()
    con.close()


def make_tokens(db: Path, n: int) -> list[dict[str, object]]:
    """A bearer token per simulated client (co-ordinators across the localities), with the
    care plans of its locality."""
    from sqlalchemy import select

    from careweave.security import auth
    from careweave.store.db import make_engine, session_factory, transaction
    from careweave.store.models import CarePlan, Person, User

    engine = make_engine(f"sqlite:///{db}")
    out: list[dict[str, object]] = []
    now = dt.datetime.now(dt.UTC)
    with transaction(session_factory(engine)) as s:
        for i in range(n):
            loc = i % LOCALITIES
            user = s.execute(select(User).where(User.username == f"cc{loc:02d}")).scalar_one()
            plans = list(
                s.execute(
                    select(CarePlan.id)
                    .join(Person, Person.nhs_number == CarePlan.nhs_number)
                    .where(Person.locality_id == f"L{loc:02d}")
                ).scalars()
            )
            out.append(
                {"token": auth.issue_token(s, user, "bench", now), "loc": loc, "plans": plans}
            )
    engine.dispose()
    return out
