from pathlib import Path

import pyarrow as pa
import pytest

from careweave.dataset import TABLES, docs, table
from careweave.dataset.io import conform
from careweave.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def test_data_model_doc_is_generated_from_the_code() -> None:
    committed = (ROOT / "docs" / "data-model.md").read_text()
    assert committed == docs.render(), "run `make docs` to regenerate docs/data-model.md"


def test_every_reference_points_at_a_key() -> None:
    names = {t.name: t for t in TABLES}
    for t in TABLES:
        for c in t.columns:
            if c.references:
                target = names[c.references.table]
                assert target.key == c.references.column, (t.name, c.name)


def test_keys_and_person_columns_exist() -> None:
    for t in TABLES:
        assert t.key in t.column_names
        if t.person_column:
            assert t.person_column in t.column_names
        for d in t.date_columns:
            assert d in t.column_names


def test_conform_orders_and_casts_columns() -> None:
    orgs = pa.table(
        {"name": ["A"], "org_type": ["gp_practice"], "parent_id": [None], "org_id": ["W1"]}
    )
    out = conform(table("organisations"), orgs)
    assert out.column_names == ["org_id", "org_type", "name", "parent_id"]


def test_conform_names_the_missing_column() -> None:
    with pytest.raises(InputError, match=r"organisations: missing column\(s\) org_type"):
        conform(
            table("organisations"), pa.table({"org_id": ["x"], "name": ["n"], "parent_id": ["p"]})
        )
