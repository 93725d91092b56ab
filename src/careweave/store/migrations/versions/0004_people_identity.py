"""people identity

The people index gains who the person is (names, address, telephone, language
and interpreter need: CONTRACT.md's identity columns) and the search keys and
indexes that make search by name, NHS number or date of birth fast. All columns
are optional: a warehouse without identity syncs as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (
    ("title", sa.String(35)),
    ("given_name", sa.String(100)),
    ("family_name", sa.String(100)),
    ("given_key", sa.String(100)),
    ("family_key", sa.String(100)),
    ("address_line_1", sa.String(200)),
    ("address_line_2", sa.String(200)),
    ("town", sa.String(100)),
    ("postcode", sa.String(10)),
    ("telephone", sa.String(32)),
    ("preferred_language", sa.String(8)),
    ("interpreter_required", sa.Boolean()),
)
INDEXES = (
    ("ix_people_name_search", ["family_key", "given_key", "date_of_birth"]),
    ("ix_people_date_of_birth", ["date_of_birth"]),
)


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    for name, columns in INDEXES:
        op.create_index(name, "people", columns)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="people")
    with op.batch_alter_table("people") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
