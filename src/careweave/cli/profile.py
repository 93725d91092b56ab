"""``careweave profile``: the data profile of a dataset directory or a warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from careweave.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)


def profile(
    directory: Annotated[Path | None, typer.Argument(help="Dataset directory to profile.")] = None,
    warehouse: Annotated[
        Path | None,
        typer.Option("--warehouse", help="DuckDB warehouse to profile (instead of a DIR)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with stable keys.")] = False,
    tariff: Annotated[
        Path | None, typer.Option("--tariff", help="Tariff override file (TOML).")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb or spark.")] = "duckdb",
) -> None:
    """People, prevalence, activity, concentration, readmission, reablement and deaths."""
    import orjson

    from careweave.profile import profile_dataset_dir, profile_warehouse, render_profile

    if (directory is None) == (warehouse is None):
        raise InputError("profile: give either a dataset DIR or --warehouse PATH")
    if warehouse is not None:
        result = profile_warehouse(warehouse, tariff, engine)
    else:
        assert directory is not None
        result = profile_dataset_dir(directory, tariff, engine)
    if as_json:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        render_profile(result)
