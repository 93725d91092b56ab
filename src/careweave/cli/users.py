"""``careweave users add|token|unlock|deactivate|revoke-tokens``: accounts and API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from careweave.cli.common import Db, now, open_store, user_named

users_app = typer.Typer(help="User accounts and API tokens.", no_args_is_help=True)

Username = Annotated[str, typer.Argument()]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: Username,
    role: Annotated[str, typer.Option("--role", help="clinician, care_coordinator, ...")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    org: Annotated[
        str | None, typer.Option("--org", help="Organisation (e.g. GP practice) org_id")
    ] = None,
    locality: Annotated[str | None, typer.Option("--locality", help="Locality team org_id")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (else prompt)")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="API-token-only account (e.g. integration feeds)")
    ] = False,
    db: Db = None,
) -> None:
    """Create a user account (administrators bootstrap with this)."""
    from careweave.security import audit, auth
    from careweave.store.db import transaction

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    sessions = open_store(db)
    with transaction(sessions) as s:
        u = auth.create_user(
            s,
            username=username,
            display_name=name,
            role=role,
            password=password,
            org_id=org,
            locality_id=locality,
            now=now(),
        )
        audit.record(s, actor="cli", action="write", resource="user", resource_id=u.id, now=now())
        uid = u.id
    typer.echo(f"user {username} ({role}) created with id {uid}")


@users_app.command("token")
def users_token(
    username: Username,
    name: Annotated[str, typer.Option("--name", help="What the token is for")] = "cli",
    event_type: Annotated[
        list[str] | None,
        typer.Option("--event-type", help="Scope: an event type it may post (repeat; default any)"),
    ] = None,
    org: Annotated[
        list[str] | None,
        typer.Option(
            "--org", help="Scope: a practice or locality code it may post for (repeat; default any)"
        ),
    ] = None,
    fhir_scope: Annotated[
        list[str] | None,
        typer.Option(
            "--fhir-scope",
            help="A SMART-style FHIR scope, e.g. user/Patient.read (repeat; docs/fhir.md)",
        ),
    ] = None,
    db: Db = None,
) -> None:
    """Issue a bearer token for a user; printed once. Scope a feed's token with
    --event-type and --org (docs/security.md), a FHIR client's with --fhir-scope."""
    from careweave.care.config import EVENT_TYPES
    from careweave.errors import InputError
    from careweave.security import auth
    from careweave.store.db import transaction

    unknown = sorted(set(event_type or []) - set(EVENT_TYPES))
    if unknown:
        raise InputError(
            f"--event-type: {', '.join(unknown)} is not one of {', '.join(EVENT_TYPES)}"
        )
    sessions = open_store(db)
    with transaction(sessions) as s:
        token = auth.issue_token(
            s,
            user_named(s, username),
            name,
            now(),
            event_types=event_type or None,
            orgs=org or None,
            fhir_scopes=fhir_scope or None,
        )
    typer.echo(token)


@users_app.command("unlock")
def users_unlock(username: Username, db: Db = None) -> None:
    """Clear a lockout after repeated failed logins."""
    from careweave.security import auth
    from careweave.store.db import transaction

    sessions = open_store(db)
    with transaction(sessions) as s:
        auth.unlock(user_named(s, username))
    typer.echo(f"user {username} unlocked")


@users_app.command("deactivate")
def users_deactivate(username: Username, db: Db = None) -> None:
    """A leaver: no more sign-in, browser sessions ended, API tokens revoked (audited)."""
    from careweave.security import auth
    from careweave.store.db import transaction

    sessions = open_store(db)
    with transaction(sessions) as s:
        ended, revoked = auth.deactivate(s, user_named(s, username), now(), actor="cli")
    typer.echo(f"user {username} deactivated: {ended} sessions ended, {revoked} tokens revoked")


@users_app.command("revoke-tokens")
def users_revoke_tokens(
    username: Username,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Only the tokens issued with this name (default: all)"),
    ] = None,
    db: Db = None,
) -> None:
    """Revoke a user's API tokens, e.g. a feed's leaked token (audited)."""
    from careweave.security import auth
    from careweave.store.db import transaction

    sessions = open_store(db)
    with transaction(sessions) as s:
        u = user_named(s, username)
        revoked = auth.revoke_tokens(s, u, now(), actor="cli", name=name)
    typer.echo(f"user {username}: {revoked} tokens revoked")
