"""One way to open DuckDB, for every package.

DuckDB's Python client draws its own progress bar on stdout for any query that
runs longer than two seconds. That corrupts ``--json`` output and the CLI's own
Rich progress, and it appears only on a slow or busy machine: so every
connection Careweave opens turns it off here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

#: A connection-level setting (DuckDB refuses it as a start-up option).
QUIET_SQL = "SET enable_progress_bar = false"


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con`` with DuckDB's own progress bar turned off."""
    con.execute(QUIET_SQL)
    return con


def connect(
    path: Path | str = ":memory:", *, read_only: bool = False, **config: Any
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to ``path`` (in memory by default) with no progress bar."""
    return quiet(duckdb.connect(str(path), read_only=read_only, config=config))
