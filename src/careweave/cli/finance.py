"""``careweave finance``: spend by setting and funder, and person-based capitation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from careweave.errors import InputError

finance_app = typer.Typer(
    help="Finance: spend by setting and funder; capitated budgets (docs/finance.md).",
    no_args_is_help=True,
)

Tariff = Annotated[
    Path | None,
    typer.Option("--tariff", help="Tariff override file (TOML): costs, [setting], [funder]."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(finance_app, name="finance")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from None


def _money(v: Any) -> str:
    return "–" if v is None or v != v else f"£{v:,.0f}"


@finance_app.command("spend")
def spend(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day (default: the span's start).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (default: the span's end).")
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group-by dimension (repeatable; default segment, ccm_level, locality, "
            "practice; the whole board always).",
        ),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb or spark.")] = "duckdb",
    tariff: Tariff = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole board as JSON.")] = False,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write every row (disclosure-controlled) here."),
    ] = None,
) -> None:
    """Spend by setting (acute, community, primary care, prescribing, mental health, social
    care) and funder (NHS, local authority, pooled), in total and per head, for each month and
    rolling 12 months: writes population_measures, prints the whole board's last 12 months."""
    import orjson

    from careweave.finance.spend import DEFAULT_DIMS, spend_by_setting_and_funder
    from careweave.measures.context import DIMENSIONS

    if as_json and csv is not None:
        raise InputError("finance spend: give --json or --csv FILE, not both")
    dims = tuple(by or DEFAULT_DIMS)
    for d in dims:
        if d not in DIMENSIONS:
            raise InputError(f"--by: unknown dimension {d!r} (choose from {', '.join(DIMENSIONS)})")
    result = spend_by_setting_and_funder(
        Path(warehouse),
        start=_date(start, "--from"),
        end=_date(end, "--to"),
        dims=dims,
        engine=engine,
        tariff=tariff,
    )
    shown = result.disclosed()
    if csv is not None:
        try:
            shown.to_csv(csv, index=False)
        except OSError as e:
            raise InputError(f"{csv}: cannot write ({e.strerror})") from None
    board = shown[(shown.group_by == "all") & (shown.interval == "rolling_12_months")]
    last = board[board.interval_end == board.interval_end.max()] if len(board) else board
    if last.empty:  # a span shorter than 12 months: its last month
        m = shown[(shown.group_by == "all") & (shown.interval == "month")]
        last = m[m.interval_end == m.interval_end.max()]
    rows = [
        {
            "split": r.split,
            "category": r.category,
            "label": r.label,
            "spend": None if r.spend != r.spend else float(r.spend),
            "per_head": None if r.per_head != r.per_head else float(r.per_head),
        }
        for r in last.itertuples()
    ]
    period = (
        {
            "start": str(last.interval_start.iloc[0])[:10],
            "end": str(last.interval_end.iloc[0])[:10],
        }
        if len(last)
        else None
    )
    if as_json:
        doc = {
            "engine": engine,
            "people": result.summary["people"],
            "interval": period,
            "rows_written": result.summary["rows_written"],
            "spend": rows,
        }
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    from rich.console import Console
    from rich.table import Table

    title = "Spend by setting and funder, whole board"
    if period:
        title += f", {period['start']} to {period['end']}"
    table = Table(title=title + " (tariff prices; person-years rounded to 5)")
    for col in ("", "total", "per head a year"):
        table.add_column(col, justify="left" if not col else "right")
    for r in rows:
        name = r["label"] if r["split"] != "funder" else f"paid by: {r['label']}"
        table.add_row(name, _money(r["spend"]), _money(r["per_head"]))
    console = Console()
    console.print(table)
    console.print(f"Wrote {result.summary['rows_written']:,} rows to population_measures.")
