"""Opening a warehouse file.

DuckDB allows one writing process at a time; a second writer (or a reader while
a load is running) gets DuckDB's lock error, which we turn into one sentence.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from careweave import duck
from careweave.errors import CareweaveError, InputError


class WarehouseBusyError(CareweaveError):
    """Another process holds the warehouse file open for writing."""


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the warehouse at ``path`` (created if absent)."""
    return _open(path, read_only=False)


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection; InputError when ``path`` is not a warehouse."""
    if not path.is_file():
        raise InputError(f"{path}: no such warehouse file")
    return _open(path, read_only=True)


def _open(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duck.connect(path, read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise WarehouseBusyError(
                f"{path}: the warehouse is in use by another process; try again when it finishes"
            ) from None
        raise InputError(f"{path}: cannot open the warehouse ({_first_line(e)})") from None
    except duckdb.Error as e:
        raise InputError(f"{path}: not a DuckDB warehouse ({_first_line(e)})") from None


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
