"""``careweave report``: an area's commissioner pack as a PDF (careweave.web.report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from careweave.cli.common import Db
from careweave.errors import CareweaveError


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    warehouse: Annotated[
        Path, typer.Option("--warehouse", help="DuckDB warehouse with population_measures.")
    ],
    area: Annotated[
        str,
        typer.Option(
            "--area",
            help="board, or locality or practice followed by its code "
            "(--area locality L01; also locality:L01).",
        ),
    ],
    period: Annotated[
        str, typer.Option("--period", help="Months FROM..TO, e.g. 2025-04..2026-03.")
    ],
    out: Annotated[Path, typer.Option("--out", help="The PDF to write.")],
    code: Annotated[
        str | None, typer.Argument(help="The locality's or practice's code after --area.")
    ] = None,
    db: Db = None,
) -> None:
    """Write an area's pack (CCM pyramid, KPIs as SPC charts, funnel position) as a PDF."""
    from careweave import duck
    from careweave.settings import Settings
    from careweave.web import intelligence as intel
    from careweave.web import report as pack_report

    budget = Settings.load().budget_file  # the schemes section's budget file (None: example)
    chosen = pack_report.parse_area(f"{area} {code}" if code else area)
    months = pack_report.parse_period(period)
    if not warehouse.is_file():
        raise CareweaveError(f"{warehouse}: no such warehouse file")
    if out.suffix.lower() != ".pdf":
        raise CareweaveError(f"--out: {out} should end in .pdf")
    con = duck.connect(warehouse, read_only=True)
    try:
        names = intel.org_names(con)
        if db is not None:
            from careweave.cli.common import open_store
            from careweave.store.db import transaction
            from careweave.web.worklist_query import organisations

            with transaction(open_store(db)) as session:
                names.update({k: v.name for k, v in organisations(session).items()})
                pack = pack_report.build(
                    con,
                    area=chosen,
                    period=months,
                    names=names,
                    source=warehouse.name,
                    session=session,
                    budget=budget,
                )
        else:
            pack = pack_report.build(
                con,
                area=chosen,
                period=months,
                names=names,
                source=warehouse.name,
                budget=budget,
            )
    finally:
        con.close()
    from careweave import pdf

    pdf.write_pdf(
        pack_report.html(pack, names),
        out,
        title=pack_report.title(pack),
        footer=pack_report.footer(pack),
        css=pack_report.REPORT_CSS,
        svg_css=pack_report.chart_css(),
    )
    typer.echo(f"wrote {out}: {pack_report.title(pack)}")
