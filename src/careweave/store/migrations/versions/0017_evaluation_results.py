"""evaluation results: stored runs of careweave evaluate, for the pages and the maturity evidence

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention", sa.String(length=64), nullable=False),
        sa.Column("run_at", UtcDateTime(), nullable=False),
        sa.Column("definition_version", sa.String(length=32), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("treated", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("controls", sa.Integer(), nullable=False),
        sa.Column("balance_max_smd", sa.Float(), nullable=False),
        sa.Column("balance", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("primary_outcome", sa.String(length=32), nullable=False),
        sa.Column("degree", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evaluation_results") as b:
        b.create_index(b.f("ix_evaluation_results_intervention"), ["intervention"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluation_results") as b:
        b.drop_index(b.f("ix_evaluation_results_intervention"))
    op.drop_table("evaluation_results")
