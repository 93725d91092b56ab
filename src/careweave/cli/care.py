"""Care co-ordination commands: ``db upgrade``, ``sync``, ``serve`` and ``care-config``.

Events, audit, users and referrals have their own modules
(:mod:`~careweave.cli.events`, :mod:`~careweave.cli.audit`,
:mod:`~careweave.cli.users`, :mod:`~careweave.cli.referrals`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from careweave.cli.common import Db, config_dir, now, open_store

db_app = typer.Typer(help="Operational store administration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.command("sync")(sync_cmd)
    app.command("serve")(serve)
    app.command("care-config")(care_config)


@db_app.command("upgrade")
def db_upgrade(db: Db = None) -> None:
    """Create or migrate the store to the newest schema and seed the service directory."""
    from careweave.care import config
    from careweave.care.referrals import seed_services
    from careweave.store.db import transaction

    sessions = open_store(db)
    with transaction(sessions) as s:
        n = seed_services(s, config.load(config_dir()), now())
    typer.echo(f"store at newest schema; {n} services seeded")


def sync_cmd(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse file")],
    db: Db = None,
) -> None:
    """Sync the people index and latest risk scores from the warehouse (updates in place)."""
    from careweave.care.sync import sync
    from careweave.store.db import transaction

    sessions = open_store(db)
    with transaction(sessions) as s:
        r = sync(s, warehouse, now())
    typer.echo(
        f"people index: {r.added} added, {r.updated} updated, {r.with_scores} with a risk "
        f"score; {r.organisations} organisations; {r.relationships} relationships"
    )


def serve(
    db: Db = None,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse", help="Warehouse the workbench reads; default $CAREWEAVE_WAREHOUSE"
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Default $CAREWEAVE_HOST or 127.0.0.1")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Default $CAREWEAVE_PORT or 8000")
    ] = None,
    insecure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--insecure-cookies", help="Session cookies without Secure (plain-HTTP dev only)"
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Worker processes; default $CAREWEAVE_WORKERS or 1"),
    ] = None,
) -> None:
    """Run the HTTP API and workbench (OpenAPI at /docs); GET /health is 200 when the store is up."""
    from careweave.server import serve as run
    from careweave.settings import Settings

    run(
        Settings.load(
            db=db,
            warehouse=warehouse,
            host=host,
            port=port,
            insecure_cookies=insecure_cookies,
            workers=workers,
        )
    )


def care_config(
    directory: Annotated[
        Path | None,
        typer.Option("--config-dir", help="Override directory (default $CAREWEAVE_CONFIG_DIR)"),
    ] = None,
) -> None:
    """Validate the care rules files (shipped defaults plus any overrides)."""
    from careweave.care import config

    cfg = config.load(config_dir(directory))
    n_t = sum(len(v) for v in cfg.templates.values())
    typer.echo(
        f"rules valid: {len(cfg.routing.rules)} routing rules, {len(cfg.telehealth.rules)} "
        f"telehealth rules, {n_t} assessment templates, {len(cfg.services.services)} services"
    )
