"""What a load did: counts per table that reconcile, and the data-quality report.

A :class:`LoadReport` is built from the bookkeeping tables of the warehouse
(``_load_batches``, ``_load_tables``, ``_data_quality``), so the report printed
at the end of a load and the one read back later are the same thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich import box
from rich.console import Console
from rich.table import Table as RichTable

from careweave.errors import InputError
from careweave.warehouse.connection import open_read_only
from careweave.warehouse.schema import has_column


@dataclass(frozen=True)
class TableCounts:
    """Rows of one table in one batch: ``rows_in == rows_loaded + rows_quarantined``.

    ``rows_loaded = rows_new + rows_unchanged + rows_corrected``: unchanged rows
    were already in the warehouse with identical content and are not inserted
    again; corrected rows replaced the warehouse's row with the same key (only
    with ``--apply-corrections``; the old row is kept in ``_superseded``).
    """

    table: str
    source_file: str
    rows_in: int
    rows_loaded: int
    rows_new: int
    rows_unchanged: int
    rows_quarantined: int
    rows_corrected: int = 0


@dataclass(frozen=True)
class QualityCount:
    """Rows of one table quarantined in one batch for one reason (and field)."""

    table: str
    reason: str
    field: str | None
    description: str
    rows: int


@dataclass(frozen=True)
class LoadReport:
    batch_id: str
    fingerprint: str
    source_dir: str
    source: str
    span_start: dt.date
    span_end: dt.date
    loaded_at: dt.datetime
    tables: tuple[TableCounts, ...]
    quality: tuple[QualityCount, ...]
    #: True when this exact batch (same fingerprint) had been loaded before and
    #: this load did nothing; the counts are those of the earlier load.
    already_loaded: bool = False

    @property
    def rows_in(self) -> int:
        return sum(t.rows_in for t in self.tables)

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    @property
    def rows_new(self) -> int:
        return sum(t.rows_new for t in self.tables)

    @property
    def rows_unchanged(self) -> int:
        return sum(t.rows_unchanged for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables)

    @property
    def rows_corrected(self) -> int:
        return sum(t.rows_corrected for t in self.tables)

    def table(self, name: str) -> TableCounts:
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(name)

    def reconciles(self) -> bool:
        """Every table's rows in = loaded + quarantined, and the quality counts add up."""
        per_table: dict[str, int] = {}
        for q in self.quality:
            per_table[q.table] = per_table.get(q.table, 0) + q.rows
        return all(
            t.rows_in == t.rows_loaded + t.rows_quarantined
            and t.rows_loaded == t.rows_new + t.rows_unchanged + t.rows_corrected
            and per_table.get(t.table, 0) == t.rows_quarantined
            for t in self.tables
        )


def read_report(
    con: duckdb.DuckDBPyConnection, batch_id: str, *, already_loaded: bool = False
) -> LoadReport:
    """The report of ``batch_id`` from the bookkeeping tables of ``con``."""
    row = con.execute(
        "SELECT batch_id, fingerprint, source_dir, source, span_start, span_end, loaded_at "
        "FROM _load_batches WHERE batch_id = ?",
        [batch_id],
    ).fetchone()
    if row is None:
        raise InputError(f"batch {batch_id}: not in this warehouse")
    # Warehouses loaded before corrections existed have no rows_corrected column.
    corrected = (
        "coalesce(rows_corrected, 0)" if has_column(con, "_load_tables", "rows_corrected") else "0"
    )
    tables = tuple(
        TableCounts(*r)
        for r in con.execute(
            "SELECT table_name, source_file, rows_in, rows_loaded, rows_new, rows_unchanged, "
            f"rows_quarantined, {corrected} FROM _load_tables WHERE batch_id = ? ORDER BY rowid",
            [batch_id],
        ).fetchall()
    )
    quality = tuple(
        QualityCount(*r)
        for r in con.execute(
            "SELECT table_name, reason, field, description, rows FROM _data_quality "
            "WHERE batch_id = ? ORDER BY rowid",
            [batch_id],
        ).fetchall()
    )
    batch, fingerprint, source_dir, source, span_start, span_end, loaded_at = row
    return LoadReport(
        batch_id=str(batch),
        fingerprint=str(fingerprint),
        source_dir=str(source_dir),
        source=str(source),
        span_start=span_start,
        span_end=span_end,
        loaded_at=loaded_at,
        tables=tables,
        quality=quality,
        already_loaded=already_loaded,
    )


def read_reports(warehouse: Path, batch_id: str | None = None) -> list[LoadReport]:
    """Reports of every load into ``warehouse`` (oldest first), or of one batch."""
    con = open_read_only(warehouse)
    try:
        try:
            ids = [
                str(r[0])
                for r in con.execute(
                    "SELECT batch_id FROM _load_batches ORDER BY loaded_at, rowid"
                ).fetchall()
            ]
        except duckdb.CatalogException:
            raise InputError(f"{warehouse}: no loads recorded (not a loaded warehouse)") from None
        if batch_id is not None:
            if batch_id not in ids:
                raise InputError(f"{warehouse}: no batch {batch_id}")
            ids = [batch_id]
        return [read_report(con, i) for i in ids]
    finally:
        con.close()


def print_report(report: LoadReport, console: Console | None = None) -> None:
    """The per-table counts and the data-quality report as Rich tables."""
    console = console or Console()
    if report.already_loaded:
        console.print(
            f"[bold]Already loaded[/bold]: this dataset is batch {report.batch_id} "
            f"(loaded {report.loaded_at:%Y-%m-%d %H:%M} UTC); nothing was added."
        )
    corrections = report.rows_corrected > 0
    counts = RichTable(
        title=f"Load batch {report.batch_id}: {report.source} "
        f"{report.span_start} to {report.span_end}",
        title_justify="left",
        caption="loaded = new + unchanged (already in the warehouse, identical)"
        + (
            " + corrected (replaced the warehouse's row; old one in _superseded)"
            if corrections
            else ""
        ),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    counts.add_column("table", no_wrap=True)
    names = ("in", "new", "unchanged", *(("corrected",) if corrections else ()), "quarantined")
    for name in names:
        counts.add_column(name, justify="right", no_wrap=True)

    def cells(c: TableCounts | LoadReport) -> list[str]:
        values = [c.rows_in, c.rows_new, c.rows_unchanged]
        values += [c.rows_corrected] if corrections else []
        return [f"{v:,}" for v in (*values, c.rows_quarantined)]

    for t in report.tables:
        counts.add_row(t.table, *cells(t))
    counts.add_section()
    counts.add_row("total", *cells(report), style="bold")
    console.print(counts)
    if not report.quality:
        console.print("Data quality: no rows quarantined.")
        return
    quality = RichTable(
        title="Data quality: rows quarantined, by reason",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for name in ("table", "reason", "field", "rows", "meaning"):
        quality.add_column(
            name, justify="right" if name == "rows" else "left", no_wrap=name != "meaning"
        )
    for q in report.quality:
        quality.add_row(q.table, q.reason, q.field or "", f"{q.rows:,}", q.description)
    console.print(quality)
    console.print("Quarantined rows, with their content: table _quarantine of the warehouse.")
