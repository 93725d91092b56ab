"""Refused access attempts are audited in their own transaction (surviving the refused
request's rollback) and listed for administrators on the Refused access page."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory
from careweave.store.models import AuditEntry, Episode, Person

Client = Callable[[str], tuple[TestClient, str]]


def _mrs_jones(demo_db: str) -> str:
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        nhs = s.execute(
            select(Person.nhs_number)
            .join(Episode, Episode.nhs_number == Person.nhs_number)
            .where(Person.family_name == "Jones", Person.sex == "female")
        ).scalar_one()
    engine.dispose()
    return nhs


def _refusals(demo_db: str) -> list[AuditEntry]:
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        rows = list(
            s.execute(
                select(AuditEntry).where(AuditEntry.action == "refused").order_by(AuditEntry.seq)
            ).scalars()
        )
    engine.dispose()
    return rows


def test_a_refused_attempt_is_audited_and_listed_for_administrators(
    client_for: Client, demo_db: str
) -> None:
    nhs = _mrs_jones(demo_db)
    before = len(_refusals(demo_db))
    outsider, csrf = client_for("gp.elsewhere")
    # A write refused for want of a relationship: the request rolls back, the refusal stays.
    r = outsider.post(
        f"/app/people/{nhs}/referrals/new",
        data={"csrf_token": csrf, "service_id": "falls-service", "urgency": "routine"},
    )
    assert r.status_code == 403
    # A page for administrators only: refused on the role.
    assert outsider.get("/app/refused-access").status_code == 403
    new = _refusals(demo_db)[before:]
    assert [(e.actor, e.nhs_number) for e in new] == [("gp.elsewhere", nhs), ("gp.elsewhere", None)]
    assert new[0].detail == "attempted=write; why=no legitimate relationship"
    assert new[1].detail.startswith("attempted=read; why=audit: role 'clinician' may not read")

    admin, _ = client_for("demo.admin")
    page = admin.get("/app/refused-access")
    assert page.status_code == 200
    assert 'href="/app/refused-access"' in page.text
    assert f'id="refusal-{new[0].seq}"' in page.text
    assert "no legitimate relationship" in page.text and nhs in page.text
    assert "gp.elsewhere" in page.text
    # Viewing the page is audited as one entry naming the people on it.
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        seen = (
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.actor == "demo.admin", AuditEntry.resource == "audit")
                .order_by(AuditEntry.seq.desc())
            )
            .scalars()
            .first()
        )
    engine.dispose()
    assert seen is not None and nhs in seen.detail


def test_the_refused_access_page_is_not_in_other_roles_menus(client_for: Client) -> None:
    c, _ = client_for("coordinator")
    assert 'href="/app/refused-access"' not in c.get("/app/").text
    assert c.get("/app/refused-access").status_code == 403
