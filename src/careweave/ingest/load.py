"""Loading a checked dataset directory into the warehouse: one transaction per batch.

The order of work (docs/loading.md):

1. :func:`~careweave.ingest.sources.inspect_dataset` checks every file; a bad
   one stops the load before the warehouse is opened.
2. The batch fingerprint (SHA-256 of the manifest and table files) is looked up
   in ``_load_batches``: a batch loaded before is a no-op.
3. In one transaction, table by table in dependency order (organisations,
   people, then activity), the steps of :mod:`careweave.ingest.steps`:
   validate every row in DuckDB, quarantine the failures with their reason,
   insert the rest, record the counts.
4. Commit. A load killed before the commit leaves the warehouse as it was; a
   new warehouse is built under a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

import duckdb

from careweave.errors import InputError
from careweave.ingest.report import LoadReport, read_report
from careweave.ingest.rules import MACROS
from careweave.ingest.sources import Inputs, inspect_dataset
from careweave.ingest.steps import LoadProgress, TableResult, load_table, no_progress
from careweave.warehouse.connection import connect
from careweave.warehouse.schema import ensure_schema


def load_dataset(
    directory: Path,
    warehouse: Path,
    *,
    progress: LoadProgress | None = None,
    today: dt.date | None = None,
    apply_corrections: bool = False,
) -> LoadReport:
    """Validate and load the dataset in ``directory`` into the DuckDB file ``warehouse``.

    Raises InputError (nothing written) when a file is not what it claims.
    ``progress`` is told of each table's steps (:data:`~careweave.ingest.steps.LoadProgress`;
    the CLI draws progress bars with it); a batch loaded before reports nothing.
    ``today`` bounds the "not in the future" rule (default: today, UTC).
    ``apply_corrections``: rows whose key is in the warehouse with other content
    replace the warehouse's row (docs/loading.md, "Corrections"); by default they
    are quarantined.
    """
    inputs = inspect_dataset(directory)
    if warehouse.exists() and not warehouse.is_file():
        raise InputError(f"{warehouse}: exists and is not a warehouse file")
    today = today or dt.datetime.now(dt.UTC).date()
    if warehouse.exists():
        con = connect(warehouse)
        try:
            return _load(con, inputs, today, progress or no_progress, apply_corrections)
        finally:
            con.close()
    # A new warehouse is built beside its final name and renamed when committed
    # and closed, so a killed first load leaves no warehouse rather than an empty one.
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    building = warehouse.with_name(f".{warehouse.name}.loading-{os.getpid()}")
    _remove_database(building)
    try:
        con = connect(building)
        try:
            report = _load(con, inputs, today, progress or no_progress, apply_corrections)
        finally:
            con.close()
        os.replace(building, warehouse)
    finally:
        _remove_database(building)
    return report


def _remove_database(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def _load(
    con: duckdb.DuckDBPyConnection,
    inputs: Inputs,
    today: dt.date,
    progress: LoadProgress,
    apply_corrections: bool,
) -> LoadReport:
    con.execute("SET TimeZone = 'UTC'")
    # Rows are identified by their number in the input, not by insertion order,
    # so DuckDB may insert in parallel without keeping order (faster, less memory).
    con.execute("SET preserve_insertion_order = false")
    for macro in MACROS:
        con.execute(macro)
    earlier = _batch_with_fingerprint(con, inputs.fingerprint)
    if earlier is not None:
        return read_report(con, earlier, already_loaded=True)
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    batch_id = f"{loaded_at:%Y%m%dT%H%M%SZ}-{inputs.fingerprint[:12]}"
    results: list[TableResult] = []
    con.begin()
    try:
        ensure_schema(con)
        for source in inputs.sources:
            progress(source.table.name, "waiting", source.rows)
        for source in inputs.sources:
            results.append(load_table(con, source, batch_id, today, progress, apply_corrections))
        _record_batch(con, inputs, batch_id, loaded_at, results)
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # keep the original error
            con.rollback()
        raise
    return read_report(con, batch_id)


def _batch_with_fingerprint(con: duckdb.DuckDBPyConnection, fingerprint: str) -> str | None:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name = '_load_batches'"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute(
        "SELECT batch_id FROM _load_batches WHERE fingerprint = ? ORDER BY loaded_at LIMIT 1",
        [fingerprint],
    ).fetchone()
    return None if row is None else str(row[0])


def _record_batch(
    con: duckdb.DuckDBPyConnection,
    inputs: Inputs,
    batch_id: str,
    loaded_at: dt.datetime,
    results: list[TableResult],
) -> None:
    tables = [r.counts for r in results]
    con.executemany(
        "INSERT INTO _load_tables (batch_id, table_name, source_file, rows_in, rows_loaded, "
        "rows_new, rows_unchanged, rows_quarantined, rows_corrected) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                batch_id,
                t.table,
                t.source_file,
                t.rows_in,
                t.rows_loaded,
                t.rows_new,
                t.rows_unchanged,
                t.rows_quarantined,
                t.rows_corrected,
            ]
            for t in tables
        ],
    )
    quality = [q for r in results for q in r.quality]
    if quality:
        con.executemany(
            "INSERT INTO _data_quality (batch_id, table_name, reason, field, description, rows) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [[batch_id, q.table, q.reason, q.field, q.description, q.rows] for q in quality],
        )
    m = inputs.manifest
    con.execute(
        "INSERT INTO _load_batches (batch_id, fingerprint, source_dir, source, span_start, "
        "span_end, loaded_at, rows_in, rows_loaded, rows_new, rows_unchanged, rows_quarantined, "
        "rows_corrected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            inputs.fingerprint,
            str(inputs.directory.resolve()),
            m.source,
            m.span_start,
            m.span_end,
            loaded_at,
            sum(t.rows_in for t in tables),
            sum(t.rows_loaded for t in tables),
            sum(t.rows_new for t in tables),
            sum(t.rows_unchanged for t in tables),
            sum(t.rows_quarantined for t in tables),
            sum(t.rows_corrected for t in tables),
        ],
    )
