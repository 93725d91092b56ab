"""The administrator's Users page: unlock, revoke API tokens, deactivate a leaver (typed
confirmation), all by plain form posts with the CSRF token; refused to other roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import sign_in

from careweave.security import auth
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import AuditEntry, User

Client = Callable[[str], tuple[TestClient, str]]
PASSWORD = "leaver-password-123"


def _leaver(demo_db: str) -> tuple[int, str]:
    """A member of staff with a password, an API token and a lockout."""
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(demo_db)
    with transaction(session_factory(engine)) as s:
        u = auth.create_user(
            s,
            username="leaver.test",
            display_name="Leaving Clinician",
            role="clinician",
            password=PASSWORD,
            org_id="P1",
            now=now,
        )
        token = auth.issue_token(s, u, "laptop", now)
        u.locked_until = now + dt.timedelta(minutes=15)
        uid = u.id
    engine.dispose()
    return uid, token


def test_users_page_unlock_revoke_and_deactivate(client_for: Client, demo_db: str) -> None:
    uid, token = _leaver(demo_db)
    c, csrf = client_for("demo.admin")
    page = c.get("/app/users")
    assert page.status_code == 200 and 'href="/app/users"' in page.text
    row = page.text.split(f'id="user-{uid}"')[1].split("</tr>")[0]
    assert "leaver.test" in row and "Locked" in row and "Revoke API tokens" in row

    r = c.post(f"/app/users/{uid}/unlock", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = c.post(f"/app/users/{uid}/revoke-tokens", data={"csrf_token": csrf})
    row = r.text.split(f'id="user-{uid}"')[1].split("</tr>")[0]
    assert "Active" in row and "Revoke API tokens" not in row
    bearer = TestClient(c.app)
    assert bearer.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    # The leaver signs in once more; deactivation then ends that session too.
    leaver = TestClient(c.app)
    sign_in(leaver, "leaver.test", PASSWORD)
    assert leaver.get("/app/").status_code == 200
    r = c.post(f"/app/users/{uid}/deactivate", data={"csrf_token": csrf, "confirm": "leaver"})
    assert r.status_code == 422
    assert "enter the username leaver.test to confirm deactivating the account" in r.text
    r = c.post(f"/app/users/{uid}/deactivate", data={"csrf_token": csrf, "confirm": "leaver.test"})
    assert r.status_code == 200 and "Deactivated" in r.text.split(f'id="user-{uid}"')[1]
    assert leaver.get("/app/", follow_redirects=False).status_code == 303  # to sign-in
    r = TestClient(c.app).post(
        "/auth/login", json={"username": "leaver.test", "password": PASSWORD}
    )
    assert r.status_code == 401

    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        actions = set(
            s.execute(
                select(AuditEntry.action).where(
                    AuditEntry.resource == "user", AuditEntry.resource_id == str(uid)
                )
            ).scalars()
        )
        assert {"write", "revoke_tokens", "deactivate"} <= actions
        assert s.execute(select(User.active).where(User.id == uid)).scalar_one() is False
    engine.dispose()
    for client in (bearer, leaver):
        client.close()


def test_users_page_is_for_administrators_only(client_for: Client) -> None:
    c, csrf = client_for("coordinator")
    assert 'href="/app/users"' not in c.get("/app/").text
    assert c.get("/app/users").status_code == 403
    assert c.post("/app/users/1/deactivate", data={"csrf_token": csrf}).status_code == 403
    admin, _ = client_for("demo.admin")
    me = admin.get("/auth/me").json()["id"]
    r = admin.post(f"/app/users/{me}/unlock", data={})
    assert r.status_code == 403 and "CSRF" in r.text
