"""``careweave budgets``: check a pooled budget file and report its schemes (docs/budgets.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from careweave.errors import CareweaveError

if TYPE_CHECKING:
    from careweave.budgets.report import BudgetReport

budgets_app = typer.Typer(
    help="Pooled budgets and their schemes: allocations, spend, KPI trajectories.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(budgets_app, name="budgets")


def budget_path(flag: Path | None) -> Path:
    """``--budget`` if given, else ``$CAREWEAVE_BUDGET_FILE``, else the shipped example."""
    from careweave.budgets.file import example_path
    from careweave.settings import Settings

    return Settings.load(budget_file=flag).budget_file or example_path()


@budgets_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="The budget file (TOML).")]) -> None:
    """Validate a budget file; one line naming the file and field on any problem (exit 2)."""
    from careweave.budgets.file import load_budget

    b = load_budget(file)
    kpis = sum(len(s.kpi) for s in b.scheme)
    typer.echo(
        f"{file}: {b.name}: {len(b.partner)} partners (£{sum(p.contribution for p in b.partner):,.0f}), "
        f"{len(b.scheme)} schemes (£{sum(s.allocation for s in b.scheme):,.0f} allocated), "
        f"{kpis} scheme KPIs; year {b.year_start:%Y-%m} to {b.year_end:%Y-%m}: valid"
    )


@budgets_app.command("report")
def report(
    warehouse: Annotated[
        Path, typer.Option("--warehouse", help="DuckDB warehouse with population_measures.")
    ],
    budget: Annotated[
        Path | None,
        typer.Option(
            "--budget", help="Budget file (default $CAREWEAVE_BUDGET_FILE, else the example)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each scheme's spend against allocation, KPIs against trajectory and year-end forecast."""
    import orjson

    from careweave import duck
    from careweave.budgets.file import load_budget
    from careweave.budgets.report import report as make_report
    from careweave.budgets.report import to_json

    path = budget_path(budget)
    b = load_budget(path)
    if not warehouse.is_file():
        raise CareweaveError(f"{warehouse}: no such warehouse file")
    con = duck.connect(warehouse, read_only=True)
    try:
        r = make_report(con, b, str(path))
    finally:
        con.close()
    if as_json:
        typer.echo(orjson.dumps(to_json(r), option=orjson.OPT_INDENT_2).decode())
        return
    _print(r)


def _money(x: float | None) -> str:
    return "–" if x is None else f"£{x:,.0f}"


def _value(x: float | None, kind: str) -> str:
    if x is None:
        return "–"
    return f"{x:.1%}" if kind == "proportion" else f"{x:,.1f}"


def _print(r: BudgetReport) -> None:
    b = r.budget
    measured = f"{r.measured_to:%b %Y}" if r.measured_to else "no month yet"
    typer.echo(f"{b.name}: year {b.year_start:%b %Y} to {b.year_end:%b %Y}, measured to {measured}")
    typer.echo(
        f"Contributions {_money(r.total_contributions)}, allocated {_money(r.total_allocated)}"
    )
    for s in r.schemes:
        f = s.spend_forecast
        typer.echo(
            f"\n{s.scheme.id} {s.scheme.name} ({s.scheme.population.words()})\n"
            f"  allocation {_money(s.scheme.allocation)}; costed activity so far "
            f"{_money(s.spend_to_date)} ({s.months_spent} months); year-end forecast "
            f"{_money(f.value)} ({f.method})"
        )
        if s.population_note:
            typer.echo(f"  note: {s.population_note}")
        if s.no_measures:
            typer.echo(f"  {s.no_measures}")
        elif s.spend_note:
            typer.echo(f"  {s.spend_note}")
        for k in s.kpis:
            kind = k.kpi.kind
            last = k.latest
            latest = (
                f"{_value(last.value, kind)} in {last.month:%b %Y}"
                + (
                    f" (trajectory {_value(last.trajectory, kind)})"
                    if last.trajectory is not None
                    else ""
                )
                if last
                else "no month shown"
            )
            aim = "monitored" if k.spec.monitor_only else f"target {_value(k.target, kind)}"
            icon = (
                k.spc.assurance.replace("_", " ") + " the target"
                if k.spc and k.spc.assurance
                else "no assurance icon"
            )
            typer.echo(
                f"  {k.kpi.name}: baseline {_value(k.baseline, kind)}, {aim}; latest {latest}; "
                f"{icon}; forecast {_value(k.forecast.value, kind)} ({k.forecast.method})"
            )
