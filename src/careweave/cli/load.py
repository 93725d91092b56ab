"""``careweave load``: validate a dataset directory and load it into a DuckDB warehouse;
``careweave load-report``: print the counts and data-quality report of earlier loads."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("load")(load)
    app.command("load-report")(load_report)


def load(
    directory: Path = typer.Argument(..., help="Dataset directory (manifest.json + tables)."),
    warehouse: Path = typer.Option(
        ..., "--warehouse", "-w", help="DuckDB warehouse file (created if absent)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or report."),
) -> None:
    """Validate DIRECTORY and load it into the warehouse, atomically and idempotently.

    Every row is loaded or quarantined with its reason; the counts and the
    data-quality report are printed at the end and kept in the warehouse.
    """
    from rich.console import Console

    from careweave.ingest import load_dataset, print_report

    report = load_dataset(directory, warehouse, progress=not quiet)
    if not quiet:
        print_report(report, Console())


def load_report(
    warehouse: Path = typer.Option(..., "--warehouse", "-w", help="DuckDB warehouse file."),
    batch: str | None = typer.Option(None, "--batch", help="One batch id (default: all)."),
) -> None:
    """Print the counts and data-quality report of the loads recorded in a warehouse."""
    from rich.console import Console

    from careweave.ingest import print_report, read_reports

    console = Console()
    for report in read_reports(warehouse, batch):
        print_report(report, console)
