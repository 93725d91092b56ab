"""person links: carer, cared-for, next of kin and spouse between people of the index

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("related_nhs_number", sa.String(length=10), nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["nhs_number"], ["people.nhs_number"]),
        sa.ForeignKeyConstraint(["related_nhs_number"], ["people.nhs_number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "nhs_number", "related_nhs_number", "relationship", name="uq_person_link"
        ),
    )
    with op.batch_alter_table("person_links") as b:
        b.create_index(b.f("ix_person_links_nhs_number"), ["nhs_number"], unique=False)
        b.create_index(
            b.f("ix_person_links_related_nhs_number"), ["related_nhs_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("person_links") as b:
        b.drop_index(b.f("ix_person_links_related_nhs_number"))
        b.drop_index(b.f("ix_person_links_nhs_number"))
    op.drop_table("person_links")
