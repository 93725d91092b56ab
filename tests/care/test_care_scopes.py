"""Integration tokens carry scopes (event types, organisations); the events API refuses
an out-of-scope event with 403 in words, audited; the CLI issues scoped tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from care_world import ELSEWHERE, MRS_JONES, World
from sqlalchemy import select

from careweave.cli.main import main
from careweave.security import auth
from careweave.store.models import AuditEntry, User


def _scoped(w: World) -> dict[str, str]:
    with w.session() as s, s.begin():
        feed = s.execute(select(User).where(User.username == "feed")).scalar_one()
        token = auth.issue_token(
            s, feed, "pas", w.clock(), event_types=["admission", "discharge"], orgs=["P1"]
        )
    return {"Authorization": f"Bearer {token}"}


def _event(w: World, h: dict[str, str], nhs: str, kind: str) -> object:
    body = {"nhs_number": nhs, "type": kind, "occurred_at": w.clock.now.isoformat()}
    return w.client.post("/events", json=body, headers=h)


def test_a_scoped_token_posts_only_its_events_for_its_organisations(sqlite_world: World) -> None:
    w = sqlite_world
    h = _scoped(w)
    assert _event(w, h, MRS_JONES, "admission").status_code == 200  # type: ignore[attr-defined]
    r = _event(w, h, MRS_JONES, "death")
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert "may post only admission, discharge events, not death" in r.json()["detail"]  # type: ignore[attr-defined]
    r = _event(w, h, ELSEWHERE, "admission")
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert "outside this token's organisations (P1)" in r.json()["detail"]  # type: ignore[attr-defined]
    with w.session() as s:
        refused = list(
            s.execute(
                select(AuditEntry.detail).where(
                    AuditEntry.action == "refused", AuditEntry.actor == "feed"
                )
            ).scalars()
        )
    assert len(refused) == 2 and all("token scope" in d for d in refused)
    # The account's unscoped token is unchanged (the feed's whole permission).
    assert _event(w, w.h("feed"), ELSEWHERE, "death").status_code == 200  # type: ignore[attr-defined]


def test_the_cli_issues_scoped_tokens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["db", "upgrade", "--db", db]) == 0
    assert (
        main(
            [
                "users",
                "add",
                "pas",
                "--role",
                "integration",
                "--name",
                "PAS feed",
                "--no-password",
                "--db",
                db,
            ]
        )
        == 0
    )
    capsys.readouterr()
    args = ["users", "token", "pas", "--name", "pas", "--db", db]
    assert main([*args, "--event-type", "admission", "--org", "W91001"]) == 0
    assert capsys.readouterr().out.startswith("cw_")
    assert main([*args, "--event-type", "coronation"]) == 2
    assert "--event-type: coronation is not one of" in capsys.readouterr().err
