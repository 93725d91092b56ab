"""Care co-ordination commands: ``db upgrade``, ``sync``, ``serve`` and ``care-config``.

Events, audit, users and referrals have their own modules
(:mod:`~careweave.cli.events`, :mod:`~careweave.cli.audit`,
:mod:`~careweave.cli.users`, :mod:`~careweave.cli.referrals`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from careweave.cli.common import Db, now, open_store, store_url

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
        n = seed_services(s, config.load(), now())
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
        f"score; {r.organisations} organisations"
    )


def serve(
    db: Db = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies", help="Session cookies without Secure (plain-HTTP dev only)"
        ),
    ] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes")] = 1,
) -> None:
    """Run the HTTP API (OpenAPI at /docs); GET /health answers 200 when the store is up."""
    import uvicorn

    from careweave.api import create_app

    app_ = create_app(store_url(db), cookie_secure=not insecure_cookies)  # migrates, seeds
    if workers == 1:
        uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)
        return
    os.environ["CAREWEAVE_DB"] = store_url(db)
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
