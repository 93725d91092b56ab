"""Query engines: one small interface over DuckDB (default) and Apache Spark.

Features are Ibis expressions (careweave.risk.features); an engine only has to
hand out the canonical tables as Ibis tables and run an expression. DuckDB
reads the warehouse file directly (read-only). Spark gets the same tables by
way of Parquet files exported from the warehouse, registered as temporary
views, so both engines see identical rows and types.

A canonical table missing from the source is presented as an empty table with
the canonical columns, so that a feature over it is zero rather than an error.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from careweave import duck
from careweave.dataset.tables import BY_NAME
from careweave.errors import InputError

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    """What the risk code needs from a query engine."""

    name: str

    def table(self, name: str) -> Any:
        """The canonical table ``name`` as an Ibis table."""

    def to_arrow(self, expr: Any) -> pa.Table:
        """Run an Ibis expression and return its rows."""

    def has_table(self, name: str) -> bool:
        """The source holds table ``name`` (``table`` hands out an empty one otherwise)."""

    def close(self) -> None: ...


def _empty(name: str) -> pa.Table:
    # Nullable like a table read from a warehouse, so set operations line up.
    schema = BY_NAME[name].arrow_schema
    return pa.schema([f.with_nullable(True) for f in schema]).empty_table()


class DuckDBEngine:
    """Ibis over DuckDB: a warehouse file (read-only) or in-memory tables.

    :meth:`cache` materialises an expression in an in-memory catalogue attached to the
    database (``careweave_scratch``), so every connection of :meth:`cursors` sees it (a
    temporary table, what Ibis's ``cache`` makes, belongs to one connection). DuckDB runs
    queries from several threads at once when each has its own connection; one connection
    is not shared between threads."""

    name = "duckdb"
    SCRATCH = "careweave_scratch"

    def __init__(self, con: Any, present: set[str] | None = None) -> None:
        import ibis

        self._ibis = ibis
        self.con = con
        self._present = set(con.list_tables()) if present is None else set(present)
        self._scratch = False
        self._cached = 0

    @classmethod
    def open(
        cls, warehouse: Path, *, threads: int | None = None, memory_limit: str | None = None
    ) -> DuckDBEngine:
        import ibis

        if not Path(warehouse).exists():
            raise InputError(f"{warehouse}: no such warehouse")
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        try:
            con = ibis.duckdb.connect(str(warehouse), read_only=True, **config)
            duck.quiet(con.con)
        except Exception as e:  # duckdb raises IOException for non-database files
            raise InputError(f"{warehouse}: cannot open as a DuckDB warehouse ({e})") from None
        return cls(con)

    @classmethod
    def from_tables(cls, tables: Mapping[str, pa.Table]) -> DuckDBEngine:
        import ibis

        con = ibis.duckdb.connect()
        duck.quiet(con.con)
        for name, data in tables.items():
            con.create_table(name, data)
        return cls(con)

    def table(self, name: str) -> Any:
        if name in self._present:
            return self.con.table(name)
        return self._ibis.memtable(_empty(name))

    def has_table(self, name: str) -> bool:
        return name in self._present

    def to_arrow(self, expr: Any) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def row_count(self, name: str) -> int:
        """The table's row count as DuckDB's catalogue estimates it (no scan; 0 when absent):
        for ordering work, never for figures."""
        if name not in self._present:
            return 0
        row = self.con.con.execute(
            "SELECT estimated_size FROM duckdb_tables()"
            " WHERE database_name = current_database() AND schema_name = 'main'"
            " AND table_name = ?",
            [name],
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def cache(self, expr: Any) -> Any:
        """``expr`` materialised as a table every connection of this database sees (in the
        attached in-memory catalogue; a read-only warehouse stays unwritten)."""
        if not self._scratch:
            self.con.raw_sql(f"ATTACH IF NOT EXISTS ':memory:' AS {self.SCRATCH} (READ_WRITE)")
            self._scratch = True
        self._cached += 1
        name = f"cached_{id(self):x}_{self._cached}"
        return self.con.create_table(name, expr, database=(self.SCRATCH, "main"))

    def uncache(self, table: Any) -> None:
        """Drop a table made by :meth:`cache`."""
        self.con.drop_table(table.get_name(), database=(self.SCRATCH, "main"), force=True)

    def cursors(self, n: int) -> list[DuckDBEngine]:
        """``n`` engines on connections of their own to the same database (one per thread),
        seeing the same tables (and :meth:`cache`'s)."""
        import ibis

        out = []
        for _ in range(n):
            cur = self.con.con.cursor()
            duck.quiet(cur)
            out.append(DuckDBEngine(ibis.duckdb.from_connection(cur), self._present))
        return out

    def close(self) -> None:
        self.con.disconnect()


_SPARK: Any = None


def spark_session() -> Any:
    """The process's local SparkSession (created once; UTC; small shuffles)."""
    global _SPARK
    if _SPARK is None:
        from pyspark.sql import SparkSession

        _SPARK = (
            SparkSession.builder.master("local[2]")
            .appName("careweave")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


class SparkEngine:
    """Ibis over PySpark in local mode; tables arrive as Parquet temp views."""

    name = "spark"

    def __init__(self, tables: Mapping[str, pa.Table]) -> None:
        import ibis
        import pyarrow.parquet as pq

        self._ibis = ibis
        self.session = spark_session()
        self._dir = tempfile.TemporaryDirectory(prefix="careweave-spark-")
        self._views: dict[str, str] = {}
        for name, data in tables.items():
            path = Path(self._dir.name) / f"{name}.parquet"
            pq.write_table(data, path)
            view = f"cw_{name}"
            self.session.read.parquet(str(path)).createOrReplaceTempView(view)
            self._views[name] = view
        self.con = ibis.pyspark.connect(self.session)

    @classmethod
    def open(cls, warehouse: Path, names: Iterable[str]) -> SparkEngine:
        source = DuckDBEngine.open(warehouse)
        try:
            tables = {n: source.con.table(n).to_pyarrow() for n in names if n in source._present}
        finally:
            source.close()
        return cls(tables)

    @classmethod
    def from_tables(cls, tables: Mapping[str, pa.Table]) -> SparkEngine:
        return cls(tables)

    def table(self, name: str) -> Any:
        if name in self._views:
            return self.con.table(self._views[name])
        return self._ibis.memtable(_empty(name))

    def has_table(self, name: str) -> bool:
        return name in self._views

    def to_arrow(self, expr: Any) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def close(self) -> None:
        for view in self._views.values():
            self.session.catalog.dropTempView(view)
        self._dir.cleanup()


def open_engine(name: str, warehouse: Path, tables: Iterable[str] = BY_NAME) -> Engine:
    """The engine called ``name`` over ``warehouse``; InputError for an unknown name."""
    if name == "duckdb":
        return DuckDBEngine.open(warehouse)
    if name == "spark":
        return SparkEngine.open(warehouse, tables)
    raise InputError(f"--engine: unknown engine {name!r} (choose from {', '.join(ENGINES)})")


def engine_from_tables(name: str, tables: Mapping[str, pa.Table]) -> Engine:
    """An engine over in-memory tables (tests, benchmarks)."""
    if name == "duckdb":
        return DuckDBEngine.from_tables(tables)
    if name == "spark":
        return SparkEngine.from_tables(tables)
    raise InputError(f"engine: unknown engine {name!r} (choose from {', '.join(ENGINES)})")
