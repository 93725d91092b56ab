"""name keys in byte order

Search compares the people index's name keys as prefix ranges
([key, key + U+10FFFF)), which is only true in byte order. SQLite compares
bytes already; on PostgreSQL the database's collation (en_GB.UTF-8, say) may
ignore or reorder characters, so the key columns are given the "C" collation.
The name-search index is rebuilt with them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEYS = ("given_key", "family_key")


def _retype(collation: str | None) -> None:
    op.drop_index("ix_people_name_search", table_name="people")
    for column in KEYS:
        op.alter_column(
            "people",
            column,
            type_=sa.String(100, collation=collation),
            existing_type=sa.String(100),
            existing_nullable=True,
        )
    op.create_index("ix_people_name_search", "people", ["family_key", "given_key", "date_of_birth"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _retype("C")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _retype(None)
