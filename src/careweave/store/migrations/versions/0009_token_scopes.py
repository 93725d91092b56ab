"""token scopes

API tokens gain scopes: the event types and the organisations (a person's GP
practice or locality) an integration feed may post events for. Both are
optional; a token without them keeps the account's whole permission, as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scope_event_types", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("scope_orgs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scope_orgs")
        batch.drop_column("scope_event_types")
