"""``careweave import fhir|synthea-csv``: real-world files into a canonical dataset directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from careweave.importers.report import ImportReport


def _rates(values: list[str]) -> dict[str, float]:
    from careweave.errors import InputError

    rates: dict[str, float] = {}
    for v in values:
        cur, _, rate = v.partition("=")
        try:
            rates[cur.strip().upper()] = float(rate)
        except ValueError:
            raise InputError(f"--rate {v!r}: expected CURRENCY=RATE, e.g. USD=0.79") from None
        if not cur.strip() or rates[cur.strip().upper()] < 0:
            raise InputError(f"--rate {v!r}: expected CURRENCY=RATE, e.g. USD=0.79")
    return rates


def _memory(value: str) -> str:
    import re

    from careweave.errors import InputError

    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value.strip(), re.I):
        raise InputError(f"--memory-limit {value!r}: expected a size such as 512MB or 2GB")
    return value.strip()


def print_summary(report: ImportReport, out: Path | None) -> None:
    """The mapping report, readable: resources by type, rows, unmapped codes, problems."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False)
    d = report.as_dict()
    res = Table(title="Resources", title_justify="left")
    for col in ("type", "seen", "mapped", "kept raw", "rejected"):
        res.add_column(col, justify="left" if col == "type" else "right")
    for t, c in d["resources"].items():
        res.add_row(t, *(f"{c[k]:,}" for k in ("seen", "mapped", "kept_raw", "rejected")))
    console.print(res)
    rows = Table(title="Rows written", title_justify="left")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for t, n in d["rows"].items():
        if n:
            rows.add_row(t, f"{n:,}")
    console.print(rows)
    if d["unmapped_codes"]:
        codes = Table(title="Codes outside the canonical systems", title_justify="left")
        for col in ("system", "count", "distinct", "examples"):
            codes.add_column(col)
        for system, c in d["unmapped_codes"].items():
            codes.add_row(system, f"{c['count']:,}", f"{c['distinct']:,}", ", ".join(c["examples"]))
        console.print(codes)
    p = d["problems"]
    if p["count"]:
        probs = Table(title=f"Problems: {p['count']:,}", title_justify="left")
        for col in ("file", "entry", "kind", "message"):
            probs.add_column(col)
        for item in p["items"][:20]:
            probs.add_row(
                item["file"],
                "" if item["entry"] is None else str(item["entry"]),
                item["kind"],
                item["message"],
            )
        console.print(probs)
        if p["count"] > 20:
            console.print(
                f"... and {p['count'] - 20:,} more"
                + (f" (see {out / 'import-report.json'})" if out else "")
            )
        files = Table(title="Problems by file and kind", title_justify="left")
        for col in ("file", "kind", "problems"):
            files.add_column(col, justify="right" if col == "problems" else "left")
        for name, n in sorted(p["by_file"].items(), key=lambda kv: -kv[1])[:20]:
            kinds = sorted(p["by_file_and_kind"][name].items(), key=lambda kv: -kv[1])
            for i, (kind, k) in enumerate(kinds):
                files.add_row(name if i == 0 else "", kind, f"{k:,}")
            if len(kinds) > 1:
                files.add_row("", "all", f"{n:,}")
        console.print(files)
        by_kind = ", ".join(f"{k}: {n:,}" for k, n in p["by_kind"].items())
        console.print(f"[yellow]warning:[/] {p['count']:,} problem(s) ({by_kind})")
    console.print(
        f"{report.bytes_read / 1e6:,.1f} MB in {report.seconds:,.1f} s"
        + (f"; span {d['span'][0]} .. {d['span'][1]}" if d["span"] else "")
        + (f"; dataset in {out}" if out else "")
    )


def _run(total: int, job: str, fn: object) -> ImportReport:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    from careweave.importers.writer import NothingImported

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(job, total=total or None)

        def advance(n: int) -> None:
            progress.advance(task, n)

        try:
            return fn(advance)  # type: ignore[operator, no-any-return]
        except NothingImported as e:
            progress.stop()
            print_summary(e.report, None)
            raise


imp = typer.Typer(
    help="Import FHIR R4 or Synthea CSV files into a canonical dataset directory.",
    no_args_is_help=True,
)


Out = Annotated[Path, typer.Option("--out", help="Dataset directory to create.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out.")]
MemoryLimit = Annotated[
    str,
    typer.Option(
        "--memory-limit",
        help="Memory cap of the finalising DuckDB pass (spills to disk beyond it).",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(imp, name="import")


@imp.command("fhir")
def fhir(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="FHIR R4 Bundle JSON / Bulk Data NDJSON files or directories (.gz too)."
        ),
    ],
    out: Out,
    overwrite: Overwrite = False,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate", help="Exchange rate to GBP for costs in another currency: USD=0.79."
        ),
    ] = None,
    memory: MemoryLimit = "1GB",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes parsing files in parallel (default: one per core).",
        ),
    ] = None,
) -> None:
    """Import FHIR R4 (Bundles of any type, Bulk Data NDJSON) into a dataset directory."""
    from careweave.importers.fhir import expand_paths, import_fhir

    rates = _rates(rate or [])
    total = sum(p.stat().st_size for p in expand_paths(paths))
    report = _run(
        total,
        "importing FHIR",
        lambda adv: import_fhir(
            paths,
            out,
            overwrite=overwrite,
            progress=adv,
            rates=rates,
            workers=workers,
            memory_limit=_memory(memory),
        ),
    )
    print_summary(report, out)


@imp.command("synthea-csv")
def synthea_csv(
    directory: Annotated[Path, typer.Argument(help="Directory of a Synthea CSV export.")],
    out: Out,
    overwrite: Overwrite = False,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate",
            help="Exchange rate to GBP for Synthea's US-dollar costs, e.g. USD=0.79 "
            "(without it, costs are left to the tariff).",
        ),
    ] = None,
    memory: MemoryLimit = "1GB",
) -> None:
    """Import a Synthea CSV export into a dataset directory."""
    from careweave.importers.synthea_csv import import_synthea_csv

    rates = _rates(rate or [])
    total = sum(p.stat().st_size for p in directory.glob("*.csv")) if directory.is_dir() else 0
    report = _run(
        total,
        "importing Synthea CSV",
        lambda adv: import_synthea_csv(
            directory,
            out,
            overwrite=overwrite,
            progress=adv,
            rates=rates,
            memory_limit=_memory(memory),
        ),
    )
    print_summary(report, out)
