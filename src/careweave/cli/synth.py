"""``careweave synth``: write a synthetic dataset directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from careweave.errors import InputError


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: not a date (YYYY-MM-DD): {text!r}") from None


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth(
        people: int = typer.Option(100_000, "--people", help="Number of people."),
        seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same dataset)."),
        start: str = typer.Option("2019-01-01", "--start", help="First day of the span."),
        end: str = typer.Option("2023-12-31", "--end", help="Last day of the span."),
        out: Path = typer.Option(..., "--out", help="Dataset directory to write."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    ) -> None:
        """Generate a synthetic UK-like population and its activity as a dataset directory."""
        from careweave.synth import generate

        s, e = _date(start, "--start"), _date(end, "--end")
        manifest = generate(people, seed, s, e, out, progress=progress)
        typer.echo(
            f"wrote {people:,} people, {manifest.span_start} to {manifest.span_end}, to {out}"
        )
