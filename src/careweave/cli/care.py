"""Care co-ordination commands: store, sync, serve, events, audit, users, referrals."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from careweave.errors import CareweaveError, InputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from careweave.store.models import User


class AuditChainBroken(CareweaveError):
    """Not a usage error: the store's audit log has been tampered with."""

    exit_code = 1


DB_HELP = "Store URL (sqlite:///file.db or postgresql+psycopg://...); default $CAREWEAVE_DB or sqlite:///careweave.db"


def _db(url: str | None) -> str:
    return url or os.environ.get("CAREWEAVE_DB") or "sqlite:///careweave.db"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _parse_time(value: str, where: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"{where}: {value!r} is not an ISO 8601 time") from e
    if t.tzinfo is None:
        raise InputError(f"{where}: give a time zone (e.g. {value}Z)")
    return t


def _open(url: str | None) -> sessionmaker[Session]:
    """Sessions on the store at ``url`` (migrated to the newest schema first)."""
    from careweave.store.db import make_engine, session_factory, upgrade

    engine = make_engine(_db(url))
    upgrade(engine)
    return session_factory(engine)


def _user_named(session: Session, username: str) -> User:
    from sqlalchemy import select

    from careweave.store.models import User

    u = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if u is None:
        raise InputError(f"username: no user {username!r}")
    return u


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Operational store administration.", no_args_is_help=True)
    events_app = typer.Typer(help="Events into the care co-ordination store.", no_args_is_help=True)
    audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
    users_app = typer.Typer(help="User accounts and API tokens.", no_args_is_help=True)
    ref_app = typer.Typer(help="Referrals and response standards.", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(events_app, name="events")
    app.add_typer(audit_app, name="audit")
    app.add_typer(users_app, name="users")
    app.add_typer(ref_app, name="referrals")

    @db_app.command("upgrade")
    def db_upgrade(db: str = typer.Option(None, "--db", help=DB_HELP)) -> None:
        """Create or migrate the store to the newest schema and seed the service directory."""
        from careweave.care import config
        from careweave.care.referrals import seed_services
        from careweave.store.db import transaction

        sessions = _open(db)
        with transaction(sessions) as s:
            n = seed_services(s, config.load(), _now())
        typer.echo(f"store at newest schema; {n} services seeded")

    @app.command("sync")
    def sync_cmd(
        warehouse: Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse file")],
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Sync the people index and latest risk scores from the warehouse (updates in place)."""
        from careweave.care.sync import sync
        from careweave.store.db import transaction

        sessions = _open(db)
        with transaction(sessions) as s:
            r = sync(s, warehouse, _now())
        typer.echo(
            f"people index: {r.added} added, {r.updated} updated, {r.with_scores} with a risk "
            f"score; {r.organisations} organisations"
        )

    @app.command("serve")
    def serve(
        db: str = typer.Option(None, "--db", help=DB_HELP),
        host: str = typer.Option("127.0.0.1", "--host"),
        port: int = typer.Option(8000, "--port", min=1, max=65535),
        insecure_cookies: bool = typer.Option(
            False, "--insecure-cookies", help="Session cookies without Secure (plain-HTTP dev only)"
        ),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes"),
    ) -> None:
        """Run the HTTP API (OpenAPI at /docs); GET /health answers 200 when the store is up."""
        import uvicorn

        from careweave.api import create_app

        app_ = create_app(_db(db), cookie_secure=not insecure_cookies)  # migrates, seeds
        if workers == 1:
            uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)
            return
        os.environ["CAREWEAVE_DB"] = _db(db)
        os.environ["CAREWEAVE_INSECURE_COOKIES"] = "1" if insecure_cookies else "0"
        uvicorn.run(
            "careweave.api.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )

    @events_app.command("replay")
    def replay(
        file: Annotated[
            Path, typer.Argument(help="JSON lines: nhs_number, type, occurred_at, ...")
        ],
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Replay events from a JSON-lines file in one transaction (all or nothing).

        Lines with an external_id already in the store are skipped, so replay is idempotent.
        """
        import orjson
        from pydantic import ValidationError

        from careweave.api.schemas import EventIn
        from careweave.care import config, events
        from careweave.care.context import Ctx, system_user
        from careweave.security.errors import DomainError
        from careweave.store.db import transaction

        if not file.is_file():
            raise InputError(f"{file}: no such file")
        sessions = _open(db)
        cfg = config.load()
        counts = {"new": 0, "duplicate": 0, "notifications": 0, "tasks": 0, "alerts": 0}
        with transaction(sessions) as s, file.open("rb") as fh:
            ctx = Ctx(s, system_user(s, _now()), _now(), cfg)
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{file}:{lineno}"
                try:
                    ev = EventIn.model_validate(orjson.loads(line))
                    routed = events.ingest(
                        ctx,
                        ev.nhs_number,
                        ev.type,
                        ev.occurred_at,
                        dict(ev.payload),
                        ev.external_id,
                        source=f"replay:{file.name}",
                    )
                except orjson.JSONDecodeError as e:
                    raise InputError(f"{where}: not JSON ({e})") from e
                except ValidationError as e:
                    err = e.errors()[0]
                    field = ".".join(str(p) for p in err["loc"])
                    raise InputError(f"{where}: {field}: {err['msg']}") from e
                except DomainError as e:
                    raise InputError(f"{where}: {e}") from e
                counts["duplicate" if routed.duplicate else "new"] += 1
                counts["notifications"] += len(routed.notifications)
                counts["tasks"] += len(routed.tasks)
                counts["alerts"] += len(routed.alerts)
        typer.echo(
            "events: {new} new, {duplicate} already seen; {notifications} notifications, "
            "{tasks} tasks, {alerts} telehealth alerts".format(**counts)
        )

    @audit_app.command("verify")
    def verify(
        db: str = typer.Option(None, "--db", help=DB_HELP),
        anchors: Annotated[
            Path | None,
            typer.Option(
                "--anchors",
                help="File of anchors written by `careweave audit anchor`: each anchored entry "
                "must still be in the chain with the same hash",
            ),
        ] = None,
    ) -> None:
        """Check the audit chain: exit 0 with the count, or exit 1 naming the first bad entry
        (or the first anchor the chain no longer matches)."""
        from careweave.security import audit
        from careweave.store.db import open_existing, session_factory

        marks = audit.read_anchors(anchors) if anchors is not None else []
        sessions = session_factory(open_existing(_db(db)))
        with sessions() as s:
            v = audit.verify(s, marks)
        if v.intact:
            extra = f"; {len(marks)} anchors match" if anchors is not None else ""
            typer.echo(f"audit chain intact: {v.count} entries{extra}")
            return
        raise AuditChainBroken(
            f"audit chain broken at {v.problem} ({v.count} entries verified before it)"
        )

    @audit_app.command("anchor")
    def anchor(
        db: str = typer.Option(None, "--db", help=DB_HELP),
        append: Annotated[
            Path | None,
            typer.Option(
                "--append",
                help="Also append the anchor to this file (created if missing); keep it "
                "outside the database's host or on write-once storage",
            ),
        ] = None,
    ) -> None:
        """Print the chain's tip (sequence number and hash) as one JSON line, after checking
        the chain; exit 1 without anchoring if it is broken. Run it on a schedule (e.g. daily)
        and keep the lines where the database's administrators cannot rewrite them."""
        from careweave.security import audit
        from careweave.store.db import open_existing, session_factory

        sessions = session_factory(open_existing(_db(db)))
        with sessions() as s:
            tip = audit.head(s, _now())
            v = audit.verify(s, [tip])
        if not v.intact:
            raise AuditChainBroken(
                f"audit chain broken at {v.problem} ({v.count} entries verified before it); "
                "not anchored"
            )
        line = tip.line()
        if append is not None:
            try:
                with append.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise InputError(f"--append {append}: cannot write ({e.strerror})") from e
        typer.echo(line)

    @users_app.command("add")
    def users_add(
        username: str = typer.Argument(...),
        role: str = typer.Option(..., "--role", help="clinician, care_coordinator, ..."),
        name: str = typer.Option(..., "--name", help="Display name"),
        org: str = typer.Option(None, "--org", help="Organisation (e.g. GP practice) org_id"),
        locality: str = typer.Option(None, "--locality", help="Locality team org_id"),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from stdin (else prompt)"
        ),
        no_password: bool = typer.Option(
            False, "--no-password", help="API-token-only account (e.g. integration feeds)"
        ),
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Create a user account (administrators bootstrap with this)."""
        from careweave.security import audit, auth
        from careweave.store.db import transaction

        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif not no_password:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        sessions = _open(db)
        with transaction(sessions) as s:
            u = auth.create_user(
                s,
                username=username,
                display_name=name,
                role=role,
                password=password,
                org_id=org,
                locality_id=locality,
                now=_now(),
            )
            audit.record(
                s, actor="cli", action="write", resource="user", resource_id=u.id, now=_now()
            )
            uid = u.id
        typer.echo(f"user {username} ({role}) created with id {uid}")

    @users_app.command("token")
    def users_token(
        username: str = typer.Argument(...),
        name: str = typer.Option("cli", "--name", help="What the token is for"),
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Issue a bearer token for a user; printed once."""
        from careweave.security import auth
        from careweave.store.db import transaction

        sessions = _open(db)
        with transaction(sessions) as s:
            token = auth.issue_token(s, _user_named(s, username), name, _now())
        typer.echo(token)

    @users_app.command("unlock")
    def users_unlock(
        username: str = typer.Argument(...),
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Clear a lockout after repeated failed logins."""
        from careweave.security import auth
        from careweave.store.db import transaction

        sessions = _open(db)
        with transaction(sessions) as s:
            auth.unlock(_user_named(s, username))
        typer.echo(f"user {username} unlocked")

    @users_app.command("deactivate")
    def users_deactivate(
        username: str = typer.Argument(...),
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """A leaver: no more sign-in, browser sessions ended, API tokens revoked (audited)."""
        from careweave.security import auth
        from careweave.store.db import transaction

        sessions = _open(db)
        with transaction(sessions) as s:
            ended, revoked = auth.deactivate(s, _user_named(s, username), _now(), actor="cli")
        typer.echo(f"user {username} deactivated: {ended} sessions ended, {revoked} tokens revoked")

    @users_app.command("revoke-tokens")
    def users_revoke_tokens(
        username: str = typer.Argument(...),
        name: Annotated[
            str | None,
            typer.Option("--name", help="Only the tokens issued with this name (default: all)"),
        ] = None,
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Revoke a user's API tokens, e.g. a feed's leaked token (audited)."""
        from careweave.security import auth
        from careweave.store.db import transaction

        sessions = _open(db)
        with transaction(sessions) as s:
            u = _user_named(s, username)
            revoked = auth.revoke_tokens(s, u, _now(), actor="cli", name=name)
        typer.echo(f"user {username}: {revoked} tokens revoked")

    @ref_app.command("check-breaches")
    def breaches(
        at: str = typer.Option(None, "--at", help="Check as at this ISO time (default now)"),
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Flag referrals past their response standard; alert referrer and service contact."""
        from careweave.care.referrals import check_breaches
        from careweave.store.db import transaction

        when = _parse_time(at, "--at") if at else _now()
        sessions = _open(db)
        with transaction(sessions) as s:
            found = check_breaches(s, when, "cli")
            lines = [f"referral {r.id} to {r.service_id} ({r.urgency})" for r in found]
        for line in lines:
            typer.echo(line)
        typer.echo(f"{len(lines)} referral(s) newly in breach")

    @app.command("care-config")
    def care_config(
        config_dir: Annotated[
            Path | None,
            typer.Option("--config-dir", help="Override directory (default $CAREWEAVE_CONFIG_DIR)"),
        ] = None,
    ) -> None:
        """Validate the care rules files (shipped defaults plus any overrides)."""
        from careweave.care import config

        cfg = config.load(config_dir)
        n_t = sum(len(v) for v in cfg.templates.values())
        typer.echo(
            f"rules valid: {len(cfg.routing.rules)} routing rules, {len(cfg.telehealth.rules)} "
            f"telehealth rules, {n_t} assessment templates, {len(cfg.services.services)} services"
        )
