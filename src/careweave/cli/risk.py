"""`careweave model train` and `careweave stratify` (careweave.risk)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from careweave.errors import InputError


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from None


def _json(summary: dict[str, Any]) -> None:
    typer.echo(json.dumps(summary, indent=2, default=str, allow_nan=False))


Warehouse = Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse file.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]

model_app = typer.Typer(help="Risk models: train and validate.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
    app.command("stratify")(stratify)


@model_app.command("train")
def train(
    warehouse: Warehouse,
    as_of: Annotated[str, typer.Option("--as-of", help="Training date D (YYYY-MM-DD).")],
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="Outcome window in days.")
    ] = 365,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Model file (default: models/risk-model-D.pkl by the warehouse)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Train the emergency-admission model at D, validate at D + horizon, write the card."""
    from careweave import risk

    summary = risk.train(warehouse, _date(as_of, "--as-of"), horizon_days=horizon_days, out=out)
    if as_json:
        _json(summary)
    else:
        risk.print_train(summary)


def stratify(
    warehouse: Warehouse,
    as_of: Annotated[str, typer.Option("--as-of", help="Scoring date D (YYYY-MM-DD).")],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="Model file (default: the latest trained for this warehouse)."
        ),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb or spark.")] = "duckdb",
    compare_to: Annotated[
        str | None,
        typer.Option("--compare-to", help="Earlier date D0: print movement between levels."),
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Tier policy TOML file.")] = None,
    tariff: Annotated[
        Path | None,
        typer.Option(
            "--tariff", help="Unit-cost tariff override (TOML); default $CAREWEAVE_TARIFF."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Score everyone, assign CCM levels and segments, write risk_scores."""
    from careweave import risk
    from careweave.settings import Settings

    summary = risk.stratify(
        warehouse,
        _date(as_of, "--as-of"),
        model=model,
        engine=engine,
        compare_to=_date(compare_to, "--compare-to") if compare_to else None,
        policy=policy,
        tariff=Settings.load(tariff=tariff).tariff,
    )
    if as_json:
        _json(summary)
    else:
        risk.print_stratify(summary)
