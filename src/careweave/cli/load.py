"""``careweave load``: validate a dataset directory and load it into a DuckDB warehouse;
``careweave load-report``: print the counts and data-quality report of earlier loads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("load")(load)
    app.command("load-report")(load_report)


def load(
    directory: Annotated[
        Path, typer.Argument(help="Dataset directory (manifest.json + one file per table).")
    ],
    warehouse: Annotated[
        Path, typer.Option("--warehouse", "-w", help="DuckDB warehouse file (created if absent).")
    ],
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars and no report.")
    ] = False,
    apply_corrections: Annotated[
        bool,
        typer.Option(
            "--apply-corrections",
            help="A row whose key is already in the warehouse with other content replaces "
            "that row (kept in _superseded) instead of being quarantined.",
        ),
    ] = False,
) -> None:
    """Validate DIRECTORY and load it into the warehouse, atomically and idempotently.

    Every row is loaded or quarantined with its reason; the counts and the
    data-quality report are printed at the end and kept in the warehouse
    (see docs/loading.md).
    """
    from rich.console import Console

    from careweave.cli.progress import load_progress
    from careweave.ingest import load_dataset, print_report

    if quiet:
        load_dataset(directory, warehouse, apply_corrections=apply_corrections)
        return
    with load_progress() as progress:
        report = load_dataset(
            directory, warehouse, progress=progress, apply_corrections=apply_corrections
        )
    print_report(report, Console())


def load_report(
    warehouse: Annotated[Path, typer.Option("--warehouse", "-w", help="DuckDB warehouse file.")],
    batch: Annotated[
        str | None, typer.Option("--batch", help="One batch id (default: every load).")
    ] = None,
) -> None:
    """Print the counts and data-quality report of the loads recorded in a warehouse."""
    from rich.console import Console

    from careweave.ingest import print_report, read_reports

    console = Console()
    for report in read_reports(warehouse, batch):
        print_report(report, console)
