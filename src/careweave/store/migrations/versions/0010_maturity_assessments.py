"""maturity assessments: a partnership's self-assessment on a maturity matrix, versioned

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maturity_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matrix_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("matrix_id", "org_id", "assessed_on", name="uq_maturity_assessment"),
    )
    with op.batch_alter_table("maturity_assessments") as b:
        b.create_index(b.f("ix_maturity_assessments_org_id"), ["org_id"], unique=False)
    op.create_table(
        "maturity_assessment_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("signatories", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("saved_by", sa.Integer(), nullable=False),
        sa.Column("saved_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["maturity_assessments.id"]),
        sa.ForeignKeyConstraint(["saved_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assessment_id", "version", name="uq_maturity_assessment_version"),
    )
    with op.batch_alter_table("maturity_assessment_versions") as b:
        b.create_index(
            b.f("ix_maturity_assessment_versions_assessment_id"), ["assessment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("maturity_assessment_versions") as b:
        b.drop_index(b.f("ix_maturity_assessment_versions_assessment_id"))
    op.drop_table("maturity_assessment_versions")
    with op.batch_alter_table("maturity_assessments") as b:
        b.drop_index(b.f("ix_maturity_assessments_org_id"))
    op.drop_table("maturity_assessments")
