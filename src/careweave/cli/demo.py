"""``careweave demo``: the main job, end to end on the embedded synthetic data.

Synthesises a health board of about 120,000 people (three localities of
~40,000) over five complete years, loads it into a DuckDB warehouse with full
validation, and prints the data profile. Re-running reuses the dataset when
its parameters are unchanged; the reload is then a no-op (loads are
idempotent), which the output shows.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer

DEMO_PEOPLE = 120_000
DEMO_SEED = 20261122


def _span(today: dt.date) -> tuple[dt.date, dt.date]:
    """Five whole calendar years ending with the last complete one."""
    end = dt.date(today.year - 1, 12, 31)
    return dt.date(end.year - 4, 1, 1), end


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Annotated[Path, typer.Option(help="Folder for the dataset and warehouse.")] = Path(
            "demo-data"
        ),
        people: Annotated[int, typer.Option(min=1000, help="Population size.")] = DEMO_PEOPLE,
        seed: Annotated[int, typer.Option(help="Random seed.")] = DEMO_SEED,
        fresh: Annotated[
            bool, typer.Option(help="Start again: delete the folder's dataset and warehouse.")
        ] = False,
    ) -> None:
        """The main job: synthesise a health board, load it, profile it."""
        from rich.console import Console

        from careweave.dataset.io import read_manifest
        from careweave.ingest import load_dataset, print_report
        from careweave.profile import profile_warehouse, render_profile
        from careweave.synth import generate

        console = Console()
        start, end = _span(dt.date.today())
        dataset, warehouse = out / "dataset", out / "warehouse.duckdb"
        if fresh:
            import shutil

            shutil.rmtree(dataset, ignore_errors=True)
            warehouse.unlink(missing_ok=True)
        t0 = time.perf_counter()
        manifest = read_manifest(dataset) if dataset.exists() else None
        wanted = {"people": people, "seed": seed}
        if (
            manifest is None
            or any(manifest.parameters.get(k) != v for k, v in wanted.items())
            or (manifest.span_start, manifest.span_end) != (start, end)
        ):
            console.rule(f"1. Synthesising {people:,} people, {start} to {end}")
            generate(people, seed, start, end, dataset, progress=True)
        else:
            console.rule("1. Synthetic dataset already present (same parameters): reusing it")
        console.rule(f"2. Loading into {warehouse}")
        report = load_dataset(dataset, warehouse, progress=True)
        print_report(report, console)
        console.rule("3. Profile")
        render_profile(profile_warehouse(warehouse), console)
        console.print(f"[bold]Demo finished in {time.perf_counter() - t0:.0f} s.[/bold]")
