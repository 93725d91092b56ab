"""``careweave events replay``: events from a JSON-lines file into the care store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from careweave.cli.common import Db, config_dir, now, open_store
from careweave.errors import InputError

events_app = typer.Typer(help="Events into the care co-ordination store.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")


@events_app.command("replay")
def replay(
    file: Annotated[Path, typer.Argument(help="JSON lines: nhs_number, type, occurred_at, ...")],
    db: Db = None,
) -> None:
    """Replay events from a JSON-lines file in one transaction (all or nothing).

    Lines with an external_id already in the store are skipped, so replay is idempotent.
    The shipped service directory is added first where the store lacks it (as the API
    does at start-up), so that tasks routed to a service's duty queue have their queue.
    """
    from careweave.care import config
    from careweave.care.context import Ctx, system_user
    from careweave.care.referrals import seed_services
    from careweave.care.replay import replay as replay_events
    from careweave.store.db import transaction

    if not file.is_file():
        raise InputError(f"{file}: no such file")
    sessions = open_store(db)
    cfg = config.load(config_dir())
    with transaction(sessions) as s, file.open("rb") as lines:
        at = now()
        seed_services(s, cfg, at)
        ctx = Ctx(s, system_user(s, at), at, cfg)
        counts = replay_events(ctx, lines, where=str(file), source=f"replay:{file.name}")
    typer.echo(
        f"events: {counts.new} new, {counts.duplicate} already seen; {counts.notifications} "
        f"notifications, {counts.tasks} tasks, {counts.alerts} telehealth alerts"
    )
