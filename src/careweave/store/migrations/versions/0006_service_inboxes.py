"""service inboxes: service members, referral lifecycle fields, tasks owned by a service queue

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careweave.store.models import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "user_id", name="uq_service_member"),
    )
    with op.batch_alter_table("service_members") as b:
        b.create_index(b.f("ix_service_members_service_id"), ["service_id"], unique=False)
        b.create_index(b.f("ix_service_members_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("referrals") as b:
        b.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        b.add_column(sa.Column("decline_reason", sa.String(length=32), nullable=True))
        b.add_column(sa.Column("booked_with", sa.String(length=200), nullable=True))
        b.add_column(sa.Column("redirected_to_id", sa.Integer(), nullable=True))
        b.create_foreign_key(
            "fk_referrals_redirected_to_id", "referrals", ["redirected_to_id"], ["id"]
        )
    with op.batch_alter_table("tasks") as b:
        b.add_column(sa.Column("owner_service_id", sa.String(length=64), nullable=True))
        b.create_foreign_key("fk_tasks_owner_service_id", "services", ["owner_service_id"], ["id"])
        b.create_index(b.f("ix_tasks_owner_service_id"), ["owner_service_id"], unique=False)
    with op.batch_alter_table("notifications") as b:
        b.add_column(sa.Column("service_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as b:
        b.drop_column("service_id")
    with op.batch_alter_table("tasks") as b:
        b.drop_index(b.f("ix_tasks_owner_service_id"))
        b.drop_constraint("fk_tasks_owner_service_id", type_="foreignkey")
        b.drop_column("owner_service_id")
    with op.batch_alter_table("referrals") as b:
        b.drop_constraint("fk_referrals_redirected_to_id", type_="foreignkey")
        b.drop_column("redirected_to_id")
        b.drop_column("booked_with")
        b.drop_column("decline_reason")
        b.drop_column("version")
    with op.batch_alter_table("service_members") as b:
        b.drop_index(b.f("ix_service_members_user_id"))
        b.drop_index(b.f("ix_service_members_service_id"))
    op.drop_table("service_members")
