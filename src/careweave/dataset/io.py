"""Reading and writing dataset directories.

A dataset directory holds one Parquet file per canonical table
(``<table>.parquet``; a table may instead be a directory of Parquet parts
``<table>/*.parquet`` for writers that stream) and ``manifest.json`` saying who
wrote it and what span of time it covers:

```json
{"format": "careweave-dataset/1", "source": "synth", "span_start": "2020-01-01",
 "span_end": "2024-12-31", "created": "...", "parameters": {...}}
```

Writers create files under a temporary name and rename them into place, so a
killed writer never leaves a half-written table that looks whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from careweave.dataset.schema import Table
from careweave.errors import InputError

FORMAT = "careweave-dataset/1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    source: str
    span_start: dt.date
    span_end: dt.date
    parameters: dict[str, Any] = field(default_factory=dict)
    created: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "source": self.source,
                "span_start": self.span_start.isoformat(),
                "span_end": self.span_end.isoformat(),
                "created": self.created
                or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                "parameters": self.parameters,
            },
            indent=2,
            default=str,
        )


def write_manifest(directory: Path, manifest: Manifest) -> None:
    _atomic_write_bytes(directory / MANIFEST, manifest.to_json().encode())


def read_manifest(directory: Path) -> Manifest | None:
    """The directory's manifest, None when it has none; InputError when it is unreadable."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        return Manifest(
            source=str(raw["source"]),
            span_start=dt.date.fromisoformat(raw["span_start"]),
            span_end=dt.date.fromisoformat(raw["span_end"]),
            parameters=dict(raw.get("parameters", {})),
            created=str(raw.get("created", "")),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a Careweave dataset manifest ({e})") from None


def conform(table: Table, data: pa.Table) -> pa.Table:
    """``data`` with exactly ``table``'s columns, in order, cast to its types.

    Columns that may be absent (added since the writer was written) are filled
    with nulls when ``data`` lacks them.

    Raises InputError naming the table and the missing or uncastable column.
    """
    missing = [
        c.name for c in table.columns if c.name not in data.column_names and not c.may_be_absent
    ]
    if missing:
        raise InputError(f"{table.name}: missing column(s) {', '.join(missing)}")
    arrays = []
    for col in table.columns:
        if col.name not in data.column_names:
            # An added column the writer does not know yet: all nulls.
            arrays.append(pa.nulls(data.num_rows, col.kind.arrow))
            continue
        arr = data.column(col.name)
        try:
            arrays.append(arr.cast(col.kind.arrow))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise InputError(
                f"{table.name}.{col.name}: cannot read as {col.kind.value} ({e})"
            ) from None
    return pa.Table.from_arrays(arrays, schema=table.arrow_schema.remove_metadata())


def write_table(directory: Path, table: Table, data: pa.Table) -> Path:
    """Write ``data`` (conformed to ``table``) as ``<directory>/<table>.parquet``, atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{table.name}.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(conform(table, data), tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def table_paths(directory: Path, table: Table) -> list[Path]:
    """Every file or folder of ``directory`` that may hold ``table``, the one read first."""
    return [
        candidate
        for candidate in (
            directory / f"{table.name}.parquet",
            directory / table.name,
            directory / f"{table.name}.csv",
        )
        if candidate.exists()
    ]


def table_path(directory: Path, table: Table) -> Path | None:
    """Where ``table`` lives in ``directory`` (file or folder of parts), None if absent."""
    paths = table_paths(directory, table)
    return paths[0] if paths else None


def _atomic_write_bytes(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
