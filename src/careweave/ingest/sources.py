"""Finding and checking the files of a dataset directory before anything is written.

Every table file is opened and its columns and types checked here, with an
in-memory DuckDB, so that a file that is not what it claims (missing, empty,
not Parquet/CSV, wrong columns) stops the load with one
:class:`~careweave.errors.InputError` line before the warehouse is touched.

A table is ``<table>.parquet``, a folder of parts ``<table>/*.parquet``, or
``<table>.csv`` (header row with the canonical column names, ``,``-separated,
lists such as ``secondary_diagnoses`` as ``;``-separated text). When a
directory holds more than one of these for a table, the first in that order is
loaded and a warning (logged to stderr) names each file that is ignored.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from careweave import duck
from careweave.dataset.io import MANIFEST, Manifest, read_manifest, table_paths
from careweave.dataset.schema import Table
from careweave.dataset.tables import TABLES
from careweave.errors import InputError
from careweave.warehouse.schema import duckdb_type

log = logging.getLogger(__name__)

Format = Literal["parquet", "csv"]

#: The stored "type" of a column the file does not have (a column added to the
#: canonical table since the file was written; see ``Column.may_be_absent``).
ABSENT = "ABSENT"

# Every value read as text (typed, with bad values quarantined, by the rules).
_CSV_OPTIONS = "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"'"

_INTEGERS = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    }
)
_TIMESTAMPS = frozenset(
    {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"}
)
#: Parquet column types the loader accepts for each canonical type (cast on load;
#: a value that does not fit, such as 40000 in a SMALLINT, is quarantined).
_COMPATIBLE: dict[str, frozenset[str]] = {
    "VARCHAR": frozenset({"VARCHAR"}),
    "BIGINT": _INTEGERS,
    "SMALLINT": _INTEGERS,
    "DOUBLE": _INTEGERS | {"FLOAT", "DOUBLE"},
    "BOOLEAN": frozenset({"BOOLEAN"}),
    "DATE": frozenset({"DATE"}),
    "TIMESTAMP": _TIMESTAMPS,
    "VARCHAR[]": frozenset({"VARCHAR[]"}),
}


@dataclass(frozen=True)
class Source:
    """One canonical table's input: its files, format, column types and row count."""

    table: Table
    path: Path
    files: tuple[Path, ...]
    format: Format
    #: DuckDB type of each canonical column as stored in the file(s).
    types: dict[str, str]
    rows: int
    #: Rows of each file, in ``files`` order (numbering rows across parts).
    file_rows: tuple[int, ...]

    def relation_sql(self) -> str:
        """A DuckDB table expression reading every row of the input, in file order."""
        files = "[" + ", ".join(_literal(str(f)) for f in self.files) + "]"
        if self.format == "parquet":
            return f"read_parquet({files}, file_row_number = true, filename = true)"
        return f"read_csv({files}, {_CSV_OPTIONS})"

    def row_number_sql(self) -> str:
        """The 1-based number of a row across the input's files, in file order.

        Parquet rows carry their position in their file (so the number is the
        same on every scan, in parallel); CSV, read in order, is numbered by a window.
        """
        if self.format == "csv":
            return "row_number() OVER ()"
        if len(self.files) == 1:
            return "file_row_number + 1"
        offsets, at = [], 0
        for f, n in zip(self.files, self.file_rows, strict=True):
            offsets.append(f"WHEN {_literal(str(f))} THEN {at}")
            at += n
        return f"(CASE filename {' '.join(offsets)} END) + file_row_number + 1"


@dataclass(frozen=True)
class Inputs:
    """A checked dataset directory, ready to load."""

    directory: Path
    manifest: Manifest
    sources: tuple[Source, ...]
    #: SHA-256 over the manifest and every table file: the batch's identity.
    fingerprint: str


def inspect_dataset(directory: Path) -> Inputs:
    """Check every file of ``directory``; InputError naming the first bad one."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no such dataset directory")
    manifest = read_manifest(directory)
    if manifest is None:
        raise InputError(
            f"{directory / MANIFEST}: missing; a dataset directory needs a manifest.json "
            "with its source and span"
        )
    if manifest.span_end < manifest.span_start:
        raise InputError(f"{directory / MANIFEST}: span_end is before span_start")
    sources: list[Source] = []
    con = duck.connect()
    try:
        for table in TABLES:
            paths = table_paths(directory, table)
            for other in paths[1:]:
                log.warning(
                    "careweave: warning: %s ignored: %s holds the %s table",
                    other,
                    paths[0],
                    table.name,
                )
            path = paths[0] if paths else None
            if path is None:
                if table.required:
                    raise InputError(
                        f"{directory / (table.name + '.parquet')}: missing "
                        f"(the {table.name} table is required; it may be empty)"
                    )
                continue
            sources.append(_inspect(con, table, path))
    finally:
        con.close()
    return Inputs(directory, manifest, tuple(sources), _fingerprint(directory, sources))


def _inspect(con: duckdb.DuckDBPyConnection, table: Table, path: Path) -> Source:
    if path.is_dir():
        files = tuple(sorted(path.glob("*.parquet")))
        if not files:
            raise InputError(f"{path}: folder holds no Parquet parts (*.parquet)")
        fmt: Format = "parquet"
    else:
        files = (path,)
        fmt = "csv" if path.suffix == ".csv" else "parquet"
    types: dict[str, str] | None = None
    counts: list[int] = []
    for f in files:
        _check_readable(f)
        if fmt == "parquet":
            file_types, n = _parquet_columns(con, f)
        else:
            file_types, n = _csv_columns_and_rows(con, f)
        _check_columns(table, f, file_types, fmt)
        if types is not None and file_types != types:
            raise InputError(f"{f}: column types differ from {files[0].name} in the same folder")
        types = file_types
        counts.append(n)
    assert types is not None
    return Source(
        table,
        path,
        files,
        fmt,
        {c: types.get(c, ABSENT) for c in table.column_names},
        sum(counts),
        tuple(counts),
    )


def _check_readable(f: Path) -> None:
    try:
        with f.open("rb") as fh:
            head = fh.read(1)
    except OSError as e:
        raise InputError(f"{f}: cannot read ({e.strerror or e})") from None
    if not head:
        raise InputError(f"{f}: empty file (0 bytes)")


def _parquet_columns(con: duckdb.DuckDBPyConnection, f: Path) -> tuple[dict[str, str], int]:
    with f.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"PAR1":
        raise InputError(f"{f}: not a Parquet file")
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_literal(str(f))})"
        ).fetchall()
        count = con.execute(f"SELECT count(*) FROM read_parquet({_literal(str(f))})").fetchone()
    except duckdb.Error as e:
        raise InputError(f"{f}: not a readable Parquet file ({_first_line(e)})") from None
    return {str(r[0]): str(r[1]) for r in described}, int(count[0]) if count else 0


def _csv_columns_and_rows(con: duckdb.DuckDBPyConnection, f: Path) -> tuple[dict[str, str], int]:
    with f.open("rb") as fh:
        head = fh.read(65536)
    if b"\x00" in head:
        raise InputError(f"{f}: not a CSV file (binary content)")
    try:
        header_line = head.decode("utf-8").splitlines()[0] if head.strip() else ""
    except UnicodeDecodeError:
        raise InputError(f"{f}: not a CSV file (not UTF-8 text)") from None
    if not header_line.strip():
        raise InputError(f"{f}: empty CSV file (no header row)")
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_csv({_literal(str(f))}, {_CSV_OPTIONS})"
        ).fetchall()
        count = con.execute(
            f"SELECT count(*) FROM read_csv({_literal(str(f))}, {_CSV_OPTIONS})"
        ).fetchone()
    except duckdb.Error as e:
        raise InputError(f"{f}: not a readable CSV file ({_first_line(e)})") from None
    return {str(r[0]): "VARCHAR" for r in described}, int(count[0]) if count else 0


def _check_columns(table: Table, f: Path, types: dict[str, str], fmt: Format) -> None:
    expected = table.column_names
    optional = set(table.may_be_absent)
    missing = [c for c in expected if c not in types and c not in optional]
    extra = [c for c in types if c not in expected]
    if missing:
        raise InputError(
            f"{f}: missing column(s) {', '.join(missing)} of the {table.name} table"
            + (f" (found unexpected {', '.join(extra)})" if extra else "")
        )
    if extra:
        raise InputError(f"{f}: unexpected column(s) {', '.join(extra)} in the {table.name} table")
    if fmt == "csv":
        return
    for col in table.columns:
        if col.name not in types:
            continue  # an added column the file predates: read as nulls
        want = duckdb_type(col.kind)
        have = types[col.name]
        ok = have in _COMPATIBLE[want] or (want == "DOUBLE" and have.startswith("DECIMAL"))
        if not ok:
            raise InputError(f"{f}: column {col.name} is {have}, expected {want}")


def _fingerprint(directory: Path, sources: list[Source]) -> str:
    digest = hashlib.sha256()
    digest.update((directory / MANIFEST).read_bytes())
    for s in sources:
        for f in s.files:
            digest.update(f"\0{s.table.name}\0{f.name}\0".encode())
            with f.open("rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
