"""``careweave extract``: the operational store's care co-ordination records as a dataset
directory for ``careweave load`` (docs/loading.md, "The operational store as a source")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from careweave.cli.common import Db, now, open_store
from careweave.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("extract")(extract_cmd)


def extract_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="New dataset directory to write (absent or empty).")
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Extract as at this day, YYYY-MM-DD (default: today, UTC)."),
    ] = None,
    db: Db = None,
) -> None:
    """Write the store's case-management episodes and care plans as a canonical dataset
    directory, for `careweave load` (the store is a source like any other)."""
    from careweave.care.extract import extract
    from careweave.store.db import transaction

    day = now().date()
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise InputError(f"--as-of: expected a date YYYY-MM-DD, got {as_of!r}") from None
    sessions = open_store(db)
    with transaction(sessions) as s:
        r = extract(s, out, day)
    typer.echo(
        f"{r.directory}: {r.episodes} case-management episodes, {r.care_plans} care plans, "
        f"{r.span_start} to {r.span_end}; load it with `careweave load {r.directory} "
        "--warehouse W --apply-corrections`"
    )
