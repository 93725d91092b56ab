"""``careweave audit verify|anchor``: check the hash-chained audit log and anchor its tip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from careweave.cli.common import AuditChainBroken, Db, now, store_url
from careweave.errors import InputError

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(
    db: Db = None,
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            help="File of anchors written by `careweave audit anchor`: each anchored entry "
            "must still be in the chain with the same hash",
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Also record the outcome in the audit log (action 'verify'), so the maturity "
            "evidence can show when the chain was last checked",
        ),
    ] = False,
) -> None:
    """Check the audit chain: exit 0 with the count, or exit 1 naming the first bad entry
    (or the first anchor the chain no longer matches)."""
    from careweave.security import audit
    from careweave.store.db import open_existing, session_factory, transaction

    marks = audit.read_anchors(anchors) if anchors is not None else []
    sessions = session_factory(open_existing(store_url(db)))
    with sessions() as s:
        v = audit.verify(s, marks)
    if record:
        outcome = f"intact: {v.count} entries" if v.intact else f"broken: {v.problem}"
        with transaction(sessions) as s:
            audit.record(
                s, actor="system", action="verify", resource="audit_log", detail=outcome, now=now()
            )
    if v.intact:
        extra = f"; {len(marks)} anchors match" if anchors is not None else ""
        typer.echo(f"audit chain intact: {v.count} entries{extra}")
        return
    raise AuditChainBroken(
        f"audit chain broken at {v.problem} ({v.count} entries verified before it)"
    )


@audit_app.command("anchor")
def anchor(
    db: Db = None,
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

    sessions = session_factory(open_existing(store_url(db)))
    with sessions() as s:
        tip = audit.head(s, now())
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
