"""``careweave synth``: write a synthetic dataset directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from careweave.errors import InputError


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: not a date (YYYY-MM-DD): {text!r}") from None


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)


def synth(
    out: Annotated[Path, typer.Option("--out", help="Dataset directory to write.")],
    people: Annotated[int, typer.Option("--people", help="Number of people.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same data.")] = 1,
    start: Annotated[str, typer.Option("--start", help="First day of the span.")] = "2019-01-01",
    end: Annotated[str, typer.Option("--end", help="Last day of the span.")] = "2023-12-31",
    case_management_effect: Annotated[
        float,
        typer.Option(
            "--case-management-effect",
            help="Relative change of an enrolled person's emergency-admission rate while "
            "in case management (e.g. -0.2 for 20% fewer; default 0: no effect).",
        ),
    ] = 0.0,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
) -> None:
    """Generate a synthetic UK-like population and its activity as a dataset directory."""
    from careweave.cli.progress import count_progress
    from careweave.settings import Settings
    from careweave.synth import generate

    s, e = _date(start, "--start"), _date(end, "--end")
    workers = Settings.load().synth_workers
    if progress:
        with count_progress("synth", "chunks") as on_chunk:
            manifest = generate(
                people,
                seed,
                s,
                e,
                out,
                progress=on_chunk,
                workers=workers,
                case_management_effect=case_management_effect,
            )
    else:
        manifest = generate(
            people, seed, s, e, out, workers=workers, case_management_effect=case_management_effect
        )
    typer.echo(f"wrote {people:,} people, {manifest.span_start} to {manifest.span_end}, to {out}")
