"""The generator's output, table by table, against a checked-in digest.

A refactor of careweave.synth must leave every row of every table as it was:
this regenerates the 50,000-person dataset of tests/fixtures/synth_digest.json
(fixed seed and dates) and compares each table's row count and SHA-256 (rows
sorted by key, columns hashed canonically; see tests/synth_digest.py). A change
to the output that is meant is made by regenerating the fixture
(``PYTHONPATH=src python tests/synth_digest.py``) in a commit that says so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import synth_digest as D


@pytest.mark.slow
def test_generated_tables_match_the_checked_in_digest(tmp_path: Path) -> None:
    expected = D.fixture()
    assert (expected["people"], expected["seed"]) == (D.PEOPLE, D.SEED)
    assert (expected["start"], expected["end"]) == (D.START.isoformat(), D.END.isoformat())
    got = D.generate_and_digest(tmp_path / "ds")
    tables = expected["tables"]
    assert isinstance(tables, dict)
    assert sorted(got) == sorted(tables)
    differ = {name: (tables[name], got[name]) for name in got if got[name] != tables[name]}
    assert not differ, f"tables differ from the digest: {sorted(differ)}"


def test_digest_sees_a_changed_value_and_ignores_row_order() -> None:
    import pyarrow as pa

    rows = {
        "id": ["b", "a", "c"],
        "d": pa.array([dt.date(2020, 1, 2), None, dt.date(2021, 3, 4)]),
        "x": [1.5, None, 2.0],
        "s": ["p", None, "q"],
        "l": [["A01"], [], None],
    }
    t = pa.table(rows)
    same = t.take([2, 0, 1])
    assert D.table_digest(t, "id") == D.table_digest(same, "id")
    changed = pa.table({**rows, "x": [1.5, None, 2.5]})
    assert D.table_digest(changed, "id") != D.table_digest(t, "id")
    null_vs_empty = pa.table({**rows, "s": ["p", "", "q"]})
    assert D.table_digest(null_vs_empty, "id") != D.table_digest(t, "id")
