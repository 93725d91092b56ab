"""Leavers and leaked tokens: an administrator revokes a feed's API tokens or deactivates a
departing member of staff; from the next request their tokens and browser sessions are
refused and they cannot sign in, while their history stays. Audited."""

from __future__ import annotations

from care_world import World
from sqlalchemy import select

from careweave.cli.main import main
from careweave.security import audit, auth
from careweave.store.models import AuditEntry, User


def _user(w: World, username: str) -> User:
    with w.session() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one()
        s.expunge(u)
        return u


def _audited(w: World, action: str) -> list[str]:
    with w.session() as s:
        return list(
            s.execute(select(AuditEntry.detail).where(AuditEntry.action == action)).scalars()
        )


def test_revoking_a_feeds_tokens_by_name(world: World) -> None:
    w = world
    feed = _user(w, "feed")
    spare = w.post("admin", f"/users/{feed.id}/tokens", {"name": "spare"}).json()["token"]
    assert w.client.get("/auth/me", headers={"Authorization": f"Bearer {spare}"}).status_code == 200
    r = w.post("admin", f"/users/{feed.id}/tokens/revoke", {"name": "spare"})
    assert r.status_code == 200 and r.json() == {"tokens_revoked": 1, "sessions_ended": 0}
    assert w.client.get("/auth/me", headers={"Authorization": f"Bearer {spare}"}).status_code == 401
    assert w.get("feed", "/auth/me").status_code == 200  # its "test" token still works
    assert w.post("admin", f"/users/{feed.id}/tokens/revoke", {}).json()["tokens_revoked"] == 1
    assert w.get("feed", "/auth/me").status_code == 401
    assert _audited(w, "revoke_tokens") == [
        "name=spare; tokens_revoked=1",
        "name=*; tokens_revoked=1",
    ]
    assert w.post("cc", f"/users/{feed.id}/tokens/revoke", {}).status_code == 403


def test_deactivating_a_leaver_ends_sessions_tokens_and_sign_in(world: World) -> None:
    w = world
    with w.session() as s, s.begin():
        u = s.execute(select(User).where(User.username == "dn")).scalar_one()
        u.password_hash = None
        auth.unlock(u)
        cookie, _ = auth.start_session(s, u, w.clock())
    dn = _user(w, "dn")
    assert w.client.get("/auth/me", cookies={"cw_session": cookie}).status_code == 200
    r = w.post("admin", f"/users/{dn.id}/deactivate")
    assert r.status_code == 200 and r.json() == {"tokens_revoked": 1, "sessions_ended": 1}
    assert w.get("dn", "/auth/me").status_code == 401
    w.client.cookies.clear()
    assert w.client.get("/auth/me", cookies={"cw_session": cookie}).status_code == 401
    assert _user(w, "dn").active is False
    assert _audited(w, "deactivate") == ["sessions_ended=1; tokens_revoked=1"]
    admin = _user(w, "admin")
    r = w.post("admin", f"/users/{admin.id}/deactivate")
    assert r.status_code == 422 and "own account" in r.json()["detail"]
    with w.session() as s:
        assert audit.verify(s).intact


def test_cli_deactivate_and_revoke(world: World, capsys) -> None:  # type: ignore[no-untyped-def]
    w = world
    assert main(["users", "revoke-tokens", "feed", "--name", "test", "--db", w.url]) == 0
    assert "feed: 1 tokens revoked" in capsys.readouterr().out
    assert w.get("feed", "/auth/me").status_code == 401
    assert main(["users", "deactivate", "sw", "--db", w.url]) == 0
    assert "sw deactivated: 0 sessions ended, 1 tokens revoked" in capsys.readouterr().out
    assert w.get("sw", "/auth/me").status_code == 401
    assert main(["users", "deactivate", "nobody", "--db", w.url]) == 2
    assert "username: no user 'nobody'" in capsys.readouterr().err
