"""``careweave demo``: the main job, end to end on the embedded synthetic data.

Synthesises a health board of about 120,000 people (three localities of
~40,000) over five complete years, loads it into a DuckDB warehouse with full
validation, prints the data profile, trains and validates the risk model
(trained two years before the span's end, validated one year later), and
stratifies everyone at the span's end into the four CCM levels, with the
movement since a year before. It then computes the population measures
(``careweave measures``: the KPI catalogue by month and rolling 12 months, by
locality, practice, age band and CCM level, into ``population_measures``) and prints the
whole board's last 12 months, the health needs assessment (``careweave needs``:
recorded against expected prevalence, needs at each CCM level) and capitated budgets for
the year after the span (``careweave finance capitation``, docs/finance.md). Finally it syncs the people index into the
operational store (a SQLite file beside the warehouse), creates one demo user
per role and the Mr & Mrs Jones scenario, prints the users, evaluates case
management against matched controls and keeps the result in the store
(``careweave evaluate --store``, for the evaluation page), and serves the web
workbench on localhost until interrupted (``--no-serve`` stops before that). It does
not run ``careweave extract``: its store is made after the measures and holds only the
scenario, dated after the synthetic span (docs/loading.md). Re-running reuses the dataset when
its parameters are unchanged; the reload is then a no-op (loads are
idempotent), which the output shows.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from careweave.settings import Settings

DEMO_PEOPLE = 120_000
DEMO_SEED = 20261122


def _span(today: dt.date) -> tuple[dt.date, dt.date]:
    """Five whole calendar years ending with the last complete one."""
    end = dt.date(today.year - 1, 12, 31)
    return dt.date(end.year - 4, 1, 1), end


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the dataset and warehouse.")] = Path(
        "demo-data"
    ),
    people: Annotated[int, typer.Option(min=1000, help="Population size.")] = DEMO_PEOPLE,
    seed: Annotated[int, typer.Option(help="Random seed.")] = DEMO_SEED,
    fresh: Annotated[
        bool, typer.Option(help="Start again: delete the folder's dataset and warehouse.")
    ] = False,
    serve: Annotated[
        bool, typer.Option(help="Serve the web workbench on localhost at the end.")
    ] = True,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8000,
) -> None:
    """The main job: synthesise, load, profile, train, stratify, measure, then serve the workbench."""
    from careweave.cli.progress import count_progress, load_progress
    from careweave.dataset.io import read_manifest
    from careweave.ingest import load_dataset, print_report
    from careweave.profile import profile_warehouse, render_profile
    from careweave.risk import default_dates, print_stratify, print_train, stratify, train
    from careweave.settings import Settings
    from careweave.synth import generate
    from careweave.web import demo_setup

    console = Console()
    settings = Settings.load()  # the environment's; the demo sets its own store below
    start, end = _span(dt.date.today())
    dataset, warehouse = out / "dataset", out / "warehouse.duckdb"
    store = out / "careweave.sqlite"
    if fresh:
        import shutil

        shutil.rmtree(dataset, ignore_errors=True)
        shutil.rmtree(out / "models", ignore_errors=True)
        for path in (warehouse, store):
            path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    manifest = read_manifest(dataset) if dataset.exists() else None
    wanted = {"people": people, "seed": seed}
    if (
        manifest is None
        or any(manifest.parameters.get(k) != v for k, v in wanted.items())
        or (manifest.span_start, manifest.span_end) != (start, end)
    ):
        console.rule(f"1. Synthesising {people:,} people, {start} to {end}")
        with count_progress("synth", "chunks") as on_chunk:
            generate(
                people, seed, start, end, dataset, progress=on_chunk, workers=settings.synth_workers
            )
    else:
        console.rule("1. Synthetic dataset already present (same parameters): reusing it")
    console.rule(f"2. Loading into {warehouse}")
    with load_progress() as progress:
        report = load_dataset(dataset, warehouse, progress=progress)
    print_report(report, console)
    console.rule("3. Profile")
    render_profile(profile_warehouse(warehouse), console)
    dates = default_dates(warehouse)
    console.rule(f"4. Training the risk model at {dates['train_as_of']}, validating a year later")
    print_train(train(warehouse, dates["train_as_of"]), console)
    as_of = dates["stratify_as_of"]
    console.rule(f"5. Stratifying everyone at {as_of} into the four CCM levels")
    compare_to = as_of - dt.timedelta(days=365)
    summary = stratify(warehouse, as_of, compare_to=compare_to, tariff=settings.tariff)
    print_stratify(summary, console)
    console.rule("6. Population measures (careweave measures), by locality, practice and CCM level")
    _measures(warehouse, console)
    console.rule("6b. Health needs assessment (careweave needs)")
    _needs(warehouse, settings)
    console.rule("6c. Capitated budgets (careweave finance capitation)")
    _capitation(warehouse, as_of, console)
    console.rule("7. Care co-ordination: people index, demo users, the Jones scenario")
    db_url = f"sqlite:///{store.resolve()}"
    _show_users(demo_setup(db_url, warehouse), console)
    console.rule("8. Evaluation of case management against matched controls (careweave evaluate)")
    _evaluate(warehouse, db_url, console)
    console.print(f"[bold]Demo pipeline finished in {time.perf_counter() - t0:.0f} s.[/bold]")
    if serve:
        # The environment may add a pseudonym key or rules; the demo's own store,
        # warehouse, Bulk Data export directory (beside its store), address and single
        # worker win.
        own = {
            "db": db_url,
            "warehouse": warehouse.resolve(),
            "bulk_dir": store.resolve().parent / "bulk",
            "host": "127.0.0.1",
        }
        _serve(settings.model_copy(update={**own, "port": port, "workers": 1}), console)


def _measures(warehouse: Path, console: Console) -> None:
    from careweave.cli.measures import print_summary
    from careweave.measures.catalogue import select
    from careweave.measures.results import disclosed, run

    kpis = select(None)
    # CCM level too: the example budget's level-4 scheme reads it (careweave.budgets).
    summary, _ = run(warehouse, kpis, ("locality", "practice", "age_band", "ccm_level"))
    print_summary(disclosed(summary, kpis), console)


def _needs(warehouse: Path, settings: Settings) -> None:
    from careweave.cli.needs import print_summary, summary
    from careweave.measures.needs.assess import run

    done = run(warehouse, reference=settings.needs_reference, tariff=settings.tariff)
    print_summary(summary(done))


def _capitation(warehouse: Path, as_of: dt.date, console: Console) -> None:
    """Capitated budgets for the year after the span (the finance page's second half)."""
    from careweave.finance.capitation import run

    r = run(warehouse, as_of)
    overall = r.card[r.card.group_by == "all"].iloc[0]
    console.print(
        f"Capitation (careweave finance capitation --as-of {as_of}): validation R² "
        f"{overall.r2:.3f}, mean absolute error £{overall.mae:,.0f} a person; budgets for the "
        f"year after total £{r.total:,.0f} (docs/finance.md)."
    )


def _evaluate(warehouse: Path, db_url: str, console: Console) -> None:
    """Evaluate case management and keep the result in the store, for the evaluation page,
    the pack and the maturity evidence; a population too small to evaluate says so."""
    from careweave.cli.evaluate import keep, print_result
    from careweave.errors import InputError
    from careweave.evaluation.run import evaluate
    from careweave.warehouse.engines import DuckDBEngine

    eng = DuckDBEngine.open(warehouse)
    try:
        result = evaluate(eng)
    except InputError as e:
        console.print(f"No evaluation: {e}.")
        return
    finally:
        eng.close()
    print_result(result)
    keep(db_url, result, warehouse, None, None)


def _show_users(users: list[tuple[str, str, str]], console: Console) -> None:
    from rich.table import Table

    table = Table(title="Demo users (synthetic data only)")
    for column in ("username", "password", "role"):
        table.add_column(column)
    for username, password, role in users:
        table.add_row(username, password, role)
    console.print(table)


def _serve(settings: Settings, console: Console) -> None:
    """Serve API and workbench on localhost (browsers accept Secure cookies there)."""
    from careweave.server import serve

    console.rule(f"9. Web workbench: open http://localhost:{settings.port}/ (Ctrl+C to stop)")
    console.print(
        "Sign in as [bold]coordinator[/bold] to see Mrs Jones's telehealth alert, "
        "then as [bold]gp.jones[/bold] to see the notifications."
    )
    serve(settings)
