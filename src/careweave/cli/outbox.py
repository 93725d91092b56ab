"""``careweave outbox send`` / ``status``: the email and SMS waiting in the store's outbox."""

from __future__ import annotations

import typer

from careweave.cli.common import Db, now, open_store
from careweave.errors import InputError

outbox_app = typer.Typer(help="Email and SMS to contacts and opted-in staff.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


@outbox_app.command("send")
def send(db: Db = None) -> None:
    """Send what is due on the configured channels (CAREWEAVE_SMTP_HOST,
    CAREWEAVE_SMS_GATEWAY_URL); ``careweave serve`` does this every 0.2 s."""
    from careweave.care import outbox
    from careweave.settings import Settings

    channels = Settings.load().channels()
    if not channels.names():
        raise InputError(
            "CAREWEAVE_SMTP_HOST, CAREWEAVE_SMS_GATEWAY_URL: no channel configured to send on"
        )
    sessions = open_store(db)
    total = outbox.Drained()
    while True:
        d = outbox.drain(sessions, channels, now)
        total.sent, total.retried, total.failed = (
            total.sent + d.sent,
            total.retried + d.retried,
            total.failed + d.failed,
        )
        if d.sent + d.retried + d.failed < outbox.BATCH:
            break
    typer.echo(f"{total.sent} sent, {total.retried} to retry, {total.failed} refused")


@outbox_app.command("status")
def status(db: Db = None) -> None:
    """Messages in the outbox by channel and status (pending, sent, failed)."""
    from careweave.care import outbox
    from careweave.store.db import transaction

    with transaction(open_store(db)) as s:
        counts = outbox.counts(s)
    for (channel, state), n in sorted(counts.items()):
        typer.echo(f"{channel}\t{state}\t{n}")
    if not counts:
        typer.echo("the outbox is empty")
