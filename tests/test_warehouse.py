"""The warehouse schema: canonical and bookkeeping tables, created once, span."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from careweave.dataset.tables import TABLES
from careweave.errors import InputError
from careweave.warehouse import (
    BOOKKEEPING_TABLES,
    connect,
    duckdb_type,
    ensure_schema,
    open_read_only,
    warehouse_span,
)


def test_ensure_schema_creates_every_table_once(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    ensure_schema(con)
    ensure_schema(con)  # idempotent
    names = {str(r[0]) for r in con.execute("SHOW TABLES").fetchall()}
    assert names == {t.name for t in TABLES} | set(BOOKKEEPING_TABLES)
    for t in TABLES:
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [t.name],
        ).fetchall()
        assert cols == [(c.name, duckdb_type(c.kind)) for c in t.columns] + [
            ("_batch_id", "VARCHAR")
        ]
    assert warehouse_span(con) is None
    con.execute(
        "INSERT INTO _load_batches VALUES ('b1', 'f', 'd', 's', DATE '2020-01-01', "
        "DATE '2021-12-31', now()::TIMESTAMP, 0, 0, 0, 0, 0, 0), ('b2', 'g', 'd', 's', "
        "DATE '2019-06-01', DATE '2020-12-31', now()::TIMESTAMP, 0, 0, 0, 0, 0, 0)"
    )
    assert warehouse_span(con) == (dt.date(2019, 6, 1), dt.date(2021, 12, 31))
    con.close()


def test_open_read_only_needs_an_existing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such warehouse file"):
        open_read_only(tmp_path / "missing.duckdb")
    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    con = open_read_only(tmp_path / "w.duckdb")
    with pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE x (a INT)")
    con.close()
