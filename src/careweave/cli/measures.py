"""``careweave measures``: compute the KPI catalogue, write ``population_measures``, summarise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from careweave.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("measures")(measures)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from None


def measures(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day (default: the span's start).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (default: the span's end).")
    ] = None,
    kpi: Annotated[
        list[str] | None, typer.Option("--kpi", help="A catalogue KPI (repeatable; default all).")
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Group-by dimension (repeatable; the whole board always)."),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb or spark.")] = "duckdb",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write every row (disclosure-controlled) here."),
    ] = None,
    tariff: Annotated[
        Path | None, typer.Option("--tariff", help="Tariff override file (TOML).")
    ] = None,
) -> None:
    """Every population measure by month and rolling 12 months: writes population_measures and
    prints the whole board's last 12 months (small numbers suppressed, others rounded to 5)."""
    import orjson

    from careweave.measures.catalogue import select
    from careweave.measures.context import DIMENSIONS
    from careweave.measures.results import disclosed, disclosed_frame, run

    if as_json and csv is not None:
        raise InputError("measures: give --json or --csv FILE, not both")
    kpis = select(kpi)
    dims = tuple(by or ())
    for d in dims:
        if d not in DIMENSIONS:
            raise InputError(f"--by: unknown dimension {d!r} (choose from {', '.join(DIMENSIONS)})")
    lo, hi = _date(start, "--from"), _date(end, "--to")
    summary, frame = run(
        Path(warehouse), kpis, dims, start=lo, end=hi, engine=engine, tariff=tariff
    )
    shown = disclosed(summary, kpis)
    if csv is not None:
        try:
            disclosed_frame(frame, kpis).to_csv(csv, index=False)
        except OSError as e:
            raise InputError(f"{csv}: cannot write ({e.strerror})") from None
    if as_json:
        shown.pop("timings", None)
        shown.pop("kpi_seconds", None)
        typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(shown)


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    if unit == "fraction":
        return f"{100 * v:.1f}%"
    return f"{v:,.1f}" if abs(v) < 1e6 else f"{v:,.0f}"


def print_summary(shown: dict[str, Any], console: Any = None) -> None:
    """The readable form of ``careweave measures``'s summary."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    iv = shown["summary_interval"]
    table = Table(
        title=f"Population measures, whole board, {iv['start']} to {iv['end']} "
        f"({shown['engine']}; small numbers suppressed)"
    )
    for col in ("measure", "value", "95% CI", "numerator", "denominator", "unit"):
        table.add_column(col, justify="left" if col in ("measure", "unit") else "right")
    for name, k in shown["kpis"].items():
        if k.get("no_data"):
            table.add_row(name, "no data", "", "", "", k["no_data"].removeprefix("no data: "))
            continue
        unit = k["unit"]
        ci = (
            f"{_fmt(k['ci_lower'], unit)}–{_fmt(k['ci_upper'], unit)}"
            if k.get("ci_lower") is not None
            else ""
        )
        num = "<8" if k.get("suppressed") and k["numerator"] is None else _fmt(k["numerator"], "")
        table.add_row(name, _fmt(k["value"], unit), ci, num, _fmt(k["denominator"], ""), unit)
    console.print(table)
    console.print(f"Wrote {shown['rows_written']:,} rows to population_measures.")
