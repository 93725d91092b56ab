"""``careweave referrals check-breaches``: referrals past their response standard."""

from __future__ import annotations

from typing import Annotated

import typer

from careweave.cli.common import Db, now, open_store, parse_time

referrals_app = typer.Typer(help="Referrals and response standards.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(referrals_app, name="referrals")


@referrals_app.command("check-breaches")
def check_breaches(
    at: Annotated[
        str | None, typer.Option("--at", help="Check as at this ISO time (default now)")
    ] = None,
    db: Db = None,
) -> None:
    """Flag referrals past their response standard; alert referrer and service contact."""
    from careweave.care.referrals import check_breaches as flag_breaches
    from careweave.store.db import transaction

    when = parse_time(at, "--at") if at else now()
    sessions = open_store(db)
    with transaction(sessions) as s:
        found = flag_breaches(s, when, "cli")
        lines = [f"referral {r.id} to {r.service_id} ({r.urgency})" for r in found]
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} referral(s) newly in breach")
