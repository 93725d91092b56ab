"""A digest of every table of a generated dataset, to show a refactor changed nothing.

Each table is sorted by its key and every column hashed in a canonical form
(values and nulls, independent of Parquet row groups and Arrow chunking), so
two datasets with the same rows have the same digests.

Regenerate the checked-in fixture (only when the generator's output is meant
to change, saying so in the commit message)::

    PYTHONPATH=src python tests/synth_digest.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from careweave.dataset import tables as T
from careweave.dataset.io import table_path

FIXTURE = Path(__file__).parent / "fixtures" / "synth_digest.json"
PEOPLE = 50_000
SEED = 20260601
START = dt.date(2020, 1, 1)
END = dt.date(2024, 12, 31)


def _column_bytes(arr: pa.Array) -> bytes:
    """Canonical bytes of one column: validity, then values (nulls as zero/empty)."""
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=np.uint8).tobytes()
    t = arr.type
    if pa.types.is_list(t):
        lengths = pc.fill_null(pc.list_value_length(arr), 0)
        inner = pc.list_flatten(arr)
        return valid + _column_bytes(lengths) + _column_bytes(inner)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        values = pc.fill_null(arr, "").to_pylist()
        return valid + "\x00".join(values).encode()
    if pa.types.is_date32(t):
        arr = arr.cast(pa.int32())
    elif pa.types.is_timestamp(t):
        arr = arr.cast(pa.int64())
    elif pa.types.is_boolean(t):
        arr = arr.cast(pa.int8())
    filled = pc.fill_null(arr, 0)
    return valid + np.asarray(filled.to_numpy(zero_copy_only=False)).tobytes()


def table_digest(data: pa.Table, key: str) -> str:
    data = data.take(pc.sort_indices(data, sort_keys=[(key, "ascending")]))
    h = hashlib.sha256()
    h.update(f"{data.num_rows}\n".encode())
    for name in data.column_names:
        h.update(f"{name}:{data.schema.field(name).type}\n".encode())
        h.update(hashlib.sha256(_column_bytes(data.column(name).combine_chunks())).digest())
    return h.hexdigest()


def dataset_digests(directory: Path) -> dict[str, dict[str, object]]:
    """{table: {rows, sha256}} for every canonical table present in ``directory``."""
    out: dict[str, dict[str, object]] = {}
    for table in T.TABLES:
        path = table_path(directory, table)
        if path is None:
            continue
        data = pq.read_table(path)
        out[table.name] = {"rows": data.num_rows, "sha256": table_digest(data, table.key)}
    return out


def generate_and_digest(directory: Path) -> dict[str, dict[str, object]]:
    from careweave.synth import generate

    generate(PEOPLE, SEED, START, END, directory)
    return dataset_digests(directory)


def fixture() -> dict[str, object]:
    return dict(json.loads(FIXTURE.read_text()))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        digests = generate_and_digest(Path(tmp) / "ds")
    doc = {
        "people": PEOPLE,
        "seed": SEED,
        "start": START.isoformat(),
        "end": END.isoformat(),
        "tables": digests,
    }
    FIXTURE.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {FIXTURE}\n")
