"""maturity documents: files attached to a self-assessment's evidence, kept in the store

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maturity_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("element_id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["maturity_assessments.id"]),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_maturity_documents_assessment_id", "maturity_documents", ["assessment_id"])


def downgrade() -> None:
    op.drop_index("ix_maturity_documents_assessment_id", table_name="maturity_documents")
    op.drop_table("maturity_documents")
