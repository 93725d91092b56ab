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
    if v is None or v != v:
        return "–"
    return f"−£{-v:,.0f}" if round(v) < 0 else f"£{v:,.0f}"


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


@finance_app.command("capitation")
def capitation(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse.")],
    as_of: Annotated[
        str, typer.Option("--as-of", help="The budgets are for the 365 days after this date.")
    ],
    tariff: Tariff = None,
    total: Annotated[
        float | None,
        typer.Option("--total", help="Scale the budgets to this envelope (pounds)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fit the person-based capitation model (next-year cost from age, sex, deprivation and
    conditions), validate it on the year before --as-of, and set capitated budgets per practice
    and locality for the year after: writes capitation_budgets and capitation_model_card."""
    import orjson

    from careweave.finance.capitation import run
    from careweave.finance.report import card_rows, shown_budgets

    day = _date(as_of, "--as-of")
    assert day is not None
    result = run(Path(warehouse), day, tariff=tariff, total=total)
    doc = {
        "as_of": day.isoformat(),
        "periods": {k: [a.isoformat(), b.isoformat()] for k, (a, b) in result.periods.items()},
        "modelled_total": result.modelled_total,
        "total": result.total,
        "model_card": card_rows(result.card),
        "validation": shown_budgets(result.validation).to_dict("records"),
        "budgets": shown_budgets(result.budget).to_dict("records"),
        "coefficients": result.model.coefficient_table(),
        "timings": result.timings,
    }
    if as_json:
        typer.echo(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode()
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    overall = next(r for r in doc["model_card"] if r["group_by"] == "all")
    lo, hi = result.periods["validation"]
    console.print(
        f"Capitation model, temporal validation on {lo} to {hi}: R² {overall['r2']:.3f}, "
        f"mean absolute error {_money(overall['mae'])} a person."
    )
    card = Table(title="Model card (next-year cost, validation year; groups under 8 hidden)")
    for col in ("group", "people", "R²", "MAE", "predicted", "actual"):
        card.add_column(col, justify="left" if col == "group" else "right")
    for r in doc["model_card"]:
        card.add_row(
            f"{r['group_by']}: {r['group_value']}",
            "<8" if r["people"] is None else f"{r['people']:,}",
            "–" if r["r2"] is None else f"{r['r2']:.3f}",
            _money(r["mae"]),
            _money(r["predicted_total"]),
            _money(r["actual_total"]),
        )
    console.print(card)
    lo, hi = result.periods["budget"]
    table = Table(title=f"Capitated budgets for {lo} to {hi} (people rounded to 5)")
    for col in ("level", "unit", "people", "budget", "per head"):
        table.add_column(col, justify="left" if col in ("level", "unit") else "right")
    for r in doc["budgets"]:
        table.add_row(
            r["level"],
            r["unit"],
            "<8" if r["people"] is None else f"{r['people']:,}",
            _money(r["capitated"]),
            _money(r["capitated_per_head"]),
        )
    console.print(table)
    console.print(
        f"Modelled total {_money(result.modelled_total)}; budgets total {_money(result.total)}. "
        "Wrote capitation_budgets and capitation_model_card."
    )
