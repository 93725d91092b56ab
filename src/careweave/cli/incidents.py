"""``careweave incidents check-breaches``: fall alarms past the 2-hour standard."""

from __future__ import annotations

from typing import Annotated

import typer

from careweave.cli.common import Db, config_dir, now, open_store, parse_time

incidents_app = typer.Typer(help="Alarm incidents and the 2-hour standard.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")


@incidents_app.command("check-breaches")
def check_breaches(
    at: Annotated[
        str | None, typer.Option("--at", help="Check as at this ISO time (default now)")
    ] = None,
    db: Db = None,
) -> None:
    """Flag incidents with nobody arrived 2 hours after the alarm; tell everyone the alarm
    rule reaches (``careweave serve`` also does this every minute)."""
    from careweave.care import config
    from careweave.care.incidents import check_breaches as flag_breaches
    from careweave.store.db import transaction

    when = parse_time(at, "--at") if at else now()
    cfg = config.load(config_dir())
    sessions = open_store(db)
    with transaction(sessions) as s:
        found = flag_breaches(s, cfg, when, "cli")
        lines = [f"incident {i.reference} ({i.status})" for i in found]
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} incident(s) newly past the 2-hour standard")
