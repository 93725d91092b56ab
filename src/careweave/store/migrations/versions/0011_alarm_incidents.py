"""alarm incidents: a fall / pendant alarm opens an incident in the control centre's queue

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("alarm_at", UtcDateTime(), nullable=False),
        sa.Column("arrive_by", UtcDateTime(), nullable=False),
        sa.Column("responder_service_id", sa.String(length=64), nullable=True),
        sa.Column("responder_user_id", sa.Integer(), nullable=True),
        sa.Column("dispatched_at", UtcDateTime(), nullable=True),
        sa.Column("arrived_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["nhs_number"], ["people.nhs_number"]),
        sa.ForeignKeyConstraint(["responder_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("incidents") as b:
        b.create_index(b.f("ix_incidents_nhs_number"), ["nhs_number"], unique=False)
        b.create_index("ix_incidents_queue", ["service_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        b.drop_index("ix_incidents_queue")
        b.drop_index(b.f("ix_incidents_nhs_number"))
    op.drop_table("incidents")
