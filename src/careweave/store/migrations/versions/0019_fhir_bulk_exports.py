"""FHIR Bulk Data export jobs in the store

The jobs were kept in each server process's memory: with several workers a status poll
could reach a worker that did not know the job (404), and a restart forgot them all.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fhir_bulk_exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=True),
        sa.Column("pseudonymised", sa.Boolean(), nullable=False),
        sa.Column("transaction_time", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done_types", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fhir_bulk_exports") as b:
        b.create_index(b.f("ix_fhir_bulk_exports_owner_id"), ["owner_id"], unique=False)
        b.create_index(b.f("ix_fhir_bulk_exports_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fhir_bulk_exports") as b:
        b.drop_index(b.f("ix_fhir_bulk_exports_expires_at"))
        b.drop_index(b.f("ix_fhir_bulk_exports_owner_id"))
    op.drop_table("fhir_bulk_exports")
