"""The CLI is thin and its commands are importable: every command is a module-level function
of a careweave.cli module (callable directly in a test), and register() only attaches them."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import typer

from careweave.cli import audit, care, referrals, users
from careweave.cli.main import build_app


def _commands(app: typer.Typer, prefix: str = "") -> list[tuple[str, object]]:
    found = [
        (prefix + (c.name or c.callback.__name__), c.callback)  # type: ignore[union-attr]
        for c in app.registered_commands
    ]
    for g in app.registered_groups:
        assert g.typer_instance is not None
        found += _commands(g.typer_instance, f"{prefix}{g.name} ")
    return found


def test_every_command_is_a_module_level_function() -> None:
    commands = _commands(build_app())
    assert len(commands) >= 20
    names = {name for name, _ in commands}
    assert {"events replay", "users add", "audit verify", "load", "import fhir"} <= names
    for name, callback in commands:
        assert callable(callback), name
        module = importlib.import_module(callback.__module__)  # type: ignore[attr-defined]
        assert module.__name__.startswith("careweave.cli."), name
        assert getattr(module, callback.__qualname__) is callback, (  # type: ignore[attr-defined]
            f"{name}: {callback.__qualname__} is not a module-level function"  # type: ignore[attr-defined]
        )
        assert "<locals>" not in callback.__qualname__  # type: ignore[attr-defined]
        assert inspect.getdoc(callback), f"{name}: no help text"


def test_commands_called_directly_as_functions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    care.db_upgrade(db=db)
    assert "services seeded" in capsys.readouterr().out
    users.users_add("feed", role="integration", name="Feed", no_password=True, db=db)
    assert "user feed (integration) created" in capsys.readouterr().out
    users.users_token("feed", db=db)
    token = capsys.readouterr().out.strip()
    assert len(token) > 20
    users.users_revoke_tokens("feed", db=db)
    assert "feed: 1 tokens revoked" in capsys.readouterr().out
    referrals.check_breaches(at="2026-11-01T00:00:00Z", db=db)
    assert "0 referral(s) newly in breach" in capsys.readouterr().out
    audit.verify(db=db)
    assert "audit chain intact" in capsys.readouterr().out
    care.care_config()
    assert "rules valid" in capsys.readouterr().out
