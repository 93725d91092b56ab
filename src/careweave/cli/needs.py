"""``careweave needs``: the health needs assessment (recorded against expected prevalence, and
needs at each CCM level), written to the warehouse's needs tables and summarised.

A command of its own rather than an option of ``careweave measures``: it has its own
input (the reference prevalence table) and its own tables, and it is run after
``careweave stratify`` (the levels) like the measures are."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    app.command("needs")(needs)


def needs(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse.")],
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="Reference prevalence CSV (default $CAREWEAVE_NEEDS_REFERENCE, else the shipped table).",
        ),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb or spark.")] = "duckdb",
    tariff: Annotated[
        Path | None, typer.Option("--tariff", help="Tariff override file (TOML).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessment as JSON.")] = False,
) -> None:
    """Recorded against expected prevalence per register (board, localities, practices) and
    people, conditions, activity and spend at each CCM level: writes needs_prevalence and
    needs_levels and prints the board (small numbers suppressed, others rounded to 5)."""
    import orjson

    from careweave.measures.needs.assess import run
    from careweave.settings import Settings

    settings = Settings.load(needs_reference=reference, tariff=tariff)
    done = run(
        Path(warehouse), reference=settings.needs_reference, engine=engine, tariff=settings.tariff
    )
    shown = summary(done)
    if as_json:
        typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(shown)


def summary(done: dict[str, Any]) -> dict[str, Any]:
    """The run as shown (disclosure-controlled): board, localities and practices by register,
    and the CCM levels."""
    from careweave.measures.needs.output import safe_levels, safe_prevalence

    rows = safe_prevalence(done["prevalence"])
    areas: dict[str, dict[str, dict[str, Any]]] = {"all": {}, "locality": {}, "practice": {}}
    for r in rows:
        item = {k: v for k, v in r.items() if k not in ("register", "group_by", "group_value")}
        if r["group_by"] == "all":
            areas["all"][r["register"]] = item
        else:
            areas[r["group_by"]].setdefault(r["group_value"], {})[r["register"]] = item
    return {
        "as_of": done["as_of"].isoformat(),
        "period": {"start": done["period_start"].isoformat(), "end": done["as_of"].isoformat()},
        "reference": {
            "file": done["reference_file"],
            "source": done["reference_source"],
            "year": done["reference_year"],
        },
        "engine": done["engine"],
        "registers": areas["all"],
        "localities": areas["locality"],
        "practices": areas["practice"],
        "levels": {str(k): v for k, v in sorted(safe_levels(done["levels"]).items())},
    }


def _n(v: float | None) -> str:
    return "<8" if v is None else f"{v:,.0f}"


def print_summary(shown: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(
        title=f"Recorded against expected prevalence, whole board, {shown['as_of']} "
        "(small numbers suppressed)"
    )
    for c in ("register", "recorded", "expected", "ratio (95% CI)", "gap in people (95% CI)"):
        t.add_column(c, justify="left" if c == "register" else "right")
    for name, r in shown["registers"].items():
        if r["expected"] is None:
            t.add_row(name, _n(r["recorded"]), "no reference", "", "")
            continue
        ratio = (
            f"{r['ratio']:.2f} ({r['ratio_lower']:.2f}–{r['ratio_upper']:.2f})"
            if r["ratio"] is not None
            else "–"
        )
        gap = (
            f"{r['gap']:,.0f} ({r['gap_lower']:,.0f} to {r['gap_upper']:,.0f})"
            if r["gap"] is not None
            else "–"
        )
        t.add_row(name, _n(r["recorded"]), f"{r['expected']:,.0f}", ratio, gap)
    console.print(t)
    ref = shown["reference"]
    console.print(f"Reference: {ref['file']} ({ref['source']}; {ref['year']}).")
    lv = Table(
        title=f"Needs by CCM level, 12 months {shown['period']['start']} to {shown['period']['end']}"
    )
    lv.add_column("level")
    for c in ("people", "2+ conditions", "emergency admissions", "spend (£)", "£ per person-year"):
        lv.add_column(c, justify="right")
    for level, items in shown["levels"].items():
        spend = items["spend"]["value"]
        per = items["spend_per_head"]["value"]
        lv.add_row(
            "not scored" if level == "0" else level,
            _n(items["people"]["value"]),
            _n(items["multimorbid"]["value"]),
            _n(items["emergency_admissions"]["value"])
            if items["emergency_admissions"]["value"] is not None
            or items["emergency_admissions"]["suppressed"]
            else "–",
            "–" if spend is None else f"{spend:,.0f}",
            "–" if per is None else f"{per:,.0f}",
        )
    console.print(lv)
