"""Loading one table, as named steps over temporary tables (docs/loading.md).

:func:`load_table` runs, in order:

1. :func:`plan`: read and type the input (``_cw_typed``), find malformed codes,
   build the table's row rules;
2. :func:`apply_row_rules`: every row failing a rule goes to ``_cw_bad``
   (row number, rule index);
3. :func:`refuse_duplicates`: copies and conflicting versions of a key within
   the batch;
4. :func:`match_warehouse`: keys already in the warehouse: unchanged rows to
   ``_cw_same``; the others conflict or, with corrections applied, go to
   ``_cw_corrected``;
5. :func:`refuse_unknown_references`: self-references (an organisation's
   parent) to rows neither loaded nor in the warehouse;
6. :func:`supersede_corrections`: the warehouse rows that corrections replace
   move to ``_superseded``;
7. :func:`insert_rows`: every row not refused and not unchanged is inserted;
8. :func:`quarantine`: the refused rows, with their reason, into ``_quarantine``;
   then :func:`tally` reconciles the counts and :func:`drop_temporary_tables`
   tidies up.

Rows are identified by ``_row``, their number in the input. Each pass reads
the input again (columnar Parquet reads are cheap) rather than materialising it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from careweave.dataset import codes
from careweave.dataset.schema import Kind, Table
from careweave.dataset.tables import TABLES
from careweave.errors import InputError
from careweave.ingest.report import QualityCount, TableCounts
from careweave.ingest.rules import REASONS, CheckPlan, Rule, build_plan, raw_name, typed_select
from careweave.ingest.sources import Source
from careweave.warehouse.schema import BATCH_COLUMN, quote

#: Progress of a load, reported to the caller: ``(table, step, rows_in)`` with step
#: one of ``waiting`` (announced for every table before the first starts),
#: ``reading``, ``validating``, ``writing`` and ``done`` (the table is written,
#: inside the transaction).
LoadProgress = Callable[[str, str, int], None]


def no_progress(table: str, step: str, rows: int) -> None:
    """The :data:`LoadProgress` that reports nothing."""


@dataclass(frozen=True)
class TableResult:
    counts: TableCounts
    quality: tuple[QualityCount, ...]


@dataclass
class TableLoad:
    """One table's load in progress: its input, batch, connection and rules so far.

    ``rules`` starts as the row rules of the plan; later steps add the rules
    they refuse rows by (``_cw_bad._rule`` indexes this list).
    """

    con: duckdb.DuckDBPyConnection
    source: Source
    batch_id: str
    apply_corrections: bool
    rules: list[Rule] = field(default_factory=list)
    #: Columns read as text and typed by the rules (their raw text is quarantined).
    raw: frozenset[str] = frozenset()

    @property
    def table(self) -> Table:
        return self.source.table

    @property
    def name(self) -> str:
        return quote(self.table.name)

    @property
    def key(self) -> str:
        return quote(self.table.key)

    def rule(self, reason: str, field: str) -> int:
        """Add a rule refusing rows for ``reason`` on ``field``; its index for ``_cw_bad``."""
        self.rules.append(Rule(reason, field, ""))
        return len(self.rules) - 1

    def good(self) -> str:
        """The rows not refused so far (no join at all in the usual case of none)."""
        if count(self.con, "_cw_bad"):
            return "_cw_typed AS t ANTI JOIN _cw_bad AS b ON b._row = t._row"
        return "_cw_typed AS t"


def load_table(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    batch_id: str,
    today: dt.date,
    progress: LoadProgress = no_progress,
    apply_corrections: bool = False,
) -> TableResult:
    """Validate and load one table, step by step; the temporary tables are dropped at the end."""
    run = TableLoad(con, source, batch_id, apply_corrections)
    name, rows = source.table.name, source.rows
    progress(name, "reading", rows)
    with _read_errors(source):
        checks = plan(run, today)
        progress(name, "validating", rows)
        apply_row_rules(run, checks)
    refuse_duplicates(run)
    match_warehouse(run)
    refuse_unknown_references(run)
    progress(name, "writing", rows)
    corrected = supersede_corrections(run)
    inserted = insert_rows(run)
    quarantine(run)
    result = tally(run, inserted, corrected)
    drop_temporary_tables(con)
    progress(name, "done", rows)
    return result


@contextmanager
def _read_errors(source: Source) -> Iterator[None]:
    """A file that cannot be read after all (corrupt data pages): InputError naming it."""
    try:
        yield
    except duckdb.Error as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{source.path}: cannot read ({text})") from None


def plan(run: TableLoad, today: dt.date) -> CheckPlan:
    """Step 1: read and type the input as the view ``_cw_typed`` and build its row rules.

    CSV rows are numbered by a window over the read order, so a CSV input is
    numbered once, in order, and kept (CSV inputs are small). Malformed codes
    are found on the distinct values (``_cw_bad_codes``, ``_cw_bad_icd10``).
    """
    con, source = run.con, run.source
    select, run.raw = typed_select(source)
    if source.format == "csv":
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cw_csv AS {select}")
        con.execute("SET preserve_insertion_order = false")
        select = "SELECT * FROM _cw_csv"
    con.execute(f"CREATE OR REPLACE TEMP VIEW _cw_typed AS {select}")
    checks = build_plan(
        source,
        today=today,
        bad_code_columns=find_bad_codes(con, source),
        bad_icd10_columns=find_bad_icd10(con, source),
    )
    run.rules = list(checks.rules)
    return checks


def apply_row_rules(run: TableLoad, checks: CheckPlan) -> None:
    """Step 2: ``_cw_bad`` holds every row failing a row rule, with the first rule it fails."""
    run.con.execute(f"CREATE OR REPLACE TEMP TABLE _cw_bad AS {checks.failures_select()}")


def refuse_duplicates(run: TableLoad) -> None:
    """Step 3: duplicates among the rows that passed every row rule.

    Exact copies after the first are ``duplicate_in_batch``; every version of
    a key sent with different contents is ``conflicting_duplicate_in_batch``.
    Candidates are found by a 64-bit hash of the key (far cheaper to group
    than text); the exact keys are compared after, so a collision refuses nothing.
    """
    con, key = run.con, run.key
    dup = run.rule("duplicate_in_batch", run.table.key)
    conflicting = run.rule("conflicting_duplicate_in_batch", run.table.key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cw_dupkeys AS SELECT hash(t.{key}) AS hk "
        f"FROM {run.good()} GROUP BY hk HAVING count(*) > 1"
    )
    if not count(con, "_cw_dupkeys"):
        return
    row_hash = "hash(" + ", ".join(f"t.{quote(c)}" for c in run.table.column_names) + ")"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cw_dups AS SELECT t._row, t.{key} AS k, "
        f"{row_hash} AS h FROM {run.good()} SEMI JOIN _cw_dupkeys AS d ON d.hk = hash(t.{key})"
    )
    con.execute(
        f"INSERT INTO _cw_bad SELECT d._row, CASE WHEN g.variants > 1 THEN {conflicting} "
        f"ELSE {dup} END FROM _cw_dups AS d JOIN (SELECT k, count(DISTINCT h) AS variants, "
        "min(_row) AS first_row FROM _cw_dups GROUP BY k) AS g ON g.k = d.k "
        "WHERE g.variants > 1 OR d._row <> g.first_row"
    )


def match_warehouse(run: TableLoad) -> None:
    """Step 4: rows whose key is already in the warehouse.

    Identical rows go to ``_cw_same`` (unchanged, not inserted again). The
    others are ``conflicts_with_warehouse``, or, with corrections applied, go
    to ``_cw_corrected`` (row, key) to replace the warehouse's row, except
    people corrections that would break rows already loaded
    (:func:`refuse_breaking_people_corrections`).
    """
    con, key, name = run.con, run.key, run.name
    columns = run.table.column_names
    con.execute("CREATE OR REPLACE TEMP TABLE _cw_same (_row BIGINT)")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cw_corrected AS SELECT t._row, t.{key} AS k "
        "FROM _cw_typed AS t LIMIT 0"
    )
    if not count(con, f"main.{name}"):
        return
    same = " AND ".join(f"w.{quote(c)} IS NOT DISTINCT FROM t.{quote(c)}" for c in columns)
    # The key is kept only where a correction may need it (a re-extract of tens of
    # millions of unchanged rows would otherwise hold every key here).
    k = f"CASE WHEN ({same}) THEN NULL ELSE t.{key} END" if run.apply_corrections else "NULL"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cw_existing AS SELECT t._row, {k} AS k, "
        f"({same}) AS same FROM {run.good()} JOIN main.{name} AS w ON w.{key} = t.{key}"
    )
    con.execute("INSERT INTO _cw_same SELECT _row FROM _cw_existing WHERE same")
    if run.apply_corrections:
        con.execute("INSERT INTO _cw_corrected SELECT _row, k FROM _cw_existing WHERE NOT same")
        if run.table.name == "people":
            refuse_breaking_people_corrections(run)
    else:
        conflict = run.rule("conflicts_with_warehouse", run.table.key)
        con.execute(f"INSERT INTO _cw_bad SELECT _row, {conflict} FROM _cw_existing WHERE NOT same")


def refuse_breaking_people_corrections(run: TableLoad) -> None:
    """Part of step 4 for people: a corrected date of birth or death must keep the
    person's rows already in the warehouse within their life (the rules that held
    when those rows were loaded); corrections that would not are quarantined
    (``correction_breaks_loaded_rows``) and so leave ``_cw_corrected`` before writing."""
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
    for field_name in ("date_of_birth", "date_of_death"):
        idx = run.rule("correction_breaks_loaded_rows", field_name)
        union = " UNION ".join(sql for f, sql in checks if f == field_name)
        if not union:
            continue
        run.con.execute(
            f"INSERT INTO _cw_bad SELECT DISTINCT _row, {idx} FROM ({union}) "
            "WHERE _row NOT IN (SELECT _row FROM _cw_bad)"
        )


def refuse_unknown_references(run: TableLoad) -> None:
    """Step 5: self-references (an organisation's parent) must name a row loaded in
    this batch or already in the warehouse; repeated until no more rows fall out,
    since refusing a parent refuses its children."""
    table = run.table
    for c in table.columns:
        if c.references is None or c.references.table != table.name:
            continue
        reason = "unknown_organisation" if table.name == "organisations" else "unknown_reference"
        idx = run.rule(reason, c.name)
        ref, col = quote(c.references.column), quote(c.name)
        while True:
            changed = run.con.execute(
                f"INSERT INTO _cw_bad SELECT t._row, {idx} FROM {run.good()} "
                f"WHERE t.{col} IS NOT NULL "
                f"AND t.{col} NOT IN (SELECT t2.{ref} FROM _cw_typed AS t2 ANTI JOIN _cw_bad AS b2 "
                f"ON b2._row = t2._row) AND t.{col} NOT IN (SELECT {ref} FROM main.{run.name})"
            ).fetchone()
            if not changed or not changed[0]:
                break


def supersede_corrections(run: TableLoad) -> int:
    """Step 6: the warehouse rows replaced by corrections move to ``_superseded``
    (with the batch that loaded them) and are deleted; returns how many.

    Corrections refused since (e.g. an unknown parent organisation) are dropped
    first, leaving the warehouse's row as it was.
    """
    con, key, name = run.con, run.key, run.name
    con.execute("DELETE FROM _cw_corrected WHERE _row IN (SELECT _row FROM _cw_bad)")
    corrected = count(con, "_cw_corrected")
    if not corrected:
        return 0
    old = (
        "to_json(struct_pack("
        + ", ".join(f"{quote(c)} := w.{quote(c)}" for c in run.table.column_names)
        + "))"
    )
    con.execute(
        "INSERT INTO _superseded (batch_id, table_name, key, superseded_batch_id, content) "
        f"SELECT ?, ?, CAST(w.{key} AS VARCHAR), w.{BATCH_COLUMN}, CAST({old} AS VARCHAR) "
        f"FROM main.{name} AS w SEMI JOIN _cw_corrected AS c ON c.k = w.{key} "
        f"ORDER BY w.{key}",
        [run.batch_id, run.table.name],
    )
    con.execute(f"DELETE FROM main.{name} WHERE {key} IN (SELECT k FROM _cw_corrected)")
    return corrected


def insert_rows(run: TableLoad) -> int:
    """Step 7: insert every row neither refused nor unchanged (new rows and
    corrections), tagged with the batch; returns how many.

    A person's table is written in NHS-number order, so each of DuckDB's row groups
    (and its min/max zone map) covers a narrow range of people: the workbench reads one
    person's rows (the patient page's timeline and shared record) by skipping every
    other row group instead of scanning the table (docs/web.md, Performance)."""
    columns = run.table.column_names
    column_list = ", ".join(quote(c) for c in columns)
    person = run.table.person_column
    order = f" ORDER BY t.{quote(person)}" if person is not None and person in columns else ""
    inserted = run.con.execute(
        f"INSERT INTO main.{run.name} ({column_list}, {BATCH_COLUMN}) "
        f"SELECT {', '.join(f't.{quote(c)}' for c in columns)}, ? FROM {run.good()} "
        f"ANTI JOIN _cw_same AS s ON s._row = t._row{order}",
        [run.batch_id],
    ).fetchone()
    return int(inserted[0]) if inserted else 0


def quarantine(run: TableLoad) -> None:
    """Step 8: every refused row into ``_quarantine`` with its reason, field and
    content as read (raw text for values that could not be typed); the rules
    are kept in ``_cw_rules`` for :func:`tally`."""
    con = run.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cw_rules "
        "(idx SMALLINT, reason VARCHAR, field VARCHAR, description VARCHAR)"
    )
    con.executemany(
        "INSERT INTO _cw_rules VALUES (?, ?, ?, ?)",
        [[i, r.reason, r.field, REASONS[r.reason]] for i, r in enumerate(run.rules)],
    )
    content = (
        "to_json(struct_pack("
        + ", ".join(
            f"{quote(c)} := t.{quote(raw_name(c) if c in run.raw else c)}"
            for c in run.table.column_names
        )
        + "))"
    )
    con.execute(
        "INSERT INTO _quarantine (batch_id, table_name, row_number, reason, field, content) "
        f"SELECT ?, ?, t._row, r.reason, r.field, CAST({content} AS VARCHAR) "
        "FROM _cw_typed AS t JOIN _cw_bad AS b ON b._row = t._row "
        "JOIN _cw_rules AS r ON r.idx = b._rule ORDER BY t._row",
        [run.batch_id, run.table.name],
    )


def tally(run: TableLoad, inserted: int, corrected: int) -> TableResult:
    """The table's counts and data-quality rows; RuntimeError if they do not reconcile.

    Inserted rows were selected independently of the failures (by anti-join),
    so this checks that every row of the file went exactly one way.
    """
    con, source, table = run.con, run.source, run.table
    new = inserted - corrected
    unchanged = count(con, "_cw_same")
    quarantined = count(con, "_cw_bad")
    loaded = new + unchanged + corrected
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
    display = source.path.name + ("/" if source.path.is_dir() else "")
    counts = TableCounts(
        table.name, display, source.rows, loaded, new, unchanged, quarantined, corrected
    )
    return TableResult(counts, quality)


TEMP_TABLES = (
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


def drop_temporary_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the view and temporary tables of one table's load."""
    con.execute("DROP VIEW IF EXISTS _cw_typed")
    for temp in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {temp}")


def count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    return int(row[0]) if row else 0


def find_bad_codes(con: duckdb.DuckDBPyConnection, source: Source) -> frozenset[str]:
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


def find_bad_icd10(con: duckdb.DuckDBPyConnection, source: Source) -> frozenset[str]:
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
