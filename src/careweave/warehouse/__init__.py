"""The analytics warehouse: DuckDB by default, Spark at national scale, behind one small interface.

A warehouse is one DuckDB file. :mod:`careweave.warehouse.schema` creates the
canonical tables (from :mod:`careweave.dataset.tables`) and the loader's
bookkeeping tables; :mod:`careweave.warehouse.connection` opens the file for
reading or writing with errors a user can act on.
"""

from careweave.warehouse.connection import connect, open_read_only
from careweave.warehouse.schema import (
    BOOKKEEPING_TABLES,
    duckdb_type,
    ensure_schema,
    warehouse_span,
)

__all__ = [
    "BOOKKEEPING_TABLES",
    "connect",
    "duckdb_type",
    "ensure_schema",
    "open_read_only",
    "warehouse_span",
]
