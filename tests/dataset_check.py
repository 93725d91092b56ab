"""Checks a dataset directory against the canonical contract, as the loader would.

Used by the importer tests: every table conforms to its Arrow schema, required
columns are filled, categorical values are allowed, codes and NHS numbers are
well formed, keys are unique and every reference resolves.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from careweave.dataset import codes
from careweave.dataset import io as dsio
from careweave.dataset.nhs_number import is_valid
from careweave.dataset.tables import TABLES


def read_dataset(directory: Path) -> dict[str, pa.Table]:
    out: dict[str, pa.Table] = {}
    for table in TABLES:
        path = dsio.table_path(directory, table)
        if path is None:
            assert not table.required, f"{table.name} missing"
            continue
        out[table.name] = dsio.conform(table, pq.read_table(path))
    return out


def check_dataset(directory: Path) -> dict[str, pa.Table]:
    """All tables of the dataset, after asserting they honour the canonical contract."""
    assert dsio.read_manifest(directory) is not None
    data = read_dataset(directory)
    keys: dict[tuple[str, str], set[object]] = {}
    for table in TABLES:
        if table.name not in data:
            continue
        t = data[table.name]
        key = t.column(table.key).to_pylist()
        assert len(set(key)) == len(key), f"{table.name}: duplicate {table.key}"
        keys[(table.name, table.key)] = set(key)
    for table in TABLES:
        if table.name not in data:
            continue
        t = data[table.name]
        for col in table.columns:
            values = t.column(col.name).to_pylist()
            if col.required:
                assert None not in values, f"{table.name}.{col.name} has nulls"
            present = [v for v in values if v is not None]
            if col.values is not None:
                bad = {v for v in present if v not in col.values}
                assert not bad, f"{table.name}.{col.name}: values {bad} not allowed"
            if col.check == "nhs_number":
                assert all(is_valid(v) for v in present), f"{table.name}.{col.name}: bad NHS no."
            if col.check == "icd10":
                flat = [x for v in present for x in (v if isinstance(v, list) else [v])]
                assert all(codes.is_icd10(x) for x in flat), f"{table.name}.{col.name}"
            if col.minimum is not None:
                assert all(v >= col.minimum for v in present), f"{table.name}.{col.name} < min"
            if col.references is not None:
                target = keys.get((col.references.table, col.references.column), set())
                dangling = {v for v in present if v not in target}
                assert not dangling, f"{table.name}.{col.name}: dangling {sorted(dangling)[:3]}"
        if "code" in table.column_names and "code_system" in table.column_names:
            for system, code in zip(
                t.column("code_system").to_pylist(), t.column("code").to_pylist(), strict=True
            ):
                assert codes.is_valid_code(system, code), f"{table.name}: {system} {code}"
    return data


def counts(data: dict[str, pa.Table]) -> dict[str, int]:
    return {name: t.num_rows for name, t in data.items() if t.num_rows}
