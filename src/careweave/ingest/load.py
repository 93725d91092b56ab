"""Loading a checked dataset directory into the warehouse: one transaction per batch.

The order of work (docs/loading.md):

1. :func:`~careweave.ingest.sources.inspect_dataset` checks every file; a bad
   one stops the load before the warehouse is opened.
2. The batch fingerprint (SHA-256 of the manifest and table files) is looked up
   in ``_load_batches``: a batch loaded before is a no-op.
3. In one transaction, table by table in dependency order (organisations,
   people, then activity): validate every row in DuckDB, quarantine the
   failures with their reason, insert the rest, record the counts.
4. Commit. A load killed before the commit leaves the warehouse as it was; a
   new warehouse is built under a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from careweave.dataset import codes
from careweave.dataset.schema import Kind
from careweave.dataset.tables import TABLES
from careweave.errors import InputError
from careweave.ingest.report import LoadReport, QualityCount, TableCounts, read_report
from careweave.ingest.rules import MACROS, REASONS, Rule, build_plan, raw_name, typed_select
from careweave.ingest.sources import Inputs, Source, inspect_dataset
from careweave.warehouse.connection import connect
from careweave.warehouse.schema import BATCH_COLUMN, ensure_schema, quote

#: Test hook: after writing the table named here (inside the transaction), write
#: the file named by PAUSE_SIGNAL_ENV and sleep, so a test can kill the load
#: at a known point.
PAUSE_AFTER_ENV = "CAREWEAVE_TEST_LOAD_PAUSE_AFTER"
PAUSE_SIGNAL_ENV = "CAREWEAVE_TEST_LOAD_PAUSE_SIGNAL"


@dataclass(frozen=True)
class _TableResult:
    counts: TableCounts
    quality: tuple[QualityCount, ...]


def load_dataset(
    directory: Path,
    warehouse: Path,
    *,
    progress: bool = False,
    today: dt.date | None = None,
    console: Console | None = None,
    apply_corrections: bool = False,
) -> LoadReport:
    """Validate and load the dataset in ``directory`` into the DuckDB file ``warehouse``.

    Raises InputError (nothing written) when a file is not what it claims.
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
            return _load(con, inputs, today, progress, console, apply_corrections)
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
            report = _load(con, inputs, today, progress, console, apply_corrections)
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
    progress: bool,
    console: Console | None,
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
    results: list[_TableResult] = []
    con.begin()
    try:
        ensure_schema(con)
        with _progress(inputs, progress, console) as advance:
            for source in inputs.sources:
                results.append(
                    _load_table(con, source, batch_id, today, advance, apply_corrections)
                )
                _pause_for_tests(source.table.name)
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


class _Advance:
    """Moves one table's progress bar."""

    def __init__(self, bar: Progress | None, tasks: dict[str, TaskID]) -> None:
        self._bar = bar
        self._tasks = tasks

    def __call__(self, table: str, step: str, done: bool = False) -> None:
        if self._bar is None:
            return
        task = self._tasks[table]
        self._bar.update(task, description=f"{table}: {step}")
        if done:
            total = self._bar.tasks[task].total or 0
            self._bar.update(task, completed=total)


@contextmanager
def _progress(inputs: Inputs, enabled: bool, console: Console | None) -> Iterator[_Advance]:
    if not enabled:
        yield _Advance(None, {})
        return
    bar = Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
    )
    with bar:
        tasks = {
            s.table.name: bar.add_task(f"{s.table.name}: waiting", total=max(s.rows, 1))
            for s in inputs.sources
        }
        yield _Advance(bar, tasks)


def _load_table(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    batch_id: str,
    today: dt.date,
    advance: _Advance,
    apply_corrections: bool = False,
) -> _TableResult:
    """Validate and load one table; the temporary tables are dropped at the end.

    Rows are identified by ``_row`` (their number in the input). Failing rows go
    to ``_cw_bad`` (row, rule index); rows already in the warehouse unchanged to
    ``_cw_same``; corrections to apply to ``_cw_corrected`` (row, key), whose
    warehouse rows are moved to ``_superseded`` and deleted; every row not
    failed or unchanged is inserted. Each pass reads the input again
    (columnar Parquet reads are cheap) rather than materialising it.
    """
    table = source.table
    name = quote(table.name)
    key = quote(table.key)
    columns = table.column_names
    advance(table.name, "reading")
    try:
        select, raw = typed_select(source)
        if source.format == "csv":
            # CSV rows are numbered by a window over the read order: number them
            # once, in order, and keep them (CSV inputs are small).
            con.execute("SET preserve_insertion_order = true")
            con.execute(f"CREATE OR REPLACE TEMP TABLE _cw_csv AS {select}")
            con.execute("SET preserve_insertion_order = false")
            select = "SELECT * FROM _cw_csv"
        con.execute(f"CREATE OR REPLACE TEMP VIEW _cw_typed AS {select}")
        bad_code_columns = _find_bad_codes(con, source)
        bad_icd10_columns = _find_bad_icd10(con, source)
        plan = build_plan(
            source,
            today=today,
            bad_code_columns=bad_code_columns,
            bad_icd10_columns=bad_icd10_columns,
        )
        advance(table.name, "validating")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cw_bad AS {plan.failures_select()}")
    except duckdb.Error as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{source.path}: cannot read ({text})") from None

    rules = list(plan.rules)

    def rule(reason: str, field: str) -> int:
        rules.append(Rule(reason, field, ""))
        return len(rules) - 1

    def good() -> str:
        """The rows not refused so far (no join at all in the usual case of none)."""
        if _count(con, "_cw_bad"):
            return "_cw_typed AS t ANTI JOIN _cw_bad AS b ON b._row = t._row"
        return "_cw_typed AS t"

    # Duplicates among the rows that passed every row rule: exact copies after
    # the first, and every version of a key sent with different contents.
    dup = rule("duplicate_in_batch", table.key)
    conflicting = rule("conflicting_duplicate_in_batch", table.key)
    # Candidates by a 64-bit hash of the key (far cheaper to group than text);
    # the exact keys are compared below, so a hash collision refuses nothing.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cw_dupkeys AS SELECT hash(t.{key}) AS hk FROM {good()} "
        "GROUP BY hk HAVING count(*) > 1"
    )
    if _count(con, "_cw_dupkeys"):
        row_hash = "hash(" + ", ".join(f"t.{quote(c)}" for c in columns) + ")"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _cw_dups AS SELECT t._row, t.{key} AS k, "
            f"{row_hash} AS h FROM {good()} SEMI JOIN _cw_dupkeys AS d ON d.hk = hash(t.{key})"
        )
        con.execute(
            f"INSERT INTO _cw_bad SELECT d._row, CASE WHEN g.variants > 1 THEN {conflicting} "
            f"ELSE {dup} END FROM _cw_dups AS d JOIN (SELECT k, count(DISTINCT h) AS variants, "
            "min(_row) AS first_row FROM _cw_dups GROUP BY k) AS g ON g.k = d.k "
            "WHERE g.variants > 1 OR d._row <> g.first_row"
        )
    # Keys already in the warehouse: identical rows are unchanged; others conflict
    # or, with apply_corrections, replace the warehouse's row.
    con.execute("CREATE OR REPLACE TEMP TABLE _cw_same (_row BIGINT)")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cw_corrected AS SELECT t._row, t.{key} AS k "
        "FROM _cw_typed AS t LIMIT 0"
    )
    if _count(con, f"main.{name}"):
        same = " AND ".join(f"w.{quote(c)} IS NOT DISTINCT FROM t.{quote(c)}" for c in columns)
        # The key is kept only where a correction may need it (a re-extract of tens of
        # millions of unchanged rows would otherwise hold every key here).
        k = f"CASE WHEN ({same}) THEN NULL ELSE t.{key} END" if apply_corrections else "NULL"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _cw_existing AS SELECT t._row, {k} AS k, "
            f"({same}) AS same FROM {good()} JOIN main.{name} AS w ON w.{key} = t.{key}"
        )
        con.execute("INSERT INTO _cw_same SELECT _row FROM _cw_existing WHERE same")
        if apply_corrections:
            con.execute("INSERT INTO _cw_corrected SELECT _row, k FROM _cw_existing WHERE NOT same")
            if table.name == "people":
                _refuse_breaking_people_corrections(con, rule)
        else:
            conflict = rule("conflicts_with_warehouse", table.key)
            con.execute(
                f"INSERT INTO _cw_bad SELECT _row, {conflict} FROM _cw_existing WHERE NOT same"
            )
    # Self-references (an organisation's parent): the parent must be loaded too,
    # so repeat until no more rows fall out.
    for c in table.columns:
        if c.references is None or c.references.table != table.name:
            continue
        reason = "unknown_organisation" if table.name == "organisations" else "unknown_reference"
        idx = rule(reason, c.name)
        ref, col = quote(c.references.column), quote(c.name)
        while True:
            changed = con.execute(
                f"INSERT INTO _cw_bad SELECT t._row, {idx} FROM {good()} "
                f"WHERE t.{col} IS NOT NULL "
                f"AND t.{col} NOT IN (SELECT t2.{ref} FROM _cw_typed AS t2 ANTI JOIN _cw_bad AS b2 "
                f"ON b2._row = t2._row) AND t.{col} NOT IN (SELECT {ref} FROM main.{name})"
            ).fetchone()
            if not changed or not changed[0]:
                break

    advance(table.name, "writing")
    # Corrections refused since (e.g. an unknown parent organisation) stay as they are.
    con.execute("DELETE FROM _cw_corrected WHERE _row IN (SELECT _row FROM _cw_bad)")
    corrected = _count(con, "_cw_corrected")
    if corrected:
        old = (
            "to_json(struct_pack("
            + ", ".join(f"{quote(c)} := w.{quote(c)}" for c in columns)
            + "))"
        )
        con.execute(
            "INSERT INTO _superseded (batch_id, table_name, key, superseded_batch_id, content) "
            f"SELECT ?, ?, CAST(w.{key} AS VARCHAR), w.{BATCH_COLUMN}, CAST({old} AS VARCHAR) "
            f"FROM main.{name} AS w SEMI JOIN _cw_corrected AS c ON c.k = w.{key} "
            f"ORDER BY w.{key}",
            [batch_id, table.name],
        )
        con.execute(f"DELETE FROM main.{name} WHERE {key} IN (SELECT k FROM _cw_corrected)")
    column_list = ", ".join(quote(c) for c in columns)
    inserted = con.execute(
        f"INSERT INTO main.{name} ({column_list}, {BATCH_COLUMN}) "
        f"SELECT {', '.join(f't.{quote(c)}' for c in columns)}, ? FROM {good()} "
        "ANTI JOIN _cw_same AS s ON s._row = t._row",
        [batch_id],
    ).fetchone()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cw_rules "
        "(idx SMALLINT, reason VARCHAR, field VARCHAR, description VARCHAR)"
    )
    con.executemany(
        "INSERT INTO _cw_rules VALUES (?, ?, ?, ?)",
        [[i, r.reason, r.field, REASONS[r.reason]] for i, r in enumerate(rules)],
    )
    content = (
        "to_json(struct_pack("
        + ", ".join(f"{quote(c)} := t.{quote(raw_name(c) if c in raw else c)}" for c in columns)
        + "))"
    )
    con.execute(
        "INSERT INTO _quarantine (batch_id, table_name, row_number, reason, field, content) "
        f"SELECT ?, ?, t._row, r.reason, r.field, CAST({content} AS VARCHAR) "
        "FROM _cw_typed AS t JOIN _cw_bad AS b ON b._row = t._row "
        "JOIN _cw_rules AS r ON r.idx = b._rule ORDER BY t._row",
        [batch_id, table.name],
    )
    new = (int(inserted[0]) if inserted else 0) - corrected
    unchanged = _count(con, "_cw_same")
    quarantined = _count(con, "_cw_bad")
    loaded = new + unchanged + corrected
    # Inserted rows were selected independently of the failures (by anti-join),
    # so this checks that every row of the file went exactly one way.
    if loaded + quarantined != source.rows:
        raise RuntimeError(
            f"{table.name}: counts do not reconcile (file {source.rows:,}, loaded {loaded:,}, "
            f"quarantined {quarantined:,})"
        )
    quality = tuple(
        QualityCount(table.name, str(reason), field, str(description), int(n))
        for reason, field, description, n in con.execute(
            "SELECT r.reason, r.field, r.description, count(*) FROM _cw_bad AS b "
            "JOIN _cw_rules AS r ON r.idx = b._rule "
            "GROUP BY r.idx, r.reason, r.field, r.description ORDER BY r.idx"
        ).fetchall()
    )
    con.execute("DROP VIEW IF EXISTS _cw_typed")
    for temp in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    advance(table.name, "done", done=True)
    counts = TableCounts(
        table.name,
        _display_path(source),
        source.rows,
        loaded,
        new,
        unchanged,
        quarantined,
        corrected,
    )
    return _TableResult(counts, quality)


_TEMP_TABLES = (
    "_cw_csv",
    "_cw_bad",
    "_cw_same",
    "_cw_dupkeys",
    "_cw_dups",
    "_cw_existing",
    "_cw_corrected",
    "_cw_rules",
    "_cw_bad_codes",
    "_cw_bad_icd10",
)


def _refuse_breaking_people_corrections(
    con: duckdb.DuckDBPyConnection, rule: Callable[[str, str], int]
) -> None:
    """A corrected date of birth or death must keep the person's rows already in the
    warehouse within their life (the rules that held when those rows were loaded):
    corrections that would not are quarantined and left out of ``_cw_corrected``."""
    checks: list[tuple[str, str]] = []  # (person field, SQL selecting the _row of breakers)
    for t in TABLES:
        if t.person_column is None or t.name == "people" or not t.date_columns:
            continue
        for d in t.date_columns:
            c = t.column(d)
            value = f"CAST(x.{quote(d)} AS DATE)" if c.kind is Kind.TIMESTAMP else f"x.{quote(d)}"
            joined = (
                f"FROM main.{quote(t.name)} AS x JOIN _cw_typed AS n "
                f"ON n.nhs_number = x.{quote(t.person_column)} "
                "WHERE n._row IN (SELECT _row FROM _cw_corrected)"
            )
            checks.append(
                ("date_of_birth", f"SELECT n._row {joined} AND {value} < n.date_of_birth")
            )
            checks.append(
                ("date_of_death", f"SELECT n._row {joined} AND {value} > n.date_of_death")
            )
    for field in ("date_of_birth", "date_of_death"):
        idx = rule("correction_breaks_loaded_rows", field)
        union = " UNION ".join(sql for f, sql in checks if f == field)
        if not union:
            continue
        con.execute(
            f"INSERT INTO _cw_bad SELECT DISTINCT _row, {idx} FROM ({union}) "
            "WHERE _row NOT IN (SELECT _row FROM _cw_bad)"
        )  # refused rows leave _cw_corrected with the others, before writing


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    return int(row[0]) if row else 0


def _display_path(source: Source) -> str:
    return source.path.name + ("/" if source.path.is_dir() else "")


def _find_bad_codes(con: duckdb.DuckDBPyConnection, source: Source) -> frozenset[str]:
    """Columns checked against their code system that hold a malformed code.

    Fills the temporary table ``_cw_bad_codes`` (code_system, code).
    """
    checked = [c.name for c in source.table.columns if c.check == "code"]
    bad_systems: list[str] = []
    bad_codes: list[str] = []
    found: set[str] = set()
    for col in checked:
        pairs = con.execute(
            f"SELECT DISTINCT code_system, {quote(col)} FROM _cw_typed "
            f"WHERE code_system IS NOT NULL AND {quote(col)} IS NOT NULL"
        ).fetchall()
        for system, code in pairs:
            if not codes.is_valid_code(system, code):
                bad_systems.append(system)
                bad_codes.append(code)
                found.add(col)
    _temp_table(
        con,
        "_cw_bad_codes",
        pa.table(
            {
                "code_system": pa.array(bad_systems, pa.string()),
                "code": pa.array(bad_codes, pa.string()),
            }
        ),
    )
    return frozenset(found)


def _find_bad_icd10(con: duckdb.DuckDBPyConnection, source: Source) -> frozenset[str]:
    """ICD-10 columns holding a malformed code; fills ``_cw_bad_icd10`` (code)."""
    bad: set[str] = set()
    found: set[str] = set()
    for c in source.table.columns:
        if c.check != "icd10":
            continue
        values = (
            f"SELECT DISTINCT unnest({quote(c.name)}) AS v FROM _cw_typed"
            if c.kind is Kind.STRING_LIST
            else f"SELECT DISTINCT {quote(c.name)} AS v FROM _cw_typed"
        )
        for (value,) in con.execute(f"SELECT v FROM ({values}) WHERE v IS NOT NULL").fetchall():
            if not codes.is_icd10(value):
                bad.add(value)
                found.add(c.name)
    _temp_table(con, "_cw_bad_icd10", pa.table({"code": pa.array(sorted(bad), pa.string())}))
    return frozenset(found)


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    view = f"{name}_arrow"
    con.register(view, data)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)


def _record_batch(
    con: duckdb.DuckDBPyConnection,
    inputs: Inputs,
    batch_id: str,
    loaded_at: dt.datetime,
    results: list[_TableResult],
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


def _pause_for_tests(table: str) -> None:
    if os.environ.get(PAUSE_AFTER_ENV) != table:
        return
    signal = os.environ.get(PAUSE_SIGNAL_ENV)
    if signal:
        Path(signal).write_text(table)
    time.sleep(600)
