"""referrals: what the person needed that could not be provided, recorded at a decline

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as b:
        b.add_column(sa.Column("unmet_need_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as b:
        b.drop_column("unmet_need_note")
