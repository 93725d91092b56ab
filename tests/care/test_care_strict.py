"""Strict input: date-times and dates are ISO 8601 text (a bare number is refused with
422 in words); "already read / withdrawn / reviewed" is 409 as documented; the CLI meets
the API's length limits because both go through the same domain checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from care_world import MRS_JONES, World, join_teams

from careweave.cli.main import main


def test_bare_numbers_are_not_date_times(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    r = w.post("cc", "/mdt", {"title": "MDT", "held_at": 0, "agenda": [MRS_JONES]})
    assert r.status_code == 422
    assert "held_at" in r.text and "ISO 8601" in r.text
    r = w.post(
        "feed",
        "/events",
        {"nhs_number": MRS_JONES, "type": "ae_attendance", "occurred_at": 1_700_000_000},
    )
    assert r.status_code == 422 and "occurred_at" in r.text
    meeting = w.post(
        "cc", "/mdt", {"title": "MDT", "held_at": w.clock.now.isoformat(), "agenda": [MRS_JONES]}
    ).json()["id"]
    action = {"title": "Visit", "owner_user_id": w.ids["cc"], "due_date": 0}
    r = w.post(
        "cc",
        f"/mdt/{meeting}/decisions",
        {"nhs_number": MRS_JONES, "decision": "Review", "actions": [action]},
    )
    assert r.status_code == 422 and "due_date" in r.text
    # Text in ISO 8601 is of course fine.
    action["due_date"] = "2026-12-01"
    r = w.post(
        "cc",
        f"/mdt/{meeting}/decisions",
        {"nhs_number": MRS_JONES, "decision": "Review", "actions": [action]},
    )
    assert r.status_code == 201, r.text


def test_repeats_are_conflicts(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    w.event(MRS_JONES, "ae_attendance", w.clock.now)
    n = w.inbox("dr_gp")[0]["id"]
    assert w.post("dr_gp", f"/notifications/{n}/read").status_code == 200
    r = w.post("dr_gp", f"/notifications/{n}/read")
    assert r.status_code == 409 and "already read" in r.json()["detail"]

    o = w.post("dr_gp", f"/people/{MRS_JONES}/objections", {"kind": "secondary_use"}).json()
    path = f"/people/{MRS_JONES}/objections/{o['id']}/withdraw"
    assert w.post("dr_gp", path).status_code == 200
    r = w.post("dr_gp", path)
    assert r.status_code == 409 and "already withdrawn" in r.json()["detail"]

    g = w.post("outsider", f"/people/{MRS_JONES}/break-glass", {"reason": "Collapsed in A&E"})
    assert g.status_code == 201, g.text
    path = f"/break-glass/{g.json()['id']}/review"
    assert w.post("admin", path, {"note": "appropriate"}).status_code == 200
    r = w.post("admin", path, {"note": "again"})
    assert r.status_code == 409 and "already reviewed" in r.json()["detail"]


def test_the_cli_has_the_apis_length_limits(
    sqlite_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = sqlite_world.post(
        "admin", "/users", {"username": "long", "display_name": "x" * 201, "role": "clinician"}
    )
    assert r.status_code == 422
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["db", "upgrade", "--db", db]) == 0
    args = ["users", "add", "long", "--role", "clinician", "--no-password", "--db", db]
    assert main([*args, "--name", "x" * 100_000]) == 2
    assert "display_name: at most 200 characters" in capsys.readouterr().err
    assert main([*args, "--name", "x" * 200]) == 0
    assert main(["users", "token", "long", "--name", "t" * 101, "--db", db]) == 2
    assert "name: a token name of 1-100 characters" in capsys.readouterr().err
