"""Tables of the warehouse: the canonical ones and the loader's bookkeeping.

Canonical tables keep their canonical names and columns (DuckDB types from
:class:`careweave.dataset.schema.Kind`) plus ``_batch_id``, the load batch that
inserted the row. Keys are unique because the loader quarantines duplicates;
there is no PRIMARY KEY index (it would cost memory and time on tens of
millions of rows for no extra safety).

Bookkeeping tables (docs/loading.md):

- ``_load_batches``: one row per committed load;
- ``_load_tables``: per batch and table, rows in / loaded / new / unchanged / corrected /
  quarantined;
- ``_quarantine``: every rejected row, its content as JSON, the reason and field;
- ``_data_quality``: per batch, table, reason and field, the number of rows;
- ``_superseded``: every row a correction replaced (``careweave load --apply-corrections``),
  its content as JSON, the batch that had loaded it and the batch that replaced it.

Columns added to a bookkeeping table after its first release are listed in
:data:`ADDED_COLUMNS`; ``ensure_schema`` adds them to an older warehouse.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from careweave.dataset.schema import Kind, Table
from careweave.dataset.tables import TABLES
from careweave.errors import InputError

_DUCKDB_TYPES: dict[Kind, str] = {
    Kind.STRING: "VARCHAR",
    Kind.INT: "BIGINT",
    Kind.SMALLINT: "SMALLINT",
    Kind.FLOAT: "DOUBLE",
    Kind.BOOL: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.STRING_LIST: "VARCHAR[]",
}

BATCH_COLUMN = "_batch_id"

BOOKKEEPING_DDL: dict[str, str] = {
    "_load_batches": """
        batch_id VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        source_dir VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        span_start DATE NOT NULL,
        span_end DATE NOT NULL,
        loaded_at TIMESTAMP NOT NULL,
        rows_in BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_new BIGINT NOT NULL,
        rows_unchanged BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        rows_corrected BIGINT DEFAULT 0
    """,
    "_load_tables": """
        batch_id VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        source_file VARCHAR NOT NULL,
        rows_in BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_new BIGINT NOT NULL,
        rows_unchanged BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        rows_corrected BIGINT DEFAULT 0
    """,
    "_quarantine": """
        batch_id VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        row_number BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        field VARCHAR,
        content VARCHAR NOT NULL
    """,
    "_data_quality": """
        batch_id VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        field VARCHAR,
        description VARCHAR NOT NULL,
        rows BIGINT NOT NULL
    """,
    "_superseded": """
        batch_id VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        superseded_batch_id VARCHAR NOT NULL,
        content VARCHAR NOT NULL
    """,
}

#: (table, column, DuckDB type with default) added since the first release.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_load_batches", "rows_corrected", "BIGINT DEFAULT 0"),
    ("_load_tables", "rows_corrected", "BIGINT DEFAULT 0"),
)

BOOKKEEPING_TABLES: tuple[str, ...] = tuple(BOOKKEEPING_DDL)


def duckdb_type(kind: Kind) -> str:
    """The DuckDB column type that holds values of ``kind``."""
    return _DUCKDB_TYPES[kind]


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(table: Table) -> str:
    cols = [f"{quote(c.name)} {duckdb_type(c.kind)}" for c in table.columns]
    cols.append(f"{BATCH_COLUMN} VARCHAR NOT NULL")
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({', '.join(cols)})"


def ensure_schema(con: duckdb.DuckDBPyConnection, tables: tuple[Table, ...] = TABLES) -> None:
    """Create every canonical and bookkeeping table that is missing.

    An existing table lacking a canonical column is an InputError: the file is
    a warehouse of another (or a broken) shape, and loading into it would fail
    halfway.
    """
    existing = _columns_by_table(con)
    for t in tables:
        have = existing.get(t.name)
        if have is None:
            con.execute(create_table_sql(t))
            continue
        missing = [c for c in (*t.column_names, BATCH_COLUMN) if c not in have]
        for c in t.columns:
            if c.may_be_absent and c.name in missing:
                # Added since this warehouse was created: add it (null for old rows).
                con.execute(
                    f"ALTER TABLE {quote(t.name)} ADD COLUMN {quote(c.name)} {duckdb_type(c.kind)}"
                )
                missing.remove(c.name)
        if missing:
            raise InputError(
                f"warehouse table {t.name}: missing column(s) {', '.join(missing)}; "
                "it was not created by this version of careweave load"
            )
    for name, ddl in BOOKKEEPING_DDL.items():
        if name not in existing:
            con.execute(f"CREATE TABLE {quote(name)} ({ddl})")
    for name, column, kind in ADDED_COLUMNS:
        if name in existing and column not in existing[name]:
            con.execute(f"ALTER TABLE {quote(name)} ADD COLUMN {quote(column)} {kind}")


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether ``table`` of the warehouse has ``column`` (older warehouses lack added ones)."""
    return column in _columns_by_table(con).get(table, set())


def _columns_by_table(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_catalog = current_database()"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for table_name, column_name in rows:
        out.setdefault(str(table_name), set()).add(str(column_name))
    return out


def warehouse_span(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """min(span_start) .. max(span_end) over the committed loads, None before any load."""
    if "_load_batches" not in _columns_by_table(con):
        return None
    row = con.execute("SELECT min(span_start), max(span_end) FROM _load_batches").fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]
