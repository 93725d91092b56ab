"""``careweave spc`` and ``careweave funnel``: SPC charts and funnel plots of an analyst's CSV."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path
from typing import Annotated, cast

import typer

from careweave.errors import InputError


def _read(path: Path, columns: list[str]) -> list[dict[str, str]]:
    """Rows of a CSV file that has every named column (errors name file and column)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            for column in columns:
                if column not in header:
                    raise InputError(
                        f"{path}: no column {column!r} (columns: {', '.join(header) or 'none'})"
                    )
            rows = list(reader)
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason})") from None
    if not rows:
        raise InputError(f"{path}: no data rows")
    return rows


def _number(path: Path, row: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"{path}: row {row}, column {column!r}: {text!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise InputError(f"{path}: row {row}, column {column!r}: {text!r} is not a finite number")
    return value


def _date(where: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def _dump(payload: object) -> None:
    import orjson

    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())


def spc_command(
    file: Annotated[Path, typer.Argument(help="CSV file with one row per period.")],
    date: Annotated[str, typer.Option("--date", help="Column holding the period's date.")],
    value: Annotated[str, typer.Option("--value", help="Column holding the value.")],
    improvement: Annotated[
        str, typer.Option("--improvement", help="Which way is better: increase, decrease, neutral.")
    ] = "neutral",
    target: Annotated[float | None, typer.Option("--target", help="Target, for assurance.")] = None,
    rebase: Annotated[
        list[str] | None, typer.Option("--rebase", help="Recalculate limits from this date.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """An XmR (Making Data Count) chart: mean, limits, special causes and icons."""
    from careweave.stats import spc

    if improvement not in ("increase", "decrease", "neutral"):
        raise InputError(
            f"--improvement: {improvement!r} is not one of increase, decrease, neutral"
        )
    rows = _read(file, [date, value])
    dates = [_date(f"{file}: row {i}, column {date!r}", r[date]) for i, r in enumerate(rows, 2)]
    values = [_number(file, i, value, r[value]) for i, r in enumerate(rows, 2)]
    if len(set(dates)) != len(dates):
        raise InputError(f"{file}: column {date!r} repeats a date; give one row per period")
    cuts = tuple(_date("--rebase", d) for d in rebase or [])
    from careweave.stats.spc import Improvement

    mode = cast(Improvement, improvement)
    result = spc(dates, values, improvement=mode, target=target, rebase=cuts)
    if as_json:
        _dump(result.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"SPC: {value} ({file.name})")
    for heading in ("date", "value", "mean", "lower", "upper", "special cause"):
        table.add_column(heading, justify="right" if heading != "special cause" else "left")
    for p in result.points:
        table.add_row(
            p.date.isoformat(),
            f"{p.value:.4g}",
            _fmt(p.mean),
            _fmt(p.lower),
            _fmt(p.upper),
            ", ".join(p.rules) or "-",
        )
    console = Console()
    console.print(table)
    console.print(f"variation: {result.variation}; assurance: {result.assurance or 'none'}")


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def funnel_command(
    file: Annotated[Path, typer.Argument(help="CSV file with one row per unit.")],
    unit: Annotated[str, typer.Option("--unit", help="Column naming the unit.")],
    numerator: Annotated[str, typer.Option("--numerator", help="Numerator column.")],
    denominator: Annotated[str, typer.Option("--denominator", help="Denominator column.")],
    rate: Annotated[
        bool, typer.Option("--rate", help="A rate (Poisson) rather than a proportion (binomial).")
    ] = False,
    overdispersion: Annotated[
        bool, typer.Option("--overdispersion", help="Adjust limits for over-dispersion.")
    ] = False,
    method: Annotated[
        str, typer.Option("--method", help="Over-dispersion: additive or multiplicative.")
    ] = "additive",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A funnel plot's limits (95%, 99.8%) and each unit's position."""
    from careweave.stats import funnel

    if method not in ("additive", "multiplicative"):
        raise InputError(f"--method: {method!r} is not additive or multiplicative")
    rows = _read(file, [unit, numerator, denominator])
    names = [r[unit] for r in rows]
    if len(set(names)) != len(names):
        raise InputError(f"{file}: column {unit!r} repeats a unit; give one row per unit")
    nums = [_number(file, i, numerator, r[numerator]) for i, r in enumerate(rows, 2)]
    dens = [_number(file, i, denominator, r[denominator]) for i, r in enumerate(rows, 2)]
    for i, (o, n) in enumerate(zip(nums, dens, strict=True), 2):
        if n <= 0:
            raise InputError(f"{file}: row {i}, column {denominator!r}: must be more than 0")
        if o < 0:
            raise InputError(f"{file}: row {i}, column {numerator!r}: cannot be negative")
        if not rate and o > n:
            raise InputError(
                f"{file}: row {i}: numerator {o:g} exceeds denominator {n:g} "
                "(a proportion; give --rate for a rate)"
            )
    result = funnel(
        names,
        nums,
        dens,
        kind="rate" if rate else "proportion",
        overdispersion=overdispersion,
        method="multiplicative" if method == "multiplicative" else "additive",
    )
    if as_json:
        _dump(result.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Funnel: {numerator} / {denominator} ({file.name})")
    for heading in ("unit", "value", "95% limits", "99.8% limits", "position"):
        table.add_column(heading)
    for u in result.units:
        table.add_row(
            u.unit,
            f"{u.value:.4g}",
            f"{u.lower_95:.4g} to {u.upper_95:.4g}",
            f"{u.lower_998:.4g} to {u.upper_998:.4g}",
            u.position,
        )
    console = Console()
    console.print(table)
    console.print(f"target: {result.target:.4g}")


def register(app: typer.Typer) -> None:
    app.command("spc")(spc_command)
    app.command("funnel")(funnel_command)
