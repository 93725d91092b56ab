"""discharge plans: discharge planning from day one, and the delayed days it counts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discharge_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("admission_event_id", sa.Integer(), nullable=True),
        sa.Column("admitted_at", UtcDateTime(), nullable=False),
        sa.Column("hospital", sa.String(length=200), nullable=True),
        sa.Column("ward", sa.String(length=200), nullable=True),
        sa.Column("expected_discharge_date", sa.Date(), nullable=True),
        sa.Column("discharge_ready_date", sa.Date(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("package_decision", sa.String(length=16), nullable=True),
        sa.Column("package_note", sa.Text(), nullable=True),
        sa.Column("discharged_at", UtcDateTime(), nullable=True),
        sa.Column("discharge_event_id", sa.Integer(), nullable=True),
        sa.Column("delayed_days", sa.Integer(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["admission_event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["discharge_event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["nhs_number"], ["people.nhs_number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("admission_event_id"),
    )
    with op.batch_alter_table("discharge_plans") as b:
        b.create_index(b.f("ix_discharge_plans_nhs_number"), ["nhs_number"], unique=False)
        b.create_index(
            "uq_discharge_plans_one_open",
            ["nhs_number"],
            unique=True,
            sqlite_where=sa.text("discharged_at IS NULL"),
            postgresql_where=sa.text("discharged_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("discharge_plans") as b:
        b.drop_index(
            "uq_discharge_plans_one_open",
            sqlite_where=sa.text("discharged_at IS NULL"),
            postgresql_where=sa.text("discharged_at IS NULL"),
        )
        b.drop_index(b.f("ix_discharge_plans_nhs_number"))
    op.drop_table("discharge_plans")
