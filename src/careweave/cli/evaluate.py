"""``careweave evaluate``: an intervention against matched controls (docs/evaluation.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

#: The ``--json`` document's keys, exactly (the balance table is in the text output).
JSON_KEYS = ("treated", "matched", "balance_max_smd", "outcomes")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)


def risk_prognostic(engine: Any, path: Path) -> tuple[Any, str]:
    """The risk model at ``path`` as the evaluation's prognostic score: at each risk
    set's date, the model's log-odds of an emergency admission in the next year from
    the features at that date (careweave.risk.features, the same ones it scores with).
    The risk model and the evaluation are sibling packages; they meet here."""
    from careweave.risk.features import features
    from careweave.risk.training import load_model

    art = load_model(path)
    model = art["model"]

    def score_at(day: dt.date) -> tuple[Any, Any]:
        frame = engine.to_arrow(features(engine, day)).to_pandas()
        return frame["nhs_number"].to_numpy(dtype=object), model.log_odds(frame)

    return score_at, f"risk model {art['version']} (log-odds at each risk set's date)"


def evaluate(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse.")],
    intervention: Annotated[
        str,
        typer.Option(
            "--intervention",
            help="case_management, telehealth, telecare, reablement or community:<service> "
            "(docs/evaluation.md).",
        ),
    ] = "case_management",
    outcome: Annotated[
        list[str] | None,
        typer.Option(
            "--outcome",
            help="emergency_admissions, bed_days, ae_attendances, spend or deaths "
            "(repeatable; default all).",
        ),
    ] = None,
    follow_up_days: Annotated[
        int, typer.Option("--follow-up-days", help="Days of follow-up from enrolment.")
    ] = 365,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Risk model (careweave model train): its prediction at each enrolment "
            "month is the prognostic score (default: the documented fallback).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Also keep the result in this operational store (sqlite:///file.db or "
            "postgresql+psycopg://...) for the evaluation page, PDF pack and maturity "
            "evidence.",
        ),
    ] = None,
) -> None:
    """Match each person enrolled to people not enrolled at that date; the effect on each
    outcome by difference-in-differences, beside the naive before/after change."""
    import orjson

    from careweave.evaluation.run import OUTCOMES
    from careweave.evaluation.run import evaluate as run
    from careweave.warehouse.engines import DuckDBEngine

    eng = DuckDBEngine.open(Path(warehouse))
    try:
        prognostic, source = risk_prognostic(eng, model) if model else (None, "")
        result = run(
            eng,
            intervention=intervention,
            outcomes=tuple(outcome or OUTCOMES),
            follow_up_days=follow_up_days,
            prognostic=prognostic,
            prognostic_source=source,
        )
    finally:
        eng.close()
    if store is not None:
        keep(store, result, warehouse, model, outcome)
    if as_json:
        shown = {k: result[k] for k in JSON_KEYS}
        typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
    else:
        print_result(result)


def keep(
    url: str, result: dict[str, Any], warehouse: Path, model: Path | None, asked: list[str] | None
) -> None:
    """Store the result with its inputs, in one transaction (nothing half-written)."""
    from careweave.care.evaluations import save
    from careweave.cli.common import now, open_store
    from careweave.store.db import transaction

    inputs = {
        "warehouse": Path(warehouse).name,
        "intervention": result["intervention"],
        "outcomes": list(result["outcomes"]),
        "outcomes_asked": asked or "all",
        "follow_up_days": result["follow_up_days"],
        "prognostic": result["prognostic"],
        "model": None if model is None else Path(model).name,
        "data_from": result["data_from"],
        "data_to": result["data_to"],
    }
    with transaction(open_store(url)) as session:
        row = save(session, result, inputs, now())
        ident = row.id
    typer.echo(f"Stored as evaluation result {ident}.", err=True)


def print_result(r: dict[str, Any]) -> None:
    typer.echo(
        f"{r['intervention']}: {r['treated']} enrolled, {r['matched']} matched to "
        f"{r['controls']} controls (follow-up {r['follow_up_days']} days)."
    )
    typer.echo(f"Prognostic score: {r['prognostic']}.")
    typer.echo("Balance (standardised mean differences, target below 0.1):")
    for k, v in r["balance"].items():
        typer.echo(f"  {k:<28} {v:+.3f}")
    for name, o in r["outcomes"].items():
        naive = o["naive_before_after"]
        typer.echo(
            f"{name}: matched difference-in-differences {100 * o['effect']:+.1f}% "
            f"(95% CI {100 * o['ci_low']:+.1f}% to {100 * o['ci_high']:+.1f}%); "
            "naive before/after of the enrolled (regression to the mean included) "
            + ("n/a" if naive is None else f"{100 * naive:+.1f}%")
            + f"; degree {o['degree']}"
        )
        typer.echo(f"  {o['verdict']}")
