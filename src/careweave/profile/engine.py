"""The data profile of a dataset directory or a warehouse, on DuckDB or Spark.

Opens the canonical tables on an engine (:mod:`careweave.warehouse.engines`)
and hands them to :func:`careweave.profile.figures.profile`, where every
figure comes from the measures or the shared definitions. A dataset
directory's tables are DuckDB views over its files (a table may be
``<table>.parquet``, a folder ``<table>/`` of Parquet parts, or
``<table>.csv``); a warehouse is opened read-only. For Spark the same tables
are handed over as Arrow. docs/profile.md has every figure and its definition.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from careweave import duck
from careweave.dataset import tables as T
from careweave.dataset.io import read_manifest, table_path
from careweave.dataset.tariff import load_tariff
from careweave.errors import InputError
from careweave.profile.figures import profile
from careweave.warehouse.engines import ENGINES, DuckDBEngine, SparkEngine

PROFILE_TABLES = T.PERSON_TABLES


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise InputError(f"--engine: unknown engine {engine!r} (choose from {', '.join(ENGINES)})")


def _view_source(path: Path) -> str:
    p = str(path).replace("'", "''")
    if path.is_dir():
        return f"read_parquet('{p}/**/*.parquet')"
    if path.suffix == ".csv":
        return f"read_csv('{p}', header = true)"
    return f"read_parquet('{p}')"


def _directory_engine(path: Path, engine: str) -> Any:
    """The dataset directory's tables as views on an Ibis DuckDB connection (absent optional
    tables are the engine's empty tables); for Spark, the same rows handed over as Arrow."""
    import ibis

    con = ibis.duckdb.connect()
    duck.quiet(con.con)
    try:
        for t in PROFILE_TABLES:
            src = table_path(path, t)
            if src is None:
                if t.required:
                    raise InputError(f"{path}: missing table {t.name}")
                continue
            try:
                con.raw_sql(f"CREATE VIEW {t.name} AS SELECT * FROM {_view_source(src)}")
                con.raw_sql(f"SELECT * FROM {t.name} LIMIT 0")
            except duckdb.Error as e:
                raise InputError(f"{src}: cannot read ({str(e).splitlines()[0]})") from None
    except BaseException:
        con.disconnect()
        raise
    eng = DuckDBEngine(con)
    if engine == "duckdb":
        return eng
    try:
        tables = {
            t.name: con.table(t.name).to_pyarrow() for t in PROFILE_TABLES if eng.has_table(t.name)
        }
    finally:
        eng.close()
    return SparkEngine(tables)


def profile_dataset_dir(
    path: Path, tariff_path: Path | None = None, engine: str = "duckdb"
) -> dict[str, Any]:
    """The profile of a dataset directory (span from its manifest.json)."""
    path = Path(path)
    _check_engine(engine)
    if not path.is_dir():
        raise InputError(f"{path}: not a dataset directory")
    manifest = read_manifest(path)
    if manifest is None:
        raise InputError(f"{path}: no manifest.json, so the span it covers is unknown")
    tariff = load_tariff(tariff_path)
    eng = _directory_engine(path, engine)
    try:
        return _run(path, eng, manifest.span_start, manifest.span_end, tariff)
    finally:
        eng.close()


def profile_warehouse(
    path: Path, tariff_path: Path | None = None, engine: str = "duckdb"
) -> dict[str, Any]:
    """The profile of a DuckDB warehouse (span from its ``_load_batches``), opened read-only."""
    path = Path(path)
    _check_engine(engine)
    if not path.is_file():
        raise InputError(f"{path}: no such warehouse file")
    tariff = load_tariff(tariff_path)
    try:
        con = duck.connect(path, read_only=True)
    except duckdb.Error as e:
        raise InputError(f"{path}: not a DuckDB warehouse ({str(e).splitlines()[0]})") from None
    try:
        names = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        if "_load_batches" not in names:
            raise InputError(f"{path}: no _load_batches table, so the span it covers is unknown")
        span = con.execute("SELECT min(span_start), max(span_end) FROM _load_batches").fetchone()
        if span is None or span[0] is None:
            raise InputError(f"{path}: _load_batches is empty: nothing has been loaded")
        for t in PROFILE_TABLES:
            if t.name not in names and t.required:
                raise InputError(f"{path}: warehouse has no table {t.name}")
    finally:
        con.close()
    start, end = _as_date(span[0]), _as_date(span[1])
    if engine == "duckdb":
        eng: Any = DuckDBEngine.open(path)
    else:
        eng = SparkEngine.open(path, [t.name for t in PROFILE_TABLES])
    try:
        return _run(path, eng, start, end, tariff)
    finally:
        eng.close()


def _run(path: Path, eng: Any, start: dt.date, end: dt.date, tariff: Any) -> dict[str, Any]:
    try:
        return profile(eng, start, end, tariff)
    except InputError as e:
        raise InputError(f"{path}: {e}") from None


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
